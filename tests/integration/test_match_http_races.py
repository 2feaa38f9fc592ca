"""Races on one match through real HTTP: two requests fired at the same moment at a live gunicorn
server (two gevent worker processes, so the two may run in different processes), each race
ending in one outcome, one advancement and one audit row; the loser gets the 409 page that
says the match changed — never a 500.

The server enforces CSRF as in production (BRACKETEER_ENV=test does not turn it off), so each
"browser" opens the page first and posts the form as the page rendered it: its CSRF token and
the match version it showed. Each race is repeated on fresh matches of one bracket, so a wrong
interleaving has several chances to show.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, update

from app.database import write_intent
from app.extensions import db
from app.models import (
    AuditLog,
    Match,
    MatchEvent,
    MatchState,
    OutboxEvent,
    ResultSubmission,
    Status,
    SubmissionStatus,
    User,
    Visibility,
    utcnow,
)
from app.services import match_control as control
from app.services import results
from tests.conftest import LiveServer, start_server
from tests.integration.test_matches import row, side_user, start_bracket
from tests.integration.test_registrations import do
from tests.web.test_realtime import session_cookie

ROUNDS = 5
# How long the sweep waits for the confirm request, per round: from "at once" to "after the
# request reached the server", so either side wins in some round.
SWEEP_DELAYS = (0, 0.001, 0.002, 0.004, 0.01)
ENTRANTS = 16  # 8 first-round matches: enough fresh ones for every round of a race
CHANGED = "This match changed since you opened it"
MATCH_ACTIONS = ("reported", "confirmed", "rejected", "auto_confirmed", "result_entered",
                 "settled", "disputed")


# --- a browser on the live server -------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page by action: the fields each one sends with what the page filled in."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self._open = self.forms.setdefault(named.get("action") or "", {})
        elif tag in ("input", "textarea") and self._open is not None and named.get("name"):
            if named.get("type") not in ("file", "submit"):
                self._open[named["name"]] = named.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


@dataclass
class Response:
    status: int
    location: str
    body: str


def send(server: LiveServer, method: str, path: str, *, cookie: str,
         data: dict[str, str] | None = None,
         connection: http.client.HTTPConnection | None = None) -> tuple[Response, str]:
    """One request; the response and the session cookie the browser holds afterwards."""
    parts = urllib.parse.urlsplit(server.url)
    connection = connection or http.client.HTTPConnection(parts.hostname, parts.port,
                                                          timeout=60)
    headers = {"Cookie": cookie, "Origin": server.url, "Referer": server.url + path}
    body = None
    if data is not None:
        body = urllib.parse.urlencode(data)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read().decode("utf-8", "replace")
        set_cookie = answer.getheader("Set-Cookie")
    finally:
        connection.close()
    if set_cookie and set_cookie.startswith("session="):
        cookie = set_cookie.split(";", 1)[0]
    return Response(answer.status, answer.getheader("Location") or "", text), cookie


class Browser:
    """One signed-in user's browser (one cookie jar, any number of tabs) on the live server."""

    def __init__(self, app, server: LiveServer, user: User) -> None:
        self.server = server
        self.cookie = session_cookie(app, user)

    def open(self, path: str) -> dict[str, dict[str, str]]:
        """Open a page in a new tab: its forms, as a submit button would send them."""
        response, self.cookie = send(self.server, "GET", path, cookie=self.cookie)
        assert response.status == 200, (path, response.status, response.body[:500])
        parser = _Forms()
        parser.feed(response.body)
        return parser.forms

    def submit(self, forms: dict[str, dict[str, str]], action: str,
               typed: dict[str, str] | None = None) -> Callable[[threading.Barrier], Response]:
        """A form of an open tab with `typed` filled in, sent when the barrier opens (the
        connection is made before, so the two requests reach the server together)."""
        assert action in forms, f"no form posting to {action} on the page: {sorted(forms)}"
        unknown = set(typed or {}) - set(forms[action])
        assert not unknown, f"the form has no fields {unknown}: {sorted(forms[action])}"
        data = {**forms[action], **(typed or {})}
        parts = urllib.parse.urlsplit(self.server.url)

        def fire(barrier: threading.Barrier) -> Response:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            connection.connect()
            barrier.wait()
            return send(self.server, "POST", action, cookie=self.cookie, data=data,
                        connection=connection)[0]

        return fire


def in_thread(app, call: Callable[[], object], *,
              delay: float = 0) -> Callable[[threading.Barrier], object]:
    """A service call made in a thread of this process, in its own session, as a writer,
    `delay` seconds after the barrier opens (a request needs a few ms to reach the server)."""

    def fire(barrier: threading.Barrier) -> object:
        with app.app_context(), write_intent():
            barrier.wait()
            time.sleep(delay)
            try:
                value = call()
                db.session.commit()
                return value
            finally:
                db.session.remove()

    return fire


