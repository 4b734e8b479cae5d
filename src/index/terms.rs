//! Passages' exact term rows, packed: each term is one `u32`, its 24-bit
//! key (the top 24 bits of the term hash) above an 8-bit weight. Sorting
//! the packed words sorts the keys, so a row is one sorted array and the
//! re-score is a merge join on `word >> 8`. Four bytes a term (format 5
//! kept six: a u32 key and a u16 weight), read in one stream.
//!
//! Why the precision is enough: the rows only re-score candidates. A
//! 24-bit key lets two different terms meet with odds of about 2^-24 per
//! (query term, passage term) pair, which moves a score by one small
//! product. The weight is stored as `round(255·√w)` (the rows are unit
//! vectors with positive weights): about 1–2% relative error on the weights
//! that carry a score, and errors of independent terms average out in a
//! dot product. BENCHMARKS.md has the measured effect on rankings.

use crate::error::Malformed;
use crate::vector::Slab;

/// Bits of a packed word that hold the weight.
const WEIGHT_BITS: u32 = 8;
/// Largest key: keys are 24 bits.
pub const MAX_KEY: u32 = (1 << (32 - WEIGHT_BITS)) - 1;

/// The compact key of a term hash in passage rows: its top 24 bits.
#[inline]
pub fn term_key(hash: u64) -> u32 {
    (hash >> (64 - (32 - WEIGHT_BITS))) as u32
}

/// The stored weight byte of a unit-vector weight `w` (clamped to [0, 1]).
#[inline]
pub fn weight_byte(w: f32) -> u8 {
    (w.clamp(0.0, 1.0).sqrt() * 255.0).round() as u8
}

/// The weight a stored byte stands for.
#[inline]
pub fn weight_of(b: u8) -> f32 {
    WEIGHTS[b as usize]
}

/// `(b / 255)²` for every byte, so decoding a weight is one load.
static WEIGHTS: [f32; 256] = {
    let mut t = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        let x = i as f32 / 255.0;
        t[i] = x * x;
        i += 1;
    }
    t
};

/// One packed term.
#[inline]
pub fn pack(key: u32, w: f32) -> u32 {
    debug_assert!(key <= MAX_KEY);
    key << WEIGHT_BITS | weight_byte(w) as u32
}

/// The key of a packed term.
#[inline]
pub fn key_of(word: u32) -> u32 {
    word >> WEIGHT_BITS
}

/// Every passage's term row. Written packed (row `i` spans
/// `offsets[i]..offsets[i+1]` of the words); a format-5 file's rows, u32
/// keys with u16 weights, are read as they are (`Wide`), so an old index
/// answers exactly as it did, and become packed when an update or a
/// compaction writes them again.
#[derive(Debug, Clone)]
pub enum TermRows {
    /// The current form.
    Packed {
        offsets: Slab<u64>,
        words: Slab<u32>,
    },
    /// Format 5 (and 3 and 4, re-keyed on open): 32-bit keys.
    Wide(TermRowsV5),
}

impl Default for TermRows {
    fn default() -> Self {
        TermRowsBuilder::with_capacity(0, 0).finish()
    }
}

/// Builds packed term rows row by row.
#[derive(Debug)]
pub struct TermRowsBuilder {
    offsets: Vec<u64>,
    words: Vec<u32>,
    /// Words handed out by [`TermRowsBuilder::flush_words`] so far.
    flushed: u64,
}

impl TermRowsBuilder {
    /// A builder with room for `rows` rows of `terms` terms in all, so a
    /// large build does not grow (and briefly double) its arrays.
    pub fn with_capacity(rows: usize, terms: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        TermRowsBuilder {
            offsets,
            words: Vec::with_capacity(terms),
            flushed: 0,
        }
    }

    /// Appends a row of (key, weight), sorted by key with unique keys
    /// (what [`compact_row`](super::compact_row) gives).
    pub fn push(&mut self, row: impl IntoIterator<Item = (u32, f32)>) {
        self.words.extend(row.into_iter().map(|(k, w)| pack(k, w)));
        self.offsets.push(self.flushed + self.words.len() as u64);
    }

    /// Hands the words pushed since the last call to `store` (which keeps
    /// them elsewhere, e.g. a build's scratch file) and forgets them; the
    /// row offsets still count them.
    pub fn flush_words<E>(&mut self, store: impl FnOnce(&[u32]) -> Result<(), E>) -> Result<(), E> {
        store(&self.words)?;
        self.flushed += self.words.len() as u64;
        self.words.clear();
        Ok(())
    }

