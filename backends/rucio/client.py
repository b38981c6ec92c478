"""A ``rucio.client.Client`` that can only read, built from Rucio's own conventions.

The console must never change the Rucio it watches, whatever a future change
to the backend calls by mistake: ``ReadOnlyClient`` refuses, before anything
is sent, every request that is not a GET, except the few POSTs Rucio uses for
queries (``/replicas/list``, ``/dids/bulkmeta``). It also counts the requests
it sends per route, which is how the tests and the benchmark check that a
poll costs one listing, not one call per rule.

What the options leave out comes from ``rucio.cfg`` (``RUCIO_CONFIG`` /
``RUCIO_HOME``) and the environment (``RUCIO_ACCOUNT``, ``RUCIO_AUTH_TYPE``,
``X509_USER_PROXY``), exactly as for the ``rucio`` command line.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlparse

from rucio.client import Client
from rucio.common.constants import HTTPMethod

from backends.rucio.options import RucioOptions

#: POST routes that only read (Rucio sends long queries as a POST body).
READ_ONLY_POSTS: tuple[str, ...] = ("/replicas/list", "/dids/bulkmeta")


#: Where Rucio's client logs. Its own default logger writes coloured lines to
#: stderr, which would tear through the TUI; this one reaches whatever logging
#: the application sets up, and nothing when it sets up none.
LOG = logging.getLogger("backends.rucio.client")
LOG.addHandler(logging.NullHandler())


class ReadOnlyViolation(PermissionError):
    """The backend tried to send a request that could change the server."""


class ReadOnlyClient(Client):  # type: ignore[misc]  # rucio-clients has no types
    """Rucio's client, refusing writes and counting what it sends."""

    def __init__(self, *args: Any, token_dir: str | None = None, **kwargs: Any) -> None:
        self._token_dir = token_dir.rstrip("/") if token_dir else None
        self._count_lock = threading.Lock()
        self.requests_sent: Counter[str] = Counter()
        super().__init__(*args, **kwargs)

    def _get_auth_tokens(self) -> tuple[str | None, str, str, str]:
        if self._token_dir is None:
            return super()._get_auth_tokens()  # type: ignore[no-any-return]
        suffix = "for_default_account" if self.account is None else f"for_account_{self.account}"
        token_file = f"{self._token_dir}/{self.TOKEN_PREFIX}{suffix}"
        expiry_file = f"{self._token_dir}/{self.TOKEN_EXP_PREFIX}{suffix}"
        return None, expiry_file, token_file, self._token_dir

    def _send_request(self, url: str, method: HTTPMethod, *args: Any, **kwargs: Any) -> Any:
        path = urlparse(url).path.rstrip("/")
        if method != HTTPMethod.GET and not path.endswith(READ_ONLY_POSTS):
            raise ReadOnlyViolation(
                f"refused {getattr(method, 'value', method)} {path or '/'}: "
                "the console never writes to Rucio"
            )
        route = f"{getattr(method, 'value', method)} {_route(path)}"
        with self._count_lock:
            self.requests_sent[route] += 1
        return super()._send_request(url, method, *args, **kwargs)


def _route(path: str) -> str:
    """``/rses/NIKHEF_USERDISK/usage`` -> ``rses/*/usage``: names left out."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "/"
    if parts[0] == "rses" and len(parts) >= 3:
        return f"rses/*/{parts[2]}"
    if parts[0] == "requests" and len(parts) >= 4:
        return "requests/*"
    return "/".join(parts[:2])


def make_client(options: RucioOptions) -> ReadOnlyClient:
    """Connect and authenticate (Rucio's client gets its token right away)."""
    creds: dict[str, Any] = {}
    for key in ("username", "password", "client_cert", "client_key", "client_proxy"):
        value = getattr(options, key)
        if value is not None:
            creds[key] = value
    return ReadOnlyClient(
        rucio_host=options.host,
        auth_host=options.auth_host or options.host,
        account=options.account,
        ca_cert=options.ca_cert,
        auth_type=options.auth_type,
        creds=creds or None,
        timeout=options.timeout,
        user_agent="xenon-console",
        vo=options.vo,
        token_dir=options.token_dir,
        logger=LOG,
    )
