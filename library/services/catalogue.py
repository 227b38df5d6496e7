"""Catalogue: titles (ISBN-13, ISBN-10 converted), copies, CSV import, search with
availability per kiosk."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from sqlalchemy import func, or_, select

from core import audit, lookup
from core.errors import Conflict, NotFound, RuleViolation
from core.extensions import db
from library.models import Copy, Kiosk, Loan, Title
from library.services import isbn as isbn_rules
from library.services.locks import lock_copy

IMPORT_COLUMNS = ("isbn", "title", "author", "publisher", "year", "kdc", "barcode")
MAX_IMPORT_ROWS = 5000
MAX_CSV_BYTES = 5 * 1024 * 1024


def normalize_isbn(raw: str, field: str = "isbn") -> str:
    try:
        return isbn_rules.normalize(raw)
    except isbn_rules.InvalidIsbn as error:
        raise RuleViolation(f"Invalid ISBN: {error}", errors={field: [str(error)]}) from error


def title_by_isbn(isbn: str) -> Title | None:
    return db.session.scalar(select(Title).filter_by(isbn=isbn))


def isbn_lookup(raw: str) -> tuple[str, Title | None]:
    """An ISBN as typed (ISBN-10 or ISBN-13, hyphens allowed): its ISBN-13 and the title
    catalogued under it, if any; an invalid ISBN is refused on the ``isbn`` field."""
    isbn = normalize_isbn(raw)
    return isbn, title_by_isbn(isbn)


def create_title(actor, data: dict, *, now: datetime) -> Title:
    isbn = normalize_isbn(data["isbn"])
    existing = title_by_isbn(isbn)
    if existing is not None:
        raise Conflict(
            f"ISBN {isbn} is already catalogued",
            errors={"isbn": ["Already catalogued."]},
            code="isbn_exists",
            title_id=existing.id,
        )
    title = Title(**{**data, "isbn": isbn}, created_at=now)
    db.session.add(title)
    db.session.flush()
    audit.record(actor, "library.title.create", "library_title", title.id, now=now, after=data)
    return title


def update_title(actor, title: Title, changes: dict, *, now: datetime) -> Title:
    if "isbn" in changes:
        changes["isbn"] = normalize_isbn(changes["isbn"])
        other = title_by_isbn(changes["isbn"])
        if other is not None and other.id != title.id:
            raise Conflict(
                "Another title has this ISBN",
                errors={"isbn": ["Already catalogued."]},
                code="isbn_exists",
            )
    before = {key: getattr(title, key) for key in changes}
    for key, value in changes.items():
        setattr(title, key, value)
    db.session.flush()
    audit.record(
        actor,
        "library.title.update",
        "library_title",
        title.id,
        now=now,
        before=before,
        after=changes,
    )
    return title


def delete_title(actor, title: Title, *, now: datetime) -> None:
    if db.session.scalar(select(func.count()).select_from(Copy).filter_by(title_id=title.id)):
        raise Conflict("Withdraw and delete the copies first", code="title_has_copies")
    audit.record(
        actor,
        "library.title.delete",
        "library_title",
        title.id,
        now=now,
        before={"isbn": title.isbn, "title": title.title},
    )
    db.session.delete(title)
    db.session.flush()


def copy_by_barcode(barcode: str, field: str = "barcode") -> Copy:
    copy = db.session.scalar(select(Copy).filter_by(barcode=barcode.strip()))
    if copy is None:
        raise NotFound(
            f"No copy with barcode {barcode}",
            errors={field: ["Unknown barcode."]},
            code="unknown_barcode",
        )
    return copy


def copies_query(filters: dict):
    """Copies matching the given columns (title_id, kiosk_id, status, barcode), by id."""
    return select(Copy).filter_by(**filters).order_by(Copy.id)


def create_copy(actor, title: Title, barcode: str, *, now: datetime) -> Copy:
    barcode = barcode.strip()
    if db.session.scalar(select(Copy).filter_by(barcode=barcode)) is not None:
        raise Conflict(
            f"Barcode {barcode} is in use",
            errors={"barcode": ["Already in use."]},
            code="barcode_exists",
        )
    copy = Copy(
        barcode=barcode, title_id=title.id, status="available", changed_at=now, created_at=now
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(
        actor,
        "library.copy.create",
        "library_copy",
        copy.id,
        now=now,
        after={"barcode": barcode, "title_id": title.id},
    )
    return copy


# What librarians may set directly; lending states change only through loans and holds.
MANUAL_TRANSITIONS = {
    "available": {"lost", "withdrawn"},
    "lost": {"available", "withdrawn"},
    "withdrawn": {"available"},
    "on_loan": {"lost"},
}


def set_copy_status(actor, copy: Copy, status: str, *, now: datetime) -> Copy:
    copy = lock_copy(copy.id)
    if status == copy.status:
        return copy
    if status not in MANUAL_TRANSITIONS.get(copy.status, set()):
        raise Conflict(
            f"A copy that is {copy.status} cannot be set to {status} by hand"
            + ("; unload it first" if copy.kiosk_id else ""),
            errors={"status": [f"Not allowed from {copy.status}."]},
            code="status_change_refused",
        )
    before = {"status": copy.status}
    if copy.status == "on_loan":  # lost while on loan: close the loan, the patron keeps it
        loan = db.session.scalar(select(Loan).where(Loan.active_copy_id == copy.id))
        if loan is not None:
            loan.returned_at, loan.active_copy_id = now, None
    copy.status, copy.changed_at = status, now
    db.session.flush()
    audit.record(
        actor,
        "library.copy.status",
        "library_copy",
        copy.id,
        now=now,
        before=before,
        after={"status": status},
    )
    return copy


def search_titles(q: str | None):
    stmt = select(Title)
    if q:
        pattern = f"%{q.strip().lower()}%"
        digits = q.replace("-", "").strip()
        stmt = stmt.where(
            or_(
                func.lower(Title.title).like(pattern),
                func.lower(Title.author).like(pattern),
                Title.isbn == digits,
            )
        )
    return stmt.order_by(Title.title, Title.id)


def availability(title_ids: list[int]) -> dict[int, dict]:
    """Per title: copies free to borrow in each kiosk, on the library shelf, and in total."""
    result = {tid: {"kiosks": [], "at_library": 0, "total": 0} for tid in title_ids}
    if not title_ids:
        return result
    rows = db.session.execute(
        select(Copy.title_id, Copy.status, Copy.kiosk_id, func.count())
        .where(Copy.title_id.in_(title_ids), Copy.status.not_in(("lost", "withdrawn")))
        .group_by(Copy.title_id, Copy.status, Copy.kiosk_id)
    )
    kiosk_counts: dict[tuple[int, int], int] = {}
    for title_id, status, kiosk_id, count in rows:
        result[title_id]["total"] += count
        if status == "in_kiosk":
            kiosk_counts[(title_id, kiosk_id)] = count
        elif status == "available":
            result[title_id]["at_library"] += count
    kiosks = {
        k.id: k
        for k in db.session.scalars(
            select(Kiosk).where(Kiosk.id.in_({kid for _, kid in kiosk_counts}))
        )
    }
    for (title_id, kiosk_id), count in sorted(kiosk_counts.items()):
        kiosk = kiosks[kiosk_id]
        result[title_id]["kiosks"].append(
            {"kiosk_id": kiosk.id, "code": kiosk.code, "name": kiosk.name, "available": count}
        )
    return result


def search_catalogue(q: str | None, *, offset: int, limit: int) -> tuple[int, list[dict]]:
    """One page of a catalogue search (``search_titles``), each title with its availability,
    and how many titles match in all: what every door's result list shows."""
    stmt = search_titles(q)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return total, describe_titles(db.session.scalars(stmt.offset(offset).limit(limit)))


