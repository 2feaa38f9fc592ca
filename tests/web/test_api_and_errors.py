"""The JSON API, error responses in their three shapes, and the health probes."""

from __future__ import annotations

from app.models import Visibility


def test_api_lists_public_tournaments(client, make_tournament):
    make_tournament("open-one")
    make_tournament("secret", visibility=Visibility.PRIVATE)
    body = client.get("/api/tournaments").get_json()
    assert [t["slug"] for t in body["tournaments"]] == ["open-one"]
    assert body["tournaments"][0]["rules"]["best_of"] == 1


def test_api_errors_are_json(client, make_tournament):
    make_tournament("secret", visibility=Visibility.PRIVATE)
    for path, status, code in [("/api/tournaments/nope", 404, "not_found"),
                               ("/api/tournaments/secret", 404, "not_found"),
                               ("/api/tournaments?tab=bogus", 400, "invalid")]:
        response = client.get(path)
        assert response.status_code == status
        error = response.get_json()["error"]
        assert error["code"] == code and error["message"]
    assert client.get("/api/tournaments?tab=bogus").get_json()["error"]["fields"] == {
        "tab": "One of: upcoming, live, completed."}


def test_html_errors_are_friendly_pages(client):
    response = client.get("/t/does-not-exist")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "<html" in page


def test_htmx_errors_are_fragments_shown_in_place(client):
    response = client.get("/t/does-not-exist", headers={"HX-Request": "true"})
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'class="error-box"' in body


def test_oversized_request_is_413(client, player):
    response = client.post("/signup", data={"username": "x" * (7 * 1024 * 1024)})
    assert response.status_code == 413
    assert "at most 5 MB" in response.get_data(as_text=True)


def test_method_not_allowed_is_405(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_and_readyz(client, app):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    expected = {"database": "ok"} | ({"redis": "ok"} if app.config["REDIS_URL"] else {})
    assert ready.get_json()["checks"] == expected


def test_readyz_reports_an_unreachable_redis(app, client):
    app.config["REDIS_URL"], saved = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = saved
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("error")


def test_unexpected_errors_are_a_500_page_without_details(settings):
    from app import create_app
    from app.web.access import ANYONE, requires

    fresh = create_app(dict(settings))

    @fresh.get("/__boom")
    @requires(ANYONE)
    def boom():
        raise RuntimeError("secret detail")

    response = fresh.test_client().get("/__boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret detail" not in body and "Something went wrong on our side" in body


def test_endpoint_without_an_access_rule_is_refused(settings):
    from app import create_app

    fresh = create_app(dict(settings))
    fresh.add_url_rule("/__unguarded", "unguarded", lambda: "should not be served")
    assert fresh.test_client().get("/__unguarded").status_code == 403
