//! The packed chunk: how blocks store samples at rest, smaller than XOR chunks.
//!
//! Most monitoring values are decimals with few digits (`12345.67`, byte counts, load
//! averages). Such a chunk is stored as integers `m` with `value = m / 10^k`, and both the
//! timestamps and the integers are frame-of-reference bit-packed: the minimum once, then
//! every entry's distance to it in just as many bits as the widest needs. Regular scrape
//! intervals and constant values cost zero bits a sample. Values are checked to round-trip
//! bit for bit; a chunk holding any that do not (NaN, staleness markers, results of float
//! arithmetic) is not packed, and the block keeps its XOR encoding instead.
//!
//! Layout: `n` (varint), `t0` (zigzag varint), timestamp deltas as FOR
//! (`min` zigzag varint, `width` u8, `n-1` packed), `k` (u8), value mode (u8: 0 = FOR on the
//! integers, 1 = first integer then FOR on their deltas), then that FOR.

use super::bits::{BitReader, BitWriter};
use crate::codec::{put_varint, unzigzag, zigzag, Reader};

/// Largest decimal scale tried (10^9: nanosecond-ish fractions).
const MAX_SCALE_DIGITS: u8 = 9;
/// Integers beyond ±2^53 are not all exactly representable as f64.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Encodes `samples` (time-ordered) if every value is a short decimal; None otherwise.
pub fn encode(samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    if samples.is_empty() {
        return None;
    }
    let (k, ints) = decimal_integers(samples)?;
    let mut out = Vec::with_capacity(16 + samples.len());
    put_varint(&mut out, samples.len() as u64);
    put_varint(&mut out, zigzag(samples[0].0));
    let deltas: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].0.wrapping_sub(w[0].0))
        .collect();
    put_for(&mut out, &deltas);
    out.push(k);
    let int_deltas: Vec<i64> = ints.windows(2).map(|w| w[1] - w[0]).collect();
    // Counters pack best as deltas, gauges as values: keep the smaller.
    if for_width(&int_deltas) < for_width(&ints) {
        out.push(1);
        put_varint(&mut out, zigzag(ints[0]));
        put_for(&mut out, &int_deltas);
    } else {
        out.push(0);
        put_for(&mut out, &ints);
    }
    Some(out)
}

/// The smallest `k` for which every value is an integer over 10^k, with those integers.
fn decimal_integers(samples: &[(i64, f64)]) -> Option<(u8, Vec<i64>)> {
    'scale: for k in 0..=MAX_SCALE_DIGITS {
        let scale = 10f64.powi(i32::from(k));
        let mut ints = Vec::with_capacity(samples.len());
        for &(_, v) in samples {
            let m = (v * scale).round();
            if !m.is_finite() || m.abs() > MAX_EXACT {
                continue 'scale;
            }
            // Check through the integer, as decoding will (this also refuses -0.0).
            let m = m as i64;
            if (m as f64 / scale).to_bits() != v.to_bits() {
                continue 'scale;
            }
            ints.push(m);
        }
        return Some((k, ints));
    }
    None
}

fn for_width(values: &[i64]) -> u32 {
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return 0;
    };
    let span = (i128::from(*max) - i128::from(*min)) as u128;
    128 - span.leading_zeros()
}

/// Frame of reference: the minimum, a width, then each value's distance to the minimum.
fn put_for(out: &mut Vec<u8>, values: &[i64]) {
    let min = values.iter().copied().min().unwrap_or(0);
    let width = for_width(values);
    put_varint(out, zigzag(min));
    out.push(width as u8);
    let mut bits = BitWriter::with_capacity((values.len() * width as usize).div_ceil(8));
    for v in values {
        bits.write_bits(v.wrapping_sub(min) as u64, width);
    }
    out.extend_from_slice(bits.bytes());
}

