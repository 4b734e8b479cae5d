//! Queries: the per-thread [`Searcher`] state, the beam search on one layer
//! and the greedy descent through the upper layers.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::layer::{prefetch, prefetch_rest, Layer};
use super::{Hnsw, Rows, EXPANDED};
use crate::vector;
use crate::vector::sq8::{self, DotU8Ids, Sq8Codes, Sq8Query};

#[derive(Clone, Copy, Debug)]
pub(super) struct Cand {
    pub(super) score: f32,
    pub(super) id: u32,
}

/// The best `cap` candidates seen, sorted best first. A sorted vector beats a
/// pair of heaps at the beam widths HNSW uses: one binary search and a short
/// memmove per accepted candidate, and the next node to expand is found by a
/// cursor instead of a pop.
#[derive(Clone, Debug, Default)]
pub(super) struct Pool {
    pub(super) items: Vec<Cand>,
    cap: usize,
}

impl Pool {
    pub(super) fn reset(&mut self, cap: usize) {
        self.items.clear();
        self.cap = cap.max(1);
        self.items.reserve(self.cap + 1);
    }

    /// Returns the insertion position, or `usize::MAX` if not good enough.
    /// Ties go after existing entries, which keeps builds deterministic.
    #[inline(always)]
    pub(super) fn insert(&mut self, id: u32, score: f32) -> usize {
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
    /// Bit `id` marks a node seen by the current search. A bit per node
    /// (128 KB at 1M nodes) stays in L2 beside the codes and records a walk
    /// reads, where a byte per node (1 MB) took half of it; the words a
    /// search set are listed in `touched` and only those are cleared.
    visited: Vec<u64>,
    touched: Vec<u32>,
    pub(super) pool: Pool,
    /// Results that pass the caller's filter.
    hits: Pool,
    fresh: Vec<u32>,
    /// Scores of `fresh`, for scorers that score them together.
    scores: Vec<f32>,
    /// Every node the last search visited on layer 0, when tracking: the
    /// engine verifies their vectors and links after the walk.
    trail: Option<Vec<u32>>,
    // Construction only.
    pub(super) seeds: Vec<Cand>,
    pub(super) cands: Vec<Cand>,
}

impl Searcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the last walk kept, best first: the nodes that passed its
    /// filter when it had one, else its whole pool.
    pub(super) fn found(&self, filtered: bool) -> &[Cand] {
        if filtered {
            &self.hits.items
        } else {
            &self.pool.items
        }
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

    /// How many node ids the visited marks cover.
    #[inline(always)]
    fn marks(&self) -> usize {
        self.visited.len() * 64
    }

    /// Starts a search over `n` nodes with no node marked: afterwards
    /// `marks() >= n`.
    pub(super) fn begin(&mut self, n: usize) {
        // A wide walk may have touched most words: one fill is then cheaper.
        if self.touched.len() > self.visited.len() / 8 {
            self.visited.fill(0);
        } else {
            for &w in &self.touched {
                self.visited[w as usize] = 0;
            }
        }
        self.touched.clear();
        let words = n.div_ceil(64);
        if self.visited.len() < words {
            self.visited.resize(words, 0);
        }
        if let Some(t) = &mut self.trail {
            t.clear();
        }
    }

    /// Whether `id` is marked.
    ///
    /// # Safety
    /// `id < self.marks()`, which holds for `id` below the `n` given to the
    /// last [`begin`](Self::begin).
    #[inline(always)]
    unsafe fn seen_unchecked(&self, id: u32) -> bool {
        debug_assert!((id as usize) < self.marks());
        // SAFETY: `id < marks()`, so word `id / 64` is in bounds.
        let w = unsafe { *self.visited.get_unchecked(id as usize >> 6) };
        w & (1 << (id & 63)) != 0
    }

    /// Marks `id` visited; true if it was not yet.
    ///
    /// # Safety
    /// `id < self.marks()`, which holds for `id` below the `n` given to the
    /// last [`begin`](Self::begin).
    #[inline(always)]
    unsafe fn visit_unchecked(&mut self, id: u32) -> bool {
        debug_assert!((id as usize) < self.marks());
        let word = id as usize >> 6;
        // SAFETY: `id < marks()`, so word `id / 64` is in bounds.
        let w = unsafe { self.visited.get_unchecked_mut(word) };
        let bit = 1u64 << (id & 63);
        if *w & bit != 0 {
            return false;
        }
        if *w == 0 {
            self.touched.push(word as u32);
        }
        *w |= bit;
        if let Some(t) = &mut self.trail {
            t.push(id);
        }
        true
    }

    #[inline(always)]
    pub(super) fn visit(&mut self, id: u32) -> bool {
        assert!((id as usize) < self.marks(), "hnsw: searcher not begun");
        // SAFETY: checked just above.
        unsafe { self.visit_unchecked(id) }
    }
}

/// How the walk scores nodes against the query.
///
/// # Safety
/// [`score_unchecked`](Scorer::score_unchecked) must be sound for every
/// `id < len()`.
pub(super) unsafe trait Scorer {
    /// Nodes this scorer can score.
    fn len(&self) -> usize;
    /// Score of node `id`.
    ///
    /// # Panics
    /// If `id >= len()`.
    fn score(&self, id: u32) -> f32;
    /// Score of node `id` without a bounds check.
    ///
    /// # Safety
    /// `id < self.len()`.
    unsafe fn score_unchecked(&self, id: u32) -> f32;
    /// Hints that `id` will be scored soon (its first cache line).
    fn prefetch(&self, id: u32);
    /// Hints the rest of `id`'s data.
    fn prefetch_rest(&self, id: u32);
    /// Hints all of `id`'s data for a later expansion than the current one
    /// (the walk's look-ahead); by default as [`prefetch`](Scorer::prefetch).
    fn prefetch_ahead(&self, id: u32) {
        self.prefetch(id);
    }
    /// Whether the walk scores a node's unvisited neighbours together
    /// ([`score_all`](Scorer::score_all)) rather than one at a time.
    const BATCH: bool = false;
    /// The scores of `ids` into `out` (cleared first).
    ///
    /// # Panics
    /// If an id is not below `len()`.
    fn score_all(&self, ids: &[u32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(ids.iter().map(|&id| self.score(id)));
    }
}

/// Exact inner products with the f32 rows.
pub(super) struct Exact<'a> {
    rows: Rows<'a>,
    query: &'a [f32],
    dot: fn(&[f32], &[f32]) -> f32,
}

impl<'a> Exact<'a> {
    /// # Panics
    /// If `query.len() != rows.dim()`.
    pub(super) fn new(rows: Rows<'a>, query: &'a [f32]) -> Self {
        assert_eq!(query.len(), rows.dim(), "hnsw: query length");
        Exact {
            rows,
            query,
            dot: vector::best().dot,
        }
    }
}

// SAFETY: `score_unchecked` reads row `id`, which `Rows` keeps in bounds for
// every `id < rows.len() == len()`.
unsafe impl Scorer for Exact<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn score(&self, id: u32) -> f32 {
        (self.dot)(self.query, self.rows.row(id))
    }

