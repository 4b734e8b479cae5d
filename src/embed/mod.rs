//! Hashed bag-of-words embedder: every term's UTF-8 bytes are hashed with
//! XXH3-64 under a fixed seed; the hash picks a bucket (hash mod dim) and a
//! sign (its top bit, independent of the bucket for any dim up to 2^63);
//! the bucket gets (1 + ln tf) × idf with the sign; the vector is
//! L2-normalized so a dot product is a cosine.

mod idf;
mod learn;
mod lexicon;

pub use idf::{DfCount, DfGroupCount, GroupMasks, Idf, IdfV4};
pub use learn::{learn_lexicon, read_parallel, LearnOptions, LearnReport, ParallelPair, Score};
use lexicon::ExpandScratch;
pub use lexicon::{Bridge, Lexicon, DEFAULT_BRIDGE};

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::text::{Analyzer, AnalyzerSettings, Scratch};
use crate::vector;

/// The seed every index uses unless told otherwise; part of the format:
/// changing it changes every vector.
pub const DEFAULT_SEED: u64 = 0x7665_6373_6561_7263; // "vecsearc"
pub const DEFAULT_DIM: u32 = 1024;
pub const MAX_DIM: u32 = 1 << 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderSettings {
    pub dim: u32,
    pub seed: u64,
    pub analyzer: AnalyzerSettings,
    /// Token translations added as extra terms (see `lexicon.rs`). Saved in
    /// the cross-language section, not the config section, so files
    /// written before it existed still open (as "no lexicon").
    #[serde(skip)]
    pub lexicon: Option<Arc<Lexicon>>,
}

impl Default for EmbedderSettings {
    fn default() -> Self {
        EmbedderSettings {
            dim: DEFAULT_DIM,
            seed: DEFAULT_SEED,
            analyzer: AnalyzerSettings::default(),
            lexicon: Some(Lexicon::builtin()),
        }
    }
}

/// Stable term hash; saved to disk through the idf table, so it must never
/// change for a given format version.
#[inline]
pub fn term_hash(term: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(term.as_bytes(), seed)
}

/// Strength of a Latin subword gram next to a whole word: a long word
/// yields many grams, which at full weight would drown the word itself and
/// the lexicon's translations in the vector's norm.
/// 0.5 measured best of 1, 0.5, 0.3, 0.15 on the seeds and the sample.
const GRAM_WEIGHT: f32 = 0.5;

/// 1 + ln tf, from a table for the frequencies most terms have (the same
/// f32 expression, so the same bits).
#[inline]
fn strength(tf: usize) -> f32 {
    static TABLE: OnceLock<[f32; 64]> = OnceLock::new();
    let table = TABLE.get_or_init(|| std::array::from_fn(|n| 1.0 + (n as f32).ln()));
    match table.get(tf) {
        Some(&s) => s,
        None => 1.0 + (tf as f32).ln(),
    }
}

/// Document frequencies below this are the most common and get their idf
/// weight from [`WeightCache`].
const WEIGHT_CACHE: usize = 1024;

/// Idf weights by document frequency for one table size, each computed by
/// [`Idf::weight_for_df`] on first use (the same bits, without a
/// logarithm per term of every passage).
#[derive(Default)]
struct WeightCache {
    n_docs: Option<u64>,
    /// NaN = not computed yet (a weight is never NaN).
    table: Vec<f32>,
}

impl WeightCache {
    #[inline]
    fn weight(&mut self, idf: &Idf, df: u32) -> f32 {
        match self.table.get_mut(df as usize) {
            Some(w) if !w.is_nan() => *w,
            Some(w) => {
                *w = idf.weight_for_df(df);
                *w
            }
            None => idf.weight_for_df(df),
        }
    }
}

