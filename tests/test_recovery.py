"""Crash recovery's rules (tasks.recovery): suspect items redone by halving, poisoned items, saved plans."""

from __future__ import annotations

from datetime import datetime

import pytest

from tasks import recovery
from tasks.models import Progress, Task
from tests.helpers import redo_chunks


def task_at(**kw) -> Task:
    base = dict(id=1, profile="p", kind="export", status="running", trigger="manual", created_at=None,
                scheduled_at=None, started_at=None, finished_at=None, message=None, batch_size=100,
                progress=Progress(1000, 1000), handled_upto=200)
    return Task(**{**base, **kw})


BUSY = datetime(2026, 1, 1)  # a lease_until: the owner held a batch when it was last seen


def test_attempt_after_a_clean_release_is_no_restart():
    a = recovery.next_attempt(task_at(owner=None, attempt_position=201, attempt_end=300), "me", False)
    assert (a.position, a.end, a.restarted, a.died_here, a.restarts) == (201, 300, False, False, 0)


def test_owner_that_died_mid_batch_puts_its_items_under_suspicion():
    t = task_at(owner="dead", lease_until=BUSY, attempt_position=201, attempt_end=300)
    a = recovery.next_attempt(t, "me", True)
    assert a.restarted and a.died_here and a.suspect
    assert a.restarts == 0  # nobody knows which item, if any, was to blame
    assert (a.suspect_until, a.end, a.culprit_until) == (300, 300, 0)  # the whole batch, in a child


def test_owner_that_died_between_batches_is_a_plain_restart():
    a = recovery.next_attempt(task_at(owner="dead", attempt_position=101, attempt_end=200), "me", True)
    assert a.restarted and not a.died_here and a.end == 300 and a.restarts == 0


def test_live_idle_owner_hands_over_silently():
    a = recovery.next_attempt(task_at(owner="alive", attempt_position=101, attempt_end=200), "me", False)
    assert not a.restarted and a.end == 300


def test_suspect_items_count_only_deaths_while_handled_alone():
    t = task_at(owner="me", attempt_position=201, attempt_end=201, restarts=1, suspect_until=300,
                handled_upto=201, culprit_until=201)
    a = recovery.next_attempt(t, "me", False)
    assert (a.position, a.end, a.restarts, a.culprit_until) == (202, 300, 0, 0)
    past = task_at(handled_upto=300, suspect_until=300, attempt_position=300)
    assert recovery.next_attempt(past, "me", False).restarts == 0


def test_the_daemon_dying_while_an_item_is_handled_alone_does_not_count_against_it():
    t = task_at(owner="dead", lease_until=BUSY, attempt_position=250, attempt_end=250, restarts=2,
                suspect_until=300, handled_upto=249, culprit_until=250)
    a = recovery.next_attempt(t, "me", True)
    assert a.died_here and a.restarts == 2 and not a.poisoned and a.end == 250


def test_third_death_of_its_own_process_poisons_an_item():
    t = task_at(owner="me", lease_until=BUSY, attempt_position=250, attempt_end=250, restarts=2,
                suspect_until=300, handled_upto=249, culprit_until=250)
    a = recovery.next_attempt(t, "me", False)
    counted = recovery.crashed(a)
    assert (counted.restarts, counted.culprit_until) == (3, 250)
    assert counted.poisoned and recovery.poisoned_batch(counted, [250])
    assert not recovery.poisoned_batch(counted, [250, 251])


def test_only_suspect_items_can_be_blamed_and_a_chunk_is_halved_not_counted():
    a = recovery.next_attempt(task_at(owner="me", attempt_position=201, attempt_end=300), "me", False)
    with pytest.raises(ValueError):
        recovery.crashed(a)
    chunk = recovery.next_attempt(task_at(owner="me", suspect_until=300, handled_upto=200), "me", False)
    assert (chunk.position, chunk.end) == (201, 300)
    died = recovery.crashed(chunk)
    assert (died.restarts, died.culprit_until) == (0, 300)  # one of 201-300 is to blame, none counted
    assert recovery.chunk_end(201, 300, died.culprit_until, 100) == 250  # its first half next


def test_a_saved_plan_covers_a_batch_that_starts_within_it():
    a = recovery.Attempt(position=205, end=205, restarts=0, suspect_until=300, restarted=False,
                         died_here=False)
    assert recovery.covers(300, a) and recovery.plan_goes_on(300, a)
    assert recovery.covers(205, a) and not recovery.plan_goes_on(205, a)
    assert not recovery.covers(204, a)


def test_own_retry_after_an_error_is_not_counted():
    t = task_at(owner="me", lease_until=BUSY, attempt_position=201, attempt_end=300, restarts=1)
    a = recovery.next_attempt(t, "me", False)
    assert not a.restarted and a.restarts == 1 and a.end == 300


def test_suspect_items_are_redone_by_halving_the_chunk_that_kills_its_process():
    assert redo_chunks(16, set()) == [(1, 16, "done")]  # the daemon died for nothing of the batch's
    assert redo_chunks(16, {11}) == [
        (1, 16, "died"), (1, 8, "done"), (9, 12, "died"), (9, 10, "done"),
        (11, 11, "died"), (11, 11, "died"), (11, 11, "died"), (11, 11, "given up"), (12, 16, "done")]


@pytest.mark.parametrize("poison", [{1}, {500}, {777}, {1000}, {2, 3}, {10, 500, 990}])
def test_a_culprit_in_a_batch_of_1000_costs_about_log2_deaths_and_its_own_three(poison):
    chunks = redo_chunks(1000, poison)
    deaths = [c for c in chunks if c[2] == "died"]
    alone = [c for c in deaths if c[0] == c[1]]
    assert sorted(c[0] for c in chunks if c[2] == "given up") == sorted(poison)
    assert len(alone) == 3 * len(poison)  # each poison item dies three times alone, then is given up
    assert len(deaths) <= len(poison) * (10 + 3)  # log2(1000) < 10 halvings each, plus its own deaths
    done = [p for first, last, how in chunks if how == "done" for p in range(first, last + 1)]
    assert sorted(done) == [p for p in range(1, 1001) if p not in poison]  # every other item once


def test_suspect_items_left_stop_at_the_end_of_the_queue():
    assert recovery.suspect_left(300, 1000, 250) == 50
    assert recovery.suspect_left(300, 1000, 300) == 0
    assert recovery.suspect_left(1100, 1000, 990) == 10  # the interrupted batch was the last one


def test_a_dead_child_is_blamed_only_for_the_chunk_its_claim_holds():
    held = task_at(owner="me", lease_until=BUSY, attempt_position=251, attempt_end=251, restarts=1,
                   suspect_until=300, handled_upto=250, culprit_until=251)
    a = recovery.interrupted(held, "me")
    assert (a.position, a.end, a.restarts, a.suspect, a.culprit_until) == (251, 251, 1, True, 251)
    between = task_at(owner="me", lease_until=None, attempt_position=250, attempt_end=250,
                      suspect_until=300, handled_upto=250)  # it had committed 250, not yet claimed 251
    assert recovery.interrupted(between, "me") is None
    taken = task_at(owner="other", lease_until=BUSY, attempt_position=251, attempt_end=251,
                    suspect_until=300, handled_upto=250)
    assert recovery.interrupted(taken, "me") is None
    plain = task_at(owner="me", lease_until=BUSY, attempt_position=301, attempt_end=400, suspect_until=300,
                    handled_upto=300)
    assert recovery.interrupted(plain, "me") is None  # only a suspect item is ever blamed
