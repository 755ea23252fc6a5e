"""Which version of each model a service serves, from the store and its promotion policy.

With a policy that names the model, exactly the promoted version, up or down, whatever newer
versions appear; when that version is missing, incomplete or the policy cannot be read, there is
nothing to move to and a running service keeps what it has loaded. Without a policy (or one that
does not name the model), the newest complete version. The registry and the command-line tool's
`versions` both ask `select_versions`, so what the tool says a replica serves is what it serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.serving.policy import Policy, PolicyError, read_policy
from service.serving.store import MODEL_NAMES, SkippedVersion, VersionDir, scan_versions


@dataclass(frozen=True)
class Selection:
    """What to serve of one model, and what the store showed on the way."""

    name: str
    policy: bool  # the store has a policy file (readable or not)
    promoted: int | None  # the version the policy promotes; None when it does not name the model
    candidates: list[
        VersionDir
    ]  # what may be served, best first: the promoted one, or newest first
    skipped: list[SkippedVersion]  # version directories that cannot be served, and why
    problem: str | None  # why the promoted version cannot be served; None when it can

    @property
    def pinned(self) -> bool:
        """The policy decides this model's version (so a newer version changes nothing)."""
        return self.promoted is not None or self.problem is not None

    @property
    def version(self) -> int | None:
        """The version a replica starting now would serve (None: none it can)."""
        return self.candidates[0].version if self.candidates else None


def select(
    model_dir: Path, name: str, policy: Policy | None, policy_problem: str | None = None
) -> Selection:
    """The selection of one model given the store's policy (read once by `select_versions`)."""
    scan = scan_versions(model_dir, name)
    has_policy = policy is not None or policy_problem is not None
    if policy_problem is not None:
        return Selection(name, True, None, [], scan.skipped, policy_problem)
    promoted = policy.promoted(name) if policy else None
    if promoted is None:
        return Selection(name, has_policy, None, scan.complete, scan.skipped, None)
    found = [v for v in scan.complete if v.version == promoted]
    problem = None
    if not found:
        why = next((s.reason for s in scan.skipped if s.version == promoted), "not in the store")
        problem = f"{name} version {promoted} is promoted but cannot be served: {why}"
    return Selection(name, True, promoted, found, scan.skipped, problem)


def select_versions(model_dir: Path) -> dict[str, Selection]:
    """Each model's selection; the policy file is read once, and an unreadable one is a problem
    of every model (what is loaded stays), never an exception."""
    try:
        policy, problem = read_policy(Path(model_dir)), None
    except PolicyError as error:
        policy, problem = None, f"the promotion policy cannot be read: {error}"
    return {name: select(model_dir, name, policy, problem) for name in MODEL_NAMES}
