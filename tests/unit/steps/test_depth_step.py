"""The depth step's lifecycle costs nothing where it loaded no model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_teardown_without_a_model_does_not_import_torch(tmp_path: Path) -> None:
    # `skyscript run` tears every step down; importing torch there only to free nothing cost 2 s a run
    code = (
        "import sys; from skyscript.config import Settings; from skyscript.steps.depth import DepthStep; "
        f"s = DepthStep(); s.setup(Settings(home={str(tmp_path)!r})); s.teardown(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
