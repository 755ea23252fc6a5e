"""What the tool uses of the training pipeline and of the service, in one place: the promotion
policy (read and written by the service's own module), the store's model names, what makes a
version complete and which version a service serves (the registry's own selection), the two
programs `train` and `serve` run, and the evaluation figures and plots training writes. Heavy
modules are imported only when a command needs them."""

from __future__ import annotations

from types import ModuleType

from service.serving.policy import Policy, PolicyError, read_policy, update_policy
from service.serving.selection import Selection, select_versions
from service.serving.store import MODEL_NAMES, is_complete

__all__ = [
    "MODEL_NAMES",
    "Policy",
    "PolicyError",
    "Selection",
    "is_complete",
    "read_policy",
    "select_versions",
    "update_policy",
]


def training_main(argv: list[str]) -> int:
    """`python -m training ARGS`: its exit status."""
    from training.__main__ import main

    return main(argv)


def training_model_dir(argv: list[str]) -> str:
    """The model store a `python -m training` command line writes to."""
    from training.__main__ import parse_args

    return str(parse_args(argv).model_dir)


def service_main() -> None:
    """`python -m service`, its settings read from the environment."""
    from service.__main__ import main

    main()


def training_report() -> ModuleType:
    """training.report: ECE, confusion matrix, the reliability and confusion plots."""
    from training import report

    return report
