"""One trace exported with the official OpenTelemetry Python SDK over TLS, with a credential.

Usage: export_secured.py HTTPS_BASE GRPC_HOST_PORT CA_FILE AUTHORIZATION
  "checkout" exports its server span over OTLP/HTTP and "ledger" its child span over
  OTLP/gRPC, both trusting only CA_FILE and sending AUTHORIZATION (e.g. "Bearer ...").
Prints the trace id (hex), or fails if either export is refused.
"""

import sys

import grpc
from opentelemetry import context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind

https_base, grpc_target, ca_file, authorization = sys.argv[1:5]
headers = {"authorization": authorization}


class Checked(SpanProcessor):
    """Exports through `exporter` and remembers whether every export succeeded."""

    def __init__(self, exporter):
        self.exporter, self.ok = exporter, True

    def on_end(self, span):
        self.ok = self.exporter.export([span]) == SpanExportResult.SUCCESS and self.ok

    def shutdown(self):
        self.exporter.shutdown()

    def force_flush(self, timeout_millis=30000):
        return True


with open(ca_file, "rb") as f:
    ca = f.read()
http = Checked(HttpExporter(endpoint=https_base + "/v1/traces", certificate_file=ca_file, headers=headers))
grpc_exporter = Checked(
    GrpcExporter(endpoint=grpc_target, credentials=grpc.ssl_channel_credentials(root_certificates=ca), headers=headers)
)


def provider(service, processor):
    p = TracerProvider(resource=Resource.create({"service.name": service}))
    p.add_span_processor(processor)
    return p


checkout = provider("checkout", http)
ledger = provider("ledger", grpc_exporter)
with checkout.get_tracer("t").start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
    with ledger.get_tracer("t").start_as_current_span("post entries", kind=SpanKind.SERVER, context=context.get_current()):
        pass
    trace_id = root.get_span_context().trace_id
for p in (ledger, checkout):
    p.shutdown()
if not (http.ok and grpc_exporter.ok):
    sys.exit(f"export refused: http ok={http.ok}, grpc ok={grpc_exporter.ok}")
print(format(trace_id, "032x"))
