//! Command-line grammar. The subcommand and flag names here are a contract
//! with scripts: add, never rename.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "vecsearch",
    version,
    about = "Offline multilingual semantic search over your own documents",
    after_help = "Exit status: 0 when there are hits, 1 when there are none, 2 on error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index files and folders (.txt, .md, .markdown, .html) into one index file.
    Index(IndexArgs),
    /// Search an index; without --index and with no index at the default
    /// location, searches the built-in sample corpus.
    Search(SearchArgs),
    /// Describe an index: passages, documents, languages, dim, kind, bytes.
    Info(InfoArgs),
    /// Measure recall@k, QPS, latency, build time, bytes and memory, on an
    /// index with text queries or on .fvecs/.bvecs files.
    Bench(BenchArgs),
    /// Write an index's vectors as .fvecs or .npy, or its passages as
    /// Qdrant points (--qdrant), for other tools.
    Export(ExportArgs),
    /// Drop the passages of removed files, re-weight, and rebuild the graph.
    Compact(CompactArgs),
    /// The passages most like the one covering DOC:LINE, in any language.
    Similar(super::crosslang::SimilarArgs),
    /// Measure retrieval quality.
    Eval(super::crosslang::EvalArgs),
    /// Build the cross-language lexicon.
    Lexicon(super::crosslang::LexiconArgs),
    /// Check every checksum and invariant of an index file; exit 0 if it is
    /// sound, 2 naming the first bad section if not.
    Verify(VerifyArgs),
    /// Print a query's sparse (and dense) vector exactly as `search` builds
    /// it, so another engine (Qdrant) can be asked the same question.
    Embed(super::qdrant::EmbedArgs),
    /// Serve indexes over HTTP/JSON (search, similar, info, health,
    /// metrics), reloading a file when another process replaces it.
    Serve(super::serve::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), e.g. `vecsearch man > vecsearch.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Index file [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A vecsearch index to measure (with --queries).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base", "query", "gt"])]
    pub index: Option<PathBuf>,
    /// Text queries, one per line (with --index).
    #[arg(long, value_name = "FILE", requires = "index")]
    pub queries: Option<PathBuf>,
    /// Base vectors (.fvecs or .bvecs).
    #[arg(long, value_name = "FILE", requires = "query")]
    pub base: Option<PathBuf>,
    /// Query vectors (.fvecs or .bvecs).
    #[arg(long, value_name = "FILE", requires = "base")]
    pub query: Option<PathBuf>,
    /// Ground-truth neighbour ids (.ivecs); computed exactly when absent.
    #[arg(long, value_name = "FILE")]
    pub gt: Option<PathBuf>,
    /// Index structure to build from the files [default: both].
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// HNSW beam widths to sweep.
    #[arg(long, default_value = "16,32,64,128,256", value_name = "LIST")]
    pub ef: String,
    /// Thread counts to measure [default: 1 and all cores].
    #[arg(long, value_name = "LIST")]
    pub threads: Option<String>,
    /// Neighbours per query.
    #[arg(short, default_value_t = 10, value_name = "N")]
    pub k: usize,
    /// One JSON line per configuration and mode.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Keep the input row order for HNSW instead of renumbering rows so
    /// that near vectors sit together in memory (for A/B measurements).
    #[arg(long)]
    pub no_reorder: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The index whose vectors to write (--qdrant also takes PATHs instead).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Write the passage vectors as .fvecs.
    #[arg(long, value_name = "OUT")]
    pub fvecs: Option<PathBuf>,
    /// Write the passage vectors as .npy (float32, shape (n, dim)).
    #[arg(long, value_name = "OUT")]
    pub npy: Option<PathBuf>,
    /// Text queries to embed with the index's own weights.
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// Where to write the embedded queries (.fvecs).
    #[arg(long, value_name = "OUT", requires = "queries")]
    pub query_fvecs: Option<PathBuf>,
    #[command(flatten)]
    pub qdrant: super::qdrant::QdrantExportFlags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodesArg {
    Bits,
    F32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Flat,
    Hnsw,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files or folders to index (folders are walked in sorted order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Index file to write [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Embedding dimension [default: 1024]. With --update, the index's own.
    #[arg(long, value_name = "N")]
    pub dim: Option<u32>,
    /// Index structure [default: flat]. With --update, the index's own.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// How the dense candidate vectors are stored: 1-bit codes (32x
    /// smaller, re-scored exactly; an HNSW graph is built and walked on
    /// them) or f32 [default: bits]. With --update, the index's own.
    #[arg(long, value_enum)]
    pub codes: Option<CodesArg>,
    /// Also read files whose name matches GLOB (repeatable), e.g. '*.rst'.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Only walk files matching GLOB, or skip them with '!GLOB'
    /// (repeatable; ripgrep's syntax, matched below each folder named).
    #[arg(long, short = 'g', value_name = "GLOB")]
    pub glob: Vec<String>,
    /// Skip files and folders matching GLOB (repeatable; same as -g '!GLOB').
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Only walk files of this type (repeatable): md, txt, html, or any
    /// extension (e.g. rst, read as text).
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub types: Vec<String>,
    /// Do not honour .gitignore, .ignore or git's exclude files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Also walk hidden files and folders (names starting with '.').
    #[arg(long)]
    pub hidden: bool,
    /// Skip files larger than this many bytes (suffixes K, M, G allowed).
    #[arg(long, default_value = "256M", value_name = "BYTES", value_parser = parse_bytes)]
    pub max_file_bytes: u64,
    /// Seed of the term hash [default: 8531334416396546659]. With
    /// --update, the index's own.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// If another writer holds the index's lock, wait for it instead of
    /// failing.
    #[arg(long)]
    pub wait: bool,
    /// Re-read only what changed since the index was written: add new
    /// files, replace changed ones, drop removed ones.
    #[arg(long)]
    pub update: bool,
    #[command(flatten)]
    pub analyzer: super::crosslang::AnalyzerFlags,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Index file [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// If another writer holds the index's lock, wait for it instead of
    /// failing.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for, in any language ('-' reads it from standard input).
    #[arg(
        value_name = "QUERY",
        required_unless_present = "queries",
        conflicts_with = "queries"
    )]
    pub query: Option<String>,
    /// Answer every line of FILE as a query, streaming ('-' for standard
    /// input).
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    #[command(flatten)]
    pub hits: HitArgs,
    /// Only passages of documents whose path matches GLOB (repeatable):
    /// the whole path, a part after a '/', or a folder on it.
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Only passages of this document (repeatable): an indexed path, or
    /// its end after a '/'.
    #[arg(long = "doc", value_name = "DOC")]
    pub docs: Vec<String>,
    /// Print only the number of hits (per query with --queries).
    #[arg(long, short = 'c', conflicts_with = "files_with_matches")]
    pub count: bool,
    /// Print only the documents with hits, best first, each once.
    #[arg(long, short = 'l')]
    pub files_with_matches: bool,
    /// Show N lines of the file before and after each hit (text output).
    #[arg(long, short = 'C', value_name = "N")]
    pub context: Option<usize>,
    /// No progress bar for --queries.
    #[arg(long, short)]
    pub quiet: bool,
    /// HNSW beam width per query (larger: better recall, slower) [default: 64].
    #[arg(long, value_name = "N")]
    pub ef: Option<usize>,
    /// Scan every vector even if the index has an HNSW graph.
    #[arg(long)]
    pub exact: bool,
    /// Dense candidates to re-score exactly (larger: closer to the exact
    /// ranking, slower) [default: max(8k, 64), times 8 for 1-bit codes].
    #[arg(long, value_name = "N")]
    pub candidates: Option<usize>,
}

/// What `search` and `similar` share: where to look, how many hits, which
/// language, how to print.
#[derive(Debug, Args)]
pub struct HitArgs {
    /// Index file [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Number of hits per query.
    #[arg(short, default_value_t = 10, value_name = "N")]
    pub k: usize,
    /// Only passages in this language: ja, zh (both scripts), zh-Hans, zh-Hant, fr, en, ...
    #[arg(long, value_name = "TAG")]
    pub lang: Option<String>,
    /// JSON lines, one hit per line.
    #[arg(long)]
    pub json: bool,
    /// Rank by the hashed vectors alone, without the exact re-scoring.
    #[arg(long)]
    pub no_rerank: bool,
    /// Colour and highlighting: auto (on a terminal, unless NO_COLOR is
    /// set), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl ColorArg {
    /// Whether to colour standard output.
    pub fn enabled(self) -> bool {
        use std::io::IsTerminal;
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

impl HitArgs {
    /// The library's search options for these flags.
    pub fn options(&self) -> anyhow::Result<vecsearch::SearchOptions> {
        let opts = vecsearch::SearchOptions {
            k: self.k,
            lang: self.lang.clone(),
            rerank: !self.no_rerank,
            ..Default::default()
        };
        // Refused before the index is opened, in the library's words
        // (`errors.rs` names the flag).
        opts.check()?;
        Ok(opts)
    }
}

/// HNSW construction parameters, named as in the paper.
#[derive(Debug, Args, Clone)]
pub struct GraphArgs {
    /// HNSW: links per node (layer 0 keeps 2·M).
    #[arg(long, default_value_t = 16, value_name = "M", value_parser = clap::value_parser!(u32).range(2..=256))]
    pub m: u32,
    /// HNSW: beam width while building.
    #[arg(long, default_value_t = 200, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub ef_construction: u32,
    /// HNSW: seed of the level draw (same seed, same graph).
    #[arg(long, default_value_t = vecsearch::HnswParams::default().seed, value_name = "SEED")]
    pub hnsw_seed: u64,
}

impl GraphArgs {
    pub fn params(&self) -> vecsearch::HnswParams {
        vecsearch::HnswParams {
            m: self.m as usize,
            ef_construction: self.ef_construction as usize,
            seed: self.hnsw_seed,
        }
    }
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Index file [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a size like 1048576, 512K, 64M or 1G"))
}
