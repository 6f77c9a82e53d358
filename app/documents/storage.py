"""Where encrypted blobs live: a small protocol and the local-directory implementation.

Names are relative, `/`-separated (`ab/<uuid>.blob`) so an object-store backend can map them to
keys unchanged. Writes are atomic: a reader sees the whole blob or nothing.
"""

import asyncio
import builtins
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

TMP_PREFIX = ".tmp-"
_WRITERS = 4  # blobs of a batch written at once


class BlobNotFound(Exception):
    pass


@runtime_checkable
class Storage(Protocol):
    async def put(self, name: str, data: bytes) -> None:
        """Store durably; when it returns, the blob survives a crash."""

    async def get(self, name: str) -> bytes:
        """Raise BlobNotFound when absent."""

    async def exists(self, name: str) -> bool: ...

    async def delete(self, name: str) -> None:
        """Idempotent: deleting an absent blob is not an error."""

    async def list(self) -> list[str]:
        """Every stored name (temporary files of unfinished writes excluded)."""


def _check_name(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in {"", ".", ".."} for p in parts):
        raise ValueError(f"invalid blob name {name!r}")
    if any(p.startswith(TMP_PREFIX) for p in parts):
        raise ValueError(f"reserved blob name {name!r}")
    return name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """A directory tree; each put is temp file → fsync → rename → fsync(dir)."""

    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync

    def path(self, name: str) -> Path:
        return self.root / _check_name(name)

    def _put(self, name: str, data: bytes) -> None:
        self._put_many([(name, data)])

    def _put_many(self, items: "builtins.list[tuple[str, bytes]]") -> None:
        """Each blob: temp file → fsync → rename; then each directory touched fsynced once (the
        renames are durable before this returns, as with one put)."""
        dirs: dict[Path, bool] = {}  # directory → created by this call
        targets = []
        for name, data in items:
            target = self.path(name)
            if target.parent not in dirs:
                dirs[target.parent] = not target.parent.exists()
                target.parent.mkdir(parents=True, exist_ok=True)
            targets.append((target, data))
        if len(targets) == 1:
            self._write(*targets[0])
        else:  # the disk overlaps several fsyncs; each blob keeps its own before its rename
            with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
                list(pool.map(lambda item: self._write(*item), targets))
        if self.fsync:
            for directory, created in dirs.items():
                _fsync_dir(directory)
                if created:
                    _fsync_dir(directory.parent)

    def _write(self, target: Path, data: bytes) -> None:
        tmp = target.with_name(f"{TMP_PREFIX}{target.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, target)

    def _get(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(name) from None

    def _delete(self, name: str) -> None:
        path = self.path(name)
        path.unlink(missing_ok=True)
        if self.fsync and path.parent.exists():
            _fsync_dir(path.parent)

    def _walk(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            for f in files:
                if not f.startswith(TMP_PREFIX):
                    yield (rel / f).as_posix()

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, name, data)

    async def put_many(self, items: "builtins.list[tuple[str, bytes]]") -> None:
        """Several blobs in one trip to a thread (a batch of the archive)."""
        await asyncio.to_thread(self._put_many, items)

    async def get(self, name: str) -> bytes:
        return await asyncio.to_thread(self._get, name)

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self.path(name).is_file)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._delete, name)

    async def list(self) -> list[str]:
        return await asyncio.to_thread(lambda: sorted(self._walk()))

    def leftovers(self) -> builtins.list[str]:
        """Temporary files of writes interrupted by a crash (safe to delete)."""
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix() for p in self.root.rglob(f"{TMP_PREFIX}*")
        )
