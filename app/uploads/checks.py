"""What an uploaded file must pass before anything is stored: a real PDF (by its bytes, whatever
its name or declared type), readable, not encrypted, without active content, of a certificate's
size; then, for a vigilance attestation, the company it names and the dates it carries.

The parser is pypdf, run in a thread under a size cap (the body is read at most that deep), a
page cap (the declared page count is read first) and a time cap; its decompression limits are
lowered for the file (a stream that inflates past them is a zip bomb, not a certificate). A thread
cannot be killed: the caps bound what it may still do after its time is up.
"""

import asyncio
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pypdf import PdfReader, apply_configuration
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject
from stdnum.fr import siren as siren_number

from app.compliance.rules import RequirementType
from app.compliance.rules.calendar import add_months
from app.errors import AppError

PDF_MAGIC = b"%PDF-"
MEDIA_TYPE = "application/pdf"
# An attestation inflates to far less; a stream past this is a decompression bomb.
MAX_INFLATED_BYTES = 20_000_000
MAX_OBJECTS = 50_000  # objects walked looking for active content
MAX_TEXT_CHARS = 200_000
# Keys and action types that make a document do something when opened (PDF 32000-1 §12.6,
# §7.11.4 embedded files, §12.7.8 XFA). A certificate needs none of them.
ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/XFA", "/RichMedia", "/EF"}
)
ACTIVE_ACTIONS = frozenset(
    {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE", "/Rendition", "/Sound"}
)
# The long names in the raw bytes too (an object nobody references still counts: a polyglot hides
# there). Not the short ones (/JS, /XFA): 9 MB of a scan's image data hold `/JS` by chance.
_RAW_ACTIVE = re.compile(
    rb"/(?:JavaScript|Launch|EmbeddedFiles?|RichMedia|ImportData)(?![A-Za-z0-9#])"
)
_TRAILING = re.compile(rb"%%EOF[\r\n\s\x00]*\Z")


class UploadRefused(AppError):
    """A file refused before anything is stored (nothing is written)."""

    status_code, code, title = 422, "invalid_upload", "Fichier refusé"


def refuse(code: str, detail: str, status: int = 422) -> UploadRefused:
    error = UploadRefused(detail, code=code)
    error.status_code = status
    return error


def too_large(max_bytes: int) -> UploadRefused:
    megabytes = max_bytes / 1_000_000
    return refuse(
        "file_too_large",
        f"Le fichier dépasse {megabytes:g} Mo : une attestation pèse bien moins. Déposez le PDF "
        "d'origine, sans le numériser à haute résolution.",
        413,
    )


@dataclass
class PdfFacts:
    pages: int
    text: str
    checks: list[dict[str, Any]] = field(default_factory=list)


def _check(code: str, label: str, ok: bool = True, detail: str | None = None) -> dict[str, Any]:
    return {"code": code, "label": label, "ok": ok, **({"detail": detail} if detail else {})}


def sniff(content: bytes, *, max_bytes: int) -> None:
    """The checks on the bytes alone, before the parser sees them."""
    if not content:
        raise refuse("empty_file", "Le fichier est vide.")
    if len(content) > max_bytes:
        raise too_large(max_bytes)
    if not content.startswith(PDF_MAGIC):
        raise refuse(
            "unsupported_media_type",
            "Ce fichier n'est pas un PDF (quel que soit son nom) : déposez l'attestation au "
            "format PDF.",
            415,
        )
    if not _TRAILING.search(content[-4096:]):
        # Truncated, or something glued after the end of the PDF (a polyglot: PDF and ZIP, PDF
        # and HTML…).
        raise refuse(
            "invalid_pdf",
            "Ce PDF est incomplet ou suivi d'autres données : déposez le fichier d'origine.",
        )
    if b"startxref" not in content[-1024:]:
        # A PDF ends with `startxref`, its offset and `%%EOF` (PDF 32000-1 §7.5.5); without them
        # the parser would search the whole file backwards, line by line (seconds for 10 MB).
        raise refuse(
            "invalid_pdf",
            "Ce PDF est incomplet (sa fin manque) : déposez le fichier d'origine.",
        )
    if _RAW_ACTIVE.search(content):
        raise _active()


def _active() -> UploadRefused:
    return refuse(
        "active_content",
        "Ce PDF contient du contenu actif (JavaScript, action de lancement, fichier joint ou "
        "formulaire XFA) : une attestation n'en a pas besoin. Déposez le document d'origine.",
    )


def _walk_for_active(reader: PdfReader) -> None:
    """Every object reachable from the trailer, resolved (names are already unescaped by pypdf,
    so `/J#61vaScript` is `/JavaScript` here; objects in object streams are reached too)."""
    seen: set[int] = set()
    stack: list[Any] = [reader.trailer]
    walked = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum << 16) | item.generation
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        walked += 1
        if walked > MAX_OBJECTS:
            raise refuse("invalid_pdf", "Ce PDF contient trop d'objets pour une attestation.")
        if isinstance(item, DictionaryObject):
            for name, value in item.items():
                if str(name) in ACTIVE_KEYS:
                    raise _active()
                if str(name) == "/S" and str(value) in ACTIVE_ACTIONS:
                    raise _active()
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def read_pdf(content: bytes, *, max_pages: int) -> PdfFacts:
    """Open the file strictly, refuse encryption and active content, read every page's text.
    Runs in a thread (`inspect_pdf`)."""
    checks = [_check("pdf_signature", "Format PDF reconnu (par son contenu)")]
    try:
        with apply_configuration(
            zlib_maximum_output_length=MAX_INFLATED_BYTES,
            lzw_maximum_output_length=MAX_INFLATED_BYTES,
            run_length_maximum_output_length=MAX_INFLATED_BYTES,
            jbig2_maximum_output_length=MAX_INFLATED_BYTES,
            brotli_maximum_output_length=MAX_INFLATED_BYTES,
            maximum_declared_stream_length=MAX_INFLATED_BYTES,
            array_based_stream_maximum_output_length=MAX_INFLATED_BYTES,
        ):
            reader = PdfReader(io.BytesIO(content), strict=True)
            if reader.is_encrypted or "/Encrypt" in reader.trailer:
                raise refuse(
                    "encrypted_pdf",
                    "Ce PDF est chiffré ou protégé par un mot de passe : déposez une version "
                    "sans protection.",
                )
            checks.append(_check("not_encrypted", "Non chiffré"))
            root = reader.trailer["/Root"].get_object()
            tree = root["/Pages"].get_object() if isinstance(root, DictionaryObject) else None
            declared = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
            if not isinstance(declared, int) or not 0 < declared <= max_pages:
                raise _pages(declared, max_pages)
            _walk_for_active(reader)
            checks.append(_check("no_active_content", "Sans contenu actif"))
            pages = reader.pages
            if not 0 < len(pages) <= max_pages:
                raise _pages(len(pages), max_pages)
            texts: list[str] = []
            size = 0
            for page in pages:
                contents = page.get_contents()
                if contents is not None:
                    contents.get_data()  # a cut or corrupt stream fails here
                text = page.extract_text() if size < MAX_TEXT_CHARS else ""
                size += len(text)
                texts.append(text)
            checks.append(_check("readable", f"Lisible ({len(pages)} page(s))"))
            return PdfFacts(len(pages), "\n".join(texts)[:MAX_TEXT_CHARS], checks)
    except UploadRefused:
        raise
    except Exception as exc:
        # Untrusted bytes: whatever the parser chokes on (PdfReadError, KeyError, RecursionError,
        # a decompression limit…) means the file is not a readable document.
        raise refuse(
            "invalid_pdf",
            "Ce PDF ne peut pas être lu (fichier tronqué ou endommagé) : déposez le fichier "
            "d'origine.",
        ) from exc


