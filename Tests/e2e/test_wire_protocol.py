"""The gRPC-over-HTTP/2 rules and their error cases, sent with a raw HTTP/2 client. After each
test the `still_serving` fixture proves that a normal Health/Check still succeeds."""
import socket
import struct
import time

import pytest

from raw_h2 import RawH2Connection, grpc_frame, grpc_headers

CHECK = "/grpc.health.v1.Health/Check"
OK, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 0, 4, 8, 12, 13


@pytest.fixture
def h2c(still_serving):
    connection = RawH2Connection(still_serving.port)
    yield connection
    connection.close()


def test_a_well_formed_call_gets_headers_one_message_and_ok_trailers(h2c):
    response = h2c.call(CHECK, b"")
    assert response.http_status == 200
    assert response.headers["content-type"] == "application/grpc"
    assert response.data == grpc_frame(b"\x08\x01")  # HealthCheckResponse{status: SERVING}
    assert response.grpc_status == OK


def test_a_message_split_across_many_data_frames_is_reassembled(h2c):
    body = grpc_frame(b"\x0a\x15grpc.health.v1.Health")
    stream_id = h2c.start(grpc_headers(CHECK))
    for byte in body:
        h2c.send(stream_id, bytes([byte]))
    h2c.send(stream_id, b"", end_stream=True)
    response = h2c.wait(stream_id)
    assert response.grpc_status == OK
    assert response.data == grpc_frame(b"\x08\x01")


def test_grpc_proto_content_type_is_accepted(h2c):
    assert h2c.call(CHECK, b"", content_type="application/grpc+proto").grpc_status == OK


def test_wrong_content_type_is_http_415(h2c):
    response = h2c.call(CHECK, b"", content_type="application/json")
    assert response.http_status == 415
    assert response.grpc_status is None


def test_a_method_other_than_post_is_http_405(h2c):
    stream_id = h2c.start(grpc_headers(CHECK, method="GET"), end_stream=True)
    response = h2c.wait(stream_id)
    assert response.http_status == 405


def test_unknown_method_is_a_trailers_only_unimplemented(h2c):
    response = h2c.call("/grpc.health.v1.Health/Nope", b"")
    assert response.http_status == 200
    assert response.data == b""
    assert response.grpc_status == UNIMPLEMENTED
    assert response.grpc_message == "unknown method Nope for service grpc.health.v1.Health"


def test_compressed_flag_without_grpc_encoding_is_internal(h2c):
    stream_id = h2c.start(grpc_headers(CHECK))
    h2c.send(stream_id, grpc_frame(b"", compressed=True), end_stream=True)
    response = h2c.wait(stream_id)
    assert response.grpc_status == INTERNAL
    assert "compressed" in response.grpc_message


def test_an_unsupported_grpc_encoding_is_unimplemented_and_names_identity(h2c):
    stream_id = h2c.start(grpc_headers(CHECK, grpc_encoding="gzip"))
    response = h2c.wait(stream_id)
    assert response.grpc_status == UNIMPLEMENTED
    assert response.headers["grpc-accept-encoding"] == "identity"


def test_oversized_declared_length_is_refused_before_the_body_arrives(h2c):
    stream_id = h2c.start(grpc_headers(CHECK))
    h2c.send(stream_id, struct.pack(">BI", 0, (64 << 20) + 1) + b"only a few bytes")
    response = h2c.wait(stream_id)  # answered without the other 64 MiB ever being sent
    assert response.grpc_status == RESOURCE_EXHAUSTED
    assert "67108865 bytes exceeds the limit of 67108864" in response.grpc_message


def test_two_messages_on_a_unary_call_is_internal(h2c):
    stream_id = h2c.start(grpc_headers(CHECK))
    h2c.send(stream_id, grpc_frame(b"") + grpc_frame(b""), end_stream=True)
    response = h2c.wait(stream_id)
    assert response.grpc_status == INTERNAL
    assert "more than one" in response.grpc_message


def test_no_message_on_a_unary_call_is_internal(h2c):
    stream_id = h2c.start(grpc_headers(CHECK), end_stream=True)
    response = h2c.wait(stream_id)
    assert response.grpc_status == INTERNAL
    assert "no request message" in response.grpc_message