/// `idf.df` of each term of `counts`, in order, into `out`.
///
/// At corpus scale the idf table holds millions of terms, and a binary
/// search per term of every passage was a third of a whole build, nearly
/// all of it cache misses. So a thread that keeps embedding against one
/// table builds an [`IdfHint`] for it and finds each term in a bucket of
/// a few entries. A one-off query never builds one. Without a hint, sorted
/// terms are found by divide and conquer: each term's position bounds the
/// search of the terms on either side.
fn document_frequencies(
    counts: &[(u64, f32)],
    idf: &Idf,
    shared: Option<&IdfHint>,
    out: &mut Vec<u32>,
) {
    out.clear();
    let hashes: &[u64] = &idf.hashes;
    let df: &[u32] = &idf.df;
    if let Some(hint) = shared {
        hint.dfs(hashes, df, counts, out);
        return;
    }
    HINT.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(hint) = c.for_table(hashes, idf.n_docs) {
            hint.dfs(hashes, df, counts, out);
        } else if counts.windows(2).all(|w| w[0].0 < w[1].0) {
            out.resize(counts.len(), 0);
            find_sorted(hashes, df, counts, out);
        } else {
            out.extend(counts.iter().map(|&(h, _)| idf.df(h)));
        }
    });
}

thread_local! {
    /// This thread's [`IdfHint`], for whichever table it last looked in.
    static HINT: RefCell<HintCache> = RefCell::default();
}

/// The position in `idf`'s table of each term of `counts`, in order, as
/// `binary_search` finds it, through this thread's hint once it has one
/// (the language masks of a build look up every term of every passage,
/// as the embedding does).
pub(crate) fn for_each_position(counts: &Terms, idf: &Idf, mut f: impl FnMut(Option<usize>)) {
    let hashes: &[u64] = &idf.hashes;
    HINT.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(hint) = c.for_table(hashes, idf.n_docs) {
            counts.iter().for_each(|&(h, _)| f(hint.find(hashes, h)));
        } else {
            counts
                .iter()
                .for_each(|&(h, _)| f(hashes.binary_search(&h).ok()));
        }
    });
}

/// Calls on one table before a thread builds its hint: a hint costs a pass
/// over the table, worth it for a build's or a batch's many passages, not
/// for a query.
const HINT_AFTER_CALLS: u32 = 256;

/// A thread's hint and which table it was made for. The key (address,
/// length, passage count) can outlive its table and match a new one, so
/// [`IdfHint::df`] checks every bucket against the table it searches and
/// falls back to a binary search when they disagree: a stale hint costs
/// time, never a wrong count.
#[derive(Default)]
struct HintCache {
    key: (usize, usize, u64),
    calls: u32,
    hint: Option<IdfHint>,
}

impl HintCache {
    fn for_table(&mut self, hashes: &[u64], n_docs: u64) -> Option<&IdfHint> {
        let key = (hashes.as_ptr() as usize, hashes.len(), n_docs);
        if key != self.key {
            *self = HintCache {
                key,
                calls: 0,
                hint: None,
            };
        }
        if self.hint.is_none() {
            self.calls += 1;
            if self.calls < HINT_AFTER_CALLS {
                return None;
            }
            self.hint = IdfHint::new(hashes);
        }
        self.hint.as_ref()
    }
}

/// Where each range of hash values starts in a sorted table: bucket `k`
/// (the top `64 - shift` bits of a hash) covers `starts[k]..starts[k + 1]`.
/// Term hashes are uniform, so a bucket holds about two entries.
///
/// A long-running process that answers queries on any of its threads (a
/// server) builds one for its table when it opens it
/// ([`IdfHint::for_idf`]) and passes it to [`Embedder::embed_query`]:
/// a query then finds each term in one bucket instead of a binary search
/// whose probes all miss the cache after the process has idled. The
/// per-thread hint is built only after [`HINT_AFTER_CALLS`] calls on one
/// thread, which a server that hands each request to whichever thread is
/// free may never reach.
pub struct IdfHint {
    shift: u32,
    starts: Vec<u32>,
}

impl std::fmt::Debug for IdfHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdfHint")
            .field("buckets", &self.starts.len().saturating_sub(1))
            .finish()
    }
}