def at_once(*actions: Callable[[threading.Barrier], object]) -> list[object]:
    """Run each action in its own thread, released together; their results (or errors)."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[threading.Barrier], object]) -> None:
        try:
            outcomes[index] = action(barrier)
        except BaseException as error:  # noqa: BLE001 - reported by the assertions
            barrier.abort()
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not any(t.is_alive() for t in threads), "a request did not finish within 90 s"
    db.session.rollback()  # end the test's read snapshot: see what the requests committed
    return outcomes


# --- the server, the bracket, the checks ------------------------------------------------------


@pytest.fixture(scope="module")
def server(settings, app) -> Iterator[LiveServer]:
    """Two gevent worker processes on the test database (and Redis, on the Redis run)."""
    started = start_server(settings, workers=2)
    yield started
    started.stop()


@pytest.fixture
def cup(make_tournament):
    return make_tournament("http-race-cup", status=Status.LIVE, capacity=ENTRANTS,
                           visibility=Visibility.PUBLIC)


@pytest.fixture
def bracket(cup, make_field, organizer):
    made, _ = start_bracket(organizer, cup, ENTRANTS, make_field)
    return made


def act(call: Callable[[], object]) -> object:
    """A service call of the test's own, as a writer (the live server may be writing too)."""
    db.session.commit()
    with write_intent():
        return do(call)