def _pages(count: object, max_pages: int) -> UploadRefused:
    return refuse(
        "invalid_pdf",
        f"Ce PDF compte {count if isinstance(count, int) else 'un nombre illisible de'} pages : "
        f"une attestation en a au plus {max_pages}.",
    )


# Two checks at most at once per process: a burst of uploads never takes every core.
_SLOTS = asyncio.Semaphore(2)


async def inspect_pdf(
    content: bytes, *, max_bytes: int, max_pages: int, seconds: float
) -> PdfFacts:
    """`sniff` then `read_pdf` off the event loop, abandoned after `seconds`."""
    sniff(content, max_bytes=max_bytes)
    async with _SLOTS:
        try:
            async with asyncio.timeout(seconds):
                return await asyncio.to_thread(read_pdf, content, max_pages=max_pages)
        except TimeoutError:
            raise refuse(
                "invalid_pdf",
                "Ce PDF est trop long à lire pour une attestation : déposez le fichier d'origine.",
            ) from None


# --- what a vigilance attestation says -------------------------------------------------------

ATTESTATION_TYPES = frozenset({RequirementType.URSSAF_VIGILANCE, RequirementType.MSA_VIGILANCE})
_MONTHS = {
    "janvier": 1,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
_DATE = (
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})"  # 12/03/2027
    r"|(\d{4})-(\d{2})-(\d{2})"  # 2027-03-12
    r"|(\d{1,2})(?:er)?\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})"  # 12 mars 2027
)
_ISSUED = re.compile(
    r"(?:delivree?\s+le|date\s+de\s+delivrance|date\s+d.emission|emise?\s+le|etablie?\s+le|"
    r"fait\s+a\s+[a-z' -]{1,40}?,?\s+le|debut\s+de\s+validite|en\s+date\s+du)\s*:?\s*(?:"
    + _DATE
    + ")"
)
_UNTIL = re.compile(
    r"(?:fin\s+de\s+validite|valable\s+jusqu.au|date\s+de\s+fin|expire\s+le)\s*:?\s*(?:"
    + _DATE
    + ")"
)
_CODE = re.compile(
    r"(?:code|identifiant|cle)\s+(?:de\s+)?securite\s*:?\s*([A-Z0-9]{15})(?![A-Z0-9])",
    re.IGNORECASE,
)
_LABELLED_ID = re.compile(r"(?:siren|siret)[^0-9]{0,30}((?:\d[ \u00a0.]?){8,13}\d)")
_ANY_ID = re.compile(r"(?<!\d)(\d{3}[ \u00a0]?\d{3}[ \u00a0]?\d{3}(?:[ \u00a0]?\d{5})?)(?!\d)")


