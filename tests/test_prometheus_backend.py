"""The prometheus backend against answers the test writes (httpx.MockTransport).

Each way a Prometheus server can fail gives its own clear line; secrets never
appear; the forecast comes from the range query's samples with known numbers.
The same backend against a real Prometheus is in test_prometheus_server.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends.analysis.buffer import buffer_forecast
from backends.model import TB
from backends.prometheus import PrometheusBackend
from backends.sources import BackendConfigError, SourceError
from console.fetching import describe_error

SIZE = 'node_filesystem_size_bytes{mountpoint="/data"}'
AVAIL = 'node_filesystem_avail_bytes{mountpoint="/data"}'
TOKEN = "s3cr3t-t0ken-value"
PASSWORD = "hunter2-pw"


def vector(value: Any, *series: dict) -> dict:
    result = list(series) or [{"metric": {"mountpoint": "/data"}, "value": [0, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


class FakePrometheus:
    """Answers like Prometheus: 50 TB disk, 20 TB free, used growing 1 TB/h."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.size: Any = str(50 * TB)
        self.avail: Any = str(20 * TB)
        self.override: httpx.Response | None = None
        self.range_values: list | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.override is not None:
            return self.override
        query = request.url.params["query"]
        if request.url.path == "/api/v1/query_range":
            start = float(request.url.params["start"])
            end = float(request.url.params["end"])
            step = float(request.url.params["step"])
            values = self.range_values
            if values is None:
                n = int((end - start) // step) + 1
                # 30 TB used now, 1 TB less per hour back in time
                values = [
                    [end - (n - 1 - i) * step, str(int(30 * TB - (n - 1 - i) * step / 3600 * TB))]
                    for i in range(n)
                ]
            body = {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [{"metric": {"mountpoint": "/data"}, "values": values}],
                },
            }
            return httpx.Response(200, json=body)
        if query == SIZE:
            return httpx.Response(200, json=vector(self.size))
        if query == AVAIL:
            return httpx.Response(200, json=vector(self.avail))
        if query == "xenon_daq_write_bytes_per_second":
            return httpx.Response(200, json=vector("3e8"))
        if query == "xenon_uplink_up":
            return httpx.Response(200, json=vector("0"))
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "vector", "result": []}}
        )


@pytest.fixture
def server() -> FakePrometheus:
    return FakePrometheus()


def make(server: FakePrometheus, **options: Any) -> PrometheusBackend:
    return PrometheusBackend(
        {"url": "http://prom.example:9090", **options}, transport=httpx.MockTransport(server)
    )


def error_of(backend: PrometheusBackend) -> str:
    """What the pane would show: the console's one-line, redacted description."""
    with pytest.raises(Exception) as err:
        backend.fetch_buffer()
    return describe_error(err.value)


# ----------------------------------------------------------------- good data


def test_fill_level_and_forecast_come_from_the_queries(server: FakePrometheus) -> None:
    snap = make(server, step_seconds=600).fetch_buffer()
    assert snap.total_bytes == 50 * TB
    assert snap.used_bytes == 30 * TB and snap.free_bytes == 20 * TB
    assert snap.mount == "/data"
    assert len(snap.history) == 37  # 6 h at one sample per 10 min, both ends
    forecast = buffer_forecast(snap)
    assert forecast.fill_rate_bps == pytest.approx(TB / 3600, rel=1e-3)
    assert forecast.time_to_full is not None
    assert forecast.time_to_full.total_seconds() == pytest.approx(20 * 3600, rel=1e-3)
    assert snap.daq_write_bps is None and snap.uplink_up is None
    rng = next(r for r in server.requests if r.url.path == "/api/v1/query_range")
    assert rng.url.params["query"] == f"({SIZE}) - ({AVAIL})"
    assert float(rng.url.params["end"]) - float(rng.url.params["start"]) == pytest.approx(6 * 3600)
    assert rng.url.params["step"] == "600"


def test_optional_queries_and_overrides(server: FakePrometheus) -> None:
    snap = make(
        server,
        daq_write_query="xenon_daq_write_bytes_per_second",
        uplink_query="xenon_uplink_up",
        mountpoint="/data",
    ).fetch_buffer()
    assert snap.daq_write_bps == 3e8
    assert snap.uplink_up is False
    custom = make(server, size_query=SIZE, avail_query=AVAIL, mountpoint="/srv")
    assert custom.fetch_buffer().used_bytes == 30 * TB


