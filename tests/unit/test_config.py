"""Settings read from the environment."""

from __future__ import annotations

import pytest

from app.config import from_environment, normalize_database_url


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_need_no_services(env, tmp_path):
    config = from_environment("development")
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'bracketeer.sqlite3'}"
    assert config["REDIS_URL"] is None and config["JOBS_BACKEND"] == "inprocess"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_secret_key_is_generated_once_and_kept(env, tmp_path):
    first = from_environment("development")["SECRET_KEY"]
    assert len(first) > 40 and from_environment("development")["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key(env):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        from_environment("production")


def test_https_base_url_makes_cookies_secure(env):
    assert from_environment("development")["SESSION_COOKIE_SECURE"] is False
    env.setenv("PUBLIC_BASE_URL", "https://cup.example.com")
    config = from_environment("development")
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]


def test_redis_url_switches_to_redis_backends(env):
    env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    config = from_environment("development")
    assert config["JOBS_BACKEND"] == "rq"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("url", ["postgres://u@h/db", "postgresql://u@h/db"])
def test_postgres_urls_use_psycopg2(url):
    assert normalize_database_url(url) == "postgresql+psycopg2://u@h/db"