    /// Hands the row offsets pushed since the last call (the first call
    /// leads with the 0 before the first row) to `store`, and forgets them:
    /// a build that streams its rows holds none of the 8 bytes a row.
    pub fn flush_offsets<E>(
        &mut self,
        store: impl FnOnce(&[u64]) -> Result<(), E>,
    ) -> Result<(), E> {
        store(&self.offsets)?;
        self.offsets.clear();
        Ok(())
    }

    /// Appends row `id` of `rows`, packing it if it is not.
    pub fn push_row_of(&mut self, rows: &TermRows, id: u32) {
        match rows {
            TermRows::Packed { .. } => self.words.extend_from_slice(rows.packed_row(id)),
            TermRows::Wide(w) => {
                let (k, v) = w.row(id);
                let mut row: Vec<(u32, f32)> = k
                    .iter()
                    .zip(v)
                    .map(|(&k, &v)| (k >> WEIGHT_BITS, v.get()))
                    .collect();
                super::sort_and_sum(&mut row);
                self.words.extend(row.into_iter().map(|(k, w)| pack(k, w)));
            }
        }
        self.offsets.push(self.flushed + self.words.len() as u64);
    }

    pub fn finish(self) -> TermRows {
        assert_eq!(self.flushed, 0, "a builder whose words were flushed");
        TermRows::Packed {
            offsets: Slab::from_vec(self.offsets),
            words: Slab::from_vec(self.words),
        }
    }
}

use super::sparse::{SparseWeight, TermRowsV5};

impl TermRows {
    /// Checks packed arrays a file supplied: `rows` rows and the offsets'
    /// two ends, in O(1). With `full` also every offset (monotone, in
    /// bounds) and every row's keys (strictly increasing), in O(terms).
    ///
    /// Why a plain open may skip the offsets: a search reads a few
    /// thousand rows of millions, and each read checks its own offsets
    /// (their block checksum, then the range, see `packed_row`), so a bad
    /// offset can only make that row empty and the answer refused, never
    /// an out-of-bounds read. Walking 1.5M offsets at every open cost a
    /// whole-command search a few percent.
    pub fn from_parts_checked(
        rows: usize,
        offsets: Slab<u64>,
        words: Slab<u32>,
        full: bool,
    ) -> Result<Self, Malformed> {
        if offsets.len() != rows + 1 || offsets[0] != 0 {
            return Err("sparse offsets do not match the passage count".into());
        }
        if *offsets.last().expect("rows + 1 > 0") != words.len() as u64 {
            return Err("sparse offsets and terms differ in length".into());
        }
        if full {
            for w in offsets.windows(2) {
                if w[1] < w[0] {
                    return Err("sparse offsets go backwards".into());
                }
                let Some(row) = words.get(w[0] as usize..w[1] as usize) else {
                    return Err("sparse offsets run past the terms".into());
                };
                if row.windows(2).any(|p| key_of(p[0]) >= key_of(p[1])) {
                    return Err("sparse keys are not sorted".into());
                }
            }
        }
        Ok(TermRows::Packed { offsets, words })
    }

    /// The offsets and the packed words, for saving; `None` for rows read
    /// in the format-5 form (pack them first, see [`TermRows::packed`]).
    pub fn parts(&self) -> Option<(&[u64], &[u32])> {
        match self {
            TermRows::Packed { offsets, words } => Some((offsets, words)),
            TermRows::Wide(_) => None,
        }
    }