impl IdfHint {
    /// A hint for `idf`'s table (`None` for an empty or huge one); it
    /// finds exactly what a binary search finds, and is checked against
    /// the table it is used with, so a hint made for another table costs
    /// time, never a wrong count.
    pub fn for_idf(idf: &Idf) -> Option<IdfHint> {
        IdfHint::new(&idf.hashes)
    }

    fn new(hashes: &[u64]) -> Option<IdfHint> {
        if hashes.is_empty() || hashes.len() >= u32::MAX as usize {
            return None;
        }
        let bits = (hashes.len() / 2).max(1).ilog2().clamp(1, 28);
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut i = 0;
        for k in 0..buckets as u64 {
            while i < hashes.len() && (hashes[i] >> shift) < k {
                i += 1;
            }
            starts.push(i as u32);
        }
        starts.push(hashes.len() as u32);
        Some(IdfHint { shift, starts })
    }

    #[inline]
    fn df(&self, hashes: &[u64], df: &[u32], h: u64) -> u32 {
        self.find(hashes, h).map_or(0, |i| df[i])
    }

    /// [`IdfHint::df`] of each term of `counts`, in order, appended to
    /// `out`. A lookup is three dependent reads that miss the cache (the
    /// bucket, its entries, the count), so the buckets are fetched
    /// [`AHEAD`] terms ahead and the entries they point to half as far:
    /// the misses of several terms overlap instead of following each other.
    fn dfs(&self, hashes: &[u64], df: &[u32], counts: &[(u64, f32)], out: &mut Vec<u32>) {
        const AHEAD: usize = 16;
        let bucket = |h: u64| (h >> self.shift) as usize;
        for (i, &(h, _)) in counts.iter().enumerate() {
            if let Some(&(far, _)) = counts.get(i + AHEAD) {
                vector::prefetch(self.starts.as_ptr().wrapping_add(bucket(far)));
            }
            if let Some(&(near, _)) = counts.get(i + AHEAD / 2) {
                let lo = self.starts[bucket(near)] as usize;
                vector::prefetch(hashes.as_ptr().wrapping_add(lo.saturating_sub(1)));
                vector::prefetch(hashes.as_ptr().wrapping_add(lo + 1));
                vector::prefetch(df.as_ptr().wrapping_add(lo));
            }
            out.push(self.df(hashes, df, h));
        }
    }

    /// The position of `h` in `hashes`, exactly where a binary search
    /// finds it.
    #[inline]
    fn find(&self, hashes: &[u64], h: u64) -> Option<usize> {
        let k = (h >> self.shift) as usize;
        let (lo, hi) = (self.starts[k] as usize, self.starts[k + 1] as usize);
        // The bucket is right for this table when it lies inside it and its
        // neighbours fence `h` out; only then can `h` be nowhere else.
        let fenced = lo <= hi
            && hi <= hashes.len()
            && (lo == 0 || hashes[lo - 1] < h)
            && (hi == hashes.len() || hashes[hi] > h);
        if fenced {
            hashes[lo..hi].iter().position(|&x| x == h).map(|i| lo + i)
        } else {
            hashes.binary_search(&h).ok()
        }
    }
}

fn find_sorted(hashes: &[u64], df: &[u32], keys: &[(u64, f32)], out: &mut [u32]) {
    if keys.is_empty() {
        return;
    }
    let mid = keys.len() / 2;
    let (left, right) = match hashes.binary_search(&keys[mid].0) {
        Ok(i) => {
            out[mid] = df[i];
            (i, i + 1)
        }
        Err(i) => {
            out[mid] = 0;
            (i, i)
        }
    };
    find_sorted(&hashes[..left], &df[..left], &keys[..mid], &mut out[..mid]);
    find_sorted(
        &hashes[right..],
        &df[right..],
        &keys[mid + 1..],
        &mut out[mid + 1..],
    );
}

/// Buffers of [`Embedder::term_counts`], one set per thread.
#[derive(Default)]
struct CountScratch {
    analyzer: Scratch,
    hashes: Vec<u64>,
    grams: Vec<u64>,
    /// Hashes of Katakana compound parts: hidden sources of strength 1.
    parts: Vec<u64>,
    counts: Vec<(u64, f32)>,
    expand: ExpandScratch,
}

