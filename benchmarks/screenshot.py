"""A screenshot of the playground answering a review: `make screenshot [MODEL_DIR=DIR]`.

    python -m benchmarks.screenshot --model-dir DIR [--out docs/playground.png]

Starts `python -m service` on the model store (a free loopback port), opens the page in Debian's
Chromium (Playwright, no download), types a sample review and saves the page once it has
answered.
"""

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.servers import service_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
REVIEW = (
    "The first half hour drags, but once the plot gets going the pace never lets up. "
    "The lead is wonderful and the camera work is superb, although one subplot goes nowhere."
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.screenshot")
    parser.add_argument("--model-dir", type=Path, default=Path("model"), help="model store")
    parser.add_argument("--out", type=Path, default=Path("docs/playground.png"))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="screenshot-") as tmp:
        server = service_server(args.model_dir, {"LOG_LEVEL": "warning"}, Path(tmp) / "log")
        server.start(timeout=600)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 900})
                page.goto(server.url + "/")
                page.locator("#text").press_sequentially(REVIEW, delay=5)
                page.wait_for_function(
                    "text => document.getElementById('words').textContent === text"
                    " && document.querySelectorAll('#suggestions button').length > 0",
                    arg=REVIEW,
                    timeout=60_000,
                )
                page.locator(".w").nth(16).focus()  # shows one word's weight below the text
                page.wait_for_timeout(300)  # let the page paint the last answer
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            server.stop()
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
