"""document_url downloads: allowed hosts only, https and public addresses only in production,
size cap while streaming, PDF only and a PDF that opens, SHA-256; each refusal tested."""

import hashlib
import io
import re
import time

import httpx
import pytest
from pypdf import PdfReader, PdfWriter

from app.integrations.api_entreprise import OutcomeKind
from app.integrations.api_entreprise import documents as documents_module
from app.integrations.api_entreprise.documents import MAX_PDF_PAGES, fetch_document
from app.integrations.api_entreprise.errors import (
    DocumentRefused,
    DocumentUnavailable,
    DocumentUnreadable,
)
from app.integrations.sandbox.pdf import make_pdf
from tests.integrations.api_entreprise.conftest import BUYER_SIRET, PDF, TOKEN, blank_pdf

HOSTS = {"storage.entreprise.api.gouv.fr", "staging.entreprise.api.gouv.fr", "localhost"}


def resolver_to(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def serving(handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def pdf(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=PDF)


async def fetch(url: str, handler=pdf, *, production=True, resolver=None, max_bytes=1000, **kwargs):
    async with serving(handler) as http:
        return await fetch_document(
            http,
            url,
            allowed_hosts=HOSTS,
            production=production,
            max_bytes=max_bytes,
            read_timeout=12,
            resolver=resolver or resolver_to("145.242.11.10"),
            **kwargs,
        )


async def test_a_pdf_on_an_allowed_host_is_kept_with_its_hash() -> None:
    document = await fetch("https://storage.entreprise.api.gouv.fr/a/b.pdf")
    assert document.content == PDF
    assert document.sha256 == hashlib.sha256(PDF).hexdigest()
    assert document.media_type == "application/pdf"


@pytest.mark.parametrize(
    ("url", "resolver", "reason"),
    [
        ("https://evil.example.com/a.pdf", None, "not an allowed document host"),
        ("http://storage.entreprise.api.gouv.fr/a.pdf", None, "scheme 'http'"),
        ("file:///etc/passwd", None, "scheme 'file'"),
        ("https://user:pw@storage.entreprise.api.gouv.fr/a.pdf", None, "credentials"),
        ("https://localhost/a.pdf", resolver_to("127.0.0.1"), "non-public"),
        ("https://storage.entreprise.api.gouv.fr/a.pdf", resolver_to("10.1.2.3"), "non-public"),
        ("https://storage.entreprise.api.gouv.fr/", resolver_to("169.254.169.254"), "non-public"),
        ("https://storage.entreprise.api.gouv.fr/", resolver_to("::1"), "non-public"),
        ("https://storage.entreprise.api.gouv.fr/", resolver_to("::ffff:192.168.0.1"), "non-pub"),
        ("https://storage.entreprise.api.gouv.fr/", resolver_to("8.8.8.8", "10.0.0.1"), "non-pu"),
    ],
)
async def test_production_refusals(url, resolver, reason) -> None:
    with pytest.raises(DocumentRefused, match=reason):
        await fetch(url, resolver=resolver)


async def test_development_allows_http_and_loopback_on_allowed_hosts() -> None:
    document = await fetch("http://localhost:8001/files/x.pdf", production=False)
    assert document.content == PDF
    with pytest.raises(DocumentRefused, match="not an allowed"):
        await fetch("http://127.0.0.2/x.pdf", production=False)


async def test_redirect_to_a_disallowed_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "storage.entreprise.api.gouv.fr":
            return httpx.Response(302, headers={"Location": "https://metadata.internal/x"})
        return pdf(request)

    with pytest.raises(DocumentRefused, match=r"metadata\.internal"):
        await fetch("https://storage.entreprise.api.gouv.fr/a.pdf", handler)


async def test_redirect_within_allowed_hosts_is_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a.pdf":
            return httpx.Response(302, headers={"Location": "/b.pdf"})
        return pdf(request)

    assert (await fetch("https://storage.entreprise.api.gouv.fr/a.pdf", handler)).content == PDF


async def test_size_cap_by_header_and_while_streaming() -> None:
    big = PDF + b"0" * 5000

    async def stream():
        for i in range(0, len(big), 100):
            yield big[i : i + 100]

    with pytest.raises(DocumentRefused, match="larger"):
        await fetch(
            "https://storage.entreprise.api.gouv.fr/a", lambda r: httpx.Response(200, content=big)
        )
    with pytest.raises(DocumentRefused, match="larger"):
        await fetch(
            "https://storage.entreprise.api.gouv.fr/a",
            lambda r: httpx.Response(200, content=stream()),  # chunked, no Content-Length
        )


async def test_not_a_pdf_is_refused() -> None:
    with pytest.raises(DocumentRefused, match="not a PDF"):
        await fetch(
            "https://storage.entreprise.api.gouv.fr/a.pdf",
            lambda r: httpx.Response(200, content=b"<html>expired</html>"),
        )


async def test_expired_link_or_timeout_is_transient() -> None:
    with pytest.raises(DocumentUnavailable):
        await fetch("https://storage.entreprise.api.gouv.fr/a.pdf", lambda r: httpx.Response(410))

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(DocumentUnavailable):
        await fetch("https://storage.entreprise.api.gouv.fr/a.pdf", hang)


async def test_client_outcomes_for_document_trouble(make_client, staging) -> None:
    path = "/v3/fntp/unites_legales/130025265/carte_professionnelle_travaux_publics"
    body = {
        "data": {"document_url": "https://evil.example.com/x.pdf", "expires_in": 60},
        "links": {},
        "meta": {},
    }
    staging.overrides[path] = lambda _: httpx.Response(200, json=body)
    client = make_client()
    refused = await client.fntp_carte_professionnelle(
        "130025265", recipient=BUYER_SIRET, object="M"
    )
    assert refused.kind is OutcomeKind.BUG and "evil.example.com" in (refused.message or "")
    assert refused.document is None

    body["data"]["document_url"] = "https://raw.githubusercontent.com/x.pdf"
    staging.overrides["/x.pdf"] = lambda _: httpx.Response(503)
    pending = await client.fntp_carte_professionnelle(
        "130025265", recipient=BUYER_SIRET, object="M"
    )
    assert pending.kind is OutcomeKind.PENDING and pending.retry_at is not None


async def test_the_token_is_never_sent_to_the_document_host(make_client, staging) -> None:
    client = make_client()
    await client.urssaf_attestation_vigilance("000000001", recipient=BUYER_SIRET, object="M")
    downloads = [r for r in staging.requests if r.url.host == "raw.githubusercontent.com"]
    assert len(downloads) == 1
    assert "authorization" not in downloads[0].headers
    assert TOKEN not in str(downloads[0].url)


# A one-page attestation with text, as the sandbox serves it: the "real, valid PDF" below.
ATTESTATION = make_pdf(["Attestation de vigilance", "SIREN 000000001"], "Attestation URSSAF")


def _garbage_xref(content: bytes) -> bytes:
    """The same file with every digit of its cross-reference table replaced (same length)."""
    start = content.index(b"\nxref\n") + len(b"\nxref\n")
    end = content.index(b"trailer", start)
    return content[:start] + re.sub(rb"[0-9]", b"Z", content[start:end]) + content[end:]


def _garbage_trailer(content: bytes) -> bytes:
    start = content.index(b"trailer")
    return (
        content[:start]
        + b"trailer\n<< /Size zz /Root 99 0 R >>\n"
        + content[content.index(b"startxref") :]
    )


def _corrupt_content_stream() -> bytes:
    """Structure intact (xref, trailer, page tree), but the compressed page content is damaged."""
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(ATTESTATION)).pages[0])
    writer.pages[0].compress_content_streams()
    out = io.BytesIO()
    writer.write(out)
    content = out.getvalue()
    at = content.index(b"stream\n") + len(b"stream\n") + 5
    return content[:at] + bytes(b ^ 0x5A for b in content[at : at + 10]) + content[at + 10 :]


