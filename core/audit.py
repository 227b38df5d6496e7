"""Append-only audit trail of staff actions: who, what, when, before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.extensions import db
from core.models import AuditLog, User


def record(
    actor: User | str | None,
    action: str,
    target_type: str,
    target_id: object,
    *,
    now: datetime,
    before: dict | None = None,
    after: dict | None = None,
    request_id: str | None = None,
) -> AuditLog:
    """Add one audit entry to the current transaction; it commits (or not) with the change."""
    if isinstance(actor, User):
        actor_id, label = actor.id, actor.email
    else:
        actor_id, label = None, actor or "system"
    entry = AuditLog(
        at=now,
        actor_id=actor_id,
        actor_label=label,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
        request_id=request_id,
    )
    db.session.add(entry)
    return entry


def entries_query(**filters):
    """Audit entries matching ``filters`` (column = value), newest first."""
    return select(AuditLog).filter_by(**filters).order_by(AuditLog.id.desc())
