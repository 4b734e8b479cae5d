//! `vecsearch serve`: the indexes as a long-running HTTP/JSON service.
//!
//! One tokio runtime runs axum; every search runs on a blocking thread
//! behind a concurrency gate (`limits.rs`), each index is a
//! [`vecsearch::Searcher`] that a poller swaps when the file at its path is
//! replaced (`indexes.rs`), and `api.rs` holds the routes. Nothing here
//! writes to the disk.

mod api;
mod indexes;
mod limits;
mod metrics;

use std::future::IntoFuture;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use super::Outcome;
use indexes::Served;

/// The environment variable that holds the API key when `--api-key` is
/// absent.
pub const API_KEY_ENV: &str = "VECSEARCH_API_KEY";

#[derive(Debug, Args)]
#[command(after_help = HELP_EXAMPLES)]
pub struct ServeArgs {
    /// Index to serve, as FILE or NAME=FILE (repeatable; the name is the
    /// file's stem unless given). The first one answers requests that name
    /// none [default: $VECSEARCH_INDEX or vecsearch.vsx].
    #[arg(long, value_name = "[NAME=]FILE")]
    pub index: Vec<String>,
    /// Address to listen on. Any address other than loopback needs an API
    /// key. Port 0 picks a free port; the address bound is printed on
    /// stderr.
    #[arg(long, default_value = "127.0.0.1:7700", value_name = "HOST:PORT")]
    pub addr: String,
    /// Key every request must carry (`Authorization: Bearer KEY` or
    /// `X-API-Key: KEY`) [default: $VECSEARCH_API_KEY]. Required when
    /// --addr is not loopback.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Largest `k` a request may ask for.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_k: usize,
    /// Largest number of queries in one batch request.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_batch: usize,
    /// Largest request body in bytes; a larger one gets 413.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// Requests answered at once; others wait in the queue.
    #[arg(long, value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// Requests that may wait for a turn; past that, 503 at once.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_queue: usize,
    /// Deadline of a request, waiting included, in milliseconds; past it,
    /// 503.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    pub timeout_ms: u64,
    /// How often to look for a replaced index file, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub poll_ms: u64,
}

