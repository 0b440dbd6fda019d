"""One span exported with the official OpenTelemetry Python SDK as a given credential,
its resource naming a tenant in the `tenant.id` attribute.

Usage: export_as.py http|grpc ENDPOINT AUTHORIZATION TENANT SERVICE
Exits 0 when the receiver took the span, 3 when it refused it.
"""

import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult, SimpleSpanProcessor

protocol, endpoint, authorization, tenant, service = sys.argv[1:6]
headers = {"authorization": authorization}
if protocol == "http":
    exporter = HttpExporter(endpoint=endpoint + "/v1/traces", headers=headers)
else:
    exporter = GrpcExporter(endpoint=endpoint, insecure=True, headers=headers)


class Remembering(SpanExporter):
    """Passes spans on and remembers whether the receiver took them all."""

    def __init__(self, inner):
        self.inner, self.ok = inner, True

    def export(self, spans):
        result = self.inner.export(spans)
        self.ok = self.ok and result == SpanExportResult.SUCCESS
        return result

    def shutdown(self):
        self.inner.shutdown()


remembering = Remembering(exporter)
provider = TracerProvider(resource=Resource.create({"service.name": service, "tenant.id": tenant}))
provider.add_span_processor(SimpleSpanProcessor(remembering))
with provider.get_tracer("t").start_as_current_span("transfer"):
    pass
provider.shutdown()
sys.exit(0 if remembering.ok else 3)
