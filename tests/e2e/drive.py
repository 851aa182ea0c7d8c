#!/usr/bin/env python3
"""Drive one generated MCP server with the official MCP Python SDK, against a Prism mock upstream.

Started by `tests/e2e/run` (which installs the SDK, builds the servers and starts Prism); not
meant to be run by hand, though it can be: `drive.py --help`.

`drive.py run` takes one example (its built binary, its fixtures, the Prism port and log) and:
  * over stdio (spawned by the SDK, once with protocol negotiation `auto`, once `legacy`):
    lists the tools, compares them with the fixtures, calls every tool with its fixture arguments;
  * over streamable HTTP (the server started here with `--transport http`): the same on one
    connection, then the same from three concurrent clients;
  * reads Prism's log and fails every tool whose request Prism complained about.
A call passes when the SDK raised nothing (it validates `structuredContent` against the tool's
`outputSchema`), the result is not `isError`, and a tool with an `outputSchema` returned
`structuredContent`. One JSON line per check goes to `--results`.

`drive.py summary RESULTS...` prints the table of all examples and exits 1 on any failure.

Prism's mock serves every operation at its own path, ignoring a Swagger 2.0 `basePath` or the
path of an OpenAPI server URL. When the server's default base URL has a path, requests go
through a small in-process proxy that accepts only paths under that base path and strips it, so
the server is still tested with a base URL that has a path, as in production.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
import httpx2
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
import mcp.types as types

CALL_TIMEOUT = 30.0  # seconds for one tools/call or tools/list
PHASE_TIMEOUT = 180.0  # seconds for one whole phase (connect, list, every call)
HEALTH_TIMEOUT = 30.0  # seconds for an HTTP server to answer /healthz
CONCURRENT_CLIENTS = ("auto", "legacy", "auto")  # protocol negotiation mode of each HTTP client


# ---------------------------------------------------------------------------------------------
# Records


class Recorder:
    """Collects one record per check and prints failures as they happen."""

    def __init__(self, example: str) -> None:
        self.example = example
        self.records: list[dict[str, Any]] = []

    def add(self, transport: str, tool: str, ok: bool, detail: str = "", arguments: Any = None) -> None:
        self.records.append(
            {
                "example": self.example,
                "transport": transport,
                "tool": tool,
                "ok": ok,
                "detail": detail,
                "arguments": arguments,
            }
        )
        if not ok:  # the details come in the summary
            first = (detail.splitlines() or [""])[0]
            print(f"  FAIL [{transport}] {tool}: {first[:160]}", flush=True)


# ---------------------------------------------------------------------------------------------
# Fixtures


def load_cases(cases_dir: Path) -> dict[str, dict[str, Any]]:
    cases = {}
    for path in sorted(cases_dir.glob("*.json")):
        case = json.loads(path.read_text())
        cases[case["tool"]] = case
    if not cases:
        raise SystemExit(f"error: no fixtures in {cases_dir}")
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


def check_server_logs(log_dir: Path, example: str, cases: dict[str, dict[str, Any]], rec: Recorder) -> None:
    """The servers' stderr (logs, audit lines) has no panic and shows no secret."""
    problems = []
    names = [f"{example}-{transport}.log" for transport in ("stdio", "stdio-legacy", "http")]
    for path in (log_dir / name for name in names):
        text = path.read_text(errors="replace") if path.is_file() else ""
        if "panicked at" in text:
            line = next(l for l in text.splitlines() if "panicked at" in l)
            problems.append(f"{path} shows a panic: {line.strip()}")
        leaked = [f"{secret[:4]}…" for secret in secrets_of(cases) if secret in text]
        if leaked:
            problems.append(f"{path} shows a secret from the environment: {', '.join(leaked)}")
    rec.add("logs", "(server logs)", not problems, "\n".join(problems) or f"no panic, no secret in {', '.join(names)}")