def describe_title(title_id: int) -> dict:
    """One title with its availability, or a 404."""
    return describe_titles([lookup.get(Title, title_id)])[0]


def describe_titles(titles) -> list[dict]:
    """Titles with their availability, counted for all of them at once."""
    titles = list(titles)
    counts = availability([t.id for t in titles])
    return [
        {
            "id": t.id,
            "isbn": t.isbn,
            "title": t.title,
            "author": t.author,
            "publisher": t.publisher,
            "year": t.year,
            "kdc": t.kdc,
            "availability": counts[t.id],
        }
        for t in titles
    ]


LIMITS = {"title": 300, "author": 200, "publisher": 200}
KDC = re.compile(r"^[0-9]{3}(\.[0-9]{1,6})?$")
BARCODE = re.compile(r"^[A-Za-z0-9-]{3,40}$")


def _row_problem(row: dict) -> str | None:
    if not row.get("title") or not row.get("author"):
        return "title and author are required"
    for field, limit in LIMITS.items():
        if len(row.get(field) or "") > limit:
            return f"{field}: longer than {limit} characters"
    year = row.get("year")
    if year and not (year.isdigit() and 1000 <= int(year) <= 2100):
        return "year: not a year"
    if row.get("kdc") and not KDC.match(row["kdc"]):
        return "kdc: a KDC class like 813.7"
    if row.get("barcode") and not BARCODE.match(row["barcode"]):
        return "barcode: 3 to 40 letters, digits or '-'"
    return None


