"""The supplier's head office address, read from Sirene by the registration check (one more JSON
call, `insee_etablissement`): stored on the supplier and shown by the API; identity, never
evidence — a failing call leaves the registration check exactly as it would be without it."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from app.compliance.fetch import Fetched, Subject, fetch_requirement, postal_line
from app.compliance.rules import RequirementType
from app.config import ApiEntrepriseSettings, Settings
from app.integrations.api_entreprise import ApiEntrepriseClient, MemoryRateLimiter
from app.integrations.api_entreprise import schemas as s
from app.integrations.api_entreprise.ratelimit import Family
from app.integrations.sandbox import SANDBOX_TOKEN, SandboxConfig, create_sandbox_app
from app.integrations.sandbox.identifiers import head_office_siret
from app.integrations.sandbox.profiles import DEMO_SIRENS, SCENARIO_SIRENS
from app.integrations.sandbox.responses import _seed
from app.keys.models import Role
from app.suppliers.models import Supplier
from tests.compliance.conftest import contract_for, settle
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, NOON

TODAY = date(2026, 11, 27)
SIRENS = DEMO_SIRENS | SCENARIO_SIRENS
REG = RequirementType.REGISTRATION
OFFICE_PATH = "/v4/insee/sirene/etablissements/"


def sandbox_address(siren: str) -> str:
    """What the sandbox's head office answer reads as on one line."""
    return f"{1 + _seed(siren) % 150} PLACE AUX ETOILES, 93210 SAINT-DENIS"


Answer = Callable[[httpx.Request], Awaitable[httpx.Response]]


