"""`API_ENTREPRISE__MAINTENANCE_WINDOWS`: the providers' nightly windows are honoured against the
real API and ignored against the sandbox, which has none (so a night-time run of the suite or of
the demo does not wait for a window that does not exist)."""

from datetime import UTC, datetime

from app.config import Settings
from app.integrations.api_entreprise import OutcomeKind
from app.runtime import build_runtime

AT_0115_PARIS = datetime(2026, 11, 27, 0, 15, tzinfo=UTC)
BUYER_SIRET = "21750001600019"


async def test_windows_off_the_call_is_made(make_client, staging, ae_settings) -> None:
    settings = ae_settings.model_copy(update={"maintenance_windows": False})
    client = make_client(settings=settings, clock=lambda: AT_0115_PARIS)
    outcome = await client.dgfip_attestation_fiscale("000000001", recipient=BUYER_SIRET, object="M")
    assert outcome.kind is not OutcomeKind.PENDING or outcome.retry_at != datetime(
        2026, 11, 27, 1, 0, tzinfo=UTC
    )
    assert staging.api_requests  # it went to the source


async def test_the_built_in_sandbox_has_no_window(tmp_path) -> None:
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'v.db'}",
        redis_url=None,
        archive={"dir": tmp_path / "a", "key_file": tmp_path / "k.json"},
    )
    assert settings.api_entreprise.maintenance_windows  # on by default (the real API)
    rt = await build_runtime(settings, in_process=True, periodic=False)
    try:
        assert rt.sandbox is not None
        assert rt.client.settings.maintenance_windows is False
    finally:
        await rt.aclose()
