"""What a bracket drawing shows: sections of round columns of match cards.

`drawing` turns the engine's structure and play plus seed names into plain data for
`templates/partials/bracket.html`, so a preview (a `brackets.Plan`) and a saved bracket
(`bracket_rows.load_play`) are drawn by the same template, and the rules about titles and labels can
be tested without a database or a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask import url_for
from sqlalchemy import select

from app.brackets.model import BYE, Format, Side, Source
from app.brackets.model import Bracket as Structure
from app.brackets.model import Match as EngineMatch
from app.brackets.play import MatchState as EngineState
from app.brackets.play import Outcome, Play, Status
from app.brackets.standings import standings
from app.extensions import db
from app.models import (
    Bracket,
    Match,
    MatchState,
    Tournament,
)
from app.services import bracket_rows, brackets
from app.web.brackets import layout
from app.web.brackets.tables import Table, group_name, tables

STATUS_LABELS = {
    Status.LOCKED: "Pending",
    Status.WAITING: "Waiting for opponent",
    Status.READY: "Ready to play",
    Status.COMPLETED: "Completed",
    Status.SKIPPED: "Not needed",
}
OUTCOME_LABELS = {
    Outcome.BYE: "Bye",
    Outcome.FORFEIT: "Won by forfeit",
    Outcome.DOUBLE_FORFEIT: "Double forfeit",
    Outcome.DISQUALIFIED: "Disqualification",
}
# A playable match (both entrants known) as its page says it is: what spectators watch for.
OPEN_LABELS = {
    MatchState.SCHEDULED: "Scheduled",
    MatchState.CHECK_IN: "Check-in open",
    MatchState.READY: "Ready to play",
    MatchState.LIVE: "Live",
    MatchState.PENDING_RESULT: "Result reported",
    MatchState.DISPUTED: "Disputed",
}
LIVE_STATES = {MatchState.LIVE, MatchState.PENDING_RESULT, MatchState.DISPUTED}
RESET_SHOWN = {Status.READY, Status.COMPLETED}
ELIMINATION_SIDES = (Side.WINNERS, Side.LOSERS, Side.GRAND_FINAL, Side.THIRD_PLACE)
# Single elimination counts its last rounds from the final backwards.
FROM_FINAL = {0: "Final", 1: "Semi-finals", 2: "Quarter-finals"}


@dataclass(frozen=True, slots=True)
class Slot:
    """One side of a match card: an entrant, a bye, or where the entrant will come from."""

    label: str
    kind: str  # "entrant" | "bye" | "pending"
    seed: int | None = None
    score: int | None = None
    won: bool = False
    lost: bool = False


@dataclass(frozen=True, slots=True)
class Card:
    number: int  # the engine's match id
    label: str  # "M12": what people say (the id + 1)
    dom_id: str | None  # "match-<bracket>-<number>" once saved, for live swaps
    slots: tuple[Slot, Slot]
    best_of: int
    status: str  # the engine status value, for CSS
    status_label: str
    href: str | None = None  # the match page, once saved
    phase: str = "upcoming"  # what the state filter offers: upcoming, ready, live, completed
    aria: str = ""  # "Winners round 2, match 3: Alpha 2, Bravo 1, completed"

    @property
    def bye(self) -> bool:
        """A match decided by a bye: drawn quieter than one that is really played."""
        return any(s.kind == "bye" for s in self.slots)


@dataclass(slots=True)
class Column:
    title: str
    cards: list[Card]
    key: str = ""  # "winners-2": the round filter's value
    x: int = 0  # set by layout.place: px from the left of the section's canvas
    tops: list[int] = field(default_factory=list)  # px from the top, one per card


@dataclass(slots=True)
class Section:
    key: str  # "winners", "losers", "grand_final", "third_place", "group-2", "swiss"
    title: str
    columns: list[Column]
    note: str = ""
    width: int = 0
    height: int = 0
    connectors: list[layout.Connector] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Standing:
    place: int
    names: list[str]


@dataclass(slots=True)
class Drawing:
    format: Format
    entrants: int
    sections: list[Section]
    standings: list[Standing] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)  # group or Swiss tables
    standings_id: str | None = None  # "standings-<bracket>" once saved, for live swaps

    @property
    def rounds(self) -> list[tuple[str, str]]:
        """The round filter's choices: (column key, title), each key once."""
        seen: dict[str, str] = {}
        for section in self.sections:
            for column in section.columns:
                seen.setdefault(column.key, column.title)
        return list(seen.items())

    @property
    def tables_first(self) -> bool:
        """Round robin and Swiss lead with their tables; trees end with the final places."""
        return self.format in (Format.ROUND_ROBIN, Format.SWISS)


