"""The 401/403/404 matrix: every route, every role, two buyers.

Routes under the foundation's prefixes must be classified in ROUTES (a new route fails the test
until someone decides who may call it); every other /v1 route must at least refuse a missing key.
"""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute

from app.buyers.models import Buyer
from app.keys.models import Role
from tests.api.conftest import assert_problem
from tests.factories import contract_payload, prefix_of, random_siret

STRICT_PREFIXES = ("/v1/contracts", "/v1/suppliers", "/v1/buyers", "/v1/keys")
ADM, OFF, ERP, CON = Role.ADMIN, Role.OFFICER, Role.ERP, Role.CONTRACTOR


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    tenant_scoped: bool = False  # the path names one buyer's object: another buyer gets 404
    # 403 when a role may never call the route; 404 for routes that take any key and scope
    # by ownership (a key that owns nothing there sees nothing, not even that it exists).
    denied: int = 403


ROUTES: dict[tuple[str, str], Rule] = {
    ("POST", "/v1/contracts"): Rule(frozenset({OFF, ERP})),
    ("GET", "/v1/contracts"): Rule(frozenset({OFF, ERP})),
    ("GET", "/v1/contracts/{contract_id}"): Rule(frozenset({OFF, ERP}), tenant_scoped=True),
    ("PATCH", "/v1/contracts/{contract_id}"): Rule(frozenset({OFF, ERP}), tenant_scoped=True),
    ("PUT", "/v1/contracts/by-ref/{reference}"): Rule(frozenset({OFF, ERP})),
    ("GET", "/v1/contracts/{contract_id}/amendments"): Rule(
        frozenset({OFF, ERP}), tenant_scoped=True
    ),
    ("GET", "/v1/suppliers"): Rule(frozenset({OFF, ERP})),
    ("GET", "/v1/suppliers/{siren}"): Rule(frozenset({OFF, ERP, CON}), tenant_scoped=True),
    ("POST", "/v1/buyers"): Rule(frozenset({ADM})),
    ("GET", "/v1/buyers"): Rule(frozenset({ADM})),
    ("POST", "/v1/keys"): Rule(frozenset({ADM})),
    ("GET", "/v1/keys"): Rule(frozenset({ADM})),
    ("DELETE", "/v1/keys/{prefix}"): Rule(frozenset({ADM})),
    # the evidence archive (app/documents/router.py, tested in depth in tests/documents)
    ("GET", "/v1/contracts/{contract_id}/dossier"): Rule(
        frozenset({OFF, ERP}), tenant_scoped=True, denied=404
    ),
    ("GET", "/v1/suppliers/{siren}/documents"): Rule(
        frozenset({OFF, ERP, CON}), tenant_scoped=True, denied=404
    ),
    # the vigilance engine (app/compliance/router.py, tested in depth in tests/compliance)
    ("GET", "/v1/suppliers/{siren}/compliance"): Rule(
        frozenset({OFF, ERP, CON}), tenant_scoped=True
    ),
    ("POST", "/v1/suppliers/{siren}/checks"): Rule(frozenset({OFF, ERP}), tenant_scoped=True),
    ("POST", "/v1/suppliers/{siren}/requests"): Rule(frozenset({OFF, ERP}), tenant_scoped=True),
    ("GET", "/v1/suppliers/{siren}/requests"): Rule(frozenset({OFF, ERP}), tenant_scoped=True),
    ("GET", "/v1/contracts/{contract_id}/compliance"): Rule(
        frozenset({OFF, ERP}), tenant_scoped=True
    ),
    # the contractor portal's uploads (app/uploads/router.py, tested in depth in tests/uploads)
    # (another buyer's officer gets a 404: tests/uploads/test_api.py; ERP keys may not upload)
    ("POST", "/v1/suppliers/{siren}/uploads"): Rule(frozenset({OFF, CON})),
}


@dataclass(frozen=True)
class Multipart:
    """A multipart body (an upload) instead of JSON."""

    files: dict[str, Any]
    data: dict[str, Any]


async def send(client, method, url, body, headers=None):  # type: ignore[no-untyped-def]
    if isinstance(body, Multipart):
        return await client.request(method, url, files=body.files, data=body.data, headers=headers)
    return await client.request(method, url, json=body, headers=headers)


