"""URSSAF's security-code verification (AVCS): `client.py` (OAuth2 client credentials, the
assumed request — see its docstring), `sandbox.py` (an in-process stand-in, only when
`URSSAF__SANDBOX=true`; production refuses it), `outcomes.py` (the verdict the domain reads).
Without `URSSAF__BASE_URL` nor the sandbox, `build_urssaf_client` gives None: no call is made and
the code stays « non vérifié »."""

from app.config import UrssafSettings
from app.integrations.urssaf.client import UrssafClient
from app.integrations.urssaf.outcomes import CodeOutcome, CodeVerdict

__all__ = ["CodeOutcome", "CodeVerdict", "UrssafClient", "build_urssaf_client"]


def build_urssaf_client(settings: UrssafSettings) -> UrssafClient | None:
    if settings.sandbox:
        from pydantic import SecretStr

        from app.integrations.urssaf.sandbox import (
            SANDBOX_BASE_URL,
            SANDBOX_CLIENT_ID,
            SANDBOX_CLIENT_SECRET,
            UrssafSandbox,
        )

        sandbox = UrssafSandbox(verify_path=settings.verify_path)
        return UrssafClient(
            base_url=SANDBOX_BASE_URL,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SecretStr(SANDBOX_CLIENT_SECRET),
            verify_path=settings.verify_path,
            timeout_seconds=settings.timeout_seconds,
            transport=sandbox.transport(),
        )
    if not settings.base_url or not settings.client_id or settings.client_secret is None:
        return None
    return UrssafClient(
        base_url=settings.base_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=settings.scope,
        verify_path=settings.verify_path,
        timeout_seconds=settings.timeout_seconds,
    )