@dataclass(frozen=True, slots=True)
class SeedRow:
    """A line of a seed list: seed, entrant, and the rating or group when they matter."""

    seed: int
    name: str
    rating: int | None = None
    group: int | None = None


def drawing(structure: Structure, play: Play, names: Mapping[int, str], *,
            bracket_id: int | None = None, links: Mapping[int, str] | None = None,
            states: Mapping[int, MatchState] | None = None) -> Drawing:
    """The sections, columns and cards of a bracket, and its standings once results exist.

    `links` maps a match number to its page (a saved bracket's cards link to them), `states`
    to its operational state (what a saved match's page says: "Live", "Disputed", ...).
    """
    winners = structure.rounds(Side.WINNERS)  # once: each card's label needs it
    cards = {m.id: card_of(structure, play, m.id, names, bracket_id, links or {}, states or {},
                           winners) for m in structure.matches}
    if structure.format == Format.ROUND_ROBIN:
        sections = _groups(structure, cards)
    elif structure.format == Format.SWISS:
        sections = [_swiss(structure, cards)]
    else:
        sections = _elimination(structure, play, cards, saved=bracket_id is not None)
    tree = structure.format in (Format.SINGLE_ELIMINATION, Format.DOUBLE_ELIMINATION)
    for section in sections:
        geometry = layout.place(section.columns, structure.matches, connect=tree)
        section.width, section.height = geometry.width, geometry.height
        section.connectors = geometry.connectors
    return Drawing(structure.format, structure.entrants, sections,
                   _standings(play, names) if _has_results(play) else [],
                   tables(structure, play, names),
                   f"standings-{bracket_id}" if bracket_id is not None else None)


def card_of(structure: Structure, play: Play, number: int, names: Mapping[int, str],
            bracket_id: int | None, links: Mapping[int, str],
            states: Mapping[int, MatchState], winners: int) -> Card:
    """One match's card, the same whether drawn in a page or pushed alone."""
    match = structure.matches[number]
    return _card(match, play.states[number], names, bracket_id, links.get(number),
                 states.get(number), _where(structure, match, winners))


def round_title(structure: Structure, side: Side, round_: int) -> str:
    """What a round is called: "Semi-finals", "Losers round 3", "Grand final", ..."""
    return title_of(structure.format, side, round_, structure.rounds(Side.WINNERS))


def title_of(fmt: Format, side: Side, round_: int, winners_rounds: int) -> str:
    """`round_title` from the format and the number of winners rounds alone."""
    if side == Side.THIRD_PLACE:
        return "Third place"
    if side == Side.GRAND_FINAL:
        return "Grand final" if round_ == 1 else "Grand final reset (if needed)"
    if fmt == Format.DOUBLE_ELIMINATION:
        return f"{'Losers' if side == Side.LOSERS else 'Winners'} round {round_}"
    if fmt == Format.SINGLE_ELIMINATION:
        return FROM_FINAL.get(winners_rounds - round_, f"Round {round_}")
    return f"Round {round_}"


# --- seed lists --------------------------------------------------------------------------


def plan_seeds(plan: brackets.Plan) -> list[SeedRow]:
    """The seed list of a preview."""
    ratings = plan.seeding.ratings
    return [SeedRow(seed, registration.name, ratings.get(registration.id), plan.groups.get(seed))
            for seed, registration in enumerate(plan.seeding.order, start=1)]