def plain(text: str) -> str:
    """Lower case, accents off, one space between words (labels with or without accents)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", stripped.lower())


def _date_of(groups: tuple[str | None, ...]) -> date | None:
    g = groups
    try:
        if g[0]:
            return date(int(g[2] or 0), int(g[1] or 0), int(g[0]))
        if g[3]:
            return date(int(g[3]), int(g[4] or 0), int(g[5] or 0))
        if g[6]:
            return date(int(g[8] or 0), _MONTHS[g[7] or ""], int(g[6]))
    except ValueError:
        return None
    return None


def _first_date(pattern: re.Pattern[str], text: str) -> date | None:
    for match in pattern.finditer(text):
        found = _date_of(match.groups())
        if found is not None:
            return found
    return None


def identifiers_in(text: str) -> tuple[set[str], set[str]]:
    """SIRENs named after a SIREN/SIRET label, and every valid SIREN/SIRET-shaped number."""
    labelled: set[str] = set()
    for match in _LABELLED_ID.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if len(digits) in (9, 14) and siren_number.is_valid(digits[:9]):
            labelled.add(digits[:9])
    anywhere: set[str] = set()
    for match in _ANY_ID.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if siren_number.is_valid(digits[:9]):
            anywhere.add(digits[:9])
    return labelled, anywhere


@dataclass
class Reading:
    """What Vigie read in the document, and its automatic verdict (None: for an officer)."""

    checks: list[dict[str, Any]]
    extracted: dict[str, Any]
    issued_on: date | None = None
    valid_until: date | None = None
    security_code: str | None = None
    rejection: str | None = None


def read_document(
    requirement: RequirementType,
    text: str,
    *,
    siren: str | None,
    today: date,
    max_age_months: int = 6,
    security_code: str | None = None,
) -> Reading:
    """Identity, dates and security code of the document's text. Raises `identity_mismatch`
    (422) when an URSSAF/MSA attestation is not the supplier's."""
    flat = plain(text)
    labelled, anywhere = identifiers_in(flat)
    checks: list[dict[str, Any]] = []
    attestation = requirement in ATTESTATION_TYPES
    if attestation and siren is not None:
        named = labelled or anywhere
        if siren not in named:
            other = ", ".join(sorted(named)) if named else None
            raise refuse(
                "identity_mismatch",
                (
                    f"Cette attestation concerne le SIREN {other}, pas celui de l'entreprise "
                    f"({siren}) : rien n'a été enregistré."
                    if other
                    else f"Aucun SIREN ni SIRET lisible dans ce document : l'attestation doit "
                    f"porter celui de l'entreprise ({siren}). Rien n'a été enregistré."
                ),
            )
        checks.append(_check("identity", f"SIREN de l'entreprise trouvé ({siren})"))
    elif siren is not None and (labelled or anywhere):
        found = siren in (labelled | anywhere)
        checks.append(
            _check(
                "identity",
                "SIREN de l'entreprise trouvé" if found else "SIREN de l'entreprise non trouvé",
                found,
            )
        )
    issued = _first_date(_ISSUED, flat)
    until = _first_date(_UNTIL, flat)
    code_match = _CODE.search(flat)
    code = code_match.group(1).upper() if code_match else None
    given = (security_code or "").strip().upper() or None
    extracted: dict[str, Any] = {
        "sirens": sorted(labelled or anywhere),
        "issued_on": issued.isoformat() if issued else None,
        "valid_until": until.isoformat() if until else None,
        "security_code": code,
    }
    if given and code and given != code:
        checks.append(
            _check(
                "security_code",
                "Le code de sécurité saisi diffère de celui du document",
                False,
                f"saisi {given}, lu {code}",
            )
        )
    elif code or given:
        checks.append(_check("security_code", f"Code de sécurité : {code or given}"))
    reading = Reading(checks, extracted, issued, until, code or given)
    if issued is not None:
        checks.append(_check("issued_on", f"Date d'émission lue : {issued:%d/%m/%Y}"))
    if until is not None:
        checks.append(_check("valid_until", f"Fin de validité lue : {until:%d/%m/%Y}"))
    if issued is not None and issued > today:
        reading.rejection = (
            f"La date d'émission lue ({issued:%d/%m/%Y}) est dans le futur : le document est "
            "à vérifier par l'émetteur."
        )
    elif until is not None and until < today:
        reading.rejection = f"Le document n'est plus valide depuis le {until:%d/%m/%Y}."
    elif attestation and issued is not None:
        last_day = add_months(issued, max_age_months) - timedelta(days=1)
        if last_day < today:
            reading.rejection = (
                f"L'attestation date du {issued:%d/%m/%Y} : elle a plus de six mois "
                "(code du travail, art. D8222-5, 1°). Déposez une attestation récente."
            )
    if reading.rejection:
        checks.append(_check("dates", reading.rejection, False))
    return reading
