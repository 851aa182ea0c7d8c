#!/usr/bin/env python3
"""Drive one generated MCP server with the official MCP Python SDK, against a Prism mock upstream
and a local OAuth authorization server (`authz.py`).

Started by `tests/e2e/run` (which installs the SDK, builds the servers and starts Prism); not
meant to be run by hand, though it can be: `drive.py --help`.

`drive.py run` takes one example (its built binary, its fixtures, the Prism port and log) and:
  * starts the authorization server (its own ES256 key; the example's OAuth client registered)
    and a recording proxy in front of Prism (every upstream request, with its headers);
  * over stdio (spawned by the SDK, once with protocol negotiation `auto`, once `legacy`), as the
    local operator with a caller token (`--stdio-token-env`) and the token endpoint
    (`--oauth-token-url`): lists the tools, compares them with the fixtures, calls every tool with
    its fixture arguments; a tool that needs confirmation must ask through elicitation (the
    client accepts) and then send exactly one request; then once more with a client that
    declines: refused, nothing sent;
  * over streamable HTTP (`--transport http --auth-issuer … --public-url …`) with a bearer token
    from the authorization server holding every declared scope: the same on one connection
    without elicitation (a tool that needs confirmation answers a dry run, nothing sent; the call
    repeated with its `confirmation_token` runs; the token a second time is refused), then from
    three concurrent clients (one of them can elicit);
  * checks every executed call's upstream `Authorization` against the tool's identity mode
    (client credentials, token exchange, passthrough, service account), the requests at the
    token endpoint, the HTTP authorization layer (401 without or with a bad token, protected
    resource metadata, 403 `insufficient_scope` and hidden tools for a token without a scope),
    the audit lines, and that no secret or token shows in a result or a server log line;
  * reads Prism's log and fails every tool whose request Prism complained about.
A call passes when the SDK raised nothing (it validates `structuredContent` against the tool's
`outputSchema`), the result is not `isError`, and a tool with an `outputSchema` returned
`structuredContent`; a success may carry a note that the answer drifted from the schema (counted,
and checked against the audit lines and the drift counter). One JSON line per check goes to
`--results`. With `--prism-mode static` (Prism serves the spec's own examples) `run` repeats only
what depends on the answers: stdio in both negotiations and one HTTP connection, with the
identity, Prism, audit, metrics and log checks.

`drive.py misbehave` runs the petstore-swagger2 server over stdio against `misbehave.py`, a pet
store upstream that misbehaves on demand, one scenario per call, and checks what the client
receives, the audit outcomes, the metrics, that no sentinel (credential or redacted value)
shows anywhere, and that a redirect to another origin sends nothing there.

`drive.py conformance` runs the conformance suite's scenarios against one server over HTTP. The
suite cannot send an Authorization header, so that server runs with `--insecure-no-auth`.

`drive.py summary RESULTS...` prints the table of all examples and exits 1 on any failure.

Prism's mock serves every operation at its own path, ignoring a Swagger 2.0 `basePath` or the
path of an OpenAPI server URL. When the server's default base URL has a path, the recording proxy
accepts only paths under that base path and strips it, so the server is still tested with a base
URL that has a path, as in production.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import anyio
import httpx2
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
import mcp.types as types

from prometheus_client.parser import text_string_to_metric_families

from authz import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, AuthorizationServer, Issued
import misbehave
from misbehave import Sentinels
from otlp import Collector

CALL_TIMEOUT = 30.0  # seconds for one tools/call or tools/list
PHASE_TIMEOUT = 180.0  # seconds for one whole phase (connect, list, every call)
HEALTH_TIMEOUT = 30.0  # seconds for an HTTP server to answer /healthz
PROBE_TIMEOUT = 10.0  # seconds for one raw HTTP request (authorization checks)
REFUSAL_TIMEOUT = 15.0  # seconds for a server started without auth to exit
# Protocol negotiation mode of each concurrent HTTP client, and whether it can elicit.
CONCURRENT_CLIENTS = (("auto", False), ("legacy", False), ("auto", True))
CALLER_TOKEN_ENV = "MCPGEN_E2E_CALLER_TOKEN"  # holds the stdio caller's token
MCP_CLIENT_ID = "e2e-mcp-client"  # `client_id` claim of the caller tokens
STDIO_SUBJECT = "local-operator"  # the servers' default stdio subject
STDIO_AUDIENCE = "urn:mcpgen-e2e:stdio"  # audience of the stdio caller's token
CONFIRMATION_ARGUMENT = "confirmation_token"
MODERN = "2026-07-28"  # protocol version from which elicitation is an input_required round


# ---------------------------------------------------------------------------------------------
# Records


class Recorder:
    """Collects one record per check and prints failures as they happen. `pass_` labels the
    records with the run they belong to: `dynamic` or `static` (Prism's two modes), `misbehave`
    (the misbehaving upstream) or `conformance`."""

    def __init__(self, example: str, pass_: str = "dynamic") -> None:
        self.example = example
        self.pass_ = pass_
        self.records: list[dict[str, Any]] = []

    def add(self, transport: str, tool: str, ok: bool, detail: str = "", arguments: Any = None,
            drift: list[str] | None = None) -> None:
        record = {
            "example": self.example,
            "pass": self.pass_,
            "transport": transport,
            "tool": tool,
            "ok": ok,
            "detail": detail,
            "arguments": arguments,
        }
        if drift:
            record["drift"] = drift
        self.records.append(record)
        if not ok:  # the details come in the summary
            first = (detail.splitlines() or [""])[0]
            print(f"  FAIL [{self.pass_} {transport}] {tool}: {first[:160]}", flush=True)


# ---------------------------------------------------------------------------------------------
# Fixtures and what the generated crate declares


def load_cases(cases_file: Path) -> dict[str, dict[str, Any]]:
    """Every tool's fixture from a generated crate's tests/cases.json (an object by tool name)."""
    cases = json.loads(cases_file.read_text())
    if not isinstance(cases, dict) or not cases:
        raise SystemExit(f"error: no fixtures in {cases_file}")
    for name, case in cases.items():
        if case.get("tool") != name:
            raise SystemExit(f"error: {cases_file}: the fixture under {name!r} is for {case.get('tool')!r}")
    return cases


def merged_env(cases: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The union of every fixture's `env`; fixtures that disagree on a value are an error."""
    env: dict[str, str] = {}
    for tool, case in cases.items():
        for key, value in case.get("env", {}).items():
            if key in env and env[key] != value:
                raise SystemExit(f"error: fixtures disagree on ${key} (tool {tool})")
            env[key] = str(value)
    return env


def stale_sources(crate: Path, annotation_dir: Path) -> list[str]:
    """Sources in the crate's manifest whose bytes are not those it was generated from."""
    manifest = json.loads((crate / ".mcpgen" / "manifest.json").read_text())
    stale = []
    for source in manifest.get("sources", []):
        path = annotation_dir / source["path"]
        if not path.is_file():
            stale.append(f"{source['path']} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != source.get("sha256"):
            stale.append(f"{source['path']} changed")
    return stale


def secrets_of(cases: dict[str, dict[str, Any]]) -> set[str]:
    """Values the fixtures mark secret: they must never appear in a result or a log line."""
    return {str(v) for case in cases.values() for v in case.get("secrets", []) if str(v)}


def server_env(fixture_env: dict[str, str]) -> dict[str, str]:
    """A small, explicit environment: the caller's own settings must not leak into the server."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env["RUST_BACKTRACE"] = "1"
    env.update(fixture_env)
    return env


@dataclass(frozen=True)
class Policy:
    """What a tool declares about who may call it and how it reaches the upstream."""

    name: str
    scopes: tuple[str, ...]
    identity: str  # service_account, client_credentials, token_exchange, passthrough
    confirm: bool
    contract: str


IDENTITY_MODES = {"ServiceAccount": "service_account", "ClientCredentials": "client_credentials",
                  "TokenExchange": "token_exchange", "Passthrough": "passthrough"}


def quoted_list(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r'"([^"]*)"', text))


def tool_policies(crate: Path) -> dict[str, Policy]:
    """Each tool's scopes, identity mode, confirmation and contract, read from its module in the
    generated `src/tools.rs` (the `ToolSpec` static the runtime enforces)."""
    policies = {}
    path = crate / "src" / "tools.rs"
    for text in re.split(r"^pub mod ", path.read_text(), flags=re.M)[1:]:
        found = {key: re.search(pattern, text, re.M) for key, pattern in {
            "name": r'^\s*name:\s*"([^"]+)"',
            "scopes": r"^\s*scopes:\s*&\[([^\]]*)\]",
            "confirm": r"^\s*confirm:\s*(true|false)\b",
            "identity": r"^\s*identity:\s*[\w:]*IdentityMode::(\w+)",
            "contract": r'^\s*contract:\s*"([^"]*)"',
        }.items()}
        missing = [key for key, m in found.items() if m is None]
        if missing:
            raise SystemExit(f"error: cannot read {', '.join(missing)} of the tool in {path}")
        identity = IDENTITY_MODES.get(found["identity"].group(1))
        if identity is None:
            raise SystemExit(f"error: unknown identity mode {found['identity'].group(1)} in {path}")
        name = found["name"].group(1)
        policies[name] = Policy(name, quoted_list(found["scopes"].group(1)), identity,
                                found["confirm"].group(1) == "true", found["contract"].group(1))
    if not policies:
        raise SystemExit(f"error: no tools in {path}")
    return policies


def check_contract_file(crate: Path, policies: dict[str, Policy], rec: Recorder | None) -> str:
    """`mcp-contract.json` beside the crate, when there is one, describes the tools the server
    enforces: the same tools, scopes, identity modes, confirmation and contract hashes.
    Returns the contract version ("" without a contract file); records the check unless `rec`
    is None (it was made in another pass)."""
    path = crate / "mcp-contract.json"
    if not path.is_file():
        return ""
    problems = []
    version = ""
    try:
        doc = json.loads(path.read_text())
        version = str(doc["server"]["version"])
        tools = doc["tools"]
        if sorted(tools) != sorted(policies):
            problems.append(f"tools {sorted(tools)}, the server has {sorted(policies)}")
        for name, policy in sorted(policies.items()):
            entry = tools.get(name)
            if entry is None:
                continue
            for key, want in (("scopes", sorted(policy.scopes)), ("identity", policy.identity),
                              ("confirm", policy.confirm), ("hash", policy.contract)):
                got = sorted(entry.get(key) or []) if key == "scopes" else entry.get(key)
                if got != want:
                    problems.append(f"{name}: {key} {got!r}, the server has {want!r}")
        declared = sorted({s for p in policies.values() for s in p.scopes})
        if sorted(doc["server"].get("scopes") or []) != declared:
            problems.append(f"server scopes {doc['server'].get('scopes')!r}, the tools declare {declared}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        problems.append(f"unreadable: {type(exc).__name__}: {exc}")
    if rec is not None:
        rec.add("contract", "(mcp-contract.json agrees with the server)", not problems,
                "\n".join(problems) or f"{len(policies)} tools: scopes, identity, confirm and hash as the server enforces them")
    return version


@dataclass(frozen=True)
class OAuthClient:
    """The server's own OAuth client (upstream tokens), from its generated `src/lib.rs`."""

    token_url: str
    client_id_env: str
    client_secret_env: str
    scopes: tuple[str, ...]


def oauth_client(crate: Path) -> OAuthClient | None:
    text = (crate / "src" / "lib.rs").read_text()
    m = re.search(r"OAuthClientSpec\s*\{(.*?)\n\s*\}\)", text, re.S)
    if m is None:
        return None
    block = m.group(1)
    values = {key: re.search(rf'\b{key}:\s*"([^"]*)"', block) for key in ("token_url", "client_id_env", "client_secret_env")}
    scopes = re.search(r"\bscopes:\s*&\[([^\]]*)\]", block)
    if any(v is None for v in values.values()) or scopes is None:
        raise SystemExit(f"error: cannot read the OAuth client of {crate}/src/lib.rs")
    return OAuthClient(values["token_url"].group(1), values["client_id_env"].group(1),
                       values["client_secret_env"].group(1), quoted_list(scopes.group(1)))


def default_base_path(crate_dir: Path) -> str:
    """The path of the server's default upstream base URL, read from its generated `src/lib.rs`."""
    found = re.findall(r'\bbase_url:\s*"([^"]*)"', (crate_dir / "src" / "lib.rs").read_text())
    if len(found) != 1:
        raise SystemExit(f"error: cannot find the default base_url in {crate_dir}/src/lib.rs")
    path = urllib.request.urlparse(found[0]).path.rstrip("/")
    return path


# ---------------------------------------------------------------------------------------------
# Secrets: fixture secrets and every token of the run


class Secrets:
    """Values that must never show in a result or a server log line, each with a label that
    names it without showing it."""

    def __init__(self, cases: dict[str, dict[str, Any]], authz: AuthorizationServer) -> None:
        self.fixed = {value: f"{value[:4]}… (a fixture secret)" for value in secrets_of(cases)}
        self.authz = authz
        self.extra: dict[str, str] = {}

    def add(self, value: str, label: str) -> None:
        self.extra[value] = label

    def labelled(self) -> dict[str, str]:
        out = dict(self.fixed)
        out.update(self.extra)
        for issued in self.authz.issued_tokens():
            out.setdefault(issued.token, f"a {issued.kind} token for {issued.claims.get('sub')}")
        return out

    def found_in(self, text: str) -> list[str]:
        """Labels of the secrets `text` shows (a JWT's signature alone counts too)."""
        hits = set()
        for value, label in self.labelled().items():
            parts = [value]
            if value.count(".") == 2 and len(value.rsplit(".", 1)[1]) >= 40:
                parts.append(value.rsplit(".", 1)[1])
            if any(part in text for part in parts):
                hits.add(label)
        return sorted(hits)


# ---------------------------------------------------------------------------------------------
# Upstream: a recording proxy in front of Prism (stripping the base path when there is one)


@dataclass
class UpstreamRequest:
    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class RecordingProxy:
    """ASGI app: records every request, forwards `<base><route>` to `<prism><route>`; anything
    outside the base path is a 404 and a failure."""

    def __init__(self, base_path: str, prism_url: str) -> None:
        self.base_path = base_path
        self.prism_url = prism_url
        self.records: list[UpstreamRequest] = []
        self.stray: list[str] = []
        self.client = httpx2.AsyncClient(timeout=CALL_TIMEOUT)

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int) -> list[UpstreamRequest]:
        return self.records[mark:]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            name = k.decode("latin-1").lower()
            headers[name] = (headers[name] + ", " if name in headers else "") + v.decode("latin-1")
        self.records.append(UpstreamRequest(len(self.records), method, path, query, headers))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        base = self.base_path
        if base and not (path == base or path.startswith(base + "/")):
            self.stray.append(f"{method} {path}")
            text = f"e2e proxy: {path} is outside the base path {base}".encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": text})
            return
        target = self.prism_url + (path[len(base):] or "/") + (f"?{query}" if query else "")
        drop = {b"host", b"content-length", b"connection", b"transfer-encoding"}
        forward = [(k, v) for k, v in scope["headers"] if k.lower() not in drop]
        response = await self.client.request(method, target, headers=forward, content=body)
        drop_out = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.lower() not in drop_out]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})


