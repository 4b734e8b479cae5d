//! The graph as plain arrays ([`HnswParts`]) and the validation that turns
//! arrays read from a file back into a graph.

use super::{Hnsw, EXPANDED, MAX_LEVEL};
use crate::vector::Slab;

/// The graph as plain arrays, for writing each one as a raw little-endian
/// section and reopening it zero-copy from a memory map.
///
/// * `layer0`: `n * (1 + 2m)` u32; record `i` is `[count, ids[0..count], 0...]`.
/// * `upper_offsets`: `max_level + 1` u32; the nodes of level `l` (1-based)
///   are `upper_ids[upper_offsets[l - 1]..upper_offsets[l]]`, `upper_offsets[0] == 0`.
/// * `upper_ids`: per level, strictly increasing node ids, levels concatenated
///   from level 1 up; every node on level `l` is also on level `l - 1`.
/// * `upper_links`: `upper_ids.len() * (1 + m)` u32; one record per entry of
///   `upper_ids`, same layout as layer 0 with capacity `m`; neighbours on
///   level `l` are themselves on level `l`.
/// * `entry_point` is on level `max_level`; `u32::MAX` when `n == 0`.
/// * `seed` is kept so incremental inserts draw levels the same way.
#[derive(Clone, Debug)]
pub struct HnswParts {
    pub n: u32,
    pub m: u32,
    pub max_level: u32,
    pub entry_point: u32,
    pub seed: u64,
    pub layer0: Slab<u32>,
    pub upper_offsets: Slab<u32>,
    pub upper_ids: Slab<u32>,
    pub upper_links: Slab<u32>,
}

/// Why parts could not be turned into a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HnswError {
    #[error("corrupt HNSW index: {0}")]
    Corrupt(String),
}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, HnswError> {
    Err(HnswError::Corrupt(msg.into()))
}

/// A record `[count, ids..]` holds at most `cap` ids, all below `n`.
fn check_record(rec: &[u32], cap: usize, n: usize) -> Result<(), HnswError> {
    let count = rec[0] as usize;
    if count > cap {
        return corrupt(format!("neighbour count {count} exceeds {cap}"));
    }
    if rec[1..1 + count].iter().any(|&id| id as usize >= n) {
        return corrupt("neighbour id out of range");
    }
    Ok(())
}

/// Every layer-0 record of a graph of `n` nodes.
pub(super) fn check_layer0(layer0: &[u32], m: usize, n: usize) -> Result<(), HnswError> {
    for rec in layer0.chunks_exact(1 + 2 * m) {
        check_record(rec, 2 * m, n)?;
    }
    Ok(())
}

/// Header fields and layer 0 (its records too, with `records`).
fn check_base(p: &HnswParts, records: bool) -> Result<(), HnswError> {
    let n = p.n as usize;
    let m = p.m as usize;
    if p.n >= EXPANDED {
        return corrupt("too many nodes");
    }
    if !(2..=1 << 16).contains(&m) {
        return corrupt(format!("m = {m} out of range"));
    }
    if p.max_level as usize > MAX_LEVEL {
        return corrupt("max_level too large");
    }
    let stride0 = 1 + 2 * m;
    if Some(p.layer0.len()) != n.checked_mul(stride0) {
        return corrupt("layer 0 size does not match n and m");
    }
    if records {
        check_layer0(&p.layer0, m, n)?;
    }
    if n == 0 {
        if p.max_level != 0 || !p.upper_ids.is_empty() || !p.upper_links.is_empty() {
            return corrupt("empty graph with upper layers");
        }
        if p.upper_offsets.as_slice() != [0] {
            return corrupt("bad upper offsets");
        }
    } else if p.entry_point as usize >= n {
        return corrupt("entry point out of range");
    }
    Ok(())
}

