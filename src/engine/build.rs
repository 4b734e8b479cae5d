//! Building an index: walk and read the files, cut them into passages,
//! analyze and weight every passage, embed the rows, link the graph.

use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::counts::{group_id, CountArena, Counted, RowsToEmbed, ARENA_ROWS};
use super::dense::{embed_rows, embed_rows_staged, Dense};
use super::parts::{Corpus, Origin, Vectors, Weighting};
use super::passages::{PassageTable, StagedTable, TableBuilder};
use super::persist;
use super::spill::Spill;
use super::staged::{StagedDense, StagedRows};
use super::types::{BuildOptions, BuildReport, DocMeta, IndexConfig, IndexKind, PassageMeta};
use super::{Index, Reporter};
use crate::corpus::{self, Document, RawPassage};
use crate::embed::{DfGroupCount, Embedder, EmbedderSettings, Idf};
use crate::error::{Error, Result};
use crate::index::{Hnsw, HnswParams, TermRows};

/// Passages cut from documents, each with the position of its document's
/// [`DocMeta`], and their analyses (language tag, term counts), in order.
pub(crate) type Analyzed = (Vec<(u32, RawPassage)>, Counted);

impl Index {
    /// Walks `paths`, reads every text file and indexes it, in memory;
    /// [`IndexWriter::build`](super::IndexWriter::build) builds straight
    /// into a file instead, holding much less.
    pub fn build(
        paths: &[std::path::PathBuf],
        opts: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, BuildReport)> {
        let (built, report) = Built::from_paths(paths, opts, None, reporter)?;
        Ok((built.into_index(), report))
    }

    /// Indexes documents already in memory; returns the passage count too.
    pub fn from_documents(
        docs: Vec<Document>,
        opts: &BuildOptions,
        reporter: &dyn Reporter,
    ) -> Result<(Index, usize)> {
        let built = Built::from_documents(docs, opts, None, reporter)?;
        let n = built.passages();
        Ok((built.into_index(), n))
    }
}

/// A fresh build: the index's parts, with its bulk rows held in memory or
/// staged in scratch files for the file being written (`staged.rs`).
pub(crate) struct Built {
    config: IndexConfig,
    docs: Vec<DocMeta>,
    rows: BuiltRows,
    weighting: Weighting,
    graph: Option<(Hnsw, HnswParams)>,
}

enum BuiltRows {
    Held(PassageTable, Dense, TermRows),
    Staged(StagedTable, StagedRows),
}

impl Built {
    fn passages(&self) -> usize {
        match &self.rows {
            BuiltRows::Held(p, ..) => p.len(),
            BuiltRows::Staged(p, _) => p.len,
        }
    }
}