@asynccontextmanager
async def upstream(prism_url: str, base_path: str) -> AsyncIterator[tuple[str, RecordingProxy]]:
    """Yields the `--upstream-url` to give the server and the proxy that records its requests."""
    proxy = RecordingProxy(base_path, prism_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(proxy, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}{base_path}", proxy
        finally:
            server.should_exit = True
            await proxy.client.aclose()


# ---------------------------------------------------------------------------------------------
# Operations of the spec, as Prism reads them


class Operations:
    """Maps concrete request paths to the spec's operations (method + path template)."""

    def __init__(self, operations: list[dict[str, Any]], base_path: str) -> None:
        self.base_path = base_path
        self.operations = []
        for op in operations:
            pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(op["path"]))
            literal = len(re.sub(r"\{[^}]*\}", "", op["path"]))
            self.operations.append((re.compile(f"^{pattern}$"), literal, op))

    @classmethod
    def load(cls, node: str, modules: Path, spec: Path, base_path: str) -> "Operations":
        script = Path(__file__).with_name("operations.js")
        done = subprocess.run([node, str(script), str(modules), str(spec)],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"error: Prism cannot read {spec}:\n{done.stderr.strip()}")
        return cls(json.loads(done.stdout), base_path)

    def match(self, method: str, path: str, strip_base: bool = False) -> dict[str, Any] | None:
        """The operation `method path` hits; with `strip_base`, `path` starts with the base path."""
        path = path.split("?")[0]
        if strip_base:
            if not (path == self.base_path or path.startswith(self.base_path + "/")):
                return None
            path = path[len(self.base_path):] or "/"
        found = [(literal, op) for regex, literal, op in self.operations
                 if op["method"].upper() == method.upper() and regex.match(path)]
        return max(found, key=lambda item: item[0])[1] if found else None


