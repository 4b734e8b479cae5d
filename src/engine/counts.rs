//! Term counts of many passages between analysis and embedding, held in
//! arenas of [`ARENA_ROWS`] passages: one allocation per arena instead of
//! one per passage, and an arena is freed (its pages go back to the
//! system) as soon as its rows are embedded. A build of 1.5 million
//! passages holds about 90 million counts here at its peak.

use rayon::prelude::*;

use crate::embed::Terms;

/// Passages per arena: the rows embedded per parallel batch.
pub(crate) const ARENA_ROWS: usize = 1 << 14;

/// The counts of up to [`ARENA_ROWS`] passages, back to back.
#[derive(Debug, Default)]
pub(crate) struct CountArena {
    /// Row `i` is `terms[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    terms: Vec<(u64, f32)>,
}

impl CountArena {
    /// An arena of `rows`, sized exactly.
    pub(crate) fn of<'a>(rows: impl Iterator<Item = &'a Terms> + Clone) -> CountArena {
        let n: usize = rows.clone().map(<[_]>::len).sum();
        let mut arena = CountArena {
            offsets: Vec::with_capacity(rows.size_hint().0 + 1),
            terms: Vec::with_capacity(n),
        };
        arena.offsets.push(0);
        for r in rows {
            arena.terms.extend_from_slice(r);
            arena.offsets.push(arena.terms.len() as u32);
        }
        arena
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = &Terms> + '_ {
        self.offsets
            .windows(2)
            .map(|w| &self.terms[w[0] as usize..w[1] as usize])
    }
}

/// Analyzed passages: each one's language tag, and its counts in arenas.
#[derive(Debug, Default)]
pub(crate) struct Counted {
    pub(crate) langs: Vec<&'static str>,
    pub(crate) arenas: Vec<CountArena>,
}

impl Counted {
    pub(crate) fn len(&self) -> usize {
        self.langs.len()
    }

    /// Every passage's counts, in order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &Terms> + '_ {
        self.arenas.iter().flat_map(CountArena::rows)
    }

    /// Every passage's counts, for parallel readers (order not kept).
    pub(crate) fn par_rows(&self) -> impl ParallelIterator<Item = &Terms> + '_ {
        self.arenas.par_iter().flat_map_iter(CountArena::rows)
    }

    /// (language tag, counts) of every passage, in order.
    pub(crate) fn tagged(&self) -> impl Iterator<Item = (&str, &Terms)> + '_ {
        self.langs.iter().map(|l| &**l).zip(self.rows())
    }
}

/// Rows for `embed_rows`: arenas it frees as it goes, or borrowed rows.
pub(crate) enum RowsToEmbed<'a> {
    Arenas(Vec<CountArena>),
    Borrowed(&'a [&'a Terms]),
}

impl RowsToEmbed<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            RowsToEmbed::Arenas(a) => a.iter().map(CountArena::len).sum(),
            RowsToEmbed::Borrowed(b) => b.len(),
        }
    }

    pub(crate) fn terms(&self) -> usize {
        match self {
            RowsToEmbed::Arenas(a) => a.iter().map(|a| a.terms.len()).sum(),
            RowsToEmbed::Borrowed(b) => b.iter().map(|r| r.len()).sum(),
        }
    }

    /// Calls `f` with each batch of at most [`ARENA_ROWS`] rows, in order;
    /// an arena is dropped once `f` has seen it.
    pub(crate) fn for_each_batch(self, mut f: impl FnMut(&[&Terms])) {
        match self {
            RowsToEmbed::Arenas(arenas) => {
                for arena in arenas {
                    let rows: Vec<&Terms> = arena.rows().collect();
                    f(&rows);
                }
            }
            RowsToEmbed::Borrowed(rows) => rows.chunks(ARENA_ROWS).for_each(f),
        }
    }
}
