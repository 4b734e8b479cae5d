//! `vecsearch export`: the vectors of an index (and optionally embedded
//! queries) as .fvecs or .npy, so any peer library runs on exactly what
//! vecsearch indexes.

use anyhow::{bail, Context, Result};
use vecsearch::annfiles;
use vecsearch::Index;

use super::args::ExportArgs;

pub fn run(a: ExportArgs) -> Result<()> {
    if a.fvecs.is_none() && a.npy.is_none() && a.query_fvecs.is_none() {
        bail!("say where to write: --fvecs OUT, --npy OUT and/or --queries FILE --query-fvecs OUT");
    }
    let index = Index::open(&a.index)?;
    let flat = index.flat();
    if let Some(out) = &a.fvecs {
        annfiles::write_fvecs(out, flat.vectors(), flat.dim())?;
        eprintln!(
            "wrote {} vectors of dimension {} to {}",
            flat.len(),
            flat.dim(),
            out.display()
        );
    }
    if let Some(out) = &a.npy {
        annfiles::write_npy(out, flat.vectors(), flat.len(), flat.dim())?;
        eprintln!(
            "wrote {} vectors of dimension {} to {}",
            flat.len(),
            flat.dim(),
            out.display()
        );
    }
    if let Some(out) = &a.query_fvecs {
        let Some(qfile) = &a.queries else {
            bail!("--query-fvecs needs --queries FILE");
        };
        let text =
            std::fs::read_to_string(qfile).with_context(|| format!("{}", qfile.display()))?;
        let mut matrix = Vec::new();
        let mut skipped = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match index.embed_query(line) {
                Ok(Some((v, _))) => matrix.extend_from_slice(&v),
                _ => skipped += 1,
            }
        }
        if matrix.is_empty() {
            bail!("{}: no query shares a term with the index", qfile.display());
        }
        annfiles::write_fvecs(out, &matrix, flat.dim())?;
        eprintln!(
            "wrote {} query vectors to {} ({skipped} queries with no known term left out)",
            matrix.len() / flat.dim(),
            out.display()
        );
    }
    Ok(())
}
