//! `vecsearch export`: the vectors of an index (and optionally embedded
//! queries) as .fvecs or .npy, so any peer library runs on exactly what
//! vecsearch indexes.

use anyhow::{bail, Result};
use vecsearch::bench::{annfiles, embed_queries, export_vectors};
use vecsearch::Index;

use super::args::ExportArgs;

pub fn run(a: ExportArgs) -> Result<()> {
    if a.qdrant.qdrant.is_some() {
        super::qdrant::export(a.index.as_deref(), &a.qdrant)?;
        if a.fvecs.is_none() && a.npy.is_none() && a.query_fvecs.is_none() {
            return Ok(());
        }
    }
    let Some(index) = &a.index else {
        bail!("say which index: --index FILE");
    };
    if a.fvecs.is_none() && a.npy.is_none() && a.query_fvecs.is_none() {
        bail!("say where to write: --qdrant FILE.jsonl, --fvecs OUT, --npy OUT and/or --queries FILE --query-fvecs OUT");
    }
    let index = Index::open(index)?;
    if a.fvecs.is_some() || a.npy.is_some() {
        let (n, dim) = export_vectors(&index, a.fvecs.as_deref(), a.npy.as_deref())?;
        for out in a.fvecs.iter().chain(&a.npy) {
            eprintln!("wrote {n} vectors of dimension {dim} to {}", out.display());
        }
    }
    if let Some(out) = &a.query_fvecs {
        let Some(qfile) = &a.queries else {
            bail!("--query-fvecs needs --queries FILE");
        };
        let lines = vecsearch::read_query_lines(qfile)?;
        let (matrix, skipped) = embed_queries(&index, lines.iter().map(|l| l.text.as_str()));
        if matrix.is_empty() {
            bail!("{}: no query shares a term with the index", qfile.display());
        }
        let dim = index.config().embedder.dim as usize;
        annfiles::write_fvecs(out, &matrix, dim)?;
        eprintln!(
            "wrote {} query vectors to {} ({skipped} queries with no known term left out)",
            matrix.len() / dim,
            out.display()
        );
    }
    Ok(())
}
