"""The librarians' conflict queue: replayed kiosk transactions that could not be applied, and
inventory discrepancies. A librarian closes each, optionally applying the queued transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit
from core.errors import Conflict, RuleViolation
from library.models import Conflict as ConflictItem
from library.services import kiosk_transactions
from library.settings import LibrarySettings


def conflicts_query(*, open_only: bool, kind: str | None = None, kiosk_id: int | None = None):
    stmt = select(ConflictItem)
    if open_only:
        stmt = stmt.where(ConflictItem.resolved_at.is_(None))
    if kind:
        stmt = stmt.where(ConflictItem.kind == kind)
    if kiosk_id:
        stmt = stmt.where(ConflictItem.kiosk_id == kiosk_id)
    return stmt.order_by(ConflictItem.created_at, ConflictItem.id)


def _apply(item: ConflictItem, *, now: datetime, settings: LibrarySettings) -> dict:
    """Apply a queued checkout or return as of when it happened, the librarian vouching for
    the patron (borrowing rules are not checked again; the copy's state still is)."""
    transaction, kind = item.details.get("transaction"), item.details.get("kind")
    if item.kind != "replay" or kind not in kiosk_transactions.KINDS or not transaction:
        raise RuleViolation(
            "Only replayed checkouts and returns can be applied",
            errors={"apply": ["Not a replayed checkout or return."]},
        )
    body, _ = kiosk_transactions.apply_queued(
        item.kiosk,
        kind,
        transaction,
        at=datetime.fromisoformat(transaction["occurred_at"]),
        now=now,
        settings=settings,
        forced=True,
    )
    if kind == "checkout":
        return {"loan_id": body["loan_id"], "due_at": body["due_at"]}
    return {"loan_id": body["loan_id"], "overdue_days": body["overdue_days"]}


def resolve_conflict(
    actor,
    item: ConflictItem,
    resolution: str,
    *,
    now: datetime,
    settings: LibrarySettings,
    apply: bool = False,
):
    """Close a conflict; with ``apply``, first apply the queued transaction it holds."""
    if item.resolved_at is not None:
        raise Conflict("This conflict is already resolved", code="already_resolved")
    applied = _apply(item, now=now, settings=settings) if apply else None
    item.resolved_at, item.resolution = now, resolution.strip()
    item.resolved_by_id = getattr(actor, "id", None)
    audit.record(
        actor,
        "library.conflict.resolve",
        "library_conflict",
        item.id,
        now=now,
        before={"reason": item.reason},
        after={"resolution": item.resolution, "applied": applied},
    )
    return item
