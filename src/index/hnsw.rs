//! HNSW graph (Malkov & Yashunin, "Efficient and robust approximate nearest
//! neighbor search using Hierarchical Navigable Small World graphs", 2016)
//! over unit vectors scored by inner product, higher = better.
//!
//! The graph does not own the vectors: every call takes the `n * dim` row
//! arena, so the index file can keep vectors and links in separate sections.
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

use std::fmt;

use rayon::prelude::*;

use crate::vector::{self, Slab};

/// Set on a pool entry's id once its neighbours were expanded. Ids therefore
/// must stay below 2^31, which [`Hnsw::from_parts`] and the builder enforce.
const EXPANDED: u32 = 1 << 31;
/// Highest level a node can draw; with m >= 2 reaching it is astronomically rare.
const MAX_LEVEL: usize = 30;
/// A batch is at most this fraction (1/BATCH_DIV) of the nodes already in the
/// graph, so a new node misses few links to its batch siblings.
const BATCH_DIV: usize = 64;
/// Batch members are linked to each other by brute force; this caps that cost.
const MAX_BATCH: usize = 256;

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

/// A navigable graph over `n` vectors; see the module docs.
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

// ---------------------------------------------------------------------------
// Random levels

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable and good enough for
/// level draws and test data.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]; never 0, so its logarithm is finite.
    pub fn next_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
}

/// A node's level depends only on (seed, id), not on insertion order, so
/// batched, sequential and incremental builds agree on it.
fn level_of(seed: u64, id: u32, m: usize) -> usize {
    let mut rng = SplitMix64(seed ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let ml = 1.0 / (m as f64).ln();
    let level = (-rng.next_f64().ln() * ml).floor();
    (level as usize).min(MAX_LEVEL)
}

// ---------------------------------------------------------------------------
// Layer views shared by search and construction

trait Layer<'a> {
    fn links(&self, id: u32) -> &'a [u32];
    /// Hints that `id`'s record will be read soon.
    fn prefetch_links(&self, _id: u32) {}
}

/// Fixed-stride records addressed by node id.
struct Dense<'a> {
    data: &'a [u32],
    stride: usize,
}

impl<'a> Layer<'a> for Dense<'a> {
    #[inline(always)]
    fn links(&self, id: u32) -> &'a [u32] {
        let start = id as usize * self.stride;
        let rec = &self.data[start..start + self.stride];
        // Counts were validated (or written by us) to be < stride.
        &rec[1..1 + rec[0] as usize]
    }

    #[inline(always)]
    fn prefetch_links(&self, id: u32) {
        let p = self.data.as_ptr().wrapping_add(id as usize * self.stride);
        prefetch(p as *const f32);
    }
}

/// Records for a sorted subset of the nodes.
struct Sparse<'a> {
    ids: &'a [u32],
    data: &'a [u32],
    stride: usize,
}

impl Sparse<'_> {
    fn slot(&self, id: u32) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }
}

impl<'a> Layer<'a> for Sparse<'a> {
    #[inline]
    fn links(&self, id: u32) -> &'a [u32] {
        match self.slot(id) {
            Some(s) => {
                let rec = &self.data[s * self.stride..(s + 1) * self.stride];
                &rec[1..1 + rec[0] as usize]
            }
            // Validation makes this unreachable; an empty list is the safe answer.
            None => &[],
        }
    }
}

