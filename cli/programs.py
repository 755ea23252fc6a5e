"""`train` and `serve`: the training pipeline (`python -m training`, every option passed on as
it is) and the service (`python -m service`, its settings from the options or the
environment)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cli import project
from cli.output import add_json_flag
from cli.store import MODEL_NAMES, versions


def add_parsers(commands: Any) -> None:
    commands.add_parser(
        "train",
        help="train both models into a new version (python -m training; see train --help)",
        add_help=False,
    )
    serve = commands.add_parser(
        "serve",
        help="serve the model store over HTTP (python -m service)",
        description="Serve the store's models over HTTP: the promoted versions when the store "
        "has a policy, else the newest complete ones. Options left out keep the environment's "
        "MODEL_DIR, HOST and PORT (defaults: model, 0.0.0.0, 8000).",
    )
    serve.add_argument("--model-dir", type=Path, metavar="DIR", help="the model store (MODEL_DIR)")
    serve.add_argument("--host", help="address to listen on (HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (PORT)")
    add_json_flag(serve)
    serve.set_defaults(run=run_serve)


def forward(argv: list[str]) -> dict[str, Any] | None:
    """Run `train ARGS` as `python -m training ARGS` (None for any other command)."""
    if not argv or argv[0] != "train":
        return None
    args = [a for a in argv[1:] if a != "--json"]
    status = project.training_main(args)
    if status != 0:
        return {"error": "training failed", "exit_code": status}
    model_dir = project.training_model_dir(args)
    newest = {
        name: max((v.version for v in versions(Path(model_dir), name) if v.complete), default=None)
        for name in MODEL_NAMES
    }
    return {"model_dir": model_dir, "versions": newest}


def run_serve(args: argparse.Namespace) -> dict[str, Any]:
    # The service reads its one settings object from the environment: options become variables.
    options = {"MODEL_DIR": args.model_dir, "HOST": args.host, "PORT": args.port}
    for variable, value in options.items():
        if value is not None:
            os.environ[variable] = str(value)
    project.service_main()
    return {"model_dir": os.environ.get("MODEL_DIR", "model"), "stopped": True}
