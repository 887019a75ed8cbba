"""The web page's credentials and words, without a server: password hashes, the API token's
minimum, the session key file, the session cookie, the login rate limit, schedules in words."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from core.errors import Refused
from heartbeat.web.auth import (
    MIN_PASSWORD,
    LoginLimiter,
    Sessions,
    api_token,
    hash_password,
    password_matches,
    secret_key,
)
from heartbeat.web.words import schedule_words


def test_a_password_hash_matches_its_password_only():
    hashed = hash_password("a good long password")
    assert hashed.startswith("$argon2id$")
    assert password_matches(hashed, "a good long password")
    assert not password_matches(hashed, "a good long passworD")
    assert not password_matches("$argon2id$broken", "a good long password")


def test_a_short_password_is_refused():
    with pytest.raises(Refused, match=f"at least {MIN_PASSWORD} characters \\(it has 11\\)"):
        hash_password("x" * 11)


def test_the_api_token_comes_from_the_environment_and_must_be_long():
    assert api_token({}) is None and api_token({"HEARTBEAT_API_TOKEN": ""}) is None
    assert api_token({"HEARTBEAT_API_TOKEN": "t" * 16}) == "t" * 16
    with pytest.raises(Refused, match="at least 16 characters"):
        api_token({"HEARTBEAT_API_TOKEN": "short"})


def test_the_session_key_is_made_once_and_private(tmp_path):
    key = secret_key(tmp_path / "data")
    path = tmp_path / "data" / "web-session.key"
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(tmp_path / "data") == key  # a restart keeps the sessions
    path.write_text("not hex")
    with pytest.raises(Refused, match="is not a session key"):
        secret_key(tmp_path / "data")


def test_the_session_cookie_is_signed_and_only_carries_the_server_sessions_id():
    sessions = Sessions(b"k" * 32)
    session = {"flash": ["ok", "x"], "csrf": "old"}
    Sessions.log_in(session, "the-id")
    assert session["sid"] == "the-id" and session["csrf"] != "old" and "flash" not in session  # no fixation
    cookie = sessions.dump(session)
    assert sessions.load(cookie) == session
    assert sessions.load(cookie[:-2] + "xx") == {} and sessions.load("garbage") == {}
    assert Sessions(b"x" * 32).load(cookie) == {}  # signed with another key


def test_csrf_tokens_compare_whole():
    session = {}
    token = Sessions.csrf(session)
    assert Sessions.csrf(session) == token and Sessions.csrf_matches(session, token)
    assert not Sessions.csrf_matches(session, token[:-1]) and not Sessions.csrf_matches(session, None)
    assert not Sessions.csrf_matches({}, "")


def test_failed_logins_are_limited_per_address_and_overall():
    limiter = LoginLimiter(per_address=3, overall=5, window=100)
    for t in range(3):
        assert limiter.wait("a", t) == 0
        limiter.failed("a", t)
    assert limiter.wait("a", 3) == 97 and limiter.wait("b", 3) == 0  # another address still may
    limiter.failed("b", 3)
    limiter.failed("c", 4)
    assert limiter.wait("d", 5) == 95  # five failures in all: everyone waits
    assert limiter.wait("a", 100) == 0 and limiter.wait("d", 100) == 0  # the window moved on
    limiter.failed("b", 101)
    limiter.succeeded("b")
    assert "b" not in limiter.failures


@pytest.mark.parametrize("cron, words", [
    (None, "by hand only"), ("* * * * *", "every minute"), ("*/5 * * * *", "every 5 minutes"),
    ("0 * * * *", "every hour at minute 0"), ("30 2 * * *", "every day at 02:30 (UTC)"),
    ("0 3 * * mon-fri", "every Monday to Friday at 03:00 (UTC)"),
    ("0 4 1,15 * *", "monthly on day 1, 15 at 04:00 (UTC)"), ("0 */6 * * *", "every 6 hours at minute 0"),
    ("*/10 * * * sat,sun", "every Saturday, Sunday, every 10 minutes"),
    ("1-5 * * * *", "custom"), ("0 0 * 1 *", "custom")])
def test_schedules_in_words(cron, words):
    assert schedule_words(cron) == words


def test_other_commands_start_without_the_web_stack():
    code = ("import sys, heartbeat.cli.main, heartbeat.daemon\n"
            "loaded = {m.split('.')[0] for m in sys.modules}\n"
            "print(sorted(loaded & {'uvicorn', 'starlette', 'jinja2', 'argon2'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