    /// These rows in the packed form.
    pub fn packed(&self) -> std::borrow::Cow<'_, TermRows> {
        match self {
            TermRows::Packed { .. } => std::borrow::Cow::Borrowed(self),
            TermRows::Wide(w) => {
                let mut b = TermRowsBuilder::with_capacity(w.rows(), 0);
                for i in 0..w.rows() as u32 {
                    b.push_row_of(self, i);
                }
                std::borrow::Cow::Owned(b.finish())
            }
        }
    }

    pub fn rows(&self) -> usize {
        match self {
            TermRows::Packed { offsets, .. } => offsets.len().saturating_sub(1),
            TermRows::Wide(w) => w.rows(),
        }
    }

    /// Mean number of terms per row (0 for no rows).
    pub fn mean_row_len(&self) -> f32 {
        match self {
            TermRows::Packed { words, .. } => match self.rows() {
                0 => 0.0,
                n => words.len() as f32 / n as f32,
            },
            TermRows::Wide(w) => w.mean_row_len(),
        }
    }

    /// The packed words of row `id` (of packed rows). Each read verifies
    /// the blocks it touches (once per process); a failure is latched in
    /// the file's slabs for the engine to report. Offsets that are out of
    /// order or bounds (a file whose checksums hold but whose writer was
    /// wrong) give an empty row and latch a failure too.
    fn packed_row(&self, id: u32) -> &[u32] {
        let TermRows::Packed { offsets, words } = self else {
            unreachable!("called on packed rows only")
        };
        offsets.check(id as usize, 2);
        let (s, e) = (
            offsets[id as usize] as usize,
            offsets[id as usize + 1] as usize,
        );
        match words.get(s..e) {
            Some(row) => {
                words.check(s, e - s);
                row
            }
            None => {
                offsets.fail(id as usize);
                &[]
            }
        }
    }

    /// Hints that row `id` will be read soon (its first 512 bytes); a
    /// re-score of thousands of rows in id order asks a few rows ahead, so
    /// their cache misses overlap instead of coming one after another.
    /// Finding the row reads its offsets: ask for those first, further
    /// ahead, with [`TermRows::prefetch_offsets`].
    #[inline]
    pub fn prefetch(&self, id: u32) {
        match self {
            TermRows::Packed { offsets, words } => {
                // Unverified bytes only choose an address for a hint: a bad
                // offset prefetches nothing useful, and `get` keeps it in
                // bounds.
                let i = id as usize;
                if let (Some(&s), Some(&e)) = (offsets.get(i), offsets.get(i + 1)) {
                    if let Some(row) = words.get(s as usize..e as usize) {
                        crate::vector::prefetch_slice(row, 8);
                    }
                }
            }
            // Keys and weights apart, each a line or few for a typical row.
            TermRows::Wide(w) => w.prefetch(id, 4),
        }
    }

    /// Hints that row `id`'s offsets will be read soon.
    #[inline]
    pub fn prefetch_offsets(&self, id: u32) {
        match self {
            TermRows::Packed { offsets, .. } => {
                if let Some(o) = offsets.get(id as usize..id as usize + 2) {
                    crate::vector::prefetch_slice(o, 1);
                }
            }
            TermRows::Wide(w) => w.prefetch_offsets(id),
        }
    }

    /// Terms in row `id`.
    pub fn row_len(&self, id: u32) -> usize {
        match self {
            TermRows::Packed { .. } => self.packed_row(id).len(),
            TermRows::Wide(w) => w.row(id).0.len(),
        }
    }

    /// Verifies every block checksum (for a full verification); `false` if
    /// one fails (latched in the file's slabs).
    pub fn check_all(&self) -> bool {
        match self {
            TermRows::Packed { offsets, words } => offsets.check_all() & words.check_all(),
            TermRows::Wide(w) => w.check_all(),
        }
    }

    /// The same rows copied into huge-page-backed memory, for a
    /// long-running process; `None` if a block fails its check (the copy
    /// carries no checks) or the rows are in the format-5 form, which is
    /// left mapped.
    pub fn resident(&self) -> Option<TermRows> {
        match self {
            TermRows::Packed { offsets, words } if self.check_all() => Some(TermRows::Packed {
                offsets: Slab::copy_huge(offsets),
                words: Slab::copy_huge(words),
            }),
            _ => None,
        }
    }

    /// A query row keyed by term hash, re-keyed as these rows are and
    /// ready for [`TermRows::dot`].
    pub fn query(&self, q: &[(u64, f32)]) -> QueryRow {
        let (keys, weights) = match self {
            TermRows::Packed { .. } => super::compact_row(q).into_iter().unzip(),
            TermRows::Wide(_) => {
                let mut row: Vec<(u32, f32)> =
                    q.iter().map(|&(h, w)| ((h >> 32) as u32, w)).collect();
                super::sort_and_sum(&mut row);
                row.into_iter().unzip()
            }
        };
        QueryRow::new(keys, weights)
    }

    /// Row `id` as keys and `f32` weights (keys as [`TermRows::query`]
    /// makes them).
    pub fn row_f32(&self, id: u32) -> (Vec<u32>, Vec<f32>) {
        match self {
            TermRows::Packed { .. } => self
                .packed_row(id)
                .iter()
                .map(|&w| (key_of(w), weight_of(w as u8)))
                .unzip(),
            TermRows::Wide(w) => w.row_f32(id),
        }
    }

    /// Dot product of row `id` with a query. The row's terms are visited
    /// in order, so the matching products are summed in the same order a
    /// merge join sums them: the result is the same to the bit.
    pub fn dot(&self, id: u32, q: &QueryRow) -> f32 {
        let mut sum = 0.0f32;
        match self {
            TermRows::Packed { .. } => {
                for &w in self.packed_row(id) {
                    if let Some(qw) = q.weight(key_of(w)) {
                        sum += weight_of(w as u8) * qw;
                    }
                }
            }
            TermRows::Wide(rows) => {
                let (keys, weights) = rows.row(id);
                for (&k, w) in keys.iter().zip(weights) {
                    if let Some(qw) = q.weight(k) {
                        sum += w.get() * qw;
                    }
                }
            }
        }
        sum
    }
}

