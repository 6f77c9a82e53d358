"""The API Entreprise client: one long-lived `httpx.AsyncClient` per process, one async method
per operation, each returning an `Outcome` (upstream trouble never leaks as an exception).

Every call sends `Authorization: Bearer`, and the three traceability parameters the spec marks
required: `context`, `recipient` (the BUYER's SIRET, never the queried company's) and `object`
(≤ 50 characters). Each call takes a rate-limit slot of its family first, is recorded (never the
token), and a delivered document is downloaded at once (see documents.py)."""

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from app import metrics
from app.config import ApiEntrepriseSettings
from app.integrations.api_entreprise.breaker import CircuitBreaker
from app.integrations.api_entreprise.documents import (
    Resolver,
    allowed_document_hosts,
    fetch_document,
    resolve_host,
)
from app.integrations.api_entreprise.errors import (
    DocumentHostRefused,
    DocumentRefused,
    DocumentUnavailable,
    UpstreamRateLimited,
)
from app.integrations.api_entreprise.identity import identity_mismatch
from app.integrations.api_entreprise.interpret import (
    interpret,
    maintenance_end,
    rate_limit_headers,
    retry_after_seconds,
)
from app.integrations.api_entreprise.operations import OPERATIONS, PRIVILEGES, Operation
from app.integrations.api_entreprise.outcomes import CallRecord, Outcome, OutcomeKind
from app.integrations.api_entreprise.params import clean_object, invalid_identifier
from app.integrations.api_entreprise.ratelimit import Family, MemoryRateLimiter, RateLimiter

logger = logging.getLogger(__name__)
Recorder = Callable[[CallRecord], Awaitable[None]]
TRANSIENT_RETRY = timedelta(minutes=5)


