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
mod serve;
mod signals;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Parser;

pub use errors::describe;

use args::{Cli, CodesArg, Command, IndexArgs, InfoArgs, KindArg, SearchArgs};
use vecsearch::{
    BuildOptions, Codes, EmbedderSettings, Index, IndexKind, IndexWriter, Reporter, SearchOptions,
    WalkOptions,
};

/// What `main` does with the outcome: exit code to return.
pub enum Outcome {
    Hits,
    NoHits,
}

pub fn run() -> Result<Outcome> {
    let cli = parse_args()?;
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
        Command::Verify(a) => {
            let default = match a.index {
                Some(_) => PathBuf::new(),
                None => default_index_path()?,
            };
            verify::run(a, &default).map(|()| Outcome::Hits)
        }
        Command::Completions(a) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "vecsearch", &mut std::io::stdout());
            Ok(Outcome::Hits)
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            print::finish(out)?;
            Ok(Outcome::Hits)
        }
        Command::Serve(a) => serve::run(a),
        Command::Embed(a) => qdrant::embed(a),
    }
}

/// The command line, or clap's complaint as our one-line error (help and
/// version print and exit here, as clap would).
fn parse_args() -> Result<Cli> {
    let e = match Cli::try_parse() {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
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
    // clap puts what is missing or wrong on the lines after the first (the
    // names of missing arguments, a suggestion): keep them, on one line,
    // and drop the usage.
    let text = e.to_string();
    let first: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let first = if first.is_empty() {
        "bad arguments"
    } else {
        first
    };
    bail!("{first} (see 'vecsearch --help')");
}

/// `$VECSEARCH_INDEX`, else `vecsearch.vsx`. A variable that is set but
/// empty is an error rather than a file named "".
fn default_index_path() -> Result<PathBuf> {
    match std::env::var_os("VECSEARCH_INDEX") {
        Some(v) if v.is_empty() => {
            bail!("VECSEARCH_INDEX is set but empty; unset it or name an index file")
        }
        Some(v) => Ok(PathBuf::from(v)),
        None => Ok(PathBuf::from("vecsearch.vsx")),
    }
}

fn index(a: IndexArgs) -> Result<Outcome> {
    let out = match a.index.clone() {
        Some(p) => p,
        None => default_index_path()?,
    };
    let include = a
        .include
        .iter()
        .map(|g| {
            glob::Pattern::new(g).with_context(|| format!("--include {g:?} is not a valid glob"))
        })
        .collect::<Result<Vec<_>>>()?;
    // Arguments first: a bad one must cost nothing (no lexicon loaded, no
    // lock file made).
    if let Some(d) = a.dim.filter(|&d| d == 0 || d > vecsearch::MAX_DIM) {
        bail!(
            "--dim {d} is out of range: it must be between 1 and {}",
            vecsearch::MAX_DIM
        );
    }
    let mut embedder = EmbedderSettings {
        dim: a.dim.unwrap_or(vecsearch::DEFAULT_DIM),
        seed: a.seed.unwrap_or(vecsearch::DEFAULT_SEED),
        ..Default::default()
    };
    a.analyzer.apply(&mut embedder)?;
    let opts = BuildOptions {
        embedder,
        kind: match a.kind {
            Some(KindArg::Hnsw) => IndexKind::Hnsw,
            Some(KindArg::Flat) | None => IndexKind::Flat,
        },
        walk: walk_options(&a, include, &out)?,
        hnsw: a.graph.params(),
        codes: a.codes.map(|c| match c {
            CodesArg::Bits => Codes::Bits,
            CodesArg::F32 => Codes::F32,
        }),
        spill_beside: Some(out.clone()),
    };
    // Before anything is created or read, the writer checks that a swapped
    // argument costs nothing (the save checks again, in case the file
    // changed meanwhile); it then holds the lock from reading the input to
    // the rename.
    let writer = IndexWriter::create(&out, a.wait, say_waiting)?;
    let reporter = progress::Bar::new(a.quiet);
    if a.update && out.exists() {
        return update(&a, &writer, &opts, &reporter);
    }
    let (report, bytes) = writer.build(&a.paths, &opts, &reporter)?;
    reporter.finish();
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
    print_skips(&report.skipped, &opts.walk);
    Ok(Outcome::Hits)
}

/// The walk's settings from `index`'s flags; its warnings go to stderr as
/// they happen.
fn walk_options(a: &IndexArgs, include: Vec<glob::Pattern>, out: &Path) -> Result<WalkOptions> {
    let mut globs = a.glob.clone();
    globs.extend(a.exclude.iter().map(|g| format!("!{g}")));
    vecsearch::check_file_globs(&globs)?;
    Ok(WalkOptions {
        include,
        max_file_bytes: a.max_file_bytes,
        output: Some(out.to_path_buf()),
        globs,
        ignore_files: !a.no_ignore,
        hidden: a.hidden,
        types: a.types.clone(),
        log: vecsearch::WalkLog::with_sink(|m| {
            eprintln!("vecsearch: warning: {}", print::escape_controls(m))
        }),
    })
}

/// One line counting the files passed over, by reason.
fn print_skips(skipped: &[(String, vecsearch::SkipReason)], walk: &WalkOptions) {
    let stats = walk.log.stats();
    let mut parts: Vec<String> = Vec::new();
    if !skipped.is_empty() {
        let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
        for (_, why) in skipped {
            *by_reason.entry(why.kind()).or_default() += 1;
        }
        let reasons: Vec<String> = by_reason
            .iter()
            .map(|(why, n)| format!("{} {why}", print::count(*n as u64)))
            .collect();
        // The library does not name flags: the hint for files over the
        // size limit is added here.
        let too_large = skipped
            .iter()
            .any(|(_, why)| matches!(why, vecsearch::SkipReason::TooLarge { .. }));
        parts.push(format!(
            "{} file(s) ({}; see the warnings above{})",
            print::count(skipped.len() as u64),
            reasons.join(", "),
            if too_large {
                "; raise --max-file-bytes to read larger files"
            } else {
                ""
            }
        ));
    }
    if stats.unreadable_dirs > 0 {
        parts.push(format!(
            "{} unreadable folder(s)",
            print::count(stats.unreadable_dirs as u64)
        ));
    }
    let total = stats.extension_total();
    if total > 0 {
        let mut exts: Vec<(&String, &usize)> = stats.extensions.iter().collect();
        exts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let named: Vec<String> = exts
            .iter()
            .take(5)
            .map(|(e, n)| {
                let e = if e.is_empty() {
                    "no extension".to_string()
                } else {
                    format!(".{}", print::escape_controls(e))
                };
                format!("{} {e}", print::count(**n as u64))
            })
            .collect();
        let more = if exts.len() > 5 { ", ..." } else { "" };
        parts.push(format!(
            "{} file(s) for their extension ({}{more}; --include GLOB reads them)",
            print::count(total as u64),
            named.join(", ")
        ));
    }
    if stats.duplicates > 0 {
        parts.push(format!(
            "{} path(s) naming a file already named",
            print::count(stats.duplicates as u64)
        ));
    }
    if !parts.is_empty() {
        eprintln!("skipped {}", parts.join("; "));
    }
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
    if let Some(s) = a.seed.filter(|&s| s != have.embedder.seed) {
        bail!(
            "{}: --update keeps the index's seed {}, not {s}; rebuild without --update to change it",
            out.display(),
            have.embedder.seed
        );
    }
    let conflicts = a.analyzer.conflicts(&have.embedder.analyzer);
    if !conflicts.is_empty() {
        bail!(
            "{}: --update keeps the index's analyzer and lexicon, so {} cannot apply; rebuild without --update to change them",
            out.display(),
            conflicts.join(", ")
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
    reporter.spin("writing index");
    let bytes = writer.save(&mut index)?;
    reporter.finish();
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
    print_skips(&r.skipped, &opts.walk);
    Ok(Outcome::Hits)
}

fn compact(a: args::CompactArgs) -> Result<Outcome> {
    let path = match a.index.clone() {
        Some(p) => p,
        None => default_index_path()?,
    };
    let writer = IndexWriter::open(&path, a.wait, say_waiting)?;
    let old = open_to_carry_over(&writer, "compact")?;
    let before = old.info()?;
    let reporter = progress::Bar::new(a.quiet);
    let mut index = old.compact(&reporter)?;
    drop(old);
    reporter.spin("writing index");
    let bytes = writer.save(&mut index)?;
    reporter.finish();
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

/// Says that a writer waits for another one's lock (`--wait`, which was
/// given, so the error's own hint to pass it is left out).
fn say_waiting(busy: &vecsearch::Error) {
    match busy {
        vecsearch::Error::Locked { path, lock, holder } => eprintln!(
            "vecsearch: waiting: another vecsearch process{} is writing {} (lock file {})",
            holder.map(|p| format!(" (pid {p})")).unwrap_or_default(),
            path.display(),
            lock.display()
        ),
        other => eprintln!("vecsearch: waiting: {}", describe(other)),
    }
}

/// Opens `--index`, else the default index, else the built-in sample.
fn open_index(explicit: Option<&Path>) -> Result<Index> {
    if let Some(p) = explicit {
        return Ok(Index::open(p)?);
    }
    let default = default_index_path()?;
    if default.exists() {
        return Ok(Index::open(&default)?);
    }
    // A variable naming a file that is not there is a typo, not a request
    // for the sample.
    if std::env::var_os("VECSEARCH_INDEX").is_some() {
        bail!(
            "{}: no such index (named by VECSEARCH_INDEX); build it with `vecsearch index PATH --index {}` or unset the variable",
            default.display(),
            default.display()
        );
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
    let paths = if a.paths.is_empty() && a.docs.is_empty() {
        None
    } else {
        let mut f = vecsearch::PathFilter::new(&a.paths)?;
        for d in &a.docs {
            f.extend(vecsearch::PathFilter::document(d));
        }
        Some(f)
    };
    let opts = SearchOptions {
        ef: a.ef,
        exact: a.exact,
        candidates: a.candidates,
        paths,
        ..a.hits.options()?
    };
    if a.ef == Some(0) {
        bail!("--ef must be at least 1");
    }
    if a.candidates == Some(0) {
        bail!("--candidates must be at least 1");
    }
    let query = match a.query.as_deref() {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes)
                .context("standard input")?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("standard input: the query is not valid UTF-8"))?;
            let q = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if q.is_empty() {
                bail!("empty query (standard input held no text)");
            }
            Some(q)
        }
        Some(q) if q.trim().is_empty() => bail!("empty query"),
        Some(q) => Some(q.to_string()),
        None => None,
    };
    let index = open_index(a.hits.index.as_deref())?;
    if a.ef.is_some() && !index.has_graph() {
        eprintln!("vecsearch: warning: --ef only tunes an HNSW index; this one is flat and is scanned exactly");
    }
    let mode = print::Mode {
        json: a.hits.json,
        color: a.hits.color.enabled(),
        count: a.count,
        files: a.files_with_matches,
        context: a.context,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let any = if let Some(qfile) = &a.queries {
        stream_queries(&index, qfile, &opts, &mode, &mut out, a.quiet)?
    } else {
        let q = query.as_deref().expect("clap requires a query");
        let hits = match index.search(q, &opts) {
            // Nothing to look for is nothing found, as grep has it: exit 1,
            // with a word on why.
            Err(e @ vecsearch::Error::NoQueryTerms { .. }) => {
                eprintln!(
                    "vecsearch: {}; no hits",
                    print::escape_controls(&e.to_string())
                );
                Vec::new()
            }
            r => r?,
        };
        print::answer(&mut out, &index, q, None, &hits, &mode)?;
        !hits.is_empty()
    };
    print::finish(out)?;
    Ok(if any { Outcome::Hits } else { Outcome::NoHits })
}

/// Queries answered per batch: enough for the tiled batch kernel to read
/// each row once for many queries, few enough that memory stays bounded
/// and answers go out as they are ready.
const QUERY_BATCH: usize = 512;

/// Answers every non-empty line of `qfile` (`-`: standard input) as a
/// query, a batch at a time, printing each batch before reading the next.
/// Returns whether any query had a hit.
fn stream_queries(
    index: &Index,
    qfile: &Path,
    opts: &SearchOptions,
    mode: &print::Mode,
    out: &mut dyn Write,
    quiet: bool,
) -> Result<bool> {
    let (name, mut reader, total) = open_queries(qfile)?;
    // The bar counts bytes of the file; standard input has no known end.
    let bar = progress::Bar::new(quiet || total == 0);
    bar.stage("searching", total);
    let mut tally = Tally::default();
    let mut line_no = 0usize;
    let mut batch: Vec<(usize, String)> = Vec::with_capacity(QUERY_BATCH);
    let mut buf = Vec::new();
    let mut pending_bytes = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| name.clone())?;
        let done = n == 0;
        if !done {
            pending_bytes += n as u64;
            let line = std::str::from_utf8(&buf)
                .map_err(|_| anyhow::anyhow!("{name}:{}: not valid UTF-8", line_no + 1))?;
            let line = line.trim_end_matches(['\n', '\r']);
            if !line.trim().is_empty() {
                batch.push((line_no, line.to_string()));
            }
            line_no += 1;
        }
        if batch.len() == QUERY_BATCH || (done && !batch.is_empty()) {
            let batch_out = BatchOut {
                index,
                mode,
                bar: &bar,
                name: &name,
            };
            batch_out.answer(&batch, opts, out, &mut tally)?;
            batch.clear();
            bar.inc(pending_bytes);
            pending_bytes = 0;
        }
        if done {
            break;
        }
    }
    bar.finish();
    if tally.queries == 0 {
        bail!("{name}: no queries in the file");
    }
    if tally.errors == tally.queries {
        bail!("{name}: none of the queries has searchable words");
    }
    Ok(tally.any)
}

/// The query file's name for messages, a reader over it, and its length
/// (0 for standard input, whose end is unknown).
fn open_queries(qfile: &Path) -> Result<(String, Box<dyn std::io::BufRead>, u64)> {
    if qfile == Path::new("-") {
        return Ok((
            "standard input".to_string(),
            Box::new(std::io::stdin().lock()),
            0,
        ));
    }
    let name = qfile.display().to_string();
    let f = std::fs::File::open(qfile).with_context(|| name.clone())?;
    let len = f.metadata().map_or(0, |m| m.len());
    Ok((name, Box::new(std::io::BufReader::new(f)), len))
}

/// What a query file's answers came to so far.
#[derive(Default)]
struct Tally {
    any: bool,
    queries: usize,
    errors: usize,
}

/// Where a batch of a query file's answers goes.
struct BatchOut<'a> {
    index: &'a Index,
    mode: &'a print::Mode,
    bar: &'a progress::Bar,
    name: &'a str,
}