#[inline(always)]
fn prefetch(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is a hint and never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn row(vectors: &[f32], dim: usize, id: u32) -> &[f32] {
    let start = id as usize * dim;
    &vectors[start..start + dim]
}

// ---------------------------------------------------------------------------
// Search state

#[derive(Clone, Copy, Debug)]
struct Cand {
    score: f32,
    id: u32,
}

/// The best `cap` candidates seen, sorted best first. A sorted vector beats a
/// pair of heaps at the beam widths HNSW uses: one binary search and a short
/// memmove per accepted candidate, and the next node to expand is found by a
/// cursor instead of a pop.
#[derive(Clone, Debug, Default)]
struct Pool {
    items: Vec<Cand>,
    cap: usize,
}

impl Pool {
    fn reset(&mut self, cap: usize) {
        self.items.clear();
        self.cap = cap.max(1);
        self.items.reserve(self.cap + 1);
    }

    /// Returns the insertion position, or `usize::MAX` if not good enough.
    /// Ties go after existing entries, which keeps builds deterministic.
    #[inline(always)]
    fn insert(&mut self, id: u32, score: f32) -> usize {
        if self.items.len() >= self.cap {
            match self.items.last() {
                Some(last) if score > last.score => {
                    self.items.pop();
                }
                _ => return usize::MAX,
            }
        }
        let pos = self.items.partition_point(|c| c.score >= score);
        self.items.insert(pos, Cand { score, id });
        pos
    }
}

/// Per-thread scratch state, reused across queries so the search loop does
/// not allocate.
#[derive(Clone, Debug, Default)]
pub struct Searcher {
    /// `visited[id] == epoch` marks a node seen by the current search; bumping
    /// the epoch clears all marks at once. One byte per node keeps the array
    /// cache-resident (200 KB per 200k nodes); it is cleared every 255 searches.
    visited: Vec<u8>,
    epoch: u8,
    pool: Pool,
    /// Results that pass the caller's filter.
    hits: Pool,
    fresh: Vec<u32>,
    /// Every node the last search visited on layer 0, when tracking: the
    /// engine verifies their vectors and links after the walk.
    trail: Option<Vec<u32>>,
    // Construction only.
    seeds: Vec<Cand>,
    cands: Vec<Cand>,
}

impl Searcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// A searcher that records the nodes each search visits on layer 0
    /// (see [`Searcher::trail`]); builds leave it off.
    pub fn tracking() -> Self {
        Searcher {
            trail: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// The nodes the last search visited on layer 0, if tracking.
    pub fn trail(&self) -> &[u32] {
        self.trail.as_deref().unwrap_or(&[])
    }

    fn begin(&mut self, n: usize) {
        if self.visited.len() < n {
            self.visited.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.visited.fill(0);
            self.epoch = 1;
        }
        if let Some(t) = &mut self.trail {
            t.clear();
        }
    }

    /// Marks `id` visited; true if it was not yet.
    ///
    /// # Safety
    /// `id` must be below the `n` given to the last [`begin`](Self::begin).
    #[inline(always)]
    unsafe fn visit_unchecked(&mut self, id: u32) -> bool {
        debug_assert!((id as usize) < self.visited.len());
        // SAFETY: the caller guarantees `id < n <= visited.len()`.
        let v = unsafe { self.visited.get_unchecked_mut(id as usize) };
        let fresh = *v != self.epoch;
        *v = self.epoch;
        if fresh {
            if let Some(t) = &mut self.trail {
                t.push(id);
            }
        }
        fresh
    }

    #[inline(always)]
    fn visit(&mut self, id: u32) -> bool {
        let v = &mut self.visited[id as usize];
        let fresh = *v != self.epoch;
        *v = self.epoch;
        if fresh {
            if let Some(t) = &mut self.trail {
                t.push(id);
            }
        }
        fresh
    }
}

/// Beam search on one layer, starting from the entries already in
/// `s.pool` (marked visited by the caller). Leaves the best `s.pool.cap`
/// nodes in `s.pool`; with a filter, passing nodes also go to `s.hits`.
fn search_layer<'a, L: Layer<'a>>(
    layer: &L,
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    s: &mut Searcher,
    filter: Option<&dyn Fn(u32) -> bool>,
) {
    let dot = vector::best().dot;
    let mut cursor = 0;
    loop {
        while cursor < s.pool.items.len() && s.pool.items[cursor].id & EXPANDED != 0 {
            cursor += 1;
        }
        if cursor >= s.pool.items.len() {
            break;
        }
        let id = s.pool.items[cursor].id;
        s.pool.items[cursor].id = id | EXPANDED;

        // Mark and collect the unvisited neighbours first so their first
        // cache lines are all in flight before any is scored.
        s.fresh.clear();
        for &nb in layer.links(id) {
            // SAFETY: link ids are below n (validated by `from_parts`, or
            // written by the builder), and `begin(n)` sized `visited`.
            if unsafe { s.visit_unchecked(nb) } {
                s.fresh.push(nb);
                prefetch(row_ptr(vectors, dim, nb));
            }
        }
        for i in 0..s.fresh.len() {
            let nb = s.fresh[i];
            if let Some(&next) = s.fresh.get(i + 1) {
                // Pull in the rest of the next row while scoring this one.
                prefetch_rest(row_ptr(vectors, dim, next), dim);
            }
            // SAFETY: `nb < n` as above and `vectors` holds `n` rows (checked
            // by every public entry point).
            let score = dot(query, unsafe { row_unchecked(vectors, dim, nb) });
            if let Some(f) = filter {
                if f(nb) {
                    s.hits.insert(nb, score);
                }
            }
            let pos = s.pool.insert(nb, score);
            if pos != usize::MAX {
                // Accepted nodes are likely to be expanded; reading a link
                // record was the single largest stall before this hint.
                layer.prefetch_links(nb);
                cursor = cursor.min(pos);
            }
        }
    }
}

/// Prefetches the cache lines of a row after the first.
#[inline(always)]
fn prefetch_rest(p: *const f32, dim: usize) {
    let mut off = 16;
    while off < dim {
        prefetch(p.wrapping_add(off));
        off += 16;
    }
}

#[inline(always)]
fn row_ptr(vectors: &[f32], dim: usize, id: u32) -> *const f32 {
    vectors.as_ptr().wrapping_add(id as usize * dim)
}

/// Row `id` without a bounds check.
///
/// # Safety
/// `(id + 1) * dim <= vectors.len()`.
#[inline(always)]
unsafe fn row_unchecked(vectors: &[f32], dim: usize, id: u32) -> &[f32] {
    debug_assert!((id as usize + 1) * dim <= vectors.len());
    // SAFETY: in bounds by the caller's guarantee.
    unsafe { std::slice::from_raw_parts(vectors.as_ptr().add(id as usize * dim), dim) }
}

/// Greedy walk (beam width 1) used above the target layer.
fn greedy<'a, L: Layer<'a>>(
    layer: &L,
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    mut cur: u32,
    mut cur_score: f32,
) -> (u32, f32) {
    let dot = vector::best().dot;
    loop {
        let mut moved = false;
        for &nb in layer.links(cur) {
            let score = dot(query, row(vectors, dim, nb));
            if score > cur_score {
                cur = nb;
                cur_score = score;
                moved = true;
            }
        }
        if !moved {
            return (cur, cur_score);
        }
    }
}

/// The paper's Algorithm 4 (without extending or keeping pruned links):
/// walking `cands` best first, keep one only if it is closer to the base than
/// to every neighbour kept so far, which spreads links across directions.
/// `cands` must be sorted best first and hold scores against the base.
fn select_neighbours(vectors: &[f32], dim: usize, cands: &[Cand], cap: usize, out: &mut Vec<u32>) {
    out.clear();
    if cands.len() <= cap {
        out.extend(cands.iter().map(|c| c.id));
        return;
    }
    let dot = vector::best().dot;
    for c in cands {
        if out.len() >= cap {
            break;
        }
        let cv = row(vectors, dim, c.id);
        if out
            .iter()
            .all(|&kept| dot(cv, row(vectors, dim, kept)) <= c.score)
        {
            out.push(c.id);
        }
    }
}

/// Sorts best first. Exact ties (duplicate vectors) are broken by a hash of
/// (base, id) rather than by id: with the id, every duplicate would keep the
/// same lowest-id copies and the rest would become unreachable.
fn sort_best_first(cands: &mut [Cand], base: u32) {
    let tie = |id: u32| SplitMix64(((base as u64) << 32) | id as u64).next_u64();
    cands.sort_unstable_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| tie(a.id).cmp(&tie(b.id)))
    });
}

