"""Template helpers shared by pages and fragments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from markupsafe import Markup

from app.models import RegistrationStatus

# How a registration's status reads on every page, the CSV export included.
REGISTRATION_LABELS = {
    RegistrationStatus.PENDING_PAYMENT: "Entry fee due",
    RegistrationStatus.CONFIRMED: "Confirmed",
    RegistrationStatus.WAITLISTED: "Waitlisted",
    RegistrationStatus.WITHDRAWN: "Withdrawn",
    RegistrationStatus.REMOVED: "Removed",
}


def dom_id(obj: Any, suffix: str = "") -> str:
    """The one DOM id of a model object (`match-42`), so pushes find their element."""
    name = type(obj).__name__.lower()
    base = f"{name}-{obj.id}"
    return f"{base}-{suffix}" if suffix else base


def format_dt(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M UTC") -> str:
    return value.strftime(fmt) if value else "—"


def local_time(value: datetime | None) -> Markup:
    """A <time> element; static/js/app.js rewrites it into the viewer's local time."""
    if value is None:
        return Markup("—")
    iso = value.isoformat()
    return Markup(f'<time datetime="{iso}">{format_dt(value)}</time>')


def register(app: Flask) -> None:
    app.jinja_env.globals["dom_id"] = dom_id
    app.jinja_env.globals["registration_labels"] = REGISTRATION_LABELS
    app.jinja_env.filters["dt"] = format_dt
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