def is_json_media(media: str) -> bool:
    media = media.split(";")[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def accepts_only_json(accept: str) -> bool:
    """Whether an `Accept` value lists media types, all of them JSON."""
    listed = [part for part in accept.split(",") if part.strip()]
    return bool(listed) and all(map(is_json_media, listed))


def has_success(op: dict[str, Any]) -> bool:
    return any(code.startswith("2") or code.lower() in ("default", "2xx") for code in op["codes"])


def tool_operations(cases: dict[str, dict[str, Any]], ops: Operations) -> dict[str, dict[str, Any] | None]:
    """Each tool's operation, found from the request its fixture expects (default base URL)."""
    return {name: ops.match(case["call"]["request"]["method"], case["call"]["request"]["path"], strip_base=True)
            for name, case in cases.items()}


# ---------------------------------------------------------------------------------------------
# One example's run: everything the phases share


@dataclass
class Example:
    args: argparse.Namespace
    cases: dict[str, dict[str, Any]]
    policies: dict[str, Policy]
    oauth: OAuthClient | None
    authz: AuthorizationServer
    secrets: Secrets
    rec: Recorder
    env: dict[str, str]
    upstream_url: str = ""
    proxy: RecordingProxy | None = None
    operations: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    stdio_token: str = ""
    callers: dict[str, str] = field(default_factory=dict)  # caller token -> subject
    exchanged_for: set[str] = field(default_factory=set)  # caller tokens a token-exchange tool ran with
    server_processes: int = 0  # processes that may have fetched a client-credentials token
    elicited_over_http: bool = False
    contract_version: str = ""  # server.version in mcp-contract.json
    executed: int = 0  # calls that ran upstream and were judged (each phase, each client)
    drifted: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (transport, tool, paths)

    @property
    def static(self) -> bool:
        """Prism serves the spec's own examples (no `--dynamic`): the reduced pass."""
        return self.args.prism_mode == "static"

    def log_path(self, transport: str) -> Path:
        """A server's log: `<example>-<transport>.log`, `<example>-static-<transport>.log`."""
        label = f"{self.args.example}-static" if self.static else self.args.example
        return self.args.log_dir / f"{label}-{transport}.log"

    @property
    def scopes(self) -> list[str]:
        return sorted({s for p in self.policies.values() for s in p.scopes})

    def caller(self, subject: str, audience: str, scopes: list[str] | None = None, scp: bool = False) -> str:
        """A caller token from the authorization server (every declared scope by default)."""
        token = self.authz.mint(subject, self.scopes if scopes is None else scopes, audience,
                                client_id=MCP_CLIENT_ID, scp=scp)
        self.callers[token] = subject
        return token

    def oauth_flags(self) -> list[str]:
        return ["--oauth-token-url", self.authz.token_endpoint] if self.oauth else []


class Elicitor:
    """The human behind the client: accepts (`confirm: true`) or declines every elicitation."""

    def __init__(self, accept: bool) -> None:
        self.accept = accept
        self.messages: list[str] = []

    @property
    def count(self) -> int:
        return len(self.messages)

    async def __call__(self, context: Any, params: Any) -> types.ElicitResult:
        self.messages.append(str(getattr(params, "message", "")))
        if not self.accept:
            return types.ElicitResult(action="decline")
        schema = getattr(params, "requested_schema", None) or {}
        content: dict[str, Any] = {}
        for name, prop in (schema.get("properties") or {}).items():
            if "default" in prop:
                content[name] = prop["default"]
        content["confirm"] = True
        return types.ElicitResult(action="accept", content=content)


def result_text(result: types.CallToolResult) -> str:
    parts = []
    for block in result.content or []:
        parts.append(getattr(block, "text", None) or f"<{getattr(block, 'type', 'content')}>")
    return "\n".join(parts)


async def list_all_tools(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor = None
    for _ in range(100):
        with anyio.fail_after(CALL_TIMEOUT):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise RuntimeError("tools/list did not end after 100 pages")


UPSTREAM_STATUS = re.compile(r"^upstream returned HTTP (\d{3})\b")
PRISM_ERROR = re.compile(r"https://stoplight\.io/prism/errors#(\w+)")  # the `type` of Prism's own errors
# Prism's errors that say it cannot answer (no response to serve, a schema it cannot sample, a body
# it cannot serialize), as opposed to those that reject the request (422, 401, 406, 415, no path).
PRISM_OWN_FAILURES = {"NO_RESPONSE_RESPONSE_DEFINED", "SCHEMA_TOO_COMPLEX", "NOT_FOUND", "UNKNOWN"}
CONFIRMATION_LINE = re.compile(rf"^{CONFIRMATION_ARGUMENT}: (\S+)\s*$", re.M)


def expected_error(text: str, op: dict[str, Any] | None) -> str | None:
    """Why an isError result is right: the spec declares no success response for the operation,
    so Prism answers even a valid request with its first declared status (Prism's log is still
    checked for complaints about the request). None when the error is a failure."""
    m = UPSTREAM_STATUS.match(text)
    if m is None or op is None or has_success(op) or m.group(1) not in op["codes"]:
        return None
    return (f"HTTP {m.group(1)} expected: {op['method'].upper()} {op['path']} declares only "
            f"{', '.join(op['codes'])}, so Prism answers a valid request with it")


DRIFT_NOTE = re.compile(r"^Note: the upstream's answer does not match this tool's output schema at (.*?); "
                        r"structuredContent leaves those parts out")
MEDIA_NOTE = "Note: this tool's output schema describes JSON, but the upstream sent "


def drift_of(result: types.CallToolResult) -> list[str]:
    """The paths a success's drift note names (`(root)` when JSON was expected and something
    else came); [] when the answer matched the tool's output schema."""
    for block in result.content or []:
        text = getattr(block, "text", None) or ""
        if m := DRIFT_NOTE.match(text):
            return [p.strip() for p in re.split(r", | and (?=\d+ more$)", m.group(1)) if p.strip()]
        if text.startswith(MEDIA_NOTE):
            return ["(root)"]
    return []


def judge(ex: Example, name: str, tool: types.Tool, result: types.CallToolResult) -> tuple[bool, str]:
    """Whether an executed call passes, and why."""
    text = result_text(result)
    leaked = ex.secrets.found_in(text + json.dumps(result.structured_content))
    if leaked:
        return False, f"the result shows {', '.join(leaked)}"
    if result.is_error and (why := expected_error(text, ex.operations.get(name))):
        return True, why
    if result.is_error and (m := PRISM_ERROR.search(text)):
        if m.group(1) in PRISM_OWN_FAILURES or "Cannot find serializer" in text:
            return False, (f"Prism could not answer ({m.group(1)}): not the server's fault, but no pass either; "
                           f"isError result: {text}")
        return False, f"Prism refused the request ({m.group(1)}); isError result: {text}"
    if result.is_error:
        return False, f"isError result: {text}"
    if tool.output_schema is not None and result.structured_content is None:
        return False, f"outputSchema published but no structuredContent: {text}"
    if drift_of(result) and MEDIA_NOTE not in text:
        first = getattr((result.content or [None])[0], "text", None) or ""
        try:
            json.loads(first)
        except ValueError:
            return False, f"output drift, but the first text block is not the whole answer as JSON: {first[:300]}"
    return True, "structured" if result.structured_content is not None else "text"


def bearer_of(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


def describe_credential(ex: Example, value: str | None, caller: str | None) -> str:
    """What an upstream `Authorization` value is, without showing it."""
    if not value:
        return "no Authorization header"
    token = bearer_of(value)
    if token is None:
        return f"{value.split(' ')[0]} credentials"
    if caller and token == caller:
        return "Bearer <the caller's own token>"
    issued = ex.authz.lookup(token)
    if issued is None:
        return "Bearer <a token the authorization server did not issue>"
    if issued.kind == "token_exchange":
        whose = "this caller's" if issued.subject_token == caller else "ANOTHER caller's"
        return f"Bearer <a token exchanged for {whose} token, sub {issued.claims.get('sub')}>"
    return f"Bearer <a {issued.kind} token, sub {issued.claims.get('sub')}>"


def check_identity(ex: Example, transport: str, name: str, request: UpstreamRequest, caller: str | None) -> None:
    """The one upstream request of a call carries the identity the tool's mode says."""
    mode = ex.policies[name].identity
    value = request.authorization
    token = bearer_of(value)
    issued: Issued | None = ex.authz.lookup(token)
    if mode == "passthrough":
        ok, want = caller is not None and token == caller, "the caller's own token"
    elif mode == "client_credentials":
        ok, want = issued is not None and issued.kind == "client_credentials", "a client-credentials token"
    elif mode == "token_exchange":
        ok = issued is not None and issued.kind == "token_exchange" and issued.subject_token == caller
        want = "a token exchanged for this caller's token"
        if ok and caller:
            ex.exchanged_for.add(caller)
    else:
        ok, want = issued is None and (token is None or token not in ex.callers), "the service account's own credentials"
    # Whatever the mode, a caller's token goes nowhere but a passthrough tool's Authorization.
    elsewhere = [h for h, v in request.headers.items() if any(c in v for c in ex.callers)
                 and not (mode == "passthrough" and h == "authorization")]
    if elsewhere:
        ok = False
        want += f"; a caller token was sent in {', '.join(elsewhere)}"
    seen = describe_credential(ex, value, caller)
    detail = f"{transport}: {mode}: upstream got {seen}" + ("" if ok else f" (expected {want})")
    ex.rec.add("identity", name, ok, detail)


async def call(client: Client, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    with anyio.fail_after(CALL_TIMEOUT):
        return await client.call_tool(name, arguments)


async def exercise(ex: Example, client: Client, transport: str, *, caller: str | None,
                   elicitor: Elicitor | None, elicit: bool, strict: bool, replay: bool = False) -> None:
    """List the tools and call each one with its fixture arguments.

    `elicit`: tools that need confirmation must ask through elicitation (else: dry run, then the
    call with its confirmation token). `strict` (no other client at work): every executed call
    sends exactly one upstream request, whose identity is checked, and a dry run sends none.
    `replay`: a confirmation token used once is refused the second time."""
    tools = await list_all_tools(client)
    listed = {t.name: t for t in tools}
    problems = []
    if len(listed) != len(tools):
        problems.append("duplicate tool names in tools/list")
    if set(listed) != set(ex.cases):
        missing = sorted(set(ex.cases) - set(listed))
        extra = sorted(set(listed) - set(ex.cases))
        problems.append(f"tools/list differs from the fixtures: missing {missing}, unexpected {extra}")
    for name, tool in sorted(listed.items()):
        schema = tool.input_schema
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(f"{name}: inputSchema is not an object schema: {schema!r}")
            continue
        has_token = CONFIRMATION_ARGUMENT in (schema.get("properties") or {})
        policy = ex.policies.get(name)
        if policy is not None and has_token != policy.confirm:
            problems.append(f"{name}: confirm is {policy.confirm}, but `{CONFIRMATION_ARGUMENT}` is "
                            f"{'' if has_token else 'not '}an argument")
    info = client.server_info
    if info is not None and ex.contract_version and info.version != ex.contract_version:
        problems.append(f"serverInfo.version {info.version!r}, the contract's version is {ex.contract_version!r}")
    ex.rec.add(transport, "(tools/list)", not problems,
               "\n".join(problems) or f"{len(listed)} tools, protocol {protocol_of(client)}"
               + (f", serverInfo.version {info.version}" if info is not None else ""))

    for name in sorted(ex.cases):
        arguments = ex.cases[name]["call"]["arguments"]
        if name not in listed:
            ex.rec.add(transport, name, False, "tool not listed", arguments)
            continue
        try:
            await call_one(ex, client, transport, listed[name], arguments, caller=caller, elicitor=elicitor,
                           elicit=elicit, strict=strict, replay=replay)
        except Exception as exc:  # the SDK raises on protocol errors and outputSchema violations
            ex.rec.add(transport, name, False, f"{type(exc).__name__}: {exc}", arguments)


async def call_one(ex: Example, client: Client, transport: str, tool: types.Tool, arguments: dict[str, Any], *,
                   caller: str | None, elicitor: Elicitor | None, elicit: bool, strict: bool, replay: bool) -> None:
    name = tool.name
    proxy = ex.proxy
    assert proxy is not None
    policy = ex.policies[name]
    asked = elicitor.count if elicitor else 0
    mark = proxy.mark()
    result = await call(client, name, arguments)
    token, how = None, ""
    if policy.confirm and not elicit:
        # No one to ask: the first call is a dry run, the second one (with its token) runs.
        text = result_text(result)
        problems = []
        if not text.startswith("DRY RUN") and "\nDRY RUN" not in text:
            problems.append(f"no DRY RUN: {text[:300]}")
        if bool(result.is_error) != (tool.output_schema is not None):
            problems.append(f"isError is {bool(result.is_error)} for a tool {'with' if tool.output_schema else 'without'} an outputSchema")
        found = CONFIRMATION_LINE.findall(text)
        token = found[-1] if found else None
        if token is None:
            problems.append(f"no `{CONFIRMATION_ARGUMENT}: …` line")
        if strict and (sent := proxy.since(mark)):
            problems.append(f"{len(sent)} upstream requests during the dry run: " + ", ".join(f"{r.method} {r.path}" for r in sent))
        if elicitor and elicitor.count != asked:
            problems.append("the server elicited although the client could not be asked")
        if leaked := ex.secrets.found_in(text):
            problems.append(f"the dry run shows {', '.join(leaked)}")
        quiet = " nothing sent upstream," if strict else ""
        ex.rec.add("confirm", name, not problems, f"{transport}: " + ("; ".join(problems) or
                   f"first call a dry run (DRY RUN, isError {bool(result.is_error)},{quiet} a confirmation_token)"))
        if problems:
            ex.rec.add(transport, name, False, "the dry run failed (see the confirm column)", arguments)
            return
        mark = proxy.mark()
        result = await call(client, name, {**arguments, CONFIRMATION_ARGUMENT: token})
        how = "the call repeated with its confirmation_token ran"
    elif policy.confirm:
        asked_now = elicitor.messages[asked:] if elicitor else []
        problems = []
        if len(asked_now) != 1:
            problems.append(f"the server asked through elicitation {len(asked_now)} times (expected once)")
        elif f"`{name}`" not in asked_now[0]:
            problems.append(f"the elicitation message does not name the tool: {asked_now[0][:200]}")
        if leaked := ex.secrets.found_in("\n".join(asked_now)):
            problems.append(f"the elicitation message shows {', '.join(leaked)}")
        if problems:
            ex.rec.add("confirm", name, False, f"{transport}: " + "; ".join(problems))
        how = "asked the human once through elicitation; accepted, the call ran"
    elif elicitor and elicitor.count != asked:
        ex.rec.add("confirm", name, False, f"{transport}: elicited for a tool that needs no confirmation")

    sent = proxy.since(mark)
    ok, detail = judge(ex, name, tool, result)
    if ok and strict and len(sent) != 1:
        ok, detail = False, f"{len(sent)} upstream requests for one call (expected 1): " + \
            ", ".join(f"{r.method} {r.path}" for r in sent)
    drift = drift_of(result) if not result.is_error else []
    ex.executed += 1
    if drift:
        # Allowed: a 2xx answer that breaks its schema is a success with the drifted parts left
        # out of structuredContent (which the SDK validated); counted and reported.
        ex.drifted.append((transport, name, drift))
        detail += f"; output drift at {', '.join(drift)}"
    ex.rec.add(transport, name, ok, detail, arguments, drift=drift)
    if policy.confirm and ok:
        ex.rec.add("confirm", name, True, f"{transport}: {how}" + (" (1 upstream request)" if strict else ""))
    if strict and len(sent) == 1:
        check_identity(ex, transport, name, sent[0], caller)

    if replay and token is not None:
        mark = proxy.mark()
        again = await call(client, name, {**arguments, CONFIRMATION_ARGUMENT: token})
        text = result_text(again)
        problems = []
        if "already used" not in text or "DRY RUN" not in text:
            problems.append(f"the token used a second time was not refused as used: {text[:300]}")
        if sent := proxy.since(mark):
            problems.append(f"{len(sent)} upstream requests for the replayed token")
        ex.rec.add("confirm", name, not problems, f"{transport}: " + ("; ".join(problems) or
                   "the same confirmation_token again: refused (already used), nothing sent"))


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# stdio


def stdio_params(ex: Example) -> StdioServerParameters:
    env = dict(ex.env)
    env[CALLER_TOKEN_ENV] = ex.stdio_token
    return StdioServerParameters(
        command=str(ex.args.bin),
        args=["--transport", "stdio", "--upstream-url", ex.upstream_url,
              "--stdio-token-env", CALLER_TOKEN_ENV, *ex.oauth_flags()],
        env=env,
    )


async def phase_stdio(ex: Example, mode: str, transport: str) -> None:
    log_path = ex.log_path(transport)
    elicitor = Elicitor(accept=True)
    ex.server_processes += 1
    with open(log_path, "w") as errlog:
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with Client(stdio_client(stdio_params(ex), errlog=errlog), mode=mode,
                                  read_timeout_seconds=CALL_TIMEOUT, elicitation_callback=elicitor) as client:
                    await exercise(ex, client, transport, caller=ex.stdio_token, elicitor=elicitor,
                                   elicit=True, strict=True)
        except Exception as exc:
            ex.rec.add(transport, "(session)", False,
                       f"{type(exc).__name__}: {exc}\nserver log: {log_path}\n{tail(log_path)}")


async def phase_stdio_decline(ex: Example) -> None:
    """A human who declines: the call is refused and nothing reaches the upstream."""
    confirming = [name for name in sorted(ex.cases) if ex.policies[name].confirm]
    if not confirming:
        return
    proxy = ex.proxy
    assert proxy is not None
    log_path = ex.log_path("stdio-decline")
    elicitor = Elicitor(accept=False)
    ex.server_processes += 1
    with open(log_path, "w") as errlog:
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with Client(stdio_client(stdio_params(ex), errlog=errlog), mode="legacy",
                                  read_timeout_seconds=CALL_TIMEOUT, elicitation_callback=elicitor) as client:
                    for name in confirming:
                        arguments = ex.cases[name]["call"]["arguments"]
                        asked, mark = elicitor.count, proxy.mark()
                        result = await call(client, name, arguments)
                        text = result_text(result)
                        problems = []
                        if elicitor.count - asked != 1:
                            problems.append(f"asked {elicitor.count - asked} times (expected once)")
                        if not result.is_error or "declined" not in text:
                            problems.append(f"not refused as declined: isError {result.is_error}: {text[:300]}")
                        if sent := proxy.since(mark):
                            problems.append(f"{len(sent)} upstream requests after the human declined")
                        ex.rec.add("confirm", name, not problems, "stdio, the human declines: " + (
                            "; ".join(problems) or "refused (isError, declined), nothing sent"), arguments)
        except Exception as exc:
            ex.rec.add("confirm", "(session, declining)", False,
                       f"{type(exc).__name__}: {exc}\nserver log: {log_path}\n{tail(log_path)}")


STDIO_LIMITED_SUBJECT = "e2e-limited-operator"


async def phase_stdio_scopes(ex: Example) -> None:
    """stdio as a named operator without one scope (`--stdio-subject`, `--stdio-scopes`): the
    tools that need it are not listed, and a call is refused before the upstream hears of it."""
    if not ex.scopes:
        return
    proxy = ex.proxy
    assert proxy is not None
    scope = ex.scopes[0]
    others = [s for s in ex.scopes if s != scope]
    params = stdio_params(ex)
    params.args += ["--stdio-subject", STDIO_LIMITED_SUBJECT, "--stdio-scopes", ",".join(others)]
    visible = {n for n, p in ex.policies.items() if set(p.scopes) <= set(others)}
    log_path = ex.log_path("stdio-scopes")
    with open(log_path, "w") as errlog:
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with Client(stdio_client(params, errlog=errlog), mode="legacy",
                                  read_timeout_seconds=CALL_TIMEOUT) as client:
                    listed = {t.name for t in await list_all_tools(client)}
                    ex.rec.add("scope", f"(stdio tools/list without {scope})", listed == visible,
                               f"--stdio-scopes {','.join(others) or '(none)'}: listed {sorted(listed)}"
                               + ("" if listed == visible else f", expected {sorted(visible)}"))
                    for name in sorted(n for n, p in ex.policies.items() if scope in p.scopes):
                        mark = proxy.mark()
                        result = await call(client, name, ex.cases.get(name, {}).get("call", {}).get("arguments", {}))
                        text = result_text(result)
                        problems = []
                        if name in listed:
                            problems.append("listed")
                        if not result.is_error or "insufficient_scope" not in text or scope not in text:
                            problems.append(f"not refused naming {scope}: isError {result.is_error}: {text[:200]}")
                        if sent := proxy.since(mark):
                            problems.append(f"{len(sent)} upstream requests")
                        ex.rec.add("scope", name, not problems, "\n".join(problems) or
                                   f"stdio without {scope}: not listed; the call is refused (insufficient_scope), nothing sent")
        except Exception as exc:
            ex.rec.add("scope", f"(stdio without {scope})", False,
                       f"{type(exc).__name__}: {exc}\nserver log: {log_path}\n{tail(log_path)}")
    lines, _ = audit_lines(log_path)
    denied = [l for l in lines if l.get("event") == "tool_call" and l.get("decision") == "denied:insufficient_scope"]
    wrong = [l.get("subject") for l in denied if l.get("subject") != STDIO_LIMITED_SUBJECT]
    ex.rec.add("audit", "(stdio: scope refusals)", bool(denied) and not wrong,
               f"{len(denied)} denied:insufficient_scope lines" + (f", subjects {wrong}" if wrong else
                                                                     f" as {STDIO_LIMITED_SUBJECT}"))


# ---------------------------------------------------------------------------------------------
# Streamable HTTP


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} after {HEALTH_TIMEOUT:.0f}s\n{tail(log_path)}")


PORT_ATTEMPTS = 3


def start_server(command_for: Callable[[int, int], list[str]], env: dict[str, str],
                 log_path: Path) -> tuple[subprocess.Popen, int, int, int]:
    """Starts a server on free ports (its port and a metrics port, given to `command_for`) and
    waits until it answers `/healthz`: (process, port, metrics port, processes started). A port
    found free can be taken by another process before the server listens on it; the server is
    then started again on other ports."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port, metrics_port = free_port(), free_port()
        with open(log_path, "w") as log:
            process = subprocess.Popen(command_for(port, metrics_port), env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=log)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", process, log_path)
            return process, port, metrics_port, attempt
        except RuntimeError:
            stop(process)
            taken = "Address already in use" in log_path.read_text(errors="replace")
            if not taken or attempt == PORT_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@asynccontextmanager
async def mcp_http(url: str, token: str | None, mode: str = "auto",
                   elicitor: Elicitor | None = None) -> AsyncIterator[Client]:
    """An SDK client over streamable HTTP that sends `Authorization: Bearer <token>`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(CALL_TIMEOUT)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode,
                          read_timeout_seconds=CALL_TIMEOUT, elicitation_callback=elicitor) as client:
            yield client


async def confirmation_of_another_caller(ex: Example, url: str) -> None:
    """Caller A's dry run hands out a confirmation token; caller B repeating the same call with
    it gets a dry run again (the token does not match), and nothing is sent."""
    confirming = [name for name in sorted(ex.cases) if ex.policies[name].confirm]
    if not confirming:
        return
    proxy = ex.proxy
    assert proxy is not None
    name = confirming[0]
    arguments = ex.cases[name]["call"]["arguments"]
    async with mcp_http(url, ex.caller("e2e-confirm-a", url)) as a, mcp_http(url, ex.caller("e2e-confirm-b", url)) as b:
        mark = proxy.mark()
        found = CONFIRMATION_LINE.findall(result_text(await call(a, name, arguments)))
        if not found:
            ex.rec.add("confirm", name, False, "http, another caller's token: caller A got no confirmation_token")
            return
        text = result_text(await call(b, name, {**arguments, CONFIRMATION_ARGUMENT: found[-1]}))
        problems = []
        if "DRY RUN" not in text or "does not match" not in text:
            problems.append(f"caller B's call with caller A's token was not refused as not matching: {text[:300]}")
        if sent := proxy.since(mark):
            problems.append(f"{len(sent)} upstream requests")
        ex.rec.add("confirm", name, not problems, "; ".join(problems) or
                   "http: caller A's confirmation_token used by caller B: refused (does not match), nothing sent")


def protocol_of(client: Client) -> str:
    return str(getattr(client.session, "protocol_version", "") or "")


def http_command(ex: Example, port: int, public: str) -> list[str]:
    return [str(ex.args.bin), "--transport", "http", "--listen", f"127.0.0.1:{port}",
            "--upstream-url", ex.upstream_url, "--auth-issuer", ex.authz.issuer, "--public-url", public,
            *ex.oauth_flags()]


async def phase_http(ex: Example, full: bool = True) -> None:
    """One connection calling every tool; with `full`, also another caller's confirmation
    token, concurrent clients, and the authorization and scope checks (none of which depend
    on what the upstream answers, so the static pass leaves them out)."""
    log_path = ex.log_path("http")
    scraped: str | None = None
    # The full pass exports its traces to a collector built on the official OTLP protobufs.
    collector = Collector().__enter__() if full else None
    tracing = ["--otlp-endpoint", collector.url] if collector else []

    def command(port: int, metrics_port: int) -> list[str]:
        # Same process group as this driver: tests/e2e/run kills the group if we die.
        return (http_command(ex, port, f"http://127.0.0.1:{port}")
                + ["--metrics-listen", f"127.0.0.1:{metrics_port}"] + tracing)

    try:
        process, port, metrics_port, started = await anyio.to_thread.run_sync(start_server, command, ex.env, log_path)
    except RuntimeError as exc:
        ex.server_processes += PORT_ATTEMPTS
        ex.rec.add("http", "(server)", False, str(exc))
        return
    ex.server_processes += started
    public = f"http://127.0.0.1:{port}"
    url = f"{public}/mcp"
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        # One connection that cannot elicit: dry runs and confirmation tokens.
        token = ex.caller("e2e-http", url)
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with mcp_http(url, token) as client:
                    await exercise(ex, client, "http", caller=token, elicitor=None, elicit=False,
                                   strict=True, replay=True)
        except Exception as exc:
            ex.rec.add("http", "(session)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")

        probes, refused = 0, {}
        if full:
            probes, refused = await http_full(ex, public, url, log_path)
        if collector is not None:
            try:
                with anyio.fail_after(PHASE_TIMEOUT):
                    await check_traces(ex, collector, url, log_path)
            except Exception as exc:
                ex.rec.add("traces", "(session)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")
        if process.poll() is not None:
            ex.rec.add("http", "(server)", False, f"server exited with {process.returncode}\n{tail(log_path)}")
        else:
            try:
                scraped = await anyio.to_thread.run_sync(scrape, metrics_url)
            except Exception as exc:
                ex.rec.add("metrics", "(scrape)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")
    finally:
        stop(process)
        if collector is not None:
            collector.__exit__(None, None, None)
    check_http_audit(ex, log_path, probes, refused)
    if scraped is not None:
        check_metrics(ex, log_path, scraped)


async def check_traces(ex: Example, collector: Collector, url: str, log_path: Path) -> None:
    """Traces over HTTP: a call made in the client's trace (W3C `traceparent` in the request's
    `_meta`) joins it, with its steps as children; the upstream request carries `traceparent`
    naming the upstream span; and every tool call of the pass, named by the `trace_id` of its
    audit line, reached the collector as a valid OTLP export."""
    name = next((n for n in sorted(ex.cases) if not ex.policies[n].confirm), None)
    if name is None:
        ex.rec.add("traces", "(no tool without confirmation)", True, "skipped")
        return
    trace, parent = os.urandom(16).hex(), os.urandom(8).hex()
    proxy = ex.proxy
    assert proxy is not None
    mark = proxy.mark()
    token = ex.caller("e2e-traces", url)
    async with mcp_http(url, token) as client:
        with anyio.fail_after(CALL_TIMEOUT):
            await client.call_tool(name, ex.cases[name]["call"]["arguments"],
                                   meta={"traceparent": f"00-{trace}-{parent}-01"})
    calls = [line for line in audit_lines(log_path)[0] if line.get("event") == "tool_call"]
    wanted = {line.get("trace_id") for line in calls}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        roots = {s.trace_id for s in collector.spans if s.kind == 2}
        if wanted <= roots:
            break
        await anyio.sleep(0.2)
    problems = [f"the collector refused an export: {r}" for r in collector.refused]
    spans = [s for s in collector.spans if s.trace_id == trace]
    root = next((s for s in spans if s.name == f"tools/call {name}" and s.kind == 2), None)
    if root is None:
        problems.append(f"no span `tools/call {name}` in trace {trace}: {[s.name for s in spans]}")
    else:
        if root.parent_span_id != parent:
            problems.append(f"the call's span has parent {root.parent_span_id!r}, the client's span is {parent}")
        if not root.service:
            problems.append("the export names no service.name")
        steps = {s.name: s for s in spans if s.parent_span_id == root.span_id}
        if not {"authorize", "validate arguments", "upstream identity", "upstream", "shape result"} <= set(steps):
            problems.append(f"the call's steps: {sorted(steps)}")
        upstream_span = steps.get("upstream")
        sent = [r.headers.get("traceparent", "") for r in proxy.since(mark)]
        if upstream_span is None or sent != [f"00-{trace}-{upstream_span.span_id}-01"]:
            problems.append(f"traceparent sent upstream {sent}, upstream span "
                            f"{upstream_span.span_id if upstream_span else None}")
        elif upstream_span.kind != 3:
            problems.append(f"the upstream span has kind {upstream_span.kind}, not CLIENT")
    if trace not in wanted:
        problems.append(f"no audit line names trace {trace}")
    missing = sorted(t for t in wanted - {s.trace_id for s in collector.spans if s.kind == 2} if t)
    if missing or None in wanted:
        problems.append(f"{len(missing)} of {len(wanted)} audited calls have no exported span"
                        + (" and some audit line has no trace_id" if None in wanted else ""))
    ex.rec.add("traces", name, not problems, "\n".join(problems)
               or f"{len(collector.spans)} spans of {len(wanted)} calls; the client's trace joined, "
                  "traceparent sent upstream")


async def http_full(ex: Example, public: str, url: str, log_path: Path) -> tuple[int, dict[str, str]]:
    """What the dynamic pass adds over HTTP: another caller's confirmation token, concurrent
    clients, the authorization and scope checks. Returns the 401 probes and the tools refused
    for a missing scope (for the audit check)."""
    # A confirmation token is bound to its caller: another caller cannot use it.
    try:
        with anyio.fail_after(PHASE_TIMEOUT):
            await confirmation_of_another_caller(ex, url)
    except Exception as exc:
        ex.rec.add("confirm", "(another caller's token)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")

    # Concurrent clients, each its own caller, listing and calling every tool.
    async def one(index: int, mode: str, can_elicit: bool) -> None:
        token = ex.caller(f"e2e-http-{index}", url)
        elicitor = Elicitor(accept=True) if can_elicit else None
        try:
            async with mcp_http(url, token, mode=mode, elicitor=elicitor) as client:
                # A 2026-07-28 client that can elicit is asked in an input_required round;
                # stateless HTTP has no other way back to the client.
                elicit = can_elicit and protocol_of(client) >= MODERN
                ex.elicited_over_http |= elicit
                await exercise(ex, client, "http-concurrent", caller=token, elicitor=elicitor,
                               elicit=elicit, strict=False)
        except Exception as exc:
            ex.rec.add("http-concurrent", f"(client {index}, {mode})", False,
                       f"{type(exc).__name__}: {exc}\n{tail(log_path)}")

    try:
        with anyio.fail_after(PHASE_TIMEOUT):
            async with anyio.create_task_group() as tg:
                for index, (mode, can_elicit) in enumerate(CONCURRENT_CLIENTS):
                    tg.start_soon(one, index, mode, can_elicit)
    except TimeoutError:
        ex.rec.add("http-concurrent", "(session)", False, f"timed out after {PHASE_TIMEOUT:.0f}s")

    probes, refused = 0, {}
    try:
        with anyio.fail_after(PHASE_TIMEOUT):
            probes = await auth_checks(ex, public, url)
    except Exception as exc:
        ex.rec.add("auth", "(authorization checks)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")
    try:
        with anyio.fail_after(PHASE_TIMEOUT):
            refused = await scope_checks(ex, url)
    except Exception as exc:
        ex.rec.add("scope", "(scope checks)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")
    return probes, refused


def scrape(url: str) -> str:
    """GET the Prometheus metrics, checking the content type a scraper expects."""
    with urllib.request.urlopen(url, timeout=CALL_TIMEOUT) as response:
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("text/plain; version=0.0.4"):
            raise ValueError(f"content type {content_type!r}, expected the Prometheus text format")
        return response.read().decode()


def check_metrics(ex: Example, log_path: Path, text: str) -> None:
    """The metrics, parsed by Prometheus's own client library, count exactly what the audit log
    of the same server recorded: tool calls by tool, decision and outcome, latency observations,
    upstream responses by status class, and HTTP refusals by status."""
    problems: list[str] = []
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    except ValueError as exc:
        ex.rec.add("metrics", "(Prometheus text format)", False, f"does not parse: {exc}")
        return
    lines, _ = audit_lines(log_path)
    calls = [l for l in lines if l.get("event") == "tool_call" and l.get("tool") in ex.policies]
    want_calls: dict[tuple[tuple[str, str], ...], float] = {}
    want_latency: dict[tuple[tuple[str, str], ...], float] = {}
    want_upstream: dict[tuple[tuple[str, str], ...], float] = {}
    for line in calls:
        key = (("decision", line["decision"]), ("outcome", line["outcome"]), ("tool", line["tool"]))
        want_calls[key] = want_calls.get(key, 0) + 1
        tool = (("tool", line["tool"]),)
        want_latency[tool] = want_latency.get(tool, 0) + 1
        if isinstance(line.get("upstream_status"), int):
            key = (("status", f"{line['upstream_status'] // 100}xx"), ("tool", line["tool"]))
            want_upstream[key] = want_upstream.get(key, 0) + 1
    want_refusals: dict[tuple[tuple[str, str], ...], float] = {}
    for line in (l for l in lines if l.get("event") == "auth"):
        key = (("status", str(line.get("status"))),)
        want_refusals[key] = want_refusals.get(key, 0) + 1
    want_drift: dict[tuple[tuple[str, str], ...], float] = {}
    for line in (l for l in calls if l.get("outcome") == "output_drift"):
        key = (("tool", line["tool"]),)
        want_drift[key] = want_drift.get(key, 0) + 1
    for name, want in (("mcpgen_tool_calls_total", want_calls),
                       ("mcpgen_tool_call_duration_seconds_count", want_latency),
                       ("mcpgen_upstream_responses_total", want_upstream),
                       ("mcpgen_http_refusals_total", want_refusals),
                       ("mcpgen_tool_output_drift_total", want_drift)):
        got = {k: v for k, v in samples.get(name, {}).items() if v}
        if got != want:
            problems.append(f"{name}: {sorted(got.items())}, the audit log says {sorted(want.items())}")
    info = samples.get("mcpgen_build_info", {})
    if ex.contract_version and not any(dict(k).get("version") == ex.contract_version for k in info):
        problems.append(f"mcpgen_build_info {info}, the contract version is {ex.contract_version}")
    if samples.get("mcpgen_tool_calls_in_flight", {}).get((), -1) != 0:
        problems.append(f"calls in flight after every call ended: {samples.get('mcpgen_tool_calls_in_flight')}")
    for key, count in want_latency.items():
        inf = samples.get("mcpgen_tool_call_duration_seconds_bucket", {}).get(tuple(sorted(key + (("le", "+Inf"),))))
        if inf != count:
            problems.append(f"{dict(key)['tool']}: +Inf bucket {inf}, {count} calls")
    ex.rec.add("metrics", "(agree with the audit log)", not problems, "\n".join(problems[:20]) or
               f"{len(calls)} calls over {len(want_latency)} tools, "
               f"{sum(want_refusals.values()):.0f} HTTP refusals, {sum(want_drift.values()):.0f} drifted answers, "
               "parsed by prometheus_client")


# ---------------------------------------------------------------------------------------------
# The HTTP authorization layer


# `connection: close`: each probe on its own connection (see keepalive_after_refusal).
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2025-11-25", "connection": "close"}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "mcpgen-e2e", "version": "0"}}}


def http_exchange(sock: socket.socket, head: bytes, body: bytes, split: bool) -> tuple[str, dict[str, str]]:
    """Writes one request on `sock` (the body in a second write when `split`) and reads its
    response: status line and headers (the body is read and dropped)."""
    if split:
        sock.sendall(head)
        time.sleep(0.02)
        sock.sendall(body)
    else:
        sock.sendall(head + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection without answering")
        data += chunk
    raw_head, rest = data.split(b"\r\n\r\n", 1)
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0], headers


def keepalive_after_refusal(port: int, token: str) -> tuple[bool, str]:
    """A request refused with 401 (body sent after the headers, as HTTP clients often do), then
    a good one on the same connection: the connection must still serve it, unless the 401 said
    `Connection: close` (RFC 9112 §9.6). A server that silently drops the connection makes a
    keep-alive client's next request fail."""
    body = json.dumps(INITIALIZE).encode()

    def head(auth: str | None) -> bytes:
        lines = [f"POST /mcp HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
                 "Accept: application/json, text/event-stream", "Mcp-Protocol-Version: 2025-11-25",
                 f"Content-Length: {len(body)}"] + ([f"Authorization: Bearer {auth}"] if auth else [])
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT) as sock:
        status, headers = http_exchange(sock, head(None), body, split=True)
        if not status.startswith("HTTP/1.1 401"):
            return False, f"the request without a token was answered {status}"
        if "close" in headers.get("connection", "").lower():
            return True, "401 with Connection: close"
        try:
            second, _ = http_exchange(sock, head(token), body, split=False)
        except OSError as exc:
            return False, (f"after a 401 (no Connection: close) the server dropped the keep-alive connection: "
                           f"the next request on it got {type(exc).__name__}: {exc} (runtime fault: the 401 is "
                           f"sent before the request body is read, then the connection is closed unannounced)")
        return second.startswith("HTTP/1.1 200"), f"after a 401 the same connection served the next request: {second}"


def challenge_param(www: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="((?:[^"\\]|\\.)*)"', www)
    return m.group(1) if m else None


