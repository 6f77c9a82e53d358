"""The readers alone (no database): DECP 2019 and 2024 streamed, the CSV's encodings and lines."""

import io

import pytest

from app.imports.csvfile import NotCsv, read_csv
from app.imports.decp import NotDecp, read_decp
from app.imports.ingest import UnreadableFile, detect_format, read_records
from app.imports.models import ImportFormat
from tests.factories import random_siren, random_siret
from tests.imports.conftest import DECP, SAMPLE_2019, SAMPLE_2024, as_stream, marche_2019

BUYER = "21590163800019"


def test_both_samples_are_read_record_by_record(sample_counts):
    with SAMPLE_2019.open("rb") as f:
        records = list(read_decp(f))
    assert len(records) == sample_counts["2019"] == 212
    with SAMPLE_2024.open("rb") as f:
        records_2024 = list(read_decp(f))
    assert len(records_2024) == sample_counts["2024"] == 3
    first = records_2024[0]
    assert (first.buyer_siret, first.reference) == ("59920013600241", "H9O2024T0000256")
    assert first.holders == [{"siret": "32933888305269", "name": None}]
    assert str(first.amount) == "32122.0" and first.notified_on == "2024-05-30"


def test_format_is_told_from_the_content():
    assert detect_format(b'\xef\xbb\xbf  {"marches": []}') == ImportFormat.DECP
    assert detect_format(b"reference;holder_siret\r\n") == ImportFormat.CSV
    assert detect_format(b"<?xml version='1.0'?><marches/>") == ImportFormat.DECP
    assert detect_format(b"PK\x03\x04 a zip") is None
    with pytest.raises(UnreadableFile):
        read_records(io.BytesIO(b"hello"))


def test_2019_fields_modifications_and_identifier_types():
    siret, siren = random_siret(), random_siren()
    doc = {
        "marches": [
            marche_2019(
                BUYER,
                "2019-001",
                siret,
                montant="30000.00",
                dureeMois="36",
                titulaires=[
                    {"typeIdentifiant": "", "id": siret},
                    {"typeIdentifiant": "siret", "id": f" {siren[:3]} {siren[3:]} "},
                    {"id": "12345"},
                ],
                modifications=[
                    {"montant": 52000.5, "dureeMois": None, "titulaires": []},
                    {"dureeMois": "48", "montant": None},
                ],
            )
        ]
    }
    (record,) = read_decp(as_stream(doc))
    assert record.amount == pytest.approx(52000.5)  # the last montant set
    assert record.duration_months == "48"  # the last dureeMois set
    assert [h.get("siret") or h.get("siren") for h in record.holders] == [siret, siren]
    assert [n.code for n in record.notes] == ["invalid_identifier"]  # 12345 dropped, reported
    assert "12345" in record.notes[0].message


def test_a_modification_with_holders_replaces_them_and_2024_sorts_by_id():
    old, new, newest = random_siret(), random_siret(), random_siret()

    def holders(siret: str) -> list[dict[str, object]]:
        return [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}}]

    marche = {
        "id": "24-7",
        "acheteur": {"id": BUYER},
        "objet": "Lot 1",
        "dureeMois": 4,
        "dateNotification": "2024-05-30+02:00",
        "montant": 32122.0,
        "titulaires": holders(old),
        "modifications": [
            {"modification": {"id": 2, "montant": 41000, "titulaires": holders(newest)}},
            {"modification": {"id": 1, "montant": 39000, "titulaires": holders(new)}},
        ],
    }
    (record,) = read_decp(as_stream({"marches": {"marche": [marche], "contrat-concession": []}}))
    assert record.amount == 41000 and record.holders == [{"siret": newest, "name": None}]


def test_concessions_use_their_value_signature_and_concessionnaires():
    siret = random_siret()
    concession = {
        "id": "DSP-2024-1",
        "autoriteConcedante": {"id": BUYER},
        "objet": "Délégation du réseau de chaleur",
        "dureeMois": 12,
        "dateSignature": "2024-04-02",
        "valeurGlobale": 10.3,
        "concessionnaires": [{"concessionnaire": {"typeIdentifiant": "SIRET", "id": siret}}],
        "modifications": [{"modification": {"id": 1, "dureeMois": 14, "valeurGlobale": 250000}}],
    }
    doc = {"marches": {"marche": [], "contrat-concession": [concession]}}
    (record,) = read_decp(as_stream(doc))
    assert (record.buyer_siret, record.notified_on) == (BUYER, "2024-04-02")
    assert (record.amount, record.duration_months) == (250000, 14)
    assert record.holders == [{"siret": siret, "name": None}]
    # A 2019 concession sits in the same list as contracts.
    legacy = {**concession, "_type": "Contrat de concession", "modifications": []}
    legacy["concessionnaires"] = [{"typeIdentifiant": "SIRET", "id": siret}]
    (record,) = read_decp(as_stream({"marches": [legacy]}))
    assert str(record.amount) == "10.3" and record.holders[0]["siret"] == siret


