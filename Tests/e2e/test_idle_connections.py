"""An idle vdbm keeps its Milvus connections: with Milvus 2.3.5 behind it, nothing calls vdbm for
IDLE_SECONDS (300 by default) while its health is polled every second. Health must stay SERVING
the whole time and the log must show no connection closed or opened after the first ones.
(Milvus 2.3.5 answers no PING on a connection that carried no call; vdbm once closed every idle
connection at +80 s and health flapped.) scripts/test runs it beside the other suites
(RUN_IDLE_TEST=1): it makes no Milvus call of its own."""
import os
import time

import pytest

from conftest import Daemon, health_check
from grpc_health.v1 import health_pb2

pytestmark = pytest.mark.skipif(os.environ.get("RUN_IDLE_TEST") != "1", reason="needs RUN_IDLE_TEST=1")


def test_an_idle_vdbm_stays_serving_without_reconnecting():
    idle_seconds = float(os.environ.get("IDLE_SECONDS", "300"))
    daemon = Daemon()
    try:
        deadline = time.monotonic() + idle_seconds
        polls = 0
        while time.monotonic() < deadline:
            status = health_check(daemon.tcp_target)
            assert status == health_pb2.HealthCheckResponse.SERVING, f"NOT SERVING after {polls} s:\n{daemon.log_text()}"
            polls += 1
            time.sleep(1)
        messages = [record.get("msg", "") for record in daemon.log_records()]
        connected = [m for m in messages if m.startswith("connected to Milvus")]
        assert len(connected) == 2, messages  # milvus.connections_per_endpoint, opened once
        assert not any("connection closed" in m or "did not answer a PING" in m for m in messages), messages
        print(f"idle {idle_seconds:.0f} s: SERVING at all {polls} polls, {len(connected)} connections opened once")
    finally:
        assert daemon.stop() == 0, daemon.log_text()