async def auth_checks(ex: Example, public: str, url: str) -> int:
    """401s, the protected resource metadata, and the issuer's keys. Returns how many requests
    were refused with 401."""
    rec = ex.rec
    refused = 0
    async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT) as http:
        async def post(token: str | None) -> httpx2.Response:
            headers = dict(MCP_HEADERS)
            if token is not None:
                headers["authorization"] = f"Bearer {token}"
            return await http.post(url, content=json.dumps(INITIALIZE), headers=headers)

        # No token at all.
        r = await post(None)
        www = r.headers.get("www-authenticate", "")
        metadata_url = challenge_param(www, "resource_metadata")
        ok = r.status_code == 401 and www.lower().startswith("bearer") and metadata_url is not None
        refused += r.status_code == 401
        rec.add("auth", "no token: 401, WWW-Authenticate with resource_metadata", ok,
                f"HTTP {r.status_code}, WWW-Authenticate: {www or '(none)'}")

        # The metadata it points at.
        problems = []
        if metadata_url is None:
            problems.append("no resource_metadata URL to fetch")
        else:
            if not metadata_url.startswith(public + "/"):
                problems.append(f"resource_metadata {metadata_url} is not on this server ({public})")
            m = await http.get(metadata_url)
            try:
                doc = m.json()
            except ValueError:
                doc = None
            if m.status_code != 200 or not isinstance(doc, dict):
                problems.append(f"GET {metadata_url}: HTTP {m.status_code}, not a JSON object")
            else:
                if doc.get("resource") != url:
                    problems.append(f"resource is {doc.get('resource')!r}, expected {url!r}")
                if doc.get("authorization_servers") != [ex.authz.issuer]:
                    problems.append(f"authorization_servers is {doc.get('authorization_servers')!r}, "
                                    f"expected [{ex.authz.issuer!r}]")
                if sorted(doc.get("scopes_supported") or []) != ex.scopes:
                    problems.append(f"scopes_supported is {doc.get('scopes_supported')!r}, expected {ex.scopes}")
        rec.add("auth", "protected resource metadata (RFC 9728)", not problems,
                "\n".join(problems) or f"{metadata_url}: resource {url}, authorization_servers [issuer], "
                f"scopes_supported {' '.join(ex.scopes)}")

        # Tokens that must be refused, then the same request with a good token.
        bad = {kind: ex.authz.forged(kind, "e2e-forger", ex.scopes, url) for kind in AuthorizationServer.FORGERIES}
        bad["not-a-jwt"] = "e2e-opaque-" + os.urandom(12).hex()
        for kind, token in bad.items():
            ex.secrets.add(token, f"the {kind} token")
            r = await post(token)
            www = r.headers.get("www-authenticate", "")
            ok = (r.status_code == 401 and challenge_param(www, "error") == "invalid_token"
                  and challenge_param(www, "resource_metadata") is not None)
            refused += r.status_code == 401
            rec.add("auth", f"{kind} token: 401 invalid_token", ok, f"HTTP {r.status_code}, WWW-Authenticate: {www or '(none)'}")
        r = await post(ex.caller("e2e-auth-probe", url))
        rec.add("auth", "a valid token: the same request answered", r.status_code == 200, f"HTTP {r.status_code}")

    port = int(url.split(":")[2].split("/")[0])
    ok, detail = await anyio.to_thread.run_sync(keepalive_after_refusal, port, ex.caller("e2e-keepalive", url))
    refused += 1
    rec.add("auth", "after a 401 the keep-alive connection still works (or is closed with notice)", ok, detail)

    ok = ex.authz.metadata_fetches > 0 and ex.authz.jwks_fetches > 0
    rec.add("auth", "signing keys from the issuer's metadata (RFC 8414 jwks_uri)", ok,
            f"metadata fetched {ex.authz.metadata_fetches}x, JWKS {ex.authz.jwks_fetches}x")
    return refused


