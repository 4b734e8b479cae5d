//! Term counts of many passages between analysis and embedding, in
//! arenas of [`ARENA_ROWS`] passages: one allocation per arena instead of
//! one per passage. A build of 1.5 million passages makes about 90 million
//! counts, 1.4 GB in memory: a build that writes a file spills each arena
//! to a [`Spill`] as soon as it is made (its document frequencies and
//! language groups counted first, while it is in cache), and reads them
//! back one at a time to embed them, so they sit in the page cache rather
//! than in the process. Other callers (updates, small
//! in-memory builds) hold them, and an arena is freed as soon as its rows
//! are embedded.

use std::borrow::Cow;

use rayon::prelude::*;

use super::spill::{Spill, SpilledArena};
use crate::embed::{DfCount, DfGroupCount, GroupMasks, Idf, Terms};
use crate::error::Result;

/// Passages per arena: the rows embedded per parallel batch.
pub(crate) const ARENA_ROWS: usize = 1 << 14;

/// The counts of up to [`ARENA_ROWS`] passages, back to back.
#[derive(Debug, Default, Clone)]
pub(crate) struct CountArena {
    /// Row `i` is `terms[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<u32>,
    terms: Vec<(u64, f32)>,
}

impl CountArena {
    /// An empty arena to [`CountArena::push`] rows into.
    pub(crate) fn new() -> CountArena {
        CountArena {
            offsets: vec![0],
            terms: Vec::new(),
        }
    }

    /// Appends one row.
    pub(crate) fn push(&mut self, row: &Terms) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.terms.extend_from_slice(row);
        self.offsets.push(self.terms.len() as u32);
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Gives back the room left by growing it a row at a time.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.offsets.shrink_to_fit();
        self.terms.shrink_to_fit();
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = &Terms> + '_ {
        self.offsets
            .windows(2)
            .map(|w| &self.terms[w[0] as usize..w[1] as usize])
    }

    pub(crate) fn terms(&self) -> usize {
        self.terms.len()
    }

    /// The arena's three columns: row offsets, hashes, weights.
    pub(crate) fn columns(&self) -> (&[u32], Vec<u64>, Vec<f32>) {
        let (hashes, weights) = self.terms.iter().copied().unzip();
        (&self.offsets, hashes, weights)
    }

    /// An arena from its columns (see [`CountArena::columns`]).
    pub(crate) fn from_columns(offsets: Vec<u32>, hashes: &[u64], weights: &[f32]) -> CountArena {
        CountArena {
            offsets,
            terms: hashes
                .iter()
                .copied()
                .zip(weights.iter().copied())
                .collect(),
        }
    }
}

/// The language tag of each passage, two bytes a passage: the distinct
/// tags (a few dozen) in the order met, and each passage's number among
/// them. Held for every passage of a build until it is embedded, so a
/// `&'static str` each (16 bytes) was a third of what still grew with the
/// corpus (BENCHMARKS.md, issue 10).
#[derive(Debug, Default, Clone)]
pub(crate) struct Tags {
    names: Vec<&'static str>,
    ids: Vec<u16>,
}

impl Tags {
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn push(&mut self, tag: &'static str) {
        let id = match self
            .names
            .iter()
            .position(|&n| std::ptr::eq(n, tag) || n == tag)
        {
            Some(i) => i,
            None => {
                self.names.push(tag);
                self.names.len() - 1
            }
        };
        self.ids
            .push(u16::try_from(id).expect("language tags come from a small fixed set"));
    }

    pub(crate) fn extend(&mut self, tags: impl IntoIterator<Item = &'static str>) {
        tags.into_iter().for_each(|t| self.push(t));
    }

    /// Each passage's tag, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'static str> + Clone + '_ {
        self.ids.iter().map(|&i| self.names[i as usize])
    }

    /// The distinct tags in the order the passages met them.
    fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// How many passages carry each of [`Tags::names`].
    fn counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.names.len()];
        self.ids.iter().for_each(|&i| counts[i as usize] += 1);
        counts
    }
}

