"""The organizer's registration panel: the filtered table, and bulk actions on a selection.

Reading is done in a fixed number of queries whatever the number of rows: the
registrations with their user and team (joined), each one's latest payment (an
outer join on a per-registration max(id) subquery), the rosters (one selectin
query) and the waitlist order (one query of ids).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import (
    MemberRole,
    Payment,
    PaymentStatus,
    Registration,
    RegistrationMember,
    RegistrationStatus,
    Team,
    Tournament,
    User,
)
from app.services import checkin, registrations
from app.services.errors import DomainError, Invalid

PAGE_SIZE = 100
EXPORT_BATCH = 200
SEARCH_MAX = 100
REASON_MAX = 500


class PaymentState(enum.StrEnum):
    """What the latest payment of a registration says (NONE: there is no payment)."""

    NONE = "none"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Filters:
    """The panel's filters; None (or an empty search) means "any"."""

    status: RegistrationStatus | None = None
    payment: PaymentState | None = None
    checked_in: bool | None = None
    search: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the table: a registration, its latest payment and its waitlist place."""

    registration: Registration
    payment: Payment | None
    waitlist_position: int | None

    @property
    def payment_state(self) -> PaymentState:
        if self.payment is None:
            return PaymentState.NONE
        return PaymentState(self.payment.status.value.lower())

    @property
    def players(self) -> list[User]:
        return [m.user for m in self.registration.members if m.role == MemberRole.PLAYER]

    @property
    def substitutes(self) -> list[User]:
        return [m.user for m in self.registration.members if m.role == MemberRole.SUBSTITUTE]


@dataclass(frozen=True)
class TablePage:
    """One page of rows, and where it is among all rows that match the filters."""

    rows: list[Row]
    total: int
    page: int
    pages: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


# --- reading -------------------------------------------------------------------------


def table(tournament: Tournament, filters: Filters, page: int = 1) -> TablePage:
    """The registrations matching `filters`, in registration order, one page at a time."""
    total = db.session.scalar(
        _filtered(tournament, filters).with_only_columns(func.count(Registration.id))
        .order_by(None)) or 0
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    query = _filtered(tournament, filters).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return TablePage(_rows(tournament, query), total, page, pages)


def export(tournament: Tournament, filters: Filters, batch: int = EXPORT_BATCH) -> Iterator[Row]:
    """Every row matching `filters`, fetched `batch` at a time (keyset on the id)."""
    positions = waitlist_positions(tournament)
    after = 0
    while True:
        query = _filtered(tournament, filters).where(Registration.id > after).limit(batch)
        rows = _rows(tournament, query, positions)
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].registration.id


def status_counts(tournament: Tournament) -> dict[RegistrationStatus, int]:
    """How many registrations are in each status (for the filter's labels)."""
    counts = db.session.execute(
        select(Registration.status, func.count(Registration.id))
        .where(Registration.tournament_id == tournament.id).group_by(Registration.status))
    found = dict(counts.all())
    return {status: found.get(status, 0) for status in RegistrationStatus}


def waitlist_positions(tournament: Tournament) -> dict[int, int]:
    """Registration id -> place on the waitlist (1 first; promoted in id order)."""
    ids = db.session.scalars(
        select(Registration.id)
        .where(Registration.tournament_id == tournament.id,
               Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.id))
    return {reg_id: place for place, reg_id in enumerate(ids, start=1)}


def _latest_payments(tournament: Tournament):
    """registration_id -> id of its newest payment, as a subquery."""
    return (select(Payment.registration_id, func.max(Payment.id).label("payment_id"))
            .where(Payment.tournament_id == tournament.id)
            .group_by(Payment.registration_id).subquery("latest_payment"))


def _filtered(tournament: Tournament, filters: Filters) -> Select:
    latest = _latest_payments(tournament)
    query = (select(Registration, Payment)
             .outerjoin(latest, latest.c.registration_id == Registration.id)
             .outerjoin(Payment, Payment.id == latest.c.payment_id)
             .where(Registration.tournament_id == tournament.id)
             .order_by(Registration.id))
    if filters.status is not None:
        query = query.where(Registration.status == filters.status)
    if filters.payment == PaymentState.NONE:
        query = query.where(Payment.id.is_(None))
    elif filters.payment is not None:
        query = query.where(Payment.status == PaymentStatus(filters.payment.value.upper()))
    if filters.checked_in is not None:
        column = Registration.checked_in_at
        query = query.where(column.is_not(None) if filters.checked_in else column.is_(None))
    if filters.search:
        query = query.where(_matches(filters.search))
    return query


def _matches(search: str):
    """Registrations whose team name, or a member's display name or username, contains it."""
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"

    def like(column):
        return func.lower(column).like(pattern, escape="\\")

    users = select(User.id).where(or_(like(User.display_name), like(User.username)))
    member = (select(RegistrationMember.id)
              .where(RegistrationMember.registration_id == Registration.id,
                     RegistrationMember.user_id.in_(users)).exists())
    team = Registration.team_id.in_(select(Team.id).where(like(Team.name)))
    return or_(team, member, Registration.user_id.in_(users))


def _rows(tournament: Tournament, query: Select,
          positions: dict[int, int] | None = None) -> list[Row]:
    found = db.session.execute(query.options(selectinload(Registration.members))).all()
    if positions is None and any(r.status == RegistrationStatus.WAITLISTED for r, _ in found):
        positions = waitlist_positions(tournament)
    positions = positions or {}
    return [Row(reg, payment, positions.get(reg.id)) for reg, payment in found]


# --- bulk actions ----------------------------------------------------------------------


@dataclass(frozen=True)
class BulkAction:
    label: str  # the button
    done: str  # the flash: "{n} registration(s) {done}."
    # Runs one registration through its service; False when it was in that state already.
    apply: Callable[[User, Registration, str], bool]


BULK_ACTIONS: dict[str, BulkAction] = {
    "check_in": BulkAction("Check in", "checked in",
                           lambda actor, reg, _r: checkin.staff_check_in(actor, reg)),
    "check_out": BulkAction("Check out", "checked out",
                            lambda actor, reg, _r: checkin.staff_check_out(actor, reg)),
    "reinstate": BulkAction("Reinstate", "reinstated",
                            lambda actor, reg, _r: registrations.reinstate(actor, reg)),
    "remove": BulkAction("Remove", "removed",
                         lambda actor, reg, reason: registrations.remove(actor, reg, reason)),
}


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: the registrations it changed, and those already done."""

    changed: list[Registration]
    unchanged: list[Registration]


@dataclass(frozen=True)
class Refusal:
    """Why one selected registration could not take the action."""

    registration_id: int
    name: str
    message: str
    status: int


class BulkRefused(DomainError):
    """Some selected registrations refused the action; nothing was applied."""

    def __init__(self, refusals: list[Refusal]) -> None:
        count = len(refusals)
        super().__init__(f"Nothing was changed: {count} selected registration"
                         f"{'s' if count != 1 else ''} could not take this action.")
        self.refusals = refusals
        # A conflict (state changed, or not allowed in this state) wins over bad input.
        statuses = [r.status for r in refusals]
        self.status = 409 if 409 in statuses else statuses[0]
        self.code = "conflict" if self.status == 409 else "invalid"


def apply_bulk(actor: User, tournament: Tournament, action: str,
               selection: dict[int, int | None], reason: str = "") -> BulkResult:
    """Apply `action` to every selected registration, all or nothing.

    `selection` maps a registration id to the version the page showed (None: unchecked).
    Each registration runs in its own savepoint so that every refusal is collected;
    if there is any, BulkRefused lists them all and the caller rolls everything back.
    """
    bulk_action = BULK_ACTIONS.get(action)
    if bulk_action is None:
        raise Invalid("Choose what to do with the selected registrations.")
    if not selection:
        raise Invalid("Select at least one registration first; nothing was changed.")
    reason = " ".join((reason or "").split())
    if action == "remove":
        _validate_reason(reason)
    # One bulk action at a time per tournament (and none while a player registers or checks
    # in): the versions compared below are then the current ones.
    registrations.lock(tournament)
    result, refusals = BulkResult([], []), []
    selected = _selected(tournament, selection)
    # Compared once, before anything runs: an action on one row may change another (removing
    # a slot-holder promotes a waitlisted one), which is not the page being out of date.
    stale = {reg.id: selection[reg.id] not in (None, reg.version) for reg in selected}
    for reg in selected:
        outcome = _apply_one(actor, bulk_action, reg, stale[reg.id], reason)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        else:
            (result.changed if outcome else result.unchanged).append(reg)
    if refusals:
        raise BulkRefused(refusals)
    return result


def _validate_reason(reason: str) -> None:
    if not reason:
        message = "Give a reason for removing them (the players see it)."
        raise Invalid(message, {"reason": message})
    if len(reason) > REASON_MAX:
        message = f"Keep the reason under {REASON_MAX} characters."
        raise Invalid(message, {"reason": message})


def _selected(tournament: Tournament, selection: dict[int, int | None]) -> list[Registration]:
    """The selected registrations, all of them of `tournament` (else Invalid)."""
    found = list(db.session.scalars(
        select(Registration)
        .where(Registration.id.in_(selection), Registration.tournament_id == tournament.id)
        .order_by(Registration.id).execution_options(populate_existing=True)))
    if len(found) != len(selection):
        # Never say which ids exist elsewhere.
        raise Invalid("Some selected registrations are not part of this tournament "
                      "(reload the page); nothing was changed.")
    return found


class _Stale(Exception):
    """The action would change a registration that changed since the page was loaded."""


def _apply_one(actor: User, bulk_action: BulkAction, reg: Registration, stale: bool,
               reason: str) -> Refusal | bool:
    """Run the action on one registration in a savepoint: True, False (no-op) or a Refusal.

    A registration that changed since the page showed it is refused, unless the action
    finds it done already: a double-submitted form is then a no-op, not an error.
    """
    name = reg.name
    try:
        with db.session.begin_nested():
            changed = bulk_action.apply(actor, reg, reason) is not False
            if changed and stale:
                raise _Stale
    except _Stale:
        return Refusal(reg.id, name, "It changed since this page was loaded; "
                       "here is its current state.", 409)
    except DomainError as error:
        return Refusal(reg.id, name, error.message, error.status)
    except StaleDataError:
        return Refusal(reg.id, name, "It changed at the same moment; here is its current "
                       "state.", 409)
    except IntegrityError:
        return Refusal(reg.id, name, "It collides with another registration of this "
                       "tournament (a player is registered again).", 409)
    return changed