async def scope_checks(ex: Example, url: str) -> dict[str, str]:
    """For each declared scope, a token without it: the tools that need it are not listed, and
    calling one is refused with 403 `insufficient_scope` before the upstream hears of it.
    Returns the tools refused, each with the scope that was missing."""
    proxy = ex.proxy
    assert proxy is not None
    refused: dict[str, str] = {}
    async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT) as http:
        for index, scope in enumerate(ex.scopes):
            others = [s for s in ex.scopes if s != scope]
            # Scopes as the space-separated `scope` claim, and every other time as an `scp` array.
            scp = index % 2 == 1
            token = ex.caller(f"e2e-without-{scope}", url, others, scp=scp)
            visible = {n for n, p in ex.policies.items() if set(p.scopes) <= set(others)}
            try:
                async with mcp_http(url, token, mode="legacy") as client:
                    listed = {t.name for t in await list_all_tools(client)}
            except Exception as exc:
                ex.rec.add("scope", f"(tools/list without {scope})", False, f"{type(exc).__name__}: {exc}")
                continue
            ex.rec.add("scope", f"(tools/list without {scope})", listed == visible,
                       f"{'scp' if scp else 'scope'} claim: listed {sorted(listed)}"
                       + ("" if listed == visible else f", expected {sorted(visible)}"))
            for name in sorted(n for n, p in ex.policies.items() if scope in p.scopes):
                arguments = ex.cases.get(name, {}).get("call", {}).get("arguments", {})
                body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
                mark = proxy.mark()
                r = await http.post(url, content=json.dumps(body),
                                    headers={**MCP_HEADERS, "authorization": f"Bearer {token}"})
                www = r.headers.get("www-authenticate", "")
                needed = (challenge_param(www, "scope") or "").split()
                try:
                    error = r.json().get("error")
                except (ValueError, AttributeError):
                    error = None
                problems = []
                if name in listed:
                    problems.append("listed by tools/list")
                if r.status_code != 403:
                    problems.append(f"tools/call answered HTTP {r.status_code}, expected 403")
                if challenge_param(www, "error") != "insufficient_scope" or scope not in needed:
                    problems.append(f"WWW-Authenticate does not name insufficient_scope and {scope}: {www or '(none)'}")
                if error != "insufficient_scope":
                    problems.append(f"body error is {error!r}")
                if sent := proxy.since(mark):
                    problems.append(f"{len(sent)} upstream requests")
                if r.status_code == 403:
                    refused[name] = scope
                ex.rec.add("scope", name, not problems, "\n".join(problems) or
                           f"without {scope}: not listed; tools/call 403 insufficient_scope, scope=\"{' '.join(needed)}\"; nothing sent upstream")
    return refused


# ---------------------------------------------------------------------------------------------
# Audit lines, token endpoint, server logs


