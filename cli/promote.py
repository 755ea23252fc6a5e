"""`promote` and `rollback`: change the version a service serves, in the store's policy file
(`service/serving/policy.py`), for both models or the one `--model` names.

A promotion is judged first against the version served now, per model, and refused (exit 3,
the figures printed, nothing written) when the candidate is worse, unless `--force`:
- with `--input LABELLED`: on that file, sentiment by accuracy, next word by top-5 accuracy on
  positions of its texts (cli/labelled.py); worse means lower with McNemar's p < 0.05, so that
  two equally good versions do not block each other on noise;
- without it: on the validation figures in both versions' metadata.json (`sentiment_accuracy`,
  `next_word_top5`), which are comparable only when both runs split the same data the same way
  (same data checksum, seed, validation fraction and subsample, and for next words the
  same `--lm-data` text); when they are not, the
  promotion is refused as unjudged, since a figure on other data says nothing of which is better.
  Worse there means any lower figure (there are no paired answers to test).
The first promotion also pins the models it does not name to the version served now, so that
from then on no new training run changes what is served.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.compare import compare_versions
from cli.errors import CliError
from cli.labelled import next_word_hits, next_word_positions
from cli.output import add_json_flag, say
from cli.project import Policy, PolicyError, update_policy
from cli.stats import SIGNIFICANCE, mcnemar
from cli.store import MODEL_NAMES, Version, check_store, resolve, served_version

REFUSED = 3
METRIC = {"sentiment": "sentiment_accuracy", "next_word": "next_word_top5"}
SPLIT_KEYS = ("seed", "validation_fraction", "max_labelled")


def add_parsers(commands: Any) -> None:
    promote = commands.add_parser(
        "promote",
        help="make version V the one served (refused when it is worse, unless --force)",
        description="Make version V the served version of both models (or --model's), "
        "recorded in the store's policy.json. Refused when V is worse than the version served "
        "now: on --input LABELLED, else on the validation figures of both versions' metadata.",
    )
    promote.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    promote.add_argument("version", type=int, metavar="V", help="the version to serve")
    promote.add_argument("--model", choices=MODEL_NAMES, help="only this model (default: both)")
    promote.add_argument(
        "--input", type=Path, metavar="LABELLED", help="labelled file to judge the versions on"
    )
    promote.add_argument("--text-column", default="text", metavar="C")
    promote.add_argument("--label-column", default="label", metavar="L")
    promote.add_argument(
        "--batch-size", type=int, default=64, metavar="N", help="most texts per model call"
    )
    promote.add_argument("--force", action="store_true", help="promote even if it is worse")
    add_json_flag(promote)
    promote.set_defaults(run=run_promote)
    rollback = commands.add_parser(
        "rollback",
        help="serve again the version promoted before the current one",
        description="Undo the last promotion of both models (or --model's): the version "
        "promoted before it is served again. The history keeps both changes.",
    )
    rollback.add_argument(
        "--model-dir", type=Path, required=True, metavar="DIR", help="the model store"
    )
    rollback.add_argument("--model", choices=MODEL_NAMES, help="only this model (default: both)")
    add_json_flag(rollback)
    rollback.set_defaults(run=run_rollback)


def comparable(candidate: Version, current: Version) -> str | None:
    """Why the two versions' validation figures cannot be compared (None when they can)."""
    new, old = candidate.metadata(), current.metadata()
    if new.get("data", {}).get("sha256") != old.get("data", {}).get("sha256"):
        return "they were trained on different data"
    # The next-word figures are also on held-out lines of the language model's extra text.
    if candidate.name == "next_word" and lm_checksums(new) != lm_checksums(old):
        return "their language models read different extra text (--lm-data)"
    for key in SPLIT_KEYS:
        if new.get("config", {}).get(key) != old.get("config", {}).get(key):
            return f"their runs split the data differently ({key})"
    if METRIC[candidate.name] not in new.get("metrics", {}) or METRIC[
        candidate.name
    ] not in old.get("metrics", {}):
        return f"one of them records no {METRIC[candidate.name]}"
    return None


def lm_checksums(metadata: dict[str, Any]) -> list[str]:
    """The checksums of the extra language-model text a run read, in order."""
    sources = metadata.get("data", {}).get("lm_data", [])
    return [str(source.get("sha256")) for source in sources if isinstance(source, dict)]