    #[inline(always)]
    unsafe fn score_unchecked(&self, id: u32) -> f32 {
        // SAFETY: `id < len() == rows.len()` by the caller's guarantee.
        (self.dot)(self.query, unsafe { self.rows.row_unchecked(id) })
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        prefetch(self.rows.row_ptr(id));
    }

    #[inline(always)]
    fn prefetch_rest(&self, id: u32) {
        prefetch_rest(self.rows.row_ptr(id), self.rows.dim());
    }
}

/// Exact inner products with the f32 rows for a query with few non-zero
/// coordinates (a hashed text query): only the row lines those coordinates
/// fall on are read. See [`vector::SparseQuery`].
pub(super) struct Gathered<'a> {
    rows: Rows<'a>,
    query: &'a vector::SparseQuery,
}

impl<'a> Gathered<'a> {
    /// # Panics
    /// If `query.dim() != rows.dim()`.
    pub(super) fn new(rows: Rows<'a>, query: &'a vector::SparseQuery) -> Self {
        assert_eq!(query.dim(), rows.dim(), "hnsw: query length");
        Gathered { rows, query }
    }
}

// SAFETY: `score_unchecked` reads row `id`, which `Rows` keeps in bounds for
// every `id < rows.len() == len()`.
unsafe impl Scorer for Gathered<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn score(&self, id: u32) -> f32 {
        self.query.dot(self.rows.row(id))
    }

    #[inline(always)]
    unsafe fn score_unchecked(&self, id: u32) -> f32 {
        // SAFETY: `id < len() == rows.len()` by the caller's guarantee, so
        // the row holds `dim` floats.
        unsafe { self.query.dot_ptr(self.rows.row_unchecked(id).as_ptr()) }
    }

    #[inline(always)]
    fn prefetch(&self, id: u32) {
        self.query.prefetch_first(self.rows.row_ptr(id));
    }

    #[inline(always)]
    fn prefetch_rest(&self, id: u32) {
        self.query.prefetch_rest(self.rows.row_ptr(id));
    }
}

/// Approximate inner products with SQ8 codes.
pub(super) struct Quantized<'a> {
    codes: &'a [u8],
    dim: usize,
    n: usize,
    /// Borrowed by a search; owned by the build's scorer of one node.
    query: Cow<'a, Sq8Query>,
    dot_u8: fn(&[i16], &[u8]) -> i32,
    dot_u8_ids: DotU8Ids,
}