def audit_lines(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    lines, bad = [], []
    for raw in path.read_text(errors="replace").splitlines() if path.is_file() else []:
        if not raw.startswith("{"):
            continue
        try:
            lines.append(json.loads(raw))
        except ValueError:
            bad.append(raw[:120])
    return lines, bad


CALL_FIELDS = ("ts", "request_id", "trace_id", "subject", "client_id", "tool", "contract_version", "contract", "decision", "identity",
               "upstream_status", "latency_ms", "bytes_in", "bytes_out", "outcome", "arguments")


def tool_call_problems(ex: Example, lines: list[dict[str, Any]], subjects: set[str], client_id: str | None) -> list[str]:
    problems = []
    for line in (l for l in lines if l.get("event") == "tool_call"):
        tool = line.get("tool")
        policy = ex.policies.get(tool)
        where = f"{tool} ({line.get('decision')})"
        if missing := [f for f in CALL_FIELDS if f not in line]:
            problems.append(f"{where}: no {', '.join(missing)}")
        if line.get("subject") not in subjects:
            problems.append(f"{where}: subject {line.get('subject')!r}")
        if line.get("client_id") != client_id:
            problems.append(f"{where}: client_id {line.get('client_id')!r}, expected {client_id!r}")
        if policy and line.get("identity") != policy.identity:
            problems.append(f"{where}: identity {line.get('identity')!r}, expected {policy.identity}")
        if ex.contract_version and line.get("contract_version") != ex.contract_version:
            problems.append(f"{where}: contract_version {line.get('contract_version')!r}, expected {ex.contract_version}")
        if policy and line.get("contract") != policy.contract:
            problems.append(f"{where}: contract {line.get('contract')!r}, expected {policy.contract}")
        if not isinstance(line.get("arguments"), list) or any(not isinstance(a, str) for a in line.get("arguments", [])):
            problems.append(f"{where}: arguments is not a list of names")
    return problems


def decisions(lines: list[dict[str, Any]], tool: str) -> set[str]:
    return {l.get("decision") for l in lines if l.get("event") == "tool_call" and l.get("tool") == tool}


def check_http_audit(ex: Example, log_path: Path, refused_401: int, refused_403: dict[str, str]) -> None:
    lines, bad = audit_lines(log_path)
    subjects = set(ex.callers.values())
    problems = [f"not JSON: {b}" for b in bad]
    calls = [l for l in lines if l.get("event") == "tool_call"]
    problems += tool_call_problems(ex, lines, subjects, MCP_CLIENT_ID)
    for name in sorted(n for n in ex.cases if ex.policies[n].confirm):
        want = {"dry_run", "confirmed"} | ({"confirmation_requested"} if ex.elicited_over_http else set())
        if missing := want - decisions(lines, name):
            problems.append(f"{name}: no audit line with decision {', '.join(sorted(missing))}")
    auth = [l for l in lines if l.get("event") == "auth"]
    unauthorized = [l for l in auth if l.get("status") == 401]
    if len(unauthorized) < refused_401:
        problems.append(f"{len(unauthorized)} audit lines for 401s, {refused_401} requests were refused")
    if any(l.get("decision") != "denied:invalid_token" for l in unauthorized):
        problems.append("a 401 audit line is not denied:invalid_token")
    for tool, scope in sorted(refused_403.items()):
        hit = [l for l in auth if l.get("status") == 403 and l.get("tool") == tool
               and l.get("decision") == "denied:insufficient_scope" and scope in str(l.get("detail"))]
        if not hit:
            problems.append(f"no 403 audit line for {tool} (missing {scope})")
    ex.rec.add("audit", "(http: tool calls and refusals)", not problems, "\n".join(problems[:20]) or
               f"{len(calls)} tool_call lines (subject, client_id, contract, decision, identity, bytes…), "
               f"{len(unauthorized)} 401 and {len([l for l in auth if l.get('status') == 403])} 403 lines")


def check_stdio_audit(ex: Example) -> None:
    problems = []
    for transport in ("stdio", "stdio-legacy", "stdio-decline"):
        path = ex.log_path(transport)
        if not path.is_file():
            continue
        lines, bad = audit_lines(path)
        problems += [f"{transport}: not JSON: {b}" for b in bad]
        problems += [f"{transport}: {p}" for p in tool_call_problems(ex, lines, {STDIO_SUBJECT}, None)]
        for name in sorted(n for n in ex.cases if ex.policies[n].confirm):
            want = "declined" if transport == "stdio-decline" else "confirmed"
            if want not in decisions(lines, name):
                problems.append(f"{transport}: {name}: no audit line with decision {want}")
    ex.rec.add("audit", "(stdio: tool calls)", not problems, "\n".join(problems[:20]) or
               f"subject {STDIO_SUBJECT}, identities and contracts as declared, confirmed/declined logged")


def check_token_endpoint(ex: Example) -> None:
    requests = ex.authz.token_requests()
    rec = ex.rec
    if ex.oauth is None:
        rec.add("oauth", "(no OAuth client: no token requests)", not requests, f"{len(requests)} token requests")
        return
    client_id = ex.env.get(ex.oauth.client_id_env)
    modes = {p.identity for p in ex.policies.values()}
    problems = []
    for r in requests:
        if r.client_auth != "basic" or not r.client_ok or r.client_id != client_id:
            problems.append(f"#{r.seq} {r.grant_type}: client authentication {r.client_auth}, id {r.client_id!r}, "
                            f"{'right' if r.client_ok else 'WRONG'} secret (expected HTTP Basic as {client_id!r})")
        if r.status != 200:
            problems.append(f"#{r.seq} {r.grant_type}: answered {r.status} {r.error}")
        if r.grant_type not in ("client_credentials", TOKEN_EXCHANGE):
            problems.append(f"#{r.seq}: grant_type {r.grant_type!r}")
    rec.add("oauth", "token requests: HTTP Basic client authentication", not problems,
            "\n".join(problems) or f"{len(requests)} requests, each as {client_id} with its secret")

    cc = [r for r in requests if r.grant_type == "client_credentials"]
    if "client_credentials" in modes:
        scope = " ".join(ex.oauth.scopes)
        problems = [f"#{r.seq}: scope {r.form.get('scope')!r}, expected {scope!r}" for r in cc if r.form.get("scope", "") != scope]
        if not cc:
            problems.append("no client_credentials request, yet tools use that identity")
        if len(cc) > ex.server_processes:
            problems.append(f"{len(cc)} client_credentials requests from {ex.server_processes} server processes (the token is not cached)")
        rec.add("oauth", "client_credentials grant", not problems, "\n".join(problems) or
                f"{len(cc)} requests (at most one per server process), scope {scope!r}")
    elif cc:
        rec.add("oauth", "client_credentials grant", False, f"{len(cc)} requests, yet no tool uses that identity")

    te = [r for r in requests if r.grant_type == TOKEN_EXCHANGE]
    if "token_exchange" in modes:
        problems = []
        for r in te:
            subject = r.form.get("subject_token")
            if subject not in ex.callers:
                problems.append(f"#{r.seq}: subject_token is not a caller's token")
            if r.form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
                problems.append(f"#{r.seq}: subject_token_type {r.form.get('subject_token_type')!r}")
        exchanged = {r.form.get("subject_token") for r in te}
        if missing := [ex.callers[t] for t in ex.exchanged_for if t not in exchanged]:
            problems.append(f"no exchange of the tokens of {', '.join(sorted(missing))}, yet their calls ran")
        if not ex.exchanged_for:
            problems.append("no token-exchange call was checked upstream")
        rec.add("oauth", "token exchange (RFC 8693)", not problems, "\n".join(problems) or
                f"{len(te)} requests; subject_token = the calling user's token "
                f"({', '.join(sorted({ex.callers[t] for t in exchanged if t in ex.callers}))})")
    elif te:
        rec.add("oauth", "token exchange (RFC 8693)", False, f"{len(te)} requests, yet no tool uses that identity")


SERVER_LOGS = ("stdio", "stdio-legacy", "stdio-decline", "stdio-scopes", "http")


def check_server_logs(ex: Example) -> None:
    """The servers' stderr (logs, audit lines) has no panic and shows no secret or token."""
    problems = []
    shown = []
    for path in (ex.log_path(t) for t in SERVER_LOGS):
        if not path.is_file():
            continue
        shown.append(path.name)
        text = path.read_text(errors="replace")
        if "panicked at" in text:
            line = next(l for l in text.splitlines() if "panicked at" in l)
            problems.append(f"{path} shows a panic: {line.strip()}")
        if leaked := ex.secrets.found_in(text):
            problems.append(f"{path} shows {', '.join(leaked)}")
    count = len(ex.secrets.labelled())
    ex.rec.add("logs", "(server logs)", not problems,
               "\n".join(problems) or f"no panic; none of {count} secrets and tokens in {', '.join(shown)}")


def check_accept(ex: Example, ops: Operations) -> None:
    """Every upstream request for an operation that offers JSON asks for JSON only: an upstream
    that can answer XML or JSON may pick XML when both are listed."""
    proxy = ex.proxy
    assert proxy is not None
    checked, problems = 0, []
    for r in proxy.records:
        op = ops.match(r.method, r.path, strip_base=True)
        if op is None or not any(map(is_json_media, op.get("media", []))):
            continue
        checked += 1
        if not accepts_only_json(r.headers.get("accept", "")):
            problems.append(f"{r.method} {r.path}: Accept {r.headers.get('accept')!r} "
                            f"({op['operationId']} offers {', '.join(op['media'])})")
    offered = sorted({m for op in ex.operations.values() if op for m in op.get("media", [])})
    ex.rec.add("accept", "(Accept lists only JSON where JSON is offered)", not problems,
               "\n".join(sorted(set(problems))[:20]) or
               f"{checked} upstream requests; the tools' operations offer {', '.join(offered) or 'nothing'}")


def check_drift(ex: Example) -> None:
    """Drift is allowed (a 2xx answer is a success) but counted: how many executed calls came
    back with a drift note, and that each of them has its `output_drift` audit line with the
    drifted paths (and no other line claims drift)."""
    lines: list[dict[str, Any]] = []
    for path in (ex.log_path(t) for t in SERVER_LOGS):
        lines += [l for l in audit_lines(path)[0] if l.get("event") == "tool_call"]
    audited = [l for l in lines if l.get("outcome") == "output_drift"]
    problems = []
    if len(audited) != len(ex.drifted):
        problems.append(f"{len(audited)} output_drift audit lines, {len(ex.drifted)} results with a drift note")
    if bad := [l.get("tool") for l in audited if not (isinstance(l.get("drift"), list) and l["drift"])]:
        problems.append(f"output_drift audit lines without drift paths: {', '.join(bad)}")
    tools: dict[str, tuple[set[str], set[str]]] = {}
    for transport, tool, paths in ex.drifted:
        where, seen = tools.setdefault(tool, (set(), set()))
        where.add(transport)
        seen.update(paths)
    served = ""
    if ex.static:
        succeeding = [n for n, op in ex.operations.items() if op is not None and has_success(op)]
        with_examples = sorted(n for n in succeeding
                               if any(c.startswith("2") for c in ex.operations[n].get("examples", [])))
        built = "Prism built a static answer from the schema (property examples and defaults)"
        if len(with_examples) == len(succeeding):
            served = f"\nall {len(with_examples)} tools with a success response answered from the spec's example"
        elif not with_examples:
            served = (f"\nno success response of the {len(succeeding)} tools that have one carries an example: "
                      f"{built}")
        else:
            served = (f"\n{len(with_examples)} of the {len(succeeding)} tools with a success response answered from "
                      f"the spec's example ({', '.join(with_examples)}); for the others {built}")
    detail = (f"{len(ex.drifted)} of {ex.executed} executed calls drifted"
              + "".join(f"\n{tool}: at {', '.join(sorted(paths))} ({', '.join(sorted(where))})"
                        for tool, (where, paths) in sorted(tools.items()))
              + served)
    ex.rec.add("drift", f"(output drift: {len(ex.drifted)} of {ex.executed} calls)", not problems,
               "\n".join(problems) + ("\n" if problems else "") + detail)


# ---------------------------------------------------------------------------------------------
# Prism's log

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECEIVED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request received")
TERMINATED = re.compile(r"\[HTTP SERVER\] (\w+) (\S+) .*Request terminated with error: (.*)")
VALIDATOR = re.compile(r"\[VALIDATOR\] (?:✖|⚠)\s+(?:error|warning)\s+(.*)")


def prism_requests(log_text: str) -> list[dict[str, Any]]:
    """Requests in Prism's log, each with the complaints logged while it was handled.

    Prism logs `Request received` with the method and path, then its validator's lines without
    them, so a complaint belongs to the latest request received. Over the concurrent phase that can
    blame the wrong request; the sequential stdio phases, which call every tool first, do not.
    """
    requests: list[dict[str, Any]] = []
    for raw in log_text.splitlines():
        line = ANSI.sub("", raw)
        if m := RECEIVED.search(line):
            requests.append({"method": m.group(1).upper(), "path": m.group(2).split("?")[0],
                             "complaints": [], "response_violations": []})
        elif m := TERMINATED.search(line):
            target = next((r for r in reversed(requests)
                           if r["method"] == m.group(1).upper() and r["path"] == m.group(2).split("?")[0]), None)
            if target is not None:
                target["complaints"].append("terminated: " + m.group(3).strip())
        elif (m := VALIDATOR.search(line)) and requests:
            text = m.group(1).strip()
            # Prism checks the responses it generates too; their faults are its own, not the server's.
            key = "response_violations" if text.startswith("Violation: response") else "complaints"
            requests[-1][key].append(text)
    for request in requests:
        request["complaints"] = concise(request["complaints"])
    return requests


def concise(complaints: list[str]) -> list[str]:
    """Prism says most things twice (`X`, then `Violation: request.y X`); keep one of each."""
    violations = [c for c in complaints if c.startswith(("Violation:", "terminated:"))]
    rest = [c for c in complaints
            if c not in violations and c != "Request did not pass the validation rules"
            and not any(c in v for v in violations)]
    return violations + rest or complaints


CANARY_PATH = "/__mcpgen_e2e_canary__"


def canary(prism_url: str) -> None:
    """A request no spec has: Prism must log a complaint about it, or its log is not understood."""
    try:
        urllib.request.urlopen(prism_url + CANARY_PATH, timeout=10).close()
    except urllib.error.HTTPError:
        pass  # 404 is the point
    except (urllib.error.URLError, OSError) as exc:
        raise SystemExit(f"error: Prism at {prism_url} does not answer: {exc}")


def check_prism(log_path: Path, cases: dict[str, dict[str, Any]], ops: Operations,
                operations: dict[str, dict[str, Any] | None], rec: Recorder) -> None:
    """Fails every tool whose requests Prism complained about, or that never reached Prism."""
    time.sleep(0.5)  # let Prism flush its last lines
    requests = prism_requests(log_path.read_text(errors="replace"))
    by_operation = {op["operationId"]: name for name, op in operations.items() if op is not None}
    seen: dict[str, int] = {name: 0 for name in cases}
    complaints: dict[str, list[str]] = {name: [] for name in cases}
    response_faults: dict[str, int] = {name: 0 for name in cases}
    canaries = [r for r in requests if r["path"] == CANARY_PATH]
    if not canaries or not all(r["complaints"] for r in canaries):
        rec.add("prism", "(log format)", False,
                f"Prism's log shows no complaint about GET {CANARY_PATH}: its log format is not understood, "
                f"so its complaints would go unnoticed ({log_path})")
    for request in requests:
        if request["path"] == CANARY_PATH:
            continue
        where = f"{request['method']} {request['path']}"
        op = ops.match(request["method"], request["path"])
        tool = by_operation.get(op["operationId"]) if op else None
        if tool is None:
            what = "no operation of the spec" if op is None else f"operation {op['operationId']}, which no tool calls"
            rec.add("prism", "(unexpected request)", False,
                    f"Prism got {where}, which matches {what}: " + "; ".join(request["complaints"] or ["no complaint"]))
            continue
        seen[tool] += 1
        response_faults[tool] += bool(request["response_violations"])
        for complaint in request["complaints"]:
            line = f"{where}: {complaint}"
            if line not in complaints[tool]:
                complaints[tool].append(line)
    for name in sorted(cases):
        op = operations[name]
        if op is None:
            request = cases[name]["call"]["request"]
            rec.add("prism", name, False,
                    f"the fixture's request {request['method']} {request['path']} matches no operation of the spec "
                    f"(base path {ops.base_path or '/'})")
        elif complaints[name]:
            rec.add("prism", name, False, "Prism rejected or flagged the request:\n" + "\n".join(complaints[name]),
                    cases[name]["call"]["arguments"])
        elif not seen[name]:
            rec.add("prism", name, False, f"no request for {op['operationId']} reached Prism")
        else:
            note = (f" ({response_faults[name]} of Prism's generated responses broke the spec's own schema;"
                    " that is Prism's fault and ignored)") if response_faults[name] else ""
            rec.add("prism", name, True, f"{seen[name]} requests to {op['operationId']} accepted{note}")


# ---------------------------------------------------------------------------------------------
# The misbehaving upstream (misbehave.py): what real APIs send, against the pet store server


MISBEHAVE_EXAMPLE = "petstore-swagger2"
MISBEHAVE_TOKENS = 400  # --max-result-tokens of the server under test: the large list is cut
UNSET: Any = object()


@dataclass(frozen=True)
class Misbehaviour:
    """One call: the upstream plays `scenario` while `tool` is called with `arguments`."""

    scenario: str
    tool: str
    arguments: dict[str, Any]
    error: bool  # isError
    outcome: str  # of the audit line
    says: tuple[str, ...] = ()  # in the result's text
    structured: Any = UNSET  # structuredContent exactly (None: absent)
    drift: tuple[str, ...] = ()  # the audit line's drift paths (the note names them too)
    upstream: int = 1  # requests the upstream gets
    check: Callable[["MisbehaveRun", types.CallToolResult, str], list[str]] | None = None


def misbehaviours(s: Sentinels) -> list[Misbehaviour]:
    drift_note = "Note: the upstream's answer does not match this tool's output schema at "
    withheld = ("It is not shown: this tool's field rules (an allowlist or redactions) apply to JSON only.",)
    # An empty path argument breaks the published `minLength: 1`; a blank one passes the schema
    # and is refused by the runtime's own check.
    empty = ("the upstream API was not called", "/username: value is shorter than 1 character")
    blank = ("the upstream API was not called", "`username` must not be empty or blank")
    return [
        Misbehaviour("nulls", "get_pet", {"pet_id": 7}, False, "ok",
                     structured={"id": 7, "category": None, "name": None, "photoUrls": [None],
                                 "tags": [None, {"id": None, "name": None}], "status": None}),
        Misbehaviour("type-drift", "get_pet", {"pet_id": 7}, False, "output_drift", (drift_note,),
                     structured={"category": {}, "tags": [{"id": 1, "name": "small"}, {"id": 2}], "status": "available"},
                     drift=("/category/id", "/category/name", "/id", "/name", "/photoUrls", "/tags/*/name"),
                     check=whole_answer_first),
        Misbehaviour("placeholders", "get_pet", {"pet_id": 8}, False, "output_drift", (drift_note,),
                     structured={"id": 8, "name": "doggie", "photoUrls": ["string"], "status": "available"},
                     drift=("/category", "/tags"), check=whole_answer_first),
        Misbehaviour("order-placeholders", "get_order", {"orderId": 3}, False, "output_drift", (drift_note,),
                     structured={"id": 3, "shipDate": "2019-08-24T14:15:22Z", "status": "placed"},
                     drift=("/complete", "/petId", "/quantity"), check=whole_answer_first),
        Misbehaviour("inventory-drift", "get_inventory", {}, False, "output_drift", (drift_note,),
                     structured={"available": 3, "pending": None}, drift=("/*",), check=whole_answer_first),
        Misbehaviour("secret-echo", "get_pet", {"pet_id": 9}, False, "ok",
                     structured={"id": 9, "name": "[REDACTED]", "status": "key [REDACTED] accepted"}),
        Misbehaviour("nested-redacted", "get_customer", {"username": "ghost"}, False, "ok",
                     structured={"id": 5, "username": "ghost", "firstName": "Gus", "lastName": "Host",
                                 "email": "[REDACTED]", "phone": "****" + s.phone[-4:], "userStatus": 1,
                                 "profile": {"recovery": {}}}),
        Misbehaviour("xml-record", "get_customer", {"username": "ghost"}, False, "withheld",
                     ("The upstream answered HTTP 200 OK with", "bytes of application/xml", *withheld), structured={}),
        Misbehaviour("xml-list", "list_available_pets", {}, False, "withheld",
                     ("bytes of application/xml", *withheld), structured={}),
        Misbehaviour("html-500", "get_customer", {"username": "ghost"}, True, "upstream_error",
                     ("upstream returned HTTP 500 Internal Server Error",
                      "bytes of text/html not shown: this tool's field rules apply to JSON only"), check=no_markup),
        Misbehaviour("html-401-echo", "get_pet", {"pet_id": 7}, True, "upstream_error",
                     ("upstream returned HTTP 401 Unauthorized", "api_key [REDACTED] is not valid here")),
        Misbehaviour("json-404-record", "get_customer", {"username": "ghost"}, True, "upstream_error",
                     check=error_json("upstream returned HTTP 404 Not Found", {
                         "code": 404, "type": "error", "message": "User not found",
                         "user": {"id": 5, "username": "ghost", "firstName": "Gus", "lastName": "Host", "userStatus": 1,
                                  "contact": {}}})),
        Misbehaviour("json-400-allowlist", "list_available_pets", {}, True, "upstream_error",
                     check=error_json("upstream returned HTTP 400 Bad Request", {
                         "code": 400, "message": "invalid status",
                         "details": [{"field": "status", "reason": "not allowed"}]})),
        Misbehaviour("redirect-same-origin", "get_pet", {"pet_id": 7}, False, "ok", upstream=2,
                     structured=misbehave.pet(7, "moved doggie"), check=same_origin_hop),
        Misbehaviour("redirect-other-origin", "get_pet", {"pet_id": 7}, True, "redirect_refused",
                     ("redirect_refused: the upstream API answered 302 with a redirect to", "nothing was sent there"),
                     check=refused_target("/v2/pet/7")),
        Misbehaviour("redirect-other-origin-307", "list_available_pets", {}, True, "redirect_refused",
                     ("redirect_refused: the upstream API answered 307 with a redirect to",),
                     check=refused_target("/pets")),
        Misbehaviour("empty", "mark_pet_sold", {"petId": 1}, False, "ok", ("HTTP 200 OK",), structured=None),
        Misbehaviour("empty-201", "upload_pet_photo", {"petId": 1, "additionalMetadata": "front", "file": "c2FtcGxl"},
                     False, "ok", ("HTTP 201 Created",), structured={}),
        Misbehaviour("null-body", "get_order", {"orderId": 3}, False, "ok", ("HTTP 200 OK (body: null)",),
                     structured={}),
        Misbehaviour("html-200", "get_order", {"orderId": 3}, False, "output_drift",
                     ("Order 3: placed", MEDIA_NOTE + "text/html"), structured={}, drift=("",)),
        Misbehaviour("large-list", "list_available_pets", {}, False, "result_cut",
                     (f"Note: this result was cut to fit about {MISBEHAVE_TOKENS} tokens (",
                      "To see the rest, narrow the request."), check=cut_list),
        Misbehaviour("blank-path", "get_customer", {"username": ""}, True, "invalid_arguments", empty, upstream=0),
        Misbehaviour("blank-path-spaces", "get_customer", {"username": "  \t "}, True, "invalid_arguments", blank,
                     upstream=0),
    ]


@dataclass
class MisbehaveRun:
    fixture: misbehave.Misbehaving
    sentinels: Sentinels
    sent: list[misbehave.Request] = field(default_factory=list)  # the current call's upstream requests


def text_blocks(result: types.CallToolResult) -> list[str]:
    return [getattr(b, "text", "") or "" for b in result.content or []]


def whole_answer_first(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
    """Drift: the first text block is the whole (shaped) answer, as the upstream sent it here."""
    sent = json.loads(misbehave.SCENARIOS[run.fixture.scenario](run.fixture, run.sent[-1]).body)
    try:
        first = json.loads(text_blocks(result)[0])
    except (ValueError, IndexError):
        return ["the first text block is not JSON"]
    return [] if first == sent else [f"the first text block is {first}, not the whole answer {sent}"]


def no_markup(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
    return [f"the error shows the HTML body: {text[:200]}"] if "<" in text else []


def error_json(status: str, want: Any) -> Callable[[MisbehaveRun, types.CallToolResult, str], list[str]]:
    """An upstream error: the status line, then the body as the field rules left it."""
    def check(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
        head, _, body = text.partition("\n")
        if head != status:
            return [f"first line {head!r}, expected {status!r}"]
        try:
            got = json.loads(body)
        except ValueError:
            return [f"the error body is not JSON: {body[:200]}"]
        return [] if got == want else [f"the error body is {json.dumps(got)}, expected {json.dumps(want)}"]
    return check


def same_origin_hop(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
    """The redirect on the upstream's own origin is followed, with the API key sent again."""
    if len(run.sent) != 2:
        return []  # counted by the caller
    hop = run.sent[1]
    problems = []
    if hop.path != f"{misbehave.BASE_PATH}/pets/7/current":
        problems.append(f"the redirect went to {hop.path}")
    if hop.headers.get("api_key") != run.sentinels.api_key:
        problems.append("the same-origin hop did not carry the api_key header with the server's key")
    return problems


def refused_target(path: str) -> Callable[[MisbehaveRun, types.CallToolResult, str], list[str]]:
    """A redirect to another origin: the error names the target without its query."""
    def check(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
        problems = []
        if f"{run.fixture.elsewhere_url}{path}" not in text:
            problems.append(f"the error does not name the target {run.fixture.elsewhere_url}{path}")
        if "sig=" in text or "?" in text.split("redirect to ", 1)[-1].split(",")[0]:
            problems.append("the error shows the target's query")
        return problems
    return check


def cut_list(run: MisbehaveRun, result: types.CallToolResult, text: str) -> list[str]:
    """Over the budget: valid JSON that fits, fewer items, only allowed members."""
    problems = []
    blocks = text_blocks(result)
    try:
        shown = json.loads(blocks[0])
    except (ValueError, IndexError):
        return ["the first text block is not JSON"]
    budget = MISBEHAVE_TOKENS * 4
    if len(blocks[0].encode()) > budget:
        problems.append(f"the JSON shown is {len(blocks[0].encode())} bytes, over the budget of {budget}")
    items = (result.structured_content or {}).get("result")
    if not isinstance(items, list) or not 0 < len(items) < misbehave.LARGE_LIST:
        problems.append(f"structuredContent.result is not a shortened list: {str(items)[:200]}")
    elif shown != result.structured_content:
        problems.append("the text block is not the structured content")
    elif extra := {k for item in items if isinstance(item, dict) for k in item} - {"id", "name", "category", "tags", "status"}:
        problems.append(f"members the allowlist leaves out: {sorted(extra)}")
    return problems


async def misbehave_calls(run: MisbehaveRun, client: Client, cases: list[Misbehaviour], rec: Recorder,
                          found_in: Callable[[str], list[str]]) -> int:
    """Calls each case's tool while the upstream plays its scenario. Returns how many results
    carried a drift note."""
    drifted = 0
    listed = {t.name: t for t in await list_all_tools(client)}
    for case in cases:
        label = f"{case.scenario}: {case.tool}"
        if case.tool not in listed:
            rec.add("misbehave", label, False, f"the server has no tool {case.tool}", case.arguments)
            continue
        run.fixture.scenario = case.scenario
        mark = run.fixture.mark()
        try:
            result = await call(client, case.tool, case.arguments)
        except Exception as exc:  # the SDK raises on outputSchema violations
            rec.add("misbehave", label, False, f"{type(exc).__name__}: {exc}", case.arguments)
            continue
        run.sent = run.fixture.since(mark)
        text = result_text(result)
        problems = []
        if bool(result.is_error) != case.error:
            problems.append(f"isError {bool(result.is_error)}, expected {case.error}")
        if len(run.sent) != case.upstream:
            problems.append(f"{len(run.sent)} upstream requests, expected {case.upstream}")
        for part in case.says:
            if part not in text:
                problems.append(f"the text does not say {part!r}")
        if case.structured is not UNSET and result.structured_content != case.structured:
            problems.append(f"structuredContent {json.dumps(result.structured_content)}, "
                            f"expected {json.dumps(case.structured)}")
        if listed[case.tool].output_schema is not None and not result.is_error and result.structured_content is None:
            problems.append("no structuredContent, yet the tool has an outputSchema")
        note = drift_of(result)
        drifted += bool(note)
        want_note = ["(root)" if p == "" else p for p in case.drift]
        if note != want_note:
            problems.append(f"the drift note names {note}, expected {want_note}")
        if case.check is not None and not problems:
            problems += case.check(run, result, text)
        if leaked := found_in(text + json.dumps(result.structured_content)):
            problems.append(f"the result shows {', '.join(leaked)}")
        summary = f"isError {bool(result.is_error)}, {len(run.sent)} upstream request(s)"
        if case.drift:
            summary += f", drift at {', '.join(want_note)}"
        rec.add("misbehave", label, not problems, "\n".join(problems) or f"{summary}: {text.splitlines()[0][:120]}",
                case.arguments)
    return drifted


def check_misbehave_upstream(run: MisbehaveRun, rec: Recorder) -> None:
    """Every request the upstream got: Accept lists only JSON, each carries its credential; the
    other origin got nothing."""
    fx, s = run.fixture, run.sentinels
    problems = [f"{r.method} {r.path}: Accept {r.headers.get('accept')!r}" for r in fx.requests
                if not accepts_only_json(r.headers.get("accept", ""))]
    rec.add("misbehave", "(Accept lists only JSON)", not problems, "\n".join(problems) or
            f"{len(fx.requests)} upstream requests, each Accept: {fx.requests[0].headers.get('accept') if fx.requests else '-'}")
    problems = []
    for r in fx.requests:
        pet = r.path.startswith(f"{misbehave.BASE_PATH}/pet/") and r.method == "GET" and "findByStatus" not in r.path
        if (pet or r.path.endswith("/store/inventory") or r.path.endswith("/current")) and r.headers.get("api_key") != s.api_key:
            problems.append(f"{r.method} {r.path} without the api_key credential")
        if r.path.endswith("/findByStatus") and r.headers.get("authorization") != f"Bearer {s.token}":
            problems.append(f"{r.method} {r.path} without the bearer credential")
    rec.add("misbehave", "(credentials on every upstream request)", not problems, "\n".join(problems) or
            "api_key on every GET /pet/… and /store/inventory (the redirect hop included), the bearer token on /pet/findByStatus")
    hits = [f"{r.method} {r.path}" + (" (with the api_key)" if r.headers.get("api_key") else "")
            + (" (with an Authorization header)" if r.headers.get("authorization") else "") for r in fx.elsewhere]
    rec.add("misbehave", "(the other origin got nothing)", not hits,
            ("requests reached the other origin: " + ", ".join(hits)) if hits else
            f"{fx.elsewhere_url} received 0 requests after 2 redirects there")


def check_misbehave_audit(ex: Example, cases: list[Misbehaviour], run: MisbehaveRun, log_path: Path) -> None:
    """One audit line per call, in order, with the expected outcome and drift paths."""
    lines, bad = audit_lines(log_path)
    calls = [l for l in lines if l.get("event") == "tool_call"]
    problems = [f"not JSON: {b}" for b in bad] + tool_call_problems(ex, lines, {STDIO_SUBJECT}, None)
    if len(calls) != len(cases):
        problems.append(f"{len(calls)} tool_call lines for {len(cases)} calls")
    for case, line in zip(cases, calls):
        where = f"{case.scenario} ({case.tool})"
        if line.get("tool") != case.tool:
            problems.append(f"{where}: the line is for {line.get('tool')}")
            continue
        if line.get("outcome") != case.outcome:
            problems.append(f"{where}: outcome {line.get('outcome')!r}, expected {case.outcome!r}")
        if (line.get("drift") or []) != list(case.drift):
            problems.append(f"{where}: drift {line.get('drift')!r}, expected {list(case.drift)!r}")
        if case.outcome == "redirect_refused" and line.get("detail") != f"redirect to {run.fixture.elsewhere_url}":
            problems.append(f"{where}: detail {line.get('detail')!r}, expected the target's origin")
    outcomes: dict[str, int] = {}
    for line in calls:
        outcomes[line.get("outcome")] = outcomes.get(line.get("outcome"), 0) + 1
    ex.rec.add("audit", "(misbehave: one line per call, outcomes, drift paths)", not problems,
               "\n".join(problems[:20]) or ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))


async def misbehave_run(args: argparse.Namespace) -> int:
    """The pet store server against the misbehaving upstream, over stdio."""
    rec = Recorder(MISBEHAVE_EXAMPLE, "misbehave")
    policies = tool_policies(args.crate)
    contract_version = check_contract_file(args.crate, policies, None)
    tag = os.urandom(6).hex()
    sentinels = Sentinels(api_key=f"e2e-apikey-{tag}", token=f"e2e-token-{tag}",
                          email=f"e2e-email-{tag}@mail.example", password=f"e2e-password-{tag}",
                          phone=f"+1-555-{tag}-0142", private=f"e2e-private-{tag}", signature=f"e2e-signature-{tag}")
    secrets = sentinels.all()

    def found_in(text: str) -> list[str]:
        return sorted(label for label, value in secrets.items() if value in text)

    fixture = misbehave.Misbehaving(sentinels).start()
    run = MisbehaveRun(fixture, sentinels)
    cases = misbehaviours(sentinels)
    env = server_env({"PETSTORE_API_KEY": sentinels.api_key, "PETSTORE_TOKEN": sentinels.token})
    ex = Example(args, {}, policies, None, None, None, rec, env, contract_version=contract_version)  # type: ignore[arg-type]
    metrics_port = free_port()
    params = StdioServerParameters(
        command=str(args.bin),
        args=["--transport", "stdio", "--upstream-url", fixture.url, "--max-result-tokens", str(MISBEHAVE_TOKENS),
              "--metrics-listen", f"127.0.0.1:{metrics_port}"],
        env=env)
    log_path = args.log_dir / f"{MISBEHAVE_EXAMPLE}-misbehave.log"
    print(f"  upstream {fixture.url} (misbehave.py), the other origin {fixture.elsewhere_url}; "
          f"{len(cases)} calls over stdio, --max-result-tokens {MISBEHAVE_TOKENS}", flush=True)
    scraped = None
    try:
        with open(log_path, "w") as errlog:
            try:
                with anyio.fail_after(PHASE_TIMEOUT):
                    async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=CALL_TIMEOUT) as client:
                        drifted = await misbehave_calls(run, client, cases, rec, found_in)
                        executed = sum(1 for case in cases if case.upstream)
                        rec.add("drift", f"(output drift: {drifted} of {executed} calls)", True,
                                f"{drifted} of {executed} executed calls drifted (the scenarios that drift on purpose)")
                        scraped = await anyio.to_thread.run_sync(scrape, f"http://127.0.0.1:{metrics_port}/metrics")
            except Exception as exc:
                rec.add("misbehave", "(session)", False, f"{type(exc).__name__}: {exc}\nserver log: {log_path}\n{tail(log_path)}")
        check_misbehave_upstream(run, rec)
    finally:
        fixture.stop()
    check_misbehave_audit(ex, cases, run, log_path)
    if scraped is not None:
        check_metrics(ex, log_path, scraped)
    text = log_path.read_text(errors="replace")
    problems = [f"the server log shows {label}" for label in found_in(text)]
    if "panicked at" in text:
        problems.append("the server panicked")
    rec.add("logs", "(misbehave: server log)", not problems, "\n".join(problems) or
            f"no panic; none of the {len(secrets)} sentinels in {log_path.name}")
    finish(rec, args.results)
    failed = sum(1 for r in rec.records if not r["ok"])
    print(f"  misbehave: {len(rec.records) - failed} checks passed, {failed} failed", flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# Commands


async def refuses_without_auth(ex: Example) -> None:
    """Over HTTP, a server without any authorization setup must not start."""
    port = free_port()
    command = [str(ex.args.bin), "--transport", "http", "--listen", f"127.0.0.1:{port}", "--upstream-url", ex.upstream_url]

    def attempt() -> tuple[int | None, str]:
        try:
            done = subprocess.run(command, env=ex.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=REFUSAL_TIMEOUT)
            return done.returncode, done.stderr
        except subprocess.TimeoutExpired as exc:
            return None, str(exc.stderr or "")

    code, stderr = await anyio.to_thread.run_sync(attempt)
    ok = code not in (None, 0) and "--insecure-no-auth" in stderr
    first = next((l for l in stderr.splitlines() if l.strip()), "")
    ex.rec.add("auth", "HTTP without an auth setup: refuses to start", ok,
               f"exit {code if code is not None else f'none after {REFUSAL_TIMEOUT:.0f}s'}: {first[:300]}")


async def run(args: argparse.Namespace) -> int:
    cases = load_cases(args.crate / "tests" / "cases.json")
    policies = tool_policies(args.crate)
    rec = Recorder(args.example, args.prism_mode)
    if stale := stale_sources(args.crate, args.annotation.parent):
        print(f"  warning: {args.crate.name} was generated from other sources than {args.annotation.parent}: "
              f"{'; '.join(stale)}. Regenerate it; Prism mocks the files as they are now.", flush=True)
    if unknown := sorted(set(cases) - set(policies)):
        raise SystemExit(f"error: fixtures for tools the crate does not have: {unknown}")
    contract_version = check_contract_file(args.crate, policies, rec if args.prism_mode == "dynamic" else None)
    env = server_env(merged_env(cases))
    oauth = oauth_client(args.crate)
    clients = {}
    if oauth is not None:
        try:
            clients[env[oauth.client_id_env]] = env[oauth.client_secret_env]
        except KeyError as exc:
            raise SystemExit(f"error: the fixtures set no {exc} for the OAuth client")
    authz = AuthorizationServer(clients=clients).start()
    ex = Example(args, cases, policies, oauth, authz, Secrets(cases, authz), rec, env,
                 contract_version=contract_version)
    try:
        prism_url = f"http://127.0.0.1:{args.prism_port}"
        base_path = default_base_path(args.crate)
        ops = Operations.load(args.node, args.prism_modules, args.spec, base_path)
        ex.operations = tool_operations(cases, ops)
        canary(prism_url)
        ex.stdio_token = ex.caller("e2e-stdio-user", STDIO_AUDIENCE)
        print(f"  authorization server {authz.issuer}"
              + (f" (OAuth client {env[oauth.client_id_env]})" if oauth else " (no OAuth client)"), flush=True)
        async with upstream(prism_url, base_path) as (upstream_url, proxy):
            ex.upstream_url, ex.proxy = upstream_url, proxy
            via = f", base path {base_path} stripped" if base_path else ""
            print(f"  upstream {upstream_url} -> recording proxy -> Prism {prism_url}{via}", flush=True)
            # The static pass repeats what depends on the upstream's answers: every tool called
            # over stdio (both negotiations) and over one HTTP connection (dry runs, replayed
            # tokens, metrics); refusals, scopes, concurrency and the 401s are the same whatever
            # the upstream says, and the dynamic pass checks them.
            if not ex.static:
                await refuses_without_auth(ex)
            await phase_stdio(ex, "auto", "stdio")
            await phase_stdio(ex, "legacy", "stdio-legacy")
            if not ex.static:
                await phase_stdio_decline(ex)
                await phase_stdio_scopes(ex)
            await phase_http(ex, full=not ex.static)
            if proxy.stray:
                rec.add("prism", "(base path)", False,
                        "requests outside the base path:\n" + "\n".join(sorted(set(proxy.stray))))
        check_prism(args.prism_log, cases, ops, ex.operations, rec)
        check_accept(ex, ops)
        check_token_endpoint(ex)
        check_stdio_audit(ex)
        check_server_logs(ex)
        check_drift(ex)
    finally:
        authz.stop()

    finish(rec, args.results)
    failed = sum(1 for r in rec.records if not r["ok"])
    print(f"  {args.example}: {len(rec.records) - failed} checks passed, {failed} failed", flush=True)
    return 0  # failures are in the results; a non-zero exit means this script broke


INSECURE_NOTE = ("the suite (0.1.16) has no way to send an Authorization header, so this server runs with "
                 "--insecure-no-auth (development mode); authorization is checked by `drive.py run`")


async def conformance(args: argparse.Namespace) -> int:
    """Runs the conformance suite's scenarios against the server over HTTP, one record per check."""
    cases = load_cases(args.crate / "tests" / "cases.json")
    env = server_env(merged_env(cases))
    rec = Recorder(args.example, "conformance")
    log_path = args.log_dir / f"{args.example}-conformance-server.log"
    print(f"  NOTE: {INSECURE_NOTE}", flush=True)
    # The generic scenarios call no tool, so the upstream is never reached.

    def command(port: int, _metrics_port: int) -> list[str]:
        return [str(args.bin), "--transport", "http", "--listen", f"127.0.0.1:{port}",
                "--upstream-url", "http://127.0.0.1:9", "--insecure-no-auth"]

    try:
        process, port, _, _ = start_server(command, env, log_path)
    except RuntimeError as exc:
        rec.add("conformance", "(server)", False, str(exc))
        return finish(rec, args.results)
    try:
        warned = "--insecure-no-auth" in log_path.read_text(errors="replace")
        rec.add("conformance", "(server runs with --insecure-no-auth, and says so in its log)", warned, INSECURE_NOTE)
        suite_env = dict(os.environ, PATH=f"{args.suite}{os.pathsep}{os.environ.get('PATH', '')}", NO_COLOR="1")
        for scenario in args.scenarios:
            out_dir = args.log_dir / "conformance" / scenario
            command = ["conformance", "server", "--url", f"http://127.0.0.1:{port}/mcp",
                       "--scenario", scenario, "-o", str(out_dir)]
            try:
                done = subprocess.run(command, env=suite_env, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                rec.add("conformance", scenario, False, "timed out after 120s")
                continue
            (args.log_dir / "conformance" / f"{scenario}.log").write_text(done.stdout + done.stderr)
            checks = []
            for path in sorted(out_dir.glob("*/checks.json")):
                checks += json.loads(path.read_text())
            if not checks:
                rec.add("conformance", scenario, False,
                        f"no checks reported (exit {done.returncode}):\n{(done.stdout + done.stderr).strip()[-2000:]}")
                continue
            for check in checks:
                status = check.get("status", "?")
                detail = f"{status}: {check.get('description', '')} {check.get('errorMessage', '')}".strip()
                rec.add("conformance", f"{scenario}: {check.get('id', '?')}", status != "FAILURE", detail)
            if done.returncode != 0 and all(c.get("status") != "FAILURE" for c in checks):
                rec.add("conformance", scenario, False, f"suite exited with {done.returncode} without a failed check")
            print(f"  {scenario}: " + ", ".join(f"{c.get('id')} {c.get('status')}" for c in checks), flush=True)
    finally:
        stop(process)
    return finish(rec, args.results)


def finish(rec: Recorder, results: Path) -> int:
    with open(results, "a") as out:
        for record in rec.records:
            out.write(json.dumps(record, sort_keys=True) + "\n")
    return 0


COLUMNS = ("stdio", "stdio-legacy", "http", "http-concurrent", "confirm", "identity", "scope", "prism")
HEADERS = ("stdio", "legacy", "http", "http×3", "confirm", "ident", "scope", "prism")
PASSES = {"dynamic": 0, "static": 1, "misbehave": 2, "conformance": 3}


def summary(paths: list[Path]) -> int:
    records = []
    for path in paths:
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        print("e2e: no results")
        return 1
    for r in records:
        r.setdefault("pass", "")

    def expected_error(r: dict[str, Any]) -> bool:
        return r["ok"] and r["detail"].startswith("HTTP ") and r["transport"] in COLUMNS

    def cell(oks: list[dict[str, Any]] | None) -> str:
        if not oks:
            return "-"
        if not all(r["ok"] for r in oks):
            return "FAIL"
        return "ok*" if any(map(expected_error, oks)) else "ok~" if any(r.get("drift") for r in oks) else "ok"

    def order(key: tuple[str, str, str]) -> tuple[str, int, str]:
        return key[0], PASSES.get(key[1], 9), key[2]

    table: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
    others = []
    for r in records:
        if r["transport"] in COLUMNS:
            table.setdefault((r["example"], r["pass"], r["tool"]), {}).setdefault(r["transport"], []).append(r)
        else:
            others.append(r)
    if table:
        w_ex = max(len("example"), *(len(e) for e, _, _ in table))
        w_pass = max(len("pass"), *(len(p) for _, p, _ in table))
        w_tool = max(len("tool"), *(len(t) for _, _, t in table))
        print(f"{'example':<{w_ex}}  {'pass':<{w_pass}}  {'tool':<{w_tool}}  " + "  ".join(f"{h:<6}" for h in HEADERS))
        for (example, pass_, tool), cells in sorted(table.items(), key=lambda item: order(item[0])):
            row = [cell(cells.get(column)) for column in COLUMNS]
            print(f"{example:<{w_ex}}  {pass_:<{w_pass}}  {tool:<{w_tool}}  " + "  ".join(f"{c:<6}" for c in row).rstrip())
    notes = sorted({(r["example"], r["pass"], r["tool"], r["detail"]) for r in records if expected_error(r)})
    for example, pass_, tool, detail in notes:
        print(f"  * {example} ({pass_}) {tool}: {detail}")
    drifted: dict[tuple[str, str, str], set[str]] = {}
    for r in records:
        if r.get("drift") and r["transport"] in COLUMNS:
            drifted.setdefault((r["example"], r["pass"], r["tool"]), set()).update(r["drift"])
    for (example, pass_, tool), paths in sorted(drifted.items(), key=lambda item: order(item[0])):
        print(f"  ~ {example} ({pass_}) {tool}: success with output drift at {', '.join(sorted(paths))}")
    if others:
        print()
        others.sort(key=lambda r: (r["example"], PASSES.get(r["pass"], 9)))
        label = [" ".join(dict.fromkeys(filter(None, (r["example"], r["pass"], r["transport"])))) for r in others]
        w = max(map(len, label))
        for text, r in zip(label, others):
            print(f"{text:<{w}}  {'ok  ' if r['ok'] else 'FAIL'}  {r['tool']}")
    drift_lines = [r for r in records if r["transport"] == "drift"]
    if drift_lines:
        print("\noutput drift (2xx answers that broke the tool's output schema; allowed, counted):")
        for r in sorted(drift_lines, key=lambda r: (r["example"], PASSES.get(r["pass"], 9))):
            first, *rest = r["detail"].splitlines() or [""]
            print(f"  {r['example']} ({r['pass']}): {first}")
            for line in rest:
                print(f"      {line}")

    failures = [r for r in records if not r["ok"]]
    if failures:
        print("\nfailures (the same failure over several transports is shown once):")
        grouped: dict[tuple[str, str, str, str, str], list[str]] = {}
        for r in failures:
            key = (r["example"], r["pass"], r["tool"], r["detail"], json.dumps(r.get("arguments"), sort_keys=True))
            transports = grouped.setdefault(key, [])
            if r["transport"] not in transports:
                transports.append(r["transport"])
        for (example, pass_, tool, detail, arguments), transports in grouped.items():
            print(f"- {example} ({pass_ or '-'}) {tool} [{', '.join(transports)}]")
            if arguments != "null":
                print(f"    arguments: {arguments}")
            for line in detail.splitlines():
                print(f"    {line}")
    print(f"\ne2e: {len(records) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="check one example")
    r.add_argument("--example", required=True, help="example name (for the report)")
    r.add_argument("--crate", required=True, type=Path, help="generated crate directory (fixtures, src/lib.rs, src/tools)")
    r.add_argument("--bin", required=True, type=Path, help="the built server binary")
    r.add_argument("--annotation", required=True, type=Path, help="the annotation file (mcpgen.yaml)")
    r.add_argument("--spec", required=True, type=Path, help="the spec file Prism mocks")
    r.add_argument("--node", default="node", help="the node command that runs Prism")
    r.add_argument("--prism-modules", required=True, type=Path, help="node_modules holding @stoplight/prism-http")
    r.add_argument("--prism-port", required=True, type=int, help="port Prism listens on at 127.0.0.1")
    r.add_argument("--prism-log", required=True, type=Path, help="Prism's output, scanned for complaints")
    r.add_argument("--prism-mode", choices=("dynamic", "static"), default="dynamic",
                   help="how Prism answers: generated from the schemas (dynamic, every check) or the spec's "
                        "own examples (static: the checks that depend on the answers)")
    r.add_argument("--log-dir", required=True, type=Path, help="where server logs go")
    r.add_argument("--results", required=True, type=Path, help="JSON lines file to append results to")
    c = sub.add_parser("conformance", help="run conformance scenarios against the server over HTTP")
    c.add_argument("--example", required=True)
    c.add_argument("--crate", required=True, type=Path)
    c.add_argument("--bin", required=True, type=Path)
    c.add_argument("--suite", required=True, type=Path, help="directory holding the `conformance` and `node` (>= 22) commands")
    c.add_argument("--log-dir", required=True, type=Path)
    c.add_argument("--results", required=True, type=Path)
    c.add_argument("scenarios", nargs="+")
    m = sub.add_parser("misbehave", help=f"the {MISBEHAVE_EXAMPLE} server against the misbehaving upstream (misbehave.py)")
    m.add_argument("--crate", required=True, type=Path, help=f"generated/{MISBEHAVE_EXAMPLE}")
    m.add_argument("--bin", required=True, type=Path, help="its built server binary")
    m.add_argument("--log-dir", required=True, type=Path)
    m.add_argument("--results", required=True, type=Path)
    s = sub.add_parser("summary", help="print the table of results files")
    s.add_argument("results", nargs="+", type=Path)
    args = parser.parse_args()
    # `run` stops this script with SIGTERM: exit through the context managers, so that the SDK
    # terminates the stdio servers it started (in sessions of their own) and HTTP servers stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "summary":
        return summary(args.results)
    if args.command == "conformance":
        return anyio.run(conformance, args)
    if args.command == "misbehave":
        return anyio.run(misbehave_run, args)
    return anyio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
