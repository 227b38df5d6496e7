"""Prices in integer KRW: per person on the rink, per sheet on the curling centre.

Each person gets the single highest discount they qualify for: their price category's, or the
resident discount when the booker is a verified city resident.
"""

from __future__ import annotations

from core.errors import RuleViolation
from facilities.models import CATEGORIES, Rules, Slot


def validate_party(party: dict, rules: Rules) -> int:
    """Check the party's shape and size; return the number of people."""
    unknown = sorted(set(party) - set(CATEGORIES))
    if unknown:
        raise RuleViolation(
            "Unknown price category",
            code="party_invalid",
            errors={"party": [f"Unknown categories: {', '.join(unknown)}"]},
        )
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in party.values()):
        raise RuleViolation(
            "Counts must be whole numbers of 0 or more",
            code="party_invalid",
            errors={"party": ["Counts must be non-negative integers."]},
        )
    size = sum(party.values())
    if not rules.min_party <= size <= rules.max_party:
        raise RuleViolation(
            f"A party has {rules.min_party} to {rules.max_party} people",
            code="party_size",
            errors={"party": [f"Party size must be {rules.min_party}-{rules.max_party}."]},
        )
    return size


def _discounted(base: int, percent: int) -> int:
    return base * (100 - percent) // 100


def quote(
    base_price: int, party: dict, rules: Rules, *, per_person: bool, verified_resident: bool
) -> tuple[int, list[dict]]:
    """The total and its lines for a party (already validated)."""
    resident = rules.resident_discount if verified_resident else 0
    if not per_person:
        unit = _discounted(base_price, resident)
        line = {
            "category": "sheet",
            "count": 1,
            "unit_price": unit,
            "discount_percent": resident,
            "discount_reason": "resident" if resident else None,
            "amount": unit,
        }
        return unit, [line]
    lines, total = [], 0
    for category in CATEGORIES:
        count = party.get(category, 0)
        if not count:
            continue
        by_category = int(rules.category_discounts.get(category, 0))
        percent = max(by_category, resident)
        reason = None
        if percent:
            reason = category if by_category >= resident else "resident"
        unit = _discounted(base_price, percent)
        lines.append(
            {
                "category": category,
                "count": count,
                "unit_price": unit,
                "discount_percent": percent,
                "discount_reason": reason,
                "amount": unit * count,
            }
        )
        total += unit * count
    return total, lines


def for_slot(slot: Slot, party: dict, *, verified_resident: bool) -> tuple[int, list[dict]]:
    """What ``party`` (already validated) pays for ``slot``: per person on a shared rink, per
    sheet on an exclusive one. Every price of a slot comes from here: a booking, a waitlist
    offer, and the quote a resident sees before booking."""
    return quote(
        slot.base_price,
        party,
        slot.facility.rules,
        per_person=not slot.resource.exclusive,
        verified_resident=verified_resident,
    )


def for_programme(prices: dict, category: str) -> int:
    """What one participant of ``category`` pays for a programme's term: the programme's own
    price for that category (set by the manager per price category)."""
    if category not in CATEGORIES or category not in prices:
        offered = ", ".join(c for c in CATEGORIES if c in prices)
        raise RuleViolation(
            "This programme has no price for that category",
            code="category_not_offered",
            errors={"category": [f"Offered: {offered}."]},
        )
    return int(prices[category])
