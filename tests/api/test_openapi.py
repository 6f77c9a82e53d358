"""The OpenAPI document as a generated client sees it: operation ids are function names."""

import re

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
