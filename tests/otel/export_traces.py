"""A three-service call chain traced with the official OpenTelemetry Python SDK.

Usage: export_traces.py HTTP_BASE GRPC_ENDPOINT TENANT
  gateway (exports over OTLP/HTTP) -> loan (OTLP/gRPC) -> payment (OTLP/HTTP), and payment
  calls a bank channel that is not instrumented (a client span with peer.service).
Prints the trace id (hex).
"""

import logging
import sys

from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

http_base, grpc_endpoint, tenant = sys.argv[1:4]
headers = {"x-scope-orgid": tenant}


def provider(service, exporter):
    p = TracerProvider(resource=Resource.create({"service.name": service, "service.instance.id": service + "-1"}))
    p.add_span_processor(SimpleSpanProcessor(exporter))
    return p


def logger(service, exporter):
    """A Python logger whose records go to Taishan over OTLP, with the active trace context."""
    p = LoggerProvider(resource=Resource.create({"service.name": service}))
    p.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    log = logging.getLogger(service)
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(logger_provider=p))
    return p, log


loan_logs, loan_log = logger("loan", GrpcLogExporter(endpoint=grpc_endpoint, insecure=True, headers=headers))
payment_logs, payment_log = logger("payment", HttpLogExporter(endpoint=http_base + "/v1/logs", headers=headers))

gateway = provider("gateway", HttpExporter(endpoint=http_base + "/v1/traces", headers=headers))
loan = provider("loan", GrpcExporter(endpoint=grpc_endpoint, insecure=True, headers=headers))
payment = provider("payment", HttpExporter(endpoint=http_base + "/v1/traces", headers=headers))

with gateway.get_tracer("gw").start_as_current_span("POST /loans", kind=SpanKind.SERVER, attributes={"http.route": "/loans"}) as root:
    with gateway.get_tracer("gw").start_as_current_span("call loan", kind=SpanKind.CLIENT, attributes={"peer.service": "loan"}):
        ctx = context.get_current()
        with loan.get_tracer("loan").start_as_current_span("grant", kind=SpanKind.SERVER, context=ctx):
            loan_log.info("loan granted", extra={"loan.id": "L-1"})
            with loan.get_tracer("loan").start_as_current_span("call payment", kind=SpanKind.CLIENT):
                ctx = context.get_current()
                with payment.get_tracer("pay").start_as_current_span("disburse", kind=SpanKind.SERVER, context=ctx):
                    with payment.get_tracer("pay").start_as_current_span(
                        "bank transfer", kind=SpanKind.CLIENT, attributes={"peer.service": "bank-a"}
                    ) as bank:
                        bank.set_status(Status(StatusCode.ERROR, "bank timeout"))
                        payment_log.error("bank timeout after 30s")
    trace_id = root.get_span_context().trace_id

for p in (payment, loan, gateway, loan_logs, payment_logs):
    p.force_flush()
    p.shutdown()
print(format(trace_id, "032x"))
