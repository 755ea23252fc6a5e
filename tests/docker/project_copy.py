"""A copy of the project, with a model store, for Docker tests that build and serve it."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_project(model_dir: Path, project: Path) -> Path:
    """What the images build from, plus `model_dir` as `project/model`, readable by the images'
    unprivileged user (uid 1000)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ["requirements", "training", "service", "deploy"]:
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    for name in ["Dockerfile", ".dockerignore", "docker-compose.yml"]:
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(model_dir, project / "model", ignore=shutil.ignore_patterns("unused-cache"))
    for path in [project / "model", *(project / "model").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return project
