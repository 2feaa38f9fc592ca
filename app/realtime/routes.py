"""The WebSocket endpoint: ``/ws?room=<room>&since=<seq>``.

The handshake is checked before it is accepted (Origin, no compression);
then the client's IP is counted against its cap, the socket's rooms are
authorized, it is subscribed, gets what it missed since `since` in one
message (or a snapshot of its rooms), and from then on every fragment of its
rooms. Inbound messages are rate-limited (a page sends none) and capped in size.

Close codes — htmx reconnects after 1001, 1005, 1006, 1011, 1012, 1013 and
1014, not after 1000, 1008 or 1009:
1008 forbidden or unknown room, access lost, too many messages (do not come back);
1009 message too big (simple-websocket, ``SOCK_SERVER_OPTIONS``);
1011 the server failed (come back); 1012 server restart or client too slow
(come back and resync); 1013 too many connections from this IP or room full
(come back later, with htmx's backoff).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, Flask, abort, current_app, request, url_for
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.extensions import db, sock
from app.realtime import limits, rooms
from app.realtime.feed import current_sequence
from app.realtime.hub import hub_for
from app.realtime.limits import TOO_MANY_MESSAGES, TRY_AGAIN_LATER, TokenBucket
from app.realtime.subscriber import Subscriber
from app.services import permissions
from app.web.access import ANYONE, requires

log = logging.getLogger(__name__)

bp = Blueprint("realtime", __name__)

POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
MAX_ROOMS = 4  # rooms one socket may join (a page opens one socket)
IDLE_WAIT = 30.0  # seconds; a safety net, the socket's event wakes the loop
SEND_TIMEOUT = 10.0  # a client that accepts nothing for this long is dropped


class LiveSocket(Subscriber):
    """A subscriber that knows whose socket it is, so access can be checked again later."""

    viewer_id: int | None = None


def register(app: Flask) -> None:
    """Mount the WebSocket route; give templates the current sequence and the socket URL."""
    app.register_blueprint(bp)
    app.jinja_env.globals["live_sequence"] = lambda: current_sequence(db.session)
    app.jinja_env.globals["live_socket_url"] = socket_path


def socket_path(room: str | list[str], since: int) -> str:
    """The socket's URL without scheme and host, so the page's own scheme picks ws or wss."""
    parts = urlsplit(url_for("realtime.socket", room=room, since=since))
    return urlunsplit(("", "", parts.path, parts.query, ""))


@bp.before_request
def _check_handshake() -> None:
    # Runs before flask-sock accepts the upgrade, so a refusal is a plain HTTP 403.
    origin = request.headers.get("Origin")
    if origin is not None and _origin(origin) not in _allowed_origins():
        abort(403, "This site may not open a live connection here.")
    # simple-websocket accepts permessage-deflate whenever it is offered; it costs ~5x
    # CPU per send and ~6x memory per socket, so the server never sees the offer.
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def _origin(url: str) -> str:
    parts = urlsplit(url.strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return ""
    netloc = parts.hostname or ""
    if port and port != default:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}"


def _allowed_origins() -> set[str]:
    config = current_app.config
    allowed = {_origin(config.get("PUBLIC_BASE_URL") or "")}
    allowed |= {_origin(o) for o in config.get("WS_ALLOWED_ORIGINS") or ()}
    for origin in list(allowed):  # the two names of the loopback are the same site
        for a, b in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
            if f"://{a}" in origin:
                allowed.add(origin.replace(f"://{a}", f"://{b}", 1))
    allowed.discard("")
    return allowed


@sock.route("/ws", bp=bp)
@requires(ANYONE)
def socket(ws) -> None:
    """A page's live connection: what it missed since `since`, then its rooms' fragments."""
    app = current_app._get_current_object()
    ip = request.remote_addr or "unknown"  # the client's own address under TRUST_PROXY
    connections = limits.connections_for(app)
    if not connections.acquire(ip):
        db.session.remove()
        _close(ws, TRY_AGAIN_LATER, "Too many live connections from your address.")
        return
    try:
        _live(ws, app)
    finally:  # also after resets and timeouts: the slot is always given back
        connections.release(ip)


def _live(ws, app: Flask) -> None:
    watched = _authorized_rooms(request.args.getlist("room"))
    since = request.args.get("since", "")
    viewer = current_user.id if current_user.is_authenticated else None
    db.session.remove()  # hold no connection or snapshot for the socket's lifetime
    if not watched or (since and not since.isdigit()):
        _close(ws, POLICY_VIOLATION, "This room does not exist or is not open to you.")
        return
    subscriber = LiveSocket(frozenset(watched), frozenset(watched.values()),
                            limit=app.config.get("WS_SEND_QUEUE", 100), wake=ws.event)
    subscriber.viewer_id = viewer
    try:
        hub = hub_for(app)
    except Exception:  # a hub failure fails this socket only, and the client retries
        log.exception("realtime hub unavailable")
        _close(ws, INTERNAL_ERROR, "Live updates are unavailable; retrying.")
        return
    hub.subscribe(subscriber)  # before catching up, so nothing falls between the two
    try:
        if subscriber.close_code is not None:  # refused (room full, server stopping)
            _close(ws, subscriber.close_code, subscriber.close_reason)
            return
        # A function, not the string: held for the socket's lifetime, the catch-up (often
        # a whole bracket) would cost every socket its size in memory.
        _serve(ws, subscriber, lambda: hub.catch_up(subscriber, int(since) if since else None),
               limits.bucket_for(app))
    except Exception:
        log.exception("live connection failed")
        _close(ws, INTERNAL_ERROR, "Live updates failed; retrying.")
    finally:
        hub.unsubscribe(subscriber)


def _authorized_rooms(names: list[str]) -> dict[str, int] | None:
    """{room: tournament id} when every asked room exists and the user may watch it."""
    if not 0 < len(names) <= MAX_ROOMS:
        return None
    user = current_user if current_user.is_authenticated else None
    watched = {}
    for name in names:
        tournament = rooms.owner(name)
        if tournament is None or not permissions.can_view(user, tournament):
            return None
        watched[name] = tournament.id
    return watched


def _serve(ws, subscriber: Subscriber, first: Callable[[], str], inbound: TokenBucket) -> None:
    """Send `first()`, then queued fragments as they come, until either side closes."""
    if ws.ping_interval:  # simple-websocket reads only after select(), so this bounds sends
        ws.sock.settimeout(SEND_TIMEOUT)
    try:
        ws.send(first())
        subscriber.attach(ws.sock)  # from now on the hub may write frames to it directly
        while _turn(ws, subscriber, inbound):
            pass
    except (ConnectionClosed, OSError):
        return  # the peer is gone or stalled: nothing more to do


def _turn(ws, subscriber: Subscriber, inbound: TokenBucket) -> bool:
    """One turn of the socket's loop: send what is queued, or wait; False when done."""
    subscriber.wake.clear()
    while ws.receive(timeout=0) is not None:  # pages send nothing yet: drop it, but count it
        if not inbound.take():
            _close(ws, TOO_MANY_MESSAGES, "Too many messages.")
            return False
    if not ws.connected:
        return False
    if subscriber.close_code is not None:
        _close(ws, subscriber.close_code, subscriber.close_reason)
        return False
    if not subscriber.flush(ws.sock.sendall):  # frames the hub encoded and could not send
        subscriber.wake.wait(IDLE_WAIT)
    return True


def _close(ws, code: int, reason: str) -> None:
    try:
        ws.close(code, reason)
    except (ConnectionClosed, OSError):
        pass  # already closed by the peer