/// Upper layers: offsets, sorted nested id sets, records, entry point.
/// With `lazy`, a link's target is not looked up on its level (a binary
/// search per link, most of the open of a large graph): such a link is
/// harmless, as a node missing from a level reads as having no links there.
fn check_upper(p: &HnswParts, lazy: bool) -> Result<(), HnswError> {
    let (n, m, max_level) = (p.n as usize, p.m as usize, p.max_level as usize);
    let offs = p.upper_offsets.as_slice();
    if offs.len() != max_level + 1 || offs[0] != 0 {
        return corrupt("bad upper offsets length");
    }
    if offs.windows(2).any(|w| w[0] > w[1]) || offs[max_level] as usize != p.upper_ids.len() {
        return corrupt("upper offsets not increasing or not covering ids");
    }
    let stride = 1 + m;
    if Some(p.upper_links.len()) != p.upper_ids.len().checked_mul(stride) {
        return corrupt("upper links size does not match ids");
    }
    for level in 1..=max_level {
        let (a, b) = (offs[level - 1] as usize, offs[level] as usize);
        let ids = &p.upper_ids[a..b];
        if ids.is_empty() {
            return corrupt(format!("level {level} is empty"));
        }
        if ids.windows(2).any(|w| w[0] >= w[1]) || ids[ids.len() - 1] as usize >= n {
            return corrupt(format!("level {level} ids not sorted or out of range"));
        }
        // Greedy descent steps from a node on level l to the same node on
        // level l - 1, so each level must be a subset of the one below.
        if level > 1 {
            let below = &p.upper_ids[offs[level - 2] as usize..a];
            if ids.iter().any(|id| below.binary_search(id).is_err()) {
                return corrupt(format!("level {level} not a subset of level {}", level - 1));
            }
        }
        for rec in p.upper_links[a * stride..b * stride].chunks_exact(stride) {
            check_record(rec, m, n)?;
            if !lazy
                && rec[1..1 + rec[0] as usize]
                    .iter()
                    .any(|id| ids.binary_search(id).is_err())
            {
                return corrupt(format!("level {level} links to a node not on it"));
            }
        }
    }
    if max_level > 0 {
        let top = &p.upper_ids[offs[max_level - 1] as usize..];
        if top.binary_search(&p.entry_point).is_err() {
            return corrupt("entry point not on the top level");
        }
    }
    Ok(())
}

impl Hnsw {
    /// The arrays behind the graph; cheap (slabs are shared, not copied).
    pub fn to_parts(&self) -> HnswParts {
        HnswParts {
            n: self.n as u32,
            m: self.m as u32,
            max_level: self.max_level as u32,
            entry_point: if self.n == 0 { u32::MAX } else { self.entry },
            seed: self.seed,
            layer0: self.layer0.clone(),
            upper_offsets: self.upper_offsets.clone(),
            upper_ids: self.upper_ids.clone(),
            upper_links: self.upper_links.clone(),
        }
    }

    /// Checks every invariant search relies on, so a corrupt or truncated
    /// file yields an error here rather than a panic or a hang later. In
    /// particular every neighbour id is below `n`, which the unchecked reads
    /// of the walk depend on.
    pub fn from_parts(p: HnswParts) -> Result<Hnsw, HnswError> {
        Hnsw::from_checked_parts(p, false)
    }

    /// [`from_parts`](Self::from_parts) without reading layer 0's records
    /// (`2m + 1` words a node: 196 MB for 1.5M nodes at m = 16, most of the
    /// time a search command took to open such a graph). The walk checks
    /// each record it reads instead, and the caller must verify the block
    /// checksums of the records a walk read ([`Hnsw::check_links`]) before
    /// trusting its answer. Extending such a graph validates it first.
    pub fn from_parts_lazy(p: HnswParts) -> Result<Hnsw, HnswError> {
        Hnsw::from_checked_parts(p, true)
    }

    fn from_checked_parts(p: HnswParts, lazy: bool) -> Result<Hnsw, HnswError> {
        check_base(&p, !lazy)?;
        check_upper(&p, lazy)?;
        let n = p.n as usize;
        Ok(Hnsw {
            n,
            m: p.m as usize,
            max_level: p.max_level as usize,
            entry: if n == 0 { u32::MAX } else { p.entry_point },
            seed: p.seed,
            layer0: p.layer0,
            upper_offsets: p.upper_offsets,
            upper_ids: p.upper_ids,
            upper_links: p.upper_links,
            lazy_layer0: lazy,
        })
    }
}
