"""The verifiable draw: a pure procedure, no database, no clock, no randomness but the seed.

Anyone can recompute a published draw from what the service publishes: the seed (revealed
after the draw), the applications as published (number, priority group, tickets) and the
lottery's priority groups in order. The procedure, version ``draw-v1``:

1. **Seed and commitment.** The seed is 32 random bytes written as 64 lowercase hexadecimal
   characters. Before the application window opens the service publishes the commitment:
   the SHA-256 of the seed's 64 characters (as ASCII), in lowercase hexadecimal. Once the
   seed is revealed, anyone checks ``sha256(seed) == commitment``: the seed was fixed before
   anyone applied, so nobody (staff included) could pick a seed that favours an application.
2. **Tickets.** An application has one ticket, or two when it has a second ticket (it lost
   the previous round of the same programme). Ticket ``k`` (1 or 2) of application number
   ``n`` gets the value ``HMAC-SHA256(key = the seed's 32 bytes, message = "n:k" in ASCII)``
   read as a 256-bit big-endian unsigned integer. Without the seed the values cannot be
   foreseen; with it, each is fixed and does not depend on the other applications or on the
   order they are listed in.
3. **Order.** An application's value is the smallest of its tickets' values (two tickets
   in the hat: the first of yours to be drawn places you). Applications are ordered by the
   position of their priority group in the lottery's groups (the first group entirely before
   the second, and so on), then by value, then (never needed in practice) by number.
4. The ordered list of application numbers is the draw: the first ``places`` win, an unpaid
   place goes to the next in this order, and the rest wait in this order.

``verify`` recomputes a published draw and says where it differs, if it does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROCEDURE = "draw-v1"
SEED_BYTES = 32


class DrawInputError(ValueError):
    """The published inputs are not in the procedure's shape (bad seed, unknown group...)."""


@dataclass(frozen=True)
class PublishedApplication:
    """One application as the lottery publishes it after the draw."""

    number: int
    group: str
    tickets: int = 1

    def to_json(self) -> dict:
        return {"number": self.number, "group": self.group, "tickets": self.tickets}

    @classmethod
    def from_json(cls, data: dict) -> PublishedApplication:
        try:
            return cls(int(data["number"]), str(data["group"]), int(data.get("tickets", 1)))
        except (KeyError, TypeError, ValueError) as error:
            raise DrawInputError(f"not an application: {data!r}") from error


def new_seed() -> str:
    """A fresh secret seed: 32 random bytes as 64 lowercase hex characters."""
    return secrets.token_hex(SEED_BYTES)


def _seed_bytes(seed: str) -> bytes:
    if len(seed) != 2 * SEED_BYTES or seed != seed.lower():
        raise DrawInputError("the seed is 64 lowercase hexadecimal characters")
    try:
        return bytes.fromhex(seed)
    except ValueError as error:
        raise DrawInputError("the seed is 64 lowercase hexadecimal characters") from error


def commitment(seed: str) -> str:
    """The SHA-256 of the seed's 64 characters, published before the window opens."""
    _seed_bytes(seed)
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def _value(key: bytes, number: int, ticket: int) -> int:
    message = f"{number}:{ticket}".encode("ascii")
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")


def ticket_value(seed: str, number: int, ticket: int) -> int:
    """Step 2: the value of ticket ``ticket`` of application ``number``."""
    return _value(_seed_bytes(seed), number, ticket)


def draw(
    seed: str, applications: Iterable[PublishedApplication], groups: Sequence[str]
) -> list[int]:
    """The ordered list of application numbers (step 3 above)."""
    key = _seed_bytes(seed)
    rank = {group: position for position, group in enumerate(groups)}
    seen: set[int] = set()
    keyed = []
    for application in applications:
        if application.group not in rank:
            raise DrawInputError(f"application {application.number}: unknown group")
        if application.tickets not in (1, 2):
            raise DrawInputError(f"application {application.number}: 1 or 2 tickets")
        if application.number in seen:
            raise DrawInputError(f"application {application.number} is listed twice")
        seen.add(application.number)
        value = min(_value(key, application.number, k) for k in range(1, application.tickets + 1))
        keyed.append((rank[application.group], value, application.number))
    keyed.sort()
    return [number for _, _, number in keyed]


def applications_digest(applications: Iterable[PublishedApplication]) -> str:
    """SHA-256 of the published applications in canonical JSON (sorted by number), so a copy
    of the list can be compared with the one published at the draw in one line."""
    canonical = sorted((a.to_json() for a in applications), key=lambda a: a["number"])
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Verification:
    commitment_matches: bool
    order_matches: bool
    recomputed: list[int]
    # The first position (0-based) where the published order and the recomputed one differ.
    first_difference: int | None

    @property
    def ok(self) -> bool:
        return self.commitment_matches and self.order_matches


def verify(
    *,
    seed: str,
    published_commitment: str,
    applications: Iterable[PublishedApplication],
    groups: Sequence[str],
    published_order: Sequence[int],
) -> Verification:
    """Recompute a published draw: does the seed match the commitment published before the
    window, and does the published order follow from the seed and the applications?"""
    recomputed = draw(seed, applications, groups)
    published = list(published_order)
    difference = next(
        (i for i, (a, b) in enumerate(zip(recomputed, published, strict=False)) if a != b),
        None,
    )
    if difference is None and len(recomputed) != len(published):
        difference = min(len(recomputed), len(published))
    return Verification(
        commitment_matches=hmac.compare_digest(commitment(seed), published_commitment.lower()),
        order_matches=difference is None,
        recomputed=recomputed,
        first_difference=difference,
    )
