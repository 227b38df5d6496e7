"""Check-in gates: device keys issued by facility managers, looked up by hash, revocable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core import audit
from core.errors import Conflict, NotFound, RuleViolation, Unauthorized
from core.extensions import db
from core.models import User
from core.security import new_token, token_hash
from facilities.models import Facility, Gate
from facilities.services.ids import lookup

CHALLENGE = {"WWW-Authenticate": 'Gate realm="happyhub"'}
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
    raw = new_token()
    gate = Gate(
        facility_id=facility.id,
        name=name,
        key_hash=token_hash(raw),
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
    gate = lookup(Gate, gate_id)
    if gate is None:
        raise NotFound(f"Gate {gate_id} not found")
    return gate


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


def gate_by_key(raw_key: str) -> Gate:
    gate = db.session.scalar(select(Gate).filter_by(key_hash=token_hash(raw_key)))
    if gate is None or gate.revoked_at is not None:
        raise Unauthorized(
            "The gate key is invalid or revoked", code="invalid_gate_key", headers=CHALLENGE
        )
    return gate
