"""The repository's ``operators`` folder is not an installed package in a checkout: put the
repository root on the import path (the agreement test builds a step pod with it)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
