"""Connection lifetime, seen by a raw HTTP/2 client: a connection with no call open for
`server.idle_timeout_seconds` gets a GOAWAY and is closed; one older than
`server.max_connection_age_seconds` gets a GOAWAY while it carries calls, the calls already sent
are answered, and the connection is closed after the grace. grpcio reconnects by itself."""
import time

import grpc
import h2.connection
import h2.exceptions

from conftest import Daemon
from raw_h2 import RawH2Connection
from grpc_health.v1 import health_pb2, health_pb2_grpc

HEALTH = "/grpc.health.v1.Health/Check"


def wait_closed(connection, timeout):
    deadline = time.monotonic() + timeout
    while not connection.closed and time.monotonic() < deadline:
        connection.pump(0.2)
    return connection.closed


def test_an_idle_connection_gets_goaway_and_is_closed():
    daemon = Daemon("--set", "server.idle_timeout_seconds=1")
    try:
        connection = RawH2Connection(daemon.port)
        assert connection.call(HEALTH, b"").grpc_status == 0
        started = time.monotonic()
        assert wait_closed(connection, 10), "still open 10 s after its last call"
        print(f"idle connection: GOAWAY {connection.goaway}, closed {time.monotonic() - started:.1f} s after its last call")
        assert connection.goaway is not None and connection.goaway.error_code == 0
        assert 0.8 < time.monotonic() - started < 5
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_an_old_connection_gets_goaway_while_busy_and_grpcio_carries_on():
    daemon = Daemon("--set", "server.max_connection_age_seconds=1", "--set", "server.max_connection_age_grace_seconds=1")
    try:
        connection = RawH2Connection(daemon.port)
        answered = 0
        started = time.monotonic()
        while connection.goaway is None and time.monotonic() - started < 5:
            try:
                assert connection.call(HEALTH, b"").grpc_status == 0
            except h2.exceptions.ProtocolError:
                # The h2 library treats even the GOAWAY notice as the end and refuses the answer
                # that follows it in the same read (RFC 9113 allows it): only once a GOAWAY is in.
                assert connection.conn.state_machine.state == h2.connection.ConnectionState.CLOSED
                connection.goaway = "GOAWAY (seen by the h2 library's state)"
                break
            answered += 1
            connection.pump(0.05)
        assert connection.goaway is not None, "no GOAWAY in 5 s of calls"
        print(f"busy connection: GOAWAY after {time.monotonic() - started:.1f} s and {answered} calls")
        assert wait_closed(connection, 10)

        # A stock client does not notice: its calls keep succeeding across reconnections.
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            until = time.monotonic() + 4
            calls = 0
            while time.monotonic() < until:
                assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
                calls += 1
                time.sleep(0.02)
            print(f"grpcio: {calls} calls over 4 s and at least two connection ages, all SERVING")
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_a_client_pinging_while_idle_gets_too_many_pings():
    daemon = Daemon()  # server.keepalive_min_ping_interval_seconds: 5 (PINGs here: 0.2 s apart)
    try:
        connection = RawH2Connection(daemon.port)
        assert connection.call(HEALTH, b"").grpc_status == 0
        sent = 0
        while connection.goaway is None and sent < 10:
            connection.conn.ping(b"12345678")
            connection.flush()
            sent += 1
            connection.pump(0.2)
        print(f"idle PINGs: GOAWAY after {sent}: {connection.goaway}")
        assert connection.goaway is not None and connection.goaway.error_code == 11  # ENHANCE_YOUR_CALM
        assert connection.goaway.additional_data == b"too_many_pings"
        assert sent == 4  # the first is free, the third strike ends it
        assert wait_closed(connection, 5)
        # Other connections are not affected.
        assert RawH2Connection(daemon.port).call(HEALTH, b"").grpc_status == 0
    finally:
        assert daemon.stop() == 0, daemon.log_text()
