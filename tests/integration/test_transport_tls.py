"""TLS handshake failures say what went wrong: no TLS at that address, or a refused certificate.

An ``https://`` URL pointing at a plain-http port fails the handshake just like an
untrusted certificate does; the advice differs (fix the scheme or port, or the trust
store), so the messages tell them apart. Both servers here listen on 127.0.0.1 only.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3.exceptions

from oneroster_client import OneRosterClient, RetryPolicy
from oneroster_client.auth import OAuth2ClientCredentials
from oneroster_client.errors import TransportError
from oneroster_client.status import error_chain, tls_failure
from oneroster_client.testing.hostile import Reply, ScriptedServer

NOT_TLS = "does not speak TLS (https) at that address"


def _https(server: ScriptedServer, path: str) -> str:
    return server.url(path).replace("http://", "https://", 1)


@pytest.fixture(scope="module")
def plain_http() -> Iterator[ScriptedServer]:
    with ScriptedServer([Reply(body={"users": []})]) as server:
        yield server


def test_https_to_a_plain_http_port_says_the_server_does_not_speak_tls(
    plain_http: ScriptedServer,
) -> None:
    with (
        OneRosterClient(
            _https(plain_http, "/v1p1"), auth=None, retry=RetryPolicy.none(), timeout=2.0
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.users.list().all()
    message = str(caught.value)
    assert "TLS handshake with 127.0.0.1:" in message
    assert (
        NOT_TLS in message and "check the scheme (http/https) and port of the base URL" in message
    )
    assert "certificate" not in message


def test_a_token_url_on_a_plain_http_port_says_so_too(plain_http: ScriptedServer) -> None:
    auth = OAuth2ClientCredentials(
        _https(plain_http, "/token"), "client-1", "secret-1", retry=RetryPolicy.none()
    )
    with (
        OneRosterClient(
            _https(plain_http, "/v1p1"), auth=auth, retry=RetryPolicy.none(), timeout=2.0
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.users.list().all()
    message = str(caught.value)
    assert "could not reach the OAuth 2 token endpoint" in message
    assert NOT_TLS in message and "port of token_url" in message


# --- a TLS server whose certificate is not trusted ------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An https server on 127.0.0.1 with a self-signed certificate; yields its origin."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # pragma: no cover - the handshake never completes
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            connection, address = super().get_request()
            return context.wrap_socket(connection, server_side=True), address

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # the client refusing the certificate is the point

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_keeps_the_certificate_advice(self_signed: str) -> None:
    with (
        OneRosterClient(
            self_signed + "/v1p1", auth=None, retry=RetryPolicy.none(), timeout=2.0
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.users.list().all()
    message = str(caught.value)
    assert "the server certificate was not accepted (self-signed certificate)" in message
    assert "verify setting" in message and NOT_TLS not in message


def test_an_untrusted_token_endpoint_keeps_the_certificate_advice(self_signed: str) -> None:
    auth = OAuth2ClientCredentials(
        self_signed + "/token", "client-1", "secret-1", retry=RetryPolicy.none()
    )
    with (
        OneRosterClient(
            self_signed + "/v1p1", auth=auth, retry=RetryPolicy.none(), timeout=2.0
        ) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.users.list().all()
    message = str(caught.value)
    assert "the TLS handshake failed: the server certificate was not accepted" in message
    assert "verify setting" in message and NOT_TLS not in message


# --- how the kind is told, whatever wraps the ssl error -------------------------------------


def _as_requests_sees_it(root: BaseException) -> requests.exceptions.SSLError:
    """``root`` wrapped the way requests and urllib3 2 wrap a failed handshake."""
    wrapped = urllib3.exceptions.SSLError(root)
    retries = urllib3.exceptions.MaxRetryError(None, "/v1p1/users", wrapped)  # type: ignore[arg-type]
    return requests.exceptions.SSLError(retries)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)", "not_tls"),
        ("[SSL: RECORD_LAYER_FAILURE] record layer failure (_ssl.c:1000)", "not_tls"),
        ("[SSL: HTTP_REQUEST] http request (_ssl.c:1000)", "not_tls"),
        ("[SSL: UNKNOWN_PROTOCOL] unknown protocol (_ssl.c:1000)", "not_tls"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1000)", "certificate"),
        ("[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure", "other"),
    ],
)
def test_the_openssl_reason_tells_the_kind(text: str, kind: str) -> None:
    assert tls_failure(_as_requests_sees_it(ssl.SSLError(1, text))).kind == kind


def test_a_certificate_error_carries_what_the_check_said() -> None:
    root = ssl.SSLCertVerificationError(1, "certificate verify failed")
    root.verify_message = "certificate has expired"
    failure = tls_failure(_as_requests_sees_it(root))
    assert (failure.kind, failure.detail) == ("certificate", "certificate has expired")
    assert "(certificate has expired)" in failure.advice(setting="the base URL")


def test_a_cyclic_error_chain_ends() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert len(list(error_chain(first))) == 2
    assert tls_failure(first).kind == "other"