def test_non_numeric_history_samples_are_counted_and_left_out(server: FakePrometheus) -> None:
    server.range_values = [
        [1000, str(10 * TB)],
        [1600, "NaN"],
        [2200, "oops"],
        [2800, str(11 * TB)],
    ]
    snap = make(server).fetch_buffer()
    assert [s.used_bytes for s in snap.history] == [10 * TB, 11 * TB]
    assert snap.malformed == (
        "2 of 4 history samples of the fill level were not numbers; left out of the fill rate",
    )


def test_only_reads(server: FakePrometheus) -> None:
    backend = make(server, daq_write_query="xenon_daq_write_bytes_per_second")
    backend.fetch_buffer()
    assert {r.method for r in server.requests} == {"GET"}
    assert {r.url.path for r in server.requests} == {"/api/v1/query", "/api/v1/query_range"}


# -------------------------------------------------------------- each failure


def test_timeout(server: FakePrometheus) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    backend = PrometheusBackend(
        {"url": "http://prom.example:9090", "timeout": 2}, transport=httpx.MockTransport(slow)
    )
    assert error_of(backend) == (
        "SourceError: Prometheus at http://prom.example:9090 did not answer within 2 s"
    )


def test_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    backend = PrometheusBackend(
        {"url": "http://prom.example:9090"}, transport=httpx.MockTransport(refuse)
    )
    assert error_of(backend) == (
        "SourceError: cannot reach Prometheus at "
        "http://prom.example:9090: [Errno 111] Connection refused"
    )


def test_http_error(server: FakePrometheus) -> None:
    server.override = httpx.Response(502, text="<html>Bad Gateway</html>")
    assert error_of(make(server)) == (
        "SourceError: Prometheus at http://prom.example:9090 answered HTTP 502 Bad Gateway"
    )
    server.override = httpx.Response(401, text="no")
    assert "HTTP 401 Unauthorized (check token or username/password)" in error_of(make(server))


def test_prometheus_error_body(server: FakePrometheus) -> None:
    server.override = httpx.Response(
        400,
        json={
            "status": "error",
            "errorType": "bad_data",
            "error": 'invalid parameter "query": 1:27: parse error: unexpected "}"',
        },
    )
    assert error_of(make(server)) == (
        "SourceError: Prometheus refused query " + repr(SIZE) + " (HTTP 400): bad_data: "
        'invalid parameter "query": 1:27: parse error: unexpected "}"'
    )


def test_empty_result(server: FakePrometheus) -> None:
    message = error_of(make(server, mountpoint="/nowhere"))
    assert message == (
        "SourceError: query 'node_filesystem_size_bytes{mountpoint=\"/nowhere\"}' "
        "returned no data: no series matches now (wrong mountpoint or labels, or "
        "the exporter is not being scraped)"
    )


@pytest.mark.parametrize("value", ["abc", "NaN", "+Inf", None])
def test_non_numeric_value(server: FakePrometheus, value: Any) -> None:
    server.avail = value
    message = error_of(make(server))
    assert message.startswith(f"SourceError: query {AVAIL!r} returned a value that is not a number")


def test_several_series(server: FakePrometheus) -> None:
    two = [{"metric": {"instance": f"h{i}"}, "value": [0, "1"]} for i in range(2)]
    server.override = httpx.Response(200, json=vector(None, *two))
    assert "matched 2 series; narrow it to one disk" in error_of(make(server))


def test_not_a_prometheus_answer(server: FakePrometheus) -> None:
    server.override = httpx.Response(200, text="<html>Grafana login</html>")
    assert error_of(make(server)) == (
        "SourceError: http://prom.example:9090 answered something that is not a Prometheus "
        "API answer (is 'url' the Prometheus server?)"
    )


def test_inconsistent_sizes(server: FakePrometheus) -> None:
    server.avail = str(60 * TB)
    assert "gave 6e+13 bytes free of 5e+13" in error_of(make(server))


def test_recovers_when_the_server_answers_again(server: FakePrometheus) -> None:
    backend = make(server)
    server.override = httpx.Response(503, text="down")
    with pytest.raises(SourceError):
        backend.fetch_buffer()
    server.override = None
    assert backend.fetch_buffer().used_bytes == 30 * TB


# ------------------------------------------------------------------- secrets


