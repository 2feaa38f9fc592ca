"""Demo registrations, payments, wallets and check-ins, made through the real services.

Idempotent like the rest of the demo: each tournament is only filled when it has
no registrations yet, and grants use fixed ledger keys.
"""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import LedgerTransaction, Registration, Status, Team, Tournament, User, utcnow
from app.services import checkin, ledger, payments, registrations

# A valid 1x1 PNG, standing in for a screenshot of a bank transfer.
PROOF_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def load(users: dict[str, User]) -> dict[str, int]:
    """Fill the demo tournaments with participants; return what was created."""
    created = {"grants": 0, "registrations": 0}
    _wallets(users, created)
    _winter_open(users, created)
    _swiss_league(users, created)
    _arena_showdown(users, created)
    return created


def _tournament(slug: str) -> Tournament:
    return db.session.scalar(select(Tournament).where(Tournament.slug == slug))


def _empty(tournament: Tournament) -> bool:
    return db.session.scalar(select(Registration.id).where(
        Registration.tournament_id == tournament.id)) is None


def _wallets(users: dict[str, User], created: dict) -> None:
    """Every player gets a welcome grant; the first ones a second, so histories differ."""
    for n in range(1, 41):
        name = f"player{n:02d}"
        for key, amount, reason in ((f"demo-welcome:{name}", 200, "Welcome bonus"),
                                    (f"demo-prize:{name}", 150, "Last season's prize")):
            if key.startswith("demo-prize") and n > 10:
                continue
            if db.session.scalar(select(LedgerTransaction.id).where(
                    LedgerTransaction.idempotency_key == f"grant:{key}")):
                continue
            ledger.grant(users["admin"], users[name], amount, reason, key)
            created["grants"] += 1


def _winter_open(users: dict[str, User], created: dict) -> None:
    """Entry fee 50: some paid from wallets, one proof waiting for review, some unpaid."""
    t = _tournament("winter-open")
    if t is None or not _empty(t):
        return
    for n in range(1, 15):
        player = users[f"player{n:02d}"]
        registration = registrations.register_solo(player, t)
        created["registrations"] += 1
        if n <= 9:
            payments.pay_with_wallet(player, registration)
        elif n == 10:
            proof = FileStorage(stream=io.BytesIO(PROOF_PNG), filename="transfer.png")
            payments.submit_proof(player, registration, proof)


def _swiss_league(users: dict[str, User], created: dict) -> None:
    """A free tournament: registered players are confirmed at once."""
    t = _tournament("swiss-league")
    if t is None or not _empty(t):
        return
    for n in range(20, 41):
        registrations.register_solo(users[f"player{n:02d}"], t)
        created["registrations"] += 1


def _arena_showdown(users: dict[str, User], created: dict) -> None:
    """A team tournament in check-in: six teams registered, four of them checked in."""
    t = _tournament("arena-showdown")
    if t is None or not _empty(t):
        return
    now = utcnow().replace(second=0, microsecond=0)
    # Registration happened before check-in opened: replay that order of events.
    status, opens = t.status, t.checkin_opens_at
    t.status = Status.REGISTRATION
    t.registration_closes_at = t.checkin_opens_at = now + timedelta(minutes=5)
    teams = list(db.session.scalars(select(Team).order_by(Team.id).limit(6)))
    entries = []
    for team in teams:
        members = [m.user_id for m in team.members]
        entries.append(registrations.register_team(
            team.captain, t, team, members[:3], members[3:4]))
        created["registrations"] += 1
    t.status, t.checkin_opens_at = status, min(opens, now - timedelta(minutes=10))
    t.registration_closes_at = t.checkin_opens_at
    db.session.flush()
    for registration, team in zip(entries[:4], teams[:4], strict=True):
        checkin.check_in(team.captain, registration)