def saved_seeds(bracket: Bracket) -> list[SeedRow]:
    """The seed list of a saved bracket."""
    return [SeedRow(e.seed, e.registration.name, e.rating, e.group) for e in bracket.seeds]


def saved_drawing(bracket: Bracket) -> Drawing:
    """The drawing of a saved bracket, from its rows (cards carry their DOM ids and link to
    their match pages)."""
    structure, play = bracket_rows.load_play(bracket)
    links, states = _saved_matches(bracket)
    return drawing(structure, play, _names(bracket), bracket_id=bracket.id,
                   links=links, states=states)


@dataclass(slots=True)
class LiveParts:
    """What a match event changes on the public bracket: some cards and the standings."""

    cards: list[Card]
    drawing: Drawing  # for its standings and tables only (no sections)


def saved_parts(bracket: Bracket, numbers: Iterable[int]) -> LiveParts:
    """The cards of matches `numbers` and the standings of a saved bracket, drawn exactly as
    `saved_drawing` draws them."""
    structure, play = bracket_rows.load_play(bracket)
    links, states = _saved_matches(bracket)
    names, winners = _names(bracket), structure.rounds(Side.WINNERS)
    cards = [card_of(structure, play, n, names, bracket.id, links, states, winners)
             for n in numbers]
    return LiveParts(cards, Drawing(
        structure.format, structure.entrants, [],
        _standings(play, names) if _has_results(play) else [],
        tables(structure, play, names), f"standings-{bracket.id}"))


_MARK = 987654321


def _names(bracket: Bracket) -> dict[int, str]:
    """Each seed's name, in one query."""
    return {seed: name for (_, seed), name in brackets.seed_names([bracket.id]).items()}


def _saved_matches(bracket: Bracket) -> tuple[dict[int, str], dict[int, MatchState]]:
    """Each saved match's page and operational state, by number."""
    slug = db.session.get(Tournament, bracket.tournament_id).slug
    rows = db.session.execute(select(Match.number, Match.id, Match.state).where(
        Match.bracket_id == bracket.id)).all()
    # One url_for, then the id: building 500 links one by one costs more than the page.
    prefix, _, suffix = url_for("matches.show", slug=slug, match_id=_MARK).partition(str(_MARK))
    return ({n: f"{prefix}{match_id}{suffix}" for n, match_id, _ in rows},
            {n: state for n, _, state in rows})


# --- cards -------------------------------------------------------------------------------


def _card(match: EngineMatch, state: EngineState, names: Mapping[int, str],
          bracket_id: int | None, href: str | None, row_state: MatchState | None,
          where: str) -> Card:
    slots = (_slot(match, state, 0, names), _slot(match, state, 1, names))
    status, phase = STATUS_LABELS[state.status], _phase(state.status, row_state)
    if state.status == Status.COMPLETED and state.outcome in OUTCOME_LABELS:
        status = OUTCOME_LABELS[state.outcome]
    elif state.status == Status.READY and row_state in OPEN_LABELS:
        status = OPEN_LABELS[row_state]
    sides = ", ".join(s.label if s.score is None else f"{s.label} {s.score}" for s in slots)
    return Card(match.id, f"M{match.id + 1}",
                f"match-{bracket_id}-{match.id}" if bracket_id is not None else None,
                slots, match.best_of, str(state.status), status, href, phase,
                f"{where}, match {match.position}: {sides}, {status.lower()}")


def _phase(status: Status, row_state: MatchState | None) -> str:
    if status == Status.COMPLETED:
        return "completed"
    if status != Status.READY or row_state == MatchState.SCHEDULED:
        return "upcoming"
    return "live" if row_state in LIVE_STATES else "ready"


