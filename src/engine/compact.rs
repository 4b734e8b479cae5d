//! Compaction: an index without tombstones, re-weighted exactly and, for
//! HNSW, with the graph rebuilt over the live vectors: what a fresh build
//! of the same files would give, without reading any file.

use rayon::prelude::*;

use super::counts::RowsToEmbed;
use super::dense::embed_rows;
use super::parts::{weighting_idf, Corpus, Origin, Vectors, Weighting};
use super::passages::PassageTable;
use super::types::{IndexKind, Reporter};
use super::Index;
use crate::embed::{Idf, TermCounts, Terms};
use crate::error::{Error, Result};

impl Index {
    /// A copy without tombstones; see the module docs.
    pub fn compact(&self, reporter: &dyn Reporter) -> Result<Index> {
        let live_rows: Vec<u32> = (0..self.corpus.passages.len() as u32)
            .filter(|&i| !self.corpus.deleted[i as usize])
            .collect();
        if live_rows.is_empty() {
            return Err(Error::NoPassages {
                reason: "no live passage to keep".into(),
            });
        }
        let (docs, doc_map) = self.live_docs_renumbered();
        let counts: Vec<TermCounts> = live_rows.par_iter().map(|&i| self.row_counts(i)).collect();
        let refs: Vec<&Terms> = counts.iter().map(Vec::as_slice).collect();
        let live_df = Idf::from_passages(refs.par_iter().copied());
        let idf = weighting_idf(
            &live_df,
            live_rows.iter().zip(&counts).map(|(&i, c)| {
                let lang = self.corpus.passages.get(i).lang as usize;
                (self.config.langs[lang].as_str(), c.as_slice())
            }),
        );
        reporter.stage("compacting", refs.len() as u64);
        let embedder = &self.weighting.embedder;
        let rows = RowsToEmbed::Borrowed(&refs);
        let (dense, sparse) = embed_rows(embedder, &idf, rows, self.codes(), reporter)?;
        let passages = PassageTable::build(live_rows.iter().map(|&i| {
            let mut p = self.corpus.passages.meta(i);
            p.doc = doc_map[p.doc as usize];
            p
        }));
        let graph = match (&self.vectors.graph, self.config.kind) {
            (Some((_, params)), IndexKind::Hnsw) => Vectors::link(&dense, params, reporter),
            _ => None,
        };
        reporter.finish();
        let n = passages.len();
        Ok(Index::assemble(
            self.config.clone(),
            Corpus::fresh(docs, passages),
            Weighting::fresh(embedder.clone(), idf, live_df, n),
            Vectors {
                dense,
                sparse,
                graph,
            },
            Origin::memory(None),
        ))
    }

    /// The live documents, and for every document its new position
    /// (`u32::MAX` for removed ones).
    fn live_docs_renumbered(&self) -> (Vec<super::DocMeta>, Vec<u32>) {
        let mut doc_map = vec![u32::MAX; self.corpus.docs.len()];
        let mut docs = Vec::new();
        for (i, d) in self.corpus.docs.iter().enumerate() {
            if !d.deleted {
                doc_map[i] = docs.len() as u32;
                docs.push(d.clone());
            }
        }
        (docs, doc_map)
    }
}
