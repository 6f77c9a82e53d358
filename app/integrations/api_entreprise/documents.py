"""Download of a `document_url` at once (links expire: 24 h, CIBTP 10 min), with an SSRF guard.

A document URL comes from upstream's answer, so it is followed only:
- to an allowed host (`default_document_hosts` of the base URL, plus
  `API_ENTREPRISE__DOCUMENT_HOSTS`), redirects included (each hop is checked again, we never let
  httpx follow them blindly);
- in production, only over https and never to a private, loopback, link-local, reserved or
  multicast address (the host is resolved and every address checked);
- never with the bearer token (the storage links are pre-signed);
- size-capped while streaming, and kept only if it is a PDF (`%PDF-` magic bytes) that opens.

Evidence is a document, not bytes that start with `%PDF`: every download is opened strictly with
pypdf and every page read, under a page cap and a time cap, before it may be archived. A file
cut in transit or with a broken cross-reference table is a transient upstream fault
(`DocumentUnreadable`, retried later), never an attestation.
"""

import asyncio
import hashlib
import io
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx
from pypdf import PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import DictionaryObject

from app.integrations.api_entreprise.errors import (
    DocumentHostRefused,
    DocumentRefused,
    DocumentUnavailable,
    DocumentUnreadable,
)
from app.integrations.api_entreprise.outcomes import FetchedDocument

Resolver = Callable[[str, int], Awaitable[list[str]]]
PDF_MAGIC = b"%PDF-"
MAX_REDIRECTS = 3
# An attestation has one to a few pages (the ADEME RGE certificates of the staging data have 6);
# the caps bound the work a hostile or broken file can cost. The thread is not killed at the time
# cap (Python cannot), but the page cap and the size cap bound what it still has to do.
MAX_PDF_PAGES = 50
PDF_READ_SECONDS = 5.0


PRODUCTION_HOST = "entreprise.api.gouv.fr"
STAGING_HOST = "staging.entreprise.api.gouv.fr"
STORAGE_HOST = "storage.entreprise.api.gouv.fr"
# Where the real API hands out its `document_url`s: the storage host (the staging data's default
# answers show `https://storage.entreprise.api.gouv.fr/siade/…`) and `entreprise.api.gouv.fr/files/…`
# (the OpenAPI examples); staging's own test documents live on GitHub (raw.githubusercontent.com).
KNOWN_DOCUMENT_HOSTS: dict[str, frozenset[str]] = {
    PRODUCTION_HOST: frozenset({PRODUCTION_HOST, STORAGE_HOST}),
    STAGING_HOST: frozenset(
        {PRODUCTION_HOST, STORAGE_HOST, STAGING_HOST, "raw.githubusercontent.com"}
    ),
}


def default_document_hosts(base_url: str) -> frozenset[str]:
    """The document hosts allowed without any setting: the base URL's own host, and for the real
    API (production or staging) the hosts it serves documents from."""
    host = httpx.URL(base_url).host.lower()
    return frozenset({host}) | KNOWN_DOCUMENT_HOSTS.get(host, frozenset())


def allowed_document_hosts(base_url: str, extra: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The defaults plus `API_ENTREPRISE__DOCUMENT_HOSTS` (which only ever adds)."""
    return set(default_document_hosts(base_url)) | {h.strip().lower() for h in extra if h.strip()}


async def resolve_host(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


async def check_document_url(
    url: httpx.URL,
    *,
    allowed_hosts: set[str],
    production: bool,
    resolver: Resolver = resolve_host,
) -> None:
    """Raise `DocumentRefused` unless `url` may be fetched."""
    schemes = {"https"} if production else {"http", "https"}
    if url.scheme not in schemes:
        raise DocumentRefused(f"scheme {url.scheme!r} not allowed for documents")
    if url.userinfo:
        raise DocumentRefused("credentials in a document URL")
    host = url.host.lower()
    if host not in allowed_hosts:
        raise DocumentHostRefused(host)
    if not production:
        return
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await resolver(host, port)
    except OSError as exc:
        raise DocumentUnavailable(f"cannot resolve {host!r}") from exc
    if not addresses or not all(_is_public(a) for a in addresses):
        raise DocumentRefused(f"host {host!r} resolves to a non-public address")


def read_pdf(content: bytes, *, max_pages: int) -> int:
    """Open `content` strictly and read every page; return the page count.

    Raise `DocumentUnreadable` if the file does not parse (truncated, garbage xref or trailer,
    corrupt streams, a password we do not have) or has more than `max_pages` pages.
    """
    try:
        reader = PdfReader(io.BytesIO(content), strict=True)
        # The declared /Count first: a page bomb is refused before its page tree is walked.
        root = reader.trailer["/Root"]
        tree = root["/Pages"] if isinstance(root, DictionaryObject) else None
        declared = tree["/Count"] if isinstance(tree, DictionaryObject) else None
        if not isinstance(declared, int) or not 0 < declared <= max_pages:
            raise DocumentUnreadable(f"PDF declares {declared!r} pages (at most {max_pages})")
        pages = reader.pages
        if not 0 < len(pages) <= max_pages:
            raise DocumentUnreadable(f"PDF has {len(pages)} pages (at most {max_pages})")
        for page in pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()  # decodes the streams: a cut or corrupt one fails here
            page.extract_text()
        return len(pages)
    except (DocumentUnreadable, DependencyError):
        raise  # ours, or a missing optional library on our side: not the source's fault
    except Exception as exc:
        # The bytes are untrusted: whatever the parser chokes on (PdfReadError, but also KeyError,
        # ValueError, RecursionError… on hostile input) means the file is not a readable document.
        raise DocumentUnreadable(f"PDF does not open: {type(exc).__name__}: {exc!s:.200}") from exc


async def check_pdf(content: bytes, *, max_pages: int, seconds: float) -> int:
    """`read_pdf` off the event loop, abandoned after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            return await asyncio.to_thread(read_pdf, content, max_pages=max_pages)
    except TimeoutError as exc:
        raise DocumentUnreadable(f"PDF not read within {seconds} s") from exc


async def fetch_document(
    http: httpx.AsyncClient,
    url: str,
    *,
    allowed_hosts: set[str],
    production: bool,
    max_bytes: int,
    read_timeout: float,
    resolver: Resolver = resolve_host,
    max_pages: int = MAX_PDF_PAGES,
    read_pdf_seconds: float = PDF_READ_SECONDS,
) -> FetchedDocument:
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise DocumentRefused("malformed document URL") from exc
    for _ in range(MAX_REDIRECTS + 1):
        await check_document_url(
            current, allowed_hosts=allowed_hosts, production=production, resolver=resolver
        )
        try:
            async with http.stream(
                "GET", current, timeout=read_timeout, follow_redirects=False
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    try:
                        current = current.join(response.headers["location"])
                    except httpx.InvalidURL as exc:
                        raise DocumentRefused("malformed redirect location") from exc
                    continue
                if response.status_code != 200:
                    raise DocumentUnavailable(f"document answered HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise DocumentRefused(f"document larger than {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise DocumentRefused(f"document larger than {max_bytes} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise DocumentUnavailable(f"document download failed: {type(exc).__name__}") from exc
        content = b"".join(chunks)
        if not content.startswith(PDF_MAGIC):
            raise DocumentRefused("document is not a PDF")
        await check_pdf(content, max_pages=max_pages, seconds=read_pdf_seconds)
        return FetchedDocument(
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            media_type="application/pdf",
        )
    raise DocumentRefused("too many redirects")
