"""Test certificates (trustme) and real uvicorn TLS servers on 127.0.0.1.

One ``Certificates`` per test session: a CA, a leaf for 127.0.0.1/localhost, an
expired leaf, a leaf for another host, a leaf of an unknown CA, a self-signed
one and a client certificate.  ``tls_server`` serves a tiny SSE app over TLS
with any of them, optionally requiring a client certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import trustme
import uvicorn

from server.runner import bind, url_of

if TYPE_CHECKING:
    from collections.abc import Iterator

LOG_CONFIG = {"version": 1, "disable_existing_loggers": False}


@dataclass
class Pair:
    """A certificate chain and its key, as PEM files."""

    cert: str
    key: str


@dataclass
class Certificates:
    ca: trustme.CA
    ca_file: str
    good: Pair
    expired: Pair
    wrong_host: Pair
    unknown_issuer: Pair
    self_signed: Pair
    client: Pair
    client_encrypted_key: str  # the client's key, encrypted with PASSPHRASE


PASSPHRASE = b"open sesame"


def _write(directory: Path, name: str, leaf: trustme.LeafCert) -> Pair:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    for extra in leaf.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    leaf.private_key_pem.write_to_path(str(key))
    return Pair(str(cert), str(key))


def make_certificates(directory: Path) -> Certificates:
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    other = trustme.CA()
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    now = datetime.datetime.now(datetime.UTC)
    expired = ca.issue_cert(
        "127.0.0.1",
        "localhost",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=1),
    )
    self_signed = directory / "self.pem"
    lone = trustme.CA()  # a CA's own certificate, served as the leaf: self-signed
    lone.cert_pem.write_to_path(str(self_signed))
    self_key = directory / "self.key"
    lone.private_key_pem.write_to_path(str(self_key))
    client = _write(directory, "client", ca.issue_cert("client@example.test"))
    key = serialization.load_pem_private_key(Path(client.key).read_bytes(), None)
    encrypted = directory / "client-encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE),
        )
    )
    return Certificates(
        ca=ca,
        ca_file=str(ca_file),
        good=_write(directory, "good", ca.issue_cert("127.0.0.1", "localhost")),
        expired=_write(directory, "expired", expired),
        wrong_host=_write(directory, "wrong", ca.issue_cert("other.example.test")),
        unknown_issuer=_write(
            directory, "unknown", other.issue_cert("127.0.0.1", "localhost")
        ),
        self_signed=Pair(str(self_signed), str(self_key)),
        client=client,
        client_encrypted_key=str(encrypted),
    )


async def _sse(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """One event, then the body ends: enough to open, and to count."""
    assert scope["type"] == "http"
    await send(  # type: ignore[operator]
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    await send(  # type: ignore[operator]
        {"type": "http.response.body", "body": b"retry: 20\ndata: hello\n\n"}
    )


@contextlib.contextmanager
def tls_server(pair: Pair, *, client_ca: str | None = None) -> Iterator[str]:
    """An https:// URL served with ``pair``; ``client_ca`` requires a client
    certificate issued by it."""
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(
        _sse,
        ssl_certfile=pair.cert,
        ssl_keyfile=pair.key,
        ssl_ca_certs=client_ca,
        ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
        log_config=LOG_CONFIG,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="tls server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("TLS server did not start")
        time.sleep(0.005)
    try:
        yield url_of(sock).replace("http://", "https://") + "/"
    finally:
        server.should_exit = True
        thread.join(10)
        # uvicorn leaves the server side of a connection whose TLS handshake the
        # client refused to the garbage collector once its loop is gone; collect
        # it here, where it belongs to this server, rather than in whichever later
        # test the collector happens to run (it failed one at random under load).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