def test_bearer_token_is_sent_and_never_shown(server: FakePrometheus, tmp_path: Path) -> None:
    backend = make(server, token=TOKEN)
    backend.fetch_buffer()
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    # a server (or proxy) that echoes what it got in its error
    server.override = httpx.Response(
        400,
        json={
            "status": "error",
            "errorType": "bad_data",
            "error": f"header Authorization: Bearer {TOKEN} rejected; raw={TOKEN}",
        },
    )
    message = error_of(backend)
    assert TOKEN not in message and "rejected" in message
    assert TOKEN not in repr(backend) and TOKEN not in json.dumps(backend.options)
    server.override = None
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    make(server, token_file=str(token_file)).fetch_buffer()
    assert server.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_basic_auth_is_sent_and_never_shown(server: FakePrometheus) -> None:
    backend = make(server, username="xenon", password=PASSWORD)
    backend.fetch_buffer()
    assert server.requests[0].headers["Authorization"].startswith("Basic ")
    server.override = httpx.Response(401, text=PASSWORD)
    message = error_of(backend)
    assert PASSWORD not in message

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for {request.url}", request=request)

    in_url = PrometheusBackend(
        {"url": f"http://xenon:{PASSWORD}@prom.example:9090"}, transport=httpx.MockTransport(refuse)
    )
    message = error_of(in_url)
    assert PASSWORD not in message
    assert "cannot reach Prometheus at http://prom.example:9090" in message


# -------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'url' is required"),
        ({"url": "prom:9090"}, "option 'url' must be an http:// or https:// URL"),
        ({"url": "http://p", "timeout": 0}, "option 'timeout' must be a number > 0"),
        ({"url": "http://p", "timeout": "5"}, "option 'timeout' must be a number > 0"),
        (
            {"url": "http://p", "history_hours": 24, "step_seconds": 1},
            "option 'step_seconds' too small",
        ),
        (
            {"url": "http://p", "token": "a", "username": "u", "password": "p"},
            "options 'token' and 'username' exclude each other",
        ),
        ({"url": "http://p", "username": "u"}, "options 'username' and 'password' go together"),
        ({"url": "http://p", "token_file": "/nonexistent/t"}, "option 'token_file': cannot read"),
        ({"url": "http://p", "verify_tls": "no"}, "option 'verify_tls' must be true or false"),
        ({"url": "http://p", "mount": "/data"}, "unknown prometheus option 'mount'"),
    ],
)
def test_bad_options_give_one_line_naming_the_option(options: dict, message: str) -> None:
    with pytest.raises(BackendConfigError) as err:
        PrometheusBackend(options)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_bad_token_option_is_not_echoed() -> None:
    with pytest.raises(BackendConfigError) as err:
        PrometheusBackend({"url": "http://p", "token": 12345678})
    assert "12345678" not in str(err.value)


# ------------------------------------------ whole-poll bounds (issue 14)


class _Trickle:
    """A server on loopback that sends its headers, then a byte of body
    every 0.2 s for ever (or ``size`` bytes at once)."""

    def __init__(self, size: int | None = None) -> None:
        import socket
        import threading

        self.size = size
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import threading

        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: Any) -> None:
        import time

        with conn:
            try:
                conn.recv(65536)
                if self.size is not None:
                    body = b'{"status": "success", "pad": "' + b"x" * self.size + b'"}'
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                    )
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
                while not self.stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(0.2)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_server_that_trickles_is_given_up_on_at_the_timeout() -> None:
    """httpx's timeout is per read: a byte every 0.2 s never tripped it, and
    the buffer pane said "no answer" for 602 s."""
    import time

    server = _Trickle()
    try:
        backend = PrometheusBackend({"url": f"http://127.0.0.1:{server.port}", "timeout": 1.0})
        start = time.monotonic()
        with pytest.raises(SourceError, match="did not answer within 1 s"):
            backend.fetch_buffer()
        assert time.monotonic() - start < 3
    finally:
        server.close()


def test_an_answer_too_large_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import backends.prometheus as prometheus

    monkeypatch.setattr(prometheus, "MAX_RESPONSE_BYTES", 1 << 20)
    server = _Trickle(size=3 << 20)
    try:
        backend = PrometheusBackend({"url": f"http://127.0.0.1:{server.port}", "timeout": 5.0})
        with pytest.raises(SourceError, match="answered more than 1 MB"):
            backend.fetch_buffer()
    finally:
        server.close()