impl<'a> Quantized<'a> {
    pub(super) fn new(codes: &'a Sq8Codes, query: Cow<'a, Sq8Query>) -> Self {
        let (dim, n) = (codes.dim(), codes.len());
        assert_eq!(query.weights().len(), dim, "hnsw: query length");
        assert_eq!(codes.as_bytes().len(), n * dim, "hnsw: code arena size");
        Quantized {
            codes: codes.as_bytes(),
            dim,
            n,
            query,
            dot_u8: vector::best().dot_u8,
            dot_u8_ids: sq8::best_dot_u8_ids(),
        }
    }

    #[inline(always)]
    fn ptr(&self, id: u32) -> *const u8 {
        self.codes.as_ptr().wrapping_add(id as usize * self.dim)
    }
}

// SAFETY: `score_unchecked` reads bytes `id * dim..(id + 1) * dim` of
// `codes`, whose length `new` checked to be `n * dim`, for `id < n`.
unsafe impl Scorer for Quantized<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.n
    }

    #[inline(always)]
    fn score(&self, id: u32) -> f32 {
        let start = id as usize * self.dim;
        self.query
            .score(self.dot_u8, &self.codes[start..start + self.dim])
    }

    #[inline(always)]
    unsafe fn score_unchecked(&self, id: u32) -> f32 {
        debug_assert!((id as usize) < self.n);
        // SAFETY: `id < n` by the caller's guarantee and `codes.len() == n * dim`.
        let code = unsafe { std::slice::from_raw_parts(self.ptr(id), self.dim) };
        self.query.score(self.dot_u8, code)
    }

    /// The whole code: a few lines (2 at dim 128, 4 at 256), and every
    /// fresh neighbour's are asked for before the first is scored, so all
    /// their misses overlap.
    #[inline(always)]
    fn prefetch(&self, id: u32) {
        prefetch(self.ptr(id) as *const f32);
        prefetch_rest(self.ptr(id) as *const f32, self.dim / 4);
    }

    #[inline(always)]
    fn prefetch_rest(&self, _id: u32) {}

    /// Every line of the code, into L2 only: these are scored one
    /// expansion later, and asked for into L1 they held the miss buffers
    /// that the codes scored now were waiting for (the instructions after
    /// these prefetches were 15% of the walk's samples). Into L2 the SQ8
    /// walk gained 8–13% QPS at 1M × 128 (BENCHMARKS.md, "The 1M SQ8 walk,
    /// second round").
    #[inline(always)]
    fn prefetch_ahead(&self, id: u32) {
        // Each line once: a second request for a line in flight costs a
        // slot as the first did.
        let p = self.ptr(id);
        let skew = p as usize & 63;
        let line = p.wrapping_sub(skew);
        for i in 0..(skew + self.dim).div_ceil(64) {
            vector::prefetch_l2(line.wrapping_add(64 * i));
        }
    }

    const BATCH: bool = true;

    /// One kernel call for all of a node's fresh neighbours.
    fn score_all(&self, ids: &[u32], out: &mut Vec<f32>) {
        out.clear();
        let mut dots = [0i32; 64];
        for chunk in ids.chunks(dots.len()) {
            let dots = &mut dots[..chunk.len()];
            (self.dot_u8_ids)(self.query.weights(), self.codes, chunk, dots);
            out.extend(dots.iter().map(|&d| self.query.finish(d)));
        }
    }
}

/// Marks `id`'s unvisited neighbours visited and collects them in
/// `s.fresh`, prefetching each, so their first cache lines are all in
/// flight before any is scored (both beams expand a node this way).
///
/// # Safety
/// Every link of `layer` is below `layer.bound()` (the `Layer` contract),
/// and `layer.bound() <= s.marks()`.
#[inline(always)]
unsafe fn collect_fresh<'a, L: Layer<'a>, S: Scorer>(
    layer: &L,
    id: u32,
    scorer: &S,
    s: &mut Searcher,
) {
    s.fresh.clear();
    for &nb in layer.links(id) {
        // SAFETY: `nb < bound <= marks()` (the caller's guarantee).
        if unsafe { s.visit_unchecked(nb) } {
            s.fresh.push(nb);
            scorer.prefetch(nb);
        }
    }
}

