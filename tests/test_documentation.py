"""The documentation stays in step with the project: every `make X` that the README, the docs/
pages or the contract mention is a Makefile target, the contract's commands are documented, and
every relative link between the pages (and to the repository's files) resolves, `#anchor`s
included.

Only code is searched for commands (fenced blocks and `code spans`), only prose for links, so an
example of a command inside prose or a link shown as code is never mistaken for the real thing.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"

FENCE = re.compile(r"^ {0,3}(```+|~~~+)[^\n]*\n.*?^ {0,3}\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
# `make` followed by its arguments up to the end of the line, a comment or a shell operator.
MAKE = re.compile(r"(?<![\w./$(-])make((?:[ \t]+[^\s;&|#)]+)*)")
# [text](target) and ![alt](target), with an optional title; [ref]: target definitions.
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^\s()<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def doc_pages(root: Path = ROOT) -> list[Path]:
    """The README and every page under docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def code_of(markdown: str) -> list[str]:
    """The bodies of fenced code blocks, then the code spans of the rest."""
    blocks = [match.group(0) for match in FENCE.finditer(markdown)]
    spans = [match.group(2) for match in CODE_SPAN.finditer(FENCE.sub("", markdown))]
    return blocks + spans


def prose_of(markdown: str) -> str:
    """The text without code: code blocks and spans blanked, so no link or heading is read there."""
    blank = lambda match: re.sub(r"[^\n]", " ", match.group(0))  # noqa: E731
    return CODE_SPAN.sub(blank, FENCE.sub(blank, markdown))


def makefile_targets(makefile: str) -> set[str]:
    """Explicit targets of a Makefile (no special `.TARGETS`, variables or patterns)."""
    targets: set[str] = set()
    for line in makefile.splitlines():
        match = re.match(r"^([^\s:=#][^:=#]*?)[ \t]*::?(?!=)", line)
        if match:
            names = match.group(1).split()
            targets |= {n for n in names if not n.startswith(".") and not set("$%") & set(n)}
    return targets


def make_targets_mentioned(markdown: str) -> set[str]:
    """Every target named after `make` in the code of a page (options and VAR=value skipped)."""
    found: set[str] = set()
    for code in code_of(markdown):
        code = re.sub(r"(?:^|(?<=\s))#.*$", "", code, flags=re.M)  # shell comments
        for match in MAKE.finditer(code):
            found |= {t for t in match.group(1).split() if not t.startswith("-") and "=" not in t}
    return found


def contract_commands(contract: str) -> list[str]:
    """The first code span of each row's command cell in the contract's commands table."""
    section = contract.split("## Set-up and commands", 1)[1].split("\n## ", 1)[0]
    commands = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) < 2 or set(cells[1]) <= set("-: ") or cells[1] == "command":
            continue
        span = CODE_SPAN.search(cells[1])
        if span:
            commands.append(span.group(2).replace("\\|", "|"))
    return commands


