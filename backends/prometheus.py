"""The LNGS buffer disk as a Prometheus server sees it (node_exporter metrics).

Most sites already scrape their disk servers with node_exporter, so the fill
level of the buffer is one PromQL query away and its trend is in Prometheus'
own history. The fill rate and time to full therefore come from a range query
over the forecast window (``history_hours``, one sample per ``step_seconds``),
handed to ``backends.analysis.buffer`` as ``BufferSnapshot.history``: measured,
not guessed from two readings.

Every way the server can fail (no answer in time, an HTTP error, a Prometheus
error body, a query that matches nothing or several series, a value that is
not a number) ends as one line naming the query or the server; the bearer
token and the basic-auth password never appear in it, even when a server
echoes them back. The backend only sends GET requests to ``/api/v1/query``
and ``/api/v1/query_range``: it never changes anything.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from backends import backend_options as opt
from backends.analysis.units import one_line
from backends.model import BufferSample, BufferSnapshot
from backends.sources import Backend, BackendConfigError, BufferSource, SourceError

OPTIONS = (
    "url",
    "mountpoint",
    "size_query",
    "avail_query",
    "daq_write_query",
    "uplink_query",
    "history_hours",
    "step_seconds",
    "timeout",
    "token",
    "token_file",
    "username",
    "password",
    "verify_tls",
)
DEFAULT_MOUNTPOINT = "/data"
#: Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 11_000
#: How much of a server's error text is worth a line on the pane.
MAX_ERROR_TEXT = 200
#: The largest answer read: a range query of MAX_POINTS points is about
#: 330 kB; a bigger answer is not a disk's fill level (and would take the
#: console's memory with it).
MAX_RESPONSE_BYTES = 16 << 20
MASK = "***"


def _encoded_forms(
    secrets: Iterable[str | None], pairs: Iterable[tuple[str | None, str | None]] = ()
) -> tuple[str, ...]:
    """Every form in which a server could echo a secret back: as it is,
    URL-quoted, base64 (alone, and as the ``user:password`` of a Basic
    authorization header, which a server echoing the request would show),
    longest first so that no shorter form leaves a part of a longer one."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    for user, password in pairs:
        if password:
            basic = f"{user or ''}:{password}".encode()
            forms.add(base64.b64encode(basic).decode())
    return tuple(sorted((f for f in forms if len(f) >= 3), key=len, reverse=True))


def _selector(mountpoint: str) -> str:
    escaped = mountpoint.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{mountpoint="{escaped}"}}'


def _short(query: str, limit: int = 80) -> str:
    return query if len(query) <= limit else query[: limit - 1] + "…"


