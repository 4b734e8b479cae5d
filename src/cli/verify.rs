//! `vecsearch verify`: every checksum and invariant, one line of verdict.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::args::VerifyArgs;
use super::print::human_bytes;
use vecsearch::Index;

pub fn run(a: VerifyArgs, default: &Path) -> Result<()> {
    let path = a.index.as_deref().unwrap_or(default);
    let r = Index::verify(path)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        v["ok"] = true.into();
        v["index"] = path.display().to_string().into();
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "{}: OK: format version {}, {}, {} sections, {} ({} bytes), {} passages from {} documents{}; every checksum and invariant holds",
            path.display(),
            r.format_version,
            r.kind,
            r.sections,
            human_bytes(r.bytes),
            r.bytes,
            r.passages,
            r.documents,
            if r.deleted_passages > 0 {
                format!(" and {} deleted passages awaiting compaction", r.deleted_passages)
            } else {
                String::new()
            },
        )?;
    }
    Ok(())
}