/// Words of [`QueryRow`]'s filter: 2^16 bits, 8 KiB, which stays in L1.
const FILTER_WORDS: usize = 1 << 10;

/// A query's terms prepared for thousands of dot products: the sorted keys
/// with their weights, and a bit per value of a key's low 16 bits. Nearly
/// every term of a candidate row is absent from the query, and the filter
/// turns each of those into one bit test, where a merge join spent a
/// hard-to-predict branch per step over both lists (a third of a flat
/// search's time at 178k passages).
#[derive(Debug, Clone)]
pub struct QueryRow {
    keys: Vec<u32>,
    weights: Vec<f32>,
    filter: Vec<u64>,
}

impl QueryRow {
    /// `keys` sorted and unique, `weights` beside them.
    pub fn new(keys: Vec<u32>, weights: Vec<f32>) -> Self {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted unique keys");
        debug_assert_eq!(keys.len(), weights.len());
        let mut filter = vec![0u64; FILTER_WORDS];
        for &k in &keys {
            filter[(k as usize >> 6) & (FILTER_WORDS - 1)] |= 1 << (k & 63);
        }
        QueryRow {
            keys,
            weights,
            filter,
        }
    }

    /// Terms of the query.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the query has no term.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The query's weight of `key`, if it has that term.
    #[inline]
    fn weight(&self, key: u32) -> Option<f32> {
        if self.filter[(key as usize >> 6) & (FILTER_WORDS - 1)] >> (key & 63) & 1 == 0 {
            return None;
        }
        let j = self.keys.binary_search(&key).ok()?;
        Some(self.weights[j])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::compact_row;

    #[test]
    fn packed_rows_score_within_the_weight_precision() {
        let row = [(1u64 << 40 | 7, 0.6f32), (5u64 << 40, 0.8)];
        let mut b = TermRowsBuilder::with_capacity(1, 2);
        b.push(compact_row(&row));
        let s = b.finish();
        let q = compact_row(&[(5u64 << 40 | 9, 1.0)]);
        let (k, w): (Vec<u32>, Vec<f32>) = q.into_iter().unzip();
        assert!((s.dot(0, &QueryRow::new(k, w)) - 0.8).abs() < 0.01);
        // Hashes with the same top 24 bits add up under one key.
        let merged = compact_row(&[(3u64 << 40 | 1, 0.25), (3u64 << 40 | 2, 0.5)]);
        assert_eq!(merged, [(3, 0.75)]);
        assert_eq!(weight_byte(2.0), 255);
        assert_eq!(weight_byte(-1.0), 0);
        assert_eq!(weight_of(255), 1.0);
    }

    #[test]
    fn weights_round_trip_within_two_percent_from_a_twenty_fifth() {
        for i in 1..=1000 {
            let w = i as f32 / 1000.0;
            if w < 0.04 {
                continue;
            }
            let back = weight_of(weight_byte(w));
            assert!((back - w).abs() <= 0.02 * w, "{w} -> {back}");
        }
    }

    #[test]
    fn validation_rejects_bad_offsets_and_order() {
        let words = |v: Vec<u32>| Slab::from_vec(v);
        let ok = TermRows::from_parts_checked(
            1,
            Slab::from_vec(vec![0, 2]),
            words(vec![pack(1, 0.5), pack(2, 0.5)]),
            true,
        );
        assert!(ok.is_ok());
        let unsorted = TermRows::from_parts_checked(
            1,
            Slab::from_vec(vec![0, 2]),
            words(vec![pack(2, 0.5), pack(1, 0.5)]),
            true,
        );
        assert!(unsorted.is_err());
        let short = TermRows::from_parts_checked(
            2,
            Slab::from_vec(vec![0, 2]),
            words(vec![pack(1, 0.5), pack(2, 0.5)]),
            true,
        );
        assert!(short.is_err());
    }

    #[test]
    fn a_plain_open_reads_bad_offsets_as_empty_rows_without_panicking() {
        let words = vec![pack(1, 0.5), pack(2, 0.5)];
        let bad = vec![0, 5, 2];
        assert!(TermRows::from_parts_checked(
            2,
            Slab::from_vec(bad.clone()),
            Slab::from_vec(words.clone()),
            true
        )
        .is_err());
        let rows =
            TermRows::from_parts_checked(2, Slab::from_vec(bad), Slab::from_vec(words), false)
                .expect("only the ends are checked");
        assert_eq!(rows.row_len(0), 0);
        assert_eq!(rows.row_len(1), 0);
        let q = rows.query(&[(1u64 << 40, 1.0)]);
        assert_eq!(rows.dot(0, &q), 0.0);
    }
}
