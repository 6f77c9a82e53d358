"""New contracts of a batch are written together (`insert_new_contracts`): the same rows, events,
report and planned jobs as one SAVEPOINT per record, and a batch whose insert is refused (a
reference taken meanwhile) is created record by record without losing any."""

import random
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from app.buyers.models import Buyer
from app.compliance.rules import CompliancePolicy
from app.contracts.models import Contract, ContractHolder
from app.db import unit_of_work
from app.events.models import Event
from app.imports import ingest
from app.imports.ingest import Scope, import_records, read_records
from app.suppliers.models import Supplier
from tests.factories import random_siret
from tests.imports.conftest import as_stream, marche_2019
from tests.imports.test_ingest import RecordingQueue

THRESHOLD = Decimal("5000.00")


def _file(buyer: str, holders: list[str], foreign: str) -> dict[str, Any]:
    """Valid and refused records mixed, holders shared between contracts, over several batches."""
    a, b, c, d = holders
    two = [
        {"typeIdentifiant": "SIRET", "id": a, "denominationSociale": "A"},
        {"typeIdentifiant": "SIRET", "id": b, "denominationSociale": "B"},
    ]
    marches = [
        marche_2019(buyer, "M-1", a),
        marche_2019(buyer, "M-2", b, titulaires=two, montant=120000),
        marche_2019(buyer, "M-3", c, montant=1200),  # below the threshold
        marche_2019(buyer, "M-4", a, dureeMois=None, dateFinExecution=None),  # no end
        marche_2019(buyer, "M-5", d, codeCPV="bad"),  # created, the CPV dropped with a note
        marche_2019(buyer, "M-1", c),  # twice in the file
        marche_2019(
            buyer, "M-6", c, titulaires=[two[0], two[0]]
        ),  # the same holder twice: read once
        marche_2019(buyer, "M-7", c, dateNotification="0026-01-01"),  # implausible date
        marche_2019(buyer, "M-8", d, dureeMois=36),
        marche_2019(  # a foreign company, known by its VAT number, beside a French one
            buyer,
            "M-9",
            d,
            titulaires=[
                {"typeIdentifiant": "SIRET", "id": d},
                {"typeIdentifiant": "TVA", "id": foreign, "denominationSociale": "Bouw NV"},
            ],
        ),
    ]
    return {"marches": marches}


async def _import(sessionmaker, queue, document, **kwargs: Any):  # type: ignore[no-untyped-def]
    return await import_records(
        lambda: unit_of_work(sessionmaker, queue),
        read_records(as_stream(document)),
        Scope(create_buyers=True),
        threshold=THRESHOLD,
        policy=CompliancePolicy(),
        **({"batch": 4} | kwargs),
    )