const HELP_EXAMPLES: &str = "\
Routes (JSON in and out; errors are {\"error\": \"one line\"} with a 4xx or 5xx status):
  POST /search    {\"query\": \"...\", \"k\": 10, \"lang\": \"fr\", \"no_rerank\": false, \"ef\": 64,
                   \"exact\": false, \"candidates\": 5120, \"index\": \"NAME\"}
                  or {\"queries\": [\"...\", \"...\"], ...} for a batch
  POST /similar   {\"doc\": \"notes/ja/intro.md\", \"line\": 12, \"k\": 10, \"lang\": \"fr\"}
  GET  /info      every index served: name, path, generation and what `info --json` prints
  GET  /health    {\"status\": \"ok\"}
  GET  /metrics   Prometheus text: requests, latency histograms, index generations

Examples:
  vecsearch serve --index notes.vsx
  curl -s localhost:7700/search -d '{\"query\": \"bases de données vectorielles\", \"k\": 5}'
  curl -s localhost:7700/search -d '{\"queries\": [\"向量数据库\", \"recall\"], \"lang\": \"zh\"}'
  curl -s localhost:7700/similar -d '{\"doc\": \"notes/ja/intro.md\", \"line\": 12, \"lang\": \"fr\"}'
  curl -s localhost:7700/info
  VECSEARCH_API_KEY=s3cret vecsearch serve --index notes.vsx --addr 0.0.0.0:7700
  curl -s -H 'Authorization: Bearer s3cret' host:7700/search -d '{\"query\": \"recall\"}'

When another process replaces an index file (`index --update`, `compact`), the server checks
the new file and swaps it in; requests already running finish on the old one, and a bad new
file is refused (the old one stays, and the reason is logged on stderr). SIGTERM or SIGINT
stops accepting, lets running requests finish and exits 0.";

/// What every request handler shares.
pub struct App {
    pub indexes: Vec<Arc<Served>>,
    pub limits: limits::Limits,
    pub gate: limits::Gate,
    pub metrics: metrics::Metrics,
    pub api_key: Option<Vec<u8>>,
}

impl App {
    /// The index a request names, or the first one.
    pub fn index(&self, name: Option<&str>) -> Option<&Arc<Served>> {
        match name {
            None => self.indexes.first(),
            Some(n) => self.indexes.iter().find(|s| s.name == n),
        }
    }
}

pub fn run(a: ServeArgs) -> Result<Outcome> {
    let addrs: Vec<SocketAddr> = a
        .addr
        .to_socket_addrs()
        .with_context(|| format!("--addr {:?} is not HOST:PORT", a.addr))?
        .collect();
    let Some(&addr) = addrs.first() else {
        bail!("--addr {:?} names no address", a.addr);
    };
    let api_key = match a.api_key.clone() {
        Some(k) => Some(k),
        None => std::env::var(API_KEY_ENV).ok(),
    };
    if api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        bail!("the API key is empty; give a real one or none");
    }
    if !addrs.iter().all(|a| a.ip().is_loopback()) && api_key.is_none() {
        bail!(
            "--addr {} is reachable from other machines: pass --api-key KEY or set {API_KEY_ENV} (or bind 127.0.0.1)",
            a.addr
        );
    }
    if a.max_k == 0 || a.max_batch == 0 || a.max_body_bytes == 0 || a.max_queue == 0 {
        bail!("--max-k, --max-batch, --max-body-bytes and --max-queue must be at least 1");
    }
    if a.timeout_ms == 0 || a.poll_ms == 0 {
        bail!("--timeout-ms and --poll-ms must be at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let max_concurrent = a.max_concurrent.unwrap_or(2 * cores);
    if max_concurrent == 0 {
        bail!("--max-concurrent must be at least 1");
    }
    // Before any thread allocates: the arena limit binds only arenas made
    // after it (opening the indexes starts rayon's threads).
    keep_freed_memory(cores);
    let served = open_all(&a.index)?;

    let app = Arc::new(App {
        indexes: served,
        limits: limits::Limits {
            max_k: a.max_k,
            max_batch: a.max_batch,
            max_body_bytes: a.max_body_bytes,
            timeout: Duration::from_millis(a.timeout_ms),
        },
        gate: limits::Gate::new(max_concurrent, a.max_queue),
        metrics: metrics::Metrics::default(),
        api_key: api_key.map(String::into_bytes),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(max_concurrent + 4)
        .thread_name("vecsearch-serve")
        .build()
        .context("cannot start the server's runtime")?;
    let result = rt.block_on(serve(app, addr, Duration::from_millis(a.poll_ms)));
    // Requests are drained; a reload still checking a file is abandoned.
    rt.shutdown_background();
    result.map(|()| Outcome::Hits)
}

/// Has the allocator keep what a request frees for the next one. By
/// default glibc gives the top of a heap back to the kernel once 128 KiB
/// are free there, and serves blocks over its dynamic threshold with their
/// own mappings, so a flat search's candidate pools (a few hundred KiB)
/// were faulted in afresh by every request: 50–70 page faults each, on
/// an idle server. Memory the server used once stays its own, which is
/// bounded by the concurrency gate.
///
/// That memory is kept per malloc arena, and glibc gives every thread that
/// allocates under contention an arena of its own, up to 8 per core: the
/// runtime's workers, each blocking thread and rayon's threads, a dozen on
/// two cores, each keeping the high-water mark of the requests it ran. No
/// more arenas than cores keep what the requests running at once need
/// (reload RSS, BENCHMARKS.md "Serving, seventh round").
fn keep_freed_memory(cores: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets glibc's allocation thresholds and arena
    // limit; it is thread-safe and any value is valid.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_ARENA_MAX, cores.clamp(1, 64) as libc::c_int);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = cores;
}

/// Opens every `--index` (or the default one), each under a unique name.
fn open_all(specs: &[String]) -> Result<Vec<Arc<Served>>> {
    let specs: Vec<(Option<String>, PathBuf)> = if specs.is_empty() {
        vec![(None, super::default_index_path()?)]
    } else {
        specs.iter().map(|s| split_spec(s)).collect()
    };
    let mut out: Vec<Arc<Served>> = Vec::new();
    for (name, path) in specs {
        let name = name.unwrap_or_else(|| {
            path.file_stem()
                .map_or_else(|| "index".into(), |s| s.to_string_lossy().into_owned())
        });
        if out.iter().any(|s| s.name == name) {
            bail!("two indexes are named {name:?}: name them with --index NAME=FILE");
        }
        if !path.exists() {
            bail!(
                "{}: no such index (build one with `vecsearch index PATH --index {}`)",
                path.display(),
                path.display()
            );
        }
        let served = Served::open(name, path)?;
        out.push(Arc::new(served));
    }
    Ok(out)
}

/// `NAME=FILE` or `FILE`; a path that exists as written is a path even if
/// it holds `=`.
fn split_spec(s: &str) -> (Option<String>, PathBuf) {
    if !std::path::Path::new(s).exists() {
        if let Some((name, path)) = s.split_once('=') {
            if !name.is_empty() && !name.contains('/') {
                return (Some(name.to_string()), PathBuf::from(path));
            }
        }
    }
    (None, PathBuf::from(s))
}

async fn serve(app: Arc<App>, addr: SocketAddr, poll: Duration) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("no local address")?;
    let names: Vec<String> = app
        .indexes
        .iter()
        .map(|s| format!("{}={}", s.name, s.path.display()))
        .collect();
    eprintln!(
        "vecsearch: listening on http://{bound} (indexes: {}; max {} at once, {} waiting)",
        names.join(", "),
        app.gate.max_concurrent(),
        app.gate.max_queue()
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    for served in &app.indexes {
        tokio::spawn(indexes::watch(served.clone(), poll, stop_rx.clone()));
    }
    tokio::spawn(async move {
        let name = wait_for_signal().await;
        eprintln!("vecsearch: {name}: no new connections; finishing the requests in flight");
        let _ = stop_tx.send(true);
    });

    let router = api::router(app.clone());
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|&s| s).await;
    });
    // Requests in flight get their deadline and a little more to finish;
    // a connection that lingers past that does not keep the process up.
    let drain = app.limits.timeout + Duration::from_secs(2);
    let mut cap_rx = stop_rx;
    let cap = async move {
        let _ = cap_rx.wait_for(|&s| s).await;
        tokio::time::sleep(drain).await;
    };
    tokio::select! {
        r = server.into_future() => r.context("the server failed")?,
        () = cap => eprintln!("vecsearch: connections still open after {} ms; exiting", drain.as_millis()),
    }
    eprintln!("vecsearch: stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT and names it.
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!(
            "vecsearch: warning: cannot watch SIGTERM and SIGINT; stop the server with SIGKILL"
        );
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_on_the_first_equals_sign() {
        assert_eq!(
            split_spec("docs=/srv/docs.vsx"),
            (Some("docs".into()), PathBuf::from("/srv/docs.vsx"))
        );
        assert_eq!(split_spec("notes.vsx"), (None, PathBuf::from("notes.vsx")));
        assert_eq!(split_spec("a/b=c.vsx"), (None, PathBuf::from("a/b=c.vsx")));
    }
}
