"""Starting and stopping real OpenAI-compatible servers for the model-client tests: ``transformers serve`` on loopback,
serving tiny random-weight models built here (see :mod:`tiny_models`; nothing is downloaded).

Two servers, the two ways ``transformers serve`` is run:

* ``vlm``: pinned to a model id found in its own Hugging Face cache (``transformers serve
  skyscript/tiny-llava``): ``GET /v1/models`` lists exactly that model, a request naming another
  gets HTTP 400 "Server is pinned to ...".
* ``llm``: pinned to a local folder (``transformers serve /tmp/.../tiny-llama``), its cache empty:
  ``GET /v1/models`` lists nothing, requests must name the folder or no model at all.

Both answer one request at a time (no ``--continuous-batching``), on CPU, offline.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

VLM_ID = "skyscript/tiny-llava"
MISSING = [m for m in ("torch", "transformers", "fastapi", "uvicorn", "openai", "tokenizers")
           if importlib.util.find_spec(m) is None]


@dataclass
class Served:
    url: str  # the /v1 base
    model: str  # what the server is pinned to
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: str, hf_home: Path, log: Path) -> tuple[subprocess.Popen[bytes], Served]:
    port = free_port()
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "transformers.cli.transformers", "serve", model, "--device", "cpu",
           "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    return proc, Served(f"http://127.0.0.1:{port}/v1", model, log)


def wait_ready(proc: subprocess.Popen[bytes], served: Served, deadline: float) -> None:
    health = served.url[: -len("/v1")] + "/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"transformers serve exited ({proc.returncode}): {served.log.read_text()[-2000:]}")
        try:
            if httpx.get(health, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"transformers serve not ready in time: {served.log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