def server_env(fixture_env: dict[str, str]) -> dict[str, str]:
    """A small, explicit environment: the caller's own settings must not leak into the server."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env["RUST_BACKTRACE"] = "1"
    env.update(fixture_env)
    return env


# ---------------------------------------------------------------------------------------------
# Upstream: Prism, behind a base-path proxy when the server's base URL has a path


class BasePathProxy:
    """ASGI app: forwards `<base><route>` to `<prism><route>`; anything else is a 404 and a failure."""

    def __init__(self, base_path: str, prism_url: str) -> None:
        self.base_path = base_path
        self.prism_url = prism_url
        self.stray: list[str] = []
        self.client = httpx2.AsyncClient(timeout=CALL_TIMEOUT)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method = scope["method"]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if not (path == self.base_path or path.startswith(self.base_path + "/")):
            self.stray.append(f"{method} {path}")
            text = f"e2e proxy: {path} is outside the base path {self.base_path}".encode()
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": text})
            return
        target = self.prism_url + (path[len(self.base_path):] or "/") + (f"?{query}" if query else "")
        drop = {b"host", b"content-length", b"connection", b"transfer-encoding"}
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in drop]
        response = await self.client.request(method, target, headers=headers, content=body)
        drop_out = {"content-length", "transfer-encoding", "connection", "content-encoding"}
        out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.lower() not in drop_out]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": response.content})


@asynccontextmanager
async def upstream(prism_url: str, base_path: str) -> AsyncIterator[tuple[str, BasePathProxy | None]]:
    """Yields the `--upstream-url` to give the server (and the proxy, if one was needed)."""
    if not base_path:
        yield prism_url, None
        return
    proxy = BasePathProxy(base_path, prism_url)
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


def default_base_path(crate_dir: Path) -> str:
    """The path of the server's default upstream base URL, read from its generated `src/lib.rs`."""
    found = re.findall(r'\bbase_url:\s*"([^"]*)"', (crate_dir / "src" / "lib.rs").read_text())
    if len(found) != 1:
        raise SystemExit(f"error: cannot find the default base_url in {crate_dir}/src/lib.rs")
    path = urllib.request.urlparse(found[0]).path.rstrip("/")
    return path


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


def has_success(op: dict[str, Any]) -> bool:
    return any(code.startswith("2") or code.lower() in ("default", "2xx") for code in op["codes"])


def tool_operations(cases: dict[str, dict[str, Any]], ops: Operations) -> dict[str, dict[str, Any] | None]:
    """Each tool's operation, found from the request its fixture expects (default base URL)."""
    return {name: ops.match(case["call"]["request"]["method"], case["call"]["request"]["path"], strip_base=True)
            for name, case in cases.items()}


# ---------------------------------------------------------------------------------------------
# MCP checks


async def accept_elicitation(context: Any, params: Any) -> types.ElicitResult:
    """A tool asked for confirmation: accept, filling booleans with true and the rest with defaults."""
    schema = getattr(params, "requested_schema", None) or {}
    content: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if "default" in prop:
            content[name] = prop["default"]
        elif prop.get("type") == "boolean":
            content[name] = True
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


def expected_error(text: str, op: dict[str, Any] | None) -> str | None:
    """Why an isError result is right: the spec declares no success response for the operation,
    so Prism answers even a valid request with its first declared status (Prism's log is still
    checked for complaints about the request). None when the error is a failure."""
    m = UPSTREAM_STATUS.match(text)
    if m is None or op is None or has_success(op) or m.group(1) not in op["codes"]:
        return None
    return (f"HTTP {m.group(1)} expected: {op['method'].upper()} {op['path']} declares only "
            f"{', '.join(op['codes'])}, so Prism answers a valid request with it")


async def exercise(client: Client, cases: dict[str, dict[str, Any]], rec: Recorder, transport: str,
                   operations: dict[str, dict[str, Any] | None]) -> None:
    """List the tools and call each one with its fixture arguments."""
    tools = await list_all_tools(client)
    listed = {t.name: t for t in tools}
    problems = []
    if len(listed) != len(tools):
        problems.append("duplicate tool names in tools/list")
    if set(listed) != set(cases):
        missing = sorted(set(cases) - set(listed))
        extra = sorted(set(listed) - set(cases))
        problems.append(f"tools/list differs from the fixtures: missing {missing}, unexpected {extra}")
    for name, tool in sorted(listed.items()):
        schema = tool.input_schema
        if not isinstance(schema, dict) or schema.get("type") != "object":
            problems.append(f"{name}: inputSchema is not an object schema: {schema!r}")
    rec.add(transport, "(tools/list)", not problems, "\n".join(problems) or f"{len(listed)} tools")

    for name in sorted(cases):
        arguments = cases[name]["call"]["arguments"]
        if name not in listed:
            rec.add(transport, name, False, "tool not listed", arguments)
            continue
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                result = await client.call_tool(name, arguments)
        except Exception as exc:  # the SDK raises on protocol errors and outputSchema violations
            rec.add(transport, name, False, f"{type(exc).__name__}: {exc}", arguments)
            continue
        text = result_text(result)
        shown = text + json.dumps(result.structured_content)
        leaked = [f"{secret[:4]}…" for secret in secrets_of(cases) if secret in shown]
        if leaked:
            rec.add(transport, name, False, f"the result shows a secret from the environment: {', '.join(leaked)}",
                    arguments)
        elif result.is_error and (why := expected_error(text, operations.get(name))):
            rec.add(transport, name, True, why, arguments)
        elif result.is_error:
            rec.add(transport, name, False, f"isError result: {text}", arguments)
        elif listed[name].output_schema is not None and result.structured_content is None:
            rec.add(transport, name, False, f"outputSchema published but no structuredContent: {text}", arguments)
        else:
            kind = "structured" if result.structured_content is not None else "text"
            rec.add(transport, name, True, kind, arguments)


