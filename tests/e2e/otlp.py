"""A small OTLP/HTTP trace collector for the end-to-end test, built on the official protobuf
definitions (`opentelemetry-proto` on PyPI).

It accepts `POST /v1/traces` with a JSON body (OTLP/HTTP's JSON encoding), parses it strictly
into `ExportTraceServiceRequest` (an unknown field, a wrong type or a malformed id is refused with
400, and the refusal is recorded), and keeps every span. OTLP's JSON writes trace and span ids in
hex where protobuf's JSON mapping expects base64: they are converted first, and their lengths
(16 and 8 bytes) checked.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ID_FIELDS = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    status_code: int
    service: str


@dataclass
class Collector:
    spans: list[Span] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "Collector":
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/v1/traces" or not self.headers.get("content-type", "").startswith("application/json"):
                    collector.refused.append(f"{self.path} {self.headers.get('content-type')}")
                    self.send_response(415 if self.path == "/v1/traces" else 404)
                    self.end_headers()
                    return
                try:
                    collector.accept(json.loads(body))
                except Exception as exc:  # a malformed export is a finding, not a crash
                    collector.refused.append(f"{type(exc).__name__}: {exc}")
                    self.send_response(400)
                    self.end_headers()
                    return
                reply = b"{}"
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def accept(self, export: dict[str, Any]) -> None:
        request = json_format.Parse(json.dumps(base64_ids(export)), ExportTraceServiceRequest())
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if len(span.trace_id) != 16 or len(span.span_id) != 8 or len(span.parent_span_id) not in (0, 8):
                        raise ValueError(f"span {span.name!r}: ids of the wrong length")
                    if span.end_time_unix_nano < span.start_time_unix_nano:
                        raise ValueError(f"span {span.name!r} ends before it starts")
                    self.spans.append(Span(
                        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(), name=span.name, kind=span.kind,
                        attributes={a.key: json_format.MessageToDict(a.value) for a in span.attributes},
                        status_code=span.status.code, service=service))


def base64_ids(value: Any) -> Any:
    """The export with its hex ids (OTLP/JSON) written in base64 (protobuf's JSON mapping)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ID_FIELDS and isinstance(item, str):
                raw = bytes.fromhex(item)
                if len(raw) != ID_FIELDS[key]:
                    raise ValueError(f"{key} {item!r} is not {ID_FIELDS[key]} bytes of hex")
                out[key] = base64.b64encode(raw).decode()
            else:
                out[key] = base64_ids(item)
        return out
    if isinstance(value, list):
        return [base64_ids(item) for item in value]
    return value
