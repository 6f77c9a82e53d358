"""`vigie buyers token set|clear`: the token comes from standard input, is sealed at rest (in no
column in clear, in no log), is read back per call, and its JWT `exp` is read unverified."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from app.buyers.models import Buyer, BuyerToken
from app.buyers.tokens import (
    expires_soon,
    token_expiry,
    token_for,
    token_hash,
    warn_if_platform_token_expiring,
)
from app.cli import app as cli
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.documents.crypto import DecryptionFailed, load_keyring
from tests.factories import random_siret
from tests.test_cli import cli_env, invoke  # noqa: F401  (fixture)

runner = CliRunner()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(
    expires_at: datetime | None, *, secret: bytes = b"test-secret", **claims: object
) -> str:
    """An HS256 JWT like API Entreprise's (whose signature Vigie cannot verify anyway)."""
    body = dict(claims, uid=str(uuid.uuid4()), jti=uuid.uuid4().hex)
    if expires_at is not None:
        body["exp"] = int(expires_at.timestamp())
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(body).encode())
    signature = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{_b64(signature)}"


def _raw_rows(db: Path) -> list[tuple[str, tuple[object, ...]]]:
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"')]
    finally:
        con.close()


def _in_rows(token: str, rows: list[tuple[str, tuple[object, ...]]]) -> list[str]:
    needle = token.encode()
    found = []
    for table, row in rows:
        for value in row:
            raw = value if isinstance(value, bytes) else str(value).encode()
            if needle in raw or token[-20:].encode() in raw:
                found.append(table)
    return found


def _run(work):
    async def main():
        engine = make_engine(get_settings().database_url)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _buyer_id(siret: str) -> uuid.UUID:
    async def work(session):
        from sqlmodel import select

        return (await session.exec(select(Buyer.id).where(Buyer.siret == siret))).one()

    return _run(work)


def _token_for(buyer_id: uuid.UUID) -> SecretStr | None:
    keyring = load_keyring(get_settings())
    return _run(lambda session: token_for(session, keyring, buyer_id))


def test_set_from_stdin_sealed_never_logged_then_cleared(cli_env, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    assert invoke("migrate").exit_code == 0
    siret, other = random_siret(), random_siret()
    for s in (siret, other):
        assert invoke("buyers", "create", "--siret", s, "--name", f"Acheteur {s}").exit_code == 0
    token = make_jwt(datetime.now(UTC) + timedelta(days=400))

    result = runner.invoke(cli, ["buyers", "token", "set", "--siret", siret], input=token + "\n")
    assert result.exit_code == 0, result.output
    assert token_hash(token) in result.output
    assert token not in result.output

    async def stored(session):
        row = await session.get(BuyerToken, _buyer_id_sync)
        return row.token_hash, row.expires_at

    _buyer_id_sync = _buyer_id(siret)
    assert _run(stored) == (token_hash(token), token_expiry(token))

    rows = _raw_rows(cli_env)
    assert any(table == "buyer_tokens" for table, _ in rows)
    assert _in_rows(token, rows) == []
    assert token not in caplog.text and token[-20:] not in caplog.text
    buyer_id = _buyer_id(siret)
    got = _token_for(buyer_id)
    assert got is not None and got.get_secret_value() == token
    assert _token_for(_buyer_id(other)) is None  # the other buyer uses the platform's token

    # A sealed token moved onto another buyer's row does not open (bound to the buyer's id).
    async def move(session):
        row = await session.get(BuyerToken, buyer_id)
        session.add(BuyerToken(**{**row.model_dump(), "buyer_id": _other_id}))

    _other_id = _buyer_id(other)
    _run(move)
    with pytest.raises(DecryptionFailed):
        _token_for(_other_id)

    # A new token replaces the old one, from the next read.
    newer = make_jwt(datetime.now(UTC) + timedelta(days=500))
    result = runner.invoke(cli, ["buyers", "token", "set", "--siret", siret], input=newer)
    assert result.exit_code == 0, result.output
    replaced = _token_for(buyer_id)
    assert replaced is not None and replaced.get_secret_value() == newer

    result = invoke("buyers", "token", "clear", "--siret", siret)
    assert result.exit_code == 0, result.output
    assert _token_for(buyer_id) is None
    assert not [r for t, r in _raw_rows(cli_env) if t == "buyer_tokens" and r[0] == buyer_id.hex]
    assert newer not in caplog.text and token not in caplog.text


def test_token_never_on_the_command_line_nor_empty(cli_env):  # noqa: F811
    assert invoke("migrate").exit_code == 0
    siret = random_siret()
    assert invoke("buyers", "create", "--siret", siret, "--name", "Acheteur").exit_code == 0
    token = make_jwt(datetime.now(UTC) + timedelta(days=400))
    result = invoke("buyers", "token", "set", "--siret", siret, "--token", token)
    assert result.exit_code == 2  # no such option: argv ends up in shell history and `ps`
    result = runner.invoke(cli, ["buyers", "token", "set", "--siret", siret], input="  \n")
    assert result.exit_code == 1 and "token_missing" in result.output
    result = runner.invoke(cli, ["buyers", "token", "set", "--siret", random_siret()], input=token)
    assert result.exit_code == 1 and "buyer_not_found" in result.output
    assert token not in result.output


def test_token_expiry_reads_exp_without_verifying():
    exp = datetime(2028, 5, 30, 12, 0, tzinfo=UTC)
    assert token_expiry(make_jwt(exp)) == exp
    assert token_expiry(SecretStr(make_jwt(exp, secret=b"someone else's key"))) == exp
    assert token_expiry(make_jwt(None)) is None
    assert token_expiry("sandbox-dev-token") is None
    assert token_expiry("a.!!!.b") is None
    assert token_expiry(f"a.{_b64(json.dumps({'exp': 1e300}).encode())}.b") is None
    assert token_expiry(f"a.{_b64(json.dumps({'exp': True}).encode())}.b") is None
    now = datetime(2028, 5, 1, tzinfo=UTC)
    assert expires_soon(exp, now) and not expires_soon(exp, now - timedelta(days=2))
    assert not expires_soon(None, now)


def test_platform_token_expiring_is_warned_without_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    soon = make_jwt(datetime.now(UTC) + timedelta(days=10))
    settings = Settings(environment="test", api_entreprise={"token": soon})
    assert warn_if_platform_token_expiring(settings) is True
    assert token_hash(soon) in caplog.text and soon not in caplog.text
    later = make_jwt(datetime.now(UTC) + timedelta(days=300))
    settings = Settings(environment="test", api_entreprise={"token": later})
    assert warn_if_platform_token_expiring(settings) is False
