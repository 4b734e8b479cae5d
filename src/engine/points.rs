//! Points for an external vector engine (Qdrant), and query vectors built
//! exactly as `search` builds them, so another engine can be asked the same
//! question (issue 15).
//!
//! A point is one live passage: a stable id, a named sparse vector of term
//! weights, optionally the dense vector, and the payload `search` prints.
//! Sparse indices are the top 32 bits of the term's XXH3-64 hash (the term
//! keys of the local index keep only 24 of them); two terms of one passage
//! that share those bits are summed.
//!
//! Where the idf goes ([`IdfPlacement`]):
//! - `Engine` (the default): values are `1 + ln tf` (and the lexicon's
//!   translation strengths), L2-normalized, without idf. Embedding is then
//!   stateless: a point depends on its passage alone, so shards of a corpus
//!   can be exported anywhere, and the engine's collection-level idf
//!   (Qdrant's `modifier: idf`) weighs the query's terms over every shard.
//! - `Applied`: values are the passage's exact sparse row of the local
//!   index, idf (language-relative) included, for a collection without a
//!   modifier. A query vector from the same index then scores exactly as the
//!   local re-score does; but the idf is frozen at export time.
//!
//! Either way each passage's values are multiplied by the search's length
//! prior `(terms / PRIOR_TERMS)^0.2`: a factor per passage, so folding it
//! into the vector gives the same ranking as applying it to the score.

use std::io::Write;

use rayon::prelude::*;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::search::SEARCH_LENGTH_PRIOR;
use super::Index;
use crate::embed::{Embedder, EmbedderSettings, Idf};
use crate::error::{Error, Result};

/// The name of the sparse vector in exported points and collections.
pub const SPARSE_VECTOR_NAME: &str = "terms";
/// The name of the dense vector, when exported.
pub const DENSE_VECTOR_NAME: &str = "dense";
/// Format tag of the points file's companion description.
pub const POINTS_FORMAT: &str = "vecsearch-qdrant-points/1";

/// Seed of the point id hash (XXH3-64 of the document path, a zero byte
/// and the passage's ordinal in its document, little-endian u32). Part of
/// the export format: changing it changes every id.
const POINT_ID_SEED: u64 = 0x7176_6563_7365_6172; // "qvecsear"

/// The term count the length prior is relative to. A constant rather than
/// the corpus mean, so a point never depends on the rest of the corpus; a
/// constant factor on every score changes no ranking.
const PRIOR_TERMS: f32 = 32.0;

/// Passages turned into points per parallel step: bounds the memory of an
/// export whatever the corpus size.
const CHUNK: usize = 2048;

/// Where the idf of exported sparse vectors is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdfPlacement {
    /// By the engine (Qdrant's `modifier: idf`); values carry none.
    #[default]
    Engine,
    /// Here, from the index's own (language-relative) idf.
    Applied,
}

/// What [`Index::write_points`] writes.
#[derive(Debug, Clone, Default)]
pub struct PointOptions {
    /// Where the idf goes.
    pub idf: IdfPlacement,
    /// Also write each passage's dense vector (named `dense`, unit length,
    /// for cosine distance).
    pub dense: bool,
}

/// A sparse vector as Qdrant takes it: indices ascending, unique.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SparseVector {
    /// Term indices (top 32 bits of the term hash), ascending.
    pub indices: Vec<u32>,
    /// Their weights.
    pub values: Vec<f32>,
}

/// A query's vectors, from [`Index::query_vectors`] or [`query_vectors`].
#[derive(Debug, Clone, Serialize)]
pub struct QueryVectors {
    /// The query text.
    pub query: String,
    /// `index` when weighted with an index's idf (as `search` does),
    /// `none` when embedded without one.
    pub idf: &'static str,
    /// The sparse vector (unit length).
    pub sparse: SparseVector,
    /// The dense vector (unit length, the index's dimension).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense: Option<Vec<f32>>,
}

/// What an export wrote; serialized, it is the description a loader reads
/// next to the points (`FILE.meta.json`).
#[derive(Debug, Clone, Serialize)]
pub struct PointsReport {
    /// [`POINTS_FORMAT`].
    pub format: &'static str,
    /// Points written (live passages).
    pub points: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Where the idf went.
    pub idf: IdfPlacement,
    /// The sparse vector's name.
    pub sparse_name: &'static str,
    /// The dense vector's name and dimension, when written.
    pub dense_name: Option<&'static str>,
    /// The dense dimension, when written.
    pub dense_dim: Option<u32>,
    /// The term hash seed (queries must use the same).
    pub seed: u64,
    /// The languages of the index.
    pub langs: Vec<String>,
}

