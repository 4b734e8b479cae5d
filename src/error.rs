//! The library's one error type. Every variant carries the data a caller
//! needs (the file, the section, what was expected and found) and displays
//! as words a user can act on. It never names a command-line flag or
//! command: the CLI adds those when it prints an error.

use std::path::PathBuf;

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong; see the module docs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The scratch file a build keeps beside the index `index` (its term
    /// counts between analysis and embedding) could not be made, written
    /// or read.
    #[error("{}: cannot use the build's scratch file beside it: {source}", index.display())]
    Scratch {
        /// The index being built.
        index: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A path to read does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A walk found no file of a readable kind.
    #[error("no indexable files in {paths} (vecsearch reads .txt, .md and .markdown)")]
    NoFiles {
        /// The paths walked, comma-separated.
        paths: String,
    },
    /// Files were found but none held text to index.
    #[error("nothing to index: {reason}")]
    NoPassages {
        /// Why.
        reason: String,
    },
    /// The file is not a vecsearch index.
    #[error("{}: not a vecsearch index ({detail})", path.display())]
    NotAnIndex {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// The file ends early.
    #[error("{}: index is truncated ({detail}); rebuild it", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is missing.
        detail: String,
    },
    /// The file was written by a newer build.
    #[error("{}: index format version {found} is newer than this build reads (up to {supported}); upgrade vecsearch", path.display())]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The file's format is no longer read.
    #[error("{}: index format version {found} is no longer read by this build (it reads {supported}); rebuild it", path.display())]
    OlderVersion {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u32,
        /// The oldest this build reads.
        supported: u32,
    },
    /// A checksum does not match: the bytes are damaged.
    #[error("{}: checksum mismatch in the {section}: the file is corrupt; rebuild it", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The section (and block) that failed.
        section: String,
    },
    /// The checksums hold but the contents contradict each other.
    #[error("{}: index is corrupt: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The contradiction.
        detail: String,
    },
    /// Another process holds the index's writer lock.
    #[error("{}: another vecsearch process{} is writing this index (lock file {})", path.display(), holder.map(|p| format!(" (pid {p})")).unwrap_or_default(), lock.display())]
    Locked {
        /// The index.
        path: PathBuf,
        /// Its lock file.
        lock: PathBuf,
        /// The holder's process id, when the lock file names it.
        holder: Option<u32>,
    },
    /// The index file to write is also an input.
    #[error("{}: the index file is also one of the files to index ({}); refusing to replace it, choose another index file", path.display(), input.display())]
    OutputIsInput {
        /// The index file.
        path: PathBuf,
        /// The input that is the same file.
        input: PathBuf,
    },
    /// The file to write exists and is not an index.
    #[error("{}: {why}; refusing to replace it with an index (remove it first if it should go, or choose another index file)", path.display())]
    NotReplaceable {
        /// The file.
        path: PathBuf,
        /// What it is.
        why: String,
    },
    /// A path names a folder where a file is needed.
    #[error("{}: is a directory, not {what}", path.display())]
    IsADirectory {
        /// The folder.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },
    /// The query is empty or blank.
    #[error("empty query")]
    EmptyQuery,
    /// The query holds no word the analyzer keeps.
    #[error("query {query:?} has no searchable words")]
    NoQueryTerms {
        /// The query.
        query: String,
    },
    /// Zero hits were asked for.
    #[error("the number of hits must be at least 1")]
    ZeroK,
    /// A vector dimension out of range.
    #[error("the dimension must be between 1 and {max}, not {dim}")]
    InvalidDimension {
        /// The dimension asked for.
        dim: u32,
        /// The largest allowed.
        max: u32,
    },
    /// More passages than ids.
    #[error("more than 2^32 passages in one index")]
    TooManyPassages,
    /// A language filter that is not a language tag.
    #[error("{tag:?} is not a language tag (try ja, zh, zh-Hans, zh-Hant, fr, en)")]
    BadLanguageTag {
        /// The tag.
        tag: String,
    },
    /// A language filter that no passage of the index can pass.
    #[error("language {tag:?} matches no passage of this index; its languages are {}", langs.join(", "))]
    LanguageNotInIndex {
        /// The tag.
        tag: String,
        /// The index's languages.
        langs: Vec<String>,
    },
    /// No live document has this path (or path suffix).
    #[error("{doc}: no indexed document has this path")]
    NoSuchDocument {
        /// The path asked for.
        doc: String,
    },
    /// Several live documents end with this path.
    #[error("{doc}: ambiguous, {count} indexed documents end with it (e.g. {first} and {second})")]
    AmbiguousDocument {
        /// The path asked for.
        doc: String,
        /// How many match.
        count: usize,
        /// Two of them.
        first: String,
        /// Two of them.
        second: String,
    },
    /// No passage of the document covers the line.
    #[error("{doc}:{line}: no passage covers that line")]
    NoPassageAtLine {
        /// The document's stored path.
        doc: String,
        /// The 1-based line.
        line: u32,
    },
    /// A document with no passage left.
    #[error("{doc}: the document has no passages left")]
    EmptyDocument {
        /// The document's stored path.
        doc: String,
    },
    /// A path glob that does not parse.
    #[error("path glob {glob:?} is not valid: {detail}")]
    BadGlob {
        /// The glob.
        glob: String,
        /// What the parser said.
        detail: String,
    },
    /// A glob choosing the files to index that does not parse.
    #[error("file glob {glob:?} is not valid: {detail}")]
    BadFileGlob {
        /// The glob.
        glob: String,
        /// What the parser said.
        detail: String,
    },
    /// A passage id out of range.
    #[error("no passage {id}")]
    NoSuchPassage {
        /// The id.
        id: u32,
    },
    /// A line of an input file that does not parse.
    #[error("{}:{line}: not {what} ({detail}); need {need}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What the line should be.
        what: &'static str,
        /// The fields it needs.
        need: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// An input file that is not what it should be as a whole.
    #[error("{}: {detail}", path.display())]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A line of an input file that is wrong in itself.
    #[error("{}:{line}: {detail}", path.display())]
    BadInputLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it.
        detail: String,
    },
    /// An ANN vector file that cannot be read or written.
    #[error(transparent)]
    AnnFile(#[from] crate::bench::annfiles::AnnFileError),
    /// One query of an evaluation failed.
    #[error("query {number} ({query:?}): {source}")]
    QueryFailed {
        /// Its 1-based position.
        number: usize,
        /// Its text.
        query: String,
        /// Why.
        source: Box<Error>,
    },
}

