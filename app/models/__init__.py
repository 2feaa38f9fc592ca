"""Every model, imported so that metadata and Alembic see all tables."""

from app.models.audit import AuditLog
from app.models.base import Base, utcnow
from app.models.bracket import (
    Bracket,
    BracketEntrant,
    Match,
    MatchEvent,
    MatchState,
    MatchStatus,
    Notification,
    Rating,
    ResultSubmission,
    SeedingDraft,
    SeedingMethod,
    Separation,
    SubmissionStatus,
)
from app.models.game import LOBBY_FIELDS, Game
from app.models.ledger import Account, AccountKind, LedgerEntry, LedgerTransaction
from app.models.outbox import OutboxEvent
from app.models.payment import Payment, PaymentMethod, PaymentStatus
from app.models.registration import (
    ACTIVE,
    HOLDS_SLOT,
    MemberRole,
    Registration,
    RegistrationMember,
    RegistrationStatus,
)
from app.models.request_key import RequestKey
from app.models.team import InviteStatus, Team, TeamInvite, TeamMember
from app.models.tournament import (
    Format,
    GrandFinal,
    PrizeMode,
    StaffMember,
    StaffRole,
    Status,
    Tournament,
    Visibility,
)
from app.models.user import User

__all__ = [
    "Bracket",
    "BracketEntrant",
    "Match",
    "MatchEvent",
    "MatchState",
    "MatchStatus",
    "Notification",
    "ResultSubmission",
    "SubmissionStatus",
    "Rating",
    "SeedingDraft",
    "SeedingMethod",
    "Separation",
    "ACTIVE",
    "HOLDS_SLOT",
    "Account",
    "AccountKind",
    "LedgerEntry",
    "LedgerTransaction",
    "MemberRole",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Registration",
    "RegistrationMember",
    "RegistrationStatus",
    "LOBBY_FIELDS",
    "AuditLog",
    "Base",
    "Format",
    "Game",
    "GrandFinal",
    "InviteStatus",
    "OutboxEvent",
    "PrizeMode",
    "RequestKey",
    "StaffMember",
    "StaffRole",
    "Status",
    "Team",
    "TeamInvite",
    "TeamMember",
    "Tournament",
    "User",
    "Visibility",
    "utcnow",
]
