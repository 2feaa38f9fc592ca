"""Generating, regenerating and finalizing brackets against the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, update

from app.brackets.play import Play
from app.extensions import db
from app.models import (
    AuditLog,
    Bracket,
    BracketEntrant,
    Format,
    GrandFinal,
    Match,
    MatchState,
    OutboxEvent,
    RegistrationStatus,
    SeedingMethod,
    Separation,
    Status,
    Team,
    TeamMember,
)
from app.services import bracket_rows, brackets, seeding, stages
from app.services.brackets import Options
from app.services.errors import Conflict, IllegalTransition, Invalid
from tests.concurrency import concurrently
from tests.conftest import save
from tests.integration.test_registrations import do


@pytest.fixture
def cup(make_tournament):
    return make_tournament("bracket-cup", status=Status.CHECK_IN, capacity=64)


def generate(organizer, tournament, **options):
    version = brackets.version_of(tournament)
    return do(lambda: brackets.generate(organizer, tournament, Options(**options), version))


def seeds_of(bracket: Bracket) -> list[int]:
    """Registration ids in seed order."""
    db.session.refresh(bracket)
    return [e.registration_id for e in bracket.seeds]


def test_only_confirmed_checked_in_entrants_are_seeded_and_the_rest_are_explained(
        cup, make_field, organizer):
    seeded = make_field(cup, 5)
    late = make_field(cup, 1, checked_in=False, prefix="late")
    unpaid = make_field(cup, 1, status=RegistrationStatus.PENDING_PAYMENT, checked_in=False,
                        prefix="unpaid")
    gone = make_field(cup, 1, status=RegistrationStatus.WITHDRAWN, prefix="gone")
    waiting = make_field(cup, 1, status=RegistrationStatus.WAITLISTED, checked_in=False,
                         prefix="wait")
    bracket = generate(organizer, cup)
    assert seeds_of(bracket) == [r.id for r in seeded]
    reasons = {e["registration_id"]: e["reason"] for e in bracket.excluded}
    assert reasons == {late[0].id: "did not check in", unpaid[0].id: "entry fee not paid",
                       gone[0].id: "withdrew", waiting[0].id: "on the waitlist"}


def test_generation_persists_the_engine_bracket_with_links_and_byes(cup, make_field,
                                                                    organizer):
    cup.format, cup.grand_final = Format.DOUBLE_ELIMINATION, GrandFinal.RESET
    save(cup)
    make_field(cup, 6)
    bracket = generate(organizer, cup)
    structure, play, rows = bracket_rows.load(bracket)
    reference = Play(brackets.structure_for("double_elimination", 6, bracket.settings))
    assert reference.bracket.grand_final == GrandFinal.RESET
    assert len(rows) == len(reference.bracket.matches) == len(structure.matches)
    assert structure.matches == reference.bracket.matches  # sources, links, best-of, reset
    assert [s.slots for s in play.states] == [s.slots for s in reference.states]
    assert [s.status for s in play.states] == [s.status for s in reference.states]
    # Seeds 1 and 2 have byes: their first matches completed at generation, and they wait in
    # round 2 already.
    byes = [r for r in rows if r.outcome == "bye"]
    assert sorted(r.winner_seed for r in byes if r.side == "winners") == [1, 2]
    # The match state starts from the engine's: byes are done, known pairs scheduled.
    expected_state = {"completed": MatchState.COMPLETED, "ready": MatchState.SCHEDULED,
                      "waiting": MatchState.PENDING, "locked": MatchState.PENDING}
    assert all(r.state == expected_state[r.status] for r in rows)


def test_a_bracket_needs_two_entrants_and_an_open_tournament(cup, make_field, organizer,
                                                             make_tournament):
    make_field(cup, 1)
    with pytest.raises(Invalid, match="at least 2"):
        generate(organizer, cup)
    draft = make_tournament("draft-cup", status=Status.DRAFT)
    with pytest.raises(IllegalTransition, match="draft"):
        generate(organizer, draft)
    assert db.session.scalar(select(func.count()).select_from(Bracket)) == 0


def test_regenerating_replaces_the_bracket_until_a_match_has_a_result(cup, make_field,
                                                                      organizer):
    make_field(cup, 8)
    first = generate(organizer, cup)
    first_id = first.id
    second = generate(organizer, cup, seeding=SeedingMethod.RANDOM)
    assert second.version == 2
    assert db.session.get(Bracket, first_id) is None or first_id == second.id
    assert db.session.scalar(select(func.count()).select_from(Bracket)) == 1
    assert db.session.scalar(select(func.count()).select_from(Match)) == 7
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("bracket.%")).order_by(AuditLog.id)).all()
    assert actions == ["bracket.generated", "bracket.regenerated"]
    events = db.session.scalars(select(OutboxEvent.type).where(
        OutboxEvent.type == "bracket_generated")).all()
    assert len(events) == 2

    db.session.execute(update(Match).where(Match.bracket_id == second.id, Match.number == 0)
                       .values(outcome="played", status="completed"))
    db.session.commit()
    with pytest.raises(IllegalTransition, match="started"):
        generate(organizer, cup)
    assert brackets.current(cup).version == 2


def test_a_stale_page_or_a_double_click_generates_once(app, cup, make_field, organizer):
    make_field(cup, 8)
    tournament_id = cup.id

    def attempt():
        from app.models import Tournament, User
        tournament = db.session.get(Tournament, tournament_id)
        actor = db.session.get(User, organizer.id)
        return brackets.generate(actor, tournament, Options(), 0)

    outcomes = concurrently(app, attempt, attempt)
    assert sum(isinstance(o, Bracket) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    assert db.session.scalar(select(func.count()).select_from(Bracket)) == 1
    assert db.session.scalar(select(func.count()).select_from(Match)) == 7


def test_a_random_draw_is_reproducible_from_its_stored_seed(cup, make_field, organizer):
    make_field(cup, 16)
    bracket = generate(organizer, cup, seeding=SeedingMethod.RANDOM)
    drawn = seeds_of(bracket)
    assert bracket.rng_seed is not None
    replay = brackets.plan(cup, Options(seeding=SeedingMethod.RANDOM, rng_seed=bracket.rng_seed))
    assert [r.id for r in replay.seeding.order] == drawn
    assert drawn != sorted(drawn)  # 1 in 16! chance of a false failure


def test_preview_with_a_seed_is_what_generate_makes(cup, make_field, organizer):
    make_field(cup, 12)
    preview = brackets.plan(cup, Options(seeding=SeedingMethod.RANDOM))
    bracket = generate(organizer, cup, seeding=SeedingMethod.RANDOM,
                       rng_seed=preview.seeding.rng_seed)
    assert seeds_of(bracket) == [r.id for r in preview.seeding.order]


def test_manual_seeding_round_trips_and_seeds_newcomers_last(cup, make_field, organizer):
    field = make_field(cup, 6)
    wanted = [field[3].id, field[0].id, field[5].id, field[1].id]
    do(lambda: seeding.save_draft(organizer, cup, wanted, 0))
    bracket = generate(organizer, cup, seeding=SeedingMethod.MANUAL)
    assert seeds_of(bracket) == wanted + [field[2].id, field[4].id]
    assert any("Not in the manual order" in note for note in bracket.notes)


def test_a_manual_draft_saved_from_a_stale_page_is_refused(cup, make_field, organizer):
    field = make_field(cup, 3)
    do(lambda: seeding.save_draft(organizer, cup, [field[0].id], 0))
    with pytest.raises(Conflict):
        do(lambda: seeding.save_draft(organizer, cup, [field[1].id], 0))
    with pytest.raises(Invalid, match="one seed"):
        do(lambda: seeding.save_draft(organizer, cup, [field[1].id, field[1].id], 1))
    assert seeding.draft(cup).registration_ids == [field[0].id]


def test_ranked_seeding_orders_by_rating_breaks_ties_by_registration_and_puts_missing_last(
        cup, make_field, organizer):
    a, b, c, d, e = make_field(cup, 5)
    for registration, rating in ((a, 1200), (b, 1500), (c, None), (d, 1500), (e, 1700)):
        if rating is not None:
            do(lambda r=registration, v=rating: seeding.set_rating(organizer, cup, r, v))
    bracket = generate(organizer, cup, seeding=SeedingMethod.RANKED)
    assert seeds_of(bracket) == [e.id, b.id, d.id, a.id, c.id]
    assert [s.rating for s in bracket.seeds] == [1700, 1500, 1500, 1200, None]
    notes = " ".join(bracket.notes)
    assert "Rated 1500 alike" in notes and "No rating" in notes and c.user.display_name in notes


def test_ratings_import_is_all_or_nothing(cup, make_field, organizer):
    a, b = make_field(cup, 2)
    bad = f"name,rating\n{a.user.display_name},1800\nNobody,12\n{b.user.display_name},abc\n"
    with pytest.raises(Invalid) as refused:
        do(lambda: seeding.import_ratings(organizer, cup, bad))
    assert "Line 3" in refused.value.message and "Line 4" in refused.value.message
    assert seeding.ratings_of(cup, [a])[a.id] is None
    good = f"{a.user.display_name},1800,North\n{b.user.display_name.upper()},1900\n"
    assert do(lambda: seeding.import_ratings(organizer, cup, good)).updated == 2
    ratings = seeding.ratings_of(cup, [a, b])
    assert (ratings[a.id].rating, ratings[a.id].affiliation) == (1800, "North")
    assert ratings[b.id].rating == 1900


def test_same_club_entrants_are_kept_apart_in_the_first_round(cup, make_field, organizer):
    field = make_field(cup, 8)
    clubs = ["Red", "Blue", "Green", "Gold", "Gold", "Teal", "Pink", "Red"]  # 1 v 8, 4 v 5
    for registration, club in zip(field, clubs, strict=True):
        do(lambda r=registration, k=club: seeding.set_rating(organizer, cup, r, None, k))
    bracket = generate(organizer, cup, separation=Separation.AFFILIATION)
    _, play, rows = bracket_rows.load(bracket)
    club_of = {e.seed: clubs[field.index(next(f for f in field if f.id == e.registration_id))]
               for e in bracket.seeds}
    for row in rows:
        if row.round == 1:
            assert club_of[row.seed_a] != club_of[row.seed_b]
    assert any("apart" in note for note in bracket.notes)


def test_team_separation_keeps_teammates_apart(cup, make_field, organizer):
    field = make_field(cup, 4)  # 1 v 4, 2 v 3
    team = Team(name="Duo", captain_id=field[0].user_id)
    save(team)
    save(TeamMember(team_id=team.id, user_id=field[0].user_id),
         TeamMember(team_id=team.id, user_id=field[3].user_id))
    bracket = generate(organizer, cup, separation=Separation.TEAM)
    _, _, rows = bracket_rows.load(bracket)
    first = {frozenset((r.seed_a, r.seed_b)) for r in rows if r.round == 1}
    seed_of = {e.registration_id: e.seed for e in bracket.seeds}
    assert frozenset((seed_of[field[0].id], seed_of[field[3].id])) not in first


def test_finalize_publishes_once_and_refuses_a_stale_page(cup, make_field, organizer):
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    with pytest.raises(Conflict):
        do(lambda: brackets.finalize(organizer, cup, bracket.version + 5))
    finalized = do(lambda: brackets.finalize(organizer, cup, bracket.version))
    assert finalized.finalized
    with pytest.raises(IllegalTransition, match="already"):
        do(lambda: brackets.finalize(organizer, cup, finalized.version))
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "bracket.finalized")) == 1


def test_seeds_are_unique_per_bracket(cup, make_field, organizer):
    make_field(cup, 3)
    bracket = generate(organizer, cup)
    assert db.session.scalar(select(func.count(func.distinct(BracketEntrant.seed))).where(
        BracketEntrant.bracket_id == bracket.id)) == 3


def play_all(bracket: Bracket) -> None:
    """Decide every open match the way results will (higher seed wins), writing rows back."""
    play = bracket_rows.play_to_change(bracket)
    while ready := play.ready():
        for number in ready:
            a, b = play.states[number].slots
            bracket_rows.write_states(bracket, play, play.record(number, min(a, b), (1, 0)
                                                             if a < b else (0, 1)))
    bracket_rows.changed(bracket)
    db.session.commit()


def test_round_robin_groups_then_playoffs_from_the_group_tables(cup, make_field, organizer):
    cup.format = Format.ROUND_ROBIN
    save(cup)
    field = make_field(cup, 8)
    groups = generate(organizer, cup, groups=2, advance=2)
    assert {e.group for e in groups.seeds} == {1, 2}
    assert db.session.scalar(select(func.count()).select_from(Match)) == 12  # 2 × C(4, 2)
    with pytest.raises(IllegalTransition, match="decided"):
        do(lambda: stages.generate_playoffs(organizer, cup, groups.version))
    play_all(groups)
    playoffs = do(lambda: stages.generate_playoffs(organizer, cup, groups.version))
    assert playoffs.stage == 2 and playoffs.entrants == 4
    by_seed = {e.seed: e.registration_id for e in playoffs.seeds}
    # Snake: group 1 holds seeds 1, 4, 5, 8 and group 2 seeds 2, 3, 6, 7; winners 1 and 2,
    # runners-up 4 and 3 — group winners first, group-mates apart in the first round.
    assert [by_seed[s] for s in (1, 2)] == [field[0].id, field[1].id]
    _, _, rows = bracket_rows.load(playoffs)
    first = [{by_seed[r.seed_a], by_seed[r.seed_b]} for r in rows if r.round == 1]
    assert {field[0].id, field[3].id} not in first and {field[1].id, field[2].id} not in first
    with pytest.raises(IllegalTransition, match="already"):
        do(lambda: stages.generate_playoffs(organizer, cup, brackets.version_of(cup)))


def test_swiss_rounds_are_paired_and_persisted_as_each_round_completes(cup, make_field,
                                                                       organizer):
    cup.format = Format.SWISS
    save(cup)
    make_field(cup, 7)
    bracket = generate(organizer, cup)
    assert bracket.settings["rounds_planned"] == 3
    _, _, rows = bracket_rows.load(bracket)
    assert [(r.round, r.seed_a, r.seed_b, r.status) for r in rows][-1][1:3] == (7, 0)  # bye
    assert do(lambda: stages.pair_next_swiss_round(organizer, cup)) == []  # round 1 open
    met: set[frozenset] = set()
    for round_ in (2, 3):
        play_all(bracket)
        new = do(lambda: stages.pair_next_swiss_round(organizer, cup))
        assert {m.round for m in new} == {round_} and len(new) == 4
        _, play, rows = bracket_rows.load(bracket)
        pairs = [frozenset((r.seed_a, r.seed_b)) for r in rows if 0 not in (r.seed_a, r.seed_b)]
        assert len(pairs) == len(set(pairs)), "no rematch"
        met |= set(pairs)
    play_all(bracket)
    assert do(lambda: stages.pair_next_swiss_round(organizer, cup)) == []  # all rounds done
    _, play, _ = bracket_rows.load(bracket)
    assert play.finished()
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action == "bracket.swiss_round_paired")) == 2


def test_a_bracket_made_under_old_rules_must_be_regenerated_before_finalizing(
        cup, make_field, organizer):
    make_field(cup, 4)
    bracket = generate(organizer, cup)
    cup.best_of_finals = 5
    save(cup)
    assert brackets.outdated(bracket, cup) == ["the best-of settings"]
    with pytest.raises(IllegalTransition, match="regenerate it first"):
        do(lambda: brackets.finalize(organizer, cup, bracket.version))
    fresh = generate(organizer, cup)
    assert brackets.outdated(fresh, cup) == []
    assert do(lambda: brackets.finalize(organizer, cup, fresh.version)).finalized


def test_entrants_who_leave_after_generation_call_for_a_new_bracket(cup, make_field,
                                                                    organizer):
    field = make_field(cup, 5)
    bracket = generate(organizer, cup)
    field[2].status, field[2].active = RegistrationStatus.WITHDRAWN, False
    save(field[2])
    make_field(cup, 1, prefix="late")
    [change] = brackets.outdated(bracket, cup)
    assert change.startswith("the entrants")
    assert "1 now eligible and not seeded, 1 seeded and no longer eligible" in change
    with pytest.raises(IllegalTransition, match="regenerate"):
        do(lambda: brackets.finalize(organizer, cup, bracket.version))


def test_a_bracket_made_again_under_a_reused_id_is_read_as_itself(make_tournament, make_field,
                                                                   organizer):
    """The structure cache must not hand a new bracket the structure of a deleted one that
    had the same id and version (SQLite reuses the largest rowid)."""
    first = make_tournament("first-cup", status=Status.CHECK_IN)
    make_field(first, 4)
    old = generate(organizer, first)
    assert len(bracket_rows.load_play(old)[0].matches) == 3  # now in the cache
    old_id = old.id
    db.session.execute(delete(Bracket).where(Bracket.id == old_id))
    db.session.commit()
    second = make_tournament("second-cup", status=Status.CHECK_IN)
    make_field(second, 8)
    new = generate(organizer, second)
    structure, play = bracket_rows.load_play(new)
    assert len(structure.matches) == len(play.states) == 7
    assert new.version == 1  # the same key as the old one but for the creation time
