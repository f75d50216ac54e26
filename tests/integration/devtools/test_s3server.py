"""The dev S3 server keeps its endpoint and its objects across restarts of one data folder, and
`python -m skyscript.devtools.s3server` takes its `weed` child with it when it is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skyscript.devtools.s3server import STATE_FILE, PortsUnavailable, SeaweedS3, weed_binary, weed_pids
from skyscript.store import Area
from skyscript.store.s3 import S3Store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _weed() -> None:
    try:
        weed_binary()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def _store(srv: SeaweedS3) -> S3Store:
    return S3Store(srv.endpoint, srv.access_key, srv.secret_key, private_bucket="keep-a", public_bucket="keep-b")


def test_a_restart_on_the_same_folder_serves_the_same_objects_at_the_same_endpoint(tmp_path: Path) -> None:
    data = tmp_path / "s3"
    first = SeaweedS3(data_dir=data).start()
    try:
        endpoint = first.endpoint
        _store(first).put_bytes(Area.private, "raw/d/e/source.mp4", b"kept across restarts")
    finally:
        first.stop()
    assert weed_pids(data) == []
    recorded = json.loads((data / STATE_FILE).read_text())["ports"]
    assert recorded["s3.port"] == int(endpoint.rsplit(":", 1)[1])
    # a new launcher on the same folder (what a developer's second start is), not the same object
    second = SeaweedS3(data_dir=data).start()
    try:
        assert second.endpoint == endpoint and second.ports == recorded
        assert _store(second).get_bytes(Area.private, "raw/d/e/source.mp4") == b"kept across restarts"
        second.restart(down_s=1.0)  # the path the fault suite takes mid-run
        assert second.endpoint == endpoint
        assert _store(second).get_bytes(Area.private, "raw/d/e/source.mp4") == b"kept across restarts"
    finally:
        second.close()
    assert data.is_dir()  # close() removes only a temporary folder the server made itself


def test_a_recorded_port_taken_by_another_program_fails_clearly_or_is_replaced(tmp_path: Path) -> None:
    data = tmp_path / "s3"
    srv = SeaweedS3(data_dir=data).start()
    srv.stop()
    port = srv.ports["s3.port"]
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the server's connections linger in TIME_WAIT
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(PortsUnavailable, match=rf"port {port} \(s3.port\) recorded in .* is in use by another program"):
            SeaweedS3(data_dir=data).start()
        assert weed_pids(data) == []
        said: list[str] = []
        moved = SeaweedS3(data_dir=data, on_taken="repick", notice=said.append).start()
        try:
            assert moved.ports["s3.port"] != port
            assert {k: v for k, v in moved.ports.items() if k != "s3.port"} == {k: v for k, v in srv.ports.items() if k != "s3.port"}
            assert said == [f"port(s) {port} were taken: chose new ones; S3 endpoint 127.0.0.1:{port} -> {moved.endpoint}"]
            assert json.loads((data / STATE_FILE).read_text())["ports"] == moved.ports
            with pytest.raises(PortsUnavailable, match="already running"):
                SeaweedS3(data_dir=data).start()
        finally:
            moved.close()


def _launch(data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "skyscript.devtools.s3server", str(data)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_weed(data: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not weed_pids(data):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "weed never started"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_launcher_stops_weed(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "s3"
    proc = _launch(data)
    assert proc.stdout is not None
    first_line = proc.stdout.readline()  # printed once the server answers
    assert first_line.startswith("S3 at http://127.0.0.1:"), first_line
    assert len(weed_pids(data)) == 1
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + sig
    assert weed_pids(data) == []
    # and the next launch answers where the first did
    again = _launch(data)
    assert again.stdout is not None
    try:
        assert again.stdout.readline() == first_line
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
    assert weed_pids(data) == []


def test_sigterm_while_the_server_comes_up_stops_weed(tmp_path: Path) -> None:
    data = tmp_path / "s3"
    proc = _launch(data)
    _wait_for_weed(data, proc)  # started, not yet answering
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    assert weed_pids(data) == []


def test_kill_9_of_the_launcher_takes_weed_down_too(tmp_path: Path) -> None:
    data = tmp_path / "s3"
    proc = _launch(data)
    _wait_for_weed(data, proc)
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while weed_pids(data) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert weed_pids(data) == []
