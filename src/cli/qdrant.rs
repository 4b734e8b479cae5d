//! `vecsearch export --qdrant FILE.jsonl` (an index's passages as Qdrant
//! points) and `vecsearch embed QUERY --json` (a query's vectors as
//! `search` builds them), for running vecsearch's analysis in front of a
//! Qdrant cluster (python/ has the loader and the query front end).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use vecsearch::points::{IdfPlacement, PointOptions, QueryVectors};
use vecsearch::{EmbedderSettings, Index, Reporter};

use super::crosslang::AnalyzerFlags;
use super::Outcome;

/// Where the idf of exported sparse vectors goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdfArg {
    /// Left to the engine (a collection with Qdrant's `modifier: idf`).
    Engine,
    /// Applied here from the index's own idf (a collection without modifier).
    Applied,
}

/// The `export` flags of the Qdrant points.
#[derive(Debug, Args)]
pub struct QdrantExportFlags {
    /// Write one Qdrant point per passage as JSON lines (`-` for stdout),
    /// and describe them in FILE.meta.json.
    #[arg(long, value_name = "FILE.jsonl")]
    pub qdrant: Option<PathBuf>,
    /// With --qdrant: where the sparse vectors' idf goes.
    #[arg(long, value_enum, default_value = "engine", requires = "qdrant")]
    pub idf: IdfArg,
    /// With --qdrant: also write each passage's dense vector.
    #[arg(long, requires = "qdrant")]
    pub dense: bool,
    /// With --qdrant: no progress bar.
    #[arg(long, short, requires = "qdrant")]
    pub quiet: bool,
    /// With --qdrant, instead of --index: files and folders to read and
    /// embed straight away, without an index (stateless: --idf engine, no
    /// dense vectors).
    #[arg(value_name = "PATH", requires = "qdrant", conflicts_with = "index")]
    pub paths: Vec<PathBuf>,
    /// With PATHs: also read files whose name matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB", requires = "paths")]
    pub include: Vec<String>,
    /// With PATHs: skip files larger than this many bytes (K, M, G allowed).
    #[arg(long, default_value = "256M", value_name = "BYTES", value_parser = super::args::parse_bytes)]
    pub max_file_bytes: u64,
    /// With PATHs: the analyzer and lexicon settings, as for `index`.
    #[command(flatten)]
    pub analyzer: AnalyzerFlags,
    /// With PATHs: seed of the term hash.
    #[arg(long, default_value_t = vecsearch::DEFAULT_SEED, requires = "paths")]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// The query, in any language.
    #[arg(
        value_name = "QUERY",
        required_unless_present = "queries",
        conflicts_with = "queries"
    )]
    pub query: Option<String>,
    /// Embed every line of FILE (one JSON line each, in order).
    #[arg(long, value_name = "FILE")]
    pub queries: Option<PathBuf>,
    /// Embed with this index's settings and idf, exactly as `search` does.
    /// Without it, the settings flags apply and no idf is used.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Without --index: embedding dimension of the dense vector.
    #[arg(long, value_name = "N", default_value_t = vecsearch::DEFAULT_DIM)]
    pub dim: u32,
    /// Without --index: seed of the term hash.
    #[arg(long, default_value_t = vecsearch::DEFAULT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub analyzer: AnalyzerFlags,
    /// Leave out the dense vector.
    #[arg(long)]
    pub sparse_only: bool,
    /// JSON lines: {"query", "idf", "sparse": {"indices", "values"}, "dense"}.
    #[arg(long)]
    pub json: bool,
}

impl EmbedArgs {
    /// Whether any settings flag differs from its default (they cannot
    /// apply to an index, which has its own).
    fn settings_given(&self) -> bool {
        let a = &self.analyzer;
        self.dim != vecsearch::DEFAULT_DIM
            || self.seed != vecsearch::DEFAULT_SEED
            || a.lexicon.as_deref().is_some_and(|l| l != "builtin")
            || a.bridge
                .is_some_and(|b| b != vecsearch::lexicon::DEFAULT_BRIDGE)
            || a.no_han_fold
            || a.no_subwords
            || a.no_diacritic_fold
            || a.katakana_bigrams
    }
}

