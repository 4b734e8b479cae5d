//! Translation lexicons: learning one from aligned sentence pairs, reading
//! and writing its file. The embedder uses a lexicon to bridge the terms
//! of other languages to English ones (see [`EmbedderSettings`]).
//!
//! [`EmbedderSettings`]: crate::EmbedderSettings

use std::io::Write;
use std::path::Path;

pub use crate::embed::{
    learn_lexicon as learn, read_parallel, LearnOptions, LearnReport, Lexicon, ParallelPair, Score,
    DEFAULT_BRIDGE,
};
use crate::error::{Error, Result};

/// Writes `lexicon` to `path` atomically, as TSV under a `# header` line,
/// gzip-compressed when the name ends in `.gz` (with a fixed gzip header:
/// the same lexicon gives the same bytes). Returns the bytes written.
pub fn save(lexicon: &Lexicon, header: &str, path: &Path) -> Result<u64> {
    let mut text = format!("# {header}\n");
    text.push_str(&lexicon.to_tsv());
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        gz.write_all(text.as_bytes())
            .and_then(|()| gz.finish())
            .map_err(|e| Error::io(path, e))?
    } else {
        text.into_bytes()
    };
    crate::store::write_atomically(path, |w| w.write_all(&bytes))?;
    Ok(bytes.len() as u64)
}
