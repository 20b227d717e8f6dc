"""Admission control through grpcio: with `server.max_inflight_writes=1`, eight inserts released
at once get one place running and one waiting; the others are RESOURCE_EXHAUSTED at once with the
limit named, and vdbm keeps serving."""
import random
import threading
import time

import grpc

from conftest import Daemon
from vdbm_api import data_pb2, int64_column, pb2, pb2_grpc, vectors_column

DIM, ROWS, CALLERS = 8, 2000, 8


def test_writes_over_the_limit_are_refused_at_once_naming_it():
    daemon = Daemon("--set", "server.max_inflight_writes=1")
    name = f"e2e_admission_{int(time.time() * 1000)}"
    try:
        with grpc.insecure_channel(daemon.tcp_target) as channel:
            stub = pb2_grpc.VectorDBStub(channel)
            stub.CreateCollection(pb2.CreateCollectionRequest(collection=name, dimension=DIM,
                                                              metric=data_pb2.METRIC_L2), timeout=60)
            rng = random.Random(3)

            def batch(first):
                return pb2.WriteRequest(collection=name, columns=[
                    int64_column("id", list(range(first, first + ROWS))),
                    vectors_column("vector", [[rng.random() for _ in range(DIM)] for _ in range(ROWS)], DIM)])

            requests = [batch(k * ROWS) for k in range(CALLERS)]
            gate = threading.Barrier(CALLERS)
            outcomes = [None] * CALLERS

            def insert(k):
                gate.wait()
                started = time.monotonic()
                try:
                    stub.Insert(requests[k], timeout=30)
                    outcomes[k] = ("OK", "", time.monotonic() - started)
                except grpc.RpcError as error:
                    outcomes[k] = (error.code().name, error.details(), time.monotonic() - started)

            threads = [threading.Thread(target=insert, args=(k,)) for k in range(CALLERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print("outcomes:", [(code, f"{seconds * 1000:.0f} ms") for code, _, seconds in outcomes])
            codes = [code for code, _, _ in outcomes]
            assert set(codes) <= {"OK", "RESOURCE_EXHAUSTED"}, outcomes
            assert codes.count("OK") >= 1
            assert codes.count("RESOURCE_EXHAUSTED") >= 1, "eight inserts at once never met the limit of one"
            for code, details, seconds in outcomes:
                if code == "RESOURCE_EXHAUSTED":
                    assert "server.max_inflight_writes (1)" in details, details
                    assert seconds < 1.0, f"a refusal took {seconds:.2f} s"
            # Still serving, and the limit frees: another insert goes through.
            stub.Insert(batch(CALLERS * ROWS), timeout=30)
            stub.DropCollection(pb2.CollectionRequest(collection=name), timeout=30)
    finally:
        assert daemon.stop() == 0, daemon.log_text()
