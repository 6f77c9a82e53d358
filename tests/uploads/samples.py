"""Files for the upload tests, made here (pypdf and the sandbox's hand-written PDF): good
attestations and the hostile list of issue 12."""

import io
import zlib
from collections.abc import Callable
from datetime import date

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from app.integrations.sandbox.pdf import make_pdf


def attestation(
    siren: str,
    *,
    issued: date,
    code: str | None = "A1B2C3D4E5F6G7H",
    accents: bool = True,
    title: str = "ATTESTATION DE VIGILANCE",
) -> bytes:
    """An URSSAF-like attestation (labels with or without accents)."""
    e = "é" if accents else "e"
    lines = [
        title,
        "Urssaf Ile-de-France",
        "Entreprise Dupont Batiment",
        f"SIREN : {siren[:3]} {siren[3:6]} {siren[6:9]}",
        f"D{e}livr{e}e le {issued:%d/%m/%Y}",
    ]
    if code:
        lines.append(f"Code de s{e}curit{e} : {code}")
    return make_pdf(lines, title)


def plain_pdf(lines: list[str] | None = None) -> bytes:
    return make_pdf(lines or ["Certificat A1", "Document de test"], "Certificat")


def _writer(base: bytes | None = None) -> PdfWriter:
    return PdfWriter(clone_from=PdfReader(io.BytesIO(base or plain_pdf())))


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(user_password: str = "secret") -> bytes:
    writer = _writer()
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    return _bytes(writer)


def javascript() -> bytes:
    """Document-level JavaScript (the catalog's /Names /JavaScript name tree)."""
    writer = _writer()
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('bonjour');"),
        }
    )
    tree = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(action)])}
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(tree)}
    )
    return _bytes(writer)


def launch_action() -> bytes:
    writer = _writer()
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/Launch"),
            NameObject("/F"): TextStringObject("cmd.exe"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return _bytes(writer)


def embedded_file() -> bytes:
    writer = _writer()
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really")
    return _bytes(writer)


def xfa_form() -> bytes:
    writer = _writer()
    form = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): TextStringObject("<xdp:xdp/>"),
        }
    )
    writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)
    return _bytes(writer)


def page_action_javascript() -> bytes:
    """JavaScript on a page's additional actions (/AA), not in the catalog."""
    writer = _writer()
    js = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): js})
    return _bytes(writer)


def raw_pdf(catalog: bytes, pages: bytes = b"/Kids [3 0 R] /Count 1") -> bytes:
    """A one-page PDF written by hand with its catalog and page tree as given (offsets right)."""
    stream = b"BT /F1 12 Tf 56 780 Td (Document de test) Tj ET\n"
    objects = [
        catalog,
        b"<< /Type /Pages " + pages + b" >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def hex_escaped_javascript() -> bytes:
    """`/J#61vaScript`: the raw bytes hide the name, pypdf's names reveal it."""
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (x) >> >>"
    )


def many_pages(count: int = 51) -> bytes:
    writer = PdfWriter()
    for _ in range(count):
        writer.add_blank_page(width=595, height=842)
    return _bytes(writer)


def lying_page_count() -> bytes:
    return raw_pdf(CATALOG, b"/Kids [3 0 R] /Count 100000")


def zero_pages() -> bytes:
    return raw_pdf(CATALOG, b"/Kids [] /Count 0")