#[derive(Serialize)]
struct Point<'a> {
    id: u64,
    vector: PointVectors,
    payload: Payload<'a>,
}

#[derive(Serialize)]
struct PointVectors {
    terms: SparseVector,
    #[serde(skip_serializing_if = "Option::is_none")]
    dense: Option<Vec<f32>>,
}

/// The fields `search --json` prints for a hit, but rank and score, plus the
/// passage's term count.
#[derive(Serialize)]
struct Payload<'a> {
    doc: &'a str,
    line_start: u32,
    line_end: u32,
    lang: &'a str,
    text: &'a str,
    byte_start: u64,
    byte_end: u64,
    passage: u32,
    terms: usize,
}

/// The stable id of the `ordinal`-th passage (0-based, in file order) of
/// the document stored as `doc`.
pub fn point_id(doc: &str, ordinal: u32) -> u64 {
    let mut key = Vec::with_capacity(doc.len() + 5);
    key.extend_from_slice(doc.as_bytes());
    key.push(0);
    key.extend_from_slice(&ordinal.to_le_bytes());
    xxh3_64_with_seed(&key, POINT_ID_SEED)
}

/// Term hashes with weights to Qdrant's form: top 32 bits, ascending,
/// duplicates summed, each weight times `scale`.
fn to_sparse(weights: &[(u64, f32)], scale: f32) -> SparseVector {
    let mut pairs: Vec<(u32, f32)> = weights
        .iter()
        .map(|&(h, w)| ((h >> 32) as u32, w * scale))
        .collect();
    pairs.sort_unstable_by_key(|p| p.0);
    let mut out = SparseVector::default();
    for (k, w) in pairs {
        if out.indices.last() == Some(&k) {
            *out.values.last_mut().expect("paired") += w;
        } else {
            out.indices.push(k);
            out.values.push(w);
        }
    }
    out
}

/// Scales weights to unit L2 length (all-zero stays zero).
fn unit(mut v: Vec<(u64, f32)>) -> Vec<(u64, f32)> {
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, w)| *w /= norm);
    }
    v
}

/// The search's length prior for a passage of `terms` terms, relative to
/// [`PRIOR_TERMS`].
fn length_prior(terms: usize) -> f32 {
    (terms.max(1) as f32 / PRIOR_TERMS).powf(SEARCH_LENGTH_PRIOR)
}

impl Index {
    /// Writes one JSON line per live passage to `out`, a Qdrant point
    /// (`{"id", "vector": {"terms": {"indices", "values"}, "dense"?},
    /// "payload"}`), in passage order. Memory stays bounded: passages are
    /// embedded `CHUNK` (2,048) at a time, in parallel, and written in order.
    /// `progress` is told how many passages were looked at so far.
    pub fn write_points(
        &self,
        out: &mut dyn Write,
        opts: &PointOptions,
        progress: &dyn Fn(u64),
    ) -> Result<PointsReport> {
        let passages = &self.corpus.passages;
        let n = passages.len();
        // The ordinal of each live passage in its document: passages of a
        // document come in file order, also after updates (a changed file's
        // passages are appended together and its old ones tombstoned).
        let mut next_ordinal = vec![0u32; self.corpus.docs.len()];
        let mut report = PointsReport {
            format: POINTS_FORMAT,
            points: 0,
            bytes: 0,
            idf: opts.idf,
            sparse_name: SPARSE_VECTOR_NAME,
            dense_name: opts.dense.then_some(DENSE_VECTOR_NAME),
            dense_dim: opts.dense.then_some(self.config.embedder.dim),
            seed: self.config.embedder.seed,
            langs: self.config.langs.clone(),
        };
        let id_paths = self.id_paths();
        let mut start = 0usize;
        while start < n {
            let end = (start + CHUNK).min(n);
            let mut jobs = Vec::with_capacity(end - start);
            for id in start as u32..end as u32 {
                if self.corpus.deleted[id as usize] {
                    continue;
                }
                let doc = passages.get(id).doc as usize;
                let ordinal = next_ordinal
                    .get_mut(doc)
                    .ok_or(Error::NoSuchPassage { id })?;
                jobs.push((id, *ordinal));
                *ordinal += 1;
            }
            let lines: Vec<String> = jobs
                .par_iter()
                .map(|&(id, ordinal)| self.point_line(id, ordinal, &id_paths, opts))
                .collect();
            self.intact()?;
            write_lines(out, lines.iter().map(String::as_str), &mut report)?;
            start = end;
            progress(start as u64);
        }
        out.flush().map_err(sink)?;
        self.intact()?;
        Ok(report)
    }