/// Beam search on one layer, starting from the entries already in
/// `s.pool` (marked visited by the caller). Leaves the best `s.pool.cap`
/// nodes in `s.pool`; with a filter, passing nodes also go to `s.hits`.
///
/// With `planned` (queries on a batch scorer), each expansion is of the node
/// whose neighbours' codes the previous expansion asked for (the best
/// unexpanded node then), while it is still in the pool unexpanded, rather
/// than of the best unexpanded node now: a neighbour just scored that beats
/// it is expanded one step later, and the codes asked for are never
/// wasted. The walk still ends when every pool node is expanded, and its
/// answer depends only on its inputs. Builds pass `false` and expand best
/// first, so their graphs do not change.
///
/// # Panics
/// If `scorer` or the visited marks cover fewer than `layer.bound()` nodes.
pub(super) fn search_layer<'a, L: Layer<'a>, S: Scorer>(
    layer: &L,
    scorer: &S,
    s: &mut Searcher,
    filter: Option<&dyn Fn(u32) -> bool>,
    planned: bool,
) {
    // The unchecked reads below rely on exactly these two bounds, together
    // with the `Layer` contract that every link id is below `bound()`.
    let bound = layer.bound();
    assert!(
        bound <= scorer.len(),
        "hnsw: fewer vectors than graph nodes"
    );
    assert!(bound <= s.marks(), "hnsw: searcher not begun");
    let planned = planned && S::BATCH;
    let mut cursor = 0;
    // The node whose neighbours' codes were asked for, if any.
    let mut plan = u32::MAX;
    loop {
        while cursor < s.pool.items.len() && s.pool.items[cursor].id & EXPANDED != 0 {
            cursor += 1;
        }
        if cursor >= s.pool.items.len() {
            break;
        }
        let mut at = cursor;
        if planned && plan != u32::MAX {
            // Unexpanded pool ids carry no flag, so `plan` matches only
            // while it is in the pool and not yet expanded.
            if let Some(p) = s.pool.items[cursor..].iter().position(|c| c.id == plan) {
                at = cursor + p;
            }
        }
        let id = s.pool.items[at].id;
        s.pool.items[at].id = id | EXPANDED;

        // SAFETY: the asserts above give `bound <= marks()`.
        unsafe { collect_fresh(layer, id, scorer, s) };
        if S::BATCH {
            // A software pipeline two expansions deep. The node expanded
            // next (unless one of these neighbours beats it) had its record
            // asked for one expansion ago: read it now and ask for the codes
            // of its unvisited neighbours, so they arrive while this node's
            // are scored rather than after the next expansion starts (+8–17%
            // CPU-time QPS at 1M × 128, ef 80), into L2 only
            // (`prefetch_ahead`). The node after it gets its record asked
            // for. On codes the walk is bound by the misses in flight, so
            // records are asked for only for the nodes about to be expanded
            // (see the accept below).
            let mut ahead = s.pool.items[cursor..]
                .iter()
                .filter(|c| c.id & EXPANDED == 0);
            plan = u32::MAX;
            if let Some(next) = ahead.next() {
                plan = next.id;
                if let Some(after) = ahead.next() {
                    layer.prefetch_record(after.id);
                }
                for &nb in layer.links(next.id) {
                    // SAFETY: `nb < bound <= marks()` (Layer contract,
                    // assert above).
                    if !unsafe { s.seen_unchecked(nb) } {
                        scorer.prefetch_ahead(nb);
                    }
                }
            }
            scorer.score_all(&s.fresh, &mut s.scores);
        }
        for i in 0..s.fresh.len() {
            let nb = s.fresh[i];
            let score = if S::BATCH {
                s.scores[i]
            } else {
                if let Some(&next) = s.fresh.get(i + 1) {
                    // Pull in the rest of the next row while scoring this one.
                    scorer.prefetch_rest(next);
                }
                // SAFETY: `nb < bound <= scorer.len()` (Layer contract, assert above).
                unsafe { scorer.score_unchecked(nb) }
            };
            if let Some(f) = filter {
                if f(nb) {
                    s.hits.insert(nb, score);
                }
            }
            let pos = s.pool.insert(nb, score);
            if pos != usize::MAX {
                // Accepted nodes are likely to be expanded; reading a link
                // record was the single largest stall before this hint.
                if !S::BATCH {
                    layer.prefetch_links(nb);
                } else if pos <= cursor {
                    // Ahead of every unexpanded node: expanded next.
                    layer.prefetch_record(nb);
                }
                cursor = cursor.min(pos);
            }
        }
    }
}

/// A candidate in a binary heap: ordered by score, then by lower id, so a
/// wide walk's answer never depends on the order of equal scores.
#[derive(Clone, Copy, Debug)]
struct Ranked(Cand);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .score
            .total_cmp(&other.0.score)
            .then(other.0.id.cmp(&self.0.id))
    }
}

/// Keeps the best `cap` of what it is offered: a min-heap on the worst.
struct Best {
    heap: BinaryHeap<Reverse<Ranked>>,
    cap: usize,
}

impl Best {
    fn new(cap: usize) -> Self {
        Best {
            heap: BinaryHeap::with_capacity(cap + 1),
            cap: cap.max(1),
        }
    }

    /// Whether `c` would be kept now.
    #[inline(always)]
    fn admits(&self, c: Cand) -> bool {
        self.heap.len() < self.cap || self.heap.peek().is_some_and(|w| Ranked(c) > w.0)
    }

    #[inline(always)]
    fn offer(&mut self, c: Cand) -> bool {
        if !self.admits(c) {
            return false;
        }
        self.heap.push(Reverse(Ranked(c)));
        if self.heap.len() > self.cap {
            self.heap.pop();
        }
        true
    }

