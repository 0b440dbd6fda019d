//! Compressed chunks of samples: the unit the head closes and blocks persist.

pub mod bits;
pub mod packed;
pub mod xor;

use std::sync::Arc;

pub use xor::{CorruptChunk, XorAppender, XorIter};

/// Samples per chunk before the head closes it (Prometheus uses the same figure: about
/// 30 minutes of 15-second scrapes, a good balance of compression and read granularity).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// A closed, immutable chunk and the range it covers.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// First sample's timestamp.
    pub min_t: i64,
    /// Last sample's timestamp.
    pub max_t: i64,
    /// Number of samples.
    pub count: u16,
    /// How `data` is encoded.
    pub encoding: ChunkEncoding,
    /// The encoded samples.
    pub data: Arc<[u8]>,
}

impl Chunk {
    /// Closes an appender into a chunk (None when it holds no sample). The samples are
    /// repacked when that is smaller: closed chunks are most of the head's memory, and a
    /// chunk closes once per 120 samples, so the extra work is small.
    pub fn from_appender(min_t: i64, appender: XorAppender) -> Option<Self> {
        if appender.count() == 0 {
            return None;
        }
        let count = appender.count();
        let max_t = appender.last_timestamp();
        let samples: Option<Vec<(i64, f64)>> = XorIter::new(appender.bytes(), count)
            .map(Result::ok)
            .collect();
        let packed = samples.as_deref().and_then(packed::encode);
        let (encoding, data) = match packed {
            Some(p) if p.len() < appender.bytes().len() => (ChunkEncoding::Packed, p),
            _ => (ChunkEncoding::Xor, appender.finish()),
        };
        Some(Self {
            min_t,
            max_t,
            count,
            encoding,
            data: Arc::from(data),
        })
    }

    /// Decodes the samples.
    pub fn samples(&self) -> Result<Vec<(i64, f64)>, DecodeError> {
        decode(self.encoding, &self.data, self.count)
    }
}

/// How a persisted chunk's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkEncoding {
    /// [`xor`]: any float, bit for bit.
    Xor = 0,
    /// [`packed`]: short decimals, frame-of-reference bit-packed.
    Packed = 1,
}

impl ChunkEncoding {
    /// From the byte stored in a block index.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(ChunkEncoding::Xor),
            1 => Some(ChunkEncoding::Packed),
            _ => None,
        }
    }
}

/// Samples per chunk in blocks: larger than in the head, since blocks are read whole.
pub const SAMPLES_PER_BLOCK_CHUNK: usize = 240;

/// One chunk ready to persist.
#[derive(Debug, Clone)]
pub struct EncodedChunk {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    /// Samples.
    pub count: u16,
    /// Encoding of `data`.
    pub encoding: ChunkEncoding,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Encodes a series' time-ordered samples for a block: packed where every value of a chunk
/// is a short decimal, XOR otherwise.
pub fn encode_for_block(samples: &[(i64, f64)]) -> Vec<EncodedChunk> {
    samples
        .chunks(SAMPLES_PER_BLOCK_CHUNK)
        .map(|part| {
            let (min_t, max_t) = (part[0].0, part[part.len() - 1].0);
            let count = part.len() as u16;
            match packed::encode(part) {
                Some(data) => EncodedChunk {
                    min_t,
                    max_t,
                    count,
                    encoding: ChunkEncoding::Packed,
                    data,
                },
                None => {
                    let mut app = XorAppender::default();
                    for (t, v) in part {
                        app.append(*t, *v);
                    }
                    EncodedChunk {
                        min_t,
                        max_t,
                        count,
                        encoding: ChunkEncoding::Xor,
                        data: app.finish(),
                    }
                }
            }
        })
        .collect()
}

/// A persisted chunk that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// XOR data ended early.
    #[error(transparent)]
    Xor(#[from] CorruptChunk),
    /// Packed data malformed.
    #[error(transparent)]
    Packed(#[from] packed::MalformedPacked),
}

/// Decodes a persisted chunk of `count` samples.
pub fn decode(
    encoding: ChunkEncoding,
    data: &[u8],
    count: u16,
) -> Result<Vec<(i64, f64)>, DecodeError> {
    match encoding {
        ChunkEncoding::Xor => Ok(XorIter::new(data, count).collect::<Result<Vec<_>, _>>()?),
        ChunkEncoding::Packed => Ok(packed::decode(data)?),
    }
}

/// Appends the samples of an encoded chunk within `[min_t, max_t]` to `out`. XOR chunks are
/// read in order, so decoding stops at the first sample past `max_t`: a rule or dashboard
/// reading the last minutes of a chunk does not pay for the rest of it.
pub fn decode_in_range(
    encoding: ChunkEncoding,
    data: &[u8],
    count: u16,
    min_t: i64,
    max_t: i64,
    out: &mut Vec<taishan_core::Sample>,
) -> Result<(), DecodeError> {
    match encoding {
        ChunkEncoding::Xor => {
            for sample in XorIter::new(data, count) {
                let (t, v) = sample?;
                if t > max_t {
                    break;
                }
                if t >= min_t {
                    out.push(taishan_core::Sample::new(t, v));
                }
            }
        }
        ChunkEncoding::Packed => extend_in_range(&packed::decode(data)?, min_t, max_t, out),
    }
    Ok(())
}

/// Appends the decoded samples within `[min_t, max_t]` (time-ordered input) to `out`.
pub fn extend_in_range(
    samples: &[(i64, f64)],
    min_t: i64,
    max_t: i64,
    out: &mut Vec<taishan_core::Sample>,
) {
    // A slice, not a filter: the length is known, so the copy is one tight loop.
    let lo = samples.partition_point(|(t, _)| *t < min_t);
    let hi = samples.partition_point(|(t, _)| *t <= max_t);
    if lo < hi {
        out.extend(
            samples[lo..hi]
                .iter()
                .map(|&(t, v)| taishan_core::Sample::new(t, v)),
        );
    }
}
