"""Run the service: `MODEL_DIR=model python -m service` (see Settings for every variable)."""

import signal


def main() -> None:
    """Serve until SIGTERM or Ctrl+C; on SIGTERM report not-ready for DRAIN_SECONDS while still
    serving, then let in-flight requests finish and exit 0."""
    from service.main import create_app
    from service.monitoring.logs import configure_logging
    from service.server import DrainingServer, server_config
    from service.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    config = server_config(app, settings)
    # uvicorn re-raises the stop signal once it has shut down gracefully; with a handler that
    # does nothing, that graceful stop ends the process with status 0.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: None)
    DrainingServer(config, app, settings.drain_seconds).run()


if __name__ == "__main__":
    main()
