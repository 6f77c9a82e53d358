"""The client of URSSAF's « Attestations Vérification Code Sécurité » API (AVCS).

What is public (../shared/research/web-ux-auth.md §4): OAuth2 client credentials on
`https://api[-edi].urssaf.fr/api/oauth/v1/token`, up to 100 codes per call, an answer per code
with the document's nature, the company's name, SIREN and SIRETs, the last period analysed and
the validity, and an outcome among valide / périmée / inconnue / incomplète / erreur.

ASSUMPTION — the request path and the JSON schema are not public. This client posts
`{"codes": ["<15 characters>"], "siren": "<9 digits>"}` to `URSSAF__VERIFY_PATH` (default
`/api/avcs/v1/attestations/verifications`) and reads `{"resultats": [{"code", "statut",
"nature", "raisonSociale", "siren", "sirets", "dernierePeriodeAnalysee", "dateFinValidite"}]}`.
Both are settings and `_verdict_of` is the one place that reads the answer: adapt them when the
contract with URSSAF gives the real ones. The in-process sandbox (`sandbox.py`) speaks this
assumed dialect.

Any failure (network, timeout, 4xx/5xx, an answer Vigie cannot read) is `CodeOutcome.ERROR`:
« code non vérifié », never a rejection. The access token is cached until shortly before it
expires and never logged; timeouts are explicit and short (the upload waits for the answer).
"""

import asyncio
import logging
import time
from typing import Any

import httpx
from pydantic import SecretStr

from app.integrations.urssaf.outcomes import CodeOutcome, CodeVerdict

log = logging.getLogger("vigie.urssaf")

TOKEN_PATH = "/api/oauth/v1/token"
VERIFY_PATH = "/api/avcs/v1/attestations/verifications"
_OUTCOMES = {
    "valide": CodeOutcome.VALID,
    "perimee": CodeOutcome.EXPIRED,
    "périmée": CodeOutcome.EXPIRED,
    "inconnue": CodeOutcome.UNKNOWN,
    "incomplete": CodeOutcome.INCOMPLETE,
    "incomplète": CodeOutcome.INCOMPLETE,
    "erreur": CodeOutcome.ERROR,
}


class UrssafClient:
    """One long-lived client per process; `transport=` is the seam (the sandbox, tests)."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str | None = None,
        verify_path: str = VERIFY_PATH,
        token_path: str = TOKEN_PATH,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0)),
            headers={"Accept": "application/json"},
        )
        self._client_id, self._secret, self._scope = client_id, client_secret, scope
        self._verify_path, self._token_path = verify_path, token_path
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_requests = 0  # how many tokens this client asked for (tests, metrics)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is not None and time.monotonic() < self._expires_at:
                return self._token
            data = {"grant_type": "client_credentials"}
            if self._scope:
                data["scope"] = self._scope
            self.token_requests += 1
            r = await self._client.post(
                self._token_path,
                data=data,
                auth=(self._client_id, self._secret.get_secret_value()),
            )
            r.raise_for_status()
            body = r.json()
            token = body["access_token"]
            if not isinstance(token, str) or not token:
                raise ValueError("no access_token")
            lifetime = float(body.get("expires_in") or 300)
            self._token, self._expires_at = token, time.monotonic() + max(lifetime - 30, 1)
            return token

    async def verify(self, code: str, siren: str | None = None) -> CodeVerdict:
        """URSSAF's verdict on one security code; `CodeOutcome.ERROR` on any failure. `siren`
        (assumed optional field) is the company Vigie expects; the caller compares it with the
        SIREN URSSAF answers, whatever the upstream does with it."""
        try:
            token = await self._access_token()
            r = await self._client.post(
                self._verify_path,
                json={"codes": [code], **({"siren": siren} if siren else {})},
                headers={"Authorization": f"Bearer {token}"},
            )
            if r.status_code == 401:  # revoked early: the next call asks for a new one
                self._token = None
            r.raise_for_status()
            return _verdict_of(r.json(), code)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # The exception's class only: a message could quote a header or a body.
            log.warning("URSSAF code verification failed: %s", type(exc).__name__)
            return CodeVerdict(CodeOutcome.ERROR)


def _verdict_of(body: Any, code: str) -> CodeVerdict:
    items = body["resultats"]
    item = next((i for i in items if str(i.get("code", "")).upper() == code.upper()), None)
    if item is None:
        raise ValueError("code missing from the answer")
    outcome = _OUTCOMES.get(str(item.get("statut", "")).strip().lower())
    if outcome is None:
        raise ValueError("unknown outcome")
    sirets = item.get("sirets") or []
    return CodeVerdict(
        outcome=outcome,
        siren=_text(item.get("siren")),
        company_name=_text(item.get("raisonSociale")),
        sirets=[str(s) for s in sirets] if isinstance(sirets, list) else [],
        nature=_text(item.get("nature")),
        last_period=_text(item.get("dernierePeriodeAnalysee")),
        valid_until=_text(item.get("dateFinValidite")),
        answer=dict(item),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
