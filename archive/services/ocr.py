"""Text recognition with Tesseract (Korean and English) through pytesseract.

Tesseract is an optional component: without it the archive runs, readiness reports OCR as
unavailable, and media are marked as not recognised with the reason.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytesseract

from archive.services import imaging


class OcrFailed(Exception):
    pass


def problem(command: str, languages: str) -> str | None:
    """None when Tesseract and every language needed are installed, else the reason."""
    executable = shutil.which(command)
    if executable is None:
        return f"Tesseract is not installed ({command!r} not found)"
    try:
        listed = subprocess.run(
            [executable, "--list-langs"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return f"Tesseract does not run: {type(error).__name__}"
    installed = {line.strip() for line in listed.splitlines()[1:]}
    missing = [lang for lang in languages.split("+") if lang not in installed]
    if missing:
        return f"Tesseract language data missing: {', '.join(missing)}"
    return None


def _mean_confidence(tsv: str) -> tuple[float | None, int]:
    """Mean word confidence of one page (rows without a word carry -1)."""
    scores = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            continue
        if conf >= 0 and (row.get("text") or "").strip():
            scores.append(conf)
    return (sum(scores) / len(scores) if scores else None), len(scores)


def _run_page(page, languages: str, psm: int, timeout: int) -> tuple[str, str]:
    """One Tesseract run that writes both the plain text and the word table (TSV)."""
    with pytesseract.pytesseract.save(page) as (base, input_filename):
        try:
            pytesseract.pytesseract.run_tesseract(
                input_filename,
                base,
                extension="txt tsv",
                lang=languages,
                config=f"--psm {int(psm)} -c tessedit_create_tsv=1",
                timeout=timeout,
            )
            text = Path(f"{base}.txt").read_text(encoding="utf-8", errors="replace")
            tsv = Path(f"{base}.tsv").read_text(encoding="utf-8", errors="replace")
        finally:
            for extension in ("txt", "tsv"):
                Path(f"{base}.{extension}").unlink(missing_ok=True)
    return text, tsv


def read_pages(
    source: Path, *, start: int = 0, command: str, languages: str, psm: int, timeout: int
) -> Iterator[dict]:
    """Read the pages after the first ``start`` one at a time, each as ``{"page": number,
    "text": ..., "confidence": mean word confidence or None, "words": words counted}``, so
    the caller can keep each page as soon as it is read. Ask ``problem`` first: this takes
    Tesseract and its languages to be installed."""
    pytesseract.pytesseract.tesseract_cmd = command
    for number, page in enumerate(imaging.pages(source, start), start=start + 1):
        try:
            text, tsv = _run_page(page, languages, psm, timeout)
        except RuntimeError as error:  # pytesseract reports its timeout this way
            raise OcrFailed(f"OCR of page {number} took longer than {timeout} s") from error
        except pytesseract.TesseractError as error:
            raise OcrFailed(f"Tesseract failed on page {number}: {error.message}") from error
        confidence, count = _mean_confidence(tsv)
        yield {"page": number, "text": text.strip(), "confidence": confidence, "words": count}


def text_of(pages: list[dict]) -> str:
    """The text of every page, pages apart."""
    return "\n\n".join(page["text"] for page in pages if page["text"])


def confidence_of(pages: list[dict]) -> float | None:
    """The mean confidence over every word of every page."""
    words = sum(page.get("words", 0) for page in pages if page["confidence"] is not None)
    if not words:
        return None
    total = sum(
        page["confidence"] * page.get("words", 0)
        for page in pages
        if page["confidence"] is not None
    )
    return round(total / words, 2)
