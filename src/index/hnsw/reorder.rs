//! Locality renumbering: near vectors get near ids, so the rows one search
//! touches lie close together in memory.

use rayon::prelude::*;

use super::build::Graph;
use super::codes::Coded;
use super::{Hnsw, HnswParams, Rows};
use crate::vector::{self, Slab};

/// What [`Hnsw::build_reordered`] returns.
pub struct Reordered {
    /// The graph over `rows`.
    pub graph: Hnsw,
    /// `order[new_id] = old_row`: a permutation of `0..n`.
    pub order: Vec<u32>,
    /// Row `i` is input row `order[i]`.
    pub rows: Slab<f32>,
}

impl Hnsw {
    /// Like [`build`](Self::build), but first renumbers the nodes so that
    /// near vectors get near ids, which makes the rows a search touches lie
    /// close together in memory (fewer TLB and cache misses, for the build
    /// as for queries). The renumbering is the caller's to apply: node `i`
    /// of the returned graph is row `order[i]` of `rows` (`order` maps new
    /// ids to old ones), and the returned `rows` hold them in that order,
    /// backed by huge pages where the OS allows (see [`Slab::copy_huge`]),
    /// ready to be used as the arena of every later call. Whoever stores ids
    /// next to the vectors (passage ids, labels) must permute them with
    /// `order` too.
    ///
    /// Nodes are still inserted in the original row order, so the graph's
    /// quality does not depend on the renumbering. The result depends only
    /// on the inputs and the thread count, like [`build`](Self::build).
    pub fn build_reordered(
        rows: Rows<'_>,
        params: &HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Reordered {
        assert!(params.m >= 2, "hnsw: m must be at least 2");
        let (n, dim) = (rows.len(), rows.dim());
        let order = locality_order(rows);
        let arena = Slab::fill_huge(n * dim, |out| {
            if dim > 0 {
                out.par_chunks_mut(dim)
                    .zip(order.par_iter())
                    .for_each(|(r, &o)| r.copy_from_slice(rows.row(o)));
            }
        });
        let mut inv = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            inv[old as usize] = new as u32;
        }
        let mut g = Graph::new(params.m, params.seed);
        g.grow(n);
        // `inv` lists the new ids in old order: insertion in the input order.
        let ef = params.ef_construction.max(1);
        g.insert_range(&Coded::new(Rows::new(&arena, dim)), &inv, ef, progress);
        Reordered {
            graph: g.finish(),
            order,
            rows: arena,
        }
    }
}

/// A permutation (`order[new] = old`) that puts near rows next to each
/// other: rows are assigned to the most similar of about sqrt(n) centres
/// sampled from the data at even strides, the centres are chained greedily
/// (each followed by its most similar unused centre), and rows are listed
/// centre by centre, in input order within a centre. Deterministic: every
/// row's score is computed by the same kernel call whatever the pool size.
pub fn locality_order(rows: Rows<'_>) -> Vec<u32> {
    let (n, dim) = (rows.len(), rows.dim());
    let c = ((n as f64).sqrt() as usize).clamp(1, 1024);
    if n < 4096 || dim == 0 {
        return (0..n as u32).collect();
    }
    let mut centres = Vec::with_capacity(c * dim);
    for j in 0..c {
        centres.extend_from_slice(rows.row((j * n / c) as u32));
    }
    let assign = nearest_centre(rows, &centres);
    let rank = chain_centres(&centres, dim);
    // Counting sort by rank, stable in input order.
    let mut start = vec![0usize; c + 1];
    for &a in &assign {
        start[rank[a as usize] as usize + 1] += 1;
    }
    for j in 0..c {
        start[j + 1] += start[j];
    }
    let mut order = vec![0u32; n];
    for (i, &a) in assign.iter().enumerate() {
        let r = rank[a as usize] as usize;
        order[start[r]] = i as u32;
        start[r] += 1;
    }
    order
}

/// For every row, the index of its most similar centre (first on ties).
fn nearest_centre(rows: Rows<'_>, centres: &[f32]) -> Vec<u32> {
    let dim = rows.dim();
    let c = centres.len() / dim;
    let chunk = vector::TILE_QUERIES;
    rows.as_slice()
        .par_chunks(chunk * dim)
        .flat_map_iter(|block| {
            let nq = block.len() / dim;
            let mut scores = vec![0f32; nq * c];
            vector::dot_tile(block, centres, dim, &mut scores);
            scores
                .chunks_exact(c)
                .map(|s| {
                    let mut best = 0;
                    for (j, &x) in s.iter().enumerate() {
                        if x > s[best] {
                            best = j;
                        }
                    }
                    best as u32
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Chains the centres greedily from centre 0, each followed by its most
/// similar unused centre: `rank[j]` is centre `j`'s position in the walk.
fn chain_centres(centres: &[f32], dim: usize) -> Vec<u32> {
    let c = centres.len() / dim;
    let mut rank = vec![u32::MAX; c];
    let mut cur = 0usize;
    for r in 0..c as u32 {
        rank[cur] = r;
        let cv = &centres[cur * dim..(cur + 1) * dim];
        let mut next = usize::MAX;
        let mut best = f32::NEG_INFINITY;
        for j in 0..c {
            if rank[j] == u32::MAX {
                let s = vector::dot(cv, &centres[j * dim..(j + 1) * dim]);
                if next == usize::MAX || s > best {
                    next = j;
                    best = s;
                }
            }
        }
        if next == usize::MAX {
            break;
        }
        cur = next;
    }
    rank
}
