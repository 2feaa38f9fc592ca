"""Sign-up, login, logout, profile and password changes."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from tests.conftest import PASSWORD, login


def test_signup_creates_account_and_logs_in(client):
    response = client.post("/signup", data={"username": "NewPlayer", "display_name": "New P",
                                            "email": "new@example.com", "password": "longenough1"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "newplayer"))
    assert user is not None and user.check_password("longenough1")
    assert user.password_hash.startswith("scrypt:")
    assert "New P" in client.get("/").get_data(as_text=True)


def test_signup_with_taken_username_shows_field_error_and_creates_nothing(client, player):
    response = client.post("/signup", data={"username": "player", "display_name": "x",
                                            "email": "other@example.com",
                                            "password": "longenough1"})
    assert response.status_code == 400
    assert "That username is taken." in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_signup_rejects_bad_input_field_by_field(client):
    response = client.post("/signup", data={"username": "a b", "display_name": "",
                                            "email": "not-an-email", "password": "short"})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please correct the highlighted fields" in body
    assert body.count('class="error"') >= 3
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_login_with_right_password(client, player):
    response = client.post("/login", data={"username": "Player", "password": PASSWORD})
    assert response.status_code == 302
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_login_with_wrong_password_is_refused_and_audited(client, player):
    response = client.post("/login", data={"username": "player", "password": "nope-nope"})
    assert response.status_code == 400
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.actor_id == player.id)) \
        == "account.login_failed"


def test_login_rotates_the_session(client, player):
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    client.post("/login", data={"username": "player", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_login_attempts_are_rate_limited_per_account(client, player):
    for _ in range(5):
        client.post("/login", data={"username": "player", "password": "wrong-pass"})
    response = client.post("/login", data={"username": "player", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_login_attempts_are_rate_limited_per_ip(app, client, make_user):
    for i in range(20):
        client.post("/login", data={"username": f"ghost{i}", "password": "wrong-pass"})
    response = client.post("/login", data={"username": "ghost-x", "password": "wrong-pass"})
    assert response.status_code == 429


def test_open_redirect_after_login_is_ignored(client, player):
    response = client.post("/login?next=//evil.example/", data={"username": "player",
                                                                "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_logout_ends_the_session(client, player):
    login(client, player)
    client.post("/logout")
    assert client.get("/account").status_code == 302


def test_display_name_can_be_changed(client, player):
    login(client, player)
    response = client.post("/account/profile", data={"display_name": "The Player"})
    assert response.status_code == 302
    db.session.refresh(player)
    assert player.display_name == "The Player"


def test_empty_display_name_is_refused(client, player):
    login(client, player)
    response = client.post("/account/profile", data={"display_name": "  "})
    assert response.status_code == 400
    db.session.refresh(player)
    assert player.display_name == "Player"


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, player):
    other_device = app.test_client()
    login(client, player)
    login(other_device, player)
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "brand-new-pass",
        "confirm": "brand-new-pass"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    db.session.refresh(player)
    assert player.check_password("brand-new-pass")


def test_password_change_needs_the_current_password(client, player):
    login(client, player)
    response = client.post("/account/password", data={
        "current_password": "wrong", "new_password": "brand-new-pass", "confirm": "brand-new-pass"})
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    db.session.refresh(player)
    assert player.check_password(PASSWORD)


def test_cookie_flags(client, player):
    response = client.post("/login", data={"username": "player", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_create_admin_command(runner):
    result = runner.invoke(args=["users", "create-admin", "--username", "boss",
                                 "--email", "boss@example.com", "--password", "sup3rsecret"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "boss"))
    assert user.is_admin


def test_two_signups_for_one_username_at_once_make_one_account(app):
    import threading

    barrier = threading.Barrier(4)
    statuses = []

    def sign_up(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/signup", data={"username": "racer", "display_name": f"R{i}",
                                                "email": f"racer{i}@example.com",
                                                "password": "longenough1"})
        statuses.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in statuses)
    assert codes == [302, 400, 400, 400]
    for code, body in statuses:
        if code == 400:
            assert "That username is taken." in body or "same moment" in body
    assert db.session.scalar(select(db.func.count(User.id))) == 1
