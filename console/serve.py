"""``xenon-console serve``: the same console in a web browser (textual-serve).

textual-serve runs one app process per browser tab (a websocket) and relays
its terminal to xterm.js in the page. This module builds on its ``Server``
and ``AppService`` and adds what a console for a control room needs:

- **An access token** (``--token-file`` or ``XENON_CONSOLE_SERVE_TOKEN``),
  required for any address outside loopback and checked (``hmac``) before
  anything is spawned: as ``?token=`` on the first page load (answered with
  an HttpOnly cookie and a redirect that drops it from the address bar), the
  cookie after that, or ``Authorization: Bearer``. Anything else is 401.
- **No cross-site use**: a websocket whose ``Origin`` is not the page's own
  is refused (textual-serve accepts any, so any web page an operator visits
  could open a console on their loopback); on a loopback bind a ``Host``
  that is not a loopback name is refused too (DNS rebinding).
- **A cap on sessions** (live app processes, ``--max-sessions``): over it
  the page is an HTTP 503 that says so, and no process is started.
- **No secret in a session**: the app runs as ``python -m console.cli
  --config FILE ...`` (no shell), with an environment from which the token
  and every secret-looking variable are removed.
- **Every process ends**: a closed tab's app is asked to quit, then
  terminated, then killed; stopping ``serve`` ends every one; a process that
  dies closes its tab's websocket (the page then says the session ended).
- The page's title and favicon say what it is, and it loads nothing from
  another site (textual-serve's page fetches a web font from Google).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from console.polling import log_line
from console.serve_options import DEFAULT_MAX_SESSIONS, child_environment, is_loopback

COOKIE = "xenon_console_session"
#: Seconds a session's app has to quit when asked, then to end when terminated.
QUIT_WITHIN = 3.0
TERMINATE_WITHIN = 2.0
FILES = Path(__file__).resolve().parent / "serve_files"

log = logging.getLogger("xenon-console.serve")


def _digest(token: str) -> str:
    """The cookie's value: derived from the token, not the token itself."""
    return hmac.new(token.encode(), b"xenon-console session cookie", hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def _page(
    status: int, title: str, body: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    text = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='icon' type='image/svg+xml' href='favicon.svg'>"
        "<style>body{background:#0c181f;color:#e6edf0;font:16px/1.5 monospace;"
        "max-width:46em;margin:4em auto;padding:0 1em}h1{font-size:1.3em}"
        "code{color:#ffd479}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
    response = web.Response(status=status, text=text, content_type="text/html")
    response.headers.update(headers or {})
    return response


class ConsoleSession(AppService):
    """One tab's app process: started without a shell, in its own session (a
    Ctrl-C at serve's terminal is serve's to handle), with a clean
    environment, and always ended."""

    def __init__(self, argv: Sequence[str], environment: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = list(argv)
        self.environment = dict(environment)
        self._stopping: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        built = super()._build_environment(width, height)
        # textual-serve starts from os.environ: keep only what it sets itself
        # (the driver, the size) on top of serve's cleaned environment.
        own = {k: v for k, v in built.items() if os.environ.get(k) != v}
        return child_environment({**self.environment, **own})

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def run(self) -> None:
        await super().run()
        # The app ended by itself (a crash, `q`): end its tab's session too.
        with contextlib.suppress(Exception):
            await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit, then terminate, then kill it; wait for it."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        process, task = self._process, self._task
        if task is None or process is None:
            return
        with contextlib.suppress(Exception):
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send_meta({"type": "quit"}), 1.0)
        for end, within in (
            (None, QUIT_WITHIN),
            (signal.SIGTERM, TERMINATE_WITHIN),
            (signal.SIGKILL, None),
        ):
            if end is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, end)
            try:
                await asyncio.wait_for(process.wait(), within)
                break
            except TimeoutError:
                continue
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), TERMINATE_WITHIN)
        if not task.done():
            task.cancel()
        self._task = None