def command_pattern(command: str) -> re.Pattern[str]:
    """A command as a pattern: `[optional parts]` dropped, placeholders (`PATH`, `DIR`,
    `<cli>`) and the values of `VAR=value` match any word, the rest literally, on one line."""
    parts = []
    for token in re.sub(r"\s*\[[^\]]*\]", "", command).split():
        if re.match(r"^[A-Z][A-Z0-9_]*=", token):
            parts.append(re.escape(token.split("=", 1)[0]) + r"=\S+")
        elif re.fullmatch(r"[A-Z][A-Z0-9_:]*|<[a-z-]+>", token):
            parts.append(r"\S+")
        else:
            parts.append(re.escape(token))
    return re.compile(r"(?<!\S)" + r"[ \t]+".join(parts) + r"(?!\S)")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    """Every anchor a page offers: its headings' slugs (repeats get -1, -2, ...) and HTML ids."""
    anchors: set[str] = set(HTML_ANCHOR.findall(markdown))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(prose_of(markdown)):
        slug = github_slug(heading)
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of a page that lead nowhere: a missing file, a file outside the
    repository, or an `#anchor` that no heading of the target page has."""
    prose = prose_of(page.read_text())
    broken = []
    for target in LINK.findall(prose) + LINK_DEFINITION.findall(prose):
        if SCHEME.match(target) or target.startswith("//"):
            continue
        path, _, anchor = unquote(target).partition("#")
        # GitHub reads a leading "/" from the repository's root; an empty path is the page itself.
        base = root if path.startswith("/") else page.parent
        resolved = (base / path.lstrip("/")).resolve() if path else page.resolve()
        if not resolved.is_relative_to(root.resolve()):
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors_of(resolved.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


def documented_code(root: Path = ROOT) -> list[str]:
    return [code for page in doc_pages(root) for code in code_of(page.read_text())]


# The project's own documentation.

PAGES = doc_pages() + [ROOT / "model" / "README.md"]


def test_docs_pages_exist() -> None:
    names = {page.name for page in doc_pages()}
    assert {"training.md", "serving.md", "docker.md", "benchmarks.md", "results.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", doc_pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_make_targets_exist(page: Path) -> None:
    targets = makefile_targets((ROOT / "Makefile").read_text())
    assert make_targets_mentioned(page.read_text()) - targets == set()


def test_readme_quick_start_uses_make() -> None:
    mentioned = make_targets_mentioned((ROOT / "README.md").read_text())
    assert {"run", "test"} <= mentioned


@pytest.mark.skipif(not CONTRACT.exists(), reason=f"no contract at {CONTRACT}")
def test_contract_make_targets_exist() -> None:
    targets = makefile_targets((ROOT / "Makefile").read_text())
    mentioned = make_targets_mentioned(CONTRACT.read_text())
    assert mentioned
    assert mentioned - targets == set()


@pytest.mark.skipif(not CONTRACT.exists(), reason=f"no contract at {CONTRACT}")
def test_contract_commands_documented() -> None:
    commands = contract_commands(CONTRACT.read_text())
    assert len(commands) >= 5
    code = documented_code()
    missing = [c for c in commands if not any(command_pattern(c).search(s) for s in code)]
    assert missing == []


# The checks themselves find what they are meant to find.


def test_broken_links_finds_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B page\n\n## Next word\n\n## Next word\n")
    (tmp_path / "code.py").write_text("")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/b.md#next-word) [ok](docs/b.md#next-word-1) [ok](code.py) [ok](#top)\n"
        "[web](https://example.com/x.md) `[code](nope.md)`\n\n```\n[code](nope.md)\n```\n"
        "[bad](docs/c.md) [bad](docs/b.md#nope) [bad](#nowhere) [bad](../outside.md)\n\n# Top\n"
    )
    (tmp_path.parent / "outside.md").touch()
    assert broken_links(page, tmp_path) == [
        "docs/c.md: no such file",
        "docs/b.md#nope: no heading #nope in b.md",
        "#nowhere: no heading #nowhere in README.md",
        "../outside.md: outside the repository",
    ]


def test_github_slug() -> None:
    assert github_slug("Micro-batching and threads") == "micro-batching-and-threads"
    assert github_slug("`make run`: the [quick](x.md) start!") == "make-run-the-quick-start"
    assert github_slug("GET /health, /ready, /models") == "get-health-ready-models"


def test_make_checks_find_unknown_targets() -> None:
    makefile = (
        "PY := .venv/bin/python\nDATA ?= x\n.PHONY: run test\n$(PY): setup\nrun: setup  ## run\n"
        "\t$(PY) -m service\ntest lint: setup\ntrain-quick: PRESET = quick\n"
    )
    assert makefile_targets(makefile) == {"run", "test", "lint", "train-quick"}
    page = "`make run` and\n```bash\nmake PRESET=quick train-quick   # comment make nope\n```\n"
    page += "make sure (prose) and `make -j2 bench && make lint`"
    assert make_targets_mentioned(page) == {"run", "train-quick", "bench", "lint"}


def test_contract_commands_and_patterns() -> None:
    contract = (
        "## Set-up and commands\n| what | command |\n| --- | --- |\n"
        "| run | `make run`: then `PORT` |\n"
        "| train | `.venv/bin/python -m training --data PATH --model-dir DIR"
        " [--preset quick\\|full]` |\n"
        "\n## HTTP\n| x | `not a command` |\n"
    )
    commands = contract_commands(contract)
    assert commands == [
        "make run",
        ".venv/bin/python -m training --data PATH --model-dir DIR [--preset quick|full]",
    ]
    train = command_pattern(commands[1])
    assert train.search(
        ".venv/bin/python -m training --data x.tar.gz --model-dir model --preset full"
    )
    assert not train.search(".venv/bin/python -m training --model-dir model")
    score = command_pattern("<cli> score --model-dir DIR [--version V] --input IN")
    assert score.search("$ lstm-service score --model-dir model --input reviews.csv --json")
    assert not score.search("lstm-service score --input reviews.csv")
    serve = command_pattern("MODEL_DIR=DIR .venv/bin/python -m service")
    assert serve.search("MODEL_DIR=model .venv/bin/python -m service     # listens")
    assert not serve.search("MODEL_DIR=model .venv/bin/python -m services")


def layout_rows(markdown: str) -> dict[str, set[str]]:
    """The development page's layout table: each `folder/` row and the names in its `what`."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"`[\w/]+/`", cells[0]):
            rows[cells[0].strip("`")] = set(re.findall(r"`([\w]+/?)`", cells[1]))
    return rows


def package_contents(folder: Path) -> set[str]:
    """A package's modules (without `__init__`) and sub-packages (as `name/`)."""
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    packages = {f"{p.parent.name}/" for p in folder.glob("*/__init__.py")}
    return modules | packages


def test_development_layout_lists_every_module() -> None:
    rows = layout_rows((ROOT / "docs" / "development.md").read_text())
    for top in ("training", "service"):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            folder = init.parent
            name = f"{folder.relative_to(ROOT).as_posix()}/"
            assert name in rows, f"docs/development.md has no row for {name}"
            missing = package_contents(folder) - rows[name]
            stale = {n for n in rows[name] if not (folder / n).is_dir()} - {
                p.stem for p in folder.glob("*.py")
            }
            assert not missing, f"docs/development.md's {name} row lacks {sorted(missing)}"
            assert not stale, f"docs/development.md's {name} row names {sorted(stale)}: not there"
