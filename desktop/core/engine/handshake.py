"""What the TLS handshake tells: the session of an open stream, why one failed.

``problem_of`` names a failure from ssl's exceptions; ``probe`` reads a refused
certificate with a second handshake that verifies nothing and sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass

import httpx

from desktop.core.engine.certificate import (
    CertificateInfo,
    TLSFailure,
    TLSInfo,
    TLSProblem,
    certificate_info,
)

# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) as ssl.SSLCertVerificationError
# gives them in ``verify_code``.
_VERIFY_CODES = {
    9: TLSProblem.NOT_YET_VALID,
    10: TLSProblem.EXPIRED,
    18: TLSProblem.SELF_SIGNED,  # depth zero self-signed
    19: TLSProblem.SELF_SIGNED,  # self-signed certificate in chain
    20: TLSProblem.UNTRUSTED,  # unable to get local issuer certificate
    21: TLSProblem.UNTRUSTED,  # unable to verify the first certificate
    62: TLSProblem.HOSTNAME,
    64: TLSProblem.HOSTNAME,  # IP address mismatch
}


def session_info(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> TLSInfo:
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return TLSInfo(
        version=ssl_object.version() or "",
        cipher=cipher[0] if cipher else "",
        certificate=certificate_info(der) if der else None,
    )


def problem_of(exc: BaseException) -> TLSProblem | None:
    """The TLS failure behind ``exc`` (walking its causes), or None if none."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 16:
        seen += 1
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _VERIFY_CODES.get(cause.verify_code, TLSProblem.OTHER)
        if isinstance(cause, PinMismatchError):
            return TLSProblem.PINNED
        if isinstance(cause, ssl.SSLError):
            text = f"{cause.reason or ''} {cause}".upper()
            # TLS 1.3: the server checks the client's certificate after the
            # client's handshake is done, and says so with this alert (RFC 8446
            # 6.2); TLS 1.2 servers fail the handshake with a generic alert.
            if "CERTIFICATE_REQUIRED" in text or "CERTIFICATE REQUIRED" in text:
                return TLSProblem.CLIENT_CERT_REQUIRED
            if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
                return None  # the connection was closed: a network error
            return TLSProblem.OTHER
        cause = cause.__cause__ or cause.__context__
    return None


class PinMismatchError(ssl.SSLError):
    """A certificate accepted only by fingerprint was not the trusted one."""


PEER_FETCH_S = 5.0  # the second handshake is a courtesy: never wait long for it


@dataclass(frozen=True, slots=True)
class Peer:
    """What a handshake that verifies nothing learnt of a server."""

    certificate: CertificateInfo | None
    asks_for_client_certificate: bool


async def probe(host: str, port: int) -> Peer | None:
    """Handshake with ``host:port`` verifying nothing, send nothing, and close;
    None when no handshake could be made.

    Whether the server sent a CertificateRequest comes from ssl's message
    callback, a private hook of CPython's ssl (used by its own tests; absent
    elsewhere, where the answer is False): Python's asyncio servers, uvicorn
    among them, close the connection on a missing client certificate without
    the TLS alert that says so (RFC 8446 6.2, "certificate_required").
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    asked: list[bool] = []
    kinds = getattr(ssl, "_TLSMessageType", None)
    request = getattr(kinds, "CERTIFICATE_REQUEST", None)

    def watch(*message: object) -> None:
        # (connection, direction, version, content_type, msg_type, data)
        if message[1] == "read" and request is not None and message[4] == request:
            asked.append(True)

    if request is not None and hasattr(context, "_msg_callback"):
        context._msg_callback = watch
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(PEER_FETCH_S):
            _, writer = await asyncio.open_connection(
                host, port, ssl=context, server_hostname=host
            )
            ssl_object = writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    except (OSError, TimeoutError):
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    return Peer(certificate_info(der) if der else None, bool(asked))


# -- from httpx's errors (stream.py maps them; these read what TLS said) ----------


def tls_of(response: httpx.Response) -> TLSInfo | None:
    """The TLS session a response came on; None over plain http."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return session_info(ssl_object) if ssl_object is not None else None


def _url_of(exc: httpx.TransportError, url: httpx.URL) -> httpx.URL:
    """The URL of the request that failed (a redirect may have led elsewhere)."""
    try:
        return exc.request.url
    except RuntimeError:  # an httpx error made without its request
        return url


# Problems where the refused certificate is worth showing (and trusting).
_ABOUT_THE_CERTIFICATE = frozenset(TLSProblem) - {
    TLSProblem.CLIENT_CERT_REQUIRED,
    TLSProblem.OTHER,
}


async def _refused_client(exc: httpx.TransportError, url: httpx.URL) -> bool:
    """Whether an https server that hung up before answering asks for a client
    certificate (one that sent the alert is named by problem_of already)."""
    if url.scheme != "https" or not isinstance(
        exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.ConnectError
    ):
        return False
    peer = await probe(url.host, url.port or 443)
    return peer is not None and peer.asks_for_client_certificate


async def tls_failure(
    exc: httpx.TransportError, url: httpx.URL, *, answered: bool
) -> TLSFailure | None:
    """What TLS refused behind ``exc``, or None when it is no TLS matter.

    For a refused certificate, the failed handshake leaves nothing to read it
    from, so a second one that verifies nothing fetches it; no request goes on
    it.  ``answered``: a response came, so a lost connection is a network error.
    """
    request_url = _url_of(exc, url)
    problem = problem_of(exc)
    if problem is None and not answered and await _refused_client(exc, request_url):
        problem = TLSProblem.CLIENT_CERT_REQUIRED
    if problem is None:
        return None
    host = request_url.host
    port = request_url.port or (443 if request_url.scheme == "https" else 80)
    certificate = None
    if problem in _ABOUT_THE_CERTIFICATE:
        peer = await probe(host, port)
        certificate = peer.certificate if peer is not None else None
    detail = ""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        detail = cause.verify_message or ""
    elif problem is TLSProblem.OTHER and cause is not None:
        detail = str(cause.reason or cause)
    return TLSFailure(problem, host, port, certificate, detail)
