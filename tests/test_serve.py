"""`xenon-console serve`: what it refuses before it binds, what a request
without the token gets, what a session's process holds, the session cap,
and every process ended (by a closed tab, by its own death, by stopping
serve). The browser's view is tests/test_serve_browser.py."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from console.cli import main
from console.serve_options import TOKEN_ENV, child_environment, is_loopback
from tests.conftest import GUARDED_SECRET, GUARDED_TOKEN
from tests.serve_testbed import ROOT, Serve, wait_until

# -- before anything is bound or spawned ------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "LOCALHOST", "localhost."]
)
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "", "10.1.2.3", "192.168.1.5", "ops.example.org", "localhost.example.org",
     "127.0.0.1.example.org", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_sessions_environment_holds_no_secret() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/shift",
        "XDG_CONFIG_HOME": "/home/shift/.config",
        "CONDOR_CONFIG": "/dev/null",
        "X509_USER_PROXY": "/tmp/x509up_u1000",
        "RUCIO_ACCOUNT": "xenon",
        TOKEN_ENV: "a" * 32,
        "MONGO_PASSWORD": "pw",
        "NATS_TOKEN": "t",
        "AWS_SECRET_ACCESS_KEY": "k",
        "GITHUB_TOKEN": "g",
        "SSH_AUTH_SOCK": "/tmp/agent",
        "SOME_API_KEY": "k",
        "my_passphrase": "p",
        "RUCIO_CREDENTIALS": "c",
    }
    kept = child_environment(environ)
    assert set(kept) == {
        "PATH", "HOME", "XDG_CONFIG_HOME", "CONDOR_CONFIG", "X509_USER_PROXY", "RUCIO_ACCOUNT",
    }  # fmt: skip


@pytest.fixture
def no_bind(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """serve's bind, recorded and refused: a refusal must come before it."""
    calls: list[tuple[str, int]] = []

    def refuse(host: str, port: int, **_: object) -> None:
        calls.append((host, port))
        raise AssertionError("serve bound before refusing")

    monkeypatch.setattr("console.serve_options.bind", refuse)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return calls


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("xenon-console: error: "), err
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "ops.example.org"])
def test_no_token_no_serving_beyond_loopback(
    host: str, no_bind: list, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--host", host]) == 2
    line = one_error_line(capsys)
    assert f"--host {host} is not a loopback address" in line and TOKEN_ENV in line
    assert no_bind == []


@pytest.mark.parametrize(
    ("options", "env", "said"),
    [
        (["--port", "70000"], None, "must be 0 to 65535"),
        (["--port", "http"], None, "not a whole number"),
        (["--max-sessions", "0"], None, "must be a whole number > 0"),
        (["--token-file", "/run/no/token"], None, "/run/no/token (No such file or directory)"),
        (["--token-file", "/"], None, "cannot read the token file / (Is a directory)"),
        (["--token-file", "EMPTY"], None, "the token file EMPTY is empty"),
        (["--token-file", "SHORT"], None, "too short (5 characters, at least 16"),
        ([], {TOKEN_ENV: "  "}, f"{TOKEN_ENV} is set but empty"),
        ([], {TOKEN_ENV: "two words in one token"}, "one word of printable characters"),
        (["--public-url", "ftp://ops.example"], None, "give http(s)://HOST"),
        (["--public-url", "https://u:p@ops.example"], None, "no user, password"),
    ],
)
def test_bad_options_one_line_before_binding(
    options: list[str],
    env: dict[str, str] | None,
    said: str,
    no_bind: list,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "EMPTY").write_text("\n \n")
    (tmp_path / "SHORT").write_text("abcde\n")
    monkeypatch.chdir(tmp_path)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *options]) == 2
    assert said in one_error_line(capsys)
    assert no_bind == []


def test_a_busy_port_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    line = one_error_line(capsys)
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line


