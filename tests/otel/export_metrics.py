"""Exports a fixed set of metrics with the official OpenTelemetry Python SDK.

Usage: export_metrics.py PROTOCOL ENDPOINT TENANT TEMPORALITY
  PROTOCOL     http or grpc
  ENDPOINT     http://127.0.0.1:PORT (the OTLP/HTTP base or the OTLP/gRPC address)
  TENANT       sent as X-Scope-OrgID
  TEMPORALITY  cumulative or delta

Records, then exports twice (two collection cycles), so delta temporality has something to sum.
"""

import sys

from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

protocol, endpoint, tenant, temporality = sys.argv[1:5]
# gRPC metadata keys must be lowercase; HTTP does not mind.
headers = {"x-scope-orgid": tenant}
preferred = {}
if temporality == "delta":
    preferred = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}

if protocol == "http":
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(endpoint=endpoint + "/v1/metrics", headers=headers, preferred_temporality=preferred)
else:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, headers=headers, preferred_temporality=preferred)

reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
resource = Resource.create(
    {
        "service.name": "loan-service",
        "service.namespace": "bank",
        "service.instance.id": "loan-1",
        "deployment.environment": "test",
    }
)
provider = MeterProvider(resource=resource, metric_readers=[reader])
meter = provider.get_meter("taishan.test")

granted = meter.create_counter("loans.granted", unit="{loan}", description="Loans granted")
duration = meter.create_histogram("payment.duration", unit="s", description="Payment duration")
in_flight = meter.create_up_down_counter("money.in_flight", unit="By")

granted.add(3, {"product": "cash"})
granted.add(2, {"product": "auto"})
for v in (0.004, 0.02, 0.3, 0.3, 7.0):
    duration.record(v, {"channel": "bank_a"})
in_flight.add(100, {"currency": "CNY"})
if not reader.force_flush(timeout_millis=10_000):
    sys.exit("first export failed")

granted.add(4, {"product": "cash"})
duration.record(0.02, {"channel": "bank_a"})
in_flight.add(-40, {"currency": "CNY"})
if not reader.force_flush(timeout_millis=10_000):
    sys.exit("second export failed")
provider.shutdown()
print("exported")