pub fn embed(a: EmbedArgs) -> Result<Outcome> {
    let queries: Vec<String> = match (&a.query, &a.queries) {
        (Some(q), _) => vec![q.clone()],
        (None, Some(file)) => vecsearch::read_query_lines(file)?
            .into_iter()
            .map(|l| l.text)
            .collect(),
        (None, None) => bail!("give a QUERY or --queries FILE"),
    };
    let dense = !a.sparse_only;
    let index = match &a.index {
        Some(path) => {
            if a.settings_given() {
                bail!("--index embeds with the index's own settings: drop --dim, --seed and the analyzer flags");
            }
            Some(Index::open(path)?)
        }
        None => None,
    };
    let settings = if index.is_none() {
        if a.dim == 0 || a.dim > vecsearch::MAX_DIM {
            bail!("--dim must be between 1 and {}", vecsearch::MAX_DIM);
        }
        let mut s = EmbedderSettings {
            dim: a.dim,
            seed: a.seed,
            ..Default::default()
        };
        a.analyzer.apply(&mut s)?;
        Some(s)
    } else {
        None
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (i, q) in queries.iter().enumerate() {
        let v = match (&index, &settings) {
            (Some(index), _) => index.query_vectors(q, dense),
            (None, Some(s)) => vecsearch::points::query_vectors(s, q, dense),
            (None, None) => unreachable!("an index or settings"),
        };
        let v = v.map_err(|e| {
            if queries.len() > 1 {
                anyhow::anyhow!("query {} ({q:?}): {}", i + 1, super::describe(&e))
            } else {
                anyhow::anyhow!(super::describe(&e))
            }
        })?;
        if a.json {
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        } else {
            print_human(&mut out, &v)?;
        }
    }
    out.flush()?;
    Ok(Outcome::Hits)
}

fn print_human(out: &mut impl Write, v: &QueryVectors) -> Result<()> {
    writeln!(
        out,
        "{:?}: {} sparse terms (idf: {}){}",
        v.query,
        v.sparse.indices.len(),
        v.idf,
        v.dense
            .as_ref()
            .map_or(String::new(), |d| format!(", dense dim {}", d.len()))
    )?;
    for (k, w) in v.sparse.indices.iter().zip(&v.sparse.values) {
        writeln!(out, "  {k:>10}  {w:.4}")?;
    }
    Ok(())
}

/// `export --qdrant FILE`: the points, then FILE.meta.json.
pub fn export(index_path: Option<&Path>, f: &QdrantExportFlags) -> Result<()> {
    let Some(file) = &f.qdrant else {
        bail!("say where to write the points: --qdrant FILE.jsonl");
    };
    let index_path = match index_path {
        Some(p) => p,
        None if f.paths.is_empty() => {
            bail!("say what to export: --index FILE, or the PATHs to read")
        }
        None => return export_paths(file, f),
    };
    let index = Index::open(index_path)?;
    let opts = PointOptions {
        idf: match f.idf {
            IdfArg::Engine => IdfPlacement::Engine,
            IdfArg::Applied => IdfPlacement::Applied,
        },
        dense: f.dense,
    };
    let bar = super::progress::Bar::new(f.quiet);
    bar.stage("points", index.passages().len() as u64);
    let done = std::cell::Cell::new(0u64);
    let progress = |n: u64| {
        bar.inc(n - done.get());
        done.set(n);
    };
    let to_stdout = file.as_os_str() == "-";
    let report = if to_stdout {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
        index.write_points(&mut out, &opts, &progress)?
    } else {
        let handle =
            File::create(file).with_context(|| format!("{}: cannot create", file.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, handle);
        index
            .write_points(&mut out, &opts, &progress)
            .map_err(|e| output_error(file, &e))?
    };
    bar.finish();
    finish(file, &report)
}

/// `export --qdrant FILE PATH...`: points straight from the files.
fn export_paths(file: &Path, f: &QdrantExportFlags) -> Result<()> {
    if f.idf == IdfArg::Applied || f.dense {
        bail!("--idf applied and --dense need the idf of an index: pass --index FILE instead of PATHs");
    }
    // Before the output is created: a wrong path leaves no empty file.
    if let Some(p) = f.paths.iter().find(|p| !p.exists()) {
        bail!("{}: no such file or directory", p.display());
    }
    let include = f
        .include
        .iter()
        .map(|g| {
            glob::Pattern::new(g).with_context(|| format!("--include {g:?} is not a valid glob"))
        })
        .collect::<Result<Vec<_>>>()?;
    let walk = vecsearch::WalkOptions {
        include,
        max_file_bytes: f.max_file_bytes,
        output: None,
        ..Default::default()
    };
    let mut settings = EmbedderSettings {
        seed: f.seed,
        ..Default::default()
    };
    f.analyzer.apply(&mut settings)?;
    let bar = super::progress::Bar::new(f.quiet);
    bar.stage("files", 0);
    let done = std::cell::Cell::new(0u64);
    let progress = |n: u64, total: u64| {
        if done.get() == 0 {
            bar.stage("files", total);
        }
        bar.inc(n - done.get());
        done.set(n);
    };
    let warn = |m: &str| bar.warn(m);
    let write = |out: &mut dyn Write| {
        vecsearch::points::write_points_from_paths(
            &f.paths, &walk, &settings, out, &warn, &progress,
        )
    };
    let report = if file.as_os_str() == "-" {
        let stdout = std::io::stdout();
        write(&mut BufWriter::with_capacity(1 << 20, stdout.lock()))?
    } else {
        let handle =
            File::create(file).with_context(|| format!("{}: cannot create", file.display()))?;
        write(&mut BufWriter::with_capacity(1 << 20, handle)).map_err(|e| output_error(file, &e))?
    };
    bar.finish();
    finish(file, &report)
}

/// A library error of an export, naming the output file when writing it
/// failed.
fn output_error(file: &Path, e: &vecsearch::Error) -> anyhow::Error {
    match e {
        vecsearch::Error::Io { source, .. } if e.to_string().starts_with("points output") => {
            anyhow::anyhow!("{}: {source}", file.display())
        }
        _ => anyhow::anyhow!(super::describe(e)),
    }
}

/// Writes FILE.meta.json beside the points (not for stdout) and says so.
fn finish(file: &Path, report: &vecsearch::points::PointsReport) -> Result<()> {
    let to_stdout = file.as_os_str() == "-";
    if !to_stdout {
        let mut meta = file.as_os_str().to_owned();
        meta.push(".meta.json");
        let meta = PathBuf::from(meta);
        std::fs::write(&meta, serde_json::to_string_pretty(report)? + "\n")
            .with_context(|| format!("{}: cannot write", meta.display()))?;
        eprintln!(
            "wrote {} points ({} bytes) to {} and their description to {}",
            report.points,
            report.bytes,
            file.display(),
            meta.display()
        );
    }
    Ok(())
}
