"""Bracketeer: run esports tournaments live."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask, abort, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import INSTANCE, ROOT, from_environment, normalize_database_url


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides what the environment says."""
    load_dotenv(ROOT / ".env")
    config = config or {}
    settings = from_environment(config.get("ENV_NAME"))
    settings.update(config)
    uri = settings["SQLALCHEMY_DATABASE_URI"]
    settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(uri)
    instance = Path(settings.get("INSTANCE_DIR", INSTANCE))
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(instance),
    )
    app.config.update(settings)
    if app.config.get("TRUST_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    _init_extensions(app)
    _register_request_hooks(app)
    _register_blueprints(app)
    from app.web import errors, templating

    errors.register(app)
    templating.register(app)
    from app import cli

    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (register every table)
    from app.database import configure_engine
    from app.extensions import csrf, db, limiter, login_manager, migrate, sock

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    sock.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    with app.app_context():
        configure_engine(db.engine)


def _load_user(identity: str):
    """Load the user named by a login cookie, if its session token is still current."""
    from app.extensions import db
    from app.models import User

    user_id, _, token = identity.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def _register_request_hooks(app: Flask) -> None:
    from app.database import begin_write_intent, end_write_intent
    from app.services.audit import set_client_ip
    from app.web.access import rule_of

    @app.before_request
    def _prepare() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            g.write_intent = begin_write_intent()
        set_client_ip(request.remote_addr)
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and request.endpoint != "static" and rule_of(view) is None:
            abort(403)  # fail closed: every endpoint must declare who may use it

    @app.teardown_request
    def _finish(_error: BaseException | None) -> None:
        if (token := g.pop("write_intent", None)) is not None:
            end_write_intent(token)


def _register_blueprints(app: Flask) -> None:
    from app.realtime import routes as realtime_routes
    from app.web.admin.routes import bp as admin_bp
    from app.web.api.routes import bp as api_bp
    from app.web.auth.routes import bp as auth_bp
    from app.web.brackets.routes import bp as brackets_bp
    from app.web.match_admin.routes import bp as match_admin_bp
    from app.web.matches.routes import bp as matches_bp
    from app.web.ops.routes import bp as ops_bp
    from app.web.organizer.routes import bp as organizer_bp
    from app.web.payments.routes import bp as payments_bp
    from app.web.public.routes import bp as public_bp
    from app.web.registration_panel.routes import bp as registration_panel_bp
    from app.web.registrations.routes import bp as registrations_bp
    from app.web.staff.routes import bp as staff_bp
    from app.web.teams.routes import bp as teams_bp
    from app.web.wallet.routes import bp as wallet_bp

    for bp in (public_bp, auth_bp, organizer_bp, staff_bp, teams_bp, admin_bp, ops_bp, api_bp):
        app.register_blueprint(bp)
    app.register_blueprint(wallet_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(registration_panel_bp)
    app.register_blueprint(registrations_bp)
    app.register_blueprint(brackets_bp)
    app.register_blueprint(matches_bp)
    app.register_blueprint(match_admin_bp)
    realtime_routes.register(app)
