"""The simulator keeps HTTP/1.1 connections alive, as Allegro's API does: one client
connection carries many calls, each with its own faults, and ``stop()`` closes the
connections clients keep open."""

from __future__ import annotations

import http.client
import json
import logging
import socket
from contextlib import closing

import pytest

from simulator.server import RunningSimulator, build_server, start_simulator
from simulator.state import SimulatorConfig
from tests.simulator.sim_helpers import PUBLIC, TIMEOUT, Account


def _connected(sim: RunningSimulator) -> closing[http.client.HTTPConnection]:
    """One client connection to ``sim``, closed when the block ends."""
    host, port = sim.base_url.removeprefix("http://").split(":")
    return closing(http.client.HTTPConnection(host, int(port), timeout=TIMEOUT))


def _get(conn: http.client.HTTPConnection, path: str, token: str | None = None) -> bytes:
    headers = {"Accept": PUBLIC, **({"Authorization": f"Bearer {token}"} if token else {})}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    assert not response.will_close
    return body


def test_two_requests_are_answered_on_one_connection(simulator: RunningSimulator) -> None:
    with _connected(simulator) as conn:
        first = _get(conn, "/_sim/users")
        sock = conn.sock
        second = _get(conn, "/_sim/users")
        assert conn.sock is sock  # not reconnected: http.client opens a new socket after a close
    assert json.loads(first) == json.loads(second)


def test_an_unread_request_body_does_not_become_the_next_request(
    simulator: RunningSimulator,
) -> None:
    with _connected(simulator) as conn:
        # No handler reads the body of a request to an unknown path.
        conn.request("POST", "/_sim/nowhere", body=b"GET /_sim/users HTTP/1.1\r\n\r\n" * 100)
        refused = conn.getresponse()
        assert (refused.status, json.loads(refused.read())) == (
            404, {"error": "no simulator endpoint /_sim/nowhere"},
        )  # fmt: skip
        assert [u["login"] for u in json.loads(_get(conn, "/_sim/users"))][:1] == ["seller01"]


def test_a_truncated_answer_is_cut_and_the_next_one_is_whole(
    simulator: RunningSimulator, agency: Account
) -> None:
    simulator.faults(truncate_next=1)
    with _connected(simulator) as conn:
        with pytest.raises(json.JSONDecodeError):
            json.loads(_get(conn, "/me", agency.token))
        assert json.loads(_get(conn, "/me", agency.token))["login"] == "agency"


def test_the_latency_fault_applies_to_each_request_of_a_connection(
    simulator: RunningSimulator, agency: Account
) -> None:
    simulator.faults(latency_ms=1)
    with _connected(simulator) as conn:
        _get(conn, "/me", agency.token)
        _get(conn, "/me", agency.token)
    assert simulator.stats()["faults"]["latency"] == 2


def test_stop_closes_the_connections_clients_keep_and_frees_the_port() -> None:
    sim = start_simulator(SimulatorConfig(users=1))
    with _connected(sim) as conn:
        _get(conn, "/_sim/users")
        sim.stop()
        assert conn.sock is not None
        assert conn.sock.recv(1) == b""  # the simulator hung up
    port = int(sim.base_url.rsplit(":", 1)[1])
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_a_chunked_request_body_is_read_to_its_end(simulator: RunningSimulator) -> None:
    with _connected(simulator) as conn:
        conn.putrequest("POST", "/_sim/nowhere")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"5\r\nhello\r\n0\r\n\r\n")
        refused = conn.getresponse()
        refused.read()
        assert (refused.status, refused.will_close) == (404, False)
        assert [u["login"] for u in json.loads(_get(conn, "/_sim/users"))][:1] == ["seller01"]


def test_log_requests_prints_one_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    sim = RunningSimulator(build_server(SimulatorConfig(users=1), quiet=False))
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            sim.users()
    finally:
        sim.stop()
    assert '"GET /_sim/users HTTP/1.1" 200' in caplog.text