// ---------------------------------------------------------------------------
// Queries

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
        Dense {
            data: &self.layer0,
            stride: 1 + 2 * self.m,
        }
    }

    fn upper(&self, level: usize) -> Sparse<'_> {
        let (a, b) = (
            self.upper_offsets[level - 1] as usize,
            self.upper_offsets[level] as usize,
        );
        let stride = 1 + self.m;
        Sparse {
            ids: &self.upper_ids[a..b],
            data: &self.upper_links[a * stride..b * stride],
            stride,
        }
    }

    /// Neighbours of `id` on `level`; empty if the node is not on that level.
    pub fn neighbours(&self, id: u32, level: usize) -> &[u32] {
        if id as usize >= self.n || level > self.max_level {
            &[]
        } else if level == 0 {
            self.layer0().links(id)
        } else {
            let (a, b) = (
                self.upper_offsets[level - 1] as usize,
                self.upper_offsets[level] as usize,
            );
            match self.upper_ids[a..b].binary_search(&id) {
                Ok(slot) => {
                    let stride = 1 + self.m;
                    let rec = &self.upper_links[(a + slot) * stride..(a + slot + 1) * stride];
                    &rec[1..1 + rec[0] as usize]
                }
                Err(_) => &[],
            }
        }
    }

    /// The `k` best nodes for `query`, best first, as `(id, score)`.
    /// `ef` is the beam width on layer 0 (raised to `k`).
    ///
    /// # Panics
    /// If `vectors.len() != len() * dim` or `query.len() != dim`.
    pub fn search(
        &self,
        vectors: &[f32],
        dim: usize,
        query: &[f32],
        k: usize,
        ef: usize,
        searcher: &mut Searcher,
    ) -> Vec<(u32, f32)> {
        self.search_filtered(vectors, dim, query, k, ef, None, searcher)
    }

    /// Like [`search`](Self::search), but only nodes for which `filter`
    /// returns true are returned. Traversal still walks every node, so the
    /// graph stays connected; with a selective filter raise `ef`, since the
    /// answer is the best passing nodes among those the beam visits.
    #[allow(clippy::too_many_arguments)]
    pub fn search_filtered(
        &self,
        vectors: &[f32],
        dim: usize,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        searcher: &mut Searcher,
    ) -> Vec<(u32, f32)> {
        assert_eq!(vectors.len(), self.n * dim, "hnsw: vector arena size");
        assert_eq!(query.len(), dim, "hnsw: query length");
        if self.n == 0 || k == 0 {
            return Vec::new();
        }
        let dot = vector::best().dot;
        let mut cur = self.entry;
        let mut cur_score = dot(query, row(vectors, dim, cur));
        for level in (1..=self.max_level).rev() {
            (cur, cur_score) = greedy(&self.upper(level), vectors, dim, query, cur, cur_score);
        }

        let s = searcher;
        s.begin(self.n);
        s.pool.reset(ef.max(k));
        s.hits.reset(k);
        s.visit(cur);
        s.pool.insert(cur, cur_score);
        if let Some(f) = filter {
            if f(cur) {
                s.hits.insert(cur, cur_score);
            }
        }
        search_layer(&self.layer0(), vectors, dim, query, s, filter);

        let best = if filter.is_some() {
            &s.hits.items
        } else {
            &s.pool.items
        };
        best.iter()
            .take(k)
            .map(|c| (c.id & !EXPANDED, c.score))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Parts

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
    /// file yields an error here rather than a panic or a hang later.
    pub fn from_parts(p: HnswParts) -> Result<Hnsw, HnswError> {
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
        let max_level = p.max_level as usize;
        let check_record = |rec: &[u32], cap: usize, n: usize| -> Result<(), HnswError> {
            let count = rec[0] as usize;
            if count > cap {
                return corrupt(format!("neighbour count {count} exceeds {cap}"));
            }
            if rec[1..1 + count].iter().any(|&id| id as usize >= n) {
                return corrupt("neighbour id out of range");
            }
            Ok(())
        };

        let stride0 = 1 + 2 * m;
        if Some(p.layer0.len()) != n.checked_mul(stride0) {
            return corrupt("layer 0 size does not match n and m");
        }
        for rec in p.layer0.chunks_exact(stride0) {
            check_record(rec, 2 * m, n)?;
        }

        if n == 0 {
            if max_level != 0 || !p.upper_ids.is_empty() || !p.upper_links.is_empty() {
                return corrupt("empty graph with upper layers");
            }
            if p.upper_offsets.as_slice() != [0] {
                return corrupt("bad upper offsets");
            }
        } else if p.entry_point as usize >= n {
            return corrupt("entry point out of range");
        }

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
                if rec[1..1 + rec[0] as usize]
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

        Ok(Hnsw {
            n,
            m,
            max_level,
            entry: if n == 0 { u32::MAX } else { p.entry_point },
            seed: p.seed,
            layer0: p.layer0,
            upper_offsets: p.upper_offsets,
            upper_ids: p.upper_ids,
            upper_links: p.upper_links,
        })
    }
}

