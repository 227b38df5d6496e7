"""Check-in gates: device keys issued by facility managers, looked up by hash, revocable.

A gate calls with ``Authorization: Gate <key>`` (``GATE``, a core device kind)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit
from core.device_keys import DeviceKind
from core.errors import Conflict, RuleViolation
from core.extensions import db
from core.lookup import get
from core.models import User
from facilities.models import Facility, Gate

GATE = DeviceKind(scheme="Gate", model=Gate)
NAME_LENGTH = 100


def actor_label(gate: Gate) -> str:
    """How a gate appears in the audit trail."""
    return f"gate:{gate.id} {gate.name}"


def _snapshot(gate: Gate) -> dict:
    return {
        "facility_id": gate.facility_id,
        "name": gate.name,
        "revoked": gate.revoked_at is not None,
    }


def create_gate(
    actor: User | str, facility: Facility, name: str, now: datetime
) -> tuple[Gate, str]:
    """A new gate and its key (returned once; only its hash is stored)."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_LENGTH:
        raise RuleViolation(
            "A gate needs a name", errors={"name": [f"1 to {NAME_LENGTH} characters."]}
        )
    raw, key_hash = GATE.new_key()
    gate = Gate(
        facility_id=facility.id,
        name=name,
        key_hash=key_hash,
        created_at=now,
        created_by_id=actor.id if isinstance(actor, User) else None,
    )
    db.session.add(gate)
    db.session.flush()
    audit.record(actor, "gate.create", "gate", gate.id, now=now, after=_snapshot(gate))
    return gate, raw


def list_gates(facility: Facility) -> list[Gate]:
    return db.session.scalars(
        select(Gate).where(Gate.facility_id == facility.id).order_by(Gate.id)
    ).all()


def get_gate(gate_id: int) -> Gate:
    return get(Gate, gate_id)


def revoke(actor: User | str, gate: Gate, now: datetime) -> Gate:
    """The gate's key stops working at once."""
    if gate.revoked_at is not None:
        raise Conflict("This gate is already revoked", code="already_revoked")
    before = _snapshot(gate)
    gate.revoked_at = now
    db.session.flush()
    audit.record(
        actor, "gate.revoke", "gate", gate.id, now=now, before=before, after=_snapshot(gate)
    )
    return gate