/// A packed chunk that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("packed chunk is malformed: {0}")]
pub struct MalformedPacked(&'static str);

/// Decodes a packed chunk.
pub fn decode(data: &[u8]) -> Result<Vec<(i64, f64)>, MalformedPacked> {
    let mut r = Reader::new(data);
    let n = r.varint().map_err(|m| MalformedPacked(m.0))? as usize;
    if n == 0 || n > usize::from(u16::MAX) {
        return Err(MalformedPacked("sample count"));
    }
    let t0 = unzigzag(r.varint().map_err(|m| MalformedPacked(m.0))?);
    let deltas = get_for(&mut r, n - 1)?;
    let k = *r
        .bytes(1)
        .map_err(|m| MalformedPacked(m.0))?
        .first()
        .unwrap_or(&0);
    if k > MAX_SCALE_DIGITS {
        return Err(MalformedPacked("decimal scale"));
    }
    let mode = *r
        .bytes(1)
        .map_err(|m| MalformedPacked(m.0))?
        .first()
        .unwrap_or(&0);
    let ints = match mode {
        0 => get_for(&mut r, n)?,
        1 => {
            let first = unzigzag(r.varint().map_err(|m| MalformedPacked(m.0))?);
            let ds = get_for(&mut r, n - 1)?;
            let mut ints = Vec::with_capacity(n);
            ints.push(first);
            for d in ds {
                let next = ints.last().copied().unwrap_or(0).wrapping_add(d);
                ints.push(next);
            }
            ints
        }
        _ => return Err(MalformedPacked("value mode")),
    };
    let scale = 10f64.powi(i32::from(k));
    let mut t = t0;
    let mut out = Vec::with_capacity(n);
    for (i, m) in ints.into_iter().enumerate() {
        if i > 0 {
            t = t.wrapping_add(deltas[i - 1]);
        }
        out.push((t, m as f64 / scale));
    }
    Ok(out)
}

fn get_for(r: &mut Reader<'_>, count: usize) -> Result<Vec<i64>, MalformedPacked> {
    let min = unzigzag(r.varint().map_err(|m| MalformedPacked(m.0))?);
    let width = u32::from(
        *r.bytes(1)
            .map_err(|m| MalformedPacked(m.0))?
            .first()
            .unwrap_or(&0),
    );
    if width > 64 {
        return Err(MalformedPacked("bit width"));
    }
    let len = (count * width as usize).div_ceil(8);
    let bytes = r.bytes(len).map_err(|m| MalformedPacked(m.0))?;
    let mut bits = BitReader::new(bytes);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let d = bits
            .read_bits(width)
            .map_err(|_| MalformedPacked("packed bits"))?;
        out.push(min.wrapping_add(d as i64));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constants_at_regular_intervals_cost_almost_nothing() {
        let samples: Vec<(i64, f64)> = (0..240)
            .map(|i| (1_700_000_000_000 + i * 15_000, 1e11))
            .collect();
        let enc = encode(&samples).unwrap();
        assert!(enc.len() < 24, "{} bytes", enc.len());
        assert_eq!(decode(&enc).unwrap(), samples);
    }

    #[test]
    fn decimals_pack_and_other_floats_are_left_to_xor() {
        let samples = vec![(1, 12345.67), (2, 12399.01), (3, 12450.5)];
        assert_eq!(decode(&encode(&samples).unwrap()).unwrap(), samples);
        assert!(encode(&[(1, 0.1 + 0.2)]).is_none());
        assert!(encode(&[(1, f64::NAN)]).is_none());
        assert!(encode(&[(1, f64::from_bits(taishan_core::STALE_NAN_BITS))]).is_none());
        assert!(
            encode(&[(1, -0.0)]).is_none(),
            "negative zero must keep its sign bit"
        );
    }

    proptest! {
        #[test]
        fn whatever_packs_reads_back_bit_for_bit(
            start in -1i64 << 50..1i64 << 50,
            steps in proptest::collection::vec((1i64..1_000_000, -1_000_000_000i64..1_000_000_000, 0u32..4), 1..300),
        ) {
            let mut t = start;
            let samples: Vec<(i64, f64)> = steps
                .iter()
                .map(|(d, m, k)| {
                    t += d;
                    (t, *m as f64 / 10f64.powi(*k as i32))
                })
                .collect();
            let enc = encode(&samples).expect("short decimals always pack");
            let dec = decode(&enc).unwrap();
            prop_assert_eq!(dec.len(), samples.len());
            for (a, b) in dec.iter().zip(&samples) {
                prop_assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()));
            }
        }

        #[test]
        fn arbitrary_floats_either_round_trip_or_refuse(values in proptest::collection::vec(any::<f64>(), 1..50)) {
            let samples: Vec<(i64, f64)> = values.iter().enumerate().map(|(i, v)| (i as i64, *v)).collect();
            if let Some(enc) = encode(&samples) {
                let dec = decode(&enc).unwrap();
                for (a, b) in dec.iter().zip(&samples) {
                    prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
                }
            }
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = decode(&data);
        }
    }
}
