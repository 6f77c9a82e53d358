"""Records → contracts through the contracts service, on the test's database (one rollback per
test): the done-when of the issue (both DECP samples, every record accounted for, a second import
changes nothing), amendments, scope, dry run, duplicates, ANALYZE."""

import io
from collections.abc import Collection
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from app.buyers.models import Buyer
from app.compliance.rules import CompliancePolicy
from app.contracts.models import Contract, ContractAmendment, ContractHolder
from app.db import unit_of_work
from app.imports.ingest import Scope, import_records, read_records
from app.suppliers.models import Supplier
from tests.factories import random_siret
from tests.imports.conftest import SAMPLE_2019, SAMPLE_2024, accounted, as_stream, marche_2019

THRESHOLD = Decimal("5000.00")


class RecordingQueue:
    """Collects what the units of work send after their commit."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def enqueue(self, function: str, *args: Any, **_: Any) -> bool:
        self.sent.append((function, args))
        return True

    async def ready(self) -> bool:
        return True

    async def in_flight(self, job_ids: Collection[str]) -> set[str]:
        return set()

    async def aclose(self) -> None:
        return None


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def run_import(sessionmaker, queue):  # type: ignore[no-untyped-def]
    async def run(stream: Any, scope: Scope | None = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        records = read_records(stream) if hasattr(stream, "read") else stream
        return await import_records(
            lambda: unit_of_work(sessionmaker, queue),
            records,
            scope or Scope(create_buyers=True),
            threshold=THRESHOLD,
            policy=CompliancePolicy(),
            **kwargs,
        )

    return run


async def _count(sessionmaker, model: Any) -> int:  # type: ignore[no-untyped-def]
    async with unit_of_work(sessionmaker) as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_both_decp_samples_import_then_a_second_import_changes_nothing(
    run_import, sessionmaker, queue, sample_counts
):
    """The issue's done-when: every record accounted for, every skipped one coded, twice."""
    for path, n in ((SAMPLE_2019, sample_counts["2019"]), (SAMPLE_2024, sample_counts["2024"])):
        with path.open("rb") as f:
            first = accounted(await run_import(f, batch=50), n)
        assert first["created"] > 0 and first["updated"] == first["unchanged"] == 0
        contracts = await _count(sessionmaker, Contract)
        planned = len(queue.sent)
        with path.open("rb") as f:
            second = accounted(await run_import(f, batch=50), n)
        assert second["created"] == second["updated"] == 0
        assert second["unchanged"] == first["created"]
        assert second["skipped"] == first["skipped"]
        assert [(a["record"], a["code"]) for a in first["lines"]] == [
            (b["record"], b["code"]) for b in second["lines"]
        ]
        assert await _count(sessionmaker, Contract) == contracts
        assert len(queue.sent) == planned  # nothing new to plan
    assert await _count(sessionmaker, ContractAmendment) == 0
    # Each created contract had its checks planned by the engine's job, after the commit.
    assert {f for f, _ in queue.sent} == {"plan_contract"}


async def test_the_2019_sample_codes_its_known_anomalies(run_import):
    with SAMPLE_2019.open("rb") as f:
        summary = accounted(await run_import(f), 212)
    lines = {line["record"]: line for line in summary["lines"]}
    # A La Poste establishment (digit-sum rule) and the head office (Luhn) are valid holders.
    assert lines["22160001800016/2019180052200"]["outcome"] == "created"
    # Croix's string amounts and durations, dates with a time zone: imported.
    croix = [v for k, v in lines.items() if k.startswith("21590163800019/")]
    assert croix and any(line["outcome"] == "created" for line in croix)
    assert {
        "below_vigilance_threshold",
        "invalid_identifier",
        "missing_notification_date",
        "missing_reference",
        "invalid_amount",
        "duplicate_in_file",
    } <= set(summary["skipped"])
    # A bad holder beside a valid one: dropped, named, the contract kept.
    kept = [
        line
        for line in summary["lines"]
        if line["outcome"] == "created" and line["code"] == "invalid_identifier"
    ]
    assert kept and all("écarté" in line["message"] for line in kept)


