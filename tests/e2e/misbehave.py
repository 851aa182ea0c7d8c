#!/usr/bin/env python3
"""A pet store upstream that misbehaves on demand, for the end-to-end test of what a generated
server does with answers real APIs give (`drive.py misbehave`, started by `tests/e2e/run`).

It plays the API of `specs/petstore-swagger2` under the base path `/v2` and answers every request
with the *scenario* chosen before the call (`Misbehaving.scenario`): JSON that drifts from the
spec (type drift, placeholder strings, nulls), XML and HTML bodies, error bodies that embed the
whole record, redirects to itself and to another origin, empty and `null` bodies, a list far
larger than a model should see. Values that must never reach a client (the credentials the
server sends, and every member its field rules remove) are the *sentinels* it is given, so
the test can look for them everywhere.

Two listeners: the upstream itself, and a second one on another port (another origin) that
only records who came: a server that follows a redirect there has sent a request (and maybe
a credential) where it must not.

Stdlib only. `python3 tests/e2e/misbehave.py [SCENARIO]` starts it alone, prints its URLs and
serves SCENARIO (default: the first) to every request, for a look by hand.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

BASE_PATH = "/v2"


@dataclass(frozen=True)
class Sentinels:
    """Unique values that must not appear in any tool result or server log line."""

    api_key: str  # the server's `api_key` header credential (PETSTORE_API_KEY)
    token: str  # its bearer credential (PETSTORE_TOKEN)
    email: str  # members the get_customer tool redacts (mask, remove, mask keeping 4)
    password: str
    phone: str
    private: str  # members list_available_pets' allowlist leaves out
    signature: str  # the query of a redirect target (a signed URL's signature)

    def all(self) -> dict[str, str]:
        return {f"the {name} sentinel": value for name, value in vars(self).items()}


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_answer(value: object, status: int = 200) -> Answer:
    return Answer(status, json.dumps(value).encode(), "application/json")


def pet(pet_id: int, name: str = "doggie") -> dict:
    return {"id": pet_id, "category": {"id": 1, "name": "Dogs"}, "name": name,
            "photoUrls": ["https://img.example/pets/1.png"], "tags": [{"id": 1, "name": "small"}],
            "status": "available"}


class Misbehaving:
    """The upstream (`url`, base path included) and the other origin (`elsewhere_url`)."""

    def __init__(self, sentinels: Sentinels) -> None:
        self.sentinels = sentinels
        self.scenario = next(iter(SCENARIOS))
        self.requests: list[Request] = []  # to the upstream, in order
        self.elsewhere: list[Request] = []  # to the other origin: must stay empty
        self.lock = threading.Lock()
        self.servers: list[ThreadingHTTPServer] = []
        self.url = self.elsewhere_url = ""

    def start(self) -> "Misbehaving":
        upstream = self._listen(self._answer, self.requests)
        other = self._listen(lambda _: json_answer({"followed": True, "key": self.sentinels.api_key}), self.elsewhere)
        self.origin = f"http://127.0.0.1:{upstream.server_address[1]}"
        self.url = self.origin + BASE_PATH
        self.elsewhere_url = f"http://127.0.0.1:{other.server_address[1]}"
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[Request]:
        with self.lock:
            return self.requests[mark:]

    def _answer(self, request: Request) -> Answer:
        if not (request.path == BASE_PATH or request.path.startswith(BASE_PATH + "/")):
            return Answer(404, f"{request.path} is outside {BASE_PATH}".encode(), "text/plain")
        return SCENARIOS[self.scenario](self, request)

    def _listen(self, answer: Callable[[Request], Answer], log: list[Request]) -> ThreadingHTTPServer:
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                    body = b""
                    while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return body
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _serve(self) -> None:
                body = self._body()
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parts.query,
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                with fixture.lock:
                    log.append(request)
                out = answer(request)
                self.send_response(out.status)
                if out.content_type:
                    self.send_header("Content-Type", out.content_type)
                for name, value in out.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out.body)))
                self.end_headers()
                self.wfile.write(out.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return server


# ---------------------------------------------------------------------------------------------
# Scenarios: name -> the answer to a request. `drive.py misbehave` says which tool meets which
# scenario and what the client must receive.


def nulls(fx: Misbehaving, r: Request) -> Answer:
    # The spec declares no member nullable; the published output schema accepts null below
    # the root (real APIs send nulls everywhere), so this is no drift.
    return json_answer({"id": 7, "category": None, "name": None, "photoUrls": [None],
                        "tags": [None, {"id": None, "name": None}], "status": None})


def type_drift(fx: Misbehaving, r: Request) -> Answer:
    return json_answer({"id": "7", "category": {"id": "one", "name": 5}, "name": 42,
                        "photoUrls": "https://img.example/pets/7.png",
                        "tags": [{"id": 1, "name": "small"}, {"id": 2, "name": ["big"]}], "status": "available"})


def placeholders(fx: Misbehaving, r: Request) -> Answer:
    # Placeholders as spec examples have them: a string where an object or array is declared.
    return json_answer({"id": 8, "category": "CategoryObject1", "name": "doggie", "photoUrls": ["string"],
                        "tags": "TagArray1", "status": "available"})


def order_placeholders(fx: Misbehaving, r: Request) -> Answer:
    return json_answer({"id": 3, "petId": "PetObject1", "quantity": "QUANTITY", "shipDate": "2019-08-24T14:15:22Z",
                        "status": "placed", "complete": "true"})


def inventory_drift(fx: Misbehaving, r: Request) -> Answer:
    return json_answer({"available": 3, "sold": "12", "pending": None, "lost": 1.5})


def secret_echo(fx: Misbehaving, r: Request) -> Answer:
    # An upstream that echoes the credential it received.
    key = r.headers.get("api_key", "")
    return json_answer({"id": 9, "name": key, "status": f"key {key} accepted"})


def customer(fx: Misbehaving, **extra: object) -> dict:
    s = fx.sentinels
    return {"id": 5, "username": "ghost", "firstName": "Gus", "lastName": "Host", "email": s.email,
            "password": s.password, "phone": s.phone, "userStatus": 1, **extra}


def nested_redacted(fx: Misbehaving, r: Request) -> Answer:
    # The record again inside members the spec does not describe.
    s = fx.sentinels
    return json_answer(customer(fx, profile={"email": s.email + ".2", "recovery": {"password": s.password + ".2",
                                                                                   "phone": s.phone + "2"}}))


def xml_record(fx: Misbehaving, r: Request) -> Answer:
    s = fx.sentinels
    body = (f"<?xml version=\"1.0\"?><User><id>5</id><username>ghost</username><email>{s.email}</email>"
            f"<password>{s.password}</password><phone>{s.phone}</phone></User>")
    return Answer(200, body.encode(), "application/xml")


def xml_list(fx: Misbehaving, r: Request) -> Answer:
    s = fx.sentinels
    body = (f"<?xml version=\"1.0\"?><pets><Pet><id>1</id><name>doggie</name>"
            f"<photoUrls><photoUrl>{s.private}</photoUrl></photoUrls><status>available</status></Pet></pets>")
    return Answer(200, body.encode(), "application/xml")


def html_500(fx: Misbehaving, r: Request) -> Answer:
    s = fx.sentinels
    body = (f"<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1>"
            f"<pre>while rendering user ghost: email={s.email} password={s.password} phone={s.phone}</pre>"
            f"</body></html>")
    return Answer(500, body.encode(), "text/html; charset=utf-8")


def html_401_echo(fx: Misbehaving, r: Request) -> Answer:
    key = r.headers.get("api_key", "")
    body = f"<html><body><h1>401 Unauthorized</h1><p>api_key {key} is not valid here.</p></body></html>"
    return Answer(401, body.encode(), "text/html")


def json_404_record(fx: Misbehaving, r: Request) -> Answer:
    s = fx.sentinels
    record = customer(fx, contact={"email": s.email + ".3", "phone": s.phone + "3"})
    return json_answer({"code": 404, "type": "error", "message": "User not found", "user": record}, 404)


def json_400_allowlist(fx: Misbehaving, r: Request) -> Answer:
    s = fx.sentinels
    return json_answer({"code": 400, "message": "invalid status",
                        "details": [{"field": "status", "reason": "not allowed", "owner_note": s.private}],
                        "pet": {"id": 1, "name": "doggie", "photoUrls": [s.private]},
                        "debug": {"query": s.private}}, 400)


def redirect_same_origin(fx: Misbehaving, r: Request) -> Answer:
    if r.path.endswith("/current"):
        return json_answer(pet(7, "moved doggie"))
    return Answer(302, headers=[("Location", f"{BASE_PATH}/pets/7/current")])


def redirect_other_origin(fx: Misbehaving, r: Request) -> Answer:
    target = f"{fx.elsewhere_url}{BASE_PATH}/pet/7?sig={fx.sentinels.signature}"
    return Answer(302, headers=[("Location", target)])


def redirect_other_origin_307(fx: Misbehaving, r: Request) -> Answer:
    return Answer(307, headers=[("Location", f"{fx.elsewhere_url}/pets?sig={fx.sentinels.signature}")])


def empty(fx: Misbehaving, r: Request) -> Answer:
    return Answer(200)


def empty_201(fx: Misbehaving, r: Request) -> Answer:
    return Answer(201, content_type="application/json")


def null_body(fx: Misbehaving, r: Request) -> Answer:
    return Answer(200, b"null", "application/json")


def html_200(fx: Misbehaving, r: Request) -> Answer:
    return Answer(200, b"<html><body>Order 3: placed</body></html>", "text/html")


LARGE_LIST = 80  # pets in the over-budget list


def large_list(fx: Misbehaving, r: Request) -> Answer:
    pets = []
    for i in range(LARGE_LIST):
        one = pet(i + 1, f"pet number {i + 1}, a very good dog with a long name")
        one["photoUrls"] = [fx.sentinels.private]
        pets.append(one)
    return json_answer(pets)


SCENARIOS: dict[str, Callable[[Misbehaving, Request], Answer]] = {
    "nulls": nulls,
    "type-drift": type_drift,
    "placeholders": placeholders,
    "order-placeholders": order_placeholders,
    "inventory-drift": inventory_drift,
    "secret-echo": secret_echo,
    "nested-redacted": nested_redacted,
    "xml-record": xml_record,
    "xml-list": xml_list,
    "html-500": html_500,
    "html-401-echo": html_401_echo,
    "json-404-record": json_404_record,
    "json-400-allowlist": json_400_allowlist,
    "redirect-same-origin": redirect_same_origin,
    "redirect-other-origin": redirect_other_origin,
    "redirect-other-origin-307": redirect_other_origin_307,
    "empty": empty,
    "empty-201": empty_201,
    "null-body": null_body,
    "html-200": html_200,
    "large-list": large_list,
}


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else next(iter(SCENARIOS))
    if name not in SCENARIOS:
        print(f"unknown scenario {name}; one of: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    fixture = Misbehaving(Sentinels("api-key-sentinel", "token-sentinel", "email-sentinel", "password-sentinel",
                                    "phone-sentinel-1234", "private-sentinel", "signature-sentinel")).start()
    fixture.scenario = name
    print(f"upstream {fixture.url} (scenario {name}); the other origin {fixture.elsewhere_url}; Ctrl-C stops",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fixture.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
