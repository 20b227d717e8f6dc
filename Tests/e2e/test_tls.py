"""TLS on vdbm's gRPC listener through grpcio's ssl_channel_credentials, with certificates made
at test time by the openssl CLI (certs.py): TLS, mTLS checked both ways, the wrong protocol on
each port, an expired certificate at start, and certificates reloaded on SIGHUP."""
import shutil
import signal
import socket
import ssl
import subprocess
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import certs
from conftest import DIE_WITH_PARENT, E2E_VDBM_BIN, ROOT, Daemon, health_check

SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture(scope="module")
def tls_dir():
    directory = certs.make()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def tls_args(directory, client_ca=None, cert="server"):
    args = ["--set", f"server.tls.cert_file={directory / f'{cert}.pem'}",
            "--set", f"server.tls.key_file={directory / f'{cert}.key'}"]
    if client_ca:
        args += ["--set", f"server.tls.client_ca_file={directory / f'{client_ca}.pem'}"]
    return args


def secure_check(target, directory, client=None, timeout=3, host="localhost"):
    """Health/Check over TLS, trusting the test CA, as `client` (a certificate name) or nobody."""
    key = (directory / f"{client}.key").read_bytes() if client else None
    chain = (directory / f"{client}.pem").read_bytes() if client else None
    credentials = grpc.ssl_channel_credentials(root_certificates=(directory / "ca.pem").read_bytes(),
                                               private_key=key, certificate_chain=chain)
    options = [("grpc.ssl_target_name_override", host)]
    with grpc.secure_channel(target, credentials, options=options) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout).status


def served_certificate_serial(port):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                          capture_output=True, check=True).stdout.decode().strip()


def test_tls_serves_grpc_and_the_unix_socket_stays_plaintext(tls_dir):
    daemon = Daemon(*tls_args(tls_dir), tls=True)
    try:
        deadline = time.monotonic() + 30
        while secure_check(daemon.tcp_target, tls_dir) != SERVING:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # ALPN says h2, as gRPC clients require.
        context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        context.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", daemon.port)) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
        assert health_check(daemon.unix_target) == SERVING
        # A plaintext client on the TLS port fails clearly; the daemon goes on.
        with pytest.raises(grpc.RpcError) as failure:
            health_check(daemon.tcp_target)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        assert secure_check(daemon.tcp_target, tls_dir) == SERVING
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_a_tls_client_on_the_plaintext_port_fails_clearly(still_serving, tls_dir):
    with pytest.raises(grpc.RpcError) as failure:
        secure_check(still_serving.tcp_target, tls_dir)
    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_requires_a_client_certificate_from_the_configured_ca(tls_dir):
    daemon = Daemon(*tls_args(tls_dir, client_ca="ca"), tls=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if secure_check(daemon.tcp_target, tls_dir, client="client") == SERVING:
                    break
            except grpc.RpcError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.1)
        for client in (None, "stranger"):  # no certificate, then one from another CA
            with pytest.raises(grpc.RpcError) as failure:
                secure_check(daemon.tcp_target, tls_dir, client=client)
            assert failure.value.code() == grpc.StatusCode.UNAVAILABLE, client
        assert secure_check(daemon.tcp_target, tls_dir, client="client") == SERVING
    finally:
        assert daemon.stop() == 0, daemon.log_text()


def test_minimum_version_1_3_refuses_a_tls_1_2_client(tls_dir):
    daemon = Daemon(*tls_args(tls_dir), "--set", "server.tls.min_version=1.3", tls=True)
    try:
        context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", daemon.port)) as raw:
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname="localhost")
        context = ssl.create_default_context(cafile=str(tls_dir / "ca.pem"))
        with socket.create_connection(("127.0.0.1", daemon.port)) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
    finally:
        assert daemon.stop() == 0, daemon.log_text()


@pytest.mark.parametrize("cert, key, expected", [
    ("expired.pem", "expired.key", "server.tls.cert_file: {dir}/expired.pem: a certificate in the file expired at 2020-01-02T00:00:00Z"),
    ("missing.pem", "server.key", "server.tls.cert_file: {dir}/missing.pem: No such file or directory"),
    ("server.pem", "client.key", "server.tls.cert_file: {dir}/server.pem: unusable TLS settings"),
    ("server.pem", "ca.srl", "server.tls.key_file: {dir}/ca.srl: not a PEM private key"),
])
def test_bad_certificate_files_stop_vdbm_at_start_naming_the_key(tls_dir, cert, key, expected):
    result = subprocess.run(
        [*DIE_WITH_PARENT, E2E_VDBM_BIN, "serve", "--config", str(ROOT / "Config" / "vdbm.yaml"), "--port", "0",
         "--set", "admin.port=0", "--set", f"server.tls.cert_file={tls_dir / cert}",
         "--set", f"server.tls.key_file={tls_dir / key}"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert expected.format(dir=tls_dir) in result.stderr + result.stdout


def test_sighup_reloads_the_certificates_without_dropping_a_connection(tls_dir):
    live = tls_dir / "live"
    live.mkdir(exist_ok=True)
    for suffix in ("pem", "key"):
        shutil.copy(tls_dir / f"server.{suffix}", live / f"server.{suffix}")
    daemon = Daemon(*tls_args(live), tls=True)
    try:
        deadline = time.monotonic() + 30
        while secure_check(daemon.tcp_target, tls_dir) != SERVING:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        before = served_certificate_serial(daemon.port)
        credentials = grpc.ssl_channel_credentials(root_certificates=(tls_dir / "ca.pem").read_bytes())
        with grpc.secure_channel(daemon.tcp_target, credentials,
                                 options=[("grpc.ssl_target_name_override", "localhost")]) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            assert stub.Check(health_pb2.HealthCheckRequest(), timeout=3).status == SERVING
            # A new certificate from the same CA, under the same paths.
            certs._signed(live, "server", "../ca", "localhost", "DNS:localhost,IP:127.0.0.1")
            daemon.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while served_certificate_serial(daemon.port) == before:
                assert time.monotonic() < deadline, daemon.log_text()
                time.sleep(0.1)
            # The connection opened before the reload still carries calls.
            assert stub.Check(health_pb2.HealthCheckRequest(), timeout=3).status == SERVING
        assert secure_check(daemon.tcp_target, tls_dir) == SERVING
        assert "TLS certificates reloaded" in daemon.log_text()
    finally:
        assert daemon.stop() == 0, daemon.log_text()