def sandbox_transport(office: int | None, seen: list[str]) -> httpx.AsyncBaseTransport:
    """The sandbox, except that the head office's path answers `office` (None: the sandbox's
    own answer; 0: the connection breaks)."""
    inner = httpx.ASGITransport(app=create_sandbox_app(SandboxConfig(today=lambda: TODAY)))

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if office is not None and OFFICE_PATH in request.url.path:
            if office == 0:
                raise httpx.ConnectError("connexion coupée", request=request)
            return httpx.Response(office, json={"errors": [{"code": "99999", "title": "x"}]})
        return await inner.handle_async_request(request)

    return httpx.MockTransport(handle)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., ApiEntrepriseClient]]:
    made: list[ApiEntrepriseClient] = []

    def make(office: int | None = None, seen: list[str] | None = None) -> ApiEntrepriseClient:
        settings = ApiEntrepriseSettings(
            base_url="http://sandbox.test", token=SecretStr(SANDBOX_TOKEN)
        )
        client = ApiEntrepriseClient(
            settings,
            transport=sandbox_transport(office, [] if seen is None else seen),
            production=False,
            clock=lambda: NOON,
            limiter=MemoryRateLimiter({Family.JSON: 1000, Family.DOCUMENTS: 1000}),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def fetch(client: ApiEntrepriseClient, name: str) -> Fetched:
    return await fetch_requirement(
        client, REG, Subject(BUYER_SIRET, "Marché 2026-042", SIRENS[name]), TODAY
    )


def as_evidence(got: Fetched) -> tuple[object, ...]:
    """Everything a check keeps of a fetch but the address (request ids are random: counted)."""
    evidence = {k: v for k, v in got.evidence.items() if k != "reference"}
    docs = [(d.media_type, d.outcome.endpoint, d.outcome.kind) for d in got.documents]
    return (got.requirement, got.kind, got.outcome, evidence, docs, got.retry_at,
            got.message, got.alert, len(got.request_ids), got.company_name)  # fmt: skip


async def test_a_diffusible_company_gets_its_head_office_address(make_client) -> None:
    seen: list[str] = []
    got = await fetch(make_client(seen=seen), "compliant")
    siren = SIRENS["compliant"]
    assert got.company_address == sandbox_address(siren)
    assert seen.count(f"{OFFICE_PATH}{head_office_siret(siren)}") == 1  # one more JSON call
    assert sum(OFFICE_PATH in path for path in seen) == 1


@pytest.mark.parametrize("name", ["non_diffusible", "unknown"])
async def test_no_address_without_a_diffusible_unit(make_client, name) -> None:
    seen: list[str] = []
    got = await fetch(make_client(seen=seen), name)
    assert got.company_address is None
    assert not any(OFFICE_PATH in path for path in seen)  # no call spent


@pytest.mark.parametrize("office", [500, 404, 451, 0])
@pytest.mark.parametrize("name", ["compliant", "ceased", "struck_off", "unregistered"])
async def test_a_failing_head_office_call_changes_nothing_else(make_client, office, name) -> None:
    with_address = await fetch(make_client(), name)
    without = await fetch(make_client(office=office), name)
    assert without.company_address is None
    assert with_address.company_address is not None
    assert as_evidence(without) == as_evidence(with_address)


def test_the_postal_line() -> None:
    address = s.Address.model_validate(
        {"numero_voie": "5", "type_voie": "AV", "libelle_voie": "DES LILAS ",
         "code_postal": "69003", "libelle_commune": "LYON 3E ARRONDISSEMENT"}
    )  # fmt: skip
    assert postal_line(address) == "5 AV DES LILAS, 69003 LYON 3E ARRONDISSEMENT"
    assert postal_line(s.Address.model_validate({"code_postal": "75001"})) == "75001"
    assert postal_line(s.Address.model_validate({})) is None
    long = s.Address.model_validate({"libelle_voie": "X" * 400})
    assert len(postal_line(long) or "") == 300


# --- end to end: a contract, its checks in the background, the supplier's address ------------


async def test_a_checked_supplier_shows_its_address(
    client, make_buyer, make_key, runtime, sessionmaker
) -> None:
    buyer = await make_buyer()
    headers = await make_key(Role.OFFICER, buyer=buyer)
    compliant, hidden = SIRENS["compliant"], SIRENS["non_diffusible"]
    r = await client.post("/v1/contracts", json=contract_for(compliant, hidden), headers=headers)
    assert r.status_code == 201, r.text
    await settle(runtime)
    body = (await client.get(f"/v1/suppliers/{compliant}", headers=headers)).json()
    assert body["address"] == sandbox_address(compliant)
    body = (await client.get(f"/v1/suppliers/{hidden}", headers=headers)).json()
    assert "address" in body and body["address"] is None  # non-diffusible: nothing stored
    async with sessionmaker() as session:
        row = (await session.exec(select(Supplier).where(Supplier.siren == compliant))).one()
        assert row.address == sandbox_address(compliant)


class TestFailingHeadOffice:
    """The app's client on the sandbox, but the head office's path answers 500."""

    @pytest.fixture
    async def api_entreprise_client(self, settings: Settings) -> AsyncIterator[ApiEntrepriseClient]:
        client = ApiEntrepriseClient(
            settings.api_entreprise,
            base_url="http://sandbox.test",
            token=SANDBOX_TOKEN,
            production=False,
            transport=sandbox_transport(500, []),
        )
        yield client
        await client.aclose()

    async def test_the_registration_is_as_without_it(
        self, client, make_buyer, make_key, runtime, sessionmaker
    ) -> None:
        siren = SIRENS["compliant"]
        previous = "1 PLACE DE L'ANCIENNE ADRESSE, 00000 NULLE PART"
        async with sessionmaker() as session:
            found = (await session.exec(select(Supplier).where(Supplier.siren == siren))).first()
            row = found or Supplier(siren=siren)
            row.address = previous
            session.add(row)
            await session.commit()
        buyer = await make_buyer()
        headers = await make_key(Role.OFFICER, buyer=buyer)
        r = await client.post("/v1/contracts", json=contract_for(siren), headers=headers)
        assert r.status_code == 201, r.text
        await settle(runtime)
        r = await client.get(f"/v1/suppliers/{siren}/compliance", headers=headers)
        got = {req["type"]: req for req in r.json()["requirements"]}
        assert got["registration"]["status"] == "valid", got["registration"]
        assert got["registration"]["reasons"] == []
        assert r.json()["status"] == "compliant"
        body = (await client.get(f"/v1/suppliers/{siren}", headers=headers)).json()
        assert body["address"] == previous  # kept: the failed call stored nothing
