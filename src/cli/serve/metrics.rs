//! Counters and latency histograms, written in the Prometheus text format
//! (version 0.0.4) by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::App;

/// The routes with their own series; anything else is `other`.
pub const ROUTES: [&str; 6] = [
    "/search", "/similar", "/info", "/health", "/metrics", "other",
];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

struct Histogram {
    /// Non-cumulative counts per bucket, plus one for +Inf.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }
}

/// What the server counts.
#[derive(Default)]
pub struct Metrics {
    /// (route, status) → requests answered.
    requests: Mutex<BTreeMap<(usize, u16), u64>>,
    latency: [Histogram; ROUTES.len()],
}

/// The series a request path belongs to.
pub fn route_of(path: &str) -> usize {
    ROUTES
        .iter()
        .position(|r| *r == path)
        .unwrap_or(ROUTES.len() - 1)
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: usize, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route, status))
            .or_insert(0) += 1;
        let h = &self.latency[route];
        let secs = took.as_secs_f64();
        let b = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        h.counts[b].fetch_add(1, Ordering::Relaxed);
        h.sum_ns.fetch_add(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// Prometheus label values escape `\`, `"` and newlines.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition: one family after another, in a fixed order.
pub fn render(app: &App) -> String {
    let mut out = String::new();
    request_counts(&mut out, &app.metrics);
    request_durations(&mut out, &app.metrics);
    gate_gauges(&mut out, app);
    index_gauges(&mut out, app);
    out
}

/// `vecsearch_requests_total`, by route and status.
fn request_counts(w: &mut String, m: &Metrics) {
    let _ = writeln!(
        w,
        "# HELP vecsearch_requests_total Requests answered, by route and HTTP status."
    );
    let _ = writeln!(w, "# TYPE vecsearch_requests_total counter");
    let counts = m.requests.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for ((route, status), n) in counts {
        let _ = writeln!(
            w,
            "vecsearch_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            ROUTES[route]
        );
    }
}

/// The latency histogram per route, with its sum and count.
fn request_durations(w: &mut String, m: &Metrics) {
    let _ = writeln!(
        w,
        "# HELP vecsearch_request_duration_seconds Time from a request's arrival to its response, by route."
    );
    let _ = writeln!(w, "# TYPE vecsearch_request_duration_seconds histogram");
    for (route, h) in ROUTES.iter().zip(&m.latency) {
        let mut cumulative = 0;
        for (i, c) in h.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".into(), |b| b.to_string());
            let _ = writeln!(
                w,
                "vecsearch_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(
            w,
            "vecsearch_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
        );
        let _ = writeln!(
            w,
            "vecsearch_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
        );
    }
}

/// What the admission gate is doing: running, waiting, turned away.
fn gate_gauges(w: &mut String, app: &App) {
    let gauges: [(&str, &str, &str, u64); 3] = [
        (
            "vecsearch_requests_running",
            "gauge",
            "Requests working now.",
            app.gate.running() as u64,
        ),
        (
            "vecsearch_requests_waiting",
            "gauge",
            "Requests waiting for a turn now.",
            app.gate.waiting() as u64,
        ),
        (
            "vecsearch_requests_rejected_total",
            "counter",
            "Requests turned away with 503 because the queue was full.",
            app.gate.rejected.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, v) in gauges {
        let _ = writeln!(w, "# HELP {name} {help}");
        let _ = writeln!(w, "# TYPE {name} {kind}");
        let _ = writeln!(w, "{name} {v}");
    }
}

/// One line per served index for each per-index family.
fn index_gauges(w: &mut String, app: &App) {
    type Per = fn(&super::indexes::Served) -> u64;
    let per_index: [(&str, &str, &str, Per); 4] = [
        (
            "vecsearch_index_generation",
            "gauge",
            "Which file of the index answers: 1 at start, +1 per reload.",
            |s| s.current().generation,
        ),
        (
            "vecsearch_index_passages",
            "gauge",
            "Live passages of the index answering now.",
            |s| s.current().info.passages as u64,
        ),
        (
            "vecsearch_index_reloads_total",
            "counter",
            "Replaced index files checked and swapped in.",
            |s| s.reloads.load(Ordering::Relaxed),
        ),
        (
            "vecsearch_index_reloads_refused_total",
            "counter",
            "Replaced index files that did not check and were kept out.",
            |s| s.reloads_refused.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, f) in per_index {
        let _ = writeln!(w, "# HELP {name} {help}");
        let _ = writeln!(w, "# TYPE {name} {kind}");
        for s in &app.indexes {
            let _ = writeln!(w, "{name}{{index=\"{}\"}} {}", label(&s.name), f(s));
        }
    }
}