def fresh_matches(bracket) -> list[Match]:
    """First-round matches, one per round of a race."""
    first = [row(bracket, n) for n in range(ENTRANTS // 2)]
    assert all(m.state in (MatchState.SCHEDULED, MatchState.CHECK_IN) for m in first)
    return first[:ROUNDS]


def ready(match: Match) -> Match:
    for side in (0, 1):
        act(lambda s=side: control.check_in(side_user(match, s), match, match.version))
    db.session.refresh(match)
    assert match.state == MatchState.READY
    return match


def reported(match: Match, games=((1, 0),)) -> Match:
    """Both sides checked in, slot a reported `games`: the match waits for slot b."""
    ready(match)
    act(lambda: results.report(side_user(match, 0), match, [list(g) for g in games],
                               match.version))
    db.session.refresh(match)
    assert match.state == MatchState.PENDING_RESULT
    return match


def page(cup, match: Match) -> str:
    return f"/t/{cup.slug}/m/{match.id}"


def control_page(cup, match: Match) -> str:
    return f"/manage/t/{cup.slug}/matches/{match.id}"


def audit_count(match: Match, *actions: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.object_type == "match", AuditLog.object_id == match.id,
        AuditLog.action.in_([f"match.{a}" for a in actions or MATCH_ACTIONS])))


def completed_events(match: Match) -> int:
    rows = db.session.scalars(select(OutboxEvent).where(
        OutboxEvent.tournament_id == match.tournament_id,
        OutboxEvent.type == "match_completed"))
    return sum(1 for r in rows if r.payload.get("match_id") == match.id)


def one_won(outcomes: list[object], match: Match) -> int:
    """Exactly one request went through (303); the other got the 409 page showing the match as
    the winner left it. Returns the winner's index."""
    for outcome in outcomes:
        assert isinstance(outcome, Response), f"a request failed: {outcome!r}"
        assert outcome.status in (303, 409), (outcome.status, outcome.body[:2000])
    statuses = [o.status for o in outcomes]
    assert sorted(statuses) == [303, 409], statuses
    refused(outcomes[statuses.index(409)], match)
    return statuses.index(303)


def refused(response: Response, match: Match) -> None:
    """The loser's page says the match changed and shows its current state, fresh forms."""
    db.session.refresh(match)
    assert CHANGED in response.body, re.sub(r"\s+", " ", response.body)[-2500:]
    assert f'data-version="{match.version}"' in response.body


def advanced_once(bracket, match: Match) -> None:
    """COMPLETED once: one match_completed event, the winner once in the slot it was fed to."""
    db.session.refresh(match)
    assert match.state == MatchState.COMPLETED
    assert match.winner_seed in (match.seed_a, match.seed_b)
    assert completed_events(match) == 1
    following = row(bracket, match.winner_to)
    slots = (following.seed_a, following.seed_b)
    assert slots[match.winner_to_slot] == match.winner_seed
    assert slots.count(match.winner_seed) == 1
    arrivals = db.session.scalar(select(func.count()).select_from(MatchEvent).where(
        MatchEvent.match_id == following.id, MatchEvent.kind == "entrants_known"))
    assert arrivals == (1 if None not in slots else 0)


def submissions(match: Match) -> list[SubmissionStatus]:
    return list(db.session.scalars(select(ResultSubmission.status).where(
        ResultSubmission.match_id == match.id).order_by(ResultSubmission.id)))


# --- the races ------------------------------------------------------------------------------


def test_two_confirmations_from_two_tabs_confirm_once(app, server, cup, bracket):
    for match in fresh_matches(bracket):
        reported(match)
        opponent = Browser(app, server, side_user(match, 1))
        tabs = [opponent.open(page(cup, match)) for _ in range(2)]
        action = page(cup, match) + "/confirm"
        outcomes = at_once(*(opponent.submit(tab, action) for tab in tabs))
        one_won(outcomes, match)
        assert audit_count(match) == 2  # the report and one confirmation
        assert audit_count(match, "confirmed") == 1
        assert submissions(match) == [SubmissionStatus.CONFIRMED]
        advanced_once(bracket, match)


def test_confirm_against_reject_ends_in_one_of_them(app, server, cup, bracket):
    for match in fresh_matches(bracket):
        reported(match)
        opponent = Browser(app, server, side_user(match, 1))
        tabs = [opponent.open(page(cup, match)) for _ in range(2)]
        outcomes = at_once(opponent.submit(tabs[0], page(cup, match) + "/confirm"),
                           opponent.submit(tabs[1], page(cup, match) + "/reject",
                                           {"reject-reason": "That is not the score."}))
        winner = one_won(outcomes, match)
        assert audit_count(match) == 2
        db.session.refresh(match)
        if winner == 0:
            assert audit_count(match, "confirmed") == 1
            assert submissions(match) == [SubmissionStatus.CONFIRMED]
            advanced_once(bracket, match)
        else:
            assert audit_count(match, "rejected") == 1
            assert match.state == MatchState.DISPUTED
            assert submissions(match) == [SubmissionStatus.REJECTED]
            assert completed_events(match) == 0
            following = row(bracket, match.winner_to)
            assert {following.seed_a, following.seed_b} & {match.seed_a, match.seed_b} == set()


def test_staff_entering_a_result_against_the_player_confirming_applies_one(
        app, server, cup, bracket, organizer):
    for match in fresh_matches(bracket):
        reported(match)  # slot a reported 1–0; staff enter 0–1
        opponent = Browser(app, server, side_user(match, 1))
        staff = Browser(app, server, organizer)
        player_tab = opponent.open(page(cup, match))
        staff_tab = staff.open(control_page(cup, match))
        outcomes = at_once(
            opponent.submit(player_tab, page(cup, match) + "/confirm"),
            staff.submit(staff_tab, control_page(cup, match) + "/result",
                         {"result-score_a": "0", "result-score_b": "1",
                          "result-reason": "override"}))
        winner = one_won(outcomes, match)
        assert audit_count(match) == 2
        db.session.refresh(match)
        if winner == 0:
            assert audit_count(match, "confirmed") == 1
            assert (match.score_a, match.score_b, match.winner_seed) == (1, 0, match.seed_a)
            assert submissions(match) == [SubmissionStatus.CONFIRMED]
        else:
            assert audit_count(match, "result_entered") == 1
            assert (match.score_a, match.score_b, match.winner_seed) == (0, 1, match.seed_b)
            assert submissions(match) == [SubmissionStatus.SUPERSEDED,
                                          SubmissionStatus.CONFIRMED]
        advanced_once(bracket, match)


def test_a_double_submitted_report_reports_once(app, server, cup, bracket):
    for match in fresh_matches(bracket):
        ready(match)
        reporter = Browser(app, server, side_user(match, 0))
        tab = reporter.open(page(cup, match))
        action = page(cup, match) + "/report"
        outcomes = at_once(*(reporter.submit(tab, action, {"game-1-a": "2", "game-1-b": "1"})
                             for _ in range(2)))
        one_won(outcomes, match)
        assert audit_count(match) == 1
        assert audit_count(match, "reported") == 1
        assert submissions(match) == [SubmissionStatus.PENDING]
        db.session.refresh(match)
        assert match.state == MatchState.PENDING_RESULT
        following = row(bracket, match.winner_to)
        assert {following.seed_a, following.seed_b} & {match.seed_a, match.seed_b} == set()


def test_confirm_against_the_auto_confirm_at_the_deadline_confirms_once(app, server, cup,
                                                                       bracket):
    for match, delay in zip(fresh_matches(bracket), SWEEP_DELAYS, strict=True):
        reported(match)
        opponent = Browser(app, server, side_user(match, 1))
        tab = opponent.open(page(cup, match))
        with write_intent():
            db.session.execute(update(ResultSubmission).where(
                ResultSubmission.match_id == match.id).values(
                confirm_deadline=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        outcomes = at_once(opponent.submit(tab, page(cup, match) + "/confirm"),
                           in_thread(app, lambda: results.confirm_due(utcnow()), delay=delay))
        response, swept = outcomes
        assert isinstance(response, Response), f"the confirm failed: {response!r}"
        assert swept in (0, 1), f"the sweep failed: {swept!r}"
        assert response.status in (303, 409), (response.status, response.body[:2000])
        assert (response.status == 303) == (swept == 0), (response.status, swept)
        if response.status == 409:
            refused(response, match)
        assert audit_count(match) == 2
        assert audit_count(match, "confirmed", "auto_confirmed") == 1
        status = SubmissionStatus.CONFIRMED if swept == 0 else SubmissionStatus.AUTO_CONFIRMED
        assert submissions(match) == [status]
        advanced_once(bracket, match)
