"""Tournaments: create, edit and move through their statuses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Format,
    Game,
    GrandFinal,
    PrizeMode,
    StaffMember,
    StaffRole,
    Status,
    Tournament,
    User,
    Visibility,
    utcnow,
)
from app.realtime import events
from app.services import audit, entrants, payments, registrations, request_keys
from app.services.errors import Conflict, IllegalTransition, Invalid

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = {"new", "admin", "api", "manage", "static"}
MAX_CAPACITY = 4096
DEFAULT_CHECKIN_MINUTES = 30

# Which status an organizer may move a tournament to, and what the button says.
TRANSITIONS: dict[Status, dict[Status, str]] = {
    Status.DRAFT: {Status.REGISTRATION: "Publish and open registration",
                   Status.CANCELLED: "Cancel tournament"},
    Status.REGISTRATION: {Status.CHECK_IN: "Open check-in", Status.CANCELLED: "Cancel tournament"},
    Status.CHECK_IN: {Status.LIVE: "Start tournament", Status.CANCELLED: "Cancel tournament"},
    Status.LIVE: {Status.COMPLETED: "Mark completed", Status.CANCELLED: "Cancel tournament"},
    Status.COMPLETED: {},
    Status.CANCELLED: {},
}
MAX_MATCH_CHECKIN_MINUTES = 24 * 60
# Fields that shape the bracket: frozen once the tournament is live.
FROZEN_WHEN_LIVE = ("game_id", "format", "team_based", "capacity")


@dataclass
class TournamentInput:
    """Everything an organizer sets on a tournament (times are aware UTC)."""

    name: str
    game_id: int | None
    format: Format
    starts_at: datetime | None
    capacity: int = 16
    slug: str = ""
    description: str = ""
    team_based: bool = False
    visibility: Visibility = Visibility.PUBLIC
    timezone: str = "UTC"
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    checkin_opens_at: datetime | None = None
    checkin_closes_at: datetime | None = None
    best_of: int = 1
    best_of_finals: int = 3
    best_of_by_round: dict[str, int] = field(default_factory=dict)
    third_place_match: bool = False
    grand_final: GrandFinal = GrandFinal.SINGLE
    auto_confirm_hours: int = 24
    match_checkin: bool = True
    match_checkin_minutes: int = 15
    auto_forfeit_no_shows: bool = False
    entry_fee: int = 0
    prize_pool: int = 0
    prize_mode: PrizeMode = PrizeMode.PERCENT
    prize_distribution: list[int] = field(default_factory=list)


def slugify(text: str) -> str:
    """A URL slug from a name: ascii lowercase words joined by dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60]


def _unique_slug(base: str) -> str:
    base = base or "tournament"
    taken = set(db.session.scalars(select(Tournament.slug).where(Tournament.slug.like(f"{base}%"))))
    if base not in taken and base not in RESERVED_SLUGS:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def parse_best_of_by_round(text: str) -> dict[str, int]:
    """Parse "2:3, 4:5" (round:best-of) into {"2": 3, "4": 5}; raise Invalid on nonsense."""
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        match = re.fullmatch(r"(\d{1,3})\s*[:=]\s*(\d{1,2})", part)
        if not match or int(match[1]) < 1 or not _odd_best_of(int(match[2])):
            raise Invalid("Bad per-round best-of.", {
                "best_of_by_round": f"“{part}” is not round:best-of with an odd best-of 1–9 "
                                    "(e.g. 3:5)."})
        result[str(int(match[1]))] = int(match[2])
    return result


