"""A stateful property test of match operations: random actions by random actors on the three
matches of a 4-entrant single elimination, through the services, with current and stale
versions — and the rules that must hold after every step.

After each action: an accepted one moved its match only along `match_rules.TRANSITIONS` and
touched no other match but the one its result feeds (which had not started); a refused one
(a DomainError) changed nothing at all; no other exception ever escapes. After every step: at
most one waiting report per side, none on a finished match, a COMPLETED match's winner is one
of its two seeds and sits in the slot of the match it feeds, versions only grow.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditLog,
    Match,
    MatchEvent,
    MatchState,
    Notification,
    OutboxEvent,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
    User,
    utcnow,
)
from app.services import brackets, matches, results
from app.services import match_control as control
from app.services.errors import DomainError
from app.services.match_rules import FINISHED, STARTED, TRANSITIONS, Action
from tests.integration.test_bracket_generation import generate
from tests.integration.test_registrations import do

S = MatchState
OTHERS = ("stranger", "elsewhere")
MATCHES = st.sampled_from([0, 1, 0, 1, 2])  # semi-finals 0 and 1 feed the final, 2
# Each action mostly by someone who may take it, sometimes by anyone else.
players = st.sampled_from(("side0", "side1") * 3 + ("organizer", *OTHERS))
staff = st.sampled_from(("organizer",) * 5 + ("side0", "side1", *OTHERS))
versions = st.sampled_from([0] * 8 + [-1, 1])  # mostly the current version; sometimes stale
reasons = st.sampled_from(["Agreed by both captains."] * 3 + ["", "  "])
legal_games = st.sampled_from([
    [(1, 0)], [(0, 1)], [(3, 1)], [(2, 0), (1, 0)], [(0, 2), (3, 1), (0, 1)],
    [(1, 0), (0, 1), (5, 4)]])
any_games = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=4)
games = st.one_of(legal_games, legal_games, any_games)
scores = st.one_of(st.sampled_from([(1, 0), (0, 1), (2, 0), (1, 2), (2, 1), (0, 2)]),
                   st.tuples(st.integers(0, 3), st.integers(0, 3)))
MACHINE_SETTINGS = settings(max_examples=50, stateful_step_count=15, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])


@dataclass
class World:
    """What every example builds on: the organizer, an outsider, fixtures that make a cup."""

    organizer: User
    stranger: User
    make_tournament: Callable
    make_field: Callable
    numbers: itertools.count


@dataclass(frozen=True)
class Row:
    state: MatchState
    version: int
    seeds: tuple[int | None, int | None]
    winner: int | None
    score: tuple[int | None, int | None]


def series(best_of: int, winner: int, close: bool) -> list[tuple[int, int]]:
    """A legal best-of-`best_of` series won by side `winner` (a close one drops games too)."""
    win, loss = ((3, 1), (1, 3)) if winner == 0 else ((1, 3), (3, 1))
    needed = best_of // 2 + 1
    return [win] * (needed - 1) + ([loss] * (needed - 1) if close else []) + [win]


def expected_states(state: MatchState, action: Action) -> set[MatchState]:
    """Where an accepted `action` may take a match in `state` (empty: it must be refused)."""
    if action == Action.CHECK_IN:  # the second side's check-in makes it READY at once
        after = TRANSITIONS.get((state, action))
        return {after, TRANSITIONS[(after, Action.BOTH_CHECKED_IN)]} if after else set()
    if action == Action.REPORT and state == S.PENDING_RESULT:  # the second side reports
        return {TRANSITIONS[(state, Action.CONFIRM)], TRANSITIONS[(state, Action.REJECT)]}
    after = TRANSITIONS.get((state, action))
    return {after} if after else set()


class MatchMachine(RuleBasedStateMachine):
    """One fresh 4-entrant bracket per example, played by random actions."""

    world: World

    def __init__(self) -> None:
        super().__init__()
        db.session.rollback()
        world = self.world
        self.cup = world.make_tournament(f"machine-{next(world.numbers)}", status=Status.LIVE,
                                         capacity=4, best_of=1, best_of_finals=3)
        world.make_field(self.cup, 4, prefix=f"m{self.cup.id}-")
        bracket = generate(world.organizer, self.cup)
        do(lambda: brackets.finalize(world.organizer, self.cup, bracket.version))
        self.bracket_id = bracket.id
        self.versions = {n: r.version for n, r in self.rows().items()}

    # --- reading -----------------------------------------------------------------------------

    def match(self, number: int) -> Match:
        return db.session.scalar(select(Match).where(Match.bracket_id == self.bracket_id,
                                                     Match.number == number)
                                 .execution_options(populate_existing=True))

    def rows(self) -> dict[int, Row]:
        found = db.session.scalars(select(Match).where(Match.bracket_id == self.bracket_id)
                                   .execution_options(populate_existing=True))
        return {m.number: Row(m.state, m.version, (m.seed_a, m.seed_b), m.winner_seed,
                              (m.score_a, m.score_b)) for m in found}

    def snapshot(self) -> tuple:
        """Everything a refused action must leave as it was."""
        counts = tuple(db.session.scalar(select(func.count()).select_from(model))
                       for model in (AuditLog, OutboxEvent, MatchEvent, Notification))
        reports = tuple(db.session.execute(select(
            ResultSubmission.id, ResultSubmission.status, ResultSubmission.confirm_deadline)
            .order_by(ResultSubmission.id)).all())
        status = db.session.scalar(select(Tournament.status).where(
            Tournament.id == self.cup.id))
        return self.rows(), counts, reports, status

    def actor(self, role: str, match: Match) -> User:
        if role in ("side0", "side1"):
            registration = matches.registrations_of(match)[int(role[-1])]
            return registration.user if registration else self.world.stranger
        if role == "elsewhere":  # a player of this cup, but in the other semi-final
            other = self.match(1 if match.number == 0 else 0)
            return matches.registrations_of(other)[0].user
        return self.world.organizer if role == "organizer" else self.world.stranger

    # --- acting --------------------------------------------------------------------------------

    def attempt(self, action: Action, number: int, role: str, shift: int,
                call: Callable[[User, Match, int], object]) -> None:
        """Run one service call as a request would (commit, or roll back a refusal); check what
        it did to every match of the bracket."""
        match = self.match(number)
        actor = self.actor(role, match)
        version = match.version + shift
        before = self.snapshot()
        try:
            call(actor, match, version)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            event(f"refused: {type(error).__name__}")
            assert self.snapshot() == before, f"refused {action} changed something"
            return
        after = self.snapshot()
        old, new = before[0], after[0]
        if old == new:  # accepted as a no-op (a second check-in by the same side)
            assert action == Action.CHECK_IN, f"{action} was accepted and did nothing"
            return
        assert shift == 0, f"{action} with a stale version ({version}) was accepted"
        self.check_moves(action, number, old, new)

    def check_moves(self, action: Action, number: int, old: dict[int, Row],
                    new: dict[int, Row]) -> None:
        allowed = expected_states(old[number].state, action)
        event(f"accepted: {action} {old[number].state} → {new[number].state}")
        assert allowed, f"{action} accepted from {old[number].state}"
        assert new[number].state in allowed, (
            f"{action}: {old[number].state} → {new[number].state}, allowed {allowed}")
        assert new[number].version > old[number].version
        fed = self.match(number).winner_to
        for other, row in new.items():
            if other in (number, fed) or row == old[other]:
                continue
            raise AssertionError(f"{action} on match {number} changed match {other}")
        if fed is not None and new[fed] != old[fed]:
            assert old[fed].state not in STARTED, f"{action} rewrote a started match {fed}"
            assert new[fed].state in (S.PENDING, S.SCHEDULED, S.CHECK_IN, *FINISHED), new[fed]

    # --- the actions ---------------------------------------------------------------------------

    @rule(number=MATCHES, role=players, shift=versions)
    def check_in(self, number, role, shift):
        self.attempt(Action.CHECK_IN, number, role, shift, control.check_in)

    @rule(number=MATCHES, role=players, shift=versions)
    def start(self, number, role, shift):
        self.attempt(Action.START, number, role, shift, control.start)

    @rule(number=MATCHES, role=players, shift=versions, played=games)
    def report(self, number, role, shift, played):
        self.attempt(Action.REPORT, number, role, shift,
                     lambda u, m, v: results.report(u, m, played, v))

    @rule(number=MATCHES, role=players, shift=versions)
    def confirm(self, number, role, shift):
        self.attempt(Action.CONFIRM, number, role, shift, results.confirm)

    @rule(number=MATCHES, role=players, shift=versions, reason=reasons)
    def reject(self, number, role, shift, reason):
        self.attempt(Action.REJECT, number, role, shift,
                     lambda u, m, v: results.reject(u, m, reason, v))

    @rule(number=MATCHES, role=staff, shift=versions, pick=st.integers(-1, 3), score=scores,
          reason=reasons)
    def settle(self, number, role, shift, pick, score, reason):
        def call(actor, match, version):
            if pick < 0:
                return results.settle(actor, match, version, score=score, reason=reason)
            ids = list(db.session.scalars(select(ResultSubmission.id).where(
                ResultSubmission.match_id == match.id).order_by(ResultSubmission.id)))
            chosen = ids[pick] if pick < len(ids) else 10**9
            return results.settle(actor, match, version, submission_id=chosen, reason=reason)

        self.attempt(Action.SETTLE, number, role, shift, call)

    @rule(number=MATCHES, role=staff, shift=versions, score=scores, played=games,
          by_games=st.booleans(), reason=reasons)
    def enter_result(self, number, role, shift, score, played, by_games, reason):
        self.attempt(Action.ENTER_RESULT, number, role, shift,
                     lambda u, m, v: results.enter_result(
                         u, m, v, games=played if by_games else None,
                         score=None if by_games else score, reason=reason))

    @rule(number=MATCHES, role=staff, shift=versions, side=st.sampled_from([0, 1, 2, "both"]),
          reason=reasons)
    def forfeit(self, number, role, shift, side, reason):
        def call(actor, match, version):
            if side == "both":
                return control.double_forfeit(actor, match, reason, version)
            return control.forfeit(actor, match, side, reason, version)

        self.attempt(Action.FORFEIT, number, role, shift, call)

    @rule(number=MATCHES, role=staff, shift=versions, reason=reasons)
    def cancel(self, number, role, shift, reason):
        self.attempt(Action.CANCEL, number, role, shift,
                     lambda u, m, v: control.cancel(u, m, reason, v))

    @rule(number=MATCHES, role=staff, shift=versions, reason=reasons)
    def reset(self, number, role, shift, reason):
        self.attempt(Action.RESET, number, role, shift,
                     lambda u, m, v: control.reset(u, m, reason, v))

    @rule(number=MATCHES, role=staff, shift=versions, score=scores, reason=reasons)
    def correct(self, number, role, shift, score, reason):
        self.attempt(Action.CORRECT, number, role, shift,
                     lambda u, m, v: results.correct(u, m, v, score=score, reason=reason))

    @rule(number=MATCHES, moves=st.integers(1, 5), winner=st.integers(0, 1),
          close=st.booleans(), agree=st.sampled_from([True, True, False]))
    def progress(self, number, moves, winner, close, agree):
        """The next steps a match usually takes, each by the one who takes it (random rules
        alone seldom get a match far enough to dispute, correct or reset it)."""
        for _ in range(moves):
            self.next_step(number, winner, close, agree)
            self.check_all()

    def next_step(self, number: int, winner: int, close: bool, agree: bool) -> None:
        match = self.match(number)
        pending = matches.open_reports(match)
        state, reporter = match.state, pending[0].side if pending else None
        played = series(match.best_of, winner, close)
        if state in (S.SCHEDULED, S.CHECK_IN):
            role = "side1" if match.checked_in_a_at else "side0"
            self.attempt(Action.CHECK_IN, number, role, 0, control.check_in)
        elif state in (S.READY, S.LIVE):
            self.attempt(Action.REPORT, number, f"side{winner}", 0,
                         lambda u, m, v: results.report(u, m, played, v))
        elif state == S.PENDING_RESULT and agree:
            self.attempt(Action.CONFIRM, number, f"side{1 - reporter}", 0, results.confirm)
        elif state == S.PENDING_RESULT:
            self.attempt(Action.REJECT, number, f"side{1 - reporter}", 0,
                         lambda u, m, v: results.reject(u, m, "Not the score.", v))
        elif state == S.DISPUTED:
            self.attempt(Action.SETTLE, number, "organizer", 0,
                         lambda u, m, v: results.settle(u, m, v, games=played))

    @rule(number=MATCHES)
    def deadline_passes(self, number):
        """The confirm deadline of the match's waiting report passes (its job, or the sweep)."""
        match = self.match(number)
        waiting = [r.id for r in matches.open_reports(match)]
        before = self.snapshot()
        done = False
        try:
            for submission_id in waiting:
                done |= results.auto_confirm(submission_id, utcnow() + timedelta(hours=200))
            db.session.commit()
        except DomainError:
            db.session.rollback()
            done = False
        after = self.snapshot()
        if not done:
            assert after == before, "an auto-confirm with nothing to do changed something"
            return
        self.check_moves(Action.AUTO_CONFIRM, number, before[0], after[0])

    # --- after every step ----------------------------------------------------------------------

    def check_all(self) -> None:
        self.reports_are_consistent()
        self.winners_advance()
        self.versions_only_grow()
        self.the_cup_ends_with_its_final()

    @invariant()
    def reports_are_consistent(self):
        rows = db.session.execute(select(Match.number, Match.state, ResultSubmission.side,
                                         ResultSubmission.status)
                                  .join(ResultSubmission, ResultSubmission.match_id == Match.id)
                                  .where(Match.bracket_id == self.bracket_id)).all()
        waiting: dict[tuple[int, int | None], int] = {}
        for number, state, side, status in rows:
            if status == SubmissionStatus.PENDING:
                waiting[(number, side)] = waiting.get((number, side), 0) + 1
                assert state in (S.PENDING_RESULT, S.DISPUTED), (
                    f"a waiting report on match {number}, which is {state}")
                assert side is not None, "a staff entry left waiting"
        assert all(n == 1 for n in waiting.values()), waiting
        for number, row in self.rows().items():
            if row.state == S.PENDING_RESULT:
                assert any(n == number for n, _ in waiting), f"match {number} waits for nothing"

    @invariant()
    def winners_advance(self):
        for number, row in self.rows().items():
            match = self.match(number)
            if row.state == S.COMPLETED:
                assert row.winner is not None and row.winner in row.seeds, (number, row)
            if row.state in (S.COMPLETED, S.FORFEIT) and row.winner and match.winner_to:
                fed = self.match(match.winner_to)
                assert (fed.seed_a, fed.seed_b)[match.winner_to_slot] == row.winner, (
                    f"match {number} won by {row.winner}; match {fed.number} holds "
                    f"{(fed.seed_a, fed.seed_b)}")

    @invariant()
    def versions_only_grow(self):
        for number, row in self.rows().items():
            assert row.version >= self.versions[number], (number, row)
            self.versions[number] = row.version

    @invariant()
    def the_cup_ends_with_its_final(self):
        final = self.rows()[2]
        status = db.session.scalar(select(Tournament.status).where(
            Tournament.id == self.cup.id))
        if final.state == S.COMPLETED:
            assert status == Status.COMPLETED
        if status == Status.COMPLETED:
            assert final.state in FINISHED


def test_random_actions_by_random_actors_keep_the_match_rules(app, make_tournament, make_field,
                                                              organizer, make_user):
    world = World(organizer, make_user("stranger"), make_tournament, make_field,
                  itertools.count())
    machine = type("Machine", (MatchMachine,), {"world": world})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
