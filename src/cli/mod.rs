//! The command-line front end: parses arguments, calls the library, prints
//! text or JSON. The library never sees a flag or a terminal.

mod args;
mod bench;
mod crosslang;
mod errors;
mod export;
mod print;
mod progress;
mod qdrant;
mod signals;
mod verify;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;

pub use errors::describe;

use args::{Cli, CodesArg, Command, IndexArgs, InfoArgs, KindArg, SearchArgs};
use vecsearch::{
    BuildOptions, Codes, EmbedderSettings, Index, IndexKind, IndexWriter, SearchOptions,
    WalkOptions,
};

/// What `main` does with the outcome: exit code to return.
pub enum Outcome {
    Hits,
    NoHits,
}

pub fn run() -> Result<Outcome> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                print!("{e}");
                std::process::exit(
                    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                        2
                    } else {
                        0
                    },
                );
            }
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            bail!("{first} (see 'vecsearch --help')");
        }
    };
    // The commands that write a file clean up after themselves on a signal.
    if matches!(
        cli.command,
        Command::Index(_) | Command::Compact(_) | Command::Lexicon(_)
    ) {
        signals::install()?;
    }
    match cli.command {
        Command::Index(a) => index(a),
        Command::Search(a) => search(a),
        Command::Info(a) => info(a),
        Command::Bench(a) => bench::run(a).map(|()| Outcome::Hits),
        Command::Export(a) => export::run(a).map(|()| Outcome::Hits),
        Command::Compact(a) => compact(a),
        Command::Similar(a) => crosslang::similar(a),
        Command::Eval(a) => crosslang::eval(a),
        Command::Lexicon(a) => crosslang::lexicon(a),
        Command::Verify(a) => verify::run(a, &default_index_path()).map(|()| Outcome::Hits),
        Command::Embed(a) => qdrant::embed(a),
    }
}