def token_id_for(token: str) -> str:
    """What identifies a token in Redis keys and logs: a hash, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class ApiEntrepriseClient:
    def __init__(
        self,
        settings: ApiEntrepriseSettings,
        *,
        limiter: RateLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        token: str | SecretStr | None = None,
        recorder: Recorder | None = None,
        base_url: str | None = None,
        production: bool | None = None,
        breaker: CircuitBreaker | None = None,
        http: httpx.AsyncClient | None = None,
        resolver: Resolver = resolve_host,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.clock = clock
        url = base_url or settings.base_url
        if not url:
            raise ValueError("API Entreprise base URL missing (start the sandbox or set it)")
        self.base_url = url.rstrip("/")
        secret = token if token is not None else settings.token
        self._token = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        self.token_id = token_id_for(self._token) if self._token else "none"
        self.limiter = limiter or MemoryRateLimiter(
            {
                Family.JSON: settings.json_per_minute,
                Family.DOCUMENTS: settings.documents_per_minute,
            },
            window_seconds=settings.rate_window_seconds,
            margin_seconds=settings.rate_margin_seconds,
        )
        self.recorder = recorder
        if production is None:
            from app.config import get_settings

            production = get_settings().is_production
        self.production = production
        self.breaker = breaker or CircuitBreaker()
        self.resolver = resolver
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(
            base_url=self.base_url,
            # retries=1 re-attempts a failed CONNECT only: that request never reached upstream.
            transport=transport or httpx.AsyncHTTPTransport(retries=1),
            timeout=httpx.Timeout(settings.json_timeout, connect=min(3.0, settings.json_timeout)),
            headers={"Accept": "application/json"},
        )
        self.document_hosts = allowed_document_hosts(self.base_url, settings.document_hosts)
        # Hosts already reported as refused: logged once per host and process, not per document
        # (shared with the clients `with_token` derives).
        self.refused_hosts: set[str] = set()

    def with_token(self, token: str | SecretStr) -> "ApiEntrepriseClient":
        """A client for a buyer's own token, sharing the HTTP pool, breaker and limiter."""
        client = ApiEntrepriseClient(
            self.settings,
            limiter=self.limiter,
            token=token,
            recorder=self.recorder,
            base_url=self.base_url,
            production=self.production,
            breaker=self.breaker,
            http=self.http,
            resolver=self.resolver,
            clock=self.clock,
        )
        client.refused_hosts = self.refused_hosts
        return client

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    # --- operations ------------------------------------------------------------------------

    async def insee_unite_legale(self, siren: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("insee_unite_legale", siren, recipient=recipient, object=object)

    async def insee_etablissement(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("insee_etablissement", siret, recipient=recipient, object=object)

    async def infogreffe_extrait_rcs(self, siren: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("infogreffe_extrait_rcs", siren, recipient=recipient, object=object)

    async def rnm_entreprise_artisanale(
        self, siren: str, *, recipient: str, object: str
    ) -> Outcome:
        return await self.call(
            "rnm_entreprise_artisanale", siren, recipient=recipient, object=object
        )

    async def inpi_extrait_rne(self, siren: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("inpi_extrait_rne", siren, recipient=recipient, object=object)

    async def urssaf_attestation_vigilance(
        self, siren: str, *, recipient: str, object: str
    ) -> Outcome:
        return await self.call(
            "urssaf_attestation_vigilance", siren, recipient=recipient, object=object
        )

    async def dgfip_attestation_fiscale(
        self, siren: str, *, recipient: str, object: str
    ) -> Outcome:
        return await self.call(
            "dgfip_attestation_fiscale", siren, recipient=recipient, object=object
        )

    async def msa_conformite_cotisations(
        self, siret: str, *, recipient: str, object: str
    ) -> Outcome:
        return await self.call(
            "msa_conformite_cotisations", siret, recipient=recipient, object=object
        )

    async def fntp_carte_professionnelle(
        self, siren: str, *, recipient: str, object: str
    ) -> Outcome:
        return await self.call(
            "fntp_carte_professionnelle", siren, recipient=recipient, object=object
        )

    async def qualibat_certification(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("qualibat_certification", siret, recipient=recipient, object=object)

    async def ademe_rge(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("ademe_rge", siret, recipient=recipient, object=object)

    async def cnetp_attestation(self, siren: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("cnetp_attestation", siren, recipient=recipient, object=object)

    async def cibtp_attestation(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("cibtp_attestation", siret, recipient=recipient, object=object)

    async def opqibi_certification(self, siren: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("opqibi_certification", siren, recipient=recipient, object=object)

    async def probtp_attestation(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("probtp_attestation", siret, recipient=recipient, object=object)

    async def probtp_conformite(self, siret: str, *, recipient: str, object: str) -> Outcome:
        return await self.call("probtp_conformite", siret, recipient=recipient, object=object)

    async def privileges(self) -> Outcome:
        """`GET /privileges`: the rights of the token (the spec declares no parameter)."""
        return await self._run(PRIVILEGES, PRIVILEGES.path, {}, recipient="", object_="")

    # --- machinery -------------------------------------------------------------------------

    async def call(self, name: str, identifier: str, *, recipient: str, object: str) -> Outcome:
        """Run operation `name` (a key of OPERATIONS) for a SIREN or SIRET."""
        op = OPERATIONS[name]
        problem = invalid_identifier(op.id_kind, identifier, recipient)
        if problem:
            return Outcome(OutcomeKind.BUG, op.name, None, message=problem)
        object_ = clean_object(object)
        params = {"recipient": recipient, "context": self.settings.context, "object": object_}
        params.update(op.extra_params)
        path = op.path.format(**{op.id_kind: identifier})
        return await self._run(
            op, path, params, recipient=recipient, object_=object_, identifier=identifier
        )

    async def _run(
        self,
        op: Operation,
        path: str,
        params: dict[str, str],
        *,
        recipient: str,
        object_: str,
        identifier: str | None = None,
    ) -> Outcome:
        now = self.clock()
        windows = self.settings.maintenance_windows
        if windows and op.maintenance and (end := maintenance_end(op.maintenance, now)):
            msg = "Fenêtre de maintenance du fournisseur"
            return Outcome(OutcomeKind.PENDING, op.name, None, message=msg, retry_at=end)
        if not self._token:
            msg = "Aucun jeton API Entreprise configuré"
            return Outcome(OutcomeKind.CONFIG_ERROR, op.name, None, message=msg)
        reopen = self.breaker.before_call(op.provider)
        if reopen is not None:
            msg = "Fournisseur indisponible (disjoncteur ouvert)"
            retry = datetime.fromtimestamp(reopen, UTC)
            return Outcome(OutcomeKind.PENDING, op.name, None, message=msg, retry_at=retry)
        waited = time.perf_counter()
        try:
            await self.limiter.acquire(
                self.token_id, op.family, max_wait=self.settings.max_wait_seconds
            )
            metrics.LIMITER_WAITS.labels(op.family.value).observe(time.perf_counter() - waited)
        except UpstreamRateLimited as exc:
            self.breaker.record_neutral(op.provider)
            msg = "Quota d'appels atteint, nouvel essai programmé"
            return Outcome(OutcomeKind.PENDING, op.name, None, message=msg, retry_at=exc.retry_at)
        except Exception as exc:  # the limiter's store (Redis) is down: never call unthrottled
            self.breaker.record_neutral(op.provider)
            logger.error("api_entreprise: rate limiter unavailable: %s", type(exc).__name__)
            msg = "Limiteur de débit indisponible, nouvel essai programmé"
            retry = now + timedelta(minutes=1)
            return Outcome(OutcomeKind.PENDING, op.name, None, message=msg, retry_at=retry)

        timeout = (
            self.settings.document_timeout
            if op.family is Family.DOCUMENTS
            else self.settings.json_timeout
        )
        headers = {"Authorization": f"Bearer {self._token}"}
        started = time.perf_counter()
        try:
            response = await self.http.get(path, params=params, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            latency = int((time.perf_counter() - started) * 1000)
            self.breaker.record_failure(op.provider)
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
            logger.warning("api_entreprise %s failed: %s", op.name, type(exc).__name__)
            await self._record(now, op, recipient, object_, None, code, None, latency, False)
            return Outcome(
                OutcomeKind.PENDING,
                op.name,
                None,
                error_code=code,
                message="Fournisseur injoignable ou trop lent",
                retry_at=now + TRANSIENT_RETRY,
            )
        latency = int((time.perf_counter() - started) * 1000)
        await self._observe_limits(op.family, response)
        outcome = interpret(op, response, now, max_retry_seconds=self.settings.max_retry_seconds)
        if identifier is not None:
            outcome = self._check_identity(op, outcome, identifier)
        if response.status_code >= 500:
            self.breaker.record_failure(op.provider)
        elif response.status_code in (200, 404, 451):
            self.breaker.record_success(op.provider)
        else:
            self.breaker.record_neutral(op.provider)
        cached = response.headers.get("x-response-cached", "").lower() == "true"
        logger.debug(
            "api_entreprise %s -> %s %s in %d ms (request %s)",
            op.name,
            response.status_code,
            outcome.kind,
            latency,
            outcome.request_id,
        )
        await self._record(
            now,
            op,
            recipient,
            object_,
            response.status_code,
            outcome.error_code,
            outcome.request_id,
            latency,
            cached,
            outcome.kind,
        )
        if outcome.kind is OutcomeKind.DELIVERED and outcome.data is not None:
            url = op.read(outcome.data).document_url
            if url:
                return await self._with_document(op, outcome, url)
        return outcome

    def _check_identity(self, op: Operation, outcome: Outcome, identifier: str) -> Outcome:
        """A 200 about another company than the one asked for is never evidence (BUG)."""
        if outcome.http_status != 200 or outcome.raw is None:
            return outcome
        foreign = identity_mismatch(op.id_kind, identifier, outcome.raw.get("data"))
        if foreign is None:
            return outcome
        logger.error(
            "api_entreprise ALERT %s: asked for %s %s, the answer is about %s (request %s); "
            "nothing archived",
            op.name,
            op.id_kind.upper(),
            identifier,
            foreign,
            outcome.request_id,
        )
        message = (
            f"Réponse de la source pour un autre {op.id_kind.upper()} ({foreign}) que celui "
            f"demandé ({identifier}) : rien n'est archivé, l'équipe technique est alertée."
        )
        return Outcome(
            OutcomeKind.BUG,
            op.name,
            outcome.http_status,
            error_code="identity_mismatch",
            message=message,
            request_id=outcome.request_id,
        )

    def _report_refusal(self, op: Operation, exc: DocumentRefused) -> None:
        if not isinstance(exc, DocumentHostRefused):
            logger.error("api_entreprise %s: document refused: %s", op.name, exc)
        elif exc.host not in self.refused_hosts:
            self.refused_hosts.add(exc.host)
            logger.error(
                "api_entreprise %s: document host %r is not allowed (allowed: %s); if API "
                "Entreprise serves its documents from it, add it to API_ENTREPRISE__DOCUMENT_HOSTS "
                "(reported once per host)",
                op.name,
                exc.host,
                ", ".join(sorted(self.document_hosts | set(op.document_hosts))),
            )

    async def _with_document(self, op: Operation, outcome: Outcome, url: str) -> Outcome:
        from dataclasses import replace

        try:
            document = await fetch_document(
                self.http,
                url,
                allowed_hosts=self.document_hosts | set(op.document_hosts),
                production=self.production,
                max_bytes=self.settings.max_document_bytes,
                read_timeout=self.settings.document_timeout,
                resolver=self.resolver,
            )
        except DocumentRefused as exc:
            self._report_refusal(op, exc)
            if op.document_optional:
                return outcome
            return replace(outcome, kind=OutcomeKind.BUG, message=f"Document refusé : {exc}")
        except DocumentUnavailable as exc:
            logger.warning("api_entreprise %s: document unavailable: %s", outcome.endpoint, exc)
            if op.document_optional:
                return outcome
            return replace(
                outcome,
                kind=OutcomeKind.PENDING,
                error_code="document_unavailable",
                message=exc.reason,
                retry_at=self.clock() + TRANSIENT_RETRY,
            )
        return replace(outcome, document=document)

    async def _observe_limits(self, family: Family, response: httpx.Response) -> None:
        try:
            if response.status_code == 429:
                delay = retry_after_seconds(
                    response.headers, maximum=self.settings.max_retry_seconds
                )
                until = time.time() + delay + self.limiter.margin_seconds
                await self.limiter.block(self.token_id, family, until)
                return
            remaining, reset_at = rate_limit_headers(
                response.headers, self.settings.max_retry_seconds
            )
            await self.limiter.observe(
                self.token_id, family, remaining=remaining, reset_at=reset_at
            )
        except Exception:  # the limiter's store is down: the call already happened
            logger.exception("api_entreprise: could not update the rate limiter")

    async def _record(
        self,
        when: datetime,
        op: Operation,
        recipient: str,
        object_: str,
        status: int | None,
        error_code: str | None,
        request_id: str | None,
        latency_ms: int,
        cached: bool,
        kind: OutcomeKind | None = OutcomeKind.PENDING,
    ) -> None:
        if not cached:
            metrics.UPSTREAM_CALLS.labels(op.name, str(status or 0)).inc()
            metrics.UPSTREAM_DURATION.labels(op.name).observe(latency_ms / 1000)
        if self.recorder is None:
            return
        record = CallRecord(
            when=when,
            endpoint=op.name,
            recipient=recipient,
            object=object_,
            http_status=status,
            error_code=error_code,
            request_id=request_id,
            latency_ms=latency_ms,
            cached=cached,
            outcome=kind.value if kind else None,
        )
        try:
            await self.recorder(record)
        except Exception:  # recording must never turn a good answer into a failure
            logger.exception("api_entreprise: could not record the call to %s", op.name)


def describe(outcome: Outcome) -> dict[str, Any]:
    """A small JSON-able summary (CLI, logs): never the raw payload."""
    return {
        "endpoint": outcome.endpoint,
        "kind": outcome.kind.value,
        "http_status": outcome.http_status,
        "error_code": outcome.error_code,
        "retry_at": outcome.retry_at.isoformat() if outcome.retry_at else None,
    }
