"""Error responses: a page, an in-place htmx fragment, or JSON under /api/."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.services.errors import DomainError

TITLES = {
    400: "That request was not valid",
    401: "Please log in",
    403: "You are not allowed to do that",
    404: "Page not found",
    405: "Method not allowed",
    409: "This changed in the meantime",
    413: "That upload is too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}

MESSAGES = {
    404: "We could not find what you were looking for.",
    413: "Files may be at most 5 MB.",
    500: "The error was logged. Nothing you entered was saved; please try again.",
}

CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 429: "rate_limited", 500: "server_error"}


def error_response(status: int, message: str, code: str | None = None,
                   fields: dict[str, str] | None = None) -> tuple[Response | str, int]:
    """Render an error the way the client asked for it."""
    code = code or CODES.get(status, "error")
    if request.path.startswith("/api/"):
        return jsonify(error={"code": code, "message": message, "fields": fields or {}}), status
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    if request.headers.get("HX-Request"):
        return render_template("partials/error.html", **context), status
    return render_template("pages/errors/error.html", **context), status


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        db.session.rollback()
        return error_response(error.status, error.message, error.code, error.fields)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        db.session.rollback()
        return error_response(
            400,
            "This form has expired or did not come from this site. "
            "Reload the page and try again; nothing was changed.",
            "csrf",
        )

    @app.errorhandler(RateLimitExceeded)
    def _limited(error: RateLimitExceeded):
        return error_response(
            429, f"Too many attempts ({error.description}). Wait a minute and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, InternalServerError):
            db.session.rollback()
        message = MESSAGES.get(error.code) or error.description or ""
        return error_response(error.code, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, MESSAGES[500])