/// Analyzed passages: each one's language tag, and its counts in arenas,
/// held (`arenas`) or spilled (`spilled`, in `spill`), never both.
#[derive(Debug, Default)]
pub(crate) struct Counted {
    pub(crate) langs: Tags,
    pub(crate) arenas: Vec<CountArena>,
    pub(crate) spilled: Vec<SpilledArena>,
    pub(crate) spill: Option<Spill>,
    /// The document frequencies and each term's language groups (by
    /// [`group_id`]), when analysis counted them as it went (spilled
    /// counts: it saves reading them all back, twice).
    pub(crate) df: Option<DfGroupCount>,
}

impl Counted {
    pub(crate) fn len(&self) -> usize {
        self.langs.len()
    }

    /// Appends the passages `more` analyzed after these (whose arenas are
    /// in the same spill, if any).
    pub(crate) fn append(&mut self, more: Counted) {
        debug_assert!(more.spill.is_none(), "one spill for all");
        self.langs.extend(more.langs.iter());
        self.arenas.extend(more.arenas);
        self.spilled.extend(more.spilled);
        self.df = match (self.df.take(), more.df) {
            (Some(a), Some(b)) => Some(DfGroupCount::merge(a, b)),
            (a, b) => a.or(b),
        };
    }

    /// Every passage's counts, in order (held arenas only: callers that
    /// borrow rows never spill).
    pub(crate) fn rows(&self) -> impl Iterator<Item = &Terms> + '_ {
        debug_assert!(self.spilled.is_empty(), "rows of spilled counts");
        self.arenas.iter().flat_map(CountArena::rows)
    }

    fn arena_count(&self) -> usize {
        self.arenas.len() + self.spilled.len()
    }

    /// Arena `i`, borrowed or read back.
    fn arena(&self, i: usize) -> Result<Cow<'_, CountArena>> {
        match &self.spill {
            Some(spill) => spill.load(&self.spilled[i]).map(Cow::Owned),
            None => Ok(Cow::Borrowed(&self.arenas[i])),
        }
    }

    /// Folds every arena (with the position of its first row) into one
    /// `T` per thread, in parallel, and merges them. Each thread reads one
    /// arena at a time, so a spilled build holds two at most.
    fn fold_arenas<T: Send>(
        &self,
        init: impl Fn() -> T + Sync + Send,
        fold: impl Fn(T, usize, &CountArena) -> T + Sync + Send,
        merge: impl Fn(T, T) -> T + Sync + Send,
    ) -> Result<T> {
        let n = self.arena_count();
        let mut starts = Vec::with_capacity(n);
        let mut at = 0;
        for i in 0..n {
            starts.push(at);
            at += match &self.spill {
                Some(_) => self.spilled[i].rows(),
                None => self.arenas[i].len(),
            };
        }
        // Rounded down: rounded up, two threads and 91 arenas gave pieces
        // of at least 46, so the 91 could not be split and one thread
        // folded them all (most of a build's "weighting terms" stage, with
        // the other core idle; BENCHMARKS.md, fourth round).
        let per_thread = (n / rayon::current_num_threads()).max(1);
        (0..n)
            .into_par_iter()
            .with_min_len(per_thread)
            .try_fold(&init, |t, i| Ok(fold(t, starts[i], &*self.arena(i)?)))
            .try_reduce(&init, |a, b| Ok(merge(a, b)))
    }

    /// The raw document frequencies of every passage's terms, and the
    /// weighting idf (see `parts::weighting_idf`) made from them.
    pub(crate) fn weights(&mut self) -> Result<(Idf, Idf)> {
        if let Some(counted) = self.df.take() {
            if let Some(renumber) = renumbering(self.langs.names()) {
                // The passages of each group, from each tag's count: the
                // groups of the distinct tags in the order met are those of
                // the passages in order.
                let mut per_group = vec![0u64; renumber.iter().max().map_or(0, |g| g + 1)];
                let names = self.langs.names();
                let groups = super::parts::language_groups(names.iter().copied());
                for (g, c) in groups.into_iter().zip(self.langs.counts()) {
                    per_group[g] += c;
                }
                let (live_df, masks) = counted.finish(&renumber, &per_group);
                let idf = live_df.relative_to(&masks);
                return Ok((live_df, idf));
            }
        }
        let groups = super::parts::language_groups(self.langs.iter());
        let live_df = self
            .fold_arenas(
                DfCount::default,
                |mut d, _, arena| {
                    arena.rows().for_each(|r| d.add(r));
                    d
                },
                DfCount::merge,
            )?
            .finish();
        let masks = self.fold_arenas(
            || GroupMasks::new(&live_df),
            |mut m, start, arena| {
                for (g, r) in groups[start..].iter().zip(arena.rows()) {
                    m.add(&live_df, *g, r);
                }
                m
            },
            GroupMasks::merge,
        )?;
        let idf = live_df.relative_to(&masks);
        Ok((live_df, idf))
    }
}

