"""Runs Milvus Lite 2.5.1 (the C++ Milvus Lite of the 2.5 line, PyPI milvus-lite==2.5.1, in its
own virtual environment .venv-lite25) on a TCP port in the foreground until SIGTERM or SIGINT:
what scripts/milvus starts as its `lite25` kind.
    .venv-lite25/bin/python scripts/milvus-lite-25.py --data-dir DIR --port PORT"""
import argparse
import os
import signal
import threading

from milvus_lite.server import Server

parser = argparse.ArgumentParser()
parser.add_argument("--data-dir", required=True)
parser.add_argument("--port", type=int, required=True)
arguments = parser.parse_args()
os.makedirs(arguments.data_dir, exist_ok=True)
server = Server(os.path.join(arguments.data_dir, "lite25.db"), f"127.0.0.1:{arguments.port}")
if not server.init() or not server.start():
    raise SystemExit("milvus-lite-25: the server did not start")
stopping = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stopping.set())
# Ends with the server: a crashed milvus binary must not leave a launcher that looks alive.
while not stopping.wait(1):
    if server._p is not None and server._p.poll() is not None:
        raise SystemExit(f"milvus-lite-25: the milvus binary exited with {server._p.returncode}")
server.stop()
