"""Each buyer's own API Entreprise token: sealed at rest, read per check, aged by its `exp`.

A buyer holding its own habilitation calls API Entreprise with its own token; the others use the
platform's (`API_ENTREPRISE__TOKEN`). The token is sealed with the archive's envelope encryption
(app/documents/crypto.py), bound to the buyer's id through the GCM associated data so that a
sealed token cannot be moved to another buyer. It is read from the database at each check (no
cache), so a token set or cleared applies from the next call in every process.

API Entreprise tokens are JWTs living 18 months: their `exp` is read WITHOUT verifying the
signature (Vigie does not hold the key), to warn before they expire, never to trust them.
"""

import base64
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.buyers.models import BuyerToken
from app.common import utcnow
from app.config import Settings
from app.documents.crypto import Keyring, seal, unseal
from app.errors import ValidationFailed

log = logging.getLogger("vigie.tokens")

EXPIRY_WARNING_DAYS = 30
MAX_TOKEN_CHARS = 8192


def token_hash(token: str | SecretStr) -> str:
    """How a token is shown: the first 12 hex digits of its SHA-256, never the token."""
    raw = token.get_secret_value() if isinstance(token, SecretStr) else token
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def token_claims(token: str | SecretStr) -> dict[str, Any]:
    """The JWT's claims, decoded WITHOUT verifying the signature (diagnosis only)."""
    raw = token.get_secret_value() if isinstance(token, SecretStr) else token
    try:
        payload = raw.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expiry(token: str | SecretStr) -> datetime | None:
    """The JWT's `exp` (UTC), or None when the token is not a JWT or has no usable `exp`."""
    exp = token_claims(token).get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def days_left(expires_at: datetime | None, now: datetime | None = None) -> int | None:
    if expires_at is None:
        return None
    return (expires_at - (now or utcnow())).days


def expires_soon(expires_at: datetime | None, now: datetime | None = None) -> bool:
    """True when the token expires within EXPIRY_WARNING_DAYS (or has expired)."""
    if expires_at is None:
        return False
    return expires_at - (now or utcnow()) <= timedelta(days=EXPIRY_WARNING_DAYS)


def warn_if_platform_token_expiring(settings: Settings, now: datetime | None = None) -> bool:
    """Log a warning when the platform token expires within 30 days; True when it did."""
    token = settings.api_entreprise.token
    if token is None:
        return False
    expires_at = token_expiry(token)
    if not expires_soon(expires_at, now):
        return False
    assert expires_at is not None
    left = days_left(expires_at, now)
    log.warning(
        "The API Entreprise platform token %s %s on %s (%s days): ask DINUM for a new one "
        "and set API_ENTREPRISE__TOKEN.",
        token_hash(token),
        "expired" if left is not None and left < 0 else "expires",
        f"{expires_at:%Y-%m-%d}",
        left,
    )
    return True


# --- storage -----------------------------------------------------------------------------------


def _aad(buyer_id: uuid.UUID) -> bytes:
    return f"vigie-buyer-token|{buyer_id}".encode()


def clean_token(raw: str) -> str:
    """The token as read from standard input: surrounding blanks dropped, nothing else."""
    token = raw.strip()
    if not token:
        raise ValidationFailed("No token read from standard input.", code="token_missing")
    if len(token) > MAX_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ValidationFailed(
            "The token must be one line without spaces (the JWT given by API Entreprise).",
            code="token_malformed",
        )
    return token


async def set_token(
    session: AsyncSession, keyring: Keyring, buyer_id: uuid.UUID, token: str
) -> BuyerToken:
    """Seal and store the buyer's token, replacing any previous one."""
    token = clean_token(token)
    sealed = seal(keyring, token.encode(), _aad(buyer_id))
    row = await session.get(BuyerToken, buyer_id) or BuyerToken(
        buyer_id=buyer_id, sealed=b"", key_id="", wrapped_key=b"", token_hash=""
    )
    row.sealed, row.key_id, row.wrapped_key = sealed.blob, sealed.key_id, sealed.wrapped_key
    row.token_hash, row.expires_at, row.updated_at = (
        token_hash(token),
        token_expiry(token),
        utcnow(),
    )
    session.add(row)
    await session.flush()
    log.info("API Entreprise token %s set for buyer %s", row.token_hash, buyer_id)
    return row


async def clear_token(session: AsyncSession, buyer_id: uuid.UUID) -> bool:
    """Remove the buyer's token (its checks go back to the platform's); False when it had none."""
    row = await session.get(BuyerToken, buyer_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    log.info("API Entreprise token %s cleared for buyer %s", row.token_hash, buyer_id)
    return True


async def token_for(
    session: AsyncSession, keyring: Keyring, buyer_id: uuid.UUID
) -> SecretStr | None:
    """The buyer's own token, or None (use the platform's). Read at each call, never cached."""
    row = await session.get(BuyerToken, buyer_id, populate_existing=True)
    if row is None:
        return None
    aad = _aad(buyer_id)
    return SecretStr(unseal(keyring, row.sealed, row.wrapped_key, row.key_id, aad).decode())


async def list_tokens(session: AsyncSession) -> list[BuyerToken]:
    query = select(BuyerToken).order_by(col(BuyerToken.buyer_id))
    return list((await session.exec(query)).all())
