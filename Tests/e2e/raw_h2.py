"""A deliberately low-level HTTP/2 client (the `h2` library over a plain socket), so tests can
send what a well-behaved gRPC client never would."""
import socket
import struct
import time

import h2.config
import h2.connection
import h2.events


def grpc_frame(message: bytes, compressed: bool = False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(message)) + message


def grpc_headers(path: str, **overrides) -> list[tuple[str, str]]:
    headers = {":method": "POST", ":scheme": "http", ":path": path, ":authority": "localhost",
               "content-type": "application/grpc", "te": "trailers"}
    for name, value in overrides.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
            headers.pop(":" + name, None)
        elif name in ("method", "path"):
            headers[":" + name] = value
        else:
            headers[name] = value
    pseudo = [(k, v) for k, v in headers.items() if k.startswith(":")]
    return pseudo + [(k, v) for k, v in headers.items() if not k.startswith(":")]


class Response:
    def __init__(self):
        self.headers: dict[str, str] = {}
        self.trailers: dict[str, str] = {}
        self.data = b""
        self.ended = False
        self.reset_code = None

    @property
    def grpc_status(self):
        value = self.trailers.get("grpc-status", self.headers.get("grpc-status"))
        return None if value is None else int(value)

    @property
    def grpc_message(self):
        return self.trailers.get("grpc-message", self.headers.get("grpc-message"))

    @property
    def http_status(self):
        return int(self.headers[":status"])


class RawH2Connection:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.responses: dict[int, Response] = {}
        self.goaway = None
        self.closed = False
        self.ping_acked = False
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, headers, end_stream=False) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.responses[stream_id] = Response()
        self.flush()
        return stream_id

    def send(self, stream_id: int, data: bytes, end_stream=False):
        offset = 0
        while True:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            chunk = data[offset:offset + window]
            last = offset + len(chunk) >= len(data)
            self.conn.send_data(stream_id, chunk, end_stream=end_stream and last)
            offset += len(chunk)
            self.flush()
            if last:
                return
            self.pump(0.2)

    def call(self, path: str, message: bytes, **header_overrides) -> Response:
        stream_id = self.start(grpc_headers(path, **header_overrides))
        self.send(stream_id, grpc_frame(message), end_stream=True)
        return self.wait(stream_id)

    def wait(self, stream_id: int, timeout: float = 5) -> Response:
        deadline = time.monotonic() + timeout
        while not (self.responses[stream_id].ended or self.responses[stream_id].reset_code is not None):
            if self.closed or time.monotonic() > deadline:
                raise TimeoutError(f"stream {stream_id} got no complete response")
            self.pump(deadline - time.monotonic())
        return self.responses[stream_id]

    def pump(self, timeout: float):
        self.sock.settimeout(max(timeout, 0.01))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            self.handle(event)
        self.flush()

    def handle(self, event):
        stream_id = getattr(event, "stream_id", None)
        response = self.responses.get(stream_id) if stream_id else None
        if isinstance(event, h2.events.ResponseReceived):
            response.headers = dict(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            response.data += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            response.trailers = dict(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            response.ended = True
        elif isinstance(event, h2.events.StreamReset):
            if response is not None:
                response.reset_code = event.error_code
        elif isinstance(event, h2.events.PingAckReceived):
            self.ping_acked = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event

    def sync(self, timeout: float = 5):
        """PINGs the server and waits for the ACK: every frame sent before has been processed."""
        self.ping_acked = False
        self.conn.ping(b"vdbmsync")
        self.flush()
        deadline = time.monotonic() + timeout
        while not self.ping_acked:
            if self.closed or time.monotonic() > deadline:
                raise TimeoutError("no PING ACK")
            self.pump(deadline - time.monotonic())

    def close(self):
        self.sock.close()