    /// Best first (ties by id), into `out`.
    fn drain_into(self, out: &mut Vec<Cand>) {
        out.clear();
        out.extend(self.heap.into_iter().map(|r| r.0 .0));
        out.sort_unstable_by_key(|c| Reverse(Ranked(*c)));
    }
}

/// Beam search on one layer for wide beams (the thousands of candidates a
/// walk over 1-bit codes hands to the exact re-score), from `start`, which
/// the caller marked visited. The sorted [`Pool`] of [`search_layer`] costs
/// O(ef) per accepted node (its memmove and the rescan for the next node to
/// expand), which dominated such walks; here two binary heaps cost
/// O(log ef). Leaves the best `ef` nodes in `s.pool.items` and, with a
/// filter, the best `hits` passing nodes in `s.hits.items`, best first,
/// ties by id.
///
/// # Panics
/// If `scorer` or the visited marks cover fewer than `layer.bound()` nodes.
pub(super) fn search_layer_wide<'a, L: Layer<'a>, S: Scorer>(
    layer: &L,
    scorer: &S,
    s: &mut Searcher,
    start: Cand,
    (ef, hits): (usize, usize),
    filter: Option<&dyn Fn(u32) -> bool>,
) {
    let bound = layer.bound();
    assert!(
        bound <= scorer.len(),
        "hnsw: fewer vectors than graph nodes"
    );
    assert!(bound <= s.marks(), "hnsw: searcher not begun");
    let mut frontier = BinaryHeap::with_capacity(ef);
    let mut best = Best::new(ef);
    let mut passing = Best::new(hits);
    frontier.push(Ranked(start));
    best.offer(start);
    if filter.is_some_and(|f| f(start.id)) {
        passing.offer(start);
    }
    while let Some(Ranked(c)) = frontier.pop() {
        // The best of the frontier fell out of a full beam: so did the rest.
        if best.heap.len() >= best.cap && best.heap.peek().is_some_and(|w| Ranked(c) < w.0) {
            break;
        }
        // SAFETY: the asserts above give `bound <= marks()`.
        unsafe { collect_fresh(layer, c.id, scorer, s) };
        for i in 0..s.fresh.len() {
            let nb = s.fresh[i];
            if let Some(&next) = s.fresh.get(i + 1) {
                scorer.prefetch_rest(next);
            }
            // SAFETY: `nb < bound <= scorer.len()` (Layer contract, assert above).
            let score = unsafe { scorer.score_unchecked(nb) };
            let cand = Cand { score, id: nb };
            if filter.is_some_and(|f| f(nb)) {
                passing.offer(cand);
            }
            if best.offer(cand) {
                layer.prefetch_links(nb);
                frontier.push(Ranked(cand));
            }
        }
    }
    best.drain_into(&mut s.pool.items);
    passing.drain_into(&mut s.hits.items);
}

