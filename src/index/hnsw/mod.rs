//! HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest
//! neighbor search using Hierarchical Navigable Small World graphs", 2016)
//! over unit vectors scored by inner product, higher = better.
//!
//! The graph does not own the vectors: every call borrows the `n`-row arena
//! as a [`Rows`] view, so the index file can keep vectors and links in
//! separate sections. The walk reads rows and visited marks without bounds
//! checks; what makes that sound is stated where it happens: link ids are
//! below the graph's node count (validated by [`Hnsw::from_parts`], written
//! so by the builder, and promised by the unsafe `Layer` trait), and
//! [`search`]'s beam loop checks, on entry, that the row view and the visited
//! marks cover that count.
//!
//! Files, by concern:
//! * `layer`: read-only views of one layer's link records;
//! * [`search`]: the per-thread [`Searcher`] state and the walk;
//! * [`layout`]: the on-disk arrays ([`HnswParts`]) and their validation;
//! * [`build`]: parallel, deterministic construction and incremental insert;
//! * [`reorder`]: the locality renumbering ([`locality_order`]);
//! * [`filter`]: the planner for filtered searches ([`plan_filtered`]).
//!
//! [`Hnsw::build_codes`] and [`Hnsw::search_codes`] (`codes`) build and
//! walk a graph over 1-bit codes alone, for indexes that store no f32 rows.
//!
//! [`Hnsw::search_sq8`] walks on 8-bit codes ([`crate::vector::sq8`]) and
//! re-ranks the beam on the f32 rows.
//!
//! Storage (see [`HnswParts`] for the exact on-disk arrays):
//! * layer 0 is one flat array of fixed-size records, `1 + 2m` u32 per node:
//!   a neighbour count followed by the neighbour ids, unused slots zero;
//! * upper layers (1..=max_level) keep, per layer, the sorted ids of the nodes
//!   present on it and a `1 + m` record per such node in the same order. They
//!   hold about 1/m of the nodes, so a binary search per hop is cheap.
//!
//! Memory locality matters more than arithmetic here: every hop reads
//! neighbour rows scattered over the arena. [`Hnsw::build_reordered`]
//! renumbers the nodes so that near vectors get near ids (see
//! [`locality_order`]) and returns the permutation for the caller to apply
//! to its vectors and ids; arenas built here are backed by transparent huge
//! pages where the OS allows ([`Slab::fill_huge`]), which cuts TLB misses.
//!
//! Building is parallel and deterministic: nodes are inserted in batches that
//! are small relative to the graph; each batch searches the frozen graph in
//! parallel, then forward links are written and back-links merged per target
//! node (in parallel too, each target independently). Nothing depends on the
//! thread count, so any pool size yields the same graph.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::missing_safety_doc)]

pub mod build;
pub mod codes;
pub mod filter;
mod layer;
pub mod layout;
pub mod reorder;
mod rng;
pub mod search;

use std::fmt;

pub use crate::vector::Rows;
pub use codes::CodeRows;
pub use filter::{plan_filtered, scan_allowed, FilterPlan};
pub use layout::{HnswError, HnswParts};
pub use reorder::{locality_order, Reordered};
pub(crate) use rng::SplitMix64;
pub use search::Searcher;

use crate::vector::Slab;
use layer::{Dense, Layer, Sparse};

/// Set on a pool entry's id once its neighbours were expanded. Ids therefore
/// must stay below 2^31, which [`Hnsw::from_parts`] and the builder enforce.
const EXPANDED: u32 = 1 << 31;
/// Highest level a node can draw; with m >= 2 reaching it is astronomically rare.
const MAX_LEVEL: usize = 30;

/// Construction parameters, named as in the paper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HnswParams {
    /// Links per node on upper layers; layer 0 allows `2 * m`.
    pub m: usize,
    /// Beam width while searching for a new node's neighbours.
    pub ef_construction: usize,
    /// Seeds the level draw; the same seed gives the same graph.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            seed: 0x5EED_1DEA,
        }
    }
}