/// The base language tags (`zh` for `zh-Hans`) numbered in the order this
/// process first met them, so analysis can mark each term's groups before
/// the whole corpus's first-met order is known. Tags come from a small
/// fixed set; past 64 numbers [`Counted::weights`] counts again instead.
static GROUP_NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// The process-wide number of `tag`'s language group (see [`GROUP_NAMES`]).
pub(crate) fn group_id(tag: &'static str) -> usize {
    let base = tag.split('-').next().unwrap_or(tag);
    let mut names = GROUP_NAMES.lock().unwrap_or_else(|p| p.into_inner());
    match names.iter().position(|n| *n == base) {
        Some(g) => g,
        None => {
            names.push(base);
            names.len() - 1
        }
    }
}

/// Each [`group_id`] number's group in `parts::language_groups` of `langs`
/// (the corpus's first-met order), or `None` when the numbers ran past 64.
fn renumbering(langs: &[&'static str]) -> Option<Vec<usize>> {
    // The first-met order of the distinct tags (`Tags::names`) gives the
    // same groups in the same order as that of every passage's tag.
    let names = GROUP_NAMES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if names.len() > 64 {
        return None;
    }
    let mut order: Vec<&str> = Vec::new();
    for l in langs {
        let base = l.split('-').next().unwrap_or(l);
        if !order.contains(&base) {
            order.push(base);
        }
    }
    Some(
        names
            .iter()
            .map(|n| order.iter().position(|o| o == n).unwrap_or(63))
            .collect(),
    )
}

/// Rows for `embed_rows`: analyzed passages it frees (or drops the
/// spill of) as it goes, or borrowed rows.
pub(crate) enum RowsToEmbed<'a> {
    Counted(Counted),
    Borrowed(&'a [&'a Terms]),
}

impl RowsToEmbed<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            RowsToEmbed::Counted(c) => c.len(),
            RowsToEmbed::Borrowed(b) => b.len(),
        }
    }

    pub(crate) fn terms(&self) -> usize {
        match self {
            RowsToEmbed::Counted(c) => {
                let held: usize = c.arenas.iter().map(CountArena::terms).sum();
                held + c.spilled.iter().map(SpilledArena::terms).sum::<usize>()
            }
            RowsToEmbed::Borrowed(b) => b.iter().map(|r| r.len()).sum(),
        }
    }

    /// Calls `f` with each batch of at most [`ARENA_ROWS`] rows, in order;
    /// a held arena is dropped once `f` has seen it, and a spilled one is
    /// read while `f` works on the one before.
    pub(crate) fn for_each_batch(self, mut f: impl FnMut(&[&Terms]) + Send) -> Result<()> {
        match self {
            RowsToEmbed::Counted(Counted {
                spill: Some(spill),
                spilled,
                ..
            }) => {
                let mut next = spilled.first().map(|s| spill.load(s)).transpose()?;
                for i in 0..spilled.len() {
                    let arena = next.take().expect("read ahead");
                    let rows: Vec<&Terms> = arena.rows().collect();
                    let (_, ahead) = rayon::join(
                        || f(&rows),
                        || spilled.get(i + 1).map(|s| spill.load(s)).transpose(),
                    );
                    next = ahead?;
                }
            }
            RowsToEmbed::Counted(c) => {
                for arena in c.arenas {
                    let rows: Vec<&Terms> = arena.rows().collect();
                    f(&rows);
                }
            }
            RowsToEmbed::Borrowed(rows) => rows.chunks(ARENA_ROWS).for_each(f),
        }
        Ok(())
    }
}