def import_csv_file(actor, upload, *, now: datetime) -> dict:
    """An uploaded CSV file (anything with ``read(size)`` giving bytes): at most 5 MB of UTF-8,
    then ``import_csv``."""
    if upload is None:
        raise RuleViolation(
            "Upload the CSV as the multipart field 'file'", errors={"file": ["Missing."]}
        )
    raw = upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise RuleViolation("The CSV is too large", errors={"file": ["At most 5 MB."]})
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RuleViolation("The CSV must be UTF-8", errors={"file": ["Not UTF-8."]}) from error
    return import_csv(actor, text, now=now)


def import_csv(actor, text: str, *, now: datetime) -> dict:
    """Rows of isbn,title,author,publisher,year,kdc[,barcode]: new titles are created, known
    ISBNs reused, and a barcode adds a copy. All or nothing: any bad row refuses the file."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("isbn", "title", "author") if c not in header]
    if missing:
        raise RuleViolation(
            "The CSV header lacks required columns",
            errors={"file": [f"Missing columns: {', '.join(missing)}"]},
        )
    unknown = [c for c in header if c not in IMPORT_COLUMNS]
    if unknown:
        raise RuleViolation(
            "The CSV header has unknown columns",
            errors={"file": [f"Unknown columns: {', '.join(unknown)}"]},
        )
    reader.fieldnames = header
    problems: dict[str, list[str]] = {}
    created_titles = created_copies = 0
    seen_barcodes: set[str] = set()
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            raise RuleViolation(
                f"At most {MAX_IMPORT_ROWS} rows per file", errors={"file": ["Too many rows."]}
            )
        row = {k: (v or "").strip() for k, v in row.items() if k}
        line = f"line {number}"
        try:
            isbn = isbn_rules.normalize(row["isbn"])
        except isbn_rules.InvalidIsbn as error:
            problems[line] = [f"isbn: {error}"]
            continue
        problem = _row_problem(row)
        if problem:
            problems[line] = [problem]
            continue
        year = row.get("year") or None
        title = title_by_isbn(isbn)
        if title is None:
            title = Title(
                isbn=isbn,
                title=row["title"],
                author=row["author"],
                publisher=(row.get("publisher") or None),
                year=int(year) if year else None,
                kdc=row.get("kdc") or None,
                created_at=now,
            )
            db.session.add(title)
            db.session.flush()
            created_titles += 1
        barcode = row.get("barcode")
        if barcode:
            taken = db.session.scalar(select(Copy.id).filter_by(barcode=barcode))
            if taken is not None or barcode in seen_barcodes:
                problems[line] = [f"barcode: {barcode} is already in use"]
                continue
            seen_barcodes.add(barcode)
            db.session.add(
                Copy(
                    barcode=barcode,
                    title_id=title.id,
                    status="available",
                    changed_at=now,
                    created_at=now,
                )
            )
            created_copies += 1
    if problems:
        raise RuleViolation("The CSV has bad rows; nothing was imported", errors=problems)
    db.session.flush()
    audit.record(
        actor,
        "library.catalogue.import",
        "library_title",
        "csv",
        now=now,
        after={"titles": created_titles, "copies": created_copies},
    )
    return {"titles_created": created_titles, "copies_created": created_copies}
