"""Sign-up, login, logout and the account page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from app.extensions import db, limiter
from app.services import accounts
from app.web.access import ANYONE, SIGNED_IN, requires
from app.web.auth.forms import LoginForm, PasswordForm, ProfileForm, SignupForm
from app.web.forms import submit

bp = Blueprint("auth", __name__)


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def _start_session(user) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login
    login_user(user)


def _account_key() -> str:
    return "login-account:" + accounts.normalize_username(request.form.get("username", ""))


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/signup", methods=["GET", "POST"])
@requires(ANYONE)
def signup():
    """Create an account and log in."""
    form = SignupForm()
    done = submit(form, lambda: accounts.sign_up(form.username.data, form.display_name.data,
                                                 form.email.data, form.password.data))
    if done.ok:
        _start_session(done.value)
        flash(f"Welcome, {done.value.display_name}!", "success")
        return redirect(_safe_next(url_for("public.index")))
    status = 400 if form.errors else 200
    return render_template("pages/auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@requires(ANYONE)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    """Log in with username and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        db.session.commit()
        if user is not None:
            _start_session(user)
            return redirect(_safe_next(url_for("public.index")))
        form.form_errors.append("Wrong username or password.")
    status = 400 if form.errors or form.form_errors else 200
    return render_template("pages/auth/login.html", form=form), status


@bp.post("/logout")
@requires(ANYONE)
def logout():
    """End this session."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("public.index"))


@bp.get("/account")
@requires(SIGNED_IN)
def account():
    """Profile and password forms."""
    return render_template("pages/auth/account.html", profile=ProfileForm(obj=current_user),
                           password=PasswordForm(formdata=None))


@bp.post("/account/profile")
@requires(SIGNED_IN)
def account_profile():
    """Change the display name."""
    profile = ProfileForm()
    if submit(profile, lambda: accounts.update_profile(current_user,
                                                        profile.display_name.data)).ok:
        flash("Display name saved.", "success")
        return redirect(url_for("auth.account"))
    return render_template("pages/auth/account.html", profile=profile,
                           password=PasswordForm(formdata=None)), 400


@bp.post("/account/password")
@requires(SIGNED_IN)
def account_password():
    """Change the password; every other session of this account ends."""
    password = PasswordForm()
    if submit(password, lambda: accounts.change_password(
            current_user, password.current_password.data, password.new_password.data)).ok:
        _start_session(current_user._get_current_object())
        flash("Password changed. Your other sessions were logged out.", "success")
        return redirect(url_for("auth.account"))
    return render_template("pages/auth/account.html", profile=ProfileForm(obj=current_user),
                           password=password), 400
