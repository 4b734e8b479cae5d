//! What a benchmark measures: vectors plus, optionally, a graph over them,
//! loaded from an index file or built from ANN vector files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{annfiles, Setup, Source};
use crate::engine::{GraphProgress, Index, IndexKind, Reporter};
use crate::error::{Error, Malformed, Result};
use crate::index::{FlatIndex, Hnsw, HnswParams, Scored, Searcher};
use crate::vector::{self, Slab};

/// The vectors plus, optionally, a graph over them.
pub(super) struct Subject {
    pub(super) kind: &'static str,
    pub(super) flat: FlatIndex,
    pub(super) graph: Option<(Hnsw, HnswParams)>,
    /// `order[graph_id] = row of the input` when the HNSW build renumbered
    /// the rows (`flat` then holds them in graph order).
    pub(super) order: Option<Vec<u32>>,
    pub(super) build_s: Option<f64>,
}

impl Subject {
    pub(super) fn index_bytes(&self) -> u64 {
        let vectors = (self.flat.vectors().len() * 4) as u64;
        vectors
            + self
                .graph
                .as_ref()
                .map_or(0, |(g, _)| g.link_bytes() as u64)
            // The id map a renumbered index must keep (hnswlib keeps labels).
            + self.order.as_ref().map_or(0, |o| (o.len() * 4) as u64)
    }

    /// The `k` best rows for `q`: through the graph at beam `ef` when
    /// there is one and `ef` is given, else by a scan. Ids are input rows.
    pub(super) fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: Option<usize>,
        searcher: &mut Searcher,
    ) -> Vec<Scored> {
        match (&self.graph, ef) {
            (Some((g, _)), Some(ef)) => g
                .search(self.flat.rows(), q, k, ef, searcher)
                .into_iter()
                .map(|(id, score)| Scored {
                    id: self.order.as_ref().map_or(id, |o| o[id as usize]),
                    score,
                })
                .collect(),
            _ => self.flat.search(q, k, None),
        }
    }
}

/// Subjects, the query matrix, its dimension, and the ground-truth file.
pub(super) struct Loaded {
    pub(super) subjects: Vec<Subject>,
    pub(super) queries: Vec<f32>,
    pub(super) dim: usize,
    pub(super) gt: Option<PathBuf>,
}

pub(super) fn load(setup: &Setup, reporter: &dyn Reporter) -> Result<Loaded> {
    match &setup.source {
        Source::Index { index, queries } => from_index(index, queries, reporter),
        Source::Files { base, query, gt } => {
            let mut loaded = from_files(base, query, setup, reporter)?;
            loaded.gt = gt.clone();
            Ok(loaded)
        }
    }
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn from_files(base: &Path, query: &Path, setup: &Setup, reporter: &dyn Reporter) -> Result<Loaded> {
    let (vectors, n, dim) = annfiles::read_vectors(base)?;
    let (queries, _, qdim) = annfiles::read_vectors(query)?;
    if n == 0 {
        return Err(bad(base, "no vectors"));
    }
    if qdim != dim {
        return Err(bad(
            query,
            format!("queries have dimension {qdim}, the base set {dim}"),
        ));
    }
    // Huge pages: HNSW reads rows at random all over the arena.
    let slab = Slab::copy_huge(vectors.as_slice());
    drop(vectors);
    let flat = FlatIndex::new(dim, slab).map_err(|d| bad(base, d))?;
    let mut subjects = Vec::new();
    for &kind in &setup.kinds {
        subjects.push(match kind {
            IndexKind::Flat => Subject {
                kind: "flat",
                flat: flat.clone(),
                graph: None,
                order: None,
                build_s: Some(0.0),
            },
            IndexKind::Hnsw => graph_subject(&flat, setup, reporter).map_err(|d| bad(base, d))?,
        });
    }
    Ok(Loaded {
        subjects,
        queries: queries.as_slice().to_vec(),
        dim,
        gt: None,
    })
}

/// An HNSW graph built over `flat`, timed, renumbered in graph order when
/// `setup.reorder`.
fn graph_subject(
    flat: &FlatIndex,
    setup: &Setup,
    reporter: &dyn Reporter,
) -> std::result::Result<Subject, Malformed> {
    let (params, dim) = (setup.hnsw.clone(), flat.dim());
    reporter.stage("building HNSW", flat.len() as u64);
    let progress = GraphProgress::new(reporter, 0);
    let t = Instant::now();
    let (g, hflat, order) = if setup.reorder {
        let r = Hnsw::build_reordered(flat.rows(), &params, &|n| progress.at(n));
        (r.graph, FlatIndex::new(dim, r.rows)?, Some(r.order))
    } else {
        let g = Hnsw::build(flat.rows(), &params, &|n| progress.at(n));
        (g, flat.clone(), None)
    };
    let build_s = t.elapsed().as_secs_f64();
    reporter.finish();
    Ok(Subject {
        kind: "hnsw",
        flat: hflat,
        graph: Some((g, params)),
        order,
        build_s: Some(build_s),
    })
}

fn from_index(path: &Path, qfile: &Path, reporter: &dyn Reporter) -> Result<Loaded> {
    let index = Index::open(path)?;
    let lines = crate::engine::read_query_lines(qfile)?;
    let (queries, _) = super::embed_queries(&index, lines.iter().map(|l| l.text.as_str()));
    reporter.finish();
    let subject = Subject {
        kind: index.config().kind.name(),
        flat: index.flat().into_owned(),
        graph: index.graph().cloned(),
        order: None,
        build_s: None,
    };
    Ok(Loaded {
        subjects: vec![subject],
        queries,
        dim: index.config().embedder.dim as usize,
        gt: None,
    })
}

/// The true k-th score of each query from a ground-truth id file.
pub(super) fn gt_kth(
    path: &Path,
    subject: &Subject,
    queries: &[f32],
    k: usize,
) -> Result<Vec<f32>> {
    let flat = &subject.flat;
    // Ground-truth ids name input rows; a renumbered arena holds input row
    // `order[i]` at position `i`.
    let position: Option<Vec<u32>> = subject.order.as_ref().map(|order| {
        let mut pos = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            pos[old as usize] = new as u32;
        }
        pos
    });
    let (ids, rows, width) = annfiles::read_ivecs(path)?;
    let dim = flat.dim();
    let nq = queries.len() / dim;
    if rows < nq || width < k {
        return Err(bad(
            path,
            format!(
            "{rows} rows of {width} ids, but {nq} queries at k = {k} need at least {nq} rows of {k}"
        ),
        ));
    }
    (0..nq)
        .map(|i| {
            let id = ids[i * width + k - 1];
            if id < 0 || id as usize >= flat.len() {
                return Err(bad(
                    path,
                    format!("row {i} names vector {id}, outside the base set"),
                ));
            }
            let row = position.as_ref().map_or(id as u32, |p| p[id as usize]);
            Ok(vector::dot(&queries[i * dim..(i + 1) * dim], flat.row(row)))
        })
        .collect()
}
