"""Text recognition with Tesseract (Korean and English) through pytesseract.

Tesseract is an optional component: without it the archive runs, readiness reports OCR as
unavailable, and media are marked as not recognised with the reason.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytesseract

from archive.services import imaging


class OcrUnavailable(Exception):
    pass


class OcrFailed(Exception):
    pass


@dataclass
class OcrResult:
    text: str
    confidence: float | None
    pages: list[dict] = field(default_factory=list)


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


def recognise(source: Path, *, command: str, languages: str, psm: int, timeout: int) -> OcrResult:
    """Text of every page, each page's mean confidence, and the mean over all words."""
    reason = problem(command, languages)
    if reason:
        raise OcrUnavailable(reason)
    pytesseract.pytesseract.tesseract_cmd = command
    pages, total, words = [], 0.0, 0
    for number, page in enumerate(imaging.pages(source), start=1):
        try:
            text, tsv = _run_page(page, languages, psm, timeout)
        except RuntimeError as error:  # pytesseract reports its timeout this way
            raise OcrFailed(f"OCR of page {number} took longer than {timeout} s") from error
        except pytesseract.TesseractError as error:
            raise OcrFailed(f"Tesseract failed on page {number}: {error.message}") from error
        confidence, count = _mean_confidence(tsv)
        pages.append({"page": number, "text": text.strip(), "confidence": confidence})
        if confidence is not None:
            total += confidence * count
            words += count
    text = "\n\n".join(page["text"] for page in pages if page["text"])
    return OcrResult(text, round(total / words, 2) if words else None, pages)
