//! The dense candidate vectors of an index, in one of two stored forms:
//! `f32` rows scored exactly, or 1-bit codes scored by estimate (32× fewer
//! bytes to store and to stream per query). Either way their only job is
//! candidate generation ahead of the exact sparse re-score, so the codes
//! fetch a larger pool, sized by measurement (BENCHMARKS.md).

use std::borrow::Cow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::counts::{RowsToEmbed, ARENA_ROWS};
use super::staged::{ScratchSection, StagedDense, StagedRows};
use super::Reporter;
use crate::embed::{Embedder, Idf, Terms};
use crate::error::Result;
use crate::index::{compact_row, BitIndex, FlatIndex, Scored, TermRows, TermRowsBuilder};
use crate::vector::{bits, AlignedVec, Slab};

/// How an index stores its dense vectors; chosen at build time and
/// recorded in the file (by which of the two sections it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Codes {
    /// 4 bytes a dimension; exact dense scores.
    F32,
    /// One bit per dimension (rounded up to a power of two) of the
    /// rotated vector; estimated scores, re-scored exactly.
    Bits,
}

impl Codes {
    /// The name the CLI and `info` use.
    pub fn name(self) -> &'static str {
        match self {
            Codes::F32 => "f32",
            Codes::Bits => "bits",
        }
    }

    /// Candidates to fetch for the exact re-score of `k` hits, when a
    /// passage-sized query of `f32` rows fetches `f32_pool`.
    ///
    /// With codes the pool grows 64-fold (5,120 for k = 10): the
    /// estimate's noise (about 1/√bits) is far larger than the hash
    /// collisions the f32 pool absorbs, and the exact re-score is cheap
    /// next to the scan. Measured on the 1.5M-passage Debian corpus
    /// against the exhaustive re-score (BENCHMARKS.md), the top-10 overlap
    /// is 0.87 at 8× (640), 0.96 at ~25× (2,000) and 0.99 at 64×, where
    /// the f32 default pool of 80 reaches only 0.57.
    pub(crate) fn pool(self, f32_pool: usize) -> usize {
        match self {
            Codes::F32 => f32_pool,
            Codes::Bits => f32_pool * BITS_POOL_FACTOR,
        }
    }
}

/// How many times the f32 pool 1-bit codes fetch; see [`Codes::pool`].
const BITS_POOL_FACTOR: usize = 64;

#[derive(Debug, Clone)]
pub(crate) enum Dense {
    F32(FlatIndex),
    Bits(BitIndex),
}

impl Dense {
    pub(crate) fn codes(&self) -> Codes {
        match self {
            Dense::F32(_) => Codes::F32,
            Dense::Bits(_) => Codes::Bits,
        }
    }

    /// Every block checked (for `verify`); false once one fails.
    pub(crate) fn check_all(&self) -> bool {
        match self {
            Dense::F32(f) => f.check_all(),
            Dense::Bits(b) => b.check_all(),
        }
    }

    /// Rows held.
    pub(crate) fn len(&self) -> usize {
        match self {
            Dense::F32(f) => f.len(),
            Dense::Bits(b) => b.len(),
        }
    }

    /// The `fetch` best rows for the unit query `q`: exact dot products, or
    /// code estimates (as the kernel's integer scores; see
    /// [`Dense::estimates`]).
    pub(crate) fn search(
        &self,
        q: &[f32],
        fetch: usize,
        filter: &(dyn Fn(u32) -> bool + Sync),
        parallel: bool,
    ) -> Vec<Scored> {
        match self {
            Dense::F32(f) if parallel => f.search(q, fetch, Some(filter)),
            Dense::F32(f) => f.search_serial(q, fetch, Some(filter)),
            Dense::Bits(b) => {
                let planes = b.query(q);
                let hits = if parallel {
                    b.search(&planes, fetch, Some(filter))
                } else {
                    b.search_serial(&planes, fetch, Some(filter))
                };
                estimates(&planes, hits)
            }
        }
    }

    /// Appends `more` (rows of the same form) after these rows.
    pub(crate) fn append(&self, more: Dense) -> Result<Dense> {
        match (self, more) {
            (Dense::F32(a), Dense::F32(b)) => {
                let mut arena = AlignedVec::with_capacity(a.vectors().len() + b.vectors().len());
                arena.extend_from_slice(a.vectors());
                arena.extend_from_slice(b.vectors());
                Ok(Dense::F32(
                    FlatIndex::new(a.dim(), Slab::from_aligned(arena))
                        .expect("rows built here are whole rows of dim"),
                ))
            }
            (Dense::Bits(a), Dense::Bits(b)) => {
                let mut codes = Vec::with_capacity(a.codes().len() + b.codes().len());
                codes.extend_from_slice(a.codes());
                codes.extend_from_slice(b.codes());
                Ok(Dense::Bits(
                    BitIndex::new(a.dim(), Slab::from_vec(codes))
                        .expect("rows built here are whole rows of dim"),
                ))
            }
            _ => unreachable!("rows of one index share one form"),
        }
    }
}