// ---------------------------------------------------------------------------
// Construction

/// Mutable graph used while inserting; turned into slabs when done.
struct Graph {
    n: usize,
    m: usize,
    seed: u64,
    /// Level drawn for every node, inserted or not.
    levels: Vec<u8>,
    layer0: Vec<u32>,
    /// `upper[l - 1]`: sorted ids of the nodes drawn for level `l` and their
    /// records. Nodes not yet inserted have empty records and are unreachable.
    upper: Vec<UpperLayer>,
    /// `None` until the first node is inserted.
    entry: Option<u32>,
    /// Nodes linked into the graph so far (`<= n`).
    inserted: usize,
    max_level: usize,
}

#[derive(Default)]
struct UpperLayer {
    ids: Vec<u32>,
    links: Vec<u32>,
}

/// Links chosen for one new node: `per_level[l]` for levels `0..=level`.
type NewLinks = Vec<Vec<u32>>;

impl Graph {
    fn new(m: usize, seed: u64) -> Graph {
        Graph {
            n: 0,
            m,
            seed,
            levels: Vec::new(),
            layer0: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            inserted: 0,
        }
    }

    fn from_hnsw(h: &Hnsw) -> Graph {
        let stride = 1 + h.m;
        let mut g = Graph::new(h.m, h.seed);
        g.n = h.n;
        g.inserted = h.n;
        g.layer0 = h.layer0.to_vec();
        g.levels = vec![0; h.n];
        for level in 1..=h.max_level {
            let (a, b) = (
                h.upper_offsets[level - 1] as usize,
                h.upper_offsets[level] as usize,
            );
            let ids = h.upper_ids[a..b].to_vec();
            for &id in &ids {
                g.levels[id as usize] = level as u8;
            }
            let links = h.upper_links[a * stride..b * stride].to_vec();
            g.upper.push(UpperLayer { ids, links });
        }
        g.entry = (h.n > 0).then_some(h.entry);
        g.max_level = h.max_level;
        g
    }

