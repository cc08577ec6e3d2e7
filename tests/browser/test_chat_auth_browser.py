"""Access to the web chat: loopback by default, a password before anything else is served.

`newsdesk chat` refuses a non-loopback address without `NEWSDESK_AUTH`; with it, a real
headless Chromium meets Gradio's login form, a wrong password is turned away (and the app's
API stays closed), and the right one opens the chat, which then answers.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from conftest import AL_BAB, run_cli
from support.browser_support import (
    ARTIFACTS,
    BOT,
    QUESTION,
    ChatServer,
    ask,
    last_answer,
    screenshot,
)

from index.settings import load_settings

USER, PASSWORD = "editor", "s3cret:pass"  # a colon inside the password must survive
LOGIN_USER = "[data-testid=textbox]"
LOGIN_PASSWORD = "[data-testid=password]"
LOGIN_BUTTON = "button:has-text('Login')"


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_public_bind_without_a_password_is_refused_in_one_line(how, tmp_path):
    args = ["chat", "--port", "9"]
    env = {}
    if how == "flag":
        args += ["--host", "0.0.0.0"]
    else:
        env["NEWSDESK_HOST"] = "0.0.0.0"
    proc = run_cli(*args, home=tmp_path / "home", env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr[-2000:]
    assert "refusing to serve on 0.0.0.0 without a password" in lines[0]
    assert "NEWSDESK_AUTH=user:password" in lines[0] and "127.0.0.1" in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout.strip() == ""
    assert not (tmp_path / "home").exists()  # refused before opening anything


def test_the_default_bind_is_loopback(monkeypatch):
    from ui.chat import launch_options

    for name in ("NEWSDESK_HOST", "NEWSDESK_AUTH"):
        monkeypatch.delenv(name, raising=False)
    options = launch_options(load_settings({}))  # as `newsdesk chat` resolves it
    assert options["server_name"] == "127.0.0.1" and options["auth"] is None


# ---- in a real browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """The chat bound to every address, with a password, over a one-article store."""
    home = tmp_path_factory.mktemp("auth-chat") / "home"
    run_cli("index", str(AL_BAB), home=home, check=True)
    env = {"NEWSDESK_HOST": "0.0.0.0", "NEWSDESK_AUTH": f"{USER}:{PASSWORD}"}
    with ChatServer(home, ARTIFACTS / "auth-chat-server.log", env=env) as server:
        yield server


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on the port (from /proc/net/tcp)."""
    found = set()
    for line in open("/proc/net/tcp", encoding="ascii").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def log_in(page, user: str, password: str) -> None:
    page.fill(LOGIN_USER, user)
    page.fill(LOGIN_PASSWORD, password)
    page.click(LOGIN_BUTTON)


@pytest.mark.browser
def test_login_rejects_a_wrong_password_and_opens_the_chat_with_the_right_one(page,
                                                                               auth_server):
    assert listening_addresses(auth_server.port) == {"0.0.0.0"}
    # Without logging in, the app's config and API answer nothing.
    assert http_status(f"{auth_server.url}config") == 401
    assert http_status(f"{auth_server.url}gradio_api/info") == 401

    page.goto(auth_server.url)
    page.wait_for_selector(LOGIN_PASSWORD)
    assert page.locator(QUESTION).count() == 0
    screenshot(page, "chat-login")

    log_in(page, USER, "wrong-password")
    page.get_by_text("Incorrect Credentials").wait_for(timeout=30_000)
    assert page.locator(QUESTION).count() == 0 and page.locator(LOGIN_PASSWORD).count() == 1
    cookies = json.dumps(page.context.cookies())
    screenshot(page, "chat-login-rejected")
    assert "access-token" not in cookies

    log_in(page, USER, PASSWORD)
    page.wait_for_selector(QUESTION, timeout=60_000)
    assert "access-token" in json.dumps(page.context.cookies())  # what was absent before
    ask(page, "Who besieged al-Bab?")
    answer = last_answer(page)
    assert "government forces" in answer and "[1]" in answer, answer
    assert page.locator(BOT).count() == 1
    screenshot(page, "chat-login-answer")
