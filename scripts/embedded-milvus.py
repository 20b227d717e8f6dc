"""Runs the embedded Milvus 2.3.5 (PyPI `milvus`, the `milvus-server` command) with one fix.

milvus-server checks each port it will use by binding it without SO_REUSEADDR, and quietly moves
to the next free port when that fails. Right after a Milvus stops, its old connections sit in
TIME_WAIT on the proxy port for a minute, so a restart would listen on 19532 instead of 19530
and clients would never find it. Binding with SO_REUSEADDR (as the Milvus binary itself does)
makes the check agree with what the server can really do. Arguments are milvus-server's own."""
import socket
import sys

import milvus


def try_bind_port(self, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None


milvus.MilvusServerConfig.try_bind_port = try_bind_port
sys.argv[0] = "milvus-server"
sys.exit(milvus.main())