def inflation_bomb() -> bytes:
    """A content stream that inflates to 40 MB from ~40 kB."""
    payload = zlib.compress(b"0 0 m\n" * (40_000_000 // 6), 9)
    writer = _writer()
    page = writer.pages[0]
    stream = writer._add_object(
        _stream(payload, {NameObject("/Filter"): NameObject("/FlateDecode")})
    )
    page[NameObject("/Contents")] = stream
    return _bytes(writer)


def _stream(data: bytes, extra: dict[NameObject, NameObject]) -> StreamObject:
    stream = StreamObject()
    stream._data = data
    stream.update(extra)
    stream[NameObject("/Length")] = NumberObject(len(data))
    return stream


def truncated() -> bytes:
    base = plain_pdf()
    return base[: len(base) // 2] + b"\n%%EOF\n"


def garbage_body() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


def pdf_then_zip() -> bytes:
    """A polyglot: a valid PDF with a ZIP archive glued after its end."""
    return plain_pdf() + b"PK\x03\x04" + b"\x00" * 26 + b"evil.exe" + b"MZ" * 50


def zip_then_pdf() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 26 + plain_pdf()


def html_then_pdf() -> bytes:
    return b"<html><script>alert(1)</script></html>\n" + plain_pdf()


def leading_space_pdf() -> bytes:
    return b"\n" + plain_pdf()


def oversized(max_bytes: int) -> bytes:
    return b"%PDF-1.4\n" + b"0" * (max_bytes + 1_000_000) + b"\n%%EOF\n"


# (name, file name, declared type, bytes maker, expected status, expected code)
Hostile = tuple[str, str, str, Callable[[], bytes], int, str]


def hostile_files(max_bytes: int, other_siren: str, today: date) -> list[Hostile]:
    pdf = "application/pdf"
    return [
        ("zero bytes", "vide.pdf", pdf, lambda: b"", 422, "empty_file"),
        ("11 MB", "gros.pdf", pdf, lambda: oversized(max_bytes), 413, "file_too_large"),
        (
            "renamed Windows executable",
            "attestation.pdf",
            pdf,
            lambda: b"MZ\x90\x00\x03" + b"\x00" * 500,
            415,
            "unsupported_media_type",
        ),
        (
            "renamed ELF executable",
            "attestation.pdf",
            pdf,
            lambda: b"\x7fELF\x02\x01\x01" + b"\x00" * 500,
            415,
            "unsupported_media_type",
        ),
        (
            "HTML page",
            "attestation.pdf",
            pdf,
            lambda: b"<!doctype html><p>attestation</p>",
            415,
            "unsupported_media_type",
        ),
        (
            "SVG with script",
            "attestation.svg",
            "image/svg+xml",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            415,
            "unsupported_media_type",
        ),
        (
            "ZIP archive",
            "attestation.zip",
            "application/zip",
            lambda: b"PK\x03\x04" + b"\x00" * 100,
            415,
            "unsupported_media_type",
        ),
        (
            "PNG image",
            "attestation.png",
            "image/png",
            lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
            415,
            "unsupported_media_type",
        ),
        (
            "plain text",
            "attestation.txt",
            "text/plain",
            lambda: b"ATTESTATION DE VIGILANCE",
            415,
            "unsupported_media_type",
        ),
        (
            "ZIP then PDF polyglot",
            "attestation.pdf",
            pdf,
            zip_then_pdf,
            415,
            "unsupported_media_type",
        ),
        (
            "HTML then PDF polyglot",
            "attestation.pdf",
            pdf,
            html_then_pdf,
            415,
            "unsupported_media_type",
        ),
        (
            "PDF header not first",
            "attestation.pdf",
            pdf,
            leading_space_pdf,
            415,
            "unsupported_media_type",
        ),
        ("PDF then ZIP polyglot", "attestation.pdf", pdf, pdf_then_zip, 422, "invalid_pdf"),
        ("truncated PDF", "attestation.pdf", pdf, truncated, 422, "invalid_pdf"),
        ("garbage after the header", "attestation.pdf", pdf, garbage_body, 422, "invalid_pdf"),
        ("51 pages", "attestation.pdf", pdf, many_pages, 422, "invalid_pdf"),
        ("page count lie", "attestation.pdf", pdf, lying_page_count, 422, "invalid_pdf"),
        ("zero pages", "attestation.pdf", pdf, zero_pages, 422, "invalid_pdf"),
        ("inflation bomb", "attestation.pdf", pdf, inflation_bomb, 422, "invalid_pdf"),
        ("encrypted", "attestation.pdf", pdf, encrypted, 422, "encrypted_pdf"),
        (
            "encrypted, empty password",
            "attestation.pdf",
            pdf,
            lambda: encrypted(""),
            422,
            "encrypted_pdf",
        ),
        ("JavaScript", "attestation.pdf", pdf, javascript, 422, "active_content"),
        (
            "page JavaScript action",
            "attestation.pdf",
            pdf,
            page_action_javascript,
            422,
            "active_content",
        ),
        (
            "hex-escaped JavaScript name",
            "attestation.pdf",
            pdf,
            hex_escaped_javascript,
            422,
            "active_content",
        ),
        ("launch action", "attestation.pdf", pdf, launch_action, 422, "active_content"),
        ("embedded file", "attestation.pdf", pdf, embedded_file, 422, "active_content"),
        ("XFA form", "attestation.pdf", pdf, xfa_form, 422, "active_content"),
        (
            "another company's attestation",
            "attestation.pdf",
            pdf,
            lambda: attestation(other_siren, issued=today),
            422,
            "identity_mismatch",
        ),
        (
            "attestation without SIREN",
            "attestation.pdf",
            pdf,
            lambda: plain_pdf(["ATTESTATION DE VIGILANCE", f"Délivrée le {today:%d/%m/%Y}"]),
            422,
            "identity_mismatch",
        ),
    ]