/// A broken invariant that a part found in what it was handed: a
/// section's arrays, or parts put together. The parts do not know which
/// file the data came from, so the engine adds the path and reports it as
/// [`Error::Corrupt`], with this message as the `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// A fixed invariant, named by its message ("sparse keys are not
    /// sorted").
    #[error("{0}")]
    Invariant(&'static str),
    /// A run of passage records fails its block checksums.
    #[error("passages {start}..{end} fail their checksum")]
    PassageChecksum {
        /// The run's first record.
        start: usize,
        /// One past its last.
        end: usize,
    },
    /// A passage record points outside its tables.
    #[error("passage {id} has impossible fields")]
    PassageFields {
        /// The passage.
        id: usize,
    },
    /// A passage's text is shorter than its record says.
    #[error("passage {id}'s text cannot be read")]
    PassageText {
        /// The passage.
        id: usize,
    },
    /// A passage's text is not UTF-8.
    #[error("passage {id}'s text is not UTF-8")]
    PassageUtf8 {
        /// The passage.
        id: usize,
    },
    /// A vector array that is not a whole number of rows.
    #[error("{floats} floats do not make whole rows of dimension {dim}")]
    PartialRows {
        /// The array's length.
        floats: usize,
        /// The row length.
        dim: usize,
    },
    /// A code array that is not a whole number of codes.
    #[error("{words} code words do not make whole codes for dimension {dim}")]
    PartialCodes {
        /// The array's length, in words.
        words: usize,
        /// The dimension the codes are for.
        dim: usize,
    },
}

impl From<&'static str> for Malformed {
    fn from(what: &'static str) -> Self {
        Malformed::Invariant(what)
    }
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Malformed;

    /// A corrupt file's message is part of what `verify` and `open` print:
    /// the typed errors keep the words the validators' strings had.
    #[test]
    fn malformed_keeps_the_messages() {
        let cases = [
            (
                Malformed::from("sparse keys are not sorted"),
                "sparse keys are not sorted",
            ),
            (
                Malformed::PassageChecksum {
                    start: 0,
                    end: 8192,
                },
                "passages 0..8192 fail their checksum",
            ),
            (
                Malformed::PassageFields { id: 7 },
                "passage 7 has impossible fields",
            ),
            (
                Malformed::PassageText { id: 3 },
                "passage 3's text cannot be read",
            ),
            (
                Malformed::PassageUtf8 { id: 3 },
                "passage 3's text is not UTF-8",
            ),
            (
                Malformed::PartialRows { floats: 10, dim: 4 },
                "10 floats do not make whole rows of dimension 4",
            ),
            (
                Malformed::PartialCodes { words: 5, dim: 128 },
                "5 code words do not make whole codes for dimension 128",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(e.to_string(), text);
        }
    }
}