/// A navigable graph over `n` vectors; see the module docs.
///
/// Invariant (checked by [`Hnsw::from_parts`], kept by the builder): every
/// neighbour id in every record is below `n`, every record's count is below
/// its stride, and `n < 2^31`. A graph opened by
/// [`Hnsw::from_parts_lazy`] has it for the upper layers only; its layer-0
/// records are checked one by one as they are read.
#[derive(Clone)]
pub struct Hnsw {
    n: usize,
    m: usize,
    max_level: usize,
    entry: u32,
    seed: u64,
    layer0: Slab<u32>,
    upper_offsets: Slab<u32>,
    upper_ids: Slab<u32>,
    upper_links: Slab<u32>,
    /// Layer 0's records were not validated when the graph was opened
    /// ([`Hnsw::from_parts_lazy`]): each is checked as a walk reads it.
    lazy_layer0: bool,
}

impl fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hnsw")
            .field("n", &self.n)
            .field("m", &self.m)
            .field("max_level", &self.max_level)
            .field("entry", &self.entry)
            .finish()
    }
}

impl Hnsw {
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn m(&self) -> usize {
        self.m
    }

    pub fn max_level(&self) -> usize {
        self.max_level
    }

    /// `None` for an empty graph.
    pub fn entry_point(&self) -> Option<u32> {
        (self.n > 0).then_some(self.entry)
    }

    /// Bytes of link data (vectors excluded).
    pub fn link_bytes(&self) -> usize {
        4 * (self.layer0.len()
            + self.upper_offsets.len()
            + self.upper_ids.len()
            + self.upper_links.len())
    }

    /// Verifies the layer-0 link records of `ids` against their block
    /// checksums (graphs read from a file with them); a failure is latched
    /// for the engine to report.
    pub fn check_links(&self, ids: &[u32]) -> bool {
        let stride = 1 + 2 * self.m;
        ids.iter().fold(true, |ok, &id| {
            self.layer0.check(id as usize * stride, stride) & ok
        })
    }

    fn layer0(&self) -> Dense<'_> {
        if self.lazy_layer0 {
            return Dense::checked(&self.layer0, 1 + 2 * self.m, self.n);
        }
        // SAFETY: every id in `layer0` is below `n` (the type's invariant,
        // validated by `from_parts` or written so by the builder).
        unsafe { Dense::new(&self.layer0, 1 + 2 * self.m, self.n) }
    }

    fn upper(&self, level: usize) -> Sparse<'_> {
        let (a, b) = (
            self.upper_offsets[level - 1] as usize,
            self.upper_offsets[level] as usize,
        );
        let stride = 1 + self.m;
        let (ids, data) = (
            &self.upper_ids[a..b],
            &self.upper_links[a * stride..b * stride],
        );
        // SAFETY: every id in `upper_links` is below `n` (the type's invariant).
        unsafe { Sparse::new(ids, data, stride, self.n) }
    }

    /// Neighbours of `id` on `level`; empty if the node is not on that level.
    pub fn neighbours(&self, id: u32, level: usize) -> &[u32] {
        if id as usize >= self.n || level > self.max_level {
            &[]
        } else if level == 0 {
            self.layer0().links(id)
        } else {
            self.upper(level).links(id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing;

    pub(super) fn build(vectors: &[f32], dim: usize, seed: u64) -> Hnsw {
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            seed,
        };
        Hnsw::build(Rows::new(vectors, dim), &params, &|_| {})
    }

    #[test]
    fn graph_invariants_hold_after_build() {
        let dim = 16;
        let v = testing::clustered(3000, dim, 10, 0.1, 1);
        let h = build(&v, dim, 3);
        // from_parts checks every structural invariant.
        Hnsw::from_parts(h.to_parts()).unwrap();
        for id in 0..h.len() as u32 {
            let nb = h.neighbours(id, 0);
            assert!(!nb.is_empty() && nb.len() <= 16);
            assert!(!nb.contains(&id));
        }
        for level in 1..=h.max_level() {
            for &id in &h.upper_ids[..] {
                assert!(h
                    .neighbours(id, level)
                    .iter()
                    .all(|&x| (x as usize) < h.len()));
            }
        }
    }
}
