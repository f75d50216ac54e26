"""A real Label Studio server on loopback for the round-trip test.

Label Studio brings its own dependency tree (Django, its own OpenCV; about 1 GB), so it lives in
its own virtual environment, installed once into a cache folder (``$SKYSCRIPT_LABEL_STUDIO_VENV``,
default ``~/.cache/skyscript/label-studio-<version>``; about 80 s the first time) and reused.
Started with a fixed user and legacy API token, offline (no version check); healthy in ~45 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from fixtures.polling import wait_healthy

VERSION = "1.23.2"


def venv_dir() -> Path:
    default = Path.home() / ".cache" / "skyscript" / f"label-studio-{VERSION}"
    return Path(os.environ.get("SKYSCRIPT_LABEL_STUDIO_VENV", default)).expanduser()


def ensure_installed() -> Path:
    venv = venv_dir()
    exe = venv / "bin" / "label-studio"
    stamp = venv / ".installed"
    if exe.exists() and stamp.exists():
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                           f"label-studio=={VERSION}"], capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(f"installing label-studio=={VERSION} failed: {proc.stderr[-2000:]}")
    stamp.write_text(VERSION)
    return exe


@dataclass
class LabelStudio:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Token {self.token}"}, timeout=60)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start(data_dir: Path) -> LabelStudio:
    exe = ensure_installed()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    token = "skyscript-test-token-0123456789abcdef"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO", "DJANGO"))}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_USERNAME": "reviewer@example.com", "LABEL_STUDIO_PASSWORD": "skyscript-test-pass",
        "LABEL_STUDIO_USER_TOKEN": token, "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "false",
    })
    log = data_dir / "label-studio.log"
    proc = subprocess.Popen(
        [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port", str(port), "--data-dir",
         str(data_dir), "--enable-legacy-api-token"],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True, cwd=data_dir,
    )
    ls = LabelStudio(f"http://127.0.0.1:{port}", token, proc, log)
    if wait_healthy(proc, f"{ls.url}/health", log, "label-studio", 240, interval_s=1):
        return ls
    ls.stop()
    raise RuntimeError(f"label-studio not healthy after 240 s: {log.read_text()[-3000:]}")