def api_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every API route, through included routers."""
    try:  # FastAPI >= 0.160 keeps included routers nested
        from fastapi.routing import iter_route_contexts

        contexts: Any = iter_route_contexts(app.routes)
    except ImportError:  # pragma: no cover - older FastAPI flattens them
        contexts = app.routes
    out = set()
    for context in contexts:
        if isinstance(getattr(context, "original_route", context), APIRoute):
            out |= {(m, context.path) for m in (context.methods or set()) - {"HEAD", "OPTIONS"}}
    return out


@dataclass
class World:
    """Buyer A and buyer B, each with an officer and an ERP key, a contract and its supplier."""

    keys: dict[str, dict[str, str]]
    contract_a: str
    siren_a: str  # holds only A's contract
    buyer_a: Buyer
    supplier_a: uuid.UUID


@pytest.fixture
async def world(client, make_buyer, make_key) -> World:  # type: ignore[no-untyped-def]
    buyer_a, buyer_b = await make_buyer("Acheteur A"), await make_buyer("Acheteur B")
    keys = {
        "admin": await make_key(ADM),
        "officer": await make_key(OFF, buyer=buyer_a),
        "erp": await make_key(ERP, buyer=buyer_a),
        "officer_b": await make_key(OFF, buyer=buyer_b),
        "erp_b": await make_key(ERP, buyer=buyer_b),
    }
    siret_a = random_siret()
    r = await client.post(
        "/v1/contracts",
        json=contract_payload(holders=[{"siret": siret_a}]),
        headers=keys["officer"],
    )
    assert r.status_code == 201, r.text
    contract = r.json()
    supplier_a = uuid.UUID(contract["holders"][0]["supplier_id"])
    keys["contractor"] = await make_key(CON, supplier_id=supplier_a)
    r = await client.post("/v1/contracts", json=contract_payload(), headers=keys["officer_b"])
    assert r.status_code == 201, r.text
    return World(keys, contract["id"], siret_a[:9], buyer_a, supplier_a)


async def _request_for(client, world, make_key, method, path):  # type: ignore[no-untyped-def]
    """A well-formed request for the route, so that an allowed role gets a 2xx."""
    url = path.replace("{contract_id}", world.contract_a).replace("{siren}", world.siren_a)
    if "{prefix}" in url:
        throwaway = await make_key(ADM)
        url = url.replace("{prefix}", prefix_of(throwaway["Authorization"]))
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/v1/contracts"): contract_payload(),
        ("PATCH", "/v1/contracts/{contract_id}"): {"object": f"Avenant {uuid.uuid4()}"},
        ("POST", "/v1/buyers"): {"siret": random_siret(), "name": "Nouvel acheteur"},
        ("POST", "/v1/keys"): {"role": "officer", "buyer_siret": world.buyer_a.siret},
    }
    if path == "/v1/suppliers/{siren}/uploads":
        from tests.uploads.samples import attestation

        pdf = attestation(world.siren_a, issued=date.today() - timedelta(days=3))
        return url, Multipart(
            {"file": ("attestation.pdf", pdf, "application/pdf")},
            {"requirement": "urssaf_vigilance"},
        )
    if "{reference}" in url:  # create or replace by the buyer's reference: a new one each time
        reference = f"REF-{uuid.uuid4().hex[:12]}"
        return url.replace("{reference}", reference), contract_payload(reference=reference)
    return url, bodies.get((method, path))


async def test_every_route_is_classified(app):
    assert api_routes(app), "no route found: is this the application?"
    strict = {r for r in api_routes(app) if r[1].startswith(STRICT_PREFIXES)}
    missing = strict - ROUTES.keys()
    assert not missing, f"classify these routes in ROUTES (allowed roles): {sorted(missing)}"
    gone = ROUTES.keys() - strict
    assert not gone, f"ROUTES lists routes the app no longer has: {sorted(gone)}"


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
async def test_roles(client, world, make_key, method, path):
    rule = ROUTES[(method, path)]
    for role in Role:
        url, body = await _request_for(client, world, make_key, method, path)
        r = await send(client, method, url, body, world.keys[role.value])
        if role in rule.roles:
            assert r.status_code < 300, f"{role} {method} {url}: {r.status_code} {r.text}"
        elif rule.denied == 403:
            assert_problem(r, 403, "forbidden_role")
        else:
            assert_problem(r, rule.denied)


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
async def test_missing_unknown_revoked_keys(client, world, make_key, method, path):
    url, body = await _request_for(client, world, make_key, method, path)
    r = await send(client, method, url, body)
    assert_problem(r, 401, "missing_api_key")
    assert r.headers["www-authenticate"] == "Bearer"

    for bad in ("Bearer vg_deadbeef_" + "x" * 43, "Bearer nonsense", "Basic dXNlcjpwYXNz"):
        r = await send(client, method, url, body, {"Authorization": bad})
        assert r.status_code == 401, (bad, r.text)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")  # RFC 6750 §3

    # a real key with its secret part altered: same prefix, wrong hash
    real = world.keys["admin"]["Authorization"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    r = await send(client, method, url, body, {"Authorization": forged})
    assert_problem(r, 401, "invalid_api_key")

    allowed = next(iter(ROUTES[(method, path)].roles))
    headers = await make_key(allowed, **_scope_of(world, allowed))
    revoked_prefix = prefix_of(headers["Authorization"])
    revoke = await client.delete(f"/v1/keys/{revoked_prefix}", headers=world.keys["admin"])
    assert revoke.status_code == 204, revoke.text
    r = await send(client, method, url, body, headers)
    assert_problem(r, 401, "revoked_api_key")
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def _scope_of(world: World, role: Role) -> dict[str, Any]:
    if role in {OFF, ERP}:
        return {"buyer": world.buyer_a}
    return {"supplier_id": world.supplier_a} if role is CON else {}


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, rule in ROUTES.items() if rule.tenant_scoped)
)
async def test_other_buyers_object_is_404(client, world, make_key, method, path):
    url, body = await _request_for(client, world, make_key, method, path)
    for who in ("officer_b", "erp_b"):
        r = await send(client, method, url, body, world.keys[who])
        assert_problem(r, 404)
    # ...and the same answer as for an object that does not exist at all
    ghost = url.replace(world.contract_a, str(uuid.uuid4())).replace(world.siren_a, "732829320")
    r = await send(client, method, ghost, body, world.keys["officer_b"])
    assert_problem(r, 404)


async def test_other_v1_routes_require_a_key(app, client):
    others = sorted(
        r
        for r in api_routes(app)
        if r[1].startswith("/v1/") and not r[1].startswith(STRICT_PREFIXES)
    )
    for method, path in others:
        url = _fill(path)
        r = await client.request(method, url)
        assert r.status_code == 401, f"{method} {path} answers {r.status_code} without a key"
        assert_problem(r, 401)


def _fill(path: str) -> str:
    import re

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith("id"):
            return str(uuid.uuid4())
        if "siren" in name:
            return "732829320"
        if "siret" in name:
            return "73282932000074"
        return "x"

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", value, path)
