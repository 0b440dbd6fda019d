//! The block index file: symbols, then per tenant its series with their chunk references.
//!
//! `TSIX | version u8 | symbols | tenants | crc32` — varints throughout, label strings by
//! symbol number, the whole file checked by the trailing CRC-32.

use std::collections::HashMap;

use crate::chunk::ChunkEncoding;
use crate::codec::{put_str, put_varint, unzigzag, zigzag, Malformed, Reader};
use crate::interned::{LabelPair, SeriesLabels, Sym};

const MAGIC: &[u8; 4] = b"TSIX";
const VERSION: u8 = 2;

/// Where a chunk lies in the block's `chunks` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkRef {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    /// Samples.
    pub count: u16,
    /// Byte offset.
    pub offset: u64,
    /// Byte length.
    pub len: u32,
    /// How the bytes are encoded.
    pub encoding: ChunkEncoding,
}

/// One series of a block.
#[derive(Debug, Clone)]
pub struct IndexedSeries {
    /// Identity.
    pub labels: SeriesLabels,
    /// Its chunks in time order.
    pub chunks: Vec<ChunkRef>,
}

/// A decoded index: tenant to series, in label order.
pub type BlockIndex = HashMap<String, Vec<IndexedSeries>>;

/// Encodes an index; `tenants` in any order, series sorted by labels.
pub fn encode(tenants: &[(String, Vec<IndexedSeries>)]) -> Vec<u8> {
    let mut symbols: HashMap<&str, u64> = HashMap::new();
    let mut table: Vec<&str> = Vec::new();
    for (_, series) in tenants {
        for s in series {
            for p in s.labels.iter() {
                for text in [p.name.as_ref(), p.value.as_ref()] {
                    symbols.entry(text).or_insert_with(|| {
                        table.push(text);
                        (table.len() - 1) as u64
                    });
                }
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    put_varint(&mut out, table.len() as u64);
    for s in &table {
        put_str(&mut out, s);
    }
    put_varint(&mut out, tenants.len() as u64);
    for (tenant, series) in tenants {
        put_str(&mut out, tenant);
        put_varint(&mut out, series.len() as u64);
        for s in series {
            put_varint(&mut out, s.labels.len() as u64);
            for p in s.labels.iter() {
                put_varint(&mut out, symbols[p.name.as_ref()]);
                put_varint(&mut out, symbols[p.value.as_ref()]);
            }
            put_varint(&mut out, s.chunks.len() as u64);
            for c in &s.chunks {
                put_varint(&mut out, zigzag(c.min_t));
                put_varint(&mut out, c.max_t.wrapping_sub(c.min_t) as u64);
                put_varint(&mut out, u64::from(c.count));
                put_varint(&mut out, c.offset);
                put_varint(&mut out, u64::from(c.len));
                out.push(c.encoding as u8);
            }
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and checks an index.
pub fn decode(data: &[u8]) -> Result<BlockIndex, Malformed> {
    if data.len() < MAGIC.len() + 1 + 4 {
        return Err(Malformed("index file is too short"));
    }
    let (body, crc) = data.split_at(data.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return Err(Malformed("index checksum mismatch"));
    }
    if &body[..4] != MAGIC {
        return Err(Malformed("not a Taishan block index"));
    }
    if body[4] != VERSION {
        return Err(Malformed(
            "unsupported block index version (this build reads version 2)",
        ));
    }
    let mut r = Reader::new(&body[5..]);
    let n_symbols = r.varint()? as usize;
    let mut symbols: Vec<Sym> = Vec::with_capacity(n_symbols.min(1 << 20));
    for _ in 0..n_symbols {
        symbols.push(Sym::new(r.str()?));
    }
    let symbol = |i: u64| -> Result<Sym, Malformed> {
        symbols
            .get(i as usize)
            .cloned()
            .ok_or(Malformed("symbol number out of range"))
    };
    let n_tenants = r.varint()? as usize;
    let mut index = BlockIndex::new();
    for _ in 0..n_tenants {
        let tenant = r.str()?.to_string();
        let n_series = r.varint()? as usize;
        let mut series = Vec::with_capacity(n_series.min(1 << 20));
        for _ in 0..n_series {
            let nl = r.varint()? as usize;
            let mut labels = Vec::with_capacity(nl.min(256));
            for _ in 0..nl {
                let name = symbol(r.varint()?)?;
                let value = symbol(r.varint()?)?;
                labels.push(LabelPair { name, value });
            }
            let nc = r.varint()? as usize;
            let mut chunks = Vec::with_capacity(nc.min(1 << 16));
            for _ in 0..nc {
                let min_t = unzigzag(r.varint()?);
                let max_t = min_t.wrapping_add(r.varint()? as i64);
                let count =
                    u16::try_from(r.varint()?).map_err(|_| Malformed("chunk sample count"))?;
                let offset = r.varint()?;
                let len = u32::try_from(r.varint()?).map_err(|_| Malformed("chunk length"))?;
                let encoding = ChunkEncoding::from_u8(r.bytes(1)?[0])
                    .ok_or(Malformed("unknown chunk encoding"))?;
                chunks.push(ChunkRef {
                    min_t,
                    max_t,
                    count,
                    offset,
                    len,
                    encoding,
                });
            }
            series.push(IndexedSeries {
                labels: labels.into(),
                chunks,
            });
        }
        index.insert(tenant, series);
    }
    if !r.is_empty() {
        return Err(Malformed("trailing bytes after the index"));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_and_detects_damage() {
        let labels: SeriesLabels = vec![
            LabelPair {
                name: "__name__".into(),
                value: "up".into(),
            },
            LabelPair {
                name: "job".into(),
                value: "api".into(),
            },
        ]
        .into();
        let series = vec![IndexedSeries {
            labels,
            chunks: vec![ChunkRef {
                min_t: -5,
                max_t: 100,
                count: 3,
                offset: 0,
                len: 40,
                encoding: ChunkEncoding::Packed,
            }],
        }];
        let data = encode(&[("bank-a".to_string(), series)]);
        let index = decode(&data).unwrap();
        let got = &index["bank-a"][0];
        assert_eq!(&*got.labels[1].value, "api");
        assert_eq!(
            got.chunks[0],
            ChunkRef {
                min_t: -5,
                max_t: 100,
                count: 3,
                offset: 0,
                len: 40,
                encoding: ChunkEncoding::Packed
            }
        );
        let mut bad = data.clone();
        bad[8] ^= 1;
        assert_eq!(
            decode(&bad).unwrap_err(),
            Malformed("index checksum mismatch")
        );
    }
}
