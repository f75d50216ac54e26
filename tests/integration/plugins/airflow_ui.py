"""A real Airflow API server (the UI, its simple auth manager and our plugin) on loopback for
browser tests, started once per test session and stopped with its whole process group.

Only ``airflow api-server`` runs (one worker): the review pages need the UI, the auth manager and
the plugin, not a scheduler, so the full ``airflow standalone`` (about 40 processes, 1.7 GiB) is
not started. The login is the simple auth manager's: a user named in
``AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS`` whose password the server writes to
``$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from fixtures.polling import wait_healthy

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AirflowUI:
    url: str
    home: Path
    user: str
    proc: subprocess.Popen[bytes]

    @property
    def password(self) -> str:
        return str(json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())[self.user])

    def token(self) -> str:
        res = httpx.post(f"{self.url}/auth/token", json={"username": self.user, "password": self.password}, timeout=30)
        res.raise_for_status()
        return str(res.json()["access_token"])

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_airflow_ui(home: Path, skyscript_env: dict[str, str], user: str = "rita") -> AirflowUI:
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SKYSCRIPT_"))}
    env.update(skyscript_env)
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API_AUTH__JWT_SECRET": "skyscript-test-secret",
    })
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, cwd=home, check=True, capture_output=True, timeout=300)
    port = free_port()
    log = open(home / "api-server.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "airflow"), "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"],
        env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    ui = AirflowUI(f"http://127.0.0.1:{port}", home, user, proc)
    if wait_healthy(proc, f"{ui.url}/api/v2/monitor/health", home / "api-server.log", "airflow api-server", 120):
        return ui
    ui.stop()
    raise RuntimeError(f"airflow api-server not healthy after 120 s: {(home / 'api-server.log').read_text()[-3000:]}")
