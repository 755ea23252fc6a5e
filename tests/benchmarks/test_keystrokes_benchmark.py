"""`python -m benchmarks keystrokes` on the session's tiny model: both keyboards type held-out
sentences in both forms, and the figures land in the table and the JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as benchmarks_main
from benchmarks.keystrokes import main
from benchmarks.typing_latency import format_latency, keystroke_texts, measure_latency


def test_keystrokes_benchmark_writes_both_keyboards(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--model-dir", str(model_dir), "--sentences", "6", "--results-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "| served | lower |" in printed and "| trigram | written |" in printed
    [path] = tmp_path.glob("keystrokes-*.json")
    report = json.loads(path.read_text())
    assert report["sentences"] == 6 and report["next_word_version"] == 1
    for keyboard in ("served", "trigram"):
        for form in ("lower", "written"):
            figures = report["figures"][keyboard][form]
            assert 0.0 < figures["ksr"] < 1.0
            assert figures["keystrokes"] < figures["characters"]
            for n in (0, 1, 2):
                assert 0.0 <= figures[f"recall_after_{n}"] <= 1.0
    assert set(report["ksr_ratio"]) == {"lower", "written"}


def test_keystrokes_is_a_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["benchmarks", "keystrokes", "--help"])
    with pytest.raises(SystemExit) as exit_:
        benchmarks_main.main()
    assert exit_.value.code == 0


def test_keystrokes_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--model-dir", str(tmp_path)])


def test_keystroke_texts_are_the_box_before_each_letter() -> None:
    texts = keystroke_texts(["Go, Al!"])
    assert texts == ["", "g", "go ", "go a", "", "G", "Go, ", "Go, A"]


def test_latency_of_each_keystroke_through_http(model_dir: Path) -> None:
    sentences = ["The movie w was great."]
    latency = measure_latency(model_dir, sentences)
    series = latency["series"]
    assert series["next words"]["requests"] and series["completions"]["requests"]
    total = series["next words"]["requests"] + series["completions"]["requests"]
    assert series["phrases"]["requests"] == total == len(keystroke_texts(sentences))
    assert 0 < series["completions"]["p50"] <= series["completions"]["p99"]
    assert "| phrases |" in format_latency(latency)