async def test_amended_amounts_update_and_are_recorded_as_amendments(
    run_import, sessionmaker, queue
):
    buyer, holder = random_siret(), random_siret()
    records = [marche_2019(buyer, f"A-{i}", holder, montant=10000 + i) for i in range(3)]
    summary = accounted(await run_import(as_stream({"marches": records})), 3)
    assert summary["created"] == 3
    records[1]["modifications"] = [{"montant": "25 000,00", "objetModification": "Avenant 1"}]
    sent = len(queue.sent)
    summary = accounted(await run_import(as_stream({"marches": records})), 3)
    assert (summary["updated"], summary["unchanged"]) == (1, 2)
    assert summary["lines"][1] == {
        "record": f"{buyer}/A-1",
        "outcome": "updated",
        "code": None,
        "message": None,
    }
    async with unit_of_work(sessionmaker) as session:
        contract = (await session.exec(select(Contract).where(Contract.reference == "A-1"))).one()
        assert contract.amount_ht == Decimal("25000.00")
        (amendment,) = (
            await session.exec(
                select(ContractAmendment).where(ContractAmendment.contract_id == contract.id)
            )
        ).all()
        assert amendment.changes == {"amount_ht": ["10001.00", "25000.00"]}
    assert queue.sent[sent:] == [("plan_contract", (str(contract.id),))]


async def test_a_dry_run_writes_nothing_and_reports_the_same(run_import, sessionmaker, queue):
    with SAMPLE_2024.open("rb") as f:
        dry = accounted(await run_import(f, dry_run=True, batch=2), 3)
    assert dry["created"] == 3
    assert await _count(sessionmaker, Contract) == 0
    assert await _count(sessionmaker, Buyer) == 0
    assert await _count(sessionmaker, Supplier) == 0
    assert queue.sent == []
    with SAMPLE_2024.open("rb") as f:
        real = accounted(await run_import(f, batch=2), 3)
    assert real == dry


async def test_scope_other_buyer_unknown_buyer_and_two_buyers_one_reference(
    run_import, sessionmaker
):
    mine, theirs, unknown = random_siret(), random_siret(), random_siret()
    holder = random_siret()
    async with unit_of_work(sessionmaker) as session:
        session.add(Buyer(siret=mine, name="Ville A"))
        session.add(Buyer(siret=theirs, name="Ville B"))
    doc = {
        "marches": [
            marche_2019(mine, "SAME-REF", holder),
            marche_2019(theirs, "SAME-REF", holder),
            marche_2019(unknown, "X-1", holder),
        ]
    }
    only_mine = Scope(only_buyer_siret=mine, default_buyer_siret=mine)
    summary = accounted(await run_import(as_stream(doc), only_mine), 3)
    assert [line["code"] for line in summary["lines"]] == [None, "other_buyer", "other_buyer"]
    summary = accounted(await run_import(as_stream(doc), Scope()), 3)
    assert [line["outcome"] for line in summary["lines"]] == ["unchanged", "created", "skipped"]
    assert summary["lines"][2]["code"] == "unknown_buyer"
    summary = accounted(await run_import(as_stream(doc), Scope(create_buyers=True)), 3)
    assert [line["outcome"] for line in summary["lines"]] == ["unchanged", "unchanged", "created"]
    async with unit_of_work(sessionmaker) as session:
        same = (await session.exec(select(Contract).where(Contract.reference == "SAME-REF"))).all()
        assert len({c.buyer_id for c in same}) == 2  # the same reference, two contracts
        created = (await session.exec(select(Buyer).where(Buyer.siret == unknown))).one()
        assert created.name == "Commune de Test"  # acheteur.nom


