"""`flask demo live`: the demo tournaments played forward through the players' services."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import demo_live
from app.database import write_intent
from app.extensions import db
from app.models import (
    AuditLog,
    Bracket,
    Match,
    MatchEvent,
    MatchState,
    OutboxEvent,
    ResultSubmission,
    Status,
    SubmissionStatus,
    Tournament,
)
from app.services import match_progression as progression
from app.services.match_rules import OPEN


@pytest.fixture
def demo(runner):
    loaded = runner.invoke(args=["demo"])
    assert loaded.exit_code == 0, loaded.output


def live(runner, *args: str):
    return runner.invoke(args=["demo", "live", "--pace", "0", *args])


def tournament(slug: str) -> Tournament:
    db.session.rollback()  # see what the command committed
    return db.session.scalar(select(Tournament).where(Tournament.slug == slug))


def timeline_count(t: Tournament, kind: str) -> int:
    return db.session.scalar(select(func.count(MatchEvent.id)).where(
        MatchEvent.tournament_id == t.id, MatchEvent.kind == kind))


def audit_count(t: Tournament, action: str) -> int:
    return db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.tournament_id == t.id, AuditLog.action == action))


def footprint() -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(select(func.count(model.id))) for model in (
        MatchEvent, AuditLog, OutboxEvent, ResultSubmission))


def assert_played_to_a_champion(t: Tournament, output: str) -> None:
    assert t.status == Status.COMPLETED
    champion = progression.champion(t)
    assert champion is not None
    assert output.rstrip().endswith(f"{t.name} is completed (champion: {champion.name}).")
    assert audit_count(t, "tournament.completed") == 1
    assert db.session.scalar(select(func.count(Match.id)).where(
        Match.tournament_id == t.id, Match.state.in_(OPEN))) == 0
    # One staged dispute settled by the organizer, one report confirmed by its deadline.
    for kind in ("rejected", "settled", "auto_confirmed"):
        assert timeline_count(t, kind) == 1, kind
        assert audit_count(t, f"match.{kind}") == 1, kind
    assert timeline_count(t, "disputed") == 0
    assert db.session.scalar(select(func.count(ResultSubmission.id))
                             .join(Match, Match.id == ResultSubmission.match_id)
                             .where(Match.tournament_id == t.id, ResultSubmission.status
                                    == SubmissionStatus.AUTO_CONFIRMED)) == 1


def test_demo_cup_is_played_to_its_champion(runner, demo):
    # A few steps first, as an interrupted run would leave it: the command carries on.
    cup = tournament("demo-cup")
    with write_intent():
        taken = [demo_live.step(cup) for _ in range(3)]
        db.session.commit()
    assert [s.kind for s in taken] == ["reported", "confirmed", "checked_in"]
    result = live(runner, "--until", "complete")
    assert result.exit_code == 0, result.output
    cup = tournament("demo-cup")
    assert_played_to_a_champion(cup, result.output)
    lines = result.output.splitlines()
    assert all(line.startswith("M") for line in lines[:-1])  # one line per action
    assert any(line.endswith("(auto-confirmed: nobody answered before the deadline)")
               for line in lines)
    assert any("(settled by Olivia Organizer)" in line for line in lines)
    # The losers' bracket finalist takes the first grand final, so the reset is played.
    finals = db.session.scalars(select(Match).where(
        Match.tournament_id == cup.id, Match.side == "grand_final").order_by(Match.number))
    assert [m.state for m in finals] == [MatchState.COMPLETED, MatchState.COMPLETED]
    # Every action was its own transaction, published to spectators as it happened.
    assert db.session.scalar(select(func.count(OutboxEvent.id)).where(
        OutboxEvent.tournament_id == cup.id, OutboxEvent.type == "match_completed")) == 63


def test_a_completed_tournament_exits_at_once_and_changes_nothing(runner, demo):
    assert live(runner, "--until", "complete").exit_code == 0
    before = footprint()
    for args in (("--until", "complete"), ()):
        again = live(runner, *args)
        assert again.exit_code == 0, again.output
        assert again.output.startswith("Demo Cup is completed (champion: ")
        assert len(again.output.splitlines()) == 1
    assert footprint() == before


@pytest.mark.parametrize("slug", ["swiss-masters", "group-stage-cup"])
def test_swiss_and_grouped_round_robin_are_played_through_every_stage(runner, demo, slug):
    result = live(runner, "--tournament", slug, "--until", "complete")
    assert result.exit_code == 0, result.output
    t = tournament(slug)
    assert_played_to_a_champion(t, result.output)
    stages = {b.stage: b for b in db.session.scalars(select(Bracket).where(
        Bracket.tournament_id == t.id))}
    if slug == "swiss-masters":  # later rounds were paired as earlier ones finished
        assert db.session.scalar(select(func.max(Match.round)).where(
            Match.tournament_id == t.id)) == stages[1].settings["rounds_planned"] > 1
    else:
        assert set(stages) == {1, 2}
        assert "Groups finished: playoffs generated for the top 6" in result.output
        assert audit_count(t, "bracket.playoffs_generated") == 1


def test_a_bracket_that_is_not_finalized_is_refused(runner, demo):
    before = footprint()
    result = live(runner, "--tournament", "rookie-knockout", "--until", "complete")
    assert result.exit_code != 0
    assert "The bracket of Rookie Knockout is not finalized yet" in result.output
    unknown = live(runner, "--tournament", "no-such-cup")
    assert unknown.exit_code != 0 and "There is no tournament “no-such-cup”" in unknown.output
    assert footprint() == before


def test_until_complete_gives_up_when_nothing_can_be_played(runner, demo, monkeypatch):
    monkeypatch.setattr(demo_live, "step", lambda _tournament: None)
    result = live(runner, "--until", "complete")
    assert result.exit_code != 0
    assert "nothing can be played right now" in result.output
