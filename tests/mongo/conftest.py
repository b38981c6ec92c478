"""Servers for the mongo backend's tests: secantusd on loopback, and a real
``mongod`` too when ``XENON_CONSOLE_TEST_MONGO_URI`` names one.

Tests that stop and restart a server always use their own secantusd; the
others run against every server available, each in a database of its own.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from tests.mongo.server import SecantusServer

EXTERNAL_ENV = "XENON_CONSOLE_TEST_MONGO_URI"
SERVERS = ["secantusdb", *(["mongod"] if os.environ.get(EXTERNAL_ENV) else [])]


@pytest.fixture(scope="session")
def secantus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusServer]:
    server = SecantusServer(tmp_path_factory.mktemp("secantus"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=SERVERS)
def server_uri(request: pytest.FixtureRequest) -> str:
    """The URI of each server the suite can reach (secantusdb always)."""
    if request.param == "mongod":
        return os.environ[EXTERNAL_ENV]
    return request.getfixturevalue("secantus").uri


@pytest.fixture
def db_name(request: pytest.FixtureRequest, server_uri: str) -> Iterator[str]:
    """A database of this test's own on the server, dropped afterwards."""
    name = "xc_" + re.sub(r"\W", "_", request.node.name)[:40] + "_" + uuid.uuid4().hex[:6]
    yield name
    _drop(server_uri, name)


@pytest.fixture
def daq_name(db_name: str, server_uri: str) -> Iterator[str]:
    """A DAQ database of this test's own (its heartbeats), dropped afterwards."""
    name = db_name + "_daq"
    yield name
    _drop(server_uri, name)


def _drop(server_uri: str, name: str) -> None:
    client = pymongo.MongoClient(server_uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    except pymongo.errors.PyMongoError:
        pass  # the server may be gone on purpose
    finally:
        client.close()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[SecantusServer]:
    """A secantusd of this test's own (it keeps its data over a restart)."""
    server = SecantusServer(tmp_path, persistent=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
