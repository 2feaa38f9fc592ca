"""Coalescing: a burst of one match's updates is sent at most once a window, terminal events
are never delayed.

The Coalescer is tested on its own with a fake clock, then the hub with a fake outbox feed,
a fake renderer and subscribers without sockets (their queues are what a socket would get).
"""

from __future__ import annotations

import re

import pytest

from app.realtime import fragments
from app.realtime.coalescing import Coalescer
from app.realtime.feed import Event
from app.realtime.hub import Hub
from app.realtime.subscriber import Subscriber

T = 7  # the tournament of every event here
ROOM = f"tournament:{T}"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def updated(seq: int, match_id: int = 1, **payload) -> Event:
    return Event(seq, "match_updated", T, {"match_id": match_id, **payload})


def completed(seq: int, match_id: int = 1) -> Event:
    return Event(seq, "match_completed", T, {"match_id": match_id})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def coalescer(clock) -> Coalescer:
    return Coalescer(0.1, clock=clock)


# --- the coalescer -------------------------------------------------------------------------


def test_a_lone_update_is_sent_at_once(coalescer, clock):
    assert [(e.id, seq) for e, seq in coalescer.add(updated(10))] == [(10, 10)]
    clock.now += 0.1
    assert coalescer.due() == []
    assert [e.id for e, _ in coalescer.add(updated(11))] == [11]  # the window was quiet


def test_the_rest_of_a_burst_is_sent_once_with_the_newest(coalescer, clock):
    assert [e.id for e, _ in coalescer.add(updated(10))] == [10]
    clock.now += 0.04
    assert coalescer.add(updated(11)) == []
    clock.now += 0.04
    assert coalescer.add(updated(12)) == []
    assert coalescer.due() == []  # the window is not over yet
    clock.now += 0.03
    [(event, seq)] = coalescer.due()
    assert (event.id, seq) == (12, 12)
    assert coalescer.due() == [] and coalescer.next_deadline() is None
    clock.now += 0.01
    assert coalescer.add(updated(13)) == []  # the burst goes on: at most once a window
    clock.now += 0.1
    assert [e.id for e, _ in coalescer.due()] == [13]


def test_updates_of_different_matches_wait_separately(coalescer, clock):
    for seq, match_id in ((10, 1), (11, 2)):
        assert [e.id for e, _ in coalescer.add(updated(seq, match_id=match_id))] == [seq]
    assert coalescer.add(updated(12, match_id=1)) == []
    assert coalescer.add(updated(13, match_id=2)) == []
    clock.now += 0.1
    assert sorted(e.id for e, _ in coalescer.due()) == [12, 13]


def test_a_completed_match_is_sent_at_once_and_flushes_what_waits(coalescer):
    coalescer.add(updated(9, match_id=2, follow=True))
    coalescer.add(updated(10, match_id=2, follow=True))  # waits: the next match got its entrant
    coalescer.add(updated(11, match_id=1))
    coalescer.add(updated(12, match_id=1))  # waits: a later update of the completed match
    sends = coalescer.add(completed(13, match_id=1))
    # Match 2's waiting update first, then the completion itself; match 1's own waiting
    # update is absorbed: the completion redraws it.
    assert [(e.id, e.payload["match_id"], seq) for e, seq in sends] == [(10, 2, 12), (13, 1, 13)]
    assert coalescer.next_deadline() is None


@pytest.mark.parametrize("kind", ["bracket_updated", "bracket_generated"])
def test_bracket_events_flush_every_waiting_match_of_their_tournament(coalescer, kind):
    for seq, match_id in ((1, 1), (2, 2)):
        coalescer.add(updated(seq, match_id=match_id))
    coalescer.add(updated(10, match_id=1))
    coalescer.add(updated(11, match_id=2))
    coalescer.add(Event(5, "match_updated", T + 1, {"match_id": 9}))  # another tournament
    coalescer.add(Event(12, "match_updated", T + 1, {"match_id": 9}))
    sends = coalescer.add(Event(13, kind, T, {}))
    assert [e.id for e, _ in sends] == [10, 11, 13]
    assert sends[-1][1] == 13
    assert coalescer.next_deadline() is not None  # the other tournament's update still waits


def test_a_marker_never_runs_ahead_of_a_waiting_event(coalescer, clock):
    coalescer.add(updated(9))
    coalescer.add(updated(10))
    [(event, seq)] = coalescer.add(Event(11, "tournament_updated", T, {}))
    assert event.id == 11 and seq == 9  # a socket reconnecting with 9 is replayed event 10
    clock.now += 0.1
    [(event, seq)] = coalescer.due()
    assert (event.id, seq) == (10, 11)  # now everything up to 11 has been sent


