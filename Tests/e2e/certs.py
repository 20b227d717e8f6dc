"""Test certificates made with the openssl CLI when a test asks: a CA, a server certificate for
localhost and 127.0.0.1, a client certificate, a second CA with its own client certificate, and
an expired server certificate; and the folder a TLS Milvus is started with (`milvus_dir`)."""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
             "-days", "2", "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)


def _request(directory: Path, name: str, subject: str, san: str | None) -> None:
    extra = ["-addext", f"subjectAltName={san}"] if san else []
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={subject}", *extra, cwd=directory)


def _signed(directory: Path, name: str, ca: str, subject: str, san: str | None = None) -> None:
    _request(directory, name, subject, san)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-copy_extensions", "copy", cwd=directory)


def _expired(directory: Path, name: str, ca: str) -> None:
    """`openssl x509` cannot back-date; `openssl ca` can, with a minimal database."""
    _request(directory, name, "localhost", "DNS:localhost,IP:127.0.0.1")
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\n"
        "policy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n")
    _openssl("ca", "-batch", "-config", "ca.cnf", "-cert", f"{ca}.pem", "-keyfile", f"{ca}.key", "-in", f"{name}.csr",
             "-out", f"{name}.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext", cwd=directory)


def make() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="vdbm-certs-"))
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    _signed(directory, "server", "ca", "localhost", "DNS:localhost,IP:127.0.0.1")
    _signed(directory, "client", "ca", "e2e-client")
    _signed(directory, "stranger", "other-ca", "stranger")
    _expired(directory, "expired", "ca")
    return directory


def milvus_dir(target: str) -> None:
    """What scripts/milvus needs for MILVUS_TLS_DIR (ca.pem, server.pem, server.key), plus
    other-ca.pem for the tests. The server certificate names only DNS:localhost, so that vdbm
    must be told the name (milvus.tls_server_name) when it dials 127.0.0.1."""
    made = make()
    _signed(made, "milvus", "ca", "localhost", "DNS:localhost")
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    for source, name in (("ca.pem", "ca.pem"), ("other-ca.pem", "other-ca.pem"), ("milvus.pem", "server.pem"),
                         ("milvus.key", "server.key")):
        shutil.copy(made / source, out / name)
    shutil.rmtree(made, ignore_errors=True)


if __name__ == "__main__":
    milvus_dir(sys.argv[1])
