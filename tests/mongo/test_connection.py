"""Options, credentials and the one-line errors of the mongo backend (no server)."""

from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout, OperationFailure

from backends.mongo.connection import parse_settings, scrub, source_error
from backends.sources import BackendConfigError

PASSWORD = "p@ss:w/rd"
QUOTED = "p%40ss%3Aw%2Frd"


def test_password_from_the_uri_or_the_environment() -> None:
    uri = parse_settings({"uri": f"mongodb://xe1t:{QUOTED}@db1,db2:27018/run"}, {})
    assert (uri.username, uri.password, uri.hosts) == ("xe1t", PASSWORD, "db1,db2:27018")
    env = parse_settings({"uri": "mongodb://xe1t@db/run"}, {"MONGO_PASSWORD": PASSWORD})
    assert (env.username, env.password) == ("xe1t", PASSWORD)
    # The URI's password wins; without a user the environment is not used.
    both = parse_settings({"uri": "mongodb://xe1t:own@db/"}, {"MONGO_PASSWORD": PASSWORD})
    assert both.password == "own"
    assert parse_settings({"uri": "mongodb://db/"}, {"MONGO_PASSWORD": PASSWORD}).password is None
    named = parse_settings(
        {"uri": "mongodb://db/", "username": "reader"}, {"MONGO_PASSWORD": PASSWORD}
    )
    assert (named.username, named.password) == ("reader", PASSWORD)
    srv = parse_settings(
        {"uri": "mongodb+srv://xe1t@cluster.example.net/run"}, {"MONGO_PASSWORD": PASSWORD}
    )
    assert (srv.username, srv.password, srv.hosts) == ("xe1t", PASSWORD, "cluster.example.net")
    for settings in (uri, env, named, srv):
        assert PASSWORD not in repr(settings) and QUOTED not in repr(settings)


def test_a_user_without_any_password_is_a_config_error() -> None:
    with pytest.raises(BackendConfigError) as caught:
        parse_settings({"uri": "mongodb://xe1t@db/run"}, {})
    assert str(caught.value) == (
        "uri names user 'xe1t' but no password: put it in the "
        "MONGO_PASSWORD environment variable (or in the uri)"
    )
    x509 = parse_settings(
        {"uri": "mongodb://db/?authMechanism=MONGODB-X509&tls=true", "username": "CN=xe1t"}, {}
    )
    assert x509.password is None


def test_scrub_hides_the_password_in_every_form() -> None:
    text = (
        f"bad auth for {PASSWORD} via mongodb://xe1t:{QUOTED}@db/ and mongodb://other:secret@db2/"
    )
    assert scrub(text, PASSWORD) == (
        "bad auth for *** via mongodb://xe1t:***@db/ and mongodb://other:***@db2/"
    )


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            NetworkTimeout("db:27017: timed out"),
            "the runs database at db did not answer within 10 s while reading run.runs_new",
        ),
        (
            AutoReconnect("connection closed"),
            "lost the connection to the runs database at db while reading run.runs_new",
        ),
        (
            OperationFailure(
                f"Authentication failed for {PASSWORD}",
                18,
                {"errmsg": f"Authentication failed for {PASSWORD}"},
            ),
            "the runs database refused reading run.runs_new (code 18): "
            "Authentication failed for ***",
        ),
        (
            ValueError(f"mongodb://xe1t:{QUOTED}@db/\nsecond line"),
            "reading run.runs_new failed: ValueError: mongodb://xe1t:***@db/ second line",
        ),
    ],
)
def test_errors_are_one_line_without_secrets(exc: Exception, line: str) -> None:
    settings = parse_settings({"uri": f"mongodb://xe1t:{QUOTED}@db/run"}, {})
    assert str(source_error(exc, settings, "reading run.runs_new")) == line
