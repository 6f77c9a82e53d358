import base64
import json
import stat

import pytest

from app.config import ArchiveSettings, Settings
from app.documents.crypto import (
    DecryptionFailed,
    Keyring,
    KeyringError,
    associated_data,
    load_keyring,
    new_master_key,
    parse_master_keys,
    seal,
    unseal,
)

PDF = b"%PDF-1.7\n" + b"attestation de vigilance " * 200


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_seal_roundtrip_hides_plaintext() -> None:
    ring = Keyring([new_master_key("a")])
    aad = associated_data("doc-1", "ab" * 32)
    sealed = seal(ring, PDF, aad)
    assert b"%PDF" not in sealed.blob and b"attestation" not in sealed.blob
    assert sealed.key_id == "a" and len(sealed.wrapped_key) == 40
    assert unseal(ring, sealed.blob, sealed.wrapped_key, "a", aad) == PDF


def test_other_document_aad_fails() -> None:
    ring = Keyring([new_master_key("a")])
    sealed = seal(ring, PDF, associated_data("doc-1", "ab" * 32))
    with pytest.raises(DecryptionFailed):
        unseal(ring, sealed.blob, sealed.wrapped_key, "a", associated_data("doc-2", "ab" * 32))


def test_flipped_byte_fails() -> None:
    ring = Keyring([new_master_key("a")])
    aad = associated_data("doc-1", "cd" * 32)
    sealed = seal(ring, PDF, aad)
    blob = bytearray(sealed.blob)
    blob[100] ^= 0x01
    with pytest.raises(DecryptionFailed):
        unseal(ring, bytes(blob), sealed.wrapped_key, "a", aad)


def test_rewrap_under_new_key_keeps_blob() -> None:
    old = new_master_key("old")
    aad = associated_data("d", "ef" * 32)
    sealed = seal(Keyring([old]), PDF, aad)
    ring = Keyring([new_master_key("new"), old])
    wrapped, kid = ring.rewrap(sealed.wrapped_key, sealed.key_id)
    assert kid == "new"
    only_new = Keyring([ring.current])
    assert unseal(only_new, sealed.blob, wrapped, kid, aad) == PDF


def test_parse_formats_first_is_current() -> None:
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    for raw in (
        f"one:{b64(k1)},two:{b64(k2)}",
        json.dumps({"one": b64(k1), "two": b64(k2)}),
        json.dumps([{"kid": "one", "key": b64(k1)}, {"kid": "two", "key": b64(k2)}]),
        json.dumps({"keys": [{"kid": "one", "key": b64(k1)}, {"kid": "two", "key": b64(k2)}]}),
    ):
        ring = parse_master_keys(raw)
        assert ring.current.kid == "one" and ring.get("two").key == k2


@pytest.mark.parametrize("raw", ["one", f"one:{b64(b'short')}", "{bad json", "[1]"])
def test_parse_rejects_bad_keys(raw: str) -> None:
    with pytest.raises(KeyringError):
        parse_master_keys(raw)


def test_repr_never_shows_key() -> None:
    key = new_master_key("k")
    assert b64(key.key) not in repr(key) and repr(key.key) not in repr(key)


def test_embedded_creates_key_file_0600(tmp_path, caplog) -> None:
    path = tmp_path / "var" / "archive-keys.json"
    settings = Settings(archive=ArchiveSettings(key_file=path, dir=tmp_path / "a"))
    ring = load_keyring(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "archive master key" in caplog.text and b64(ring.current.key) not in caplog.text
    assert load_keyring(settings).current == ring.current  # reused, not regenerated


def test_production_refuses_to_create_key(tmp_path) -> None:
    path = tmp_path / "keys.json"
    settings = Settings(
        environment="production",
        secret_key="x" * 40,
        archive=ArchiveSettings(key_file=path),
    )
    with pytest.raises(KeyringError):
        load_keyring(settings)
    assert not path.exists()


def test_env_keys_win_over_file(tmp_path) -> None:
    raw = "env:" + b64(bytes(32))
    settings = Settings(archive=ArchiveSettings(master_keys=raw, key_file=tmp_path / "k"))
    assert load_keyring(settings).current.kid == "env"
    assert not (tmp_path / "k").exists()
