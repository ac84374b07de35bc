"""Where the telemetry lake lives: a local directory (the default) or S3-compatible object storage.

``PORTAL_LAKE_URL`` names the lake: empty for ``PORTAL_DATA_DIR/lake``, a local path, or
``s3://bucket/prefix``. For S3 the endpoint and credentials come from the standard variables
``AWS_ENDPOINT_URL`` (any S3-compatible server: AWS, MinIO, SeaweedFS, Ceph), ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` and ``AWS_ALLOW_HTTP`` (``true`` for a
plain-HTTP endpoint); without ``AWS_ENDPOINT_URL`` it is AWS itself.

A :class:`LakeLocation` gives every reader and writer of the lake the same two views of it:

* **URIs** for Delta Lake and polars (``uri``), with :attr:`storage_options` for the object store;
* **paths** for a ``pyarrow.fs`` file system (``path``, :attr:`fs`), through which the portal lists,
  reads and deletes files itself (per-person reads of Parquet row groups, erasure's file-by-file
  verification, the Delta log's cleanup, the stored rollups and releases).

Derived stores (weekly rollups, works-council releases) are copies of personal data that every
replica must share, so that an erasure run from one prunes them for all: on object storage they live
beside the tables (``<lake>/_portal/rollups``, ``<lake>/_portal/releases``); with a local lake they stay
in the data directory (``rollups/``, ``releases/``), as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from portal.core import file_modes
from portal.core.i18n import _

S3_SCHEMES = ("s3", "s3a")
DERIVED_PREFIX = "_portal"
_TRUE = {"1", "true", "yes", "on"}


class LocationError(ValueError):
    """The lake's location or its object-store settings are unusable; the message says which and why."""


def _absolute(path: Path) -> str:
    """The real, absolute path: Delta Lake names data files that way, and the portal compares with them."""
    return os.path.realpath(path)


@dataclass(frozen=True)
class Entry:
    """A file under the lake: its file-system path, its path relative to what was listed, and its size."""

    path: str
    relative: str
    size: int
    mtime_ns: int | None