/// Greedy walk (beam width 1) used above the target layer.
pub(super) fn greedy<'a, L: Layer<'a>, S: Scorer>(
    layer: &L,
    scorer: &S,
    mut cur: u32,
    mut cur_score: f32,
) -> (u32, f32) {
    loop {
        let mut moved = false;
        if S::BATCH {
            // Every neighbour's code in flight before the first is scored:
            // one wait per hop instead of one per neighbour (+1–6% QPS for
            // the SQ8 walk at 1M × 128).
            for &nb in layer.links(cur) {
                scorer.prefetch(nb);
            }
        }
        for &nb in layer.links(cur) {
            let score = scorer.score(nb);
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

impl Hnsw {
    /// The `k` best nodes for `query`, best first, as `(id, score)`.
    /// `ef` is the beam width on layer 0 (raised to `k`). `rows` are the
    /// vectors the graph was built on.
    ///
    /// # Panics
    /// If `rows.len() != len()` or `query.len() != rows.dim()`.
    pub fn search(
        &self,
        rows: Rows<'_>,
        query: &[f32],
        k: usize,
        ef: usize,
        searcher: &mut Searcher,
    ) -> Vec<(u32, f32)> {
        self.search_filtered(rows, query, k, ef, None, searcher)
    }

    /// Like [`search`](Self::search), but only nodes for which `filter`
    /// returns true are returned. Traversal still walks every node, so the
    /// graph stays connected; with a selective filter raise `ef` (see
    /// [`plan_filtered`](super::plan_filtered)), since the answer is the best
    /// passing nodes among those the beam visits.
    pub fn search_filtered(
        &self,
        rows: Rows<'_>,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        searcher: &mut Searcher,
    ) -> Vec<(u32, f32)> {
        assert_eq!(rows.len(), self.n, "hnsw: vector arena size");
        assert_eq!(query.len(), rows.dim(), "hnsw: query length");
        if self.n == 0 || k == 0 {
            return Vec::new();
        }
        // A query of few non-zero coordinates (a hashed text query) reads
        // only the row lines they fall on: a walk over 4 KiB rows waits on
        // memory, and a text query uses a dozen of a row's 64 lines.
        match vector::SparseQuery::of(query, vector::WORTH_GATHERING) {
            Some(sparse) => {
                let gathered = Gathered::new(rows, &sparse);
                self.walk(&gathered, ef.max(k), k, filter, searcher);
            }
            None => self.walk(&Exact::new(rows, query), ef.max(k), k, filter, searcher),
        }
        searcher
            .found(filter.is_some())
            .iter()
            .take(k)
            .map(|c| (c.id & !EXPANDED, c.score))
            .collect()
    }

    /// Quantized traversal: walks the graph scoring SQ8 `codes` (a quarter
    /// of the bytes of `rows`), then re-ranks the `max(ef, k)` best nodes the
    /// walk found (those passing `filter`, if any) by their exact inner
    /// product with `rows`. Returns the `k` best, best first, with exact
    /// scores (ties by id). Nodes whose code score is too far below the
    /// k-th best to reach the top k whatever the quantization error
    /// ([`Sq8Query::error_bound`]) are left out of the re-rank without
    /// changing the answer.
    ///
    /// # Panics
    /// If `rows` or `codes` do not hold `len()` rows of `query.len()` floats.
    #[allow(clippy::too_many_arguments)]
    pub fn search_sq8(
        &self,
        rows: Rows<'_>,
        codes: &Sq8Codes,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        searcher: &mut Searcher,
    ) -> Vec<(u32, f32)> {
        assert_eq!(rows.len(), self.n, "hnsw: vector arena size");
        assert_eq!(codes.len(), self.n, "hnsw: code arena size");
        let exact = Exact::new(rows, query);
        if self.n == 0 || k == 0 {
            return Vec::new();
        }
        let q = codes.quantizer().query(query);
        let keep = ef.max(k);
        self.walk(
            &Quantized::new(codes, Cow::Borrowed(&q)),
            keep,
            keep,
            filter,
            searcher,
        );
        let found = searcher.found(filter.is_some());
        // Only candidates that could still reach the exact top k are
        // re-ranked. Every score is within `err` of the exact one, so a
        // node scored below the k-th best walk score minus 2·err has an
        // exact score below those k nodes' exact scores, strictly: the
        // answer (ties included) is the one re-ranking every candidate
        // gives, and at 1M × 128 the f32 rows skipped were a tenth of the
        // lines a search read.
        let found = match found.get(k - 1) {
            Some(kth) => {
                let floor = kth.score - 2.0 * q.error_bound();
                &found[..found.partition_point(|c| c.score >= floor)]
            }
            None => found,
        };
        // The re-rank reads a whole f32 row per candidate, each a miss to
        // memory: ask for all of them first so the misses overlap.
        for c in found {
            let id = c.id & !EXPANDED;
            exact.prefetch(id);
            exact.prefetch_rest(id);
        }
        let mut out: Vec<(u32, f32)> = found
            .iter()
            .map(|c| {
                let id = c.id & !EXPANDED;
                (id, exact.score(id))
            })
            .collect();
        out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        out
    }

    /// The greedy descent through the upper layers: the layer-0 entry
    /// point of a walk and its score.
    fn descend<S: Scorer>(&self, scorer: &S) -> (u32, f32) {
        let mut cur = self.entry;
        let mut cur_score = scorer.score(cur);
        for level in (1..=self.max_level).rev() {
            (cur, cur_score) = greedy(&self.upper(level), scorer, cur, cur_score);
        }
        (cur, cur_score)
    }

    /// [`walk`](Self::walk) with [`search_layer_wide`] on layer 0.
    pub(super) fn walk_wide<S: Scorer>(
        &self,
        scorer: &S,
        ef: usize,
        hits: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        s: &mut Searcher,
    ) {
        let (cur, cur_score) = self.descend(scorer);
        s.begin(self.n);
        s.visit(cur);
        let start = Cand {
            score: cur_score,
            id: cur,
        };
        search_layer_wide(&self.layer0(), scorer, s, start, (ef, hits), filter);
    }

    /// Greedy descent and the layer-0 beam (width `ef`), leaving the beam
    /// in `s.pool` and, with a filter, the best `hits` passing nodes in
    /// `s.hits`. The graph must not be empty.
    pub(super) fn walk<S: Scorer>(
        &self,
        scorer: &S,
        ef: usize,
        hits: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
        s: &mut Searcher,
    ) {
        let (cur, cur_score) = self.descend(scorer);
        s.begin(self.n);
        s.pool.reset(ef);
        s.hits.reset(hits);
        s.visit(cur);
        s.pool.insert(cur, cur_score);
        if let Some(f) = filter {
            if f(cur) {
                s.hits.insert(cur, cur_score);
            }
        }
        search_layer(&self.layer0(), scorer, s, filter, true);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::build;
    use super::*;
    use crate::index::testing;

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
    fn a_sparse_query_walks_as_the_full_product_does() {
        let dim = 512;
        let v = testing::hashed(3000, dim, 24, 7);
        let h = build(&v, dim, 3);
        let rows = Rows::new(&v, dim);
        let queries = testing::hashed(40, dim, 6, 8);
        let (mut s, mut t) = (Searcher::new(), Searcher::new());
        for q in queries.chunks_exact(dim) {
            let sparse =
                vector::SparseQuery::of(q, vector::WORTH_GATHERING).expect("a sparse query");
            let got = h.search_filtered(rows, q, 10, 64, None, &mut s);
            // The same walk with the full product.
            h.walk(&Exact::new(rows, q), 64, 10, None, &mut t);
            let want: Vec<(u32, f32)> = t
                .found(false)
                .iter()
                .take(10)
                .map(|c| (c.id & !EXPANDED, c.score))
                .collect();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0);
                assert!((g.1 - w.1).abs() <= 1e-6, "{} vs {}", g.1, w.1);
                assert!((g.1 - sparse.dot(rows.row(g.0))).abs() == 0.0);
            }
        }
        // A dense query takes the full product.
        assert!(vector::SparseQuery::of(
            &testing::clustered(1, dim, 1, 0.1, 1),
            vector::WORTH_GATHERING
        )
        .is_none());
    }

    #[test]
    fn filter_restricts_results() {
        let dim = 16;
        let v = testing::clustered(2000, dim, 5, 0.1, 2);
        let h = build(&v, dim, 1);
        let rows = Rows::new(&v, dim);
        let mut s = Searcher::new();
        let even = |id: u32| id.is_multiple_of(2);
        let q = &v[..dim];
        let got = h.search_filtered(rows, q, 10, 64, Some(&even), &mut s);
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|(id, _)| id % 2 == 0));
        assert!(got.windows(2).all(|w| w[0].1 >= w[1].1));
        let none = |_: u32| false;
        assert!(h
            .search_filtered(rows, q, 10, 64, Some(&none), &mut s)
            .is_empty());
    }

    #[test]
    fn each_search_starts_unmarked() {
        let dim = 8;
        let v = testing::clustered(500, dim, 4, 0.1, 3);
        let h = build(&v, dim, 1);
        let rows = Rows::new(&v, dim);
        let mut s = Searcher::new();
        let before = h.search(rows, &v[..dim], 5, 16, &mut s);
        // A wide search marks most words (cleared by one fill), narrow
        // ones a few (cleared word by word): neither leaves a mark behind.
        for ef in [400, 16, 16, 300, 16] {
            h.search(rows, &v[7 * dim..8 * dim], 5, ef, &mut s);
            assert_eq!(h.search(rows, &v[..dim], 5, 16, &mut s), before);
        }
        s.begin(500);
        assert!(s.visited.iter().all(|&w| w == 0));
        assert!((0..500).all(|id| s.visit(id)));
        assert!((0..500).all(|id| !s.visit(id)));
    }

    /// Walking on SQ8 codes and re-ranking on f32 finds what the f32 walk
    /// finds: recall@10 against the exact answer close to it.
    #[test]
    fn quantized_walk_keeps_recall() {
        let (n, dim, k) = (8_000, 48, 10);
        let all = testing::clustered(n + 100, dim, 30, 0.12, 5);
        let (base, queries) = all.split_at(n * dim);
        let h = build(base, dim, 2);
        let rows = Rows::new(base, dim);
        let codes = Sq8Codes::build(rows);
        let mut s = Searcher::new();
        let (mut f32_hits, mut sq8_hits) = (0, 0);
        for q in queries.chunks_exact(dim) {
            let truth = testing::brute_force(base, dim, q, k);
            let a = h.search(rows, q, k, 64, &mut s);
            let b = h.search_sq8(rows, &codes, q, k, 64, None, &mut s);
            assert_eq!(b.len(), k);
            assert!(b.windows(2).all(|w| w[0].1 >= w[1].1));
            // Re-ranked scores are the exact ones.
            for &(id, score) in &b {
                assert_eq!(score, Exact::new(rows, q).score(id));
            }
            f32_hits += a.iter().filter(|(id, _)| truth.contains(id)).count();
            sq8_hits += b.iter().filter(|(id, _)| truth.contains(id)).count();
        }
        let total = (queries.len() / dim * k) as f64;
        let (rf, rq) = (f32_hits as f64 / total, sq8_hits as f64 / total);
        assert!(rq >= 0.95 && rq >= rf - 0.02, "sq8 {rq} f32 {rf}");
        let odd = |id: u32| id % 3 == 1;
        let got = h.search_sq8(rows, &codes, &queries[..dim], k, 64, Some(&odd), &mut s);
        assert!(got.len() == k && got.iter().all(|&(id, _)| odd(id)));
    }

    /// The planned order (a query's walk expands the node whose codes it
    /// asked for, even when a neighbour just scored beats it) finds what
    /// the strict best-first order finds: the same recall within a point,
    /// each walk ending with every pool node expanded, and the same answer
    /// when repeated.
    #[test]
    fn planned_walk_keeps_recall_of_best_first() {
        let (n, dim, k, ef) = (8_000, 40, 10, 48);
        let all = testing::clustered(n + 100, dim, 30, 0.12, 11);
        let (base, queries) = all.split_at(n * dim);
        let h = build(base, dim, 2);
        let rows = Rows::new(base, dim);
        let codes = Sq8Codes::build(rows);
        let mut s = Searcher::new();
        let top_k = |q: &[f32], pool: &[Cand]| -> Vec<u32> {
            let e = Exact::new(rows, q);
            let mut v: Vec<(u32, f32)> = pool
                .iter()
                .map(|c| (c.id & !EXPANDED, e.score(c.id & !EXPANDED)))
                .collect();
            v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.into_iter().take(k).map(|(id, _)| id).collect()
        };
        let (mut planned_hits, mut strict_hits, mut differ) = (0, 0, 0);
        for q in queries.chunks_exact(dim) {
            let truth = testing::brute_force(base, dim, q, k);
            let sq = codes.quantizer().query(q);
            let scorer = Quantized::new(&codes, Cow::Borrowed(&sq));
            let walks: Vec<Vec<Cand>> = [true, false]
                .into_iter()
                .map(|planned| {
                    let (cur, score) = h.descend(&scorer);
                    s.begin(h.n);
                    s.pool.reset(ef);
                    s.hits.reset(ef);
                    s.visit(cur);
                    s.pool.insert(cur, score);
                    search_layer(&h.layer0(), &scorer, &mut s, None, planned);
                    assert!(s.pool.items.iter().all(|c| c.id & EXPANDED != 0));
                    s.pool.items.clone()
                })
                .collect();
            h.walk(&scorer, ef, ef, None, &mut s);
            let again: Vec<u32> = s.pool.items.iter().map(|c| c.id).collect();
            assert_eq!(again, walks[0].iter().map(|c| c.id).collect::<Vec<_>>());
            let ids = |w: &[Cand]| w.iter().map(|c| c.id).collect::<Vec<_>>();
            differ += usize::from(ids(&walks[0]) != ids(&walks[1]));
            planned_hits += top_k(q, &walks[0])
                .iter()
                .filter(|id| truth.contains(id))
                .count();
            strict_hits += top_k(q, &walks[1])
                .iter()
                .filter(|id| truth.contains(id))
                .count();
        }
        let total = (queries.len() / dim * k) as f64;
        let (rp, rs) = (planned_hits as f64 / total, strict_hits as f64 / total);
        assert!(rp >= 0.9 && rp >= rs - 0.01, "planned {rp} strict {rs}");
        // Not vacuous: the two orders are different walks.
        assert!(differ > 0, "the planned order changed no walk");
    }

    /// Leaving the candidates the error bound rules out of the re-rank
    /// changes nothing: the answer is the full re-rank's, ties included,
    /// with and without a filter, at several k and ef.
    #[test]
    fn pruned_rerank_equals_full_rerank() {
        let (n, dim) = (6_000, 33);
        let all = testing::clustered(n + 40, dim, 20, 0.15, 9);
        let (base, queries) = all.split_at(n * dim);
        let h = build(base, dim, 2);
        let rows = Rows::new(base, dim);
        let codes = Sq8Codes::build(rows);
        let exact_of = |q: &[f32], ids: &[Cand]| {
            let e = Exact::new(rows, q);
            let mut v: Vec<(u32, f32)> = ids
                .iter()
                .map(|c| (c.id & !EXPANDED, e.score(c.id & !EXPANDED)))
                .collect();
            v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        let mut s = Searcher::new();
        let third = |id: u32| id.is_multiple_of(3);
        for q in queries.chunks_exact(dim) {
            for (k, ef) in [(1, 16), (10, 10), (10, 64), (25, 40)] {
                for filter in [None, Some(&third as &dyn Fn(u32) -> bool)] {
                    let got = h.search_sq8(rows, &codes, q, k, ef, filter, &mut s);
                    let sq = codes.quantizer().query(q);
                    let keep = ef.max(k);
                    h.walk(
                        &Quantized::new(&codes, Cow::Borrowed(&sq)),
                        keep,
                        keep,
                        filter,
                        &mut s,
                    );
                    let mut want = exact_of(q, s.found(filter.is_some()));
                    want.truncate(k);
                    assert_eq!(got, want, "k {k} ef {ef}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "vector arena size")]
    fn search_refuses_other_vectors() {
        let dim = 8;
        let v = testing::clustered(100, dim, 4, 0.1, 3);
        let h = build(&v, dim, 1);
        h.search(
            Rows::new(&v[..50 * dim], dim),
            &v[..dim],
            5,
            16,
            &mut Searcher::new(),
        );
    }
}