/// Term hashes of a text with their strengths, sorted by hash: 1 + ln tf
/// for a written term, plus what the lexicon bridge adds for translations.
pub type TermCounts = Vec<(u64, f32)>;

/// A passage's term counts borrowed: from a [`TermCounts`] or from an
/// arena holding many passages'.
pub type Terms = [(u64, f32)];

#[derive(Debug, Clone)]
pub struct Embedder {
    pub settings: EmbedderSettings,
    analyzer: Analyzer,
    bridge: Option<Arc<Bridge>>,
}

impl Embedder {
    /// Builds the bridge from `settings.lexicon`, if any.
    pub fn new(settings: EmbedderSettings) -> Self {
        let bridge = settings
            .lexicon
            .as_ref()
            .map(|l| Arc::new(Bridge::new(l, settings.seed)));
        Self::with_bridge(settings, bridge)
    }

    /// Uses a bridge already built (an index's, pruned or read from its
    /// file) instead of `settings.lexicon`.
    pub fn with_bridge(settings: EmbedderSettings, bridge: Option<Arc<Bridge>>) -> Self {
        let analyzer = Analyzer::new(settings.analyzer.clone());
        Embedder {
            settings,
            analyzer,
            bridge,
        }
    }

    pub fn bridge(&self) -> Option<&Arc<Bridge>> {
        self.bridge.as_ref()
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn dim(&self) -> usize {
        self.settings.dim as usize
    }

    pub fn term_counts(&self, text: &str) -> TermCounts {
        self.with_term_counts(text, <[_]>::to_vec)
    }

    /// Calls `f` with [`Embedder::term_counts`] of `text`, borrowed from
    /// this thread's buffers: a build copies them straight into an arena
    /// rather than allocating a vector per passage.
    pub fn with_term_counts<T>(&self, text: &str, f: impl FnOnce(&Terms) -> T) -> T {
        thread_local! {
            static SCRATCH: RefCell<CountScratch> = RefCell::default();
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            self.term_counts_with(text, &mut s);
            f(&s.counts)
        })
    }

    /// [`Embedder::term_counts`] with its buffers in `s`: a build counts
    /// the terms of a million passages, and fresh buffers for each (a
    /// dozen vectors and strings) cost as much as the counting.
    fn term_counts_with(&self, text: &str, s: &mut CountScratch) {
        let CountScratch {
            analyzer,
            hashes,
            grams,
            parts,
            counts,
            expand,
        } = s;
        hashes.clear();
        grams.clear();
        parts.clear();
        counts.clear();
        let seed = self.settings.seed;
        let bridge = self.bridge.as_deref();
        self.analyzer.for_each_term(text, analyzer, |term| {
            let h = term_hash(term, seed);
            if term.starts_with('#') {
                grams.push(h);
            }
            hashes.push(h);
            if let Some(b) = bridge {
                b.compound_parts(term, parts);
            }
        });
        grams.sort_unstable();
        hashes.sort_unstable();
        // One pass over the sorted hashes: run lengths are the term
        // frequencies, and the sorted grams are walked alongside.
        let mut g = 0;
        let mut i = 0;
        while i < hashes.len() {
            let h = hashes[i];
            let run = hashes[i..].iter().take_while(|&&x| x == h).count();
            i += run;
            let s = strength(run);
            while g < grams.len() && grams[g] < h {
                g += 1;
            }
            if g < grams.len() && grams[g] == h {
                counts.push((h, s * GRAM_WEIGHT));
            } else {
                counts.push((h, s));
            }
        }
        if let Some(b) = bridge {
            b.expand_with(counts, parts, expand);
        }
    }

    /// Each term's weight, strength × idf, where strength is 1 + ln tf. Terms the corpus never saw are
    /// left out when `skip_unseen` (queries): they can match nothing.
    fn weights(&self, counts: &Terms, idf: &Idf, skip_unseen: bool) -> Vec<(u64, f32)> {
        self.weights_hinted(counts, idf, None, skip_unseen)
    }