    /// Draws levels and reserves empty records for nodes up to `n`.
    fn grow(&mut self, n: usize) {
        assert!(n < EXPANDED as usize, "hnsw: at most 2^31 - 1 nodes");
        if self.layer0.is_empty() {
            // Untouched zero pages, so the huge-page hint takes effect.
            self.layer0 = vec![0; n * (1 + 2 * self.m)];
            vector::advise_huge(&self.layer0);
        } else {
            self.layer0.resize(n * (1 + 2 * self.m), 0);
        }
        for id in self.n..n {
            let level = level_of(self.seed, id as u32, self.m);
            self.levels.push(level as u8);
            while self.upper.len() < level {
                self.upper.push(UpperLayer::default());
            }
            for layer in &mut self.upper[..level] {
                layer.ids.push(id as u32);
                layer.links.resize(layer.links.len() + 1 + self.m, 0);
            }
        }
        self.n = n;
    }

    fn dense(&self) -> Dense<'_> {
        Dense {
            data: &self.layer0,
            stride: 1 + 2 * self.m,
        }
    }

    fn sparse(&self, level: usize) -> Sparse<'_> {
        let layer = &self.upper[level - 1];
        Sparse {
            ids: &layer.ids,
            data: &layer.links,
            stride: 1 + self.m,
        }
    }

    fn links(&self, level: usize, id: u32) -> &[u32] {
        if level == 0 {
            self.dense().links(id)
        } else {
            let layer = &self.upper[level - 1];
            let stride = 1 + self.m;
            match layer.ids.binary_search(&id) {
                Ok(s) => {
                    let rec = &layer.links[s * stride..(s + 1) * stride];
                    &rec[1..1 + rec[0] as usize]
                }
                Err(_) => &[],
            }
        }
    }

    fn set_links(&mut self, level: usize, id: u32, ids: &[u32]) {
        let rec = if level == 0 {
            let stride = 1 + 2 * self.m;
            &mut self.layer0[id as usize * stride..(id as usize + 1) * stride]
        } else {
            let stride = 1 + self.m;
            let layer = &mut self.upper[level - 1];
            let s = layer.ids.binary_search(&id).expect("node drawn for level");
            &mut layer.links[s * stride..(s + 1) * stride]
        };
        rec[0] = ids.len() as u32;
        rec[1..1 + ids.len()].copy_from_slice(ids);
        rec[1 + ids.len()..].fill(0);
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            2 * self.m
        } else {
            self.m
        }
    }

    /// Finds the links of new node `q` against the frozen graph plus the
    /// earlier members of its batch (by brute force, since they are not in
    /// the graph yet) — what sequential insertion would have seen.
    #[allow(clippy::too_many_arguments)]
    fn find_links(
        &self,
        vectors: &[f32],
        dim: usize,
        q: u32,
        earlier: &[u32],
        ef: usize,
        s: &mut Searcher,
    ) -> NewLinks {
        let dot = vector::best().dot;
        let query = row(vectors, dim, q);
        let level = self.levels[q as usize] as usize;
        let mut out: NewLinks = vec![Vec::new(); level + 1];

        s.seeds.clear();
        if let Some(entry) = self.entry {
            let mut cur = entry;
            let mut cur_score = dot(query, row(vectors, dim, cur));
            for l in (level + 1..=self.max_level).rev() {
                (cur, cur_score) = greedy(&self.sparse(l), vectors, dim, query, cur, cur_score);
            }
            s.seeds.push(Cand {
                score: cur_score,
                id: cur,
            });
        }

        for l in (0..=level).rev() {
            s.cands.clear();
            if self.entry.is_some() && l <= self.max_level {
                s.begin(self.n);
                s.pool.reset(ef);
                for i in 0..s.seeds.len() {
                    let c = s.seeds[i];
                    s.visit(c.id);
                    s.pool.insert(c.id, c.score);
                }
                if l == 0 {
                    search_layer(&self.dense(), vectors, dim, query, s, None);
                } else {
                    search_layer(&self.sparse(l), vectors, dim, query, s, None);
                }
                s.seeds.clear();
                s.seeds.extend(s.pool.items.iter().map(|c| Cand {
                    score: c.score,
                    id: c.id & !EXPANDED,
                }));
                s.cands.extend_from_slice(&s.seeds);
            }
            for &j in earlier {
                if self.levels[j as usize] as usize >= l {
                    s.cands.push(Cand {
                        score: dot(query, row(vectors, dim, j)),
                        id: j,
                    });
                }
            }
            sort_best_first(&mut s.cands, q);
            select_neighbours(vectors, dim, &s.cands, self.m, &mut out[l]);
        }
        out
    }

    /// New list for `target` on `level` after adding `sources`, pruned with
    /// the heuristic if it overflows.
    fn merged_links(
        &self,
        vectors: &[f32],
        dim: usize,
        level: usize,
        target: u32,
        sources: impl Iterator<Item = u32>,
    ) -> Vec<u32> {
        let mut ids = self.links(level, target).to_vec();
        for src in sources {
            if src != target && !ids.contains(&src) {
                ids.push(src);
            }
        }
        let cap = self.cap(level);
        if ids.len() <= cap {
            return ids;
        }
        let dot = vector::best().dot;
        let base = row(vectors, dim, target);
        let mut cands: Vec<Cand> = ids
            .iter()
            .map(|&id| Cand {
                score: dot(base, row(vectors, dim, id)),
                id,
            })
            .collect();
        sort_best_first(&mut cands, target);
        let mut out = Vec::with_capacity(cap);
        select_neighbours(vectors, dim, &cands, cap, &mut out);
        out
    }

    fn apply(&mut self, vectors: &[f32], dim: usize, batch: &[u32], found: Vec<NewLinks>) {
        let mut edges: Vec<(u8, u32, u32)> = Vec::new();
        for (&q, per_level) in batch.iter().zip(&found) {
            for (l, ids) in per_level.iter().enumerate() {
                self.set_links(l, q, ids);
                edges.extend(ids.iter().map(|&t| (l as u8, t, q)));
            }
        }
        // Group back-links by (level, target); each group is independent, so
        // they are merged in parallel and written back in a fixed order.
        edges.sort_unstable();
        let mut groups = Vec::new();
        let mut i = 0;
        while i < edges.len() {
            let key = (edges[i].0, edges[i].1);
            let mut j = i + 1;
            while j < edges.len() && (edges[j].0, edges[j].1) == key {
                j += 1;
            }
            groups.push(i..j);
            i = j;
        }
        let this = &*self;
        let updates: Vec<Vec<u32>> = groups
            .par_iter()
            .map(|r| {
                let (l, t, _) = edges[r.start];
                this.merged_links(
                    vectors,
                    dim,
                    l as usize,
                    t,
                    edges[r.clone()].iter().map(|e| e.2),
                )
            })
            .collect();
        for (r, ids) in groups.iter().zip(&updates) {
            let (l, t, _) = edges[r.start];
            self.set_links(l as usize, t, ids);
        }
        for &q in batch {
            let level = self.levels[q as usize] as usize;
            if self.entry.is_none() || level > self.max_level {
                self.entry = Some(q);
                self.max_level = level;
            }
        }
    }

    /// Inserts the nodes of `seq`, in that order, in batches.
    fn insert_range(
        &mut self,
        vectors: &[f32],
        dim: usize,
        seq: &[u32],
        ef: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        let mut next = 0;
        let before = self.inserted;
        while next < seq.len() {
            let size = ((before + next) / BATCH_DIV)
                .clamp(1, MAX_BATCH)
                .min(seq.len() - next);
            let batch = &seq[next..next + size];
            let this = &*self;
            let found: Vec<NewLinks> = (0..size)
                .into_par_iter()
                .map_init(Searcher::new, |s, i| {
                    this.find_links(vectors, dim, batch[i], &batch[..i], ef, s)
                })
                .collect();
            self.apply(vectors, dim, batch, found);
            next += size;
            progress(before + next);
        }
        self.inserted += seq.len();
    }

    fn finish(self) -> Hnsw {
        let max_level = if self.entry.is_some() {
            self.max_level
        } else {
            0
        };
        let mut offsets = vec![0u32];
        let mut ids = Vec::new();
        let mut links = Vec::new();
        for layer in &self.upper[..max_level] {
            ids.extend_from_slice(&layer.ids);
            links.extend_from_slice(&layer.links);
            offsets.push(ids.len() as u32);
        }
        Hnsw {
            n: self.n,
            m: self.m,
            max_level,
            entry: self.entry.unwrap_or(u32::MAX),
            seed: self.seed,
            layer0: Slab::copy_huge(&self.layer0),
            upper_offsets: Slab::from_vec(offsets),
            upper_ids: Slab::from_vec(ids),
            upper_links: Slab::from_vec(links),
        }
    }
}