def _where(structure: Structure, match: EngineMatch, winners: int) -> str:
    """The round a card is in, as its label says it: "Winners round 2", "Group A, round 1"."""
    title = title_of(structure.format, match.side, match.round, winners)
    if match.reset_of is not None:
        return "Grand final reset"
    if structure.format == Format.ROUND_ROBIN:
        return f"Group {group_name(match.group or 1)}, {title.lower()}"
    return title


def _slot(match: EngineMatch, state: EngineState, index: int, names: Mapping[int, str]) -> Slot:
    entrant = state.slots[index]
    if entrant is None:
        return Slot(_pending(match.slots[index], names), "pending")
    if entrant == BYE:
        return Slot("Bye", "bye")
    done = state.status == Status.COMPLETED
    score = state.scores[index] if state.scores else None
    return Slot(names.get(entrant, f"Seed {entrant}"), "entrant", entrant, score,
                won=done and state.winner == entrant, lost=done and state.winner != entrant)


def _pending(source: Source, names: Mapping[int, str]) -> str:
    if source.kind == "winner":
        return f"Winner of M{source.ref + 1}"
    if source.kind == "loser":
        return f"Loser of M{source.ref + 1}"
    if source.kind == "seed":
        return names.get(source.ref, f"Seed {source.ref}")
    return "Bye" if source.kind == "bye" else "To be decided"


# --- sections ----------------------------------------------------------------------------


def _columns(structure: Structure, side: Side, matches: Iterable[EngineMatch],
             cards: Mapping[int, Card]) -> list[Column]:
    by_round: dict[int, list[EngineMatch]] = {}
    for match in matches:
        by_round.setdefault(match.round, []).append(match)
    return [Column(round_title(structure, side, r),
                   [cards[m.id] for m in sorted(by_round[r], key=lambda m: m.position)],
                   f"{side.value}-{r}")
            for r in sorted(by_round)]


def _elimination(structure: Structure, play: Play, cards: Mapping[int, Card], *,
                 saved: bool) -> list[Section]:
    single = structure.format == Format.SINGLE_ELIMINATION
    sections = []
    for side in ELIMINATION_SIDES:
        matches = [m for m in structure.matches if m.side == side and _drawn(m, play, saved)]
        if matches:
            title = "Bracket" if single and side == Side.WINNERS else brackets.SIDE_TITLES[side]
            columns = _columns(structure, side, matches, cards)
            if saved and side == Side.GRAND_FINAL and len(columns) > 1:
                columns[1].title = "Grand final reset"  # drawn only when it is played
            sections.append(Section(side.value, title, columns))
    return sections


def _drawn(match: EngineMatch, play: Play, saved: bool) -> bool:
    """A preview shows the grand-final reset "if needed"; a saved bracket only once it is
    played (the first final was won from the losers bracket), never when it was not needed."""
    if match.reset_of is None:
        return True
    status = play.states[match.id].status
    return status in RESET_SHOWN if saved else status != Status.SKIPPED


def _groups(structure: Structure, cards: Mapping[int, Card]) -> list[Section]:
    groups: dict[int, list[EngineMatch]] = {}
    for match in structure.matches:
        groups.setdefault(match.group or 1, []).append(match)
    return [Section(f"group-{g}", f"Group {group_name(g)}",
                    _columns(structure, Side.GROUP, groups[g], cards))
            for g in sorted(groups)]


def _swiss(structure: Structure, cards: Mapping[int, Card]) -> Section:
    columns = _columns(structure, Side.SWISS, structure.matches, cards)
    planned, paired = structure.rounds_planned, len(columns)
    note = ""
    if planned > paired:
        note = (f"{paired} of {planned} rounds paired; each next round is paired when the one "
                "before it is complete.")
    return Section("swiss", "Swiss rounds", columns, note)


def _has_results(play: Play) -> bool:
    """Standings say something once a match was really decided (byes decide nothing)."""
    return any(s.outcome not in (None, Outcome.BYE) for s in play.states)


def _standings(play: Play, names: Mapping[int, str]) -> list[Standing]:
    return [Standing(p.place, [names.get(seed, f"Seed {seed}") for seed in p.seeds])
            for p in standings(play)]