/// Turns the kernel's integer scores into estimated cosines, so a hit
/// shown without the exact re-score still carries a similarity.
pub(crate) fn estimates(planes: &bits::QueryPlanes, hits: Vec<Scored>) -> Vec<Scored> {
    hits.into_iter()
        .map(|s| Scored {
            id: s.id,
            score: planes.estimate(s.score as i32),
        })
        .collect()
}

/// Dense rows (in the form `codes`) and sparse rows of `counts`, weighted
/// by `idf`, in parallel. Shared by builds, updates and re-weightings so
/// every path embeds a passage exactly the same way. Rows are made a batch
/// at a time and appended to the stored arrays (sized up front, so their
/// pages are touched only as they are written), and codes are encoded as
/// each row is embedded, so neither a per-row list of sparse vectors nor
/// an f32 arena of the corpus is held beside the result; arenas of counts
/// are freed as their batch is done.
pub(crate) fn embed_rows(
    embedder: &Embedder,
    idf: &Idf,
    counts: RowsToEmbed,
    codes: Codes,
    reporter: &dyn Reporter,
) -> Result<(Dense, TermRows)> {
    let mut sparse = TermRowsBuilder::with_capacity(counts.len(), counts.terms());
    let mut dense = HeldRows::new(embedder.dim(), codes, counts.len());
    embed_batches(embedder, idf, counts, codes, reporter, |rows, made| {
        dense.extend(rows);
        made.into_iter().for_each(|r| sparse.push(r));
        Ok(())
    })?;
    Ok((dense.finish(), sparse.finish()))
}

/// [`embed_rows`] for a fresh build that writes a file: each batch's rows
/// go to scratch files beside `index` as soon as they are made (see
/// `staged.rs`), the dense ones too unless `hold_dense` (a graph is to be
/// linked over them).
pub(crate) fn embed_rows_staged(
    embedder: &Embedder,
    idf: &Idf,
    counts: RowsToEmbed,
    codes: Codes,
    (index, hold_dense): (&std::path::Path, bool),
    reporter: &dyn Reporter,
) -> Result<StagedRows> {
    let mut words = ScratchSection::create(index, "terms")?;
    let mut offsets = ScratchSection::create(index, "offsets")?;
    let mut scratch = match hold_dense {
        true => None,
        false => Some(ScratchSection::create(index, "dense")?),
    };
    let n = counts.len();
    let mut held = HeldRows::new(embedder.dim(), codes, if hold_dense { n } else { 0 });
    let mut sparse = TermRowsBuilder::with_capacity(ARENA_ROWS, 0);
    embed_batches(embedder, idf, counts, codes, reporter, |rows, made| {
        match &mut scratch {
            Some(s) => s.append(rows.bytes())?,
            None => held.extend(rows),
        }
        made.into_iter().for_each(|r| sparse.push(r));
        sparse.flush_words(|w| words.append(bytemuck::cast_slice(w)))?;
        sparse.flush_offsets(|o| offsets.append(bytemuck::cast_slice(o)))
    })?;
    Ok(StagedRows {
        dense: match scratch {
            Some(s) => StagedDense::Scratch(codes, s),
            None => StagedDense::Held(held.finish()),
        },
        offsets,
        words,
    })
}

/// One batch's dense rows, in their stored form.
enum BatchRows<'a> {
    F32(&'a [f32]),
    Bits(&'a [u64]),
}

impl BatchRows<'_> {
    /// The bytes the file stores for these rows.
    fn bytes(&self) -> &[u8] {
        match self {
            BatchRows::F32(r) => bytemuck::cast_slice(r),
            BatchRows::Bits(c) => bytemuck::cast_slice(c),
        }
    }
}

/// Dense rows gathered in memory, sized up front for `n` rows.
enum HeldRows {
    F32(usize, AlignedVec),
    Bits(usize, Vec<u64>),
}

impl HeldRows {
    fn new(dim: usize, codes: Codes, n: usize) -> HeldRows {
        match codes {
            Codes::F32 => HeldRows::F32(dim, AlignedVec::with_capacity(n * dim)),
            Codes::Bits => HeldRows::Bits(dim, Vec::with_capacity(n * bits::code_words(dim))),
        }
    }

    fn extend(&mut self, rows: BatchRows) {
        match (self, rows) {
            (HeldRows::F32(_, a), BatchRows::F32(r)) => a.extend_from_slice(r),
            (HeldRows::Bits(_, a), BatchRows::Bits(c)) => a.extend_from_slice(c),
            _ => unreachable!("rows of one build share one form"),
        }
    }