def test_a_session_of_serve_runs_the_tui_on_a_pipe() -> None:
    """textual-serve gives the app pipes, not a terminal: under its web
    driver the console starts (it used to refuse: no terminal on stdin)."""
    env = {
        **os.environ,
        "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
        "CONDOR_CONFIG": "/dev/null",
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--scenario", "nominal", "--speed", "0"],
        cwd=ROOT, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert app.stdout is not None
        first = app.stdout.readline()
        assert first == b"__GANGLION__\n", (first, app.stderr.read() if app.poll() else b"")
    finally:
        app.kill()
        app.wait(10)


# -- a serve process ---------------------------------------------------------


def test_the_page_says_what_it_is_and_loads_nothing_from_elsewhere(served: Serve) -> None:
    page = httpx.get(served.url + "/", timeout=10)
    assert page.status_code == 200
    assert re.search(r"<title>XENON1T operations console</title>", page.text)
    assert f'rel="icon" type="image/svg+xml" href="{served.url}/favicon.svg"' in page.text
    urls = re.findall(r"""(?:href|src)=["'](?:url\()?([^"')]+)""", page.text)
    urls += re.findall(r"""url\(["']?([^"')]+)""", page.text)
    assert urls and all(u.startswith(served.url + "/") for u in urls), urls
    assert page.headers["X-Frame-Options"] == "DENY"  # a framing page could type keys
    icon = httpx.get(served.url + "/favicon.svg", timeout=10)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content


async def _ws_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a websocket handshake (101 when it opened)."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, headers=headers or {}) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def ws_url(serve: Serve) -> str:
    return f"ws://127.0.0.1:{serve.port}/ws?width=100&height=30"


def test_without_the_token_401_and_no_process(guarded: Serve) -> None:
    base = f"http://127.0.0.1:{guarded.port}"
    wrong = GUARDED_TOKEN[:-1] + "x"
    for path, headers in (
        ("/", {}),
        (f"/?token={wrong}", {}),
        ("/", {"Authorization": f"Bearer {wrong}"}),
        ("/", {"Authorization": f"Basic {GUARDED_TOKEN}"}),
        ("/", {"Cookie": f"xenon_console_session={GUARDED_TOKEN}"}),
        ("/static/js/textual.js", {}),
        ("/ws", {}),
    ):
        answer = httpx.get(base + path, headers=headers, timeout=10)
        assert answer.status_code == 401, (path, headers)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "access token needed" in answer.text
    origin = {"Origin": base}
    assert asyncio.run(_ws_status(ws_url(guarded), origin)) == 401
    assert asyncio.run(_ws_status(ws_url(guarded) + f"&token={wrong}", origin)) == 401
    time.sleep(0.5)
    assert guarded.app_pids() == []
    assert " started: pid " not in guarded.log_text()


def test_the_token_by_query_cookie_or_bearer(guarded: Serve) -> None:
    base = f"http://127.0.0.1:{guarded.port}"
    first = httpx.get(f"{base}/?fontsize=14&token={GUARDED_TOKEN}", timeout=10)
    assert first.status_code == 303
    assert first.headers["Location"] == "./?fontsize=14"  # the token leaves the address
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and GUARDED_TOKEN not in cookie
    value = first.cookies["xenon_console_session"]
    page = httpx.get(base + "/", cookies={"xenon_console_session": value}, timeout=10)
    assert page.status_code == 200 and "<title>" in page.text
    bearer = httpx.get(base + "/", headers={"Authorization": f"Bearer {GUARDED_TOKEN}"})
    assert bearer.status_code == 200


async def _hold_session(url: str, headers: dict[str, str], serve: Serve) -> tuple[int, str, str]:
    """Open a session, wait for its app to draw; (pid, environ, cmdline)."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.ws_connect(url, headers=headers) as ws:
        message = await asyncio.wait_for(ws.receive(), 30)
        assert message.type == aiohttp.WSMsgType.BINARY
        (pid,) = serve.app_pids()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().replace("\0", "\n")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ")
    return pid, environ, cmdline


def test_a_session_holds_no_secret(guarded: Serve) -> None:
    """serve had the token (a file and the environment) and MONGO_PASSWORD:
    the app of a session has none of them, on its command line or in its
    environment, and is this console with its config."""
    headers = {
        "Origin": f"http://127.0.0.1:{guarded.port}",
        "Cookie": "xenon_console_session="
        + httpx.get(f"http://127.0.0.1:{guarded.port}/?token={GUARDED_TOKEN}", timeout=10).cookies[
            "xenon_console_session"
        ],
    }
    _, environ, cmdline = asyncio.run(_hold_session(ws_url(guarded), headers, guarded))
    for secret in (GUARDED_TOKEN, GUARDED_SECRET):
        assert secret not in environ and secret not in cmdline
    assert TOKEN_ENV not in environ and "MONGO_PASSWORD" not in environ
    assert "TEXTUAL_DRIVER=textual.drivers.web_driver:WebDriver" in environ.splitlines()
    assert cmdline.split()[:3] == [sys.executable, "-m", "console.cli"]
    assert f"--config {guarded.config}" in cmdline
    assert "left out of every session's environment" in guarded.log_text()
    assert "MONGO_PASSWORD" in guarded.log_text() and GUARDED_SECRET not in guarded.log_text()
    guarded.wait_no_apps()


def test_a_websocket_from_another_site_is_refused(served: Serve) -> None:
    """Any web page the operator visits could otherwise open a console on
    their loopback and read it (textual-serve checks no Origin)."""
    own = {"Origin": served.url}
    for origin in ("http://evil.example", "null", served.url.replace("127.0.0.1", "localhost")):
        assert asyncio.run(_ws_status(ws_url(served), {"Origin": origin})) == 403, origin
    # DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
    rebound = httpx.get(served.url + "/", headers={"Host": f"evil.example:{served.port}"})
    assert rebound.status_code == 403
    time.sleep(0.5)
    assert served.app_pids() == []
    assert asyncio.run(_ws_status(ws_url(served), own)) == 101  # its own page's origin


async def _open(url: str, origin: str, count: int) -> tuple[object, list[object]]:
    import aiohttp

    session = aiohttp.ClientSession()
    sockets = []
    for _ in range(count):
        ws = await session.ws_connect(url, headers={"Origin": origin})
        await asyncio.wait_for(ws.receive(), 30)  # its app has drawn
        sockets.append(ws)
    return session, sockets


async def _until_closed(ws: object, timeout: float) -> None:
    """Read what the app had sent until the websocket closes."""
    import aiohttp

    async def read() -> None:
        while True:
            message = await ws.receive()  # type: ignore[attr-defined]
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return

    await asyncio.wait_for(read(), timeout)


def test_the_session_cap(serve_factory: Callable[..., Serve]) -> None:
    """Two sessions at --max-sessions 2: the page is a 503 saying so, a third
    websocket is refused and starts nothing; one closed, the page is back."""
    serve = serve_factory("--max-sessions", "2", "--speed", "0")

    async def scenario() -> None:
        session, sockets = await _open(ws_url(serve), serve.url, 2)
        try:
            assert len(serve.app_pids()) == 2
            async with httpx.AsyncClient() as client:
                busy = await client.get(serve.url + "/")
            assert busy.status_code == 503
            assert "<b>2</b> sessions open" in busy.text
            assert "--max-sessions 2" in busy.text
            assert await _ws_status(ws_url(serve), {"Origin": serve.url}) == 503
            assert len(serve.app_pids()) == 2
            await sockets[0].close()  # type: ignore[attr-defined]
            for _ in range(100):
                async with httpx.AsyncClient() as client:
                    if (await client.get(serve.url + "/")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the page stayed busy after a session closed")
        finally:
            await session.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())
    serve.wait_no_apps()


def test_an_app_that_dies_ends_its_session(serve_factory: Callable[..., Serve]) -> None:
    """textual-serve left the tab open on a dead app (a frozen screen, and
    a place of the cap taken): its websocket now closes with it."""
    serve = serve_factory("--max-sessions", "1", "--speed", "0")

    async def scenario() -> None:
        session, (ws,) = await _open(ws_url(serve), serve.url, 1)
        try:
            (pid,) = serve.app_pids()
            os.kill(pid, signal.SIGKILL)
            await _until_closed(ws, 10)
            async with httpx.AsyncClient() as client:
                assert (await client.get(serve.url + "/")).status_code == 200
        finally:
            await session.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())
    assert "exit -9" in serve.log_text()


def test_stopping_serve_ends_every_session(serve_factory: Callable[..., Serve]) -> None:
    serve = serve_factory("--speed", "0")

    async def scenario() -> None:
        session, sockets = await _open(ws_url(serve), serve.url, 3)
        try:
            pids = serve.app_pids()
            assert len(pids) == 3
            started = time.monotonic()
            assert serve.process is not None
            serve.process.send_signal(signal.SIGTERM)
            while serve.process.poll() is None:
                await asyncio.sleep(0.05)
                assert time.monotonic() - started < 15, serve.log_text()
            assert serve.process.returncode == 0
            assert not serve.app_pids()
            for ws in sockets:
                await _until_closed(ws, 5)
        finally:
            await session.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())
    assert "stopped (3 sessions served)" in serve.log_text()
    wait_until(lambda: not serve.app_pids(), "every app gone")


def test_a_killed_serve_leaves_no_app_behind(serve_factory: Callable[..., Serve]) -> None:
    """serve killed outright (no chance to end its sessions): each app,
    in a session of its own, notices it was orphaned and leaves."""
    serve = serve_factory("--speed", "0")

    async def scenario() -> None:
        session, _ = await _open(ws_url(serve), serve.url, 2)
        try:
            assert len(serve.app_pids()) == 2
            assert serve.process is not None
            serve.process.kill()
            serve.process.wait(10)
            await asyncio.to_thread(serve.wait_no_apps, 15)
        finally:
            await session.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())


async def test_an_app_that_ignores_quit_and_sigterm_is_killed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A closed tab's app is asked to quit, then terminated, then killed:
    one that ignores the first two still ends (and so does its child)."""
    from textual_serve.download_manager import DownloadManager

    import console.serve as serve_module
    from console.serve import ConsoleSession

    monkeypatch.setattr(serve_module, "QUIT_WITHIN", 0.3)
    monkeypatch.setattr(serve_module, "TERMINATE_WITHIN", 0.3)
    stubborn = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )

    async def ignore(_: object) -> None:
        pass

    async def nothing() -> None:
        pass

    session = ConsoleSession(
        [sys.executable, "-c", stubborn], dict(os.environ),
        write_bytes=ignore, write_str=ignore, close=nothing, download_manager=DownloadManager(),
    )  # fmt: skip
    await session.start(80, 24)
    assert session._process is not None
    for _ in range(100):
        if (tmp_path / "pid").exists() and (tmp_path / "pid").read_text():
            break
        await asyncio.sleep(0.05)
    grandchild = int((tmp_path / "pid").read_text())
    started = time.monotonic()
    await asyncio.wait_for(session.stop(), 10)
    assert session._process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    await asyncio.sleep(0.2)
    from tests.serve_testbed import pid_alive

    assert not pid_alive(grandchild)  # the app's own children: its process group
