//! The remote write 1.0 protobuf messages (`prometheus/prompb/types.proto`, `remote.proto`),
//! only the fields Taishan reads, as prost types: senders (tests, benchmarks) encode with
//! them, and they are the reference the receiver's borrowing decoder
//! ([`super::remote_write_wire`]) is tested against.

/// A write request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series and their samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// One series.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, `__name__` included.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples (counted and refused; not stored yet).
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// A label.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

impl Label {
    /// A label from text.
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
        }
    }
}

/// A float sample.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A native histogram sample; only its timestamp is read.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

impl TimeSeries {
    /// A series from label pairs and `(timestamp ms, value)` samples.
    pub fn new(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Self {
        Self {
            labels: labels.iter().map(|(n, v)| Label::new(n, v)).collect(),
            samples: samples
                .iter()
                .map(|(t, v)| Sample {
                    timestamp: *t,
                    value: *v,
                })
                .collect(),
            histograms: Vec::new(),
        }
    }
}

impl WriteRequest {
    /// The request as a remote-write body: protobuf, snappy block-compressed.
    pub fn to_snappy(&self) -> Vec<u8> {
        use prost::Message;
        snap::raw::Encoder::new()
            .compress_vec(&self.encode_to_vec())
            .unwrap_or_default()
    }
}