async def test_duplicates_thresholds_and_amounts(run_import, sessionmaker):
    buyer, holder = random_siret(), random_siret()
    doc = {
        "marches": [
            marche_2019(buyer, "D-1", holder),
            marche_2019(buyer, "D-1", holder, montant=99000),
            marche_2019(buyer, "LOW", holder, montant=4999.99),
            marche_2019(buyer, "ZERO", holder, montant=0),
            marche_2019(buyer, "NONE", holder, montant=None),
            marche_2019(buyer, "TEXT", holder, montant="beaucoup"),
            marche_2019(buyer, "DATES", holder, dateNotification="2019-02-30"),
        ]
    }
    summary = accounted(await run_import(as_stream(doc)), 7)
    assert [line["code"] for line in summary["lines"]] == [
        None,
        "duplicate_in_file",
        "below_vigilance_threshold",
        "invalid_amount",
        "invalid_amount",
        "invalid_amount",
        "invalid_dates",
    ]
    assert await _count(sessionmaker, Contract) == 1  # nothing half-written for the others


async def test_csv_code_tiers_kept_and_a_holder_msa_flag_survives_a_reimport(
    run_import, sessionmaker
):
    buyer, a, b = random_siret(), random_siret(), random_siret()
    header = "buyer_siret;reference;object;amount_ht;notified_on;ends_on;holder_siret;code_tiers"
    lines = [
        f"{buyer};C-1;Voirie;48000;2026-03-02;2027-03-01;{a};F001",
        f"{buyer};C-1;;;;;{b};F002",
    ]
    content = ("\r\n".join([header, *lines]) + "\r\n").encode()
    summary = accounted(await run_import(io.BytesIO(content)), 1)
    assert summary["created"] == 1
    async with unit_of_work(sessionmaker) as session:
        rows = (
            await session.exec(select(ContractHolder).order_by(col(ContractHolder.code_tiers)))
        ).all()
        assert [(h.siret, h.code_tiers) for h in rows] == [(a, "F001"), (b, "F002")]
        rows[0].social_regime = "msa"  # type: ignore[assignment]
        session.add(rows[0])
    summary = accounted(await run_import(io.BytesIO(content)), 1)
    assert summary["unchanged"] == 1  # the file says nothing of the regime: kept as recorded
    # A DECP re-import of the same contract (no code tiers there) keeps the ERP's codes too.
    same = {"objet": "Voirie", "dateNotification": "2026-03-02", "dureeMois": 12, "codeCPV": None}
    doc = {"marches": [marche_2019(buyer, "C-1", a, **same)]}
    doc["marches"][0]["titulaires"].append({"typeIdentifiant": "SIRET", "id": b})
    summary = accounted(await run_import(as_stream(doc)), 1)
    assert summary["lines"][0]["outcome"] == "unchanged", summary["lines"]
    async with unit_of_work(sessionmaker) as session:
        codes = (await session.exec(select(ContractHolder.code_tiers))).all()
        assert sorted(c or "" for c in codes) == ["F001", "F002"]


async def test_analyze_runs_after_a_large_import(run_import):
    buyer, holder = random_siret(), random_siret()
    doc = {"marches": [marche_2019(buyer, f"N-{i}", holder) for i in range(3)]}
    summary = accounted(await run_import(as_stream(doc), analyze_after=2), 3)
    assert summary["created"] == 3  # ANALYZE ran on this backend without error


async def test_a_buyer_without_a_usable_name_is_created_under_its_siret(run_import, sessionmaker):
    buyer, holder = random_siret(), random_siret()
    record = marche_2019(buyer, "NONAME-1", holder)
    record["acheteur"]["nom"] = "   "
    summary = accounted(await run_import(as_stream({"marches": [record]})), 1)
    assert summary["created"] == 1
    async with unit_of_work(sessionmaker) as session:
        created = (await session.exec(select(Buyer).where(Buyer.siret == buyer))).one()
        assert created.name == f"Acheteur {buyer}"