async def phase_stdio(args: argparse.Namespace, cases: dict, env: dict, upstream_url: str,
                      rec: Recorder, mode: str, transport: str) -> None:
    params = StdioServerParameters(
        command=str(args.bin),
        args=["--transport", "stdio", "--upstream-url", upstream_url],
        env=env,
    )
    log_path = args.log_dir / f"{args.example}-{transport}.log"
    with open(log_path, "w") as errlog:
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with Client(stdio_client(params, errlog=errlog), mode=mode,
                                  read_timeout_seconds=CALL_TIMEOUT,
                                  elicitation_callback=accept_elicitation) as client:
                    await exercise(client, cases, rec, transport, args.operations)
        except Exception as exc:
            rec.add(transport, "(session)", False,
                    f"{type(exc).__name__}: {exc}\nserver log: {log_path}\n{tail(log_path)}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


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


async def phase_http(args: argparse.Namespace, cases: dict, env: dict, upstream_url: str, rec: Recorder) -> None:
    port = free_port()
    log_path = args.log_dir / f"{args.example}-http.log"
    command = [str(args.bin), "--transport", "http", "--listen", f"127.0.0.1:{port}", "--upstream-url", upstream_url]
    with open(log_path, "w") as log:
        # Same process group as this driver: tests/e2e/run kills the group if we die.
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        try:
            await anyio.to_thread.run_sync(wait_healthy, f"http://127.0.0.1:{port}/healthz", process, log_path)
        except RuntimeError as exc:
            rec.add("http", "(server)", False, str(exc))
            return
        url = f"http://127.0.0.1:{port}/mcp"

        # One connection, every call on it.
        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with Client(url, read_timeout_seconds=CALL_TIMEOUT,
                                  elicitation_callback=accept_elicitation) as client:
                    await exercise(client, cases, rec, "http", args.operations)
        except Exception as exc:
            rec.add("http", "(session)", False, f"{type(exc).__name__}: {exc}\n{tail(log_path)}")

        # Concurrent clients, each listing and calling every tool.
        async def one(index: int, mode: str) -> None:
            try:
                async with Client(url, mode=mode, read_timeout_seconds=CALL_TIMEOUT,
                                  elicitation_callback=accept_elicitation) as client:
                    await exercise(client, cases, rec, "http-concurrent", args.operations)
            except Exception as exc:
                rec.add("http-concurrent", f"(client {index}, {mode})", False,
                        f"{type(exc).__name__}: {exc}\n{tail(log_path)}")

        try:
            with anyio.fail_after(PHASE_TIMEOUT):
                async with anyio.create_task_group() as tg:
                    for index, mode in enumerate(CONCURRENT_CLIENTS):
                        tg.start_soon(one, index, mode)
        except TimeoutError:
            rec.add("http-concurrent", "(session)", False, f"timed out after {PHASE_TIMEOUT:.0f}s")
        if process.poll() is not None:
            rec.add("http", "(server)", False, f"server exited with {process.returncode}\n{tail(log_path)}")
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


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
# Commands


async def run(args: argparse.Namespace) -> int:
    cases = load_cases(args.crate / "tests" / "cases")
    env = server_env(merged_env(cases))
    rec = Recorder(args.example)
    if stale := stale_sources(args.crate, args.annotation.parent):
        print(f"  warning: {args.crate.name} was generated from other sources than {args.annotation.parent}: "
              f"{'; '.join(stale)}. Regenerate it; Prism mocks the files as they are now.", flush=True)
    prism_url = f"http://127.0.0.1:{args.prism_port}"
    base_path = default_base_path(args.crate)
    ops = Operations.load(args.node, args.prism_modules, args.spec, base_path)
    args.operations = tool_operations(cases, ops)
    canary(prism_url)
    async with upstream(prism_url, base_path) as (upstream_url, proxy):
        via = f" (base path {base_path} stripped by a proxy; Prism serves operations at /)" if proxy else ""
        print(f"  upstream {upstream_url} -> Prism {prism_url}{via}", flush=True)
        await phase_stdio(args, cases, env, upstream_url, rec, "auto", "stdio")
        await phase_stdio(args, cases, env, upstream_url, rec, "legacy", "stdio-legacy")
        await phase_http(args, cases, env, upstream_url, rec)
        if proxy and proxy.stray:
            rec.add("prism", "(base path)", False,
                    "requests outside the base path:\n" + "\n".join(sorted(set(proxy.stray))))
    check_prism(args.prism_log, cases, ops, args.operations, rec)
    check_server_logs(args.log_dir, args.example, cases, rec)

    finish(rec, args.results)
    failed = sum(1 for r in rec.records if not r["ok"])
    print(f"  {args.example}: {len(rec.records) - failed} checks passed, {failed} failed", flush=True)
    return 0  # failures are in the results; a non-zero exit means this script broke


async def conformance(args: argparse.Namespace) -> int:
    """Runs the conformance suite's scenarios against the server over HTTP, one record per check."""
    cases = load_cases(args.crate / "tests" / "cases")
    env = server_env(merged_env(cases))
    rec = Recorder(args.example)
    port = free_port()
    log_path = args.log_dir / f"{args.example}-conformance-server.log"
    # The generic scenarios call no tool, so the upstream is never reached.
    command = [str(args.bin), "--transport", "http", "--listen", f"127.0.0.1:{port}",
               "--upstream-url", "http://127.0.0.1:9"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", process, log_path)
        except RuntimeError as exc:
            rec.add("conformance", "(server)", False, str(exc))
            return finish(rec, args.results)
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


COLUMNS = ("stdio", "stdio-legacy", "http", "http-concurrent", "prism")
HEADERS = ("stdio", "legacy", "http", "http×3", "prism")


def summary(paths: list[Path]) -> int:
    records = []
    for path in paths:
        if path.exists():
            records += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not records:
        print("e2e: no results")
        return 1

    def cell(oks: list[dict[str, Any]] | None) -> str:
        if not oks:
            return "-"
        if not all(r["ok"] for r in oks):
            return "FAIL"
        return "ok*" if any(r["detail"].startswith("HTTP ") for r in oks) else "ok"

    table: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    others = []
    for r in records:
        if r["transport"] in COLUMNS:
            table.setdefault((r["example"], r["tool"]), {}).setdefault(r["transport"], []).append(r)
        else:
            others.append(r)
    if table:
        w_ex = max(len("example"), *(len(e) for e, _ in table))
        w_tool = max(len("tool"), *(len(t) for _, t in table))
        print(f"{'example':<{w_ex}}  {'tool':<{w_tool}}  " + "  ".join(f"{h:<6}" for h in HEADERS))
        for (example, tool), cells in sorted(table.items()):
            row = [cell(cells.get(column)) for column in COLUMNS]
            print(f"{example:<{w_ex}}  {tool:<{w_tool}}  " + "  ".join(f"{c:<6}" for c in row).rstrip())
    notes = sorted({(r["example"], r["tool"], r["detail"]) for r in records if r["ok"] and r["detail"].startswith("HTTP ")})
    for example, tool, detail in notes:
        print(f"  * {example} {tool}: {detail}")
    if others:
        print()
        w = max(len(f"{r['example']} {r['transport']}") for r in others)
        for r in others:
            print(f"{r['example'] + ' ' + r['transport']:<{w}}  {'ok  ' if r['ok'] else 'FAIL'}  {r['tool']}")

    failures = [r for r in records if not r["ok"]]
    if failures:
        print("\nfailures (the same failure over several transports is shown once):")
        grouped: dict[tuple[str, str, str, str], list[str]] = {}
        for r in failures:
            key = (r["example"], r["tool"], r["detail"], json.dumps(r.get("arguments"), sort_keys=True))
            transports = grouped.setdefault(key, [])
            if r["transport"] not in transports:
                transports.append(r["transport"])
        for (example, tool, detail, arguments), transports in grouped.items():
            print(f"- {example} {tool} [{', '.join(transports)}]")
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
    r.add_argument("--crate", required=True, type=Path, help="generated crate directory (fixtures, src/lib.rs)")
    r.add_argument("--bin", required=True, type=Path, help="the built server binary")
    r.add_argument("--annotation", required=True, type=Path, help="the annotation file (mcpgen.yaml)")
    r.add_argument("--spec", required=True, type=Path, help="the spec file Prism mocks")
    r.add_argument("--node", default="node", help="the node command that runs Prism")
    r.add_argument("--prism-modules", required=True, type=Path, help="node_modules holding @stoplight/prism-http")
    r.add_argument("--prism-port", required=True, type=int, help="port Prism listens on at 127.0.0.1")
    r.add_argument("--prism-log", required=True, type=Path, help="Prism's output, scanned for complaints")
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
    s = sub.add_parser("summary", help="print the table of results files")
    s.add_argument("results", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "summary":
        return summary(args.results)
    if args.command == "conformance":
        return anyio.run(conformance, args)
    return anyio.run(run, args)


if __name__ == "__main__":
    sys.exit(main())
