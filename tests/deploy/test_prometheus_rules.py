"""The alert rules in deploy/prometheus: promtool checks them and runs their unit tests, and every
metric and label they select is one the service really exports; promtool accepts the scrape
configuration too, its scraper key file present."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from benchmarks.servers import metric_samples
from service.main import create_app
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests"
# `name{matchers}` in PromQL, and one `label op "value"` matcher.
SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
# Made by Prometheus itself, or attached by it to every scraped series.
SCRAPE_METRICS, TARGET_LABELS = {"up"}, {"job", "instance"}


def promtool() -> str:
    """The promtool binary; skip without it, except in CI (CI=true), where it must be there."""
    if path := shutil.which("promtool"):
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("promtool is missing: .ci/run installs it (Debian package prometheus)")
    pytest.skip("promtool is missing: apt-get install prometheus")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def rule_files() -> list[Path]:
    return sorted(RULES.glob("*.yml"))


def alert_rules() -> list[dict]:
    return [
        rule
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def test_promtool_check_config(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    config["rule_files"] = [str(path) for path in rule_files()]
    for job in config["scrape_configs"]:  # the image's empty key file, here in tmp_path
        key_file = tmp_path / Path(job["authorization"]["credentials_file"]).name
        key_file.touch()
        job["authorization"]["credentials_file"] = str(key_file)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = run(promtool(), "check", "config", str(tmp_path / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_check_rules() -> None:
    done = run(promtool(), "check", "rules", *map(str, rule_files()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 9 rules found" in done.stdout


def test_promtool_test_rules() -> None:
    done = run(promtool(), "test", "rules", *map(str, sorted(RULE_TESTS.glob("*.test.yml"))))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_unit_test() -> None:
    tested = {
        case["alertname"]
        for path in RULE_TESTS.glob("*.test.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert {rule["alert"] for rule in alert_rules()} == tested


def selectors() -> dict[str, set[str]]:
    """Metric name -> the label names the rules match on it (target labels left out)."""
    found: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name, matchers in SELECTOR.findall(rule["expr"]):
            found.setdefault(name, set()).update(MATCHER.findall(matchers))
    return {name: labels - TARGET_LABELS for name, labels in found.items()}


def exported_labels(metrics_text: str) -> dict[str, set[str]]:
    """Series name -> the label names it is exported with."""
    found: dict[str, set[str]] = {}
    for key in metric_samples(metrics_text):
        name, _, labels = key.partition("{")
        found.setdefault(name, set()).update(MATCHER.findall(labels))
    return found


def test_rules_select_what_the_service_exports(model_dir: Path) -> None:
    settings = Settings(model_dir=model_dir, drift_window_texts=10, drift_update_texts=1)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            client.post("/sentiment", json={"texts": ["a great movie with a fine plot"] * 10})
            client.post("/next-word", json={"text": "the movie was"})
        for _ in range(10):
            client.post("/next-word", json={"text": "the movie was"})
        exported = exported_labels(client.get("/metrics").text)
    wanted = selectors()
    assert set(wanted) >= {"model_input_drift_psi", "model_score_drift_psi", "service_ready"}
    for name, labels in wanted.items():
        if name in SCRAPE_METRICS:
            continue
        assert name in exported, f"the rules select {name}, which /metrics does not export"
        assert labels <= exported[name], f"{name} has no label {labels - exported[name]}"
