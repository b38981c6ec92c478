"""One NATS connection, in a thread of its own, for code that is not asyncio.

``nats-py`` is asyncio; the console's polling threads and the collector are
not. A ``Link`` runs an event loop in a daemon thread, connects (and keeps
reconnecting: a server that is down at start or restarts later is found
again by itself) and runs coroutines for the other threads with ``call``,
bounded by a timeout. Its ``state`` says whether it is connected and, if not,
why, in one line with no credentials in it.

``NatsOptions`` reads the connection options (of a ``nats`` backend section
or the ``[collector]`` section): ``url`` (or a list of them), ``bucket``,
``user``/``password``, ``token``, ``creds`` (a credentials file),
``tls_ca``/``tls_cert``/``tls_key``, ``name``, ``connect_timeout``. A
password or token may be given as a file (``password_file``,
``token_file``) so that it is on no command line and in no environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from backends import backend_options as opt
from backends.natsfeed.feed import DEFAULT_BUCKET
from backends.sources import BackendConfigError

T = TypeVar("T")

# nats-py logs what it also hands to the callbacks; with no handler of the
# application's, Python would print it to stderr, over a console's screen.
logging.getLogger("nats").addHandler(logging.NullHandler())

OPTIONS = (
    "url",
    "bucket",
    "user",
    "password",
    "password_file",
    "token",
    "token_file",
    "creds",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "name",
    "connect_timeout",
)
#: A bucket name JetStream takes (it names a stream).
_BUCKET = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Everything between the scheme and the last "@": a password may hold "/"
#: or "@" itself (nats-py does not decode %-escapes).
#: Seconds before a failed ``on_connected`` runs again.
SETUP_RETRY = 2.0
_USERINFO = re.compile(r"(?<=://)[^\s]*@")


def safe_url(url: str) -> str:
    """The URL without its user, password or token."""
    return _USERINFO.sub("", url)


def _read_secret(path_text: str, key: str) -> str:
    path = Path(path_text).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BackendConfigError(f"option {key!r}: cannot read {path}: {exc.strerror}") from None
    if not value:
        raise BackendConfigError(f"option {key!r}: {path} is empty")
    return value


@dataclass(frozen=True)
class NatsOptions:
    #: The URLs as given (a user and password may be in them: never shown;
    #: ``where`` says them without).
    servers: tuple[str, ...] = field(repr=False)
    bucket: str = DEFAULT_BUCKET
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    creds: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    name: str = "xenon-console"
    connect_timeout: float = 2.0

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], *, known: tuple[str, ...] = OPTIONS, what: str = "nats"
    ) -> NatsOptions:
        opt.reject_unknown(options, known, what)
        raw = options.get("url")
        if isinstance(raw, str) and raw.strip():
            servers: tuple[str, ...] = tuple(u.strip() for u in raw.split(",") if u.strip())
        elif isinstance(raw, list) and raw and all(isinstance(u, str) and u.strip() for u in raw):
            servers = tuple(u.strip() for u in raw)
        else:
            raise BackendConfigError(
                "option 'url' is required: a NATS URL such as nats://127.0.0.1:4222 (or a list)"
            )
        for url in servers:
            if not re.match(r"(nats|tls|ws|wss)://[^\s]+$", url):
                raise BackendConfigError(
                    f"option 'url': {safe_url(url)!r} is not a nats://, tls://, ws:// or wss:// URL"
                )
        bucket = opt.text(options, "bucket", DEFAULT_BUCKET) or DEFAULT_BUCKET
        if not _BUCKET.fullmatch(bucket):
            raise BackendConfigError(
                f"option 'bucket': {bucket!r} is not a bucket name (letters, digits, - and _)"
            )
        password = opt.secret(options, "password")
        if "password_file" in options:
            password = _read_secret(opt.text(options, "password_file") or "", "password_file")
        token = opt.secret(options, "token")
        if "token_file" in options:
            token = _read_secret(opt.text(options, "token_file") or "", "token_file")
        user = opt.text(options, "user")
        if (password is None) != (user is None):
            raise BackendConfigError("options 'user' and 'password' go together")
        files = {}
        for key in ("creds", "tls_ca", "tls_cert", "tls_key"):
            value = opt.text(options, key)
            if value is not None:
                path = Path(value).expanduser()
                if not path.is_file():
                    raise BackendConfigError(f"option {key!r}: no file {path}")
                files[key] = str(path)
        if ("tls_cert" in files) != ("tls_key" in files):
            raise BackendConfigError("options 'tls_cert' and 'tls_key' go together")
        return cls(
            servers,
            bucket,
            user,
            password,
            token,
            files.get("creds"),
            files.get("tls_ca"),
            files.get("tls_cert"),
            files.get("tls_key"),
            opt.text(options, "name", "xenon-console") or "xenon-console",
            opt.number(options, "connect_timeout", 2.0, maximum=600),
        )

    def scrub(self, text: str) -> str:
        """``text`` with every secret of these options masked (an error of the
        client may quote a URL or a credential)."""
        secrets = [self.password, self.token]
        for url in self.servers:
            match = _USERINFO.search(url)
            if match:  # user:password@, or token@
                userinfo = match.group()[:-1]
                secrets.append(userinfo.split(":", 1)[1] if ":" in userinfo else userinfo)
        for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def where(self) -> str:
        """The servers and bucket, as a pane or a log may say them."""
        return f"{', '.join(safe_url(u) for u in self.servers)} bucket {self.bucket}"

    def _tls(self) -> ssl.SSLContext | None:
        uses_tls = any(u.startswith(("tls://", "wss://")) for u in self.servers)
        if not (uses_tls or self.tls_ca or self.tls_cert):
            return None
        context = ssl.create_default_context(cafile=self.tls_ca)
        if self.tls_cert and self.tls_key:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "servers": list(self.servers),
            "name": self.name,
            "connect_timeout": self.connect_timeout,
            # Link reconnects itself (see _connect); nats-py's connect still
            # loops over the servers until each failed this many times more.
            "allow_reconnect": False,
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.5,
        }
        if self.user is not None:
            kwargs["user"], kwargs["password"] = self.user, self.password
        if self.token is not None:
            kwargs["token"] = self.token
        if self.creds is not None:
            kwargs["user_credentials"] = self.creds
        tls = self._tls()
        if tls is not None:
            kwargs["tls"] = tls
        return kwargs


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text}" if text and text != name else name


class Link:
    """A NATS connection kept up in a thread of its own."""

    def __init__(
        self,
        options: NatsOptions,
        *,
        on_connected: Callable[[Any], Awaitable[None]] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        #: Run in the link's loop after every (re)connection, with the client,
        #: as a task of its own (cancelled when the connection ends; run again
        #: after ``SETUP_RETRY`` s when it fails).
        self._on_connected = on_connected
        self._setup: asyncio.Task[None] | None = None
        #: Why ``on_connected`` failed last (None once it succeeded), one line.
        self.setup_error: str | None = None
        #: Called (in the link's thread) when ``connected`` changes.
        self._on_change = on_change
        self.connected = False
        #: Whether a connection was tried at least once (and failed or not).
        self.tried = False
        #: Why it is not connected (None while connected), one line.
        self.error: str | None = "not connected yet"
        #: time.time() of the last change of ``connected``.
        self.since = time.time()
        self.client: Any = None
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._swallow)
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="nats-link", daemon=True)

    # -------------------------------------------------------------- public

    def start(self) -> None:
        self._thread.start()

    def call(self, make: Callable[[], Awaitable[T]], timeout: float) -> T:
        """Run ``make()`` in the link's loop; its result, or its exception, or
        ``TimeoutError`` after ``timeout`` seconds (the coroutine is cancelled)."""
        if self._closing:
            raise ConnectionError("the NATS link is closed")
        future = asyncio.run_coroutine_threadsafe(_awaited(make), self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"no answer from NATS within {timeout:g} s") from None

    def spawn(self, make: Callable[[], Awaitable[None]]) -> None:
        """Run ``make()`` in the link's loop, not waiting for it."""
        asyncio.run_coroutine_threadsafe(_awaited(make), self._loop)

    def close(self, timeout: float = 2.0) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            client = self.client
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.close(), timeout)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            # Let them end before the loop stops (a task left pending is
            # collected later, on a closed loop, with a warning).
            await asyncio.wait(tasks, timeout=timeout) if tasks else None

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout + 1)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    # ------------------------------------------------------------- the loop

    def _swallow(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """nats-py's stray task errors: remembered, never printed on the screen."""
        exc = context.get("exception")
        if exc is not None and not self.connected:
            self.error = self.options.scrub(one_line(exc))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.create_task(self._connect())
        try:
            self._loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                self._loop.close()

    def _set(self, connected: bool, error: str | None) -> None:
        changed = connected != self.connected or not self.tried
        self.tried = True
        self.connected, self.error = connected, error
        if changed:
            self.since = time.time()
            if self._on_change is not None:
                with contextlib.suppress(Exception):
                    self._on_change()

    async def _connect(self) -> None:
        """Connect, and connect again whenever the connection ends.

        nats-py's own reconnection is off: with it, a first connection to a
        server that is down never fails (it retries for ever inside
        ``connect``), so nobody could say why there is no data. Here every
        failed attempt is said (``error``), with a back-off of 0.5 to 10 s,
        and a new connection runs ``on_connected`` again (the watches and
        buckets of the old one died with it)."""
        import nats

        wait = 0.5
        while not self._closing:
            closed = asyncio.Event()

            async def error_cb(exc: Exception) -> None:
                self.error = self.options.scrub(one_line(exc))

            async def closed_cb(closed: asyncio.Event = closed) -> None:
                closed.set()

            try:
                client = await nats.connect(
                    **self.options.connect_kwargs(), error_cb=error_cb, closed_cb=closed_cb
                )
            except Exception as exc:  # any failure to connect: say it, try again
                why = one_line(exc)
                if type(exc).__name__ == "NoServersError" and self.error:
                    why = self.error  # what each server said (error_cb) says more
                self._set(False, self.options.scrub(why))
                await asyncio.sleep(wait)
                wait = min(wait * 2, 10.0)
                continue
            wait = 0.5
            self.client = client
            self._set(True, None)
            await self._connected()
            await closed.wait()
            if not self._closing:
                why = self.error or "connection lost"
                self._set(False, f"disconnected from NATS ({why}); reconnecting")

    async def _connected(self) -> None:
        """Start ``on_connected`` for the new client (the previous client's
        is cancelled: its watches died with its connection)."""
        if self._setup is not None:
            self._setup.cancel()
        if self._on_connected is not None and self.client is not None:
            self._setup = asyncio.get_running_loop().create_task(self._set_up(self.client))

    async def _set_up(self, client: Any) -> None:
        assert self._on_connected is not None
        while True:
            try:
                await self._on_connected(client)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the buckets cannot be opened yet: again soon
                self.setup_error = self.options.scrub(one_line(exc))
                await asyncio.sleep(SETUP_RETRY)
                continue
            self.setup_error = None
            return


async def open_bucket(client: Any, name: str, description: str, *, create: bool) -> Any:
    """The key-value bucket ``name`` (``history=1``), made when missing and
    ``create`` (a console with only read and ack permissions cannot make one:
    the collector makes both buckets)."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import BucketNotFoundError

    js = client.jetstream()
    try:
        return await js.key_value(name)
    except BucketNotFoundError:
        if not create:
            raise
    return await js.create_key_value(
        KeyValueConfig(bucket=name, history=1, description=description)
    )


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
