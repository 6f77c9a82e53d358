import pytest

from app.documents.storage import BlobNotFound, LocalStorage, Storage


async def test_put_get_list_delete(tmp_path) -> None:
    store = LocalStorage(tmp_path)
    assert isinstance(store, Storage)
    await store.put("ab/one.blob", b"1")
    await store.put("cd/two.blob", b"22")
    assert await store.get("cd/two.blob") == b"22"
    assert await store.exists("ab/one.blob")
    assert await store.list() == ["ab/one.blob", "cd/two.blob"]
    await store.delete("ab/one.blob")
    await store.delete("ab/one.blob")  # idempotent
    assert not await store.exists("ab/one.blob")
    with pytest.raises(BlobNotFound):
        await store.get("ab/one.blob")


async def test_overwrite_is_atomic_and_leaves_no_temp(tmp_path) -> None:
    store = LocalStorage(tmp_path)
    await store.put("x/a.blob", b"old")
    await store.put("x/a.blob", b"new")
    assert await store.get("x/a.blob") == b"new"
    assert store.leftovers() == []


async def test_interrupted_write_is_not_listed(tmp_path) -> None:
    store = LocalStorage(tmp_path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".tmp-a.blob.1234").write_bytes(b"half")
    assert await store.list() == []
    assert store.leftovers() == ["x/.tmp-a.blob.1234"]


@pytest.mark.parametrize("name", ["../evil", "/abs", "a//b", "a/./b", "", "x/.tmp-y"])
async def test_rejects_unsafe_names(tmp_path, name: str) -> None:
    with pytest.raises(ValueError):
        await LocalStorage(tmp_path).put(name, b"x")