    /// Each document's path as point ids key it. Format 7 stores paths
    /// relative to the index file's folder and shows relative ones from the
    /// current folder: ids use the stored form of those, so they do not
    /// depend on the folder an export runs in (an export from paths keys
    /// them from the current folder: the same ids when the index lives
    /// there). Paths typed absolute are shown and keyed absolute, as from
    /// paths. Older files store paths as typed, which is what ids of their
    /// exports have always used.
    fn id_paths(&self) -> Vec<String> {
        let shown = self.corpus.docs.iter().map(|d| d.path.clone());
        match &self.origin.failure {
            Some((file, _)) if self.origin.format_version >= 7 => {
                let (cwd, root) = (super::paths::current_dir(), super::paths::root_of(file));
                shown
                    .map(|p| match super::paths::stored_form(&p, &cwd, &root) {
                        (_, true) => p,
                        (stored, false) => stored,
                    })
                    .collect()
            }
            _ => shown.collect(),
        }
    }

    /// One passage as a point, serialized.
    fn point_line(
        &self,
        id: u32,
        ordinal: u32,
        id_paths: &[String],
        opts: &PointOptions,
    ) -> String {
        let passages = &self.corpus.passages;
        let p = passages.get(id);
        let text = passages.text(id);
        let embedder = &self.weighting.embedder;
        let counts = embedder.term_counts(&text);
        let terms = counts.len();
        let weights = match opts.idf {
            IdfPlacement::Engine => unit(counts.clone()),
            IdfPlacement::Applied => embedder.sparse(&counts, &self.weighting.idf, false),
        };
        let doc = self.corpus.docs[p.doc as usize].path.as_str();
        let point = Point {
            id: point_id(&id_paths[p.doc as usize], ordinal),
            vector: PointVectors {
                terms: to_sparse(&weights, length_prior(terms)),
                dense: opts.dense.then(|| self.dense_row(id).into_owned()),
            },
            payload: Payload {
                doc,
                line_start: p.line_start,
                line_end: p.line_end,
                lang: &self.config.langs[p.lang as usize],
                text: &text,
                byte_start: p.byte_start,
                byte_end: p.byte_end,
                passage: id,
                terms,
            },
        };
        serde_json::to_string(&point).expect("points serialize")
    }

    /// The query's vectors exactly as `search` builds them, with this
    /// index's settings and idf (terms the index never saw left out).
    pub fn query_vectors(&self, query: &str, dense: bool) -> Result<QueryVectors> {
        let (q, sparse) = match self.embed_query(query)? {
            Some(e) => e,
            None => (vec![0.0; self.weighting.embedder.dim()], Vec::new()),
        };
        Ok(QueryVectors {
            query: query.to_string(),
            idf: "index",
            sparse: to_sparse(&sparse, 1.0),
            dense: dense.then_some(q),
        })
    }
}

/// Files read per step of [`write_points_from_paths`].
const FILE_CHUNK: usize = 64;

/// Writes the points of the passages of the files under `paths` (walked as
/// a build walks them) without building an index: stateless, so the idf is
/// always left to the engine and there is no dense vector. The lexicon
/// keeps all its translations (an index prunes those its corpus lacks, so
/// values can differ slightly from an export of an index of the same
/// files). Files are read `FILE_CHUNK` (64) at a time; `warn` hears of every
/// skipped file, `progress` of the files done so far.
pub fn write_points_from_paths(
    paths: &[std::path::PathBuf],
    walk: &crate::corpus::WalkOptions,
    settings: &EmbedderSettings,
    out: &mut dyn Write,
    warn: &dyn Fn(&str),
    progress: &dyn Fn(u64, u64),
) -> Result<PointsReport> {
    let files = super::build::files_under(paths, walk)?;
    let embedder = Embedder::new(settings.clone());
    let mut langs = std::collections::BTreeSet::new();
    let mut report = PointsReport {
        format: POINTS_FORMAT,
        points: 0,
        bytes: 0,
        idf: IdfPlacement::Engine,
        sparse_name: SPARSE_VECTOR_NAME,
        dense_name: None,
        dense_dim: None,
        seed: settings.seed,
        langs: Vec::new(),
    };
    let mut passage = 0u32;
    for (done, chunk) in files.chunks(FILE_CHUNK).enumerate() {
        let docs: Vec<_> = chunk
            .par_iter()
            .map(|f| (f, crate::corpus::read_document(f, walk)))
            .collect();
        for (f, doc) in docs {
            let doc = match doc {
                Ok(d) => d,
                Err(why) => {
                    warn(&format!("{}: skipped: {why}", f.display()));
                    continue;
                }
            };
            let cut = crate::corpus::cut_passages(&doc.text);
            if cut.is_empty() {
                warn(&format!("{}: skipped: no text", doc.path));
                continue;
            }
            let lines = document_points(&embedder, &doc.path, &cut, passage);
            langs.extend(lines.iter().map(|(_, lang)| *lang));
            write_lines(out, lines.iter().map(|(l, _)| l.as_str()), &mut report)?;
            passage += lines.len() as u32;
        }
        progress(
            ((done * FILE_CHUNK) + chunk.len()) as u64,
            files.len() as u64,
        );
    }
    out.flush().map_err(sink)?;
    report.langs = langs.into_iter().map(String::from).collect();
    Ok(report)
}