def judge(candidate: Version, current: Version, args: argparse.Namespace) -> dict[str, Any]:
    """The evidence: the metric, both figures, where measured, and whether it is worse."""
    name, evidence = candidate.name, {"against": current.version}
    if args.input is not None:
        if name == "sentiment":
            figures, test, _, _ = compare_versions([candidate, current], args)
            scores = [f["accuracy"] for f in figures]
            evidence |= {"metric": "accuracy", "p_value": test["p_value"]}
        else:
            contexts, targets = next_word_positions(args.input, args.text_column)
            hits = [next_word_hits(v, contexts, targets, 5) for v in (candidate, current)]
            scores = [float(h.mean()) if len(h) else 0.0 for h in hits]
            evidence |= {"metric": "top5", "p_value": mcnemar(*hits).p_value}
        evidence |= {"on": str(args.input)}
    else:
        reason = comparable(candidate, current)
        if reason is not None:
            return evidence | {"on": "validation", "unjudged": reason, "worse": True}
        scores = [v.metadata()["metrics"][METRIC[name]] for v in (candidate, current)]
        evidence |= {"metric": METRIC[name], "on": "validation"}
    lower = scores[0] < scores[1]
    # On a file the paired test tells a real drop from noise; validation figures have no pairs.
    worse = lower and evidence.get("p_value", 0.0) < SIGNIFICANCE
    return evidence | {"candidate": scores[0], "current": scores[1], "worse": worse}


def describe(name: str, version: int, evidence: dict[str, Any]) -> str:
    against = f"version {evidence['against']}"
    if "unjudged" in evidence:
        reason = evidence["unjudged"]
        return f"{name}: version {version} cannot be judged against {against}: {reason}"
    p = f", p={evidence['p_value']:.3g}" if "p_value" in evidence else ""
    verdict = "worse" if evidence["worse"] else "not worse"
    if not evidence["worse"] and evidence["candidate"] < evidence["current"]:
        verdict = "lower, but not significantly"
    return (
        f"{name}: version {version} {evidence['metric']} {evidence['candidate']:.4f} against "
        f"{evidence['current']:.4f} of the served {against} on {evidence['on']}{p}: {verdict}"
    )


def run_promote(args: argparse.Namespace) -> dict[str, Any]:
    check_store(args.model_dir)
    names = [args.model] if args.model else list(MODEL_NAMES)
    evidence: dict[str, dict[str, Any]] = {}
    for name in names:
        candidate = resolve(args.model_dir, name, args.version)
        served = served_version(args.model_dir, name)
        if served is None or served == args.version:
            evidence[name] = {"against": served}
            continue
        evidence[name] = judge(candidate, resolve(args.model_dir, name, served), args)
        say(describe(name, args.version, evidence[name]))
    refused = [name for name in names if evidence[name].get("worse")]
    if refused and not args.force:
        hint = "give --input LABELLED to judge on a file, or " if not args.input else ""
        raise CliError(
            f"promotion of version {args.version} refused for {', '.join(refused)}: "
            f"{hint}--force to promote anyway",
            code=REFUSED,
            result={"refused": refused, "evidence": evidence},
        )
    pinned = {name: served_version(args.model_dir, name) for name in MODEL_NAMES}

    def change(policy: Policy) -> None:
        for name in MODEL_NAMES:  # the first promotion pins what it does not name
            if name not in names and policy.promoted(name) is None and pinned[name] is not None:
                policy.promote(name, pinned[name], evidence={"pinned": True})
        for name in names:
            if policy.promoted(name) != args.version:
                forced = bool(evidence[name].get("worse"))
                policy.promote(name, args.version, forced, evidence[name])

    policy, _ = _update(args.model_dir, change)
    say(f"promoted version {args.version} of {', '.join(names)}" + (" (forced)" if refused else ""))
    return {"promoted": {n: policy.promoted(n) for n in MODEL_NAMES}, "evidence": evidence}


def run_rollback(args: argparse.Namespace) -> dict[str, Any]:
    check_store(args.model_dir)
    names = [args.model] if args.model else list(MODEL_NAMES)

    def change(policy: Policy) -> dict[str, tuple[int | None, int]]:
        moved = {}
        for name in names:
            before = policy.promoted(name)
            moved[name] = (before, policy.rollback(name))
            resolve(args.model_dir, name, moved[name][1])  # still complete, or nothing written
        return moved

    policy, moved = _update(args.model_dir, change)
    for name, (before, after) in moved.items():
        say(f"{name}: version {before} -> {after}")
    return {
        "promoted": {n: policy.promoted(n) for n in MODEL_NAMES},
        "rolled_back": {n: after for n, (_, after) in moved.items()},
    }


def _update(model_dir: Path, change: Any) -> tuple[Policy, Any]:
    try:
        return update_policy(model_dir, change)
    except PolicyError as error:
        raise CliError(str(error)) from None
