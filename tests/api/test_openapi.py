"""The OpenAPI document as a generated client sees it: operation ids are function names."""

import json
import re
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

VERBS = (
    "get", "list", "create", "amend", "put", "delete", "revoke", "rotate", "enable", "test",
    "replay", "check", "lookup", "recheck", "record", "upload", "review",
)  # fmt: skip


async def test_operation_ids_are_snake_case_verb_first_and_unique(app: FastAPI):
    spec = app.openapi()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for op_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z0-9]+)*", op_id), op_id
        assert op_id.split("_")[0] in VERBS, op_id
    for expected in (
        "create_contract",
        "get_contract",
        "list_contracts",
        "get_supplier_compliance",
        "lookup_compliance",
        "list_events",
        "create_webhook",
        "check_payments",
    ):
        assert expected in ids
    assert "ContractCreate" in spec["components"]["schemas"]


SNAPSHOT = Path(__file__).parent.parent.parent / "docs" / "openapi.json"
UPDATE = "make openapi"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


async def test_the_document_is_the_committed_one(app: FastAPI):
    """ERPs generate their clients from docs/openapi.json: a change to the contract is made on
    purpose, reviewed as a diff of that file."""
    assert SNAPSHOT.exists(), f"docs/openapi.json is missing: `{UPDATE}` writes it."
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    current = json.loads(render(app.openapi()))
    if current != committed:
        changed = sorted(
            f"{method.upper()} {path}"
            for path in set(current["paths"]) | set(committed["paths"])
            for method in set(current["paths"].get(path, {}))
            | set(committed["paths"].get(path, {}))
            if current["paths"].get(path, {}).get(method)
            != committed["paths"].get(path, {}).get(method)
        )
        schemas = sorted(
            name
            for name in set(current["components"]["schemas"])
            | set(committed["components"]["schemas"])
            if current["components"]["schemas"].get(name)
            != committed["components"]["schemas"].get(name)
        )
        raise AssertionError(
            "The OpenAPI document differs from docs/openapi.json (the contract ERPs build on). "
            f"If the change is meant, run `{UPDATE}` and commit docs/openapi.json with it.\n"
            f"Operations changed: {changed or 'none'}\nSchemas changed: {schemas or 'none'}"
        )


async def test_every_operation_documents_its_problem_answers(app: FastAPI):
    """401/403/429 where a key is required, 404 where the path names an object, 413/415 for a JSON
    body, 422 everywhere: as `application/problem+json` with the shared `Problem` schema and the
    stable codes listed in the description."""
    spec = app.openapi()
    assert "Problem" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            responses = op["responses"]
            for status, answer in responses.items():
                if int(status) >= 400:
                    content = answer["content"]
                    assert list(content) == ["application/problem+json"], where
                    assert content["application/problem+json"]["schema"] == {
                        "$ref": "#/components/schemas/Problem"
                    }, where
                    assert "`" in answer["description"], (where, status)  # the codes
            assert "422" in responses, where
            if path.startswith("/v1/") and op.get("security"):
                assert {"401", "429"} <= set(responses), where
            if "{" in path and method != "put":
                assert "404" in responses, where
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                assert {"413", "415"} <= set(responses), where
            if method == "post":
                assert "409" in responses, where
    contract = spec["paths"]["/v1/contracts/{contract_id}"]["get"]["responses"]
    assert "`contract_not_found`" in contract["404"]["description"]
    assert "`rate_limited`" in contract["429"]["description"]
    assert "Retry-After" in contract["429"]["headers"]


async def test_every_operation_has_a_description_and_an_example(app: FastAPI):
    spec = app.openapi()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("description", "").strip(), f"{where}: no docstring"
            examples = [
                media
                for answer in op["responses"].values()
                for media in answer.get("content", {}).values()
                if "example" in media or "examples" in media
            ]
            assert examples, f"{where}: no example"


def test_schema_examples_are_valid():
    """An example an ERP copies from /docs is accepted as it is; an answer's is one Vigie gives."""
    from app.buyers.models import BuyerCreate
    from app.compliance.schemas import LookupIn, RequestIn
    from app.contracts.models import ContractCreate, ContractUpdate, HolderIn
    from app.events.schemas import (
        ReplayQueued,
        ReplayRequest,
        WebhookCreate,
        WebhookCreated,
        WebhookPublic,
    )
    from app.keys.router import KeyCreate
    from app.payments.schemas import PaymentChecksIn
    from app.problems import Problem

    models = [BuyerCreate, LookupIn, RequestIn, ContractCreate, ContractUpdate, HolderIn]
    models += [ReplayRequest, WebhookCreate, KeyCreate, PaymentChecksIn, Problem]
    models += [WebhookPublic, WebhookCreated, ReplayQueued]
    for model in models:
        schema = model.model_json_schema()
        examples = schema.get("examples") or ([schema["example"]] if "example" in schema else [])
        assert examples, model.__name__
        for example in examples:
            model.model_validate(example)


# Schemas still without a description or an example (issue 13): this list only shrinks. A schema
# completed here must leave it (the test says so); a new schema starts complete.
PENDING_SCHEMAS = frozenset(
    {
        "Advice",
        "AmendmentPage",
        "AmendmentPublic",
        "ApiKeyPublic",
        "Body_create_import",
        "BuyerPublic",
        "CheckAccepted",
        "ContractCompliance",
        "ContractPage",
        "ContractPublic",
        "DeliveryPage",
        "DeliveryPublic",
        "DocumentPage",
        "DocumentPublic",
        "EventPage",
        "Gap",
        "GapPage",
        "HolderPublic",
        "ImportFormat",
        "ImportLine",
        "ImportPublic",
        "ImportReport",
        "ImportState",
        "KeyCreated",
        "LookupOut",
        "LookupRequirement",
        "LookupResult",
        "OverallStatus",
        "PaymentAdvice",
        "PaymentCheckItem",
        "PaymentChecksIn",
        "PaymentChecksOut",
        "ReasonPublic",
        "RequestChannel",
        "RequestPublic",
        "RequirementPublic",
        "RequirementStatus",
        "RequirementType",
        "ReviewIn",
        "ReviewOut",
        "Role",
        "SecretRotated",
        "SocialRegime",
        "SupplierCompliance",
        "SupplierPage",
        "SupplierPublic",
        "SupplierRef",
        "TestDelivery",
        "UploadAnswer",
        "UploadCopyPublic",
        "WebhookPage",
    }
)


async def test_every_schema_has_a_description_and_an_example(app: FastAPI):
    schemas = app.openapi()["components"]["schemas"]
    incomplete = {
        name
        for name, schema in schemas.items()
        if not schema.get("description") or not (schema.get("examples") or schema.get("example"))
    }
    assert not incomplete - PENDING_SCHEMAS, (
        "Give these schemas a description (docstring) and an example (json_schema_extra): "
        f"{sorted(incomplete - PENDING_SCHEMAS)}"
    )
    done = PENDING_SCHEMAS - incomplete
    assert not done, f"Complete now: remove from PENDING_SCHEMAS: {sorted(done)}"


if __name__ == "__main__":  # `make openapi`: write the committed copy from the code
    from app.config import Settings
    from app.main import create_app

    document = create_app(Settings(environment="test")).openapi()  # type: ignore[call-arg]
    SNAPSHOT.write_text(render(document), encoding="utf-8")
    print(f"wrote {SNAPSHOT.relative_to(Path.cwd())}", file=sys.stderr)
