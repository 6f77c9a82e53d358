"""`vigie api-entreprise doctor`: the effective API Entreprise configuration and what is wrong.

Every token (the platform's and each buyer's own) is named by a short hash, never shown. Its
rights come from `GET /privileges` and are compared with the scopes Vigie needs: the base
vigilance documents (INSEE, RCS extract, URSSAF and DGFIP attestations; L8222-1 and D8222-5 C.
trav.) and each sector certificate a live contract asks for (`extra_requirements`).
A problem of severity "error" would make checks fail: the command then exits 1.
"""

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api_calls.models import ApiCall
from app.buyers.models import Buyer, BuyerToken
from app.buyers.tokens import days_left, expires_soon, token_expiry, token_for, token_hash
from app.compliance.rules.codes import RequirementType
from app.config import Settings
from app.contracts.models import Contract
from app.documents.crypto import DecryptionFailed, Keyring, KeyringError
from app.integrations.api_entreprise import ApiEntrepriseClient, OutcomeKind
from app.integrations.api_entreprise.documents import allowed_document_hosts
from app.integrations.api_entreprise.operations import OPERATIONS

PRODUCTION_HOST = "entreprise.api.gouv.fr"
STAGING_HOST = "staging.entreprise.api.gouv.fr"
STORAGE_HOST = "storage.entreprise.api.gouv.fr"  # where the real API's document_urls point
UPSTREAM_JSON_PER_MINUTE, UPSTREAM_DOCUMENTS_PER_MINUTE = 250, 50  # per token (DINUM doc)

# Privilege names as GET /privileges lists them (those the sandbox mirrors).
INSEE, RCS = "unites_legales_etablissements_insee", "extrait_rcs"
BASE_SCOPES: tuple[str, ...] = (INSEE, RCS, "attestations_sociales", "attestations_fiscales")
SECTOR_SCOPES: dict[str, str] = {
    RequirementType.MSA_VIGILANCE: "msa_cotisations",
    RequirementType.FNTP_CARD: "fntp_carte_pro",
    RequirementType.QUALIBAT: "qualibat",
    RequirementType.RGE: "certificat_rge_ademe",
    RequirementType.CNETP: "certificat_cnetp",
    RequirementType.CIBTP: "certificat_cibtp",
    RequirementType.OPQIBI: "opqibi",
    RequirementType.PROBTP: "probtp",
}

Severity = Literal["error", "warning"]


@dataclass
class Problem:
    code: str
    message: str
    severity: Severity = "error"


@dataclass
class TokenReport:
    owner: str  # "platform" or "buyer <siret>"
    hash: str | None
    expires_at: str | None
    days_left: int | None
    privileges: list[str] | None
    required_scopes: list[str]
    missing_scopes: list[str]


@dataclass
class Report:
    environment: str
    base_url: str | None
    sandbox: bool
    document_hosts: list[str]
    limits: dict[str, float | int]
    tokens: list[TokenReport] = field(default_factory=list)
    outcomes_24h: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ok": not self.failing}


@dataclass
class TokenToCheck:
    owner: str
    token: SecretStr | None
    required: set[str]


def scopes_for(requirements: Iterable[str]) -> set[str]:
    """The privileges needed for contracts asking these extra requirements (plus the base)."""
    return set(BASE_SCOPES) | {SECTOR_SCOPES[r] for r in requirements if r in SECTOR_SCOPES}


def document_hosts(client: ApiEntrepriseClient | None, settings: Settings) -> list[str]:
    """The hosts the client accepts document URLs from (its own rule, whatever it becomes)."""
    ae = settings.api_entreprise
    hosts = (
        set(client.document_hosts)
        if client
        else set(allowed_document_hosts(ae.base_url or "", ae.document_hosts))
    )
    for op in OPERATIONS.values():
        hosts |= set(getattr(op, "document_hosts", ()))
    return sorted(hosts)


