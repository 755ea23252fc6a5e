"""`versions`: what the store holds (each version, complete or not, when it was made, its key
validation figures), what the policy promotes, and what every replica of the service serves
from it, decided by the service's own function (`service/serving/selection.py`): the promoted
version when the policy names the model, else the newest complete."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.output import add_json_flag, say, table
from cli.project import Policy
from cli.store import MODEL_NAMES, Version, check_store, policy, selection, versions

# metadata.json's validation metrics shown per model, and their column names.
KEY_METRICS = {
    "sentiment": {"sentiment_accuracy": "accuracy", "sentiment_log_loss": "log loss"},
    "next_word": {"next_word_top1": "top-1", "next_word_top5": "top-5"},
}


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "versions",
        help="the versions in the store, the promoted ones and what a service serves",
        description="List every version of each model in the store, complete or not, with "
        "its creation time and key validation figures; the promoted versions; and what a "
        "service started on this store serves.",
    )
    parser.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    add_json_flag(parser)
    parser.set_defaults(run=run)


def describe(found: Version) -> dict[str, Any]:
    metadata = found.metadata()
    metrics = metadata.get("metrics", {})
    source = metadata.get("data", {}).get("source")
    return {
        "version": found.version,
        "complete": found.complete,
        "created": metadata.get("created"),
        "data": Path(source).name if isinstance(source, str) else None,
        "metrics": {key: metrics.get(key) for key in KEY_METRICS[found.name]},
    }


def model_entry(model_dir: Path, name: str, rules: Policy | None) -> dict[str, Any]:
    found = [describe(v) for v in versions(model_dir, name)]
    entry = rules.models.get(name) if rules else None
    chosen = selection(model_dir, name)
    return {
        "versions": found,
        "promoted": entry.version if entry else None,
        "served": chosen.version,
        "problem": chosen.problem,
        "skipped": {str(s.version): s.reason for s in chosen.skipped},
        "history": entry.history if entry else [],
    }


def show(name: str, entry: dict[str, Any]) -> None:
    say(name)
    if not entry["versions"]:
        say("  no versions")
        return
    keys = KEY_METRICS[name]
    rows = []
    for v in entry["versions"]:
        marks = [
            m
            for m, key in (("promoted", "promoted"), ("served", "served"))
            if entry[key] == v["version"]
        ]
        rows.append(
            [
                v["version"],
                "yes" if v["complete"] else "no",
                v["created"],
                *v["metrics"].values(),
                v["data"],
                ", ".join(marks),
            ]
        )
    header = ["version", "complete", "created", *keys.values(), "data", ""]
    for line in table(header, rows):
        say(f"  {line}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    model_dir = check_store(args.model_dir)
    rules = policy(model_dir)
    models = {name: model_entry(model_dir, name, rules) for name in MODEL_NAMES}
    where = model_dir / "policy.json"
    say(
        f"model store {model_dir}: "
        + (f"policy {where}" if rules else "no policy (the newest complete versions are served)")
    )
    for name, entry in models.items():
        show(name, entry)
    served = ", ".join(f"{name} {entry['served'] or 'none'}" for name, entry in models.items())
    say(f"a service on this store serves: {served}")
    for entry in models.values():
        if entry["problem"]:
            say(f"warning: {entry['problem']}; a running service keeps the version it has loaded")
    return {
        "model_dir": str(model_dir),
        "policy": str(where) if rules else None,
        "models": models,
    }