impl Built {
    /// Walks `paths`, reads every text file and indexes it; with `staged`,
    /// the file to be written, the bulk rows go to scratch beside it. The
    /// files are read, cut and analyzed a batch at a time, so the text of
    /// the documents is never held all at once.
    pub(crate) fn from_paths(
        paths: &[std::path::PathBuf],
        opts: &BuildOptions,
        staged: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<(Built, BuildReport)> {
        let started = Instant::now();
        check_options(opts)?;
        // The walk and the lexicon bridge's tables, at once.
        let (files, embedder) = rayon::join(
            || files_under(paths, &opts.walk),
            || Embedder::new(opts.embedder.clone()),
        );
        let files = files?;
        let mut report = BuildReport {
            files_seen: files.len(),
            ..Default::default()
        };
        // Batches after the first are read while the one before is
        // analyzed, so they report only what they skip: their progress
        // would replace the analysis's on the one bar.
        let quiet = WarnOnly(reporter);
        let batches = file_batches(&files)
            .into_iter()
            .enumerate()
            .map(|(i, batch)| {
                let reporter: &dyn Reporter = if i == 0 { reporter } else { &quiet };
                read_files(batch, opts, reporter, &mut report)
            });
        let built = Self::from_batches(batches, embedder, opts, staged, reporter);
        let built = built.map_err(|e| match e {
            Error::NoPassages { .. } if !report.skipped.is_empty() => Error::NoPassages {
                reason: format!(
                    "all {} file(s) were skipped or held no text",
                    report.files_seen
                ),
            },
            e => e,
        })?;
        report.documents = built.docs.len();
        report.passages = built.passages();
        report.seconds = started.elapsed().as_secs_f64();
        Ok((built, report))
    }

    fn from_documents(
        docs: Vec<Document>,
        opts: &BuildOptions,
        staged: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Built> {
        let embedder = Embedder::new(opts.embedder.clone());
        Self::from_batches(std::iter::once(docs), embedder, opts, staged, reporter)
    }

    /// Indexes the documents of `batches`: each batch is cut, analyzed and
    /// put in the passage table (its text compressed) before the next one
    /// is read; what needs the whole corpus (document frequencies, the
    /// sorted languages) is gathered as they go.
    fn from_batches(
        mut batches: impl Iterator<Item = Vec<Document>> + Send,
        embedder: Embedder,
        opts: &BuildOptions,
        staged: Option<&Path>,
        reporter: &dyn Reporter,
    ) -> Result<Built> {
        check_options(opts)?;
        let spill = staged
            .or(opts.spill_beside.as_deref())
            .map(Spill::create)
            .transpose()?;
        let mut doc_meta = Vec::new();
        let mut counted = Counted::default();
        let mut table = match staged {
            Some(path) => TableBuilder::staged(path)?,
            None => TableBuilder::default(),
        };
        // Languages in the order met; renumbered in sorted order at the end.
        let mut seen: Vec<&'static str> = Vec::new();
        // Each batch is analyzed while the next one is read.
        let mut next = batches.next();
        while let Some(docs) = next {
            let (ahead, done) = rayon::join(
                || batches.next(),
                || -> Result<()> {
                    let (raw, batch) =
                        cut_and_analyze(&embedder, &docs, &mut doc_meta, spill.as_ref(), reporter)?;
                    drop(docs);
                    put_passages(&mut table, raw, batch.langs.iter(), &mut seen)?;
                    counted.append(batch);
                    // The batch's texts and temporaries are freed among the
                    // table's growing arrays: hand their pages back before
                    // the next batch, or the residue grows with every batch.
                    give_back_freed_memory();
                    if table.len() > u32::MAX as usize {
                        return Err(Error::TooManyPassages);
                    }
                    Ok(())
                },
            );
            done?;
            next = ahead;
        }
        counted.spill = spill;
        if table.len() == 0 {
            return Err(Error::NoPassages {
                reason: "the input holds no text".into(),
            });
        }
        reporter.stage("weighting terms", 0);
        let (live_df, idf) = counted.weights()?;
        let mut langs: Vec<String> = seen.iter().map(|l| l.to_string()).collect();
        langs.sort();
        let renumber: Vec<u16> = seen
            .iter()
            .map(|l| {
                langs
                    .binary_search_by(|s| s.as_str().cmp(l))
                    .expect("collected above") as u16
            })
            .collect();
        let n = table.len();
        give_back_freed_memory();
        reporter.stage("embedding", n as u64);
        let counts = RowsToEmbed::Counted(counted);
        let (rows, graph) = embed_and_link(
            &embedder, &idf, counts, table, &renumber, opts, staged, reporter,
        )?;
        reporter.finish();
        let (settings, embedder) = keep_pruned_bridge(&opts.embedder, &embedder, &idf);
        Ok(Built {
            config: IndexConfig {
                embedder: settings,
                kind: opts.kind,
                langs,
            },
            docs: doc_meta,
            rows,
            weighting: Weighting::fresh(embedder, idf, live_df, n),
            graph,
        })
    }

    /// The index held in memory (a build without staging).
    fn into_index(self) -> Index {
        let BuiltRows::Held(passages, dense, sparse) = self.rows else {
            unreachable!("a staged build is saved, not opened");
        };
        Index::assemble(
            self.config,
            Corpus::fresh(self.docs, passages),
            self.weighting,
            Vectors {
                dense,
                sparse,
                graph: self.graph,
            },
            Origin::memory(None),
        )
    }

    /// Writes the build to `path` (atomically, see `persist`); returns the
    /// bytes written.
    pub(crate) fn save(&self, path: &Path) -> Result<u64> {
        match &self.rows {
            BuiltRows::Staged(passages, staged) => persist::save_staged(
                &self.config,
                &self.docs,
                &self.weighting,
                (passages, staged),
                self.graph.as_ref(),
                path,
            ),
            BuiltRows::Held(..) => unreachable!("a held build becomes an index first"),
        }
    }
}

/// Puts a batch's passages in `table`, numbering their languages in the
/// order `seen` met them.
fn put_passages(
    table: &mut TableBuilder,
    raw: Vec<(u32, RawPassage)>,
    tags: impl Iterator<Item = &'static str>,
    seen: &mut Vec<&'static str>,
) -> Result<()> {
    for ((doc, p), tag) in raw.into_iter().zip(tags) {
        let lang = match seen.iter().position(|&l| l == tag) {
            Some(l) => l,
            None => {
                seen.push(tag);
                seen.len() - 1
            }
        };
        table.push(PassageMeta {
            doc,
            lang: lang as u16,
            line_start: p.line_start,
            line_end: p.line_end,
            byte_start: p.byte_start,
            byte_end: p.byte_end,
            text: p.text,
        })?;
    }
    Ok(())
}

/// Finishes the passage table (its languages renumbered by `renumber`)
/// and embeds the rows, held or staged beside the file `staged`, then
/// links the graph of an HNSW index.
#[allow(clippy::too_many_arguments)]
fn embed_and_link(
    embedder: &Embedder,
    idf: &Idf,
    counts: RowsToEmbed,
    table: TableBuilder,
    renumber: &[u16],
    opts: &BuildOptions,
    staged: Option<&Path>,
    reporter: &dyn Reporter,
) -> Result<(BuiltRows, Option<(Hnsw, HnswParams)>)> {
    let linked = opts.kind == IndexKind::Hnsw;
    Ok(match staged {
        None => {
            let passages = table.finish(Some(renumber));
            let (dense, sparse) = embed_rows(embedder, idf, counts, opts.codes(), reporter)?;
            let graph = linked
                .then(|| Vectors::link(&dense, &opts.hnsw, reporter))
                .flatten();
            (BuiltRows::Held(passages, dense, sparse), graph)
        }
        Some(path) => {
            let passages = table.finish_staged(renumber)?;
            let rows = embed_rows_staged(
                embedder,
                idf,
                counts,
                opts.codes(),
                (path, linked),
                reporter,
            )?;
            let graph = match &rows.dense {
                StagedDense::Held(dense) if linked => Vectors::link(dense, &opts.hnsw, reporter),
                _ => None,
            };
            (BuiltRows::Staged(passages, rows), graph)
        }
    })
}

/// The files to read under `paths`; none at all is an error naming the
/// paths (a build and an export from paths refuse alike).
pub(crate) fn files_under(
    paths: &[std::path::PathBuf],
    walk: &corpus::WalkOptions,
) -> Result<Vec<std::path::PathBuf>> {
    let files = corpus::collect_files(paths, walk)?;
    if files.is_empty() {
        return Err(Error::NoFiles {
            paths: paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(files)
}

/// The options a build refuses before reading anything.
fn check_options(opts: &BuildOptions) -> Result<()> {
    if opts.embedder.dim == 0 || opts.embedder.dim > crate::embed::MAX_DIM {
        return Err(Error::InvalidDimension {
            dim: opts.embedder.dim,
            max: crate::embed::MAX_DIM,
        });
    }
    Ok(())
}

/// Text bytes (as the files' sizes say) read, cut and analyzed together:
/// enough to keep every thread busy, small enough that the documents'
/// text and their passages' texts are a small part of a build's memory.
const BATCH_BYTES: u64 = 32 << 20;

/// `files` in runs of about [`BATCH_BYTES`] (at least one file each).
fn file_batches(files: &[std::path::PathBuf]) -> Vec<&[std::path::PathBuf]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        bytes += std::fs::metadata(f).map_or(0, |m| m.len());
        if bytes >= BATCH_BYTES || i + 1 == files.len() {
            batches.push(&files[start..=i]);
            (start, bytes) = (i + 1, 0);
        }
    }
    batches
}

/// Reads `files` in parallel; the ones that cannot be read are reported
/// and counted as skipped in `report`.
fn read_files(
    files: &[std::path::PathBuf],
    opts: &BuildOptions,
    reporter: &dyn Reporter,
    report: &mut BuildReport,
) -> Vec<Document> {
    reporter.stage("reading", files.len() as u64);
    let read: Vec<_> = files
        .par_iter()
        .map(|f| {
            let r = corpus::read_document(f, &opts.walk);
            reporter.inc(1);
            (f, r)
        })
        .collect();
    let mut docs = Vec::new();
    for (f, r) in read {
        match r {
            Ok(d) => docs.push(d),
            Err(why) => {
                reporter.warn(&format!("{}: skipped: {why}", f.display()));
                report.skipped.push((f.display().to_string(), why));
            }
        }
    }
    docs
}

/// Passes on only a reporter's warnings.
struct WarnOnly<'a>(&'a dyn Reporter);

impl Reporter for WarnOnly<'_> {
    fn warn(&self, message: &str) {
        self.0.warn(message)
    }
}

/// Returns the heap's free pages to the system. The texts of a million
/// passages are a million small allocations, freed while the passage table
/// (and the allocator's other arenas) keep pages among them: without this
/// the embedding's rows grow on top of hundreds of megabytes that are free
/// but still resident (on the Debian corpus the resident size drops from
/// 0.88 to 0.44 GB here; BENCHMARKS.md).
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free pages of glibc's own heaps back
    // to the system; it takes no pointer and leaves live blocks alone.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The settings to record and the embedder to keep: the index keeps only
/// translations into terms its corpus holds (a query term expanding to
/// anything else is dropped anyway), and not the lexicon's strings: the
/// bridge is all it needs.
fn keep_pruned_bridge(
    settings: &EmbedderSettings,
    embedder: &Embedder,
    idf: &Idf,
) -> (EmbedderSettings, Embedder) {
    let bridge = embedder
        .bridge()
        .map(|b| std::sync::Arc::new(b.pruned(|h| idf.df(h) > 0)));
    let settings = EmbedderSettings {
        lexicon: None,
        ..settings.clone()
    };
    (settings.clone(), Embedder::with_bridge(settings, bridge))
}

/// Cuts `docs` into passages and analyzes each one (language tag, term
/// weights). Every document with text gets a `DocMeta` appended to
/// `doc_meta`, and its passages carry that entry's position. Builds and
/// updates both come through here, so both cut and analyze identically.
/// With a `spill`, each arena of counts goes there as soon as it is made
/// (the caller puts the spill in the counts once all are made).
pub(crate) fn cut_and_analyze(
    embedder: &Embedder,
    docs: &[Document],
    doc_meta: &mut Vec<DocMeta>,
    spill: Option<&Spill>,
    reporter: &dyn Reporter,
) -> Result<Analyzed> {
    reporter.stage("cutting passages", docs.len() as u64);
    let cut: Vec<Vec<RawPassage>> = docs
        .par_iter()
        .map(|d| {
            let p = corpus::cut_passages(&d.text);
            reporter.inc(1);
            p
        })
        .collect();
    let mut raw = Vec::new();
    for (d, ps) in docs.iter().zip(cut) {
        if ps.is_empty() {
            reporter.warn(&format!("{}: skipped: no text", d.path));
            continue;
        }
        let id = doc_meta.len() as u32;
        doc_meta.push(DocMeta {
            path: d.path.clone(),
            bytes: d.bytes,
            content_hash: xxh3_64(d.text.as_bytes()),
            mtime_ns: d.mtime_ns,
            deleted: false,
            pages: d.pages.clone(),
        });
        raw.extend(ps.into_iter().map(|p| (id, p)));
    }
    reporter.stage("analyzing", raw.len() as u64);
    // Pieces of about ARENA_ROWS passages, but enough of them to keep
    // every thread busy on a small input, cut at document boundaries so
    // each piece settles its own documents' tags.
    let per = raw
        .len()
        .div_ceil(4 * rayon::current_num_threads())
        .clamp(1, ARENA_ROWS);
    // Spilled counts have their document frequencies and language groups
    // counted here, while they are in cache, rather than read back for it.
    let df = std::sync::Mutex::new(DfGroupCount::default());
    let parts: Vec<(Vec<&'static str>, Vec<Arena>)> = document_pieces(&raw, per)
        .into_par_iter()
        .map(|piece| -> Result<_> {
            let mut langs = Vec::with_capacity(piece.len());
            let mut trigrams = Vec::with_capacity(piece.len());
            let mut arenas = vec![CountArena::new()];
            for (_, p) in piece {
                let (tag, n) = crate::text::detect_lang_counted(&p.text);
                langs.push(tag);
                trigrams.push(n);
                if arenas.last().is_some_and(|a| a.len() == ARENA_ROWS) {
                    arenas.push(CountArena::new());
                }
                let arena = arenas.last_mut().expect("one at least");
                embedder.with_term_counts(&p.text, |c| arena.push(c));
                reporter.inc(1);
            }
            // Settled with the trigram counts already found, so the short
            // passages' tags are not scored again.
            crate::text::settle_short_tags(
                piece
                    .iter()
                    .zip(langs.iter_mut())
                    .zip(&trigrams)
                    .map(|(((d, p), l), t)| (*d, p.text.as_str(), l, *t)),
            );
            let arenas = arenas
                .into_iter()
                .zip(langs.chunks(ARENA_ROWS))
                .map(|(arena, l)| keep_or_spill(arena, l, spill, &df))
                .collect::<Result<_>>()?;
            Ok((langs, arenas))
        })
        .collect::<Result<_>>()?;
    let mut analyzed = Counted {
        df: spill
            .is_some()
            .then(|| df.into_inner().unwrap_or_else(|p| p.into_inner())),
        ..Counted::default()
    };
    for (langs, arenas) in parts {
        analyzed.langs.extend(langs);
        for arena in arenas {
            match arena {
                Arena::Held(a) => analyzed.arenas.push(a),
                Arena::Spilled(s) => analyzed.spilled.push(s),
            }
        }
    }
    Ok((raw, analyzed))
}

/// `raw` in pieces of about `target` passages, cut at document boundaries
/// ([`crate::text::settle_short_tags`] settles a document's passages
/// together, and documents independently).
fn document_pieces(raw: &[(u32, RawPassage)], target: usize) -> Vec<&[(u32, RawPassage)]> {
    let mut pieces = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let mut cut = target.max(1).min(rest.len());
        while cut < rest.len() && rest[cut].0 == rest[cut - 1].0 {
            cut += 1;
        }
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Holds `arena`, or spills it, counting its document frequencies and
/// its terms' language groups (its passages' tags are `langs`) into `df`
/// first.
fn keep_or_spill(
    arena: CountArena,
    langs: &[&'static str],
    spill: Option<&Spill>,
    df: &std::sync::Mutex<DfGroupCount>,
) -> Result<Arena> {
    let Some(spill) = spill else {
        let mut arena = arena;
        arena.shrink_to_fit();
        return Ok(Arena::Held(arena));
    };
    let mut d = DfGroupCount::default();
    let mut ids: Vec<(&'static str, usize)> = Vec::new();
    for (r, &tag) in arena.rows().zip(langs) {
        let g = match ids.iter().find(|(t, _)| *t == tag) {
            Some(&(_, g)) => g,
            None => {
                let g = group_id(tag);
                ids.push((tag, g));
                g
            }
        };
        d.add(r, g.min(63));
    }
    let mut all = df.lock().unwrap_or_else(|p| p.into_inner());
    *all = DfGroupCount::merge(std::mem::take(&mut *all), d);
    drop(all);
    Ok(Arena::Spilled(spill.put(&arena)?))
}

/// An arena of counts as analysis made it: held, or already spilled.
enum Arena {
    Held(CountArena),
    Spilled(super::spill::SpilledArena),
}
