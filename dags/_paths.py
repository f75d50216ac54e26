"""Make the repository's ``operators`` package importable when Airflow parses this folder from
a checkout (an installed image has it on the path already)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def ensure_repo_on_path() -> None:
    if importlib.util.find_spec("operators") is None:
        root = str(Path(__file__).resolve().parents[1])
        if root not in sys.path:
            sys.path.append(root)