async def _written(sessionmaker, siret: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What an import left for one buyer, without ids, times and the buyer's SIRET."""
    async with unit_of_work(sessionmaker) as session:
        buyer = (await session.exec(select(Buyer).where(Buyer.siret == siret))).one()
        contracts = (
            await session.exec(select(Contract).where(Contract.buyer_id == buyer.id))
        ).all()
        references = {c.id: c.reference for c in contracts}
        holders = (
            await session.exec(
                select(ContractHolder, Supplier)
                .join(Supplier, col(Supplier.id) == ContractHolder.supplier_id)
                .where(col(ContractHolder.contract_id).in_(references))
            )
        ).all()
        events = (
            await session.exec(
                select(Event).where(Event.buyer_id == buyer.id).order_by(col(Event.seq))
            )
        ).all()
        skip = {"id", "buyer_id", "created_at", "updated_at"}
        return {
            "contracts": sorted(
                (c.model_dump(exclude=skip) for c in contracts), key=lambda c: c["reference"]
            ),
            "holders": sorted(
                tuple(
                    str(v or "")
                    for v in (
                        *(references[h.contract_id], s.siren, s.foreign_id, s.name, h.siret),
                        *(h.social_regime, h.code_tiers),
                    )
                )
                for h, s in holders
            ),
            "events": [
                (
                    e.seq,
                    e.type,
                    {k: v for k, v in e.data.items() if k not in ("contract_id", "buyer_siret")},
                    references[uuid.UUID(e.data["contract_id"])],
                    e.data["buyer_siret"] == siret,
                )
                for e in events
            ],
            "planned": {str(i) for i in references},
        }


async def test_a_bulk_batch_writes_what_one_savepoint_per_record_writes(sessionmaker) -> None:
    holders = [random_siret() for _ in range(4)]
    a_, b_, _, d_ = holders
    foreign = f"BE0{random.randrange(10**9):09d}"
    bulk_buyer, single_buyer = random_siret(), random_siret()
    bulk_queue, single_queue = RecordingQueue(), RecordingQueue()
    # The bulk import first: it inserts the suppliers; the other finds them.
    bulk = await _import(sessionmaker, bulk_queue, _file(bulk_buyer, holders, foreign))
    single = await _import(
        sessionmaker, single_queue, _file(single_buyer, holders, foreign), bulk=False
    )

    summary = bulk.as_dict()
    for line in summary["lines"]:  # a line names the record by its buyer and reference
        line["record"] = line["record"].replace(bulk_buyer, single_buyer)
    assert summary == single.as_dict()
    assert summary["created"] == 6
    assert summary["skipped"] == {
        "below_vigilance_threshold": 1,
        "duplicate_in_file": 1,
        "invalid_dates": 2,
    }
    a, b = await _written(sessionmaker, bulk_buyer), await _written(sessionmaker, single_buyer)
    assert a["contracts"] == b["contracts"]
    assert [c["reference"] for c in a["contracts"]] == ["M-1", "M-2", "M-5", "M-6", "M-8", "M-9"]
    assert a["holders"] == b["holders"] and len(a["holders"]) == 8
    assert a["events"] == b["events"]
    assert [e[0] for e in a["events"]] == [1, 2, 3, 4, 5, 6]
    assert all(e[1] == "contract.created" and e[4] for e in a["events"])
    assert {args[0] for _, args in bulk_queue.sent} == a["planned"]
    assert {args[0] for _, args in single_queue.sent} == b["planned"]
    async with unit_of_work(sessionmaker) as session:
        sirens = col(Supplier.siren).in_([h[:9] for h in holders])
        rows = (
            await session.exec(select(Supplier).where(sirens | (Supplier.foreign_id == foreign)))
        ).all()
    # One row per company however many contracts it holds; none for C (refused records only).
    assert sorted((s.siren or "", s.country or "", s.name or "") for s in rows) == sorted(
        [(a_[:9], "", "A"), (b_[:9], "", "B"), (d_[:9], "", "X"), ("", "BE", "Bouw NV")]
    )


async def test_a_refused_batch_insert_falls_back_to_one_record_at_a_time(
    sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    buyer, holder = random_siret(), random_siret()
    queue = RecordingQueue()
    first = {"marches": [marche_2019(buyer, "R-1", holder), marche_2019(buyer, "R-2", holder)]}
    await _import(sessionmaker, queue, first)
    planned = len(queue.sent)

    async def missed(session, ready):  # type: ignore[no-untyped-def]
        return {}  # as if had been written by another import after the read

    monkeypatch.setattr(ingest, "_existing", missed)
    second = {
        "marches": [
            marche_2019(buyer, "R-1", holder),  # the same: found on the way, unchanged
            marche_2019(buyer, "R-3", holder),
            marche_2019(buyer, "R-2", holder, montant=99000),  # another content: a conflict
            marche_2019(buyer, "R-4", holder, montant=1000),  # below the threshold
            marche_2019(buyer, "R-5", holder),
        ]
    }
    report = (await _import(sessionmaker, queue, second, batch=10)).as_dict()
    outcomes = [(line["outcome"], line["code"]) for line in report["lines"]]
    assert outcomes == [
        ("unchanged", None),
        ("created", None),
        ("skipped", "contract_reference_conflict"),
        ("skipped", "below_vigilance_threshold"),
        ("created", None),
    ]
    written = await _written(sessionmaker, buyer)
    assert [c["reference"] for c in written["contracts"]] == ["R-1", "R-2", "R-3", "R-5"]
    assert {c["amount_ht"] for c in written["contracts"]} == {Decimal("48000.00")}
    assert [h[0] for h in written["holders"]] == ["R-1", "R-2", "R-3", "R-5"]
    # One event per contract, numbered without a gap (the refused insert took no number).
    assert [(e[0], e[3]) for e in written["events"]] == [
        (1, "R-1"),
        (2, "R-2"),
        (3, "R-3"),
        (4, "R-5"),
    ]
    assert len(queue.sent) == planned + 2  # planned, nothing else
