//! Write-ahead log records and their framing.
//!
//! Frame: `type: u8 | length: u32 LE | crc32: u32 LE | payload`. The checksum covers the
//! payload, so a torn or bit-flipped tail is detected on replay.
//! Payloads use LEB128 varints; strings are a varint length and UTF-8 bytes.

use taishan_core::{Label, Labels, TenantId};

use crate::codec::{put_str, put_varint, unzigzag, zigzag, Malformed, Reader};

/// Header bytes before each payload.
pub const FRAME_HEADER: usize = 9;

const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;

/// A series created in the head: later sample records refer to it by id.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRecord {
    /// Head id.
    pub id: u32,
    /// Owner.
    pub tenant: TenantId,
    /// Identity.
    pub labels: Labels,
}

/// One sample of a series known by id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRecord {
    /// Head id of the series.
    pub id: u32,
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<SeriesRecord>),
    /// Samples.
    Samples(Vec<SampleRecord>),
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The data ends inside a frame (a torn write).
    #[error("log ends inside a record (torn write)")]
    Truncated,
    /// The checksum does not match (corruption).
    #[error("record checksum mismatch")]
    Checksum,
    /// The payload does not decode.
    #[error("record payload is malformed: {0}")]
    Malformed(&'static str),
}

impl From<Malformed> for FrameError {
    fn from(m: Malformed) -> Self {
        FrameError::Malformed(m.0)
    }
}

/// Appends a frame holding `payload` of `kind` to `out`.
fn frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends a series record frame.
pub fn encode_series(out: &mut Vec<u8>, series: &[SeriesRecord]) {
    let mut p = Vec::with_capacity(series.len() * 64);
    put_varint(&mut p, series.len() as u64);
    for s in series {
        put_varint(&mut p, u64::from(s.id));
        put_str(&mut p, s.tenant.as_str());
        put_varint(&mut p, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_str(&mut p, l.name);
            put_str(&mut p, l.value);
        }
    }
    frame(out, TYPE_SERIES, &p);
}

/// Appends a samples record frame.
pub fn encode_samples(out: &mut Vec<u8>, samples: &[SampleRecord]) {
    let mut p = Vec::with_capacity(samples.len() * 14);
    put_varint(&mut p, samples.len() as u64);
    let mut prev_t = 0i64;
    for s in samples {
        put_varint(&mut p, u64::from(s.id));
        put_varint(&mut p, zigzag(s.t.wrapping_sub(prev_t)));
        p.extend_from_slice(&s.v.to_bits().to_le_bytes());
        prev_t = s.t;
    }
    frame(out, TYPE_SAMPLES, &p);
}

/// Reads the frame at the start of `data`; returns the record and the bytes consumed.
pub fn decode_frame(data: &[u8]) -> Result<(Record, usize), FrameError> {
    if data.len() < FRAME_HEADER {
        return Err(FrameError::Truncated);
    }
    let kind = data[0];
    let len = u32::from_le_bytes([data[1], data[2], data[3], data[4]]) as usize;
    let crc = u32::from_le_bytes([data[5], data[6], data[7], data[8]]);
    let end = FRAME_HEADER
        .checked_add(len)
        .ok_or(FrameError::Malformed("length overflows"))?;
    if data.len() < end {
        return Err(FrameError::Truncated);
    }
    let payload = &data[FRAME_HEADER..end];
    if crc32fast::hash(payload) != crc {
        return Err(FrameError::Checksum);
    }
    let mut r = Reader::new(payload);
    let record = match kind {
        TYPE_SERIES => Record::Series(decode_series(&mut r)?),
        TYPE_SAMPLES => Record::Samples(decode_samples(&mut r)?),
        _ => return Err(FrameError::Malformed("unknown record type")),
    };
    Ok((record, end))
}

fn decode_series(r: &mut Reader<'_>) -> Result<Vec<SeriesRecord>, FrameError> {
    let n = r.varint()? as usize;
    let mut out = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        let id = u32::try_from(r.varint()?).map_err(|_| FrameError::Malformed("series id"))?;
        let tenant = TenantId::new(r.str()?).map_err(|_| FrameError::Malformed("tenant id"))?;
        let nl = r.varint()? as usize;
        let mut labels = Vec::with_capacity(nl.min(256));
        for _ in 0..nl {
            let name = r.str()?.to_string();
            let value = r.str()?.to_string();
            labels.push(Label { name, value });
        }
        let labels = Labels::new(labels).map_err(|_| FrameError::Malformed("label set"))?;
        out.push(SeriesRecord { id, tenant, labels });
    }
    Ok(out)
}

fn decode_samples(r: &mut Reader<'_>) -> Result<Vec<SampleRecord>, FrameError> {
    let n = r.varint()? as usize;
    let mut out = Vec::with_capacity(n.min(1 << 20));
    let mut t = 0i64;
    for _ in 0..n {
        let id = u32::try_from(r.varint()?).map_err(|_| FrameError::Malformed("series id"))?;
        t = t.wrapping_add(unzigzag(r.varint()?));
        let v = f64::from_bits(r.u64_le()?);
        out.push(SampleRecord { id, t, v });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_and_damage_is_detected() {
        let series = vec![SeriesRecord {
            id: 7,
            tenant: TenantId::new("bank-a").unwrap(),
            labels: Labels::from_pairs([("__name__", "up"), ("job", "api")]).unwrap(),
        }];
        let samples = vec![
            SampleRecord {
                id: 7,
                t: 1_700_000_000_000,
                v: 1.0,
            },
            SampleRecord {
                id: 7,
                t: 1_699_999_999_000,
                v: f64::NAN,
            },
        ];
        let mut buf = Vec::new();
        encode_series(&mut buf, &series);
        encode_samples(&mut buf, &samples);
        let (r1, n1) = decode_frame(&buf).unwrap();
        assert_eq!(r1, Record::Series(series));
        let (r2, n2) = decode_frame(&buf[n1..]).unwrap();
        match r2 {
            Record::Samples(s) => {
                assert_eq!(s[0], samples[0]);
                assert_eq!(s[1].t, samples[1].t);
                assert!(s[1].v.is_nan());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(n1 + n2, buf.len());
        assert_eq!(
            decode_frame(&buf[n1..buf.len() - 1]).unwrap_err(),
            FrameError::Truncated
        );
        let mut flipped = buf.clone();
        flipped[n1 + FRAME_HEADER + 3] ^= 0x40;
        assert_eq!(
            decode_frame(&flipped[n1..]).unwrap_err(),
            FrameError::Checksum
        );
    }

    proptest! {
        #[test]
        fn sample_records_round_trip(samples in proptest::collection::vec((any::<u32>(), any::<i64>(), any::<f64>()), 0..100)) {
            let recs: Vec<SampleRecord> = samples.iter().map(|(id, t, v)| SampleRecord { id: *id, t: *t, v: *v }).collect();
            let mut buf = Vec::new();
            encode_samples(&mut buf, &recs);
            let (r, n) = decode_frame(&buf).unwrap();
            prop_assert_eq!(n, buf.len());
            let Record::Samples(got) = r else { panic!("wrong record type") };
            prop_assert_eq!(got.len(), recs.len());
            for (a, b) in got.iter().zip(&recs) {
                prop_assert_eq!((a.id, a.t, a.v.to_bits()), (b.id, b.t, b.v.to_bits()));
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_frame(&data);
        }
    }
}
