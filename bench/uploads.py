"""What checking an uploaded file costs: each kind read `--rounds` times by `inspect_pdf` (pypdf in
a thread, the caps of UPLOADS__*), the median printed beside its anchor.

    .venv/bin/python bench/uploads.py
    .venv/bin/python bench/uploads.py --rounds 20

Anchor: SHA-256 of the same bytes (what archiving them costs at the least). A hostile file
must cost about what a real one does (refused early: page count, encryption, active content)
or be bounded by the inflation cap (the zip bomb).
"""

import argparse
import asyncio
import hashlib
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.uploads.checks import UploadRefused, inspect_pdf
from tests.uploads import samples


def big_scan() -> bytes:
    """A 9 MB one-page PDF: an image stream of random bytes (a scanned attestation's size)."""
    import io
    import os

    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, NumberObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    image = StreamObject()
    image._data = os.urandom(9_000_000)
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(3000),
            NameObject("/Height"): NumberObject(1000),
            NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    resources = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im0"): writer._add_object(image)})}
    )
    page[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


KINDS = {
    "scanned 9 MB (image stream)": big_scan,
    "attestation (1 page)": lambda: samples.attestation("732829320", issued=date.today()),
    "50 blank pages": lambda: samples.many_pages(50),
    "51 pages (refused)": lambda: samples.many_pages(51),
    "page count lie (refused)": samples.lying_page_count,
    "encrypted (refused)": samples.encrypted,
    "JavaScript (refused)": samples.javascript,
    "inflation bomb 40 MB (refused)": samples.inflation_bomb,
    "10 MB of padding (refused)": lambda: samples.oversized(9_000_000)[:9_999_000] + b"\n%%EOF\n",
}


async def measure(content: bytes, rounds: int) -> tuple[float, float, str]:
    checks, hashes, outcome = [], [], "accepted"
    for _ in range(rounds):
        started = time.perf_counter()
        try:
            await inspect_pdf(content, max_bytes=10_000_000, max_pages=50, seconds=30)
        except UploadRefused as exc:
            outcome = exc.code
        checks.append(time.perf_counter() - started)
        started = time.perf_counter()
        hashlib.sha256(content).hexdigest()
        hashes.append(time.perf_counter() - started)
    return statistics.median(checks) * 1000, statistics.median(hashes) * 1000, outcome


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'file':34} {'bytes':>10} {'check ms':>9} {'sha256 ms':>10}  outcome")
    for name, make in KINDS.items():
        content = make()
        check_ms, hash_ms, outcome = await measure(content, args.rounds)
        print(f"{name:34} {len(content):>10} {check_ms:>9.1f} {hash_ms:>10.2f}  {outcome}")


if __name__ == "__main__":
    asyncio.run(main())