def test_a_burst_redraws_the_tournament_page_if_any_update_asked_for_it(coalescer, clock):
    coalescer.add(updated(9, follow=True))
    coalescer.add(updated(10, follow=True))
    coalescer.add(updated(11))
    coalescer.add(updated(12, follow=True))
    clock.now += 0.1
    [(event, _)] = coalescer.due()
    assert event.id == 12 and not event.payload.get("follow")


def test_no_window_sends_every_update_at_once(clock):
    coalescer = Coalescer(0.0, clock=clock)
    assert [e.id for e, _ in coalescer.add(updated(10))] == [10]
    assert [e.id for e, _ in coalescer.add(updated(11))] == [11]


# --- the hub -------------------------------------------------------------------------------


class FakeFeed:
    def __init__(self) -> None:
        self.waiting: list[Event] = []

    def read(self, session, limit):
        events, self.waiting = self.waiting, []
        return events, False


@pytest.fixture
def hub(app, clock, monkeypatch):
    renders: list[int] = []

    def render(event, wanted=None):
        renders.append(event.id)
        return {ROOM: f"<p>{event.type} {event.id}</p>"} if wanted is None or wanted(ROOM) else {}

    monkeypatch.setattr(fragments, "render", render)
    hub = Hub(app)
    hub.feed = FakeFeed()
    hub.coalescer = Coalescer(0.1, clock=clock)
    hub.renders = renders
    return hub


def spectator(hub: Hub) -> Subscriber:
    subscriber = Subscriber(frozenset({ROOM}), frozenset({T}), limit=100)
    hub.rooms.add(subscriber)
    return subscriber


def received(subscriber: Subscriber) -> list[tuple[int, str]]:
    """(marker, fragment) of each message queued for the socket, from its frames."""
    messages = []
    for frame in subscriber.take():
        text = frame[2:].decode() if frame[1] < 126 else frame[4:].decode()
        found = re.match(r'<template data-live-seq="(\d+)"></template>(.*)', text)
        messages.append((int(found.group(1)), found.group(2)))
    return messages


def pump(hub: Hub, *events: Event) -> None:
    hub.feed.waiting.extend(events)
    hub.pump()


def test_hub_sends_a_burst_of_score_changes_twice_first_and_latest(hub, clock):
    watcher = spectator(hub)
    for seq in (21, 22, 23, 24, 25):  # five updates of one match, 20 ms apart
        pump(hub, updated(seq))
        clock.now += 0.02
    assert received(watcher) == [(21, "<p>match_updated 21</p>")]  # the first at once
    clock.now += 0.01
    pump(hub)
    assert received(watcher) == [(25, "<p>match_updated 25</p>")]  # then only the latest
    assert hub.renders == [21, 25]  # two renders for five updates


def test_hub_never_delays_a_completed_match(hub, clock):
    watcher = spectator(hub)
    pump(hub, updated(29, match_id=2, follow=True), updated(30, match_id=2, follow=True),
         updated(31, match_id=1))
    pump(hub, completed(32, match_id=1))  # same instant: no window has ended
    # One frame per pump (30 still waits, so the first marker stays below it), then the
    # completion flushes 30 and goes with it.
    assert received(watcher) == [(29, "<p>match_updated 29</p><p>match_updated 31</p>"),
                                 (32, "<p>match_updated 30</p><p>match_completed 32</p>")]
    clock.now += 1.0
    pump(hub)
    assert received(watcher) == []  # nothing was left waiting


def test_hub_timeout_wakes_it_when_a_window_ends(hub, clock):
    spectator(hub)
    idle = hub._timeout()
    pump(hub, updated(40))
    assert hub._timeout() == idle  # sent at once: nothing waits
    pump(hub, updated(41))
    assert hub._timeout() <= 0.1 < idle


def test_hub_sends_the_events_of_one_read_in_one_frame_marked_with_the_newest(hub):
    """A confirmation commits its match and the next matches it filled: one fan-out."""
    watcher, other = spectator(hub), spectator(hub)
    pump(hub, updated(50, match_id=3, follow=True), updated(51, match_id=4, follow=True),
         completed(52, match_id=1))
    expected = [(52, "<p>match_updated 50</p><p>match_updated 51</p>"
                     "<p>match_completed 52</p>")]
    assert received(watcher) == expected and received(other) == expected
    assert hub.renders == [50, 51, 52]  # each event rendered once, for every socket