def parse_distribution(text: str) -> list[int]:
    """Parse "50, 30, 20" into [50, 30, 20]; raise Invalid on nonsense."""
    parts = [p.strip().rstrip("%") for p in text.replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise Invalid("Bad prize distribution.", {
            "prize_distribution": "Use whole numbers separated by commas, first place first."})
    return [int(p) for p in parts]


def _odd_best_of(n: int) -> bool:
    return 1 <= n <= 9 and n % 2 == 1


def _fill_defaults(data: TournamentInput) -> None:
    if data.starts_at is None:
        return
    data.checkin_closes_at = data.checkin_closes_at or data.starts_at
    data.checkin_opens_at = data.checkin_opens_at or (
        data.checkin_closes_at - timedelta(minutes=DEFAULT_CHECKIN_MINUTES))
    data.registration_closes_at = data.registration_closes_at or data.checkin_opens_at


def validate(data: TournamentInput, existing: Tournament | None = None) -> dict[str, str]:
    """Field errors for `data` (empty when it is valid)."""
    errors: dict[str, str] = {}
    data.name = data.name.strip()
    if not 3 <= len(data.name) <= 120:
        errors["name"] = "Use 3–120 characters."
    if data.slug and (not SLUG.match(data.slug) or len(data.slug) > 64
                      or data.slug in RESERVED_SLUGS):
        errors["slug"] = "Lowercase letters, digits and single dashes, up to 64 characters."
    elif data.slug and db.session.scalar(select(Tournament.id).where(
            Tournament.slug == data.slug, Tournament.id != (existing.id if existing else -1))):
        errors["slug"] = "Another tournament already uses this address."
    game = db.session.get(Game, data.game_id) if data.game_id else None
    if game is None:
        errors["game"] = "Choose a game."
    elif data.team_based and game.team_size < 2:
        errors["team_based"] = f"{game.name} is played one against one: make it a solo tournament."
    elif not data.team_based and game.team_size > 1:
        errors["team_based"] = (f"{game.name} is played in teams of {game.team_size}: "
                                "make it a team tournament.")
    if not 2 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = f"Between 2 and {MAX_CAPACITY} entrants."
    errors.update(_schedule_errors(data, existing))
    if not _odd_best_of(data.best_of):
        errors["best_of"] = "An odd number from 1 to 9."
    if not _odd_best_of(data.best_of_finals):
        errors["best_of_finals"] = "An odd number from 1 to 9."
    if not 1 <= data.auto_confirm_hours <= 168:
        errors["auto_confirm_hours"] = "Between 1 and 168 hours."
    if not 0 <= data.match_checkin_minutes <= MAX_MATCH_CHECKIN_MINUTES:
        errors["match_checkin_minutes"] = f"Between 0 and {MAX_MATCH_CHECKIN_MINUTES} minutes."
    if data.auto_forfeit_no_shows and not data.match_checkin:
        errors["auto_forfeit_no_shows"] = ("Without match check-in nobody is a no-show by the "
                                           "clock: untick this, staff forfeit by hand.")
    errors.update(_money_errors(data))
    return errors


def _schedule_errors(data: TournamentInput, existing: Tournament | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.starts_at is None:
        return {"starts_at": "Set the start time."}
    if existing is None and data.starts_at <= utcnow():
        errors["starts_at"] = "The start must be in the future."
    if data.checkin_closes_at > data.starts_at:
        errors["checkin_closes_at"] = "Check-in must close at or before the start."
    if data.checkin_opens_at >= data.checkin_closes_at:
        errors["checkin_opens_at"] = "Check-in must open before it closes."
    if data.registration_closes_at > data.starts_at:
        errors["registration_closes_at"] = "Registration must close at or before the start."
    if data.registration_opens_at and data.registration_opens_at >= data.registration_closes_at:
        errors["registration_opens_at"] = "Registration must open before it closes."
    return errors


def _money_errors(data: TournamentInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not 0 <= data.entry_fee <= 1_000_000:
        errors["entry_fee"] = "Between 0 and 1,000,000 coins."
    if not 0 <= data.prize_pool <= 100_000_000:
        errors["prize_pool"] = "Between 0 and 100,000,000 coins."
    dist = data.prize_distribution
    if any(amount <= 0 for amount in dist):
        errors["prize_distribution"] = "Every place needs a positive amount."
    elif len(dist) > data.capacity:
        errors["prize_distribution"] = "More prize places than entrants."
    elif data.prize_mode == PrizeMode.PERCENT and dist and sum(dist) != 100:
        errors["prize_distribution"] = (
            f"Percentages must add up to 100 (they add up to {sum(dist)}).")
    elif data.prize_mode == PrizeMode.FIXED and sum(dist) > data.prize_pool:
        errors["prize_distribution"] = (f"Fixed prizes add up to {sum(dist)} coins, more than the "
                                        f"prize pool of {data.prize_pool}.")
    elif not dist and (data.prize_pool or data.entry_fee):
        errors["prize_distribution"] = "Say how the prize pool is split, e.g. 50, 30, 20."
    return errors


def _apply(tournament: Tournament, data: TournamentInput) -> dict[str, tuple]:
    """Copy `data` onto `tournament`; return {field: (old, new)} of what changed."""
    changes = {}
    for name in TournamentInput.__dataclass_fields__:
        if name == "slug" and not data.slug:
            continue
        new, old = getattr(data, name), getattr(tournament, name, None)
        if old != new:
            changes[name] = (old, new)
            setattr(tournament, name, new)
    return changes


def create(actor: User, data: TournamentInput, request_key: str | None = None) -> Tournament:
    """Create a draft tournament organized by `actor` (once per form submission key)."""
    if earlier := request_keys.replay(actor, request_key, Tournament):
        return earlier
    _fill_defaults(data)
    if errors := validate(data):
        raise Invalid("Please correct the highlighted fields.", errors)
    tournament = Tournament(status=Status.DRAFT, created_by_id=actor.id)
    _apply(tournament, data)
    tournament.slug = data.slug or _unique_slug(slugify(data.name))
    tournament.staff.append(StaffMember(user_id=actor.id, role=StaffRole.ORGANIZER))
    db.session.add(tournament)
    db.session.flush()
    request_keys.remember(actor, request_key, tournament)
    audit.record(actor, "tournament.created", tournament, tournament=tournament,
                 name=tournament.name, slug=tournament.slug)
    return tournament


def edit_version(tournament: Tournament) -> str:
    """What an edit form carries to detect that someone else saved in the meantime."""
    return tournament.updated_at.isoformat()


def update(actor: User, tournament: Tournament, data: TournamentInput,
           seen_version: str | None = None) -> dict[str, tuple]:
    """Change a tournament's settings; bracket-shaping fields freeze once it is live."""
    if tournament.status in (Status.COMPLETED, Status.CANCELLED):
        raise Conflict(f"This tournament is {tournament.status.value.lower()}; "
                       "it can no longer be edited.")
    registrations.lock(tournament)  # slots are counted below; registrations wait meanwhile
    if seen_version and seen_version != edit_version(tournament):
        raise Invalid("Someone else saved changes to this tournament after you opened this "
                      "form. Nothing was saved: reload the page to see their changes.")
    _fill_defaults(data)
    errors = validate(data, existing=tournament)
    taken = entrants.counts(tournament)["registered"]
    if data.capacity < taken and "capacity" not in errors:
        errors["capacity"] = (f"{taken} registrations hold a slot: the capacity cannot go below "
                              "that (remove registrations first).")
    if tournament.status == Status.LIVE:
        for name in FROZEN_WHEN_LIVE:
            if getattr(data, name) != getattr(tournament, name):
                form_name = "game" if name == "game_id" else name
                errors[form_name] = "Cannot change once the tournament is live."
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    changes = _apply(tournament, data)
    if changes:
        audit.record(actor, "tournament.updated", tournament, tournament=tournament,
                     changed=sorted(changes))
        events.record("tournament_updated", tournament_id=tournament.id)
        if {"entry_fee", "capacity"} & changes.keys():
            registrations.settings_changed(tournament)
        if "match_checkin" in changes and tournament.status == Status.LIVE:
            from app.services import match_progression  # (it imports this module)

            match_progression.checkin_setting_changed(tournament)
    return changes


def transition(actor: User, tournament: Tournament, target: Status, expected: Status) -> None:
    """Move the tournament from `expected` to `target`, exactly once even under races."""
    if tournament.status != expected:
        raise Conflict(f"This tournament is now {tournament.status.value}; "
                       "the page you used was out of date.")
    if target not in TRANSITIONS[expected]:
        raise IllegalTransition(
            f"A tournament in {expected.value} cannot move to {target.value}.")
    _set_status(tournament, expected, target)
    audit.record(actor, "tournament.status_changed", tournament, tournament=tournament,
                 old=expected.value, new=target.value)
    if target == Status.CANCELLED:  # in this transaction: cancelled means refunded
        payments.refund_tournament(actor, tournament)


def _set_status(tournament: Tournament, expected: Status, target: Status) -> None:
    # A conditional UPDATE: of two concurrent requests only one sees its expected status.
    result = db.session.execute(
        sa.update(Tournament)
        .where(Tournament.id == tournament.id, Tournament.status == expected)
        .values(status=target, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("This tournament changed in the meantime; reload to see its status.")
    db.session.refresh(tournament)
    events.record("tournament_updated", tournament_id=tournament.id,
                  status=target.value)


def open_checkin_when_due(now: datetime) -> int:
    """Move published tournaments whose check-in window has opened into CHECK_IN."""
    due = db.session.scalars(select(Tournament).where(
        Tournament.status == Status.REGISTRATION, Tournament.checkin_opens_at <= now))
    moved = 0
    for tournament in due:
        try:
            _set_status(tournament, Status.REGISTRATION, Status.CHECK_IN)
        except Conflict:
            continue
        audit.record(None, "tournament.status_changed", tournament, tournament=tournament,
                     old=Status.REGISTRATION.value, new=Status.CHECK_IN.value, by="schedule")
        moved += 1
    return moved


def organized_by(user: User) -> list[Tournament]:
    """Tournaments `user` is staff of (all of them for site admins), newest start first."""
    query = select(Tournament).order_by(Tournament.starts_at.desc())
    if not user.is_admin:
        query = query.join(StaffMember).where(StaffMember.user_id == user.id)
    return list(db.session.scalars(query))


def count_by_status() -> dict[Status, int]:
    rows = db.session.execute(select(Tournament.status, func.count()).group_by(Tournament.status))
    return {status: n for status, n in rows}


LISTING_TABS: dict[str, tuple[Status, ...]] = {
    "upcoming": (Status.REGISTRATION, Status.CHECK_IN),
    "live": (Status.LIVE,),
    "completed": (Status.COMPLETED,),
}


def public_listing(tab: str, game_id: int | None = None, search: str = "",
                   page: int = 1, per_page: int = 30) -> tuple[list[Tournament], bool]:
    """One page of publicly listed tournaments in a tab; the flag says whether more follow."""
    statuses = LISTING_TABS.get(tab, LISTING_TABS["upcoming"])
    query = select(Tournament).where(Tournament.visibility == Visibility.PUBLIC,
                                     Tournament.status.in_(statuses))
    if game_id:
        query = query.where(Tournament.game_id == game_id)
    if search := search.strip():
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Tournament.name).like(f"%{escaped.lower()}%", escape="\\"))
    order = Tournament.starts_at.desc() if tab == "completed" else Tournament.starts_at.asc()
    rows = list(db.session.scalars(
        query.order_by(order, Tournament.id).offset((page - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page
