"""The draw procedure on its own: commitment, order, priority groups, second tickets, and the
verification of a published draw (including one that was tampered with)."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from facilities.services import draws
from facilities.services.draws import PublishedApplication as App

SEED = "7f3a9c0e5b12d4468a0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566a"
GROUPS = ["resident", "everyone"]


def _by_the_documentation(seed: str, applications: list[dict], groups: list[str]) -> list[int]:
    """The procedure written again from the module's documentation alone, with hashlib/hmac,
    as a citizen checking a published draw would."""
    key = bytes.fromhex(seed)

    def value(number, tickets):
        return min(
            int(hmac.new(key, f"{number}:{k}".encode(), hashlib.sha256).hexdigest(), 16)
            for k in range(1, tickets + 1)
        )

    ordered = sorted(
        applications,
        key=lambda a: (groups.index(a["group"]), value(a["number"], a["tickets"]), a["number"]),
    )
    return [a["number"] for a in ordered]


def _applications(count=200, *, residents=0.5, second=0.1, rng=None) -> list[App]:
    rng = rng or random.Random(4)
    return [
        App(
            number=1000 + i,
            group="resident" if rng.random() < residents else "everyone",
            tickets=2 if rng.random() < second else 1,
        )
        for i in range(count)
    ]


def test_commitment_is_the_sha256_of_the_seed_text():
    assert draws.commitment(SEED) == hashlib.sha256(SEED.encode("ascii")).hexdigest()
    seed = draws.new_seed()
    assert len(seed) == 64 and int(seed, 16) >= 0
    assert draws.commitment(seed) != draws.commitment(draws.new_seed())


@pytest.mark.parametrize("bad", ["", "abc", SEED.upper(), SEED[:-1] + "g", SEED + "00"])
def test_a_seed_not_in_the_procedures_shape_is_refused(bad):
    with pytest.raises(draws.DrawInputError):
        draws.commitment(bad)


def test_a_published_draw_is_recomputed_from_the_documentation():
    applications = _applications()
    published = draws.draw(SEED, applications, GROUPS)
    assert published == _by_the_documentation(SEED, [a.to_json() for a in applications], GROUPS)
    result = draws.verify(
        seed=SEED,
        published_commitment=draws.commitment(SEED),
        applications=applications,
        groups=GROUPS,
        published_order=published,
    )
    assert result.ok and result.first_difference is None


def test_the_order_does_not_depend_on_how_the_applications_are_listed():
    applications = _applications()
    shuffled = list(applications)
    random.Random(9).shuffle(shuffled)
    assert draws.draw(SEED, shuffled, GROUPS) == draws.draw(SEED, applications, GROUPS)


def test_another_seed_gives_another_order():
    applications = _applications()
    assert draws.draw(SEED, applications, GROUPS) != draws.draw(
        draws.new_seed(), applications, GROUPS
    )


def test_priority_groups_come_first_in_their_order():
    applications = _applications()
    order = draws.draw(SEED, applications, GROUPS)
    group_of = {a.number: a.group for a in applications}
    residents = sum(1 for a in applications if a.group == "resident")
    assert {group_of[n] for n in order[:residents]} == {"resident"}
    assert {group_of[n] for n in order[residents:]} == {"everyone"}
    # With one group everyone is drawn together.
    flat = [App(a.number, "everyone", a.tickets) for a in applications]
    mixed = draws.draw(SEED, flat, ["everyone"])
    assert {group_of[n] for n in mixed[:residents]} == {"resident", "everyone"}


def test_a_second_ticket_is_the_better_of_two_draws():
    # Its value is the smaller of its two tickets' values, by construction...
    assert min(draws.ticket_value(SEED, 5, 1), draws.ticket_value(SEED, 5, 2)) in (
        draws.ticket_value(SEED, 5, 1),
        draws.ticket_value(SEED, 5, 2),
    )
    # ...so over many draws of 2 people for 1 place, the one with two tickets wins about 2/3.
    wins = 0
    for _ in range(3000):
        seed = draws.new_seed()
        order = draws.draw(seed, [App(1, "everyone", 2), App(2, "everyone", 1)], ["everyone"])
        wins += order[0] == 1
    assert 0.62 < wins / 3000 < 0.71


def test_a_tampered_order_is_detected_where_it_differs():
    applications = _applications()
    published = draws.draw(SEED, applications, GROUPS)
    tampered = list(published)
    tampered[3], tampered[40] = tampered[40], tampered[3]
    result = draws.verify(
        seed=SEED,
        published_commitment=draws.commitment(SEED),
        applications=applications,
        groups=GROUPS,
        published_order=tampered,
    )
    assert not result.ok and not result.order_matches
    assert result.first_difference == 3
    assert result.recomputed == published


def test_a_dropped_application_or_another_seed_is_detected():
    applications = _applications()
    published = draws.draw(SEED, applications, GROUPS)
    shortened = draws.verify(
        seed=SEED,
        published_commitment=draws.commitment(SEED),
        applications=applications,
        groups=GROUPS,
        published_order=published[:-1],
    )
    assert not shortened.order_matches and shortened.first_difference == len(published) - 1
    # A seed swapped after the window opened no longer matches the commitment published then.
    other = draws.new_seed()
    swapped = draws.verify(
        seed=other,
        published_commitment=draws.commitment(SEED),
        applications=applications,
        groups=GROUPS,
        published_order=draws.draw(other, applications, GROUPS),
    )
    assert swapped.order_matches and not swapped.commitment_matches and not swapped.ok


def test_inputs_out_of_shape_are_refused():
    with pytest.raises(draws.DrawInputError):
        draws.draw(SEED, [App(1, "martians")], GROUPS)
    with pytest.raises(draws.DrawInputError):
        draws.draw(SEED, [App(1, "resident", 3)], GROUPS)
    with pytest.raises(draws.DrawInputError):
        draws.draw(SEED, [App(1, "resident"), App(1, "everyone")], GROUPS)
    with pytest.raises(draws.DrawInputError):
        App.from_json({"group": "resident"})


def test_the_applications_digest_ignores_listing_order_but_not_content():
    applications = _applications(20)
    digest = draws.applications_digest(applications)
    assert draws.applications_digest(reversed(applications)) == digest
    changed = [
        App(a.number, a.group, 2 if i == 0 else a.tickets) for i, a in enumerate(applications)
    ]
    assert draws.applications_digest(changed) != digest
