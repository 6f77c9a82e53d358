"""Envelope encryption of archived documents (AES-256-GCM data keys wrapped by master keys).

Each document gets a fresh 256-bit data key; its ciphertext is bound to the document's id and
SHA-256 through the GCM associated data, so two blobs cannot be swapped and a row's hash cannot
be edited without the tag failing. The data key is wrapped with AES key wrap (RFC 3394) under a
master key whose id is stored beside it: rotation re-wraps data keys, never the documents.
"""

import base64
import binascii
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from app.common import utcnow
from app.config import Settings

log = logging.getLogger(__name__)

MAGIC = b"VGA1"  # blob format: MAGIC | nonce (12) | ciphertext + tag (16)
NONCE_SIZE = 12


class KeyringError(Exception):
    """Master keys missing, malformed or unknown."""


class DecryptionFailed(Exception):
    """The blob, its wrapped key or its associated data were altered (or the key is wrong)."""


@dataclass(frozen=True)
class MasterKey:
    kid: str
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise KeyringError(f"master key {self.kid!r} must be 32 bytes (AES-256)")
        if not self.kid or ":" in self.kid or "," in self.kid:
            raise KeyringError("a master key id must be non-empty, without ':' or ','")

    def __repr__(self) -> str:  # never print key material
        return f"MasterKey(kid={self.kid!r})"


@dataclass(frozen=True)
class Sealed:
    blob: bytes
    wrapped_key: bytes
    key_id: str


def new_master_key(kid: str | None = None) -> MasterKey:
    kid = kid or f"k{utcnow():%Y%m%d}-{secrets.token_hex(3)}"
    return MasterKey(kid, AESGCM.generate_key(bit_length=256))


class Keyring:
    """Master keys by id; the first one wraps new data keys, every one can unwrap."""

    def __init__(self, keys: list[MasterKey]) -> None:
        if not keys:
            raise KeyringError("no master key configured")
        if len({k.kid for k in keys}) != len(keys):
            raise KeyringError("duplicate master key id")
        self.keys = list(keys)
        self._by_id = {k.kid: k for k in keys}

    @property
    def current(self) -> MasterKey:
        return self.keys[0]

    def get(self, kid: str) -> MasterKey:
        try:
            return self._by_id[kid]
        except KeyError:
            raise KeyringError(f"unknown master key id {kid!r}") from None

    def wrap(self, data_key: bytes) -> tuple[bytes, str]:
        return aes_key_wrap(self.current.key, data_key), self.current.kid

    def unwrap(self, wrapped_key: bytes, kid: str) -> bytes:
        try:
            return aes_key_unwrap(self.get(kid).key, wrapped_key)
        except InvalidUnwrap as exc:
            raise DecryptionFailed("wrapped data key does not unwrap") from exc

    def rewrap(self, wrapped_key: bytes, kid: str) -> tuple[bytes, str]:
        return self.wrap(self.unwrap(wrapped_key, kid))

    def to_json(self) -> str:
        entries = [{"kid": k.kid, "key": base64.b64encode(k.key).decode()} for k in self.keys]
        return json.dumps({"keys": entries}, indent=2)


def associated_data(document_id: object, sha256: str) -> bytes:
    return f"vigie-document|{document_id}|{sha256}".encode()


def seal(keyring: Keyring, plaintext: bytes, aad: bytes) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_SIZE)
    blob = MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)
    wrapped, kid = keyring.wrap(data_key)
    return Sealed(blob=blob, wrapped_key=wrapped, key_id=kid)


def unseal(keyring: Keyring, blob: bytes, wrapped_key: bytes, kid: str, aad: bytes) -> bytes:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_SIZE + 16:
        raise DecryptionFailed("not an archive blob")
    data_key = keyring.unwrap(wrapped_key, kid)
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[len(MAGIC) + NONCE_SIZE :], aad)
    except InvalidTag as exc:
        raise DecryptionFailed("authentication tag mismatch") from exc


# --- loading master keys ---------------------------------------------------------------------


def _decode_key(kid: str, value: str) -> MasterKey:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyringError(f"master key {kid!r} is not 32 bytes of base64")
    return MasterKey(kid.strip(), raw)


def parse_master_keys(raw: str) -> Keyring:
    """Parse master keys; the first one is the current one.

    Accepted: `{"keys": [{"kid", "key"}]}`, `[{"kid", "key"}]`, `{"kid": "b64"}`, `kid:b64,kid:b64`.
    """
    raw = raw.strip()
    if raw.startswith(("{", "[")):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise KeyringError("master keys: invalid JSON") from exc
        if isinstance(data, dict) and "keys" in data:
            data = data["keys"]
        if isinstance(data, dict):
            return Keyring([_decode_key(str(k), str(v)) for k, v in data.items()])
        if isinstance(data, list):
            try:
                return Keyring([_decode_key(str(e["kid"]), str(e["key"])) for e in data])
            except (KeyError, TypeError) as exc:
                raise KeyringError("master keys: each entry needs 'kid' and 'key'") from exc
        raise KeyringError("master keys: unsupported JSON shape")
    keys = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        kid, sep, value = part.partition(":")
        if not sep:
            raise KeyringError("master keys: expected 'kid:base64' entries separated by ','")
        keys.append(_decode_key(kid, value))
    return Keyring(keys)


def write_key_file(path: Path, keyring: Keyring) -> None:
    """Write atomically with 0600 permissions (the file never exists with wider ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, keyring.to_json().encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_keyring(settings: Settings) -> Keyring:
    """Master keys from ARCHIVE__MASTER_KEYS, else the key file; create the file only when embedded.

    In production an absent key is an error: a silently generated key next to the data would
    defeat keeping key backups apart from data backups.
    """
    cfg = settings.archive
    if cfg.master_keys is not None and cfg.master_keys.get_secret_value().strip():
        return parse_master_keys(cfg.master_keys.get_secret_value())
    path = Path(cfg.key_file)
    if path.exists():
        return parse_master_keys(path.read_text())
    if settings.is_production:
        raise KeyringError(
            "no archive master key: set ARCHIVE__MASTER_KEYS or ARCHIVE__KEY_FILE "
            "(keys are never generated automatically in production)"
        )
    keyring = Keyring([new_master_key()])
    if not create_key_file(path, keyring):
        return parse_master_keys(path.read_text())  # another process made it first: use its key
    log.warning(
        "Created a new archive master key in %s (mode 0600, key id %s). Back it up apart "
        "from the data: without it the archived documents cannot be read.",
        path,
        keyring.current.kid,
    )
    return keyring


def create_key_file(path: Path, keyring: Keyring) -> bool:
    """Create the key file only if there is none, atomically: the key is written to a private
    temporary file, then hard-linked to its name, which fails if the name exists. Two processes
    starting at once (the API and the worker) thus never make two master keys; the loser reads
    the winner's back. False when the file already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, keyring.to_json().encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never replaces: the file appears whole, or not at all
        except FileExistsError:
            return False
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


def keys_from_file(settings: Settings) -> bool:
    """True when the keyring comes from the key file (so `rotate-key` may add a key to it)."""
    mk = settings.archive.master_keys
    return mk is None or not mk.get_secret_value().strip()
