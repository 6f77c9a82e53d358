"""Settings, loaded once from the environment (and an optional `.env`).

Nested groups use `__` in variable names: `API_ENTREPRISE__TOKEN`, `ARCHIVE__DIR`…
"""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-secret-change-me"
MIN_SECRET_KEY_BYTES = 32  # signs sessions and links: 256 bits at least in production
VAR_DIR = Path("var")


class ApiEntrepriseSettings(BaseModel):
    """API Entreprise (DINUM). Unset `base_url` = the built-in sandbox, started in-process."""

    base_url: str | None = None
    token: SecretStr | None = None
    context: str = "Marchés publics"
    json_per_minute: int = Field(250, ge=1)
    documents_per_minute: int = Field(50, ge=1)
    json_timeout: float = 5.0
    document_timeout: float = 12.0
    # Added to the default document hosts, which follow the base URL (see
    # app/integrations/api_entreprise/documents.py `default_document_hosts`).
    document_hosts: list[str] = Field(default_factory=list)
    max_document_bytes: int = 10 * 1024 * 1024
    # Rate-limit window (upstream: 60 s; shorter only for tests/benchmarks against the sandbox),
    # safety margin added to it, and how long a call may wait for a slot before it is PENDING.
    rate_window_seconds: float = Field(60.0, gt=0)
    rate_margin_seconds: float = Field(1.0, ge=0)
    max_wait_seconds: float = Field(30.0, ge=0)
    # Providers publish nightly maintenance windows (spec `x-maintenances`): no call is made
    # inside one, the check waits for its end. The sandbox has none (see app/runtime.py).
    maintenance_windows: bool = True
    # The longest wait an upstream hint (`Retry-After`, `meta.retry_in`, `RateLimit-Reset`) may
    # impose before the next try; longer hints are clamped to it (and the reason says so).
    max_retry_seconds: float = Field(259200.0, ge=60)


class ArchiveSettings(BaseModel):
    """Encrypted evidence archive."""

    dir: Path = VAR_DIR / "archive"
    master_keys: SecretStr | None = None
    key_file: Path = VAR_DIR / "archive-keys.json"
    retention_years: int = Field(5, ge=1)


class ComplianceSettings(BaseModel):
    """Knobs of the vigilance rules (see app/compliance/rules.py)."""

    expiring_days: int = Field(30, ge=0)
    grace_days: int = Field(15, ge=0)
    tolerance_days: int = Field(30, ge=0)
    # CPV prefix -> sector certificates to ask when a contract names none, e.g. {"45": ["cibtp"]}
    # (opt-in: sector certificates are never a legal default). None: the rules' (empty) table.
    cpv_requirements: dict[str, list[str]] | None = None
    # ISO country codes where a foreign company need not be on a register (D8222-7 2°: the extract
    # is asked "lorsque l'immatriculation est obligatoire dans le pays"); empty: asked everywhere.
    registration_not_compulsory: list[str] = Field(default_factory=list)


class JobsSettings(BaseModel):
    """The queue and the vigilance scheduler (arq with REDIS_URL, else in-process)."""

    queue_name: str = "vigie:queue"
    tick_seconds: float = Field(60.0, gt=0)  # the planner's period (arq cron: every minute)
    lease_seconds: float = Field(900.0, gt=0)  # a queued/running check older than this is lost
    job_timeout_seconds: float = Field(300.0, gt=0)
    max_tries: int = Field(5, ge=1)
    max_jobs: int = Field(20, ge=1)  # concurrent jobs per process
    claim_batch: int = Field(500, ge=1)
    short_retry_seconds: float = Field(900.0, ge=0)  # PENDING waits up to this: Retry(defer)
    # Embedded mode: start the in-process runner with the app (None: unless ENVIRONMENT=test).
    autostart: bool | None = None


class SmtpSettings(BaseModel):
    """Outgoing e-mail (sign-in links, reminders). Unset `host`: nothing is sent, links are printed."""

    host: str | None = None
    port: int = Field(25, ge=1, le=65535)
    # `SMTP__FROM`: the sender address
    sender: str = Field("Vigie <vigie@localhost>", validation_alias=AliasChoices("from", "sender"))
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False  # STARTTLS on a submission port (587)
    tls: bool = False  # implicit TLS (465)
    timeout_seconds: float = Field(10.0, gt=0)