    fn finish(self) -> Dense {
        match self {
            HeldRows::F32(dim, a) => Dense::F32(
                FlatIndex::new(dim, Slab::from_aligned(a))
                    .expect("rows built here are whole rows of dim"),
            ),
            HeldRows::Bits(dim, c) => Dense::Bits(
                BitIndex::new(dim, Slab::from_vec(c))
                    .expect("rows built here are whole rows of dim"),
            ),
        }
    }
}

/// Embeds `counts` a batch at a time (in parallel within a batch) and
/// hands each batch's dense rows and compacted sparse rows to `out`, in
/// order; the first error `out` returns ends the embedding. `out` (which
/// packs and stores the rows, on one core) takes each batch while the next
/// one is embedded: done in turn, the other core idled.
fn embed_batches(
    embedder: &Embedder,
    idf: &Idf,
    counts: RowsToEmbed,
    codes: Codes,
    reporter: &dyn Reporter,
    mut out: impl FnMut(BatchRows, Vec<Vec<(u32, f32)>>) -> Result<()> + Send,
) -> Result<()> {
    let dim = embedder.dim();
    let embed = |c: &Terms, row: &mut [f32]| {
        let sparse = embedder.embed_passage(c, idf, row);
        reporter.inc(1);
        compact_row(&sparse)
    };
    let rotation = (codes == Codes::Bits).then(|| bits::Rotation::new(dim));
    let words = bits::code_words(dim);
    // Embeds a batch into `buf` (zeroed first), returning its sparse rows.
    let embed_batch = |batch: &[&Terms], buf: &mut BatchBuffer| -> Vec<Vec<(u32, f32)>> {
        match (&rotation, buf) {
            (None, BatchBuffer::F32(f32s)) => {
                f32s.clear();
                f32s.resize(batch.len() * dim, 0.0f32);
                f32s.par_chunks_mut(dim)
                    .zip(batch.par_iter())
                    .map(|(row, c)| embed(c, row))
                    .collect()
            }
            (Some(rotation), BatchBuffer::Bits(code_words)) => {
                code_words.clear();
                code_words.resize(batch.len() * words, 0u64);
                code_words
                    .par_chunks_mut(words)
                    .zip(batch.par_iter())
                    .map_init(
                        || (vec![0.0f32; dim], vec![0.0f32; rotation.len()]),
                        |(row, rotated), (code, c)| {
                            let sparse = embed(c, row);
                            rotation.encode(row, rotated, code);
                            sparse
                        },
                    )
                    .collect()
            }
            _ => unreachable!("the buffers are made for the codes"),
        }
    };
    let fresh = || match rotation {
        None => BatchBuffer::F32(Vec::new()),
        Some(_) => BatchBuffer::Bits(Vec::new()),
    };
    // Two buffers go round: one being embedded, one being handed out.
    let (mut current, mut previous) = (fresh(), fresh());
    let mut pending: Option<Vec<Vec<(u32, f32)>>> = None;
    let mut failed = None;
    counts.for_each_batch(|batch| {
        if failed.is_some() {
            return;
        }
        let (made, handed) = rayon::join(
            || embed_batch(batch, &mut current),
            || match pending.take() {
                Some(made) => out(previous.rows(), made),
                None => Ok(()),
            },
        );
        if let Err(e) = handed {
            failed = Some(e);
            return;
        }
        pending = Some(made);
        std::mem::swap(&mut current, &mut previous);
    })?;
    if let (None, Some(made)) = (&failed, pending.take()) {
        failed = out(previous.rows(), made).err();
    }
    failed.map_or(Ok(()), Err)
}

/// The buffer one batch's dense rows are embedded into.
enum BatchBuffer {
    F32(Vec<f32>),
    Bits(Vec<u64>),
}

impl BatchBuffer {
    fn rows(&self) -> BatchRows<'_> {
        match self {
            BatchBuffer::F32(r) => BatchRows::F32(r),
            BatchBuffer::Bits(c) => BatchRows::Bits(c),
        }
    }
}

/// The f32 vector of one passage, from stored rows or, for codes, by
/// embedding its stored text again. That is the row the codes were made
/// from: analysis is deterministic, every row is embedded with the index's
/// current idf (updates extend it without changing known terms), and the
/// stored lexicon keeps every translation into a term some passage holds,
/// which covers every translation a stored passage was expanded with
/// (`export` of a code index writes the f32 index's bytes exactly).
pub(crate) fn row_of<'a>(
    dense: &'a Dense,
    embedder: &Embedder,
    idf: &Idf,
    id: u32,
    text: &str,
) -> Cow<'a, [f32]> {
    match dense {
        Dense::F32(f) => Cow::Borrowed(f.row(id)),
        Dense::Bits(_) => {
            let mut row = vec![0.0f32; embedder.dim()];
            embedder.embed_counts(&embedder.term_counts(text), idf, false, &mut row);
            Cow::Owned(row)
        }
    }
}