fn default_index_path() -> PathBuf {
    std::env::var_os("VECSEARCH_INDEX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("vecsearch.vsx"))
}

fn index(a: IndexArgs) -> Result<Outcome> {
    let out = a.index.clone().unwrap_or_else(default_index_path);
    let include = a
        .include
        .iter()
        .map(|g| {
            glob::Pattern::new(g).with_context(|| format!("--include {g:?} is not a valid glob"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut embedder = EmbedderSettings {
        dim: a.dim.unwrap_or(vecsearch::DEFAULT_DIM),
        seed: a.seed,
        ..Default::default()
    };
    a.analyzer.apply(&mut embedder)?;
    let opts = BuildOptions {
        embedder,
        kind: match a.kind {
            Some(KindArg::Hnsw) => IndexKind::Hnsw,
            Some(KindArg::Flat) | None => IndexKind::Flat,
        },
        walk: WalkOptions {
            include,
            max_file_bytes: a.max_file_bytes,
            output: Some(out.clone()),
        },
        hnsw: a.graph.params(),
        codes: a.codes.map(|c| match c {
            CodesArg::Bits => Codes::Bits,
            CodesArg::F32 => Codes::F32,
        }),
    };
    if opts.kind == IndexKind::Hnsw && opts.codes() == Codes::Bits {
        bail!("--kind hnsw walks its graph on f32 vectors: use --codes f32 (the default for hnsw)");
    }
    // Before anything is created or read, the writer checks that a swapped
    // argument costs nothing (the save checks again, in case the file
    // changed meanwhile); it then holds the lock from reading the input to
    // the rename.
    let writer = IndexWriter::create(&out, a.wait, say_waiting)?;
    let reporter = progress::Bar::new(a.quiet);
    if a.update && out.exists() {
        return update(&a, &writer, &opts, &reporter);
    }
    let (mut index, report) = Index::build(&a.paths, &opts, &reporter)?;
    let bytes = writer.save(&mut index)?;
    eprintln!(
        "indexed {} passages from {} documents in {:.2} s (dim {}, {}) → {} ({})",
        report.passages,
        report.documents,
        report.seconds,
        opts.embedder.dim,
        opts.kind.name(),
        out.display(),
        print::human_bytes(bytes),
    );
    if !report.skipped.is_empty() {
        eprintln!(
            "skipped {} file(s); see the warnings above",
            report.skipped.len()
        );
    }
    Ok(Outcome::Hits)
}

fn update(
    a: &IndexArgs,
    writer: &IndexWriter,
    opts: &BuildOptions,
    reporter: &progress::Bar,
) -> Result<Outcome> {
    let out = writer.path();
    let old = open_to_carry_over(writer, "--update")?;
    // An update keeps the index's settings; silently ignoring a flag that
    // asks for others would leave the user with an index they did not ask for.
    let have = old.config();
    if let Some(d) = a.dim.filter(|&d| d != have.embedder.dim) {
        bail!(
            "{}: --update keeps the index's dim {}, not {d}; rebuild without --update to change it",
            out.display(),
            have.embedder.dim
        );
    }
    if let Some(c) = a.codes.filter(|_| opts.codes() != old.codes()) {
        bail!(
            "{}: --update keeps the index's codes {}, not {}; rebuild without --update to change it",
            out.display(),
            old.codes().name(),
            value_name(c)
        );
    }
    if let Some(k) = a.kind.filter(|_| opts.kind != have.kind) {
        bail!(
            "{}: --update keeps the index's kind {}, not {}; rebuild without --update to change it",
            out.display(),
            have.kind.name(),
            value_name(k)
        );
    }
    let (mut index, r) = old.update(&a.paths, &opts.walk, reporter)?;
    drop(old);
    let bytes = writer.save(&mut index)?;
    eprintln!(
        "updated {} in {:.2} s: {} added, {} changed, {} removed, {} unchanged documents; {} passages added, {} removed{}{} ({})",
        out.display(),
        r.seconds,
        r.added_docs,
        r.changed_docs,
        r.removed_docs,
        r.unchanged_docs,
        r.passages_added,
        r.passages_removed,
        if r.reweighted { "; re-weighted" } else { "" },
        if r.compacted { "; compacted" } else { "" },
        print::human_bytes(bytes),
    );
    if !r.skipped.is_empty() {
        eprintln!(
            "skipped {} file(s); see the warnings above",
            r.skipped.len()
        );
    }
    Ok(Outcome::Hits)
}

fn compact(a: args::CompactArgs) -> Result<Outcome> {
    let path = a.index.clone().unwrap_or_else(default_index_path);
    let writer = IndexWriter::open(&path, a.wait, say_waiting)?;
    let old = open_to_carry_over(&writer, "compact")?;
    let before = old.info()?;
    let reporter = progress::Bar::new(a.quiet);
    let mut index = old.compact(&reporter)?;
    drop(old);
    let bytes = writer.save(&mut index)?;
    // Live passages stay; what compaction removes is the tombstones.
    eprintln!(
        "compacted {}: {} passages kept, {} deleted passages dropped ({} → {})",
        path.display(),
        index.info()?.passages,
        before.deleted_passages,
        print::human_bytes(before.bytes.unwrap_or(0)),
        print::human_bytes(bytes)
    );
    Ok(Outcome::Hits)
}

/// Opens an index whose contents a writer carries into a new file, with
/// every checksum checked: a plain open leaves the bulk sections to
/// `verify`, and a new file would put fresh checksums over bad bytes. A
/// corrupt file is refused with the command that rebuilds it from scratch.
fn open_to_carry_over(writer: &IndexWriter, what: &str) -> Result<Index> {
    use vecsearch::Error as E;
    let path = writer.path();
    writer.open_current().map_err(|e| {
        let why = match &e {
            E::Checksum { section, .. } => format!("checksum mismatch in the {section}"),
            E::Corrupt { detail, .. } => detail.clone(),
            E::Truncated { detail, .. } => format!("truncated: {detail}"),
            _ => return anyhow::Error::new(e),
        };
        anyhow::anyhow!(
            "{}: the index is corrupt ({why}), so {what} will not build on it; rebuild it from your files with `vecsearch index <PATH>... --index {}`",
            path.display(),
            path.display()
        )
    })
}

/// Says that a writer waits for another one's lock (`--wait`).
fn say_waiting(busy: &vecsearch::Error) {
    eprintln!("vecsearch: waiting: {}", describe(busy));
}

/// Opens `--index`, else the default index, else the built-in sample.
fn open_index(explicit: Option<&Path>) -> Result<Index> {
    if let Some(p) = explicit {
        return Ok(Index::open(p)?);
    }
    let default = default_index_path();
    if default.exists() {
        return Ok(Index::open(&default)?);
    }
    eprintln!(
        "vecsearch: no index at {}; searching the built-in sample corpus (build your own with `vecsearch index PATH`)",
        default.display()
    );
    Ok(Index::sample(&BuildOptions::default())?)
}

/// A flag value as the user types it (`hnsw`, not `Hnsw`).
fn value_name(v: impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_string())
}

fn search(a: SearchArgs) -> Result<Outcome> {
    let opts = SearchOptions {
        ef: a.ef,
        exact: a.exact,
        candidates: a.candidates,
        ..a.hits.options()?
    };
    if a.ef == Some(0) {
        bail!("--ef must be at least 1");
    }
    if a.candidates == Some(0) {
        bail!("--candidates must be at least 1");
    }
    if let Some(q) = &a.query {
        if q.trim().is_empty() {
            bail!("empty query");
        }
    }
    let index = open_index(a.hits.index.as_deref())?;
    if a.ef.is_some() && !index.has_graph() {
        eprintln!("vecsearch: warning: --ef only tunes an HNSW index; this one is flat and is scanned exactly");
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut any = false;
    if let Some(qfile) = &a.queries {
        let lines = vecsearch::read_query_lines(qfile)?;
        if lines.is_empty() {
            bail!("{}: no queries in the file", qfile.display());
        }
        let queries: Vec<String> = lines.iter().map(|q| q.text.clone()).collect();
        let results = index.search_batch(&queries, &opts);
        let mut errors = 0;
        for (q, r) in lines.iter().zip(results) {
            let line = q.line - 1;
            let q = &q.text;
            match r {
                Ok(hits) => {
                    any |= !hits.is_empty();
                    print::hits(&mut out, &index, q, Some(line), &hits, a.hits.json, color)?;
                }
                // A query without searchable words is that query's problem;
                // anything else (a damaged block, a bad option) is the
                // whole run's.
                Err(e @ (vecsearch::Error::NoQueryTerms { .. } | vecsearch::Error::EmptyQuery)) => {
                    errors += 1;
                    out.flush().ok();
                    eprintln!("vecsearch: warning: {}:{}: {e}", qfile.display(), line + 1);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if errors == lines.len() {
            bail!(
                "{}: none of the queries has searchable words",
                qfile.display()
            );
        }
    } else {
        let q = a.query.as_deref().expect("clap requires a query");
        let hits = index.search(q, &opts)?;
        any = !hits.is_empty();
        print::hits(&mut out, &index, q, None, &hits, a.hits.json, color)?;
    }
    print::finish(out)?;
    Ok(if any { Outcome::Hits } else { Outcome::NoHits })
}

fn info(a: InfoArgs) -> Result<Outcome> {
    let index = open_index(a.index.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print::info(&mut out, &index.info()?, a.json)?;
    print::finish(out)?;
    Ok(Outcome::Hits)
}