impl BatchOut<'_> {
    /// Searches one batch of `(line number, query)` and prints its answers
    /// in order. A query without searchable words is that query's problem
    /// (a warning); anything else (a damaged block, a bad option) is the
    /// whole run's.
    fn answer(
        &self,
        batch: &[(usize, String)],
        opts: &SearchOptions,
        out: &mut dyn Write,
        tally: &mut Tally,
    ) -> Result<()> {
        let texts: Vec<String> = batch.iter().map(|(_, q)| q.clone()).collect();
        let results = self.index.search_batch(&texts, opts);
        for ((line, q), r) in batch.iter().zip(results) {
            tally.queries += 1;
            match r {
                Ok(hits) => {
                    tally.any |= !hits.is_empty();
                    print::answer(out, self.index, q, Some(*line), &hits, self.mode)?;
                }
                Err(e @ (vecsearch::Error::NoQueryTerms { .. } | vecsearch::Error::EmptyQuery)) => {
                    tally.errors += 1;
                    out.flush().ok();
                    self.bar.warn(&format!("{}:{}: {e}", self.name, line + 1));
                }
                Err(e) => return Err(e.into()),
            }
        }
        out.flush().ok();
        Ok(())
    }
}

fn info(a: InfoArgs) -> Result<Outcome> {
    let index = open_index(a.index.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    print::info(&mut out, &index.info()?, a.json)?;
    print::finish(out)?;
    Ok(Outcome::Hits)
}