@dataclass(frozen=True)
class S3Access:
    """Endpoint and credentials of an S3-compatible store, from the ``AWS_*`` variables."""

    endpoint_url: str | None
    region: str
    access_key: str | None = field(repr=False)
    secret_key: str | None = field(repr=False)
    session_token: str | None = field(repr=False)
    allow_http: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> S3Access:
        env = os.environ if environ is None else environ
        endpoint = (env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or "").strip() or None
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise LocationError(_("AWS_ENDPOINT_URL {url} is not an http(s) URL, e.g. http://127.0.0.1:8333").format(
                    url=repr(endpoint)))
        allow_http = env.get("AWS_ALLOW_HTTP", "").strip().lower() in _TRUE
        if endpoint is not None and endpoint.startswith("http://") and not allow_http:
            raise LocationError(_("AWS_ENDPOINT_URL {url} is plain HTTP; set AWS_ALLOW_HTTP=true to allow it "
                                  "(credentials and personal data then cross the network unencrypted)").format(
                url=repr(endpoint)))
        return cls(
            endpoint_url=endpoint,
            region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1").strip(),
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            allow_http=allow_http,
        )

    def storage_options(self) -> dict[str, str]:
        """Options for delta-rs and polars (object_store's keys)."""
        options = {"AWS_REGION": self.region}
        if self.endpoint_url:
            options["AWS_ENDPOINT_URL"] = self.endpoint_url
        if self.access_key:
            options["AWS_ACCESS_KEY_ID"] = self.access_key
        if self.secret_key:
            options["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        if self.session_token:
            options["AWS_SESSION_TOKEN"] = self.session_token
        if self.allow_http:
            options["AWS_ALLOW_HTTP"] = "true"
        if not self.access_key:
            options["AWS_SKIP_SIGNATURE"] = "true"  # a public or anonymous endpoint
        return options

    def filesystem(self) -> pafs.S3FileSystem:
        kwargs: dict[str, object] = {"region": self.region, "request_timeout": 30, "connect_timeout": 5}
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            kwargs.update(endpoint_override=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme)
        if self.access_key and self.secret_key:
            kwargs.update(access_key=self.access_key, secret_key=self.secret_key,
                          session_token=self.session_token)
        else:
            kwargs.update(anonymous=True)
        return pafs.S3FileSystem(**kwargs)


@dataclass(frozen=True)
class LakeLocation:
    """The lake's root: ``root`` is a local directory path or ``s3://bucket/prefix``."""

    root: str
    data_dir: Path
    s3: S3Access | None = None
    # The metadata DB's URL: on object storage with PostgreSQL, writers lock tables there (portal.lake.write_lock).
    database_url: str = field(default="", repr=False)

    @classmethod
    def from_settings(cls, settings: object) -> LakeLocation:
        url = getattr(settings, "lake_url", None)
        data_dir = Path(getattr(settings, "data_dir"))
        return cls.parse(url, data_dir, database_url=str(getattr(settings, "resolved_database_url", "")))

    @classmethod
    def parse(cls, url: str | os.PathLike | None, data_dir: Path, environ: Mapping[str, str] | None = None,
              database_url: str = "") -> LakeLocation:
        if url is None or str(url).strip() == "":
            return cls(_absolute(Path(data_dir) / "lake"), Path(data_dir), database_url=database_url)
        text = str(url).strip()
        parts = urlsplit(text)
        if parts.scheme in S3_SCHEMES:
            bucket, prefix = parts.netloc, parts.path.strip("/")
            if not bucket or parts.query or parts.fragment:
                raise LocationError(_("PORTAL_LAKE_URL {url} must look like s3://bucket or s3://bucket/prefix").format(
                    url=repr(text)))
            if any(p in ("", ".", "..") for p in prefix.split("/")) and prefix:
                raise LocationError(_("PORTAL_LAKE_URL {url} has an empty, '.' or '..' part in its prefix").format(
                    url=repr(text)))
            root = f"s3://{bucket}" + (f"/{prefix}" if prefix else "")
            return cls(root, Path(data_dir), S3Access.from_environment(environ), database_url)
        if parts.scheme == "file":
            return cls(_absolute(Path(parts.path)), Path(data_dir), database_url=database_url)
        if parts.scheme and len(parts.scheme) > 1:
            raise LocationError(_("PORTAL_LAKE_URL {url}: only local paths and s3://bucket/prefix are supported").format(
                url=repr(text)))
        return cls(_absolute(Path(text)), Path(data_dir), database_url=database_url)

    # ---- what it is ----------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return self.s3 is None

    def __str__(self) -> str:
        return self.root

    @cached_property
    def fs(self) -> pafs.FileSystem:
        return pafs.LocalFileSystem() if self.s3 is None else self.s3.filesystem()

    @property
    def storage_options(self) -> dict[str, str] | None:
        """Options for ``DeltaTable``, ``write_deltalake`` and ``pl.scan_delta`` (None for a local lake)."""
        return None if self.s3 is None else self.s3.storage_options()

    @property
    def local_dir(self) -> Path:
        """The lake's directory; only for a local lake."""
        if self.s3 is not None:
            raise LocationError(_("the lake at {root} is on object storage, not in a local directory").format(
                root=self.root))
        return Path(self.root)

    # ---- names ---------------------------------------------------------------

    def uri(self, *parts: str) -> str:
        """What Delta Lake and polars open: a local path, or ``s3://bucket/prefix/parts``."""
        if self.s3 is None:
            return str(Path(self.root, *parts))
        return "/".join([self.root, *parts])

    def path(self, *parts: str) -> str:
        """What :attr:`fs` opens: a local path, or ``bucket/prefix/parts``."""
        if self.s3 is None:
            return str(Path(self.root, *parts))
        return "/".join([self.root.split("://", 1)[1], *parts])

    def uri_of(self, path: str) -> str:
        """The URI of a file-system path (as :meth:`path` returns)."""
        return path if self.s3 is None else f"s3://{path}"

    def derived(self, name: str) -> LakeLocation:
        """Where a derived store (``rollups``, ``releases``) lives: the data directory beside a local lake,
        ``<lake>/_portal/<name>`` on object storage, so replicas share it."""
        if self.s3 is None:
            return LakeLocation(_absolute(self.data_dir / name), self.data_dir, database_url=self.database_url)
        return LakeLocation(self.uri(DERIVED_PREFIX, name), self.data_dir, self.s3, self.database_url)

    # ---- files ---------------------------------------------------------------

    def files(self, *parts: str, recursive: bool = True) -> Iterator[Entry]:
        """Every file under ``parts`` (none when it does not exist), in name order."""
        base = self.path(*parts)
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True, recursive=recursive))
        except FileNotFoundError:
            return
        prefix = base.rstrip("/") + "/"
        for info in sorted(infos, key=lambda i: i.path):
            if info.type != pafs.FileType.File:
                continue
            mtime = info.mtime_ns if info.mtime is not None else None
            yield Entry(info.path, info.path.removeprefix(prefix), int(info.size or 0), mtime)

    def names(self, *parts: str) -> list[str]:
        """Names of the files directly under ``parts``; :class:`FileNotFoundError` when there is nothing there."""
        base = self.path(*parts)
        infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=False, recursive=False))
        return [i.base_name for i in infos if i.type == pafs.FileType.File]

    def info(self, *parts: str) -> Entry | None:
        path = self.path(*parts)
        found = self.fs.get_file_info(path)
        if found.type != pafs.FileType.File:
            return None
        return Entry(path, parts[-1] if parts else "", int(found.size or 0),
                     found.mtime_ns if found.mtime is not None else None)

    def size_of(self, path: str) -> int | None:
        found = self.fs.get_file_info(path)
        return int(found.size or 0) if found.type == pafs.FileType.File else None

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return bytes(stream.read())

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Write a whole file at once: owner-only and atomic (a temporary file renamed) on a local disk,
        a single PUT on object storage (atomic there)."""
        if self.s3 is None:
            target = Path(self.path(*parts))
            file_modes.private_dir(target.parent)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.{id(data):x}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_modes.FILE_MODE)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            return
        with self.fs.open_output_stream(self.path(*parts)) as stream:
            stream.write(data)

    def delete(self, path: str) -> bool:
        """Delete one file by its file-system path; False when it was not there."""
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            return False
        return True

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type == pafs.FileType.File

    def has_files(self, *parts: str) -> bool:
        """Whether anything lies under ``parts`` (a directory on disk, a prefix on object storage)."""
        base = self.path(*parts)
        try:
            infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True, recursive=False))
        except FileNotFoundError:
            return False
        return bool(infos)
