"""Two processes starting at once with no key file (the API and the worker, in development) must
end up with one and the same master key: the loser of the race reads the winner's key back. A
second key would make the documents sealed by the other process unreadable."""

import multiprocessing
from pathlib import Path

from app.config import ArchiveSettings, Settings
from app.documents.crypto import load_keyring, parse_master_keys

PROCESSES, ROUNDS = 6, 8


def _start(path: str, barrier, out) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(archive=ArchiveSettings(key_file=Path(path), dir=Path(path).parent / "a"))
    barrier.wait()  # every process looks for the file at the same moment
    ring = load_keyring(settings)
    out.put((ring.current.kid, ring.current.key))


def test_concurrent_starts_make_one_master_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}" / "archive-keys.json"
        barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [
            ctx.Process(target=_start, args=(str(path), barrier, out)) for _ in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        keys = {out.get(timeout=60) for _ in procs}
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        assert len(keys) == 1, f"round {round_}: {len(keys)} different master keys"
        on_disk = parse_master_keys(path.read_text()).current
        assert keys == {(on_disk.kid, on_disk.key)}
        assert path.stat().st_mode & 0o777 == 0o600
        assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