def test_a_request_that_ends_inside_a_message_is_internal(h2c):
    stream_id = h2c.start(grpc_headers(CHECK))
    h2c.send(stream_id, struct.pack(">BI", 0, 10) + b"abc", end_stream=True)
    response = h2c.wait(stream_id)
    assert response.grpc_status == INTERNAL
    assert "inside a message" in response.grpc_message


def test_malformed_grpc_timeout_is_internal(h2c):
    response = h2c.call(CHECK, b"", grpc_timeout="soon")
    assert response.grpc_status == INTERNAL
    assert "grpc-timeout" in response.grpc_message


@pytest.mark.parametrize("timeout", ["1H", "2M", "3S", "400m", "500000u", "60000000n"])
def test_every_grpc_timeout_unit_is_understood(h2c, timeout):
    assert h2c.call(CHECK, b"", grpc_timeout=timeout).grpc_status == OK


def test_a_zero_timeout_is_deadline_exceeded(h2c):
    response = h2c.call(CHECK, b"", grpc_timeout="0n")
    assert response.grpc_status == DEADLINE_EXCEEDED


def test_a_stalled_upload_is_answered_deadline_exceeded_when_its_deadline_passes(h2c):
    started = time.monotonic()
    stream_id = h2c.start(grpc_headers(CHECK, grpc_timeout="300m"))
    h2c.send(stream_id, struct.pack(">BI", 0, 10) + b"ab")  # and then nothing more
    response = h2c.wait(stream_id, timeout=5)
    elapsed = time.monotonic() - started
    assert response.grpc_status == DEADLINE_EXCEEDED
    assert 0.25 <= elapsed < 3, elapsed


def test_percent_encoded_grpc_message(h2c):
    # The unknown service name comes back in grpc-message; its non-ASCII bytes are percent-encoded.
    response = h2c.call(CHECK, b"\x0a\x05caf\xc3\xa9")
    assert response.grpc_status == 5
    assert response.grpc_message == "unknown service caf%C3%A9"


def test_an_oversized_header_list_is_resource_exhausted(h2c):
    response = h2c.call(CHECK, b"", x_big="a" * 20000)
    assert response.grpc_status == RESOURCE_EXHAUSTED


def test_many_streams_on_one_connection_interleave(h2c):
    streams = [h2c.start(grpc_headers(CHECK)) for _ in range(50)]
    for stream_id in reversed(streams):
        h2c.send(stream_id, grpc_frame(b""), end_stream=True)
    assert all(h2c.wait(stream_id).grpc_status == OK for stream_id in streams)


def test_a_client_reset_mid_request_leaves_the_connection_usable(h2c):
    stream_id = h2c.start(grpc_headers(CHECK))
    h2c.send(stream_id, struct.pack(">BI", 0, 10))
    h2c.conn.reset_stream(stream_id)
    h2c.flush()
    assert h2c.call(CHECK, b"").grpc_status == OK


def frame_types(received: bytes) -> list[int]:
    types, offset = [], 0
    while offset + 9 <= len(received):
        types.append(received[offset + 3])
        offset += 9 + int.from_bytes(received[offset:offset + 3], "big")
    return types


def test_garbage_instead_of_the_http2_preface_closes_only_that_connection(still_serving):
    """What the wire table of docs/api.md says: the SETTINGS and WINDOW_UPDATE sent on connect, then
    the close, with no GOAWAY (RFC 9113 3.4 lets a server omit it for a peer not speaking HTTP/2)."""
    with socket.create_connection(("127.0.0.1", still_serving.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 4)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert frame_types(received) == [0x4, 0x8], received  # SETTINGS, WINDOW_UPDATE


def test_malformed_frames_after_the_preface_get_a_goaway(still_serving):
    with socket.create_connection(("127.0.0.1", still_serving.port), timeout=5) as sock:
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        empty_settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
        bad_frame = b"\x00\x00\x05\x08\x00\x00\x00\x00\x00" + b"\x00" * 5  # WINDOW_UPDATE of the wrong length
        sock.sendall(preface + empty_settings + bad_frame)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert 0x7 in frame_types(received)  # GOAWAY


def test_a_connection_closed_mid_call_does_not_disturb_others(still_serving):
    victim = RawH2Connection(still_serving.port)
    stream_id = victim.start(grpc_headers(CHECK))
    victim.send(stream_id, struct.pack(">BI", 0, 100) + b"partial")
    victim.close()
    other = RawH2Connection(still_serving.port)
    try:
        assert other.call(CHECK, b"").grpc_status == OK
    finally:
        other.close()