    /// [`Embedder::weights`], looking terms up through `shared` when given.
    fn weights_hinted(
        &self,
        counts: &Terms,
        idf: &Idf,
        shared: Option<&IdfHint>,
        skip_unseen: bool,
    ) -> Vec<(u64, f32)> {
        thread_local! {
            static SCRATCH: RefCell<(Vec<u32>, WeightCache)> = RefCell::default();
        }
        SCRATCH.with(|s| {
            let (dfs, cache) = &mut *s.borrow_mut();
            document_frequencies(counts, idf, shared, dfs);
            if cache.n_docs != Some(idf.n_docs) {
                *cache = WeightCache {
                    n_docs: Some(idf.n_docs),
                    table: vec![f32::NAN; WEIGHT_CACHE],
                };
            }
            let mut out = Vec::with_capacity(counts.len());
            for (&(h, strength), &df) in counts.iter().zip(dfs.iter()) {
                if skip_unseen && df == 0 {
                    continue;
                }
                out.push((h, strength * cache.weight(idf, df)));
            }
            out
        })
    }

    /// Writes the unit hashed vector of `counts` into `out` (length dim).
    pub fn embed_counts(&self, counts: &Terms, idf: &Idf, skip_unseen: bool, out: &mut [f32]) {
        self.embed_weights(self.weights(counts, idf, skip_unseen).into_iter(), out);
    }

    /// [`Embedder::embed_counts`] and [`Embedder::sparse`] of a stored
    /// passage (nothing skipped) at once: each term's idf is looked up once
    /// rather than twice. The results are bit-identical to the two calls.
    pub fn embed_passage(&self, counts: &Terms, idf: &Idf, out: &mut [f32]) -> Vec<(u64, f32)> {
        let weights = self.weights(counts, idf, false);
        self.embed_weights(weights.iter().copied(), out);
        unit_sparse(weights)
    }

    /// [`Embedder::embed_counts`] and [`Embedder::sparse`] of a query
    /// (unseen terms skipped) at once, each term's idf looked up once,
    /// through `hint` when given (see [`IdfHint`]). The results are
    /// bit-identical to the two calls.
    pub fn embed_query(
        &self,
        counts: &Terms,
        idf: &Idf,
        hint: Option<&IdfHint>,
        out: &mut [f32],
    ) -> Vec<(u64, f32)> {
        let weights = self.weights_hinted(counts, idf, hint, true);
        self.embed_weights(weights.iter().copied(), out);
        unit_sparse(weights)
    }

    fn embed_weights(&self, weights: impl Iterator<Item = (u64, f32)>, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.dim());
        out.iter_mut().for_each(|x| *x = 0.0);
        let dim = self.settings.dim as u64;
        for (h, w) in weights {
            let bucket = (h % dim) as usize;
            if h >> 63 == 1 {
                out[bucket] -= w;
            } else {
                out[bucket] += w;
            }
        }
        vector::normalize(out);
    }

    /// The exact sparse unit vector of `counts`: (term hash, weight) sorted
    /// by hash, free of the collisions of the hashed vector.
    pub fn sparse(&self, counts: &Terms, idf: &Idf, skip_unseen: bool) -> Vec<(u64, f32)> {
        unit_sparse(self.weights(counts, idf, skip_unseen))
    }
}

