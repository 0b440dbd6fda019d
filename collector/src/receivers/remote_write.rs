//! Prometheus remote write 1.0: `POST /api/v1/write`, snappy-compressed protobuf.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use taishan_core::{Labels, MetricBatch, Sample, SampleList, SeriesSamples};

use super::remote_write_wire::for_each_series;
use super::{Endpoints, Listener, Receiver, Shared, Summary};
use crate::errors::{ErrorBody, IngestError};
use crate::ingest::{IngestPath, IngestState};
use crate::tenant::tenant_of;

/// The ingest path label of remote writes.
pub const PATH: IngestPath = IngestPath::new("remote_write");

/// The Prometheus remote write 1.0 receiver.
#[derive(Debug, Clone, Copy)]
pub struct RemoteWrite;

impl Receiver for RemoteWrite {
    fn name(&self) -> &'static str {
        PATH.as_str()
    }

    fn summary(&self) -> Summary {
        Summary {
            what: "Prometheus remote write",
            listener: Listener::Api,
            paths: &["/api/v1/write"],
        }
    }

    fn endpoints(&self, shared: &Shared) -> Endpoints {
        let state = &shared.ingest;
        Endpoints::Api(
            Router::new()
                .route("/api/v1/write", post(receive))
                // The limit applies to the decompressed size, checked by `decode`.
                .layer(DefaultBodyLimit::disable())
                .with_state(state.clone()),
        )
    }
}

/// Handles one remote write request.
async fn receive(State(state): State<IngestState>, req: Request) -> Response {
    state
        .handle(PATH, ErrorBody::Text, async {
            let tenant = tenant_of(req.headers())?;
            let limit = state.max_body_bytes;
            let raw = axum::body::to_bytes(req.into_body(), limit)
                .await
                .map_err(|_| IngestError::TooLarge { limit })?;
            let (series, histograms) = decode(&raw, limit)?;
            let outcome = state
                .publish(PATH, MetricBatch::new(tenant, series))
                .await?;
            if histograms > 0 {
                return Err(IngestError::PartlyRefused(format!(
                    "stored {} samples; refused {histograms} native histogram samples: not supported yet",
                    outcome.accepted
                )));
            }
            Ok(outcome)
        })
        .await
}

/// Decodes a compressed write request into series; returns them and the number of native
/// histogram samples (which are not stored).
pub fn decode(raw: &[u8], limit: usize) -> Result<(Vec<SeriesSamples>, usize), IngestError> {
    let len = snap::raw::decompress_len(raw).map_err(|e| {
        IngestError::BadRequest(format!("body is not snappy block-compressed: {e}"))
    })?;
    if len > limit {
        return Err(IngestError::TooLarge { limit });
    }
    let data = snap::raw::Decoder::new().decompress_vec(raw).map_err(|e| {
        IngestError::BadRequest(format!("body is not snappy block-compressed: {e}"))
    })?;
    let mut histograms = 0;
    // A node-exporter series takes about 100 bytes on the wire: size once, not by doubling.
    let mut out = Vec::with_capacity(data.len() / 96 + 1);
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(16);
    let mut index = 0usize;
    for_each_series(&data, |ts| {
        let i = index;
        index += 1;
        histograms += ts.histograms;
        let bad = |what: &str| IngestError::BadRequest(format!("timeseries[{i}]: {what}"));
        pairs.clear();
        for (name, value) in &ts.labels {
            let name =
                simdutf8::basic::from_utf8(name).map_err(|_| bad("label name is not UTF-8"))?;
            let value =
                simdutf8::basic::from_utf8(value).map_err(|_| bad("label value is not UTF-8"))?;
            pairs.push((name, value));
        }
        let labels = Labels::from_strs(&mut pairs).map_err(|e| bad(&e.to_string()))?;
        if ts.samples.is_empty() {
            return Ok(());
        }
        let mut samples: SampleList = ts
            .samples
            .iter()
            .map(|(t, v)| Sample::new(*t, *v))
            .collect();
        if !samples
            .windows(2)
            .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
        {
            samples.sort_by_key(|s| s.timestamp_ms);
        }
        out.push(SeriesSamples { labels, samples });
        Ok(())
    })?;
    Ok((out, histograms))
}

#[cfg(test)]
mod tests {
    use super::super::prompb::{TimeSeries, WriteRequest};
    use super::*;

    fn encode(req: &WriteRequest) -> Vec<u8> {
        req.to_snappy()
    }

    fn ts(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries::new(labels, samples)
    }

    #[test]
    fn decodes_series_and_refuses_bad_ones_with_their_index() {
        let ok = WriteRequest {
            timeseries: vec![ts(
                &[("__name__", "up"), ("job", "a")],
                &[(2, 1.0), (1, 0.0)],
            )],
        };
        let (series, h) = decode(&encode(&ok), 1 << 20).unwrap();
        assert_eq!(h, 0);
        assert_eq!(series[0].samples[0].timestamp_ms, 1);
        let bad = WriteRequest {
            timeseries: vec![
                ts(&[("__name__", "up")], &[(1, 1.0)]),
                ts(&[("job", "a")], &[(1, 1.0)]),
            ],
        };
        let err = decode(&encode(&bad), 1 << 20).unwrap_err().to_string();
        assert_eq!(err, "timeseries[1]: series has no metric name (__name__)");
        assert!(decode(b"not snappy", 1 << 20)
            .unwrap_err()
            .to_string()
            .contains("snappy"));
        assert!(matches!(
            decode(&encode(&ok), 4),
            Err(IngestError::TooLarge { limit: 4 })
        ));
    }
}