def test_vat_numbers_french_and_foreign():
    siren = random_siren()
    key = (12 + 3 * (int(siren) % 97)) % 97
    doc = {
        "marches": [
            marche_2019(
                BUYER,
                "VAT-1",
                "",
                titulaires=[
                    {"typeIdentifiant": "TVA", "id": f"FR{key:02d}{siren}"},
                    {"typeIdentifiant": "TVA", "id": "BE0428821954", "denominationSociale": "B"},
                    {"typeIdentifiant": "HORS-UE", "id": "USCOLUMBIA"},
                ],
            )
        ]
    }
    (record,) = read_decp(as_stream(doc))
    assert record.holders[0] == {"siren": siren, "name": None}
    assert record.holders[1] == {"foreign_id": "BE0428821954", "country": "BE", "name": "B"}
    assert "HORS-UE" in record.notes[0].message


def test_every_holder_bad_skips_the_record_and_missing_fields_are_coded():
    doc = {
        "marches": [
            marche_2019(BUYER, "R1", "35170146300075"),  # fails Luhn
            marche_2019(BUYER, "R2", random_siret(), dateNotification=None),
            marche_2019(BUYER, None, random_siret()),  # type: ignore[arg-type]
        ]
    }
    problems = [r.problem.code if r.problem else None for r in read_decp(as_stream(doc))]
    assert problems == ["invalid_identifier", "missing_notification_date", "missing_reference"]


@pytest.mark.parametrize(
    "content",
    [b'{"foo": []}', b'{"marches": [{"id": "x"', b"[1, 2", b'{"marches": [] } trailing'],
)
def test_a_file_that_is_not_decp_stops_with_an_error(content: bytes):
    with pytest.raises(NotDecp):
        list(read_decp(io.BytesIO(content)))


HEADER = (
    "reference;object;amount_ht;notified_on;duration_months;holder_siret;holder_name;code_tiers"
)


def _csv(*lines: str, encoding: str = "utf-8", bom: bool = False) -> io.BytesIO:
    text = "\r\n".join([HEADER, *lines]) + "\r\n"
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("cp1252", False)]
)
def test_csv_encodings_give_the_same_text(encoding: str, bom: bool):
    siret = random_siret()
    stream = _csv(
        f"M-1;Élagage des arbres;12 000,50;02/03/2026;12;{siret};Élan;F-01",
        encoding=encoding,
        bom=bom,
    )
    (record,) = read_csv(stream)
    assert record.object == "Élagage des arbres" and record.amount == "12 000,50"
    assert record.holders == [{"siret": siret, "name": "Élan", "code_tiers": "F-01"}]
    assert not stream.closed  # the caller's stream stays open


def test_csv_lines_of_one_contract_are_one_record():
    a, b, c = random_siret(), random_siret(), random_siret()
    records = list(
        read_csv(
            _csv(
                f"M-1;Voirie;48000;2026-03-02;24;{a};A;T1",
                f"M-1;;;;;{b};B;T2",
                f"M-2;Toiture;90000;2026-03-02;24;{c};C;T3",
                f"M-2;Toiture;95000;2026-03-02;24;{a};A;T1",
                f";Sans référence;9000;2026-03-02;24;{a};A;T1",
            )
        )
    )
    assert [r.label for r in records] == ["line 2", "line 4", "line 6"]
    assert [h["code_tiers"] for h in records[0].holders] == ["T1", "T2"]
    assert records[1].problem and records[1].problem.code == "inconsistent_lines"
    assert records[2].problem and records[2].problem.code == "missing_reference"


def test_csv_without_the_expected_header_is_not_recognised():
    with pytest.raises(NotCsv):
        list(read_csv(io.BytesIO(b"name;siret\r\nA;1\r\n")))


def test_decp_xml_of_both_versions_is_read_like_the_json():
    with (DECP / "example-2019-modifications.xml").open("rb") as f:
        (record,) = read_decp(f)
    assert (record.buyer_siret, record.reference) == ("21350238800019", "2010345211203")
    assert record.buyer_name == "Ville de Rennes" and record.notified_on == "2007-08-13"
    assert record.duration_months == "30"  # the last modification's dureeMois
    # The last modification's holders replace the first ones (Jullié's SIRET fails Luhn).
    assert record.holders == [{"siret": "81223113200026", "name": "Garami SARL"}]
    assert [n.code for n in record.notes] == ["invalid_identifier"]
    with (DECP / "example-2024-concession.xml").open("rb") as f:
        records = list(read_decp(f))
    assert [(r.amount, r.duration_months, r.notified_on) for r in records] == [
        ("25.0", "14", "2024-04-02")
    ] * 2
    assert records[0].holders == [{"siret": "38103128500491", "name": None}]


@pytest.mark.parametrize(
    "content", [b"<html><body/></html>", b"<marches><marche><id>1</marche>", b"<"]
)
def test_xml_that_is_not_decp_stops_with_an_error(content: bytes):
    with pytest.raises(NotDecp):
        list(read_decp(io.BytesIO(content)))