/// Scales weights to unit L2 length (all-zero weights stay zero).
fn unit_sparse(mut v: Vec<(u64, f32)>) -> Vec<(u64, f32)> {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_hashes_never_change() {
        // Frozen: these values are baked into every saved index.
        assert_eq!(term_hash("", DEFAULT_SEED), GOLDEN[0]);
        assert_eq!(term_hash("ベクトル", DEFAULT_SEED), GOLDEN[1]);
        assert_eq!(term_hash("données", DEFAULT_SEED), GOLDEN[2]);
        assert_eq!(term_hash("向量", DEFAULT_SEED), GOLDEN[3]);
        assert_eq!(term_hash("vector", 0), GOLDEN[4]);
    }
    // Cross-checked against the Python `xxhash` package (xxh3_64_intdigest).
    const GOLDEN: [u64; 5] = [
        12713509266176521488,
        9805548559147541718,
        7976036135349307100,
        14274888234905169121,
        6218670532485574397,
    ];

    #[test]
    fn idf_hints_find_what_binary_search_finds_even_when_stale() {
        let table = |seed: u64, n: usize| -> Vec<u64> {
            let mut v: Vec<u64> = (0..n as u64)
                .map(|i| term_hash(&i.to_string(), seed))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let hashes = table(1, 5000);
        let df: Vec<u32> = (1..=hashes.len() as u32).collect();
        let other = table(2, 9000);
        let probes: Vec<u64> = hashes.iter().copied().chain(table(3, 2000)).collect();
        for hint in [
            IdfHint::new(&hashes).unwrap(),
            IdfHint::new(&other).unwrap(),
        ] {
            for &h in &probes {
                let want = hashes.binary_search(&h).map_or(0, |i| df[i]);
                assert_eq!(hint.df(&hashes, &df, h), want);
            }
        }
        // The divide-and-conquer path agrees too.
        let mut keys: Vec<(u64, f32)> = probes.iter().map(|&h| (h, 1.0)).collect();
        keys.sort_by_key(|k| k.0);
        keys.dedup_by_key(|k| k.0);
        let mut out = vec![0; keys.len()];
        find_sorted(&hashes, &df, &keys, &mut out);
        for (k, got) in keys.iter().zip(out) {
            assert_eq!(got, hashes.binary_search(&k.0).map_or(0, |i| df[i]));
        }
    }

    /// A query embedded in one pass, with the table's own hint, a hint of
    /// another table or none, has the very bits of the two separate calls.
    #[test]
    fn embed_query_is_embed_counts_and_sparse() {
        let e = Embedder::new(EmbedderSettings {
            dim: 256,
            ..Default::default()
        });
        let texts = [
            "vector search over documentation",
            "recherche vectorielle dans la documentation",
            "ベクトル検索の仕組み",
            "die Suche nach Vektoren",
        ];
        let rows: Vec<TermCounts> = texts.iter().map(|t| e.term_counts(t)).collect();
        let idf = Idf::from_passages(rows.iter().map(Vec::as_slice).collect::<Vec<_>>());
        let other = Idf::from_passages(vec![e.term_counts("something else entirely").as_slice()]);
        let own = IdfHint::for_idf(&idf).unwrap();
        let stale = IdfHint::for_idf(&other).unwrap();
        for q in [
            "vector documentation",
            "ベクトル",
            "Vektoren suchen",
            "unseen words only",
        ] {
            let counts = e.term_counts(q);
            let mut want = vec![0.0; 256];
            e.embed_counts(&counts, &idf, true, &mut want);
            let want_sparse = e.sparse(&counts, &idf, true);
            for hint in [None, Some(&own), Some(&stale)] {
                let mut got = vec![1.0; 256];
                let sparse = e.embed_query(&counts, &idf, hint, &mut got);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{q}");
                assert_eq!(sparse.len(), want_sparse.len(), "{q}");
                for (a, b) in sparse.iter().zip(&want_sparse) {
                    assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()), "{q}");
                }
            }
        }
    }

    #[test]
    fn embedding_is_unit_length_and_signed() {
        let e = Embedder::new(EmbedderSettings {
            dim: 64,
            lexicon: None,
            analyzer: AnalyzerSettings {
                latin_subwords: false,
                ..Default::default()
            },
            ..Default::default()
        });
        let counts = e.term_counts("vector search vector databases");
        let sum: f32 = counts.iter().map(|c| c.1).sum();
        assert!(
            (sum - (3.0 + 2f32.ln())).abs() < 1e-5,
            "1 + ln 2 for the repeated term"
        );
        let idf = Idf::from_passages(vec![counts.as_slice()]);
        let mut v = vec![0.0; 64];
        e.embed_counts(&counts, &idf, false, &mut v);
        let norm: f32 = v.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