BROKEN_PDFS = {
    "truncated": ATTESTATION[: len(ATTESTATION) // 2],
    "garbage_xref": _garbage_xref(ATTESTATION),
    "garbage_trailer": _garbage_trailer(ATTESTATION),
    "not_a_pdf_behind_the_magic": b"%PDF-1.7\n<html><body>Lien expire</body></html>\n%%EOF\n",
    "corrupt_content_stream": _corrupt_content_stream(),
    "page_bomb": blank_pdf(MAX_PDF_PAGES + 1),
}
UNREADABLE = "Document PDF illisible ou tronqué reçu de la source"


def test_the_valid_fixtures_do_open() -> None:
    """The broken files are broken copies of files that open: the cases test what they say."""
    assert len(PdfReader(io.BytesIO(ATTESTATION), strict=True).pages) == 1
    assert "Attestation de vigilance" in PdfReader(io.BytesIO(ATTESTATION)).pages[0].extract_text()
    assert len(PdfReader(io.BytesIO(blank_pdf(MAX_PDF_PAGES)), strict=True).pages) == MAX_PDF_PAGES


@pytest.mark.parametrize("content", BROKEN_PDFS.values(), ids=BROKEN_PDFS.keys())
async def test_a_pdf_that_does_not_open_is_unreadable_and_transient(content: bytes) -> None:
    assert content.startswith(b"%PDF-")  # the magic alone would have let each of them through
    with pytest.raises(DocumentUnreadable) as caught:
        await fetch(
            "https://storage.entreprise.api.gouv.fr/a.pdf",
            lambda r: httpx.Response(200, content=content),
            max_bytes=100_000,
        )
    assert isinstance(caught.value, DocumentUnavailable)  # retried, like a timeout or a 503
    assert caught.value.reason == UNREADABLE


@pytest.mark.parametrize(
    "content",
    [PDF, ATTESTATION, blank_pdf(MAX_PDF_PAGES)],
    ids=["blank_page", "attestation", "at_the_page_cap"],
)
async def test_a_pdf_that_opens_is_kept_as_downloaded(content: bytes) -> None:
    document = await fetch(
        "https://storage.entreprise.api.gouv.fr/a.pdf",
        lambda r: httpx.Response(200, content=content),
        max_bytes=100_000,
    )
    assert document.content == content
    assert document.sha256 == hashlib.sha256(content).hexdigest()


async def test_a_pdf_that_takes_too_long_to_read_is_unreadable(monkeypatch) -> None:
    def slow(content: bytes, *, max_pages: int) -> int:
        time.sleep(0.5)
        return 1

    monkeypatch.setattr(documents_module, "read_pdf", slow)
    started = time.monotonic()
    with pytest.raises(DocumentUnreadable, match="not read within"):
        await fetch("https://storage.entreprise.api.gouv.fr/a.pdf", read_pdf_seconds=0.05)
    assert time.monotonic() - started < 0.4  # the event loop did not wait for the thread


@pytest.mark.parametrize("content", BROKEN_PDFS.values(), ids=BROKEN_PDFS.keys())
async def test_client_outcome_for_a_broken_pdf_is_pending_never_delivered(
    make_client, staging, content: bytes
) -> None:
    path = "/v3/fntp/unites_legales/130025265/carte_professionnelle_travaux_publics"
    body = {
        "data": {"document_url": "https://raw.githubusercontent.com/x.pdf", "expires_in": 60},
        "links": {},
        "meta": {},
    }
    staging.overrides[path] = lambda _: httpx.Response(200, json=body)
    staging.overrides["/x.pdf"] = lambda _: httpx.Response(200, content=content)
    outcome = await make_client().fntp_carte_professionnelle(
        "130025265", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.PENDING and outcome.retry_at is not None
    assert outcome.message == UNREADABLE
    assert outcome.document is None


async def test_client_outcome_for_a_valid_pdf_is_delivered_with_the_document(
    make_client, staging
) -> None:
    path = "/v3/fntp/unites_legales/130025265/carte_professionnelle_travaux_publics"
    body = {
        "data": {"document_url": "https://raw.githubusercontent.com/x.pdf", "expires_in": 60},
        "links": {},
        "meta": {},
    }
    staging.overrides[path] = lambda _: httpx.Response(200, json=body)
    staging.overrides["/x.pdf"] = lambda _: httpx.Response(200, content=ATTESTATION)
    outcome = await make_client().fntp_carte_professionnelle(
        "130025265", recipient=BUYER_SIRET, object="M"
    )
    assert outcome.kind is OutcomeKind.DELIVERED
    assert outcome.document is not None and outcome.document.content == ATTESTATION
