"""Accounts: sign-up, authentication, profile and password changes."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import User, utcnow
from app.models.user import new_session_token
from app.services import audit
from app.services.errors import Invalid

USERNAME = re.compile(r"^[a-z0-9_]{3,32}$")
MIN_PASSWORD = 8
# Compared against when the username does not exist, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalize_username(username: str) -> str:
    return username.strip().lower()


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalize_username(username)))


def validate_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid("Password too short.", {field: f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > 128:
        raise Invalid("Password too long.", {field: "Use at most 128 characters."})


def sign_up(username: str, display_name: str, email: str, password: str,
            *, is_admin: bool = False, password_hash: str | None = None) -> User:
    """Create an account; raise Invalid with field errors when something is taken or wrong."""
    username = normalize_username(username)
    email = email.strip().lower()
    display_name = display_name.strip() or username
    errors = {}
    if not USERNAME.match(username):
        errors["username"] = "3–32 characters: lowercase letters, digits and _."
    elif find_by_username(username):
        errors["username"] = "That username is taken."
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        errors["email"] = "An account with that email already exists."
    if errors:
        raise Invalid("Please correct the highlighted fields.", errors)
    if password_hash is None:
        validate_password(password)
    user = User(username=username, display_name=display_name[:64], email=email,
                is_admin=is_admin, password_hash=password_hash or "")
    if password_hash is None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(user, "account.created", user, admin=is_admin)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user with these credentials, or None (same cost whether the name exists or not)."""
    user = find_by_username(username)
    if user is None:
        User(password_hash=_DUMMY_HASH).check_password(password)
        return None
    if not user.check_password(password):
        audit.record(user, "account.login_failed", user)
        return None
    user.last_login_at = utcnow()
    audit.record(user, "account.login", user)
    return user


def update_profile(user: User, display_name: str) -> None:
    display_name = display_name.strip()
    if not display_name:
        raise Invalid("Display name is required.", {"display_name": "Enter a display name."})
    old = user.display_name
    user.display_name = display_name[:64]
    audit.record(user, "account.profile_updated", user, old=old, new=user.display_name)


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password and end every other session of this user."""
    if not user.check_password(current):
        raise Invalid("Current password is wrong.",
                      {"current_password": "That is not your current password."})
    validate_password(new, "new_password")
    user.set_password(new)
    user.session_token = new_session_token()
    audit.record(user, "account.password_changed", user)


def make_admin(username: str, email: str, password: str) -> User:
    """Create a site admin, or promote an existing account of that username."""
    user = find_by_username(username)
    if user is not None:
        user.is_admin = True
        audit.record(None, "account.promoted_admin", user)
        return user
    return sign_up(username, username, email, password, is_admin=True)
