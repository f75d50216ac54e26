"""Fixtures for the model-client tests: two ``transformers serve`` servers on loopback with tiny
random-weight models (see :mod:`tiny_servers` and :mod:`tiny_models`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny_servers import MISSING, VLM_ID, Served, start_server, stop_server, wait_ready  # noqa: E402


@pytest.fixture(scope="module")
def real_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """``{"vlm": ..., "llm": ...}``: the two servers, started once for the module (about 10 s)."""
    if MISSING:
        pytest.skip(f"transformers serve needs {', '.join(MISSING)} (pip install 'transformers[serving]')")
    from tiny_models import build_tiny_llama, build_tiny_llava, cache_folder

    root = tmp_path_factory.mktemp("tiny-models")
    build_tiny_llava(cache_folder(root / "vlm-hf", VLM_ID))
    llm_dir = build_tiny_llama(root / "tiny-llama")
    (root / "llm-hf" / "hub").mkdir(parents=True)  # an empty cache: the model list is []
    procs = []
    try:
        vlm_proc, vlm = start_server(VLM_ID, root / "vlm-hf", root / "vlm.log")
        procs.append(vlm_proc)
        llm_proc, llm = start_server(str(llm_dir), root / "llm-hf", root / "llm.log")
        procs.append(llm_proc)
        deadline = time.monotonic() + 90
        wait_ready(vlm_proc, vlm, deadline)
        wait_ready(llm_proc, llm, deadline)
        yield {"vlm": vlm, "llm": llm}
    finally:
        for p in procs:
            stop_server(p)