def configuration(
    settings: Settings, base_url: str | None, client: ApiEntrepriseClient | None
) -> Report:
    """The report's static part: base URL, document hosts, limits and their problems."""
    ae = settings.api_entreprise
    report = Report(
        environment=settings.environment,
        base_url=ae.base_url,
        sandbox=not ae.base_url,
        document_hosts=document_hosts(client, settings),
        limits={
            "json_per_minute": ae.json_per_minute,
            "documents_per_minute": ae.documents_per_minute,
            "rate_window_seconds": ae.rate_window_seconds,
            "rate_margin_seconds": ae.rate_margin_seconds,
            "json_timeout_seconds": ae.json_timeout,
            "document_timeout_seconds": ae.document_timeout,
            "max_document_bytes": ae.max_document_bytes,
        },
    )
    add = report.problems.append
    if not ae.base_url:
        if settings.is_production:
            add(
                Problem(
                    "base_url_missing",
                    "Set API_ENTREPRISE__BASE_URL (production refuses the sandbox).",
                )
            )
        else:
            add(
                Problem(
                    "sandbox",
                    f"API_ENTREPRISE__BASE_URL is unset: the built-in sandbox ({base_url}) "
                    "answers with invented data (development only).",
                    "warning",
                )
            )
        return report
    host = (urlsplit(ae.base_url).hostname or "").lower()
    official = host in (PRODUCTION_HOST, STAGING_HOST)
    if official and STORAGE_HOST not in report.document_hosts:
        add(
            Problem(
                "document_host_missing",
                f"Documents from {STORAGE_HOST} would be refused: add it to "
                "API_ENTREPRISE__DOCUMENT_HOSTS.",
                "error" if host == PRODUCTION_HOST else "warning",
            )
        )
    if settings.is_production and urlsplit(ae.base_url).scheme != "https":
        add(Problem("base_url_not_https", "API_ENTREPRISE__BASE_URL must use https in production."))
    if official:
        if ae.json_per_minute > UPSTREAM_JSON_PER_MINUTE:
            add(
                Problem(
                    "json_limit_too_high",
                    f"API_ENTREPRISE__JSON_PER_MINUTE={ae.json_per_minute} exceeds the upstream "
                    f"{UPSTREAM_JSON_PER_MINUTE}/min per token (429s, then a 12-hour IP ban).",
                )
            )
        if ae.documents_per_minute > UPSTREAM_DOCUMENTS_PER_MINUTE:
            add(
                Problem(
                    "documents_limit_too_high",
                    f"API_ENTREPRISE__DOCUMENTS_PER_MINUTE={ae.documents_per_minute} exceeds the "
                    f"upstream {UPSTREAM_DOCUMENTS_PER_MINUTE}/min per token.",
                )
            )
        if ae.rate_window_seconds < 60:
            add(
                Problem(
                    "rate_window_too_short",
                    "API_ENTREPRISE__RATE_WINDOW_SECONDS is under the upstream's 60 s window.",
                )
            )
    return report


async def tokens_to_check(
    session: AsyncSession, settings: Settings, keyring_loader: Any, report: Report, today: Any
) -> list[TokenToCheck]:
    """The platform token and each buyer's own, with the scopes their live contracts need."""
    live = select(Contract.buyer_id, Contract.extra_requirements).where(
        col(Contract.ends_on) >= today
    )
    needs: dict[uuid.UUID, set[str]] = {}
    for buyer_id, extra in (await session.exec(live)).all():
        needs.setdefault(buyer_id, set(BASE_SCOPES)).update(scopes_for(extra or []))
    own = {row.buyer_id: row for row in (await session.exec(select(BuyerToken))).all()}
    buyers = {b.id: b for b in (await session.exec(select(Buyer))).all()}

    platform_required = set(BASE_SCOPES)
    for buyer_id, scopes in needs.items():
        if buyer_id not in own:
            platform_required |= scopes
    out = [TokenToCheck("platform", settings.api_entreprise.token, platform_required)]
    keyring: Keyring | None = None
    for buyer_id, row in sorted(own.items(), key=lambda kv: buyers[kv[0]].siret):
        owner = f"buyer {buyers[buyer_id].siret}"
        try:
            keyring = keyring or keyring_loader()
            assert keyring is not None
            token = await token_for(session, keyring, buyer_id)
        except (KeyringError, DecryptionFailed) as exc:
            report.problems.append(
                Problem(
                    "buyer_token_unreadable",
                    f"The token {row.token_hash} of {owner} cannot be unsealed ({exc}): "
                    "set it again with `vigie buyers token set`.",
                )
            )
            continue
        out.append(TokenToCheck(owner, token, needs.get(buyer_id, set(BASE_SCOPES))))
    return out


