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
            || a.lexicon != "builtin"
            || a.bridge != vecsearch::lexicon::DEFAULT_BRIDGE
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
pub fn export(index_path: &Path, f: &QdrantExportFlags) -> Result<()> {
    let Some(file) = &f.qdrant else {
        bail!("say where to write the points: --qdrant FILE.jsonl");
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
            .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), super::describe(&e)))?
    };
    bar.finish();
    if !to_stdout {
        let mut meta = file.clone().into_os_string();
        meta.push(".meta.json");
        let meta = PathBuf::from(meta);
        std::fs::write(&meta, serde_json::to_string_pretty(&report)? + "\n")
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
