"""What ``serve`` checks before it binds or spawns anything (no aiohttp here:
``xenon-console --help`` and a refused option stay quick).

The token, the address, the port and the served command line and environment:
each mistake is a ``ServeError``, one line for ``_fail`` (exit 2).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

#: The environment variable a token may come from (never passed on).
TOKEN_ENV = "XENON_CONSOLE_SERVE_TOKEN"
#: A token shorter than this is refused: it would be guessed over the network.
MIN_TOKEN_LENGTH = 16
DEFAULT_PORT = 8008
DEFAULT_MAX_SESSIONS = 10
#: Names of environment variables that hold (or point at) a secret.
SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|AUTH|COOKIE",
    re.IGNORECASE,
)


class ServeError(Exception):
    """A mistake in serve's options (one line, exit 2)."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``: nothing outside this machine."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def read_token(token_file: str | None, environ: Mapping[str, str]) -> str | None:
    """The access token, from ``--token-file`` (first) or ``TOKEN_ENV``.

    (No message puts a colon after a name ending in "token": the redaction
    of every error line would take what follows for the token.)"""
    if token_file is not None:
        path = Path(token_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ServeError(f"the token file {token_file} is not UTF-8 text") from None
        except OSError as exc:
            raise ServeError(
                f"cannot read the token file {token_file} ({exc.strerror or exc})"
            ) from None
        token, where = text.strip(), f"the file {token_file}"
        if not token:
            raise ServeError(f"the token file {token_file} is empty")
    elif TOKEN_ENV in environ:
        token, where = environ[TOKEN_ENV].strip(), TOKEN_ENV
        if not token:
            raise ServeError(f"{TOKEN_ENV} is set but empty")
    else:
        return None
    if any(c.isspace() or not c.isprintable() for c in token):
        raise ServeError(f"the token in {where} must be one word of printable characters")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ServeError(
            f"the token in {where} is too short ({len(token)} characters, at least "
            f"{MIN_TOKEN_LENGTH}; e.g. `openssl rand -hex 32`)"
        )
    return token


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What a session's app gets of serve's environment: no token, nothing secret."""
    return {
        name: value
        for name, value in environ.items()
        if name != TOKEN_ENV and not SECRET_NAME.search(name)
    }


def withheld(environ: Mapping[str, str]) -> list[str]:
    """The names ``child_environment`` leaves out (said once at start)."""
    return sorted(set(environ) - set(child_environment(environ)))


def served_command(options: Sequence[str], python: str = sys.executable) -> list[str]:
    """The app of one session: this console, on the web driver, no shell."""
    return [python, "-m", "console.cli", *options]


def bind(host: str, port: int, *, loopback_only: bool = False) -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port), or ServeError.
    ``loopback_only``: never on an address ``host`` resolves to outside
    loopback (a ``localhost`` that /etc/hosts sends elsewhere)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"--host {host}: {exc.strerror or exc}") from None
    last: OSError | None = None
    for family, kind, proto, _name, address in infos:
        if loopback_only and not is_loopback(str(address[0])):
            continue
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.setblocking(False)
        return sock
    why = (last.strerror or str(last)) if last is not None else "no address"
    raise ServeError(f"cannot listen on {host}:{port}: {why}")


def check_public_url(text: str) -> str:
    """``--public-url``: where browsers reach serve (a reverse proxy), no trailing /."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServeError(f"--public-url {text!r}: give http(s)://HOST[:PORT][/PATH]")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ServeError(f"--public-url: no user, password, query or fragment in {text!r}")
    return text.strip().rstrip("/")
