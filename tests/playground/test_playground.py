"""The playground page in a real browser: Debian's Chromium, driven by Playwright, against a real
service process on the tiny models. Skipped when Chromium is missing, except under CI=true."""

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from benchmarks.servers import Server, service_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_TEXT_CHARS = 120  # small, so that typing past it is quick
TEXT = "a great movie, I loved the wonderful story"

if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (.ci/system-packages)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m service` on the tiny models, with a small text limit."""
    log = tmp_path_factory.mktemp("playground") / "service.log"
    env = {"MAX_TEXT_CHARS": str(MAX_TEXT_CHARS), "LOG_LEVEL": "warning"}
    server = service_server(model_dir, env, log)
    server.start(timeout=600)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: Server) -> Iterator:
    """A fresh page on the playground; every URL it requests is kept in `page.requested`."""
    context = browser.new_context()
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(server.url + "/")
    yield page
    context.close()


def api(server: Server, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for_answer(page, text: str) -> None:
    """Wait until the page shows the answers for `text`."""
    page.wait_for_function(
        """text => document.getElementById("words").textContent === text
           && document.getElementById("suggestions").dataset.text === text""",
        arg=text,
        timeout=30_000,
    )


def test_playground_answers_as_you_type(page, server: Server) -> None:
    page.locator("#text").press_sequentially(TEXT, delay=20)
    wait_for_answer(page, TEXT)
    expected = api(server, "/sentiment", {"text": TEXT})
    shown = page.locator("#probability")
    assert float(shown.get_attribute("data-value")) == expected["positive_probability"]
    assert abs(float(shown.text_content()) - expected["positive_probability"]) <= 0.0005
    assert expected["label"] in page.locator("#label").text_content()
    # Each word the model reads is highlighted with its weight, on hover and for screen readers.
    explained = api(server, "/sentiment", {"text": TEXT, "explain": True})["explanation"]
    spans = page.locator("#words .w")
    assert spans.count() == len(explained["words"]) > 0
    for i, word in enumerate(explained["words"]):
        span = spans.nth(i)
        assert span.text_content() == word["word"]
        assert float(span.get_attribute("data-weight")) == word["weight"]
        assert span.get_attribute("class") == "w " + ("pos" if word["weight"] >= 0 else "neg")
        assert span.get_attribute("title").endswith(
            "towards " + ("positive" if word["weight"] >= 0 else "negative")
        )
    version = expected["model_version"]
    assert f"sentiment model version {version}" in page.locator("#versions").text_content()


def test_playground_suggestion_appends_word(page, server: Server) -> None:
    page.locator("#text").press_sequentially("the plot was", delay=20)
    wait_for_answer(page, "the plot was")
    suggested = api(server, "/next-word", {"text": "the plot was", "top_k": 5})["predictions"]
    buttons = page.locator("#suggestions button:not(.phrase)")
    assert buttons.all_text_contents() == [p["word"] for p in suggested]
    word = suggested[0]["word"]
    buttons.first.click()
    text = f"the plot was {word} "  # a tapped word is followed by a space, as one typed
    assert page.locator("#text").input_value() == text
    wait_for_answer(page, text)
    expected = api(server, "/sentiment", {"text": text})
    assert (
        float(page.locator("#probability").get_attribute("data-value"))
        == (expected["positive_probability"])
    )
    following = api(server, "/next-word", {"text": text, "top_k": 5})["predictions"]
    page.wait_for_function(
        "words => [...document.querySelectorAll('#suggestions button:not(.phrase)')]"
        ".map(b => b.textContent).join('|') === words.join('|')",
        arg=[p["word"] for p in following],
        timeout=30_000,
    )


def shown_words(page, text: str) -> list[str]:
    """The suggested words, once the page shows the suggestions for `text`."""
    page.wait_for_function(
        """text => document.getElementById("suggestions").dataset.text === text""",
        arg=text,
        timeout=30_000,
    )
    return page.locator("#suggestions button:not(.phrase)").all_text_contents()


def test_playground_completes_the_word_being_typed(page, server: Server) -> None:
    page.locator("#text").press_sequentially("the movie w", delay=20)
    words = shown_words(page, "the movie w")
    assert page.locator("#suggestions").get_attribute("data-completing") == "w"
    expected = api(server, "/next-word", {"text": "the movie w", "top_k": 5})
    assert expected["completing"] == "w"
    assert words == [p["word"] for p in expected["predictions"]]
    everything = page.locator("#suggestions button").all_text_contents()
    assert all(word.startswith("w") for word in everything)  # the phrase, if shown, too
    assert "\u201cw\u201d" in page.locator("#completing").text_content()
    page.locator("#suggestions button:not(.phrase)").first.click()
    text = f"the movie {words[0]} "  # the fragment replaced, a space after the word
    assert page.locator("#text").input_value() == text
    shown_words(page, text)
    assert page.locator("#suggestions").get_attribute("data-completing") == ""
    assert page.locator("#completing").text_content() == ""


def test_playground_completion_keeps_the_fragments_capital(page) -> None:
    page.locator("#text").press_sequentially("The movie W", delay=20)
    words = shown_words(page, "The movie W")
    page.locator("#suggestions button:not(.phrase)").first.click()
    assert page.locator("#text").input_value() == f"The movie {words[0].capitalize()} "


def test_playground_empty_box_shows_first_words(page, server: Server) -> None:
    expected = api(server, "/next-word", {"text": "", "top_k": 5})["predictions"]
    assert shown_words(page, "") == [p["word"] for p in expected]
    page.locator("#suggestions button").first.click()
    assert page.locator("#text").input_value() == expected[0]["word"] + " "


def test_playground_offers_the_likeliest_phrase(page, server: Server) -> None:
    text = "the movie "
    best = api(server, "/next-word", {"text": text, "top_k": 5, "phrase_words": 3})["phrases"][0]
    assert len(best["words"]) == 3
    # The tiny model's phrases are unlikely: a threshold above the best shows none, below it one.
    page.evaluate("p => { TUNING.phraseMinProbability = p; }", best["probability"] * 1.01)
    page.locator("#text").fill(text)
    shown_words(page, text)
    assert page.locator("#suggestions button.phrase").count() == 0
    page.evaluate("p => { TUNING.phraseMinProbability = p; }", best["probability"] * 0.99)
    page.locator("#text").fill(text.strip())
    shown_words(page, text.strip())
    page.locator("#text").fill(text)
    shown_words(page, text)
    phrase = page.locator("#suggestions button.phrase")
    assert phrase.text_content() == best["text"]
    phrase.click()
    assert page.locator("#text").input_value() == text + best["text"] + " "


def test_playground_keyboard_shows_weights(page) -> None:
    page.locator("#text").press_sequentially("dull and boring", delay=20)
    wait_for_answer(page, "dull and boring")
    page.keyboard.press("Tab")  # from the text to the first highlighted word
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "dull"
    assert page.locator("#word-info").text_content().startswith("\u201cdull\u201d")


def test_playground_shows_service_error(page) -> None:
    page.locator("#text").press_sequentially("a fine start", delay=20)
    wait_for_answer(page, "a fine start")
    page.locator("#text").fill("far too long " * 12)
    status = page.locator("#status")
    status.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert status.text_content() == (
        f"The service refused this text: Should be at most {MAX_TEXT_CHARS} characters, "
        f"not {len('far too long ' * 12)}"
    )
    assert page.locator("#words .w").count() == 0


def test_playground_requests_stay_local(page) -> None:
    page.locator("#text").press_sequentially("a great movie", delay=20)
    wait_for_answer(page, "a great movie")
    assert page.requested
    assert {urlsplit(url).hostname for url in page.requested} == {"127.0.0.1"}
    paths = {urlsplit(url).path for url in page.requested}
    assert {"/", "/playground/app.js", "/playground/style.css", "/sentiment"} <= paths


@pytest.fixture(scope="module")
def keyed_server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m service` on the tiny models with an API key."""
    log = tmp_path_factory.mktemp("playground-keyed") / "service.log"
    server = service_server(model_dir, {"API_KEYS": "k-browser", "LOG_LEVEL": "warning"}, log)
    server.start(timeout=600)
    yield server
    server.stop()


def test_playground_asks_for_the_key(browser, keyed_server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(keyed_server.url + "/")
    page.locator("#text").press_sequentially("a great movie", delay=20)
    page.locator("#key-form").wait_for(state="visible", timeout=30_000)
    assert "needs an API key" in page.locator("#status").text_content()
    page.locator("#key").fill("k-browser")
    page.locator("#key-form button").click()
    wait_for_answer(page, "a great movie")
    assert page.locator("#key-form").is_hidden()
    # /docs, in the same tab, loads its document with the key the playground was given.
    page.goto(keyed_server.url + "/docs")
    page.locator(".opblock-summary-path", has_text="/sentiment").first.wait_for(timeout=30_000)
    assert page.locator("#key-form").is_hidden()
    context.close()


def test_docs_ask_for_the_key(browser, keyed_server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(keyed_server.url + "/docs")
    page.locator("#key-form").wait_for(state="visible", timeout=30_000)
    page.locator("#key").fill("k-browser")
    page.locator("#key-form button").click()
    page.locator(".opblock-summary-path", has_text="/sentiment").first.wait_for(timeout=30_000)
    # Authorised with the key: Swagger UI's lock shows the HTTPBearer scheme as set.
    page.locator(".authorize").click()
    assert "Logout" in page.locator(".auth-container").first.text_content(timeout=10_000)
    context.close()


def test_playground_asks_once_then_sends_the_key_with_every_call(
    browser, keyed_server: Server
) -> None:
    context = browser.new_context()
    page = context.new_page()
    calls: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda r: (
            calls.append((urlsplit(r.url).path, r.headers.get("authorization")))
            if r.method == "POST"
            else None
        ),
    )
    page.goto(keyed_server.url + "/")
    # The empty box already asks for first words: the 401 brings the form up before any typing.
    page.locator("#key-form").wait_for(state="visible", timeout=30_000)
    page.locator("#key").fill("k-browser")
    page.locator("#key-form button").click()
    shown_words(page, "")
    assert page.evaluate("sessionStorage.getItem('api-key')") == "k-browser"
    page.locator("#text").press_sequentially("the movie w", delay=20)
    shown_words(page, "the movie w")
    page.locator("#suggestions button:not(.phrase)").first.click()
    wait_for_answer(page, page.locator("#text").input_value())
    assert page.locator("#key-form").is_hidden()
    first_keyed = next(i for i, (_, key) in enumerate(calls) if key)
    assert all(key is None for _, key in calls[:first_keyed])  # before the key: the 401s
    assert {key for _, key in calls[first_keyed:]} == {"Bearer k-browser"}
    assert {"/next-word", "/sentiment"} <= {path for path, _ in calls[first_keyed:]}
    # The tab keeps the key: a reload asks for nothing.
    page.reload()
    shown_words(page, "")
    assert page.locator("#key-form").is_hidden()
    context.close()
