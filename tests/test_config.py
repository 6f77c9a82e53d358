"""Settings: environment variable names, database URLs, the production guard."""

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from app.config import DEFAULT_SECRET_KEY, Settings
from app.db import async_url, is_sqlite

ENV_PREFIXES = ("DATABASE_URL", "REDIS_URL", "HOST", "PORT", "VIGILANCE_", "API_ENTREPRISE__")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Run each test outside the repository (no `.env`) with none of the settings set."""
    import os

    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(
            (*ENV_PREFIXES, "ARCHIVE__", "COMPLIANCE__", "SECRET_KEY", "ENVIRONMENT")
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults():
    s = Settings()
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.vigilance_threshold_ht == Decimal("5000.00")
    assert s.redis_url is None and s.embedded
    assert is_sqlite(s.database_url) and "var" in s.database_url
    assert s.api_entreprise.token is None


def test_env_var_names(monkeypatch):
    env = {
        "DATABASE_URL": "postgresql://vigie:pw@db:5432/vigie",
        "REDIS_URL": "redis://cache:6379/2",
        "HOST": "0.0.0.0",
        "PORT": "9000",
        "VIGILANCE_THRESHOLD_HT": "7500.5",
        "API_ENTREPRISE__TOKEN": "tok-secret",
        "API_ENTREPRISE__BASE_URL": "https://staging.entreprise.api.gouv.fr",
        "API_ENTREPRISE__JSON_PER_MINUTE": "100",
        "ARCHIVE__DIR": "/srv/archive",
        "ARCHIVE__MASTER_KEYS": "k1:abc",
        "SECRET_KEY": "not-the-default-and-long-enough-0123",
        "ENVIRONMENT": "production",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = Settings()
    assert s.database_url == env["DATABASE_URL"]
    assert s.redis_url == env["REDIS_URL"] and not s.embedded
    assert (s.host, s.port) == ("0.0.0.0", 9000)
    assert s.vigilance_threshold_ht == Decimal("7500.5")
    assert isinstance(s.api_entreprise.token, SecretStr)
    assert s.api_entreprise.token.get_secret_value() == "tok-secret"
    assert "tok-secret" not in repr(s) and "tok-secret" not in str(s.model_dump())
    assert s.api_entreprise.base_url == env["API_ENTREPRISE__BASE_URL"]
    assert s.api_entreprise.json_per_minute == 100
    assert s.archive.dir == Path("/srv/archive")
    assert s.archive.master_keys is not None
    assert s.is_production


def test_blank_redis_url_is_embedded(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "")
    assert Settings().embedded


def test_lowercase_env_names_work_too(monkeypatch):
    monkeypatch.setenv("port", "8123")
    assert Settings().port == 8123


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///var/vigie.db", "sqlite+aiosqlite:///var/vigie.db"),
        ("sqlite:////abs/path/vigie.db", "sqlite+aiosqlite:////abs/path/vigie.db"),
        ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
        ("postgres://u:p@h/d", "postgresql+asyncpg://u:p@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_database_urls_get_async_drivers(monkeypatch, url, driver):
    monkeypatch.setenv("DATABASE_URL", url)
    assert Settings().database_url == url
    assert async_url(url) == driver


@pytest.mark.parametrize("url", ["mysql://u@h/d", "redis://h/0", "nonsense"])
def test_unknown_database_scheme_refused(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings()


def test_production_refuses_default_secret(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
    monkeypatch.setenv("SECRET_KEY", DEFAULT_SECRET_KEY)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-from-the-vault-0123456789")
    assert Settings().is_production


@pytest.mark.parametrize("secret", ["s3cr3t-tiny", "x" * 31, "é" * 15])
def test_production_refuses_a_short_secret(monkeypatch, secret):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ValidationError) as caught:
        Settings()
    (error,) = caught.value.errors()
    assert error["msg"].startswith("Value error, SECRET_KEY is shorter than 32 bytes")
    assert secret not in str(caught.value)  # the secret itself is never echoed


def test_a_32_byte_secret_is_enough_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "é" * 16)  # 16 characters, 32 bytes in UTF-8
    assert Settings().is_production


def test_development_tolerates_a_short_secret(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    assert not Settings().is_production


def test_max_retry_seconds_defaults_to_three_days(monkeypatch):
    assert Settings().api_entreprise.max_retry_seconds == 259200
    monkeypatch.setenv("API_ENTREPRISE__MAX_RETRY_SECONDS", "3600")
    assert Settings().api_entreprise.max_retry_seconds == 3600
    monkeypatch.setenv("API_ENTREPRISE__MAX_RETRY_SECONDS", "1")
    with pytest.raises(ValidationError, match="max_retry_seconds"):
        Settings()


def test_development_tolerates_default_secret():
    assert Settings().secret_key.get_secret_value() == DEFAULT_SECRET_KEY


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("PORT=8765\nAPI_ENTREPRISE__CONTEXT=Test\n")
    s = Settings()
    assert (s.port, s.api_entreprise.context) == (8765, "Test")


def test_cached(monkeypatch):
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()
