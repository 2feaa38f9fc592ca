"""Fragment rendering: what each event looks like, per room, as HTML.

A renderer turns one event into ``{room: html}`` using the same partials the
pages include (with ``oob=True``), from the current database state — so a
fragment is full-state and idempotent, and a replayed or duplicated one is
harmless. Renderers run in a neutral context (no user, no request): a
fragment is broadcast, so it must not depend on who receives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, render_template
from sqlalchemy import select

from app.extensions import db
from app.models import Bracket, Match, MatchEvent, MatchState, Tournament
from app.realtime.feed import Event
from app.realtime.rooms import bracket_room, match_room, tournament_room
from app.realtime.rooms import parse as parse_room
from app.services import brackets, entrants, stages
from app.web.brackets.view import saved_drawing, saved_parts
from app.web.matches import view as match_view

log = logging.getLogger(__name__)

# A renderer returns, per room, the fragment's HTML or a function that renders it: lazy
# fragments are rendered only for rooms someone watches (see `render`).
Fragment = str | Callable[[], str]
Renderer = Callable[[Event], dict[str, Fragment]]
# Several renderers may serve one event type (each its own regions); their fragments for a
# room are concatenated in registration order into that room's one message.
_RENDERERS: dict[str, list[Renderer]] = {}


def renderer(*event_types: str) -> Callable[[Renderer], Renderer]:
    """Register `fn` as one of the functions that render events of `event_types`."""

    def register(fn: Renderer) -> Renderer:
        for event_type in event_types:
            if fn not in _RENDERERS.setdefault(event_type, []):
                _RENDERERS[event_type].append(fn)
        return fn

    return register


def render(event: Event, wanted: Callable[[str], bool] | None = None) -> dict[str, str]:
    """The fragments of `event` by room ({} for event types nobody renders), only for the
    rooms `wanted` accepts (all when None), asked once per room."""
    parts: dict[str, list[str]] = {}
    accepted: dict[str, bool] = {}
    for fn in _RENDERERS.get(event.type, ()):
        for room, fragment in fn(event).items():
            if room not in accepted:
                accepted[room] = wanted is None or wanted(room)
            if accepted[room]:
                parts.setdefault(room, []).append(fragment() if callable(fragment) else fragment)
    return {room: "".join(html) for room, html in parts.items()}


def message(seq: int, html: str) -> str:
    """One socket message: a sequence marker the page's JS reads, then the fragments.

    The marker is an inert <template>: the socket element swaps nothing itself
    (hx-swap="none"); only the fragments' hx-swap-oob elements land on the page.
    """
    return f'<template data-live-seq="{seq}"></template>{html}'


@contextmanager
def render_context(app: Flask) -> Iterator[None]:
    """A fresh app and request context of nobody, with a database session closed afterwards."""
    base_url = app.config.get("PUBLIC_BASE_URL") or "http://localhost"
    with app.app_context(), app.test_request_context("/", base_url=base_url):
        try:
            yield
        finally:
            # Never leave a transaction open: it would hold locks (TRUNCATE, DDL) and snapshots.
            db.session.remove()


@renderer("tournament_updated")
def _tournament_updated(event: Event) -> dict[str, str]:
    tournament = db.session.get(Tournament, event.tournament_id) if event.tournament_id else None
    if tournament is None:
        return {}
    html = render_template("partials/tournament_status.html", tournament=tournament, oob=True)
    return {tournament_room(tournament.id): html}


@renderer("registrations_changed")
def _registrations_changed(event: Event) -> dict[str, str]:
    tournament = db.session.get(Tournament, event.tournament_id) if event.tournament_id else None
    if tournament is None:
        return {}
    html = render_template("partials/participants.html", tournament=tournament,
                           roster=entrants.roster(tournament), oob=True)
    return {tournament_room(tournament.id): html}


@renderer("bracket_generated", "bracket_updated")
def _bracket_generated(event: Event) -> dict[str, Fragment]:
    """The public bracket region. A draft never reaches sockets: when the bracket was
    regenerated into a draft (or is one), open pages get "not published yet" instead."""
    tournament = db.session.get(Tournament, event.tournament_id) if event.tournament_id else None
    if tournament is None:
        return {}
    return {bracket_room(tournament.id): lambda: _bracket_region(tournament)}


@renderer("match_updated", "match_completed")
def _match_changed(event: Event) -> dict[str, Fragment]:
    """The match's panel for its page; for the bracket page, only what changed on the
    bracket (see `_bracket_parts`)."""
    match = db.session.get(Match, event.payload.get("match_id", 0))
    if match is None or match.tournament_id != event.tournament_id:
        return {}
    fragments: dict[str, Fragment] = {
        match_room(match.id): lambda: render_template(
            "partials/match_panel.html", panel=match_view.panel(match), oob=True)}
    parts = _bracket_parts(match, follow=bool(event.payload.get("follow")))
    if parts is not None:
        fragments[bracket_room(match.tournament_id)] = parts
    return fragments


# Where a match event leaves the standings as they were: nothing was decided or undone.
_UNDECIDED = {MatchState.PENDING, MatchState.SCHEDULED, MatchState.CHECK_IN, MatchState.LIVE,
              MatchState.PENDING_RESULT, MatchState.DISPUTED}


def _changes_standings(match: Match) -> bool:
    """Whether the match's event may have changed the standings: a result, or a result
    undone (a staff reset puts it back to READY, which a check-in reaches too)."""
    if match.state == MatchState.READY:
        return db.session.scalar(select(MatchEvent.id).where(
            MatchEvent.match_id == match.id, MatchEvent.kind == "reset").limit(1)) is not None
    return match.state not in _UNDECIDED


def _bracket_parts(match: Match, *, follow: bool) -> Fragment | None:
    """The match's card, and the standings when its result may have changed them — or the
    whole region for a grand final (its reset appears or goes). A match that received
    entrants because of another (`follow`) has its own event: its card only. Nothing for a
    draft: drafts never reach the public sockets."""
    bracket = db.session.get(Bracket, match.bracket_id)
    if bracket is None or not bracket.finalized:
        return None
    if match.side == "grand_final":
        tournament = db.session.get(Tournament, match.tournament_id)
        return lambda: _bracket_region(tournament)
    standings = not follow and _changes_standings(match)
    return lambda: _cards(bracket, [match.number], standings)


def _cards(bracket: Bracket, numbers: list[int], standings: bool) -> str:
    parts = saved_parts(bracket, numbers)
    return render_template("partials/bracket_live.html", cards=parts.cards,
                           drawing=parts.drawing if standings else None)


def _bracket_region(tournament: Tournament) -> str:
    bracket = brackets.current(tournament)
    if bracket is None or not bracket.finalized:
        return render_template("partials/bracket_region.html", bracket=None, oob=True)
    playoffs = stages.current_playoffs(bracket)
    return render_template("partials/bracket_region.html", bracket=bracket,
                           drawing=saved_drawing(bracket), oob=True,
                           playoff_drawing=saved_drawing(playoffs) if playoffs else None)


# --- snapshots: every live region of a room, for a socket whose gap cannot be replayed ---

# A snapshot function takes the id in the room's name (`tournament:5` -> 5) and returns
# that room's region fragments (HTML or functions that render it). Several may serve one
# kind of room: each page area registers its own regions, and a socket gets all of them
# (an oob fragment whose id is not on the page is ignored there).
Snapshot = Callable[[int], list[Fragment]]
_SNAPSHOTS: dict[str, list[Snapshot]] = {}


def snapshot(kind: str) -> Callable[[Snapshot], Snapshot]:
    """Register a function that renders live regions of every `kind` room."""

    def register(fn: Snapshot) -> Snapshot:
        _SNAPSHOTS.setdefault(kind, []).append(fn)
        return fn

    return register


def snapshot_of(room: str) -> str:
    """The current state of every live region of `room`, as one string of oob fragments."""
    parsed = parse_room(room)
    if parsed is None:
        return ""
    kind, ident = parsed
    return "".join(fragment() if callable(fragment) else fragment
                   for fn in _SNAPSHOTS.get(kind, ()) for fragment in fn(ident))


@snapshot("tournament")
def _tournament_regions(tournament_id: int) -> list[Fragment]:
    tournament = db.session.get(Tournament, tournament_id)
    if tournament is None:
        return []
    return [
        lambda: render_template("partials/tournament_status.html", tournament=tournament,
                                oob=True),
        lambda: render_template("partials/participants.html", tournament=tournament,
                                roster=entrants.roster(tournament), oob=True),
    ]


@snapshot("bracket")
def _bracket_page_regions(tournament_id: int) -> list[Fragment]:
    tournament = db.session.get(Tournament, tournament_id)
    return [] if tournament is None else [lambda: _bracket_region(tournament)]


@snapshot("match")
def _match_regions(match_id: int) -> list[Fragment]:
    match = db.session.get(Match, match_id)
    if match is None:
        return []
    return [lambda: render_template("partials/match_panel.html", panel=match_view.panel(match),
                                    oob=True)]


# Renderers of other modules register themselves at import: importing fragments loads them.
from app.realtime import live_regions  # noqa: E402, F401  (needs `renderer` defined above)