class PrometheusBackend(Backend, BufferSource):
    """Serves the buffer pane from PromQL queries against a Prometheus server."""

    name: ClassVar[str] = "prometheus"
    description: ClassVar[str] = "buffer disk fill and trend from Prometheus (node_exporter)"

    def __init__(
        self, options: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        super().__init__(options)
        options = self.options
        opt.reject_unknown(options, OPTIONS, "prometheus")
        url = opt.text(options, "url", required=True) or ""
        try:
            parsed = httpx.URL(url)
        except Exception:
            raise BackendConfigError("option 'url' is not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BackendConfigError(
                "option 'url' must be an http:// or https:// URL of the Prometheus server"
            )
        # Shown in messages: never the user:password part of the URL.
        port = f":{parsed.port}" if parsed.port else ""
        self.display_url = f"{parsed.scheme}://{parsed.host}{port}{parsed.path.rstrip('/')}"
        self.mountpoint = opt.text(options, "mountpoint", DEFAULT_MOUNTPOINT) or DEFAULT_MOUNTPOINT
        sel = _selector(self.mountpoint)
        self.size_query = opt.text(options, "size_query", f"node_filesystem_size_bytes{sel}") or ""
        self.avail_query = (
            opt.text(options, "avail_query", f"node_filesystem_avail_bytes{sel}") or ""
        )
        self.used_query = f"({self.size_query}) - ({self.avail_query})"
        self.daq_write_query = opt.text(options, "daq_write_query")
        self.uplink_query = opt.text(options, "uplink_query")
        self.history = timedelta(hours=opt.number(options, "history_hours", 6.0))
        self.step = opt.number(options, "step_seconds", 60.0)
        if self.history.total_seconds() / self.step > MAX_POINTS:
            raise BackendConfigError(
                f"option 'step_seconds' too small for history_hours: more than {MAX_POINTS} "
                "points per series (Prometheus refuses that)"
            )
        self.timeout = opt.number(options, "timeout", 5.0)
        verify = opt.flag(options, "verify_tls", True)

        token = opt.secret(options, "token")
        token_file = opt.text(options, "token_file")
        if token and token_file:
            raise BackendConfigError("options 'token' and 'token_file' exclude each other")
        if token_file:
            try:
                token = Path(token_file).expanduser().read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
                raise BackendConfigError(f"option 'token_file': cannot read it: {reason}") from None
            if not token:
                raise BackendConfigError("option 'token_file': the file is empty")
        username = opt.text(options, "username")
        password = opt.secret(options, "password")
        if (username is None) != (password is None):
            raise BackendConfigError("options 'username' and 'password' go together")
        if token and username:
            raise BackendConfigError("options 'token' and 'username' exclude each other")
        if token and (parsed.username or parsed.password):
            # httpx sends the URL's user:password as Basic auth and the token
            # would be dropped without a word: say which one is meant.
            raise BackendConfigError(
                "option 'url' carries user:password and a token is set: give one of them"
            )

        headers = {"Accept": "application/json"}
        auth: httpx.Auth | None = None
        self._secrets = _encoded_forms(
            (token, password, parsed.password),
            pairs=((username, password), (parsed.username, parsed.password)),
        )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if username and password:
            auth = httpx.BasicAuth(username, password)
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers=headers,
            auth=auth,
            verify=verify,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )
        # Nothing but this object needs the secrets from here on.
        for key in ("token", "password"):
            self.options.pop(key, None)

    # ------------------------------------------------------------------ fetch

    def fetch_buffer(self) -> BufferSnapshot:
        deadline = time.monotonic() + self.timeout
        now = datetime.now(UTC)
        size = self._instant(self.size_query, now, deadline)
        avail = self._instant(self.avail_query, now, deadline)
        if size <= 0:
            raise SourceError(
                f"query {_short(self.size_query)!r} gave a disk size of {size:g} "
                "bytes; expected a positive size"
            )
        if avail < 0 or avail > size:
            raise SourceError(
                f"query {_short(self.avail_query)!r} gave {avail:g} bytes free "
                f"of {size:g}: not a free space of that disk"
            )
        history, problems = self._history(now, deadline)
        daq = None
        if self.daq_write_query:
            daq = self._instant(self.daq_write_query, now, deadline)
        uplink = None
        if self.uplink_query:
            uplink = self._instant(self.uplink_query, now, deadline) > 0
        return BufferSnapshot(
            taken_at=now,
            total_bytes=int(size),
            used_bytes=int(size - avail),
            history=history,
            daq_write_bps=daq,
            uplink_up=uplink,
            mount=self.mountpoint,
            malformed=problems,
        )

    def _history(
        self, now: datetime, deadline: float
    ) -> tuple[tuple[BufferSample, ...], tuple[str, ...]]:
        start = now - self.history
        data = self._get(
            "/api/v1/query_range",
            self.used_query,
            deadline,
            {
                "start": f"{start.timestamp():.3f}",
                "end": f"{now.timestamp():.3f}",
                "step": f"{self.step:g}",
            },
        )
        series = self._one_series(self.used_query, data, ("matrix",), allow_empty=True)
        if series is None:
            return (), ()
        values = series.get("values")
        if not isinstance(values, list):
            raise SourceError(f"query {_short(self.used_query)!r}: range result has no values")
        samples: list[BufferSample] = []
        bad = 0
        for point in values:
            try:
                at, raw = point
                value = float(raw)
                if not math.isfinite(value):
                    raise ValueError(raw)
                samples.append(BufferSample(datetime.fromtimestamp(float(at), UTC), int(value)))
            except (TypeError, ValueError, OverflowError, OSError):
                bad += 1
        problems: tuple[str, ...] = ()
        if bad:
            problems = (
                f"{bad} of {len(values)} history samples of the fill level were not "
                "numbers; left out of the fill rate",
            )
        samples.sort(key=lambda s: s.at)
        return tuple(samples), problems

    def _instant(self, query: str, now: datetime, deadline: float) -> float:
        data = self._get("/api/v1/query", query, deadline, {"time": f"{now.timestamp():.3f}"})
        series = self._one_series(query, data, ("vector", "scalar"), allow_empty=False)
        assert series is not None
        point = series.get("value")
        raw = point[1] if isinstance(point, list) and len(point) == 2 else point
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            shown = one_line(self._scrub(str(raw)))[:40]
            raise SourceError(
                f"query {_short(query)!r} returned a value that is not a number: {shown!r}"
            )
        return value

    def _one_series(
        self, query: str, data: Any, kinds: tuple[str, ...], *, allow_empty: bool
    ) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            raise SourceError(f"query {_short(query)!r}: answer has no data")
        kind = data.get("resultType")
        result = data.get("result")
        if kind not in kinds:
            raise SourceError(
                f"query {_short(query)!r} returned a {one_line(str(kind))[:20]} "
                f"result; expected {' or '.join(kinds)}"
            )
        if kind == "scalar":
            return {"value": result}
        if not isinstance(result, list):
            raise SourceError(f"query {_short(query)!r}: answer has no result list")
        if not result:
            if allow_empty:
                return None
            raise SourceError(
                f"query {_short(query)!r} returned no data: no series matches now "
                f"(wrong mountpoint or labels, or the exporter is not being scraped)"
            )
        if len(result) > 1:
            raise SourceError(
                f"query {_short(query)!r} matched {len(result)} series; narrow it to one "
                "disk (add instance=... or set the query in the config)"
            )
        series = result[0]
        if not isinstance(series, dict):
            raise SourceError(f"query {_short(query)!r}: series is not an object")
        return series

    def _read(
        self, path: str, params: dict[str, str], remaining: float, deadline: float
    ) -> tuple[httpx.Response, bytes]:
        """The response and its body, read by the deadline and at most
        ``MAX_RESPONSE_BYTES``. httpx's timeout is per read: a server that
        trickles a byte a second never trips it; this bounds the whole."""
        with self._client.stream("GET", path, params=params, timeout=remaining) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise SourceError(
                        f"Prometheus at {self.display_url} answered more than "
                        f"{MAX_RESPONSE_BYTES >> 20} MB (the limit of one answer): not read"
                    )
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the whole answer took too long")
            return response, b"".join(chunks)

    def _get(self, path: str, query: str, deadline: float, params: dict[str, str]) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise SourceError(
                f"Prometheus at {self.display_url} did not answer within {self.timeout:g} s"
            )
        # Prometheus durations take no fractions: whole milliseconds.
        params = {"query": query, **params, "timeout": f"{max(1, int(remaining * 1000))}ms"}
        try:
            response, content = self._read(path, params, remaining, deadline)
        except httpx.TimeoutException:
            raise SourceError(
                f"Prometheus at {self.display_url} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.ConnectError as exc:
            raise SourceError(
                f"cannot reach Prometheus at {self.display_url}: {self._reason(exc)}"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"request to Prometheus at {self.display_url} failed: "
                f"{type(exc).__name__}: {self._reason(exc)}"
            ) from None
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            kind = one_line(self._scrub(str(body.get("errorType", "error"))))[:40]
            text = one_line(self._scrub(str(body.get("error", ""))))[:MAX_ERROR_TEXT]
            raise SourceError(
                f"Prometheus refused query {_short(query)!r} "
                f"(HTTP {response.status_code}): {kind}: {text}"
            )
        if response.status_code != 200:
            reason = one_line(self._scrub(response.reason_phrase))[:60]
            hint = (
                " (check token or username/password)" if response.status_code in (401, 403) else ""
            )
            raise SourceError(
                f"Prometheus at {self.display_url} answered HTTP "
                f"{response.status_code} {reason}{hint}".rstrip()
            )
        if not isinstance(body, dict) or body.get("status") != "success":
            raise SourceError(
                f"{self.display_url} answered something that is not a Prometheus "
                "API answer (is 'url' the Prometheus server?)"
            )
        return body.get("data")

    def _reason(self, exc: BaseException) -> str:
        return one_line(self._scrub(str(exc) or type(exc).__name__))[:MAX_ERROR_TEXT]

    def _scrub(self, text: str) -> str:
        """Hide our own secrets, should a server or a library echo them."""
        for value in self._secrets:
            text = text.replace(value, MASK)
        return text

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"PrometheusBackend({self.display_url!r}, mountpoint={self.mountpoint!r})"