/// The points of one document's passages, serialized, with each one's
/// language; `first` is the number the document's first passage would have
/// in an index of the same files. Apart so the walk above reads as a walk.
fn document_points(
    embedder: &Embedder,
    path: &str,
    cut: &[crate::corpus::RawPassage],
    first: u32,
) -> Vec<(String, &'static str)> {
    // Tagged as a build tags them: short passages take their document's
    // language.
    let detected: Vec<(&'static str, Option<u32>)> = cut
        .par_iter()
        .map(|p| crate::text::detect_lang_counted(&p.text))
        .collect();
    let mut tags: Vec<&'static str> = detected.iter().map(|d| d.0).collect();
    crate::text::settle_short_tags(
        cut.iter()
            .zip(tags.iter_mut())
            .zip(&detected)
            .map(|((p, t), d)| (0u32, p.text.as_str(), t, d.1)),
    );
    cut.par_iter()
        .enumerate()
        .map(|(ordinal, p)| {
            let counts = embedder.term_counts(&p.text);
            let lang = tags[ordinal];
            let terms = counts.len();
            let point = Point {
                id: point_id(path, ordinal as u32),
                vector: PointVectors {
                    terms: to_sparse(&unit(counts), length_prior(terms)),
                    dense: None,
                },
                payload: Payload {
                    doc: path,
                    line_start: p.line_start,
                    line_end: p.line_end,
                    lang,
                    text: &p.text,
                    byte_start: p.byte_start,
                    byte_end: p.byte_end,
                    passage: first + ordinal as u32,
                    terms,
                },
            };
            (
                serde_json::to_string(&point).expect("points serialize"),
                lang,
            )
        })
        .collect()
}

/// The points output's I/O error (it has no path of its own).
fn sink(e: std::io::Error) -> Error {
    Error::Io {
        path: "points output".into(),
        source: e,
    }
}

/// Writes serialized points, one a line, and counts them in `report`: the
/// one writer of both exports, so their bytes and counts agree.
fn write_lines<'a>(
    out: &mut dyn Write,
    lines: impl Iterator<Item = &'a str>,
    report: &mut PointsReport,
) -> Result<()> {
    for line in lines {
        out.write_all(line.as_bytes()).map_err(sink)?;
        out.write_all(b"\n").map_err(sink)?;
        report.bytes += line.len() as u64 + 1;
        report.points += 1;
    }
    Ok(())
}

/// A query's vectors without an index: the same analysis, lexicon and
/// hashing under `settings`, no idf (for collections whose engine applies
/// it), unit length.
pub fn query_vectors(
    settings: &EmbedderSettings,
    query: &str,
    dense: bool,
) -> Result<QueryVectors> {
    if query.trim().is_empty() {
        return Err(Error::EmptyQuery);
    }
    let embedder = Embedder::new(settings.clone());
    let counts = embedder.term_counts(query);
    if counts.is_empty() {
        return Err(Error::NoQueryTerms {
            query: query.to_string(),
        });
    }
    let dense = dense.then(|| {
        let mut v = vec![0.0; embedder.dim()];
        embedder.embed_counts(&counts, &Idf::default(), false, &mut v);
        v
    });
    Ok(QueryVectors {
        query: query.to_string(),
        idf: "none",
        sparse: to_sparse(&unit(counts), 1.0),
        dense,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_keys_are_sorted_unique_and_summed() {
        let h = |top: u64, low: u64| (top << 32) | low;
        let v = to_sparse(&[(h(5, 1), 1.0), (h(2, 0), 0.5), (h(5, 9), 0.25)], 2.0);
        assert_eq!(v.indices, vec![2, 5]);
        assert_eq!(v.values, vec![1.0, 2.5]);
    }

    #[test]
    fn point_ids_are_stable() {
        assert_eq!(point_id("a.md", 0), point_id("a.md", 0));
        assert_ne!(point_id("a.md", 0), point_id("a.md", 1));
        assert_ne!(point_id("a.md", 0), point_id("b.md", 0));
        // Frozen: ids already loaded into a collection must stay valid.
        assert_eq!(point_id("a.md", 0), 11283926591092186113);
        assert_eq!(point_id("a.md", 1), 6579974828708418341);
    }
}