class WebSettings(BaseModel):
    """The pages: sign-in links, sessions, the address printed in links and e-mails."""

    # The address people open (links in e-mails and the CLI); unset: http://HOST:PORT.
    public_url: str | None = None
    link_minutes: int = Field(30, ge=1, le=24 * 60)  # a sign-in link's validity
    session_idle_minutes: int = Field(30, ge=1)
    session_absolute_hours: int = Field(12, ge=1)
    # Sign-in link requests allowed per address and per IP within `attempt_window_seconds`.
    attempts_per_address: int = Field(5, ge=1)
    attempts_per_ip: int = Field(20, ge=1)
    attempt_window_seconds: int = Field(900, ge=1)
    # The accessibility statement's conformity (RGAA): never "totalement" without a human audit.
    accessibility: Literal["non conforme", "partiellement conforme", "totalement conforme"] = (
        "non conforme"
    )


class ProConnectSettings(BaseModel):
    """ProConnect (OpenID Connect, the State's sign-in for public agents): on when `issuer`,
    `client_id` and `client_secret` are all set. Each deployment registers its own client."""

    # e.g. https://auth.agentconnect.gouv.fr/api/v2 (discovery: {issuer}/.well-known/…)
    issuer: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scopes: str = "openid email given_name usual_name siret idp_id"
    # Grant a first sign-in at once instead of an access request the buyer's admin approves.
    auto_approve: bool = False
    acr_values: str | None = None  # e.g. "eidas1"; unset: not sent
    timeout_seconds: float = Field(10.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id and self.client_secret)


class LimitsSettings(BaseModel):
    """What one request may send (uploads have their own cap, in their route)."""

    max_json_bytes: int = Field(1024 * 1024, ge=1024)  # a JSON body, checked while it is read


class MetricsSettings(BaseModel):
    """`GET /metrics` (Prometheus). With a token, scrapers send `Authorization: Bearer <token>`;
    without one it is open in development and off in production. `enabled=false`: always off."""

    enabled: bool = True
    token: SecretStr | None = None


class UploadsSettings(BaseModel):
    """Files uploaded by contractors: every file is checked before anything is stored."""

    max_bytes: int = Field(10_000_000, ge=1024)  # enforced while the body is read (413)
    max_pages: int = Field(50, ge=1, le=1000)  # an attestation has a few pages
    read_seconds: float = Field(5.0, gt=0)  # the PDF parser's time cap
    # The officers' weekly digest of new gaps by e-mail (app/uploads/digests.py); needs SMTP.
    officer_digest: bool = False


class UrssafSettings(BaseModel):
    """URSSAF's security-code verification (AVCS). Unset = no verification call (« code non
    vérifié »); `sandbox` = the in-process stand-in (tests, demo; refused in production)."""

    base_url: str | None = None  # e.g. https://api.urssaf.fr
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    verify_path: str = "/api/avcs/v1/attestations/verifications"  # assumed: not public
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    sandbox: bool = False


class RateLimitSettings(BaseModel):
    """Requests per API key and minute (Redis when present, memory otherwise); 0 turns it off."""

    per_key_per_minute: int = Field(1200, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
        case_sensitive=False,
        # A refused start prints the error: it must not print SECRET_KEY or a token with it.
        hide_input_in_errors=True,
    )

    environment: Literal["development", "production", "test"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    database_url: str = f"sqlite:///{VAR_DIR / 'vigie.db'}"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    vigilance_threshold_ht: Decimal = Decimal("5000.00")
    log_level: str = "INFO"
    # Uvicorn's access log (None: on in development, off in production, where the structured
    # request log of app/observability.py says more).
    log_access: bool | None = None
    demo: bool = True  # seed a demo buyer on the first start of an empty embedded instance

    api_entreprise: ApiEntrepriseSettings = Field(default_factory=ApiEntrepriseSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    compliance: ComplianceSettings = Field(default_factory=ComplianceSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    uploads: UploadsSettings = Field(default_factory=UploadsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    urssaf: UrssafSettings = Field(default_factory=UrssafSettings)
    proconnect: ProConnectSettings = Field(default_factory=ProConnectSettings)

    @field_validator("redis_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme.split("+", 1)[0] not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> "Settings":
        if not self.is_production:
            return self
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET_KEY:
            raise ValueError(
                "SECRET_KEY still has its development default: refusing to start in production"
            )
        if len(secret.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes: refusing to start in "
                "production (set it to a random value, e.g. `openssl rand -hex 32`)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def public_url(self) -> str:
        """The base of every link Vigie prints or sends (no trailing slash)."""
        return (self.web.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def embedded(self) -> bool:
        """No Redis: jobs run in the API process (the newcomer's default)."""
        return self.redis_url is None


@lru_cache
def get_settings() -> Settings:
    return Settings()
