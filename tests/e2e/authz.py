#!/usr/bin/env python3
"""A small OAuth 2.0 authorization server for the end-to-end test, in one process with drive.py.

Standard library HTTP server plus PyJWT (with `cryptography`) for ES256 tokens. It serves:

  * `GET /.well-known/oauth-authorization-server` — RFC 8414 metadata (`issuer`, `jwks_uri`,
    `token_endpoint`, grant types, client authentication methods);
  * `GET /jwks` — a JWKS with one freshly generated P-256 key (`ES256`);
  * `POST /token` — RFC 6749 `client_credentials` and RFC 8693 token exchange
    (`urn:ietf:params:oauth:grant-type:token-exchange`), both with HTTP Basic client
    authentication (RFC 6749 §2.3.1: id and secret form-encoded, then joined). A token exchange
    accepts only a `subject_token` this server issued (its signature, issuer and expiry are
    checked). Answers are JWTs signed with the same key.

Every request to the token endpoint is recorded ([`TokenRequest`]) with what the test needs to
assert: the grant type, the client authentication, the form (the secret left out) and the token
issued. Metadata and JWKS fetches are counted.

[`AuthorizationServer.mint`] makes caller tokens (subject, scopes, audience, lifetime), and
[`AuthorizationServer.forged`] makes tokens that must be refused: signed by another key under the
same `kid`, for another audience, from another issuer, or expired.

Run by hand for a look: `authz.py` starts one and prints its issuer URL and a token.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
METADATA_PATH = "/.well-known/oauth-authorization-server"

# Skew the servers tolerate by default is 60 s: an "expired" token is well past it.
EXPIRED_BY = 3600


@dataclass
class TokenRequest:
    """One request at the token endpoint, as the test asserts it."""

    seq: int
    grant_type: str | None
    client_auth: str  # "basic", "none", or "malformed"
    client_id: str | None  # from the Basic credentials
    client_ok: bool  # the id and secret matched a registered client
    form: dict[str, str]  # the form, one value per name (client_secret never kept)
    status: int
    error: str | None = None
    access_token: str | None = None  # the token issued, when one was
    subject: str | None = None  # `sub` of the issued token


@dataclass
class Issued:
    """A token this server issued (a minted caller token or a token endpoint answer)."""

    token: str
    kind: str  # "caller", "client_credentials", "token_exchange"
    claims: dict[str, Any]
    subject_token: str | None = None  # for token exchange: the token exchanged


@dataclass
class AuthorizationServer:
    """Call `start()`; `issuer` is then `http://127.0.0.1:<port>`."""

    clients: dict[str, str] = field(default_factory=dict)  # client id -> secret
    upstream_audience: str = "urn:mcpgen-e2e:upstream"
    token_lifetime: int = 600

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid = "e2e-" + secrets.token_hex(4)
        self.requests: list[TokenRequest] = []
        self.issued: dict[str, Issued] = {}
        self.metadata_fetches = 0
        self.jwks_fetches = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "AuthorizationServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                server._post(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="authz", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "AuthorizationServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "token_endpoint": self.token_endpoint,
            "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "response_types_supported": [],
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig"})
        return {"keys": [jwk]}

    # -- tokens ----------------------------------------------------------------------------

    def _sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        headers = {"kid": kid or self.kid, "typ": "at+jwt"}
        return jwt.encode(claims, key or self.key, algorithm="ES256", headers=headers)

    def mint(self, subject: str, scopes: list[str] | tuple[str, ...], audience: str, *,
             lifetime: int = 600, client_id: str = "e2e-mcp-client", issuer: str | None = None,
             key: Any = None, scp: bool = False, not_before: int = -5) -> str:
        """A caller's access token. `issuer` and `key` default to this server's; `scp` puts the
        scopes in an `scp` array instead of the space-separated `scope`; `not_before` is `nbf`
        relative to now."""
        now = int(time.time())
        claims = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience,
            "client_id": client_id,
            "iat": now,
            "nbf": now + not_before,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        }
        if scp:
            claims["scp"] = list(scopes)
        else:
            claims["scope"] = " ".join(scopes)
        token = self._sign(claims, key=key)
        if key is None and issuer is None:
            with self._lock:
                self.issued[token] = Issued(token, "caller", claims)
        return token

    def forged(self, kind: str, subject: str, scopes: list[str] | tuple[str, ...], audience: str) -> str:
        """A token the resource server must refuse: `bad-signature` (another key, same kid),
        `wrong-audience`, `wrong-issuer`, `expired` (an hour past its `exp`) or `not-yet-valid`
        (`nbf` an hour ahead)."""
        if kind == "bad-signature":
            return self.mint(subject, scopes, audience, key=ec.generate_private_key(ec.SECP256R1()))
        if kind == "wrong-audience":
            return self.mint(subject, scopes, audience.rstrip("/") + "-elsewhere")
        if kind == "wrong-issuer":
            return self.mint(subject, scopes, audience, issuer=self.issuer + "/other-tenant")
        if kind == "expired":
            return self.mint(subject, scopes, audience, lifetime=-EXPIRED_BY)
        if kind == "not-yet-valid":
            return self.mint(subject, scopes, audience, not_before=EXPIRED_BY, lifetime=2 * EXPIRED_BY)
        raise ValueError(kind)

    FORGERIES = ("bad-signature", "wrong-audience", "wrong-issuer", "expired", "not-yet-valid")

    def verify_own(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this server signed, unexpired; None otherwise."""
        try:
            return jwt.decode(token, self.key.public_key(), algorithms=["ES256"], issuer=self.issuer,
                              options={"verify_aud": False, "require": ["exp", "iss", "sub"]})
        except jwt.PyJWTError:
            return None

    def issued_tokens(self) -> list[Issued]:
        with self._lock:
            return list(self.issued.values())

    def lookup(self, token: str | None) -> Issued | None:
        """What this server issued as `token` (None for anything else)."""
        with self._lock:
            return self.issued.get(token) if token else None

    def token_requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self.requests)

    # -- HTTP ------------------------------------------------------------------------------

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Cache-Control", "no-store")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        if path == METADATA_PATH:
            with self._lock:
                self.metadata_fetches += 1
            self._answer(handler, 200, self.metadata())
        elif path == "/jwks":
            with self._lock:
                self.jwks_fetches += 1
            self._answer(handler, 200, self.jwks())
        else:
            self._answer(handler, 404, {"error": "not_found"})

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        if path != "/token":
            self._answer(handler, 404, {"error": "not_found"})
            return
        status, body, headers = self._token(handler.headers.get("Authorization"),
                                            handler.headers.get("Content-Type", ""), raw)
        self._answer(handler, status, body, headers)

    def _client(self, authorization: str | None) -> tuple[str, str | None, bool]:
        """(client auth kind, client id, authenticated) from an Authorization header."""
        if not authorization:
            return "none", None, False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return "malformed", None, False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return "malformed", None, False
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            return "malformed", None, False
        client_id = urllib.parse.unquote_plus(raw_id)
        secret = urllib.parse.unquote_plus(raw_secret)
        expected = self.clients.get(client_id)
        ok = expected is not None and secrets.compare_digest(expected, secret)
        return "basic", client_id, ok

    def _token(self, authorization: str | None, content_type: str,
               raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        auth_kind, client_id, client_ok = self._client(authorization)
        form_ok = content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True) if form_ok else []
        form = {k: v for k, v in pairs if k != "client_secret"}
        with self._lock:
            record = TokenRequest(seq=len(self.requests), grant_type=form.get("grant_type"),
                                  client_auth=auth_kind, client_id=client_id, client_ok=client_ok,
                                  form=form, status=0)
            self.requests.append(record)

        def refuse(status: int, error: str, description: str) -> tuple[int, dict[str, Any], dict[str, str]]:
            record.status, record.error = status, error
            headers = {"WWW-Authenticate": 'Basic realm="e2e"'} if status == 401 else {}
            return status, {"error": error, "error_description": description}, headers

        if not form_ok:
            return refuse(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        if len({k for k, _ in pairs}) != len(pairs):
            return refuse(400, "invalid_request", "a parameter is repeated")
        if not client_ok:
            return refuse(401, "invalid_client", "HTTP Basic client authentication failed")
        now = int(time.time())
        grant = form.get("grant_type")
        scope = form.get("scope", "")
        claims: dict[str, Any] = {"iss": self.issuer, "aud": form.get("audience") or self.upstream_audience,
                                  "client_id": client_id, "scope": scope, "iat": now,
                                  "exp": now + self.token_lifetime, "jti": secrets.token_hex(8)}
        subject_token = None
        if grant == "client_credentials":
            kind = "client_credentials"
            claims["sub"] = client_id
        elif grant == TOKEN_EXCHANGE:
            kind = "token_exchange"
            subject_token = form.get("subject_token")
            if not subject_token:
                return refuse(400, "invalid_request", "subject_token is missing")
            if form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
                return refuse(400, "invalid_request", "subject_token_type must be an access token")
            requested = form.get("requested_token_type")
            if requested not in (None, ACCESS_TOKEN_TYPE):
                return refuse(400, "invalid_request", "only access tokens are issued")
            subject = self.verify_own(subject_token)
            if subject is None:
                return refuse(400, "invalid_grant", "the subject_token was not issued here or has expired")
            claims["sub"] = subject["sub"]
            claims["act"] = {"sub": client_id}
        else:
            return refuse(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
        token = self._sign(claims)
        with self._lock:
            self.issued[token] = Issued(token, kind, claims, subject_token)
            record.status, record.access_token, record.subject = 200, token, claims["sub"]
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        if scope:
            body["scope"] = scope
        if kind == "token_exchange":
            body["issued_token_type"] = ACCESS_TOKEN_TYPE
        return 200, body, {}


if __name__ == "__main__":
    with AuthorizationServer(clients={"demo-client": "demo-secret"}) as authz:
        print(f"issuer {authz.issuer}")
        print(authz.mint("demo-user", ["a:read"], "http://127.0.0.1:8000/mcp"))
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