impl Hnsw {
    /// Builds a graph over the rows of `vectors` (`dim` floats each), calling
    /// `progress` with the number of nodes inserted so far after each batch.
    /// Uses the current rayon pool; the result does not depend on its size.
    ///
    /// # Panics
    /// If `vectors.len()` is not a multiple of `dim`, `m < 2`, or there are
    /// 2^31 or more vectors.
    pub fn build(
        vectors: &[f32],
        dim: usize,
        params: &HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Hnsw {
        assert!(params.m >= 2, "hnsw: m must be at least 2");
        let n = count_rows(vectors, dim);
        let mut g = Graph::new(params.m, params.seed);
        g.grow(n);
        let seq: Vec<u32> = (0..n as u32).collect();
        g.insert_range(vectors, dim, &seq, params.ef_construction.max(1), progress);
        g.finish()
    }

    /// Like [`build`](Self::build), but first renumbers the nodes so that
    /// near vectors get near ids, which makes the rows a search touches lie
    /// close together in memory (fewer TLB and cache misses, for the build
    /// as for queries). The renumbering is the caller's to apply: node `i`
    /// of the returned graph is row `order[i]` of `vectors` (`order` maps new
    /// ids to old ones), and `rows` holds the rows in that order, backed by
    /// huge pages where the OS allows (see [`Slab::copy_huge`]), ready to be
    /// used as the arena of every later call. Whoever stores ids next to the
    /// vectors (passage ids, labels) must permute them with `order` too.
    ///
    /// Nodes are still inserted in the original row order, so the graph's
    /// quality does not depend on the renumbering. The result depends only
    /// on the inputs and the thread count, like [`build`](Self::build).
    pub fn build_reordered(
        vectors: &[f32],
        dim: usize,
        params: &HnswParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Reordered {
        assert!(params.m >= 2, "hnsw: m must be at least 2");
        let n = count_rows(vectors, dim);
        let order = locality_order(vectors, dim);
        let rows = Slab::fill_huge(n * dim, |rows| {
            if dim > 0 {
                rows.par_chunks_mut(dim)
                    .zip(order.par_iter())
                    .for_each(|(r, &o)| r.copy_from_slice(row(vectors, dim, o)));
            }
        });
        let mut inv = vec![0u32; n];
        for (new, &old) in order.iter().enumerate() {
            inv[old as usize] = new as u32;
        }
        let mut g = Graph::new(params.m, params.seed);
        g.grow(n);
        // `inv` lists the new ids in old order: insertion in the input order.
        g.insert_range(&rows, dim, &inv, params.ef_construction.max(1), progress);
        Reordered {
            graph: g.finish(),
            order,
            rows,
        }
    }

    /// Adds rows `len()..` of `vectors` (which must start with the rows the
    /// graph was built on) to the graph.
    pub fn insert(
        &mut self,
        vectors: &[f32],
        dim: usize,
        ef_construction: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) {
        let n = count_rows(vectors, dim);
        assert!(n >= self.n, "hnsw: insert cannot remove vectors");
        let mut g = Graph::from_hnsw(self);
        let old = g.n;
        g.grow(n);
        let seq: Vec<u32> = (old as u32..n as u32).collect();
        g.insert_range(vectors, dim, &seq, ef_construction.max(1), progress);
        *self = g.finish();
    }
}

/// What [`Hnsw::build_reordered`] returns.
pub struct Reordered {
    /// The graph over `rows`.
    pub graph: Hnsw,
    /// `order[new_id] = old_row`: a permutation of `0..n`.
    pub order: Vec<u32>,
    /// Row `i` is input row `order[i]`.
    pub rows: Slab<f32>,
}

/// A permutation (`order[new] = old`) that puts near rows next to each
/// other: rows are assigned to the most similar of about sqrt(n) centres
/// sampled from the data at even strides, the centres are chained greedily
/// (each followed by its most similar unused centre), and rows are listed
/// centre by centre, in input order within a centre. Deterministic: every
/// row's score is computed by the same kernel call whatever the pool size.
pub fn locality_order(vectors: &[f32], dim: usize) -> Vec<u32> {
    let n = count_rows(vectors, dim);
    let c = ((n as f64).sqrt() as usize).clamp(1, 1024);
    if n < 4096 || dim == 0 {
        return (0..n as u32).collect();
    }
    let mut centres = Vec::with_capacity(c * dim);
    for j in 0..c {
        centres.extend_from_slice(row(vectors, dim, (j * n / c) as u32));
    }
    let chunk = vector::TILE_QUERIES;
    let assign: Vec<u32> = vectors
        .par_chunks(chunk * dim)
        .flat_map_iter(|rows| {
            let nq = rows.len() / dim;
            let mut scores = vec![0f32; nq * c];
            vector::dot_tile(rows, &centres, dim, &mut scores);
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
        .collect();
    // Chain the centres: rank[j] is centre j's position in the walk.
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

fn count_rows(vectors: &[f32], dim: usize) -> usize {
    if vectors.is_empty() {
        return 0;
    }
    assert!(
        dim > 0 && vectors.len().is_multiple_of(dim),
        "hnsw: vectors not a whole number of rows"
    );
    vectors.len() / dim
}

// ---------------------------------------------------------------------------
// Synthetic data

/// Seeded clustered unit vectors for tests, benches and examples.
#[doc(hidden)]
pub mod synth {
    use super::SplitMix64;

    fn gaussian(rng: &mut SplitMix64) -> f32 {
        // Box-Muller; one of the pair is enough here.
        let (u1, u2) = (rng.next_f64(), rng.next_f64());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    /// `n` unit rows of length `dim`: `clusters` random unit centres, each
    /// row a centre plus isotropic noise of standard deviation `sigma` per
    /// coordinate, normalised.
    pub fn clustered(n: usize, dim: usize, clusters: usize, sigma: f32, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64(seed);
        let mut centres = vec![0f32; clusters.max(1) * dim];
        for c in centres.chunks_exact_mut(dim.max(1)) {
            c.iter_mut().for_each(|x| *x = gaussian(&mut rng));
            crate::vector::normalize(c);
        }
        let mut out = vec![0f32; n * dim];
        for r in out.chunks_exact_mut(dim.max(1)) {
            let c = (rng.next_u64() % clusters.max(1) as u64) as usize;
            let centre = &centres[c * dim..(c + 1) * dim];
            for (x, &cx) in r.iter_mut().zip(centre) {
                *x = cx + sigma * gaussian(&mut rng);
            }
            crate::vector::normalize(r);
        }
        out
    }

    /// Exact top-`k` ids by inner product, best first (ties by id).
    pub fn brute_force(vectors: &[f32], dim: usize, query: &[f32], k: usize) -> Vec<u32> {
        let mut scored: Vec<(f32, u32)> = vectors
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, r)| (crate::vector::dot(query, r), i as u32))
            .collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(k);
        scored.into_iter().map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(vectors: &[f32], dim: usize, seed: u64) -> Hnsw {
        let params = HnswParams {
            m: 8,
            ef_construction: 64,
            seed,
        };
        Hnsw::build(vectors, dim, &params, &|_| {})
    }

    #[test]
    fn levels_are_geometric_and_deterministic() {
        let levels: Vec<usize> = (0..100_000).map(|i| level_of(7, i, 16)).collect();
        let above = levels.iter().filter(|&&l| l >= 1).count() as f64 / 1e5;
        assert!((above - 1.0 / 16.0).abs() < 0.01, "{above}");
        assert_eq!(levels[123], level_of(7, 123, 16));
    }

    #[test]
    fn pool_keeps_best_sorted_and_bounded() {
        let mut p = Pool::default();
        p.reset(3);
        for (i, s) in [0.1, 0.5, 0.3, 0.9, 0.2, 0.5].into_iter().enumerate() {
            p.insert(i as u32, s);
        }
        let ids: Vec<u32> = p.items.iter().map(|c| c.id).collect();
        // Ties keep the earlier entry ahead.
        assert_eq!(ids, vec![3, 1, 5]);
    }

    #[test]
    fn graph_invariants_hold_after_build() {
        let dim = 16;
        let v = synth::clustered(3000, dim, 10, 0.1, 1);
        let h = build(&v, dim, 3);
        // from_parts checks every structural invariant.
        Hnsw::from_parts(h.to_parts()).unwrap();
        for id in 0..h.len() as u32 {
            let nb = h.neighbours(id, 0);
            assert!(!nb.is_empty() && nb.len() <= 16);
            assert!(!nb.contains(&id));
        }
    }

    #[test]
    fn filter_restricts_results() {
        let dim = 16;
        let v = synth::clustered(2000, dim, 5, 0.1, 2);
        let h = build(&v, dim, 1);
        let mut s = Searcher::new();
        let even = |id: u32| id.is_multiple_of(2);
        let q = &v[..dim];
        let got = h.search_filtered(&v, dim, q, 10, 64, Some(&even), &mut s);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|(id, _)| id % 2 == 0));
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
        let none = |_: u32| false;
        assert!(h
            .search_filtered(&v, dim, q, 10, 64, Some(&none), &mut s)
            .is_empty());
    }

    #[test]
    fn epoch_wraparound_resets_visited() {
        let dim = 8;
        let v = synth::clustered(500, dim, 4, 0.1, 3);
        let h = build(&v, dim, 1);
        let mut s = Searcher::new();
        let before = h.search(&v, dim, &v[..dim], 5, 16, &mut s);
        s.epoch = u8::MAX - 1;
        for _ in 0..3 {
            assert_eq!(h.search(&v, dim, &v[..dim], 5, 16, &mut s), before);
        }
    }
}
