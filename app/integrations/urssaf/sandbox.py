"""An in-process stand-in for URSSAF's verification API (tests and the demo; production refuses
it, see app/runtime.py): an `httpx.MockTransport` speaking the dialect assumed in `client.py`,
so no thread or port is needed.

Deterministic by the code's last character:
- `0` → inconnue; `9` → périmée; `7` → incomplète;
- `8` → valide, but delivered to another company (SIREN `130025265`): the SIREN check must catch it;
- anything else → valide, for the SIREN the request named (`000000000` when it named none).
The token endpoint checks the client credentials it was built with and counts the tokens issued.
"""

import base64
import json
import secrets
from datetime import date, timedelta

import httpx

from app.integrations.urssaf.client import TOKEN_PATH, VERIFY_PATH

SANDBOX_BASE_URL = "https://urssaf.sandbox.invalid"
SANDBOX_CLIENT_ID = "vigie-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret"
OTHER_SIREN = "130025265"
_STATUTS = {"0": "inconnue", "9": "perimee", "7": "incomplete"}


class UrssafSandbox:
    def __init__(self, *, token_seconds: int = 3600, verify_path: str = VERIFY_PATH) -> None:
        self.token_seconds = token_seconds
        self.verify_path = verify_path
        self.tokens: set[str] = set()
        self.verifications = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == TOKEN_PATH:
            return self._token(request)
        if request.method == "POST" and request.url.path == self.verify_path:
            return self._verify(request)
        return httpx.Response(404, json={"erreur": "ressource inconnue"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        expected = f"{SANDBOX_CLIENT_ID}:{SANDBOX_CLIENT_SECRET}".encode()
        given = request.headers.get("Authorization", "").removeprefix("Basic ")
        if base64.b64decode(given or b"") != expected:
            return httpx.Response(401, json={"error": "invalid_client"})
        if b"grant_type=client_credentials" not in request.content:
            return httpx.Response(400, json={"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_seconds}
        return httpx.Response(200, json=body)

    def _verify(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return httpx.Response(401, json={"error": "invalid_token"})
        body = json.loads(request.content)
        codes, siren = body.get("codes"), body.get("siren")
        if not isinstance(codes, list) or not 1 <= len(codes) <= 100:
            return httpx.Response(400, json={"erreur": "1 à 100 codes par appel"})
        self.verifications += 1
        return httpx.Response(200, json={"resultats": [_item(str(c), siren) for c in codes]})


def _item(code: str, siren: object) -> dict[str, object]:
    code = code.strip().upper()
    statut = _STATUTS.get(code[-1:], "valide") if len(code) == 15 else "incomplete"
    if statut in ("inconnue", "incomplete"):
        return {"code": code, "statut": statut}
    holder = OTHER_SIREN if code.endswith("8") else (siren if isinstance(siren, str) else None)
    holder = holder or "000000000"
    until = date.today() + timedelta(days=-10 if statut == "perimee" else 120)
    return {
        "code": code,
        "statut": statut,
        "nature": "Attestation de vigilance",
        "raisonSociale": "ENTREPRISE DU BAC À SABLE",
        "siren": holder,
        "sirets": [f"{holder}00012"],
        "dernierePeriodeAnalysee": (until - timedelta(days=200)).strftime("%Y-%m"),
        "dateFinValidite": until.isoformat(),
    }