async def check_token(
    client: ApiEntrepriseClient | None, item: TokenToCheck, report: Report, now: datetime
) -> None:
    """Expiry and privileges of one token, added to the report with its problems."""
    add = report.problems.append
    if item.token is None:
        report.tokens.append(
            TokenReport(item.owner, None, None, None, None, sorted(item.required), [])
        )
        if report.base_url:
            add(Problem("platform_token_missing", "Set API_ENTREPRISE__TOKEN."))
        return
    digest, expires_at = token_hash(item.token), token_expiry(item.token)
    left = days_left(expires_at, now)
    entry = TokenReport(
        item.owner,
        digest,
        expires_at.isoformat() if expires_at else None,
        left,
        None,
        sorted(item.required),
        [],
    )
    report.tokens.append(entry)
    label = f"{item.owner} token {digest}"
    if expires_at is not None and expires_at <= now:
        add(Problem("token_expired", f"The {label} expired on {expires_at:%Y-%m-%d}."))
    elif expires_soon(expires_at, now):
        add(
            Problem(
                "token_expiring",
                f"The {label} expires on {expires_at:%Y-%m-%d} ({left} days left): renew it.",
                "warning",
            )
        )
    elif expires_at is None and report.base_url:
        add(Problem("token_expiry_unknown", f"The {label} is not a JWT with an exp.", "warning"))
    if client is None:  # production without a base URL: nothing to ask, already an error
        return
    outcome = await client.with_token(item.token).privileges()
    if outcome.kind is not OutcomeKind.DELIVERED or outcome.data is None:
        code = "token_rejected" if outcome.kind is OutcomeKind.CONFIG_ERROR else "privileges_failed"
        add(
            Problem(
                code,
                f"GET /privileges failed for the {label}: {outcome.kind} "
                f"(HTTP {outcome.http_status}) {outcome.message or ''}".strip(),
            )
        )
        return
    granted = list(getattr(outcome.data, "privileges", []))
    entry.privileges = sorted(granted)
    entry.missing_scopes = sorted(item.required - set(granted))
    if entry.missing_scopes:
        add(
            Problem(
                "missing_scopes",
                f"The {label} lacks {', '.join(entry.missing_scopes)}: the checks that need "
                "them would fail (ask DINUM to extend the habilitation).",
            )
        )


async def outcomes_last_24h(session: AsyncSession, now: datetime) -> dict[str, dict[str, int]]:
    query = (
        select(ApiCall.endpoint, ApiCall.outcome, func.count())
        .where(col(ApiCall.called_at) >= now - timedelta(hours=24))
        .group_by(col(ApiCall.endpoint), col(ApiCall.outcome))
        .order_by(col(ApiCall.endpoint))
    )
    out: dict[str, dict[str, int]] = {}
    for endpoint, outcome, count in (await session.exec(query)).all():
        out.setdefault(endpoint, {})[outcome or "unknown"] = int(count)
    return out


def outcome_problems(report: Report) -> None:
    for endpoint, counts in report.outcomes_24h.items():
        for kind in (OutcomeKind.CONFIG_ERROR, OutcomeKind.BUG):
            if counts.get(kind.value):
                report.problems.append(
                    Problem(
                        f"recent_{kind.value}",
                        f"{endpoint}: {counts[kind.value]} call(s) ended {kind.value} "
                        "in the last 24 hours.",
                        "warning",
                    )
                )
