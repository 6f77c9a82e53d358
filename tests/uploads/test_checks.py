"""The checks on their own: what a real file may hold without being refused, and what Vigie
reads in an attestation's text."""

from datetime import date

import pytest

from app.compliance.rules import RequirementType
from app.uploads.checks import UploadRefused, inspect_pdf, read_document
from tests.uploads import samples

URSSAF = RequirementType.URSSAF_VIGILANCE
TODAY = date(2027, 3, 20)


def scan_with(noise: bytes) -> bytes:
    """A scan-like page whose image data happens to contain `noise` (high-entropy bytes do)."""
    image = b"\xff\xd8" + bytes(range(256)) * 40 + noise + bytes(range(255, -1, -1)) * 40
    writer = samples._writer()
    stream = samples._stream(image, {})
    writer.pages[0][samples.NameObject("/Thumb")] = writer._add_object(stream)
    return samples._bytes(writer)


async def test_image_bytes_that_look_like_short_active_names_are_not_refused():
    content = scan_with(b" /JS /XFA (x) ")
    facts = await inspect_pdf(content, max_bytes=10_000_000, max_pages=50, seconds=5)
    assert facts.pages == 1


async def test_a_file_without_its_trailer_is_refused_before_the_parser_runs():
    with pytest.raises(UploadRefused) as refused:
        await inspect_pdf(
            b"%PDF-1.7\n" + b"0" * 2_000_000 + b"\n%%EOF\n",
            max_bytes=10_000_000,
            max_pages=50,
            seconds=5,
        )
    assert refused.value.code == "invalid_pdf"


@pytest.mark.parametrize(
    ("line", "issued"),
    [
        ("Délivrée le 02/03/2027", date(2027, 3, 2)),
        ("Delivree le 2 mars 2027", date(2027, 3, 2)),
        ("Date de début de validité : 2027-03-02", date(2027, 3, 2)),
        ("Fait à Paris, le 1er mars 2027", date(2027, 3, 1)),
    ],
)
def test_the_issue_date_is_read_with_or_without_accents(line: str, issued: date):
    text = f"ATTESTATION DE VIGILANCE\nSIRET : 732 829 320 00074\n{line}\n"
    reading = read_document(URSSAF, text, siren="732829320", today=TODAY)
    assert reading.issued_on == issued and reading.rejection is None


def test_the_security_code_and_the_validity_are_read():
    text = (
        "SIREN 732829320\nCode de securite : 4w0l2x9k3m7p1q8\n"
        "Date de fin de validité : 31/08/2027\nDélivrée le 01/03/2027"
    )
    reading = read_document(URSSAF, text, siren="732829320", today=TODAY, security_code="X")
    assert reading.security_code == "4W0L2X9K3M7P1Q8"
    assert reading.valid_until == date(2027, 8, 31)
    mismatch = [c for c in reading.checks if c["code"] == "security_code"]
    assert mismatch and mismatch[0]["ok"] is False  # the code typed differs from the document's


def test_an_attestation_of_another_company_or_too_old_is_caught():
    with pytest.raises(UploadRefused) as refused:
        read_document(URSSAF, "SIREN : 552100554", siren="732829320", today=TODAY)
    assert refused.value.code == "identity_mismatch" and "552100554" in refused.value.detail
    old = read_document(
        URSSAF, "SIREN : 732829320\nDélivrée le 19/09/2026", siren="732829320", today=TODAY
    )
    assert old.rejection and "six mois" in old.rejection
    # A foreign document is not an URSSAF attestation: no identity rule, no six months.
    other = read_document(
        RequirementType.FOREIGN_SOCIAL_COVER, "Certificat A1", siren=None, today=TODAY
    )
    assert other.rejection is None