class ConsoleServer(Server):
    """textual-serve's server with the token, the origin check, the session
    cap, a clean environment and the console's page."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        sock: socket.socket,
        token: str | None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        title: str = "XENON1T operations console",
        public_url: str | None = None,
        environment: Mapping[str, str] | None = None,
        stream: Any = None,
    ) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(
            " ".join(argv),
            host=host,
            port=port,
            title=title,
            public_url=public_url.rstrip("/") if public_url else None,
            templates_path=FILES,
        )
        self.given_public_url = public_url.rstrip("/") if public_url else None
        self.argv = list(argv)
        self.sock = sock
        self.token = token
        self.cookie = _digest(token) if token is not None else None
        self.max_sessions = max_sessions
        self.environment = child_environment(os.environ if environment is None else environment)
        self.sessions: set[ConsoleSession] = set()
        self.websockets: set[web.WebSocketResponse] = set()
        self.loopback = is_loopback(host)
        self.stream = sys.stderr if stream is None else stream
        self.started = 0

    # -- what the page and the checks need ---------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return self.given_public_url or f"http://{host}:{self.port}"

    def live_sessions(self) -> int:
        """Sessions whose app is starting or running (what the cap counts)."""
        return sum(1 for s in self.sessions if s._process is None or s.alive)

    def session_pids(self) -> list[int]:
        return sorted(s.pid for s in self.sessions if s.pid is not None and s.alive)

    def _origin(self, request: web.Request) -> str:
        if self.given_public_url is not None:
            parts = urlsplit(self.given_public_url)
            return f"{parts.scheme}://{parts.netloc}"
        return f"{request.scheme}://{request.host}"

    def _allowed_host(self, request: web.Request) -> bool:
        if not self.loopback:
            return True  # the token guards it
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if is_loopback(host):
            return True
        if self.given_public_url is not None:
            return request.host == urlsplit(self.given_public_url).netloc
        return False

    def _authorized(self, request: web.Request) -> bool:
        if self.token is None or self.cookie is None:
            return True
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and _same(credentials.strip(), self.token):
            return True
        if _same(request.cookies.get(COOKIE), self.cookie):
            return True
        return _same(request.query.get("token"), self.token)

    def _busy_page(self) -> web.Response:
        open_now = self.live_sessions()
        return _page(
            503,
            "xenon-console: all sessions are in use",
            f"<p>This console has <b>{open_now}</b> session{'s' if open_now != 1 else ''} "
            f"open, and the limit is <code>--max-sessions {self.max_sessions}</code>.</p>"
            "<p>Close a tab of it elsewhere and reload this page, or ask whoever runs "
            "<code>xenon-console serve</code> to raise the limit.</p>"
            "<p><button onclick='location.reload()'>Reload</button></p>",
            {"Retry-After": "10"},
        )

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Every request: Host, token, Origin, then the page's own checks."""
        if not self._allowed_host(request):
            return _page(
                403,
                "xenon-console: unknown host",
                "<p>This console answers only to a loopback address (or its "
                "<code>--public-url</code>).</p>",
            )
        if not self._authorized(request):
            return _page(
                401,
                "xenon-console: access token needed",
                "<p>Open this console with its access token once: "
                "<code>?token=…</code> at the end of its address (the browser then "
                "keeps it as a cookie), or send <code>Authorization: Bearer …</code>.</p>",
                {"WWW-Authenticate": 'Bearer realm="xenon-console"'},
            )
        if request.path == "/ws":
            origin = request.headers.get("Origin")
            if origin is not None and origin.rstrip("/") != self._origin(request):
                return web.Response(status=403, text="xenon-console: cross-origin websocket\n")
        if (
            self.token is not None
            and "token" in request.query
            and request.path == "/"
            and request.method == "GET"
        ):
            # The token leaves the address bar (and the history) for a cookie.
            query = [(k, v) for k, v in request.query.items() if k != "token"]
            location = "./" + (f"?{urlencode(query)}" if query else "")
            redirect = web.HTTPSeeOther(location)
            redirect.set_cookie(
                COOKIE,
                self.cookie or "",
                httponly=True,
                samesite="Lax",
                path="/",
                secure=self.url.startswith("https:"),
            )
            raise redirect
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            # A framed console could be fed keys by the page around it.
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
            if request.path == "/":
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    # -- textual-serve's hooks ---------------------------------------------

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        app.router.add_get("/favicon.svg", self._favicon)
        app.router.add_get("/favicon.ico", self._favicon)
        return app

    async def _favicon(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(FILES / "favicon.svg")

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> Any:
        if self.live_sessions() >= self.max_sessions:
            return self._busy_page()
        base = self.given_public_url or self._origin(request)
        scheme, rest = base.split(":", 1)
        websocket = ("wss:" if scheme == "https" else "ws:") + rest + "/ws"
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": websocket,
            "config": {"static": {"url": base + "/static/"}},
            "application": {"name": self.title},
            "favicon_url": base + "/favicon.svg",
        }

    async def handle_websocket(  # type: ignore[override]  # a 503 when full
        self, request: web.Request
    ) -> web.StreamResponse:
        # Checked and counted with no await in between: two tabs at once
        # cannot both take the last place.
        if self.live_sessions() >= self.max_sessions:
            return self._busy_page()
        websocket = web.WebSocketResponse(heartbeat=15)
        session = ConsoleSession(
            self.argv,
            self.environment,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions.add(session)
        self.websockets.add(websocket)
        try:
            await websocket.prepare(request)
            await session.start(
                to_int(request.query.get("width", "80"), 80),
                to_int(request.query.get("height", "24"), 24),
            )
            self.started += 1
            number = self.started
            log_line(
                self.stream,
                "serve",
                f"session {number} started: pid {session.pid}, {self.live_sessions()} open, "
                f"from {request.remote}",
            )
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            await session.stop()
            self.sessions.discard(session)
            self.websockets.discard(websocket)
            if session.pid is not None:
                code = session._process.returncode if session._process else None
                log_line(
                    self.stream,
                    "serve",
                    f"session ended: pid {session.pid}, exit {code}, {self.live_sessions()} open",
                )
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        token = "an access token" if self.token is not None else "no token (loopback only)"
        log_line(
            self.stream,
            "serve",
            f"serving the console on {self.url}/ with {token}, at most "
            f"{self.max_sessions} sessions; each runs: {self.command}",
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Stopping serve ends every session's app (and closes its tab)."""
        await asyncio.gather(*(s.stop() for s in list(self.sessions)), return_exceptions=True)
        for websocket in list(self.websockets):
            with contextlib.suppress(Exception):
                await websocket.close()

    def serve(self, debug: bool = False) -> None:
        """Run until SIGTERM or Ctrl-C (then every session's app is ended)."""
        logging.basicConfig(level=logging.WARNING, stream=self.stream, format="%(message)s")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self.sock,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
            shutdown_timeout=QUIT_WITHIN + TERMINATE_WITHIN + 2,
        )
        log_line(self.stream, "serve", f"stopped ({self.started} sessions served)")
