//! The routes: requests in, the CLI's JSON hit fields out, and every
//! failure as `{"error": "one line"}` with its status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use vecsearch::{Error as E, Hit, SearchOptions};

use super::indexes::{Current, Served};
use super::limits::{MAX_CANDIDATES, MAX_EF};
use super::metrics::{self, route_of};
use super::App;

/// A failure, as the client sees it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into().replace('\n', " "),
        }
    }

    pub fn bad(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn overloaded(message: String) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// A library error: the caller's mistakes are 4xx with the library's
    /// words (in the API's field names); a damaged index is 500, with the
    /// details (file paths) on the server's stderr only.
    fn engine(e: E) -> ApiError {
        match e {
            E::ZeroK => ApiError::bad("k must be at least 1"),
            E::BadLanguageTag { .. } => ApiError::bad(format!("lang {e}")),
            E::EmptyQuery
            | E::NoQueryTerms { .. }
            | E::LanguageNotInIndex { .. }
            | E::AmbiguousDocument { .. } => ApiError::bad(e.to_string()),
            E::NoSuchDocument { .. } | E::NoPassageAtLine { .. } | E::NoSuchPassage { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            e => {
                eprintln!(
                    "vecsearch: error answering a request: {}",
                    crate::cli::describe(&e)
                );
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the index could not answer (the server's log says why)",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
        }
        let mut r = (
            self.status,
            Json(Body {
                error: &self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// A JSON body of type `T`: any bytes that do not parse as exactly `T`
/// (bad JSON, an unknown field, a wrong type, a missing field) are a 400
/// with serde's one-line reason; a body over the limit is a 413.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| ApiError::new(r.status(), r.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::bad(format!("bad request body: {e}")))
    }
}

// The hit fields `vecsearch search --json` prints, in its order: the
// CLI's own type, so the two cannot drift apart.
use super::super::print::JsonHit;

fn json_hits(hits: &[Hit], query_id: Option<usize>) -> Vec<JsonHit<'_>> {
    hits.iter().map(|h| JsonHit::of(h, query_id)).collect()
}

fn default_k() -> usize {
    10
}

/// `POST /search`: the flags of `vecsearch search`, as fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchRequest {
    /// One query...
    query: Option<String>,
    /// ...or a batch, answered as `search --queries` answers a file.
    queries: Option<Vec<String>>,
    #[serde(default = "default_k")]
    k: usize,
    lang: Option<String>,
    #[serde(default)]
    no_rerank: bool,
    ef: Option<usize>,
    #[serde(default)]
    exact: bool,
    candidates: Option<usize>,
    /// Only documents whose path matches one of these globs (`--path`).
    #[serde(default)]
    path: Vec<String>,
    /// Only these documents (`--doc`).
    #[serde(default)]
    doc: Vec<String>,
    /// Which index, by name; the first one served if absent.
    index: Option<String>,
}

/// `POST /similar`: `vecsearch similar DOC:LINE`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimilarRequest {
    doc: String,
    line: u32,
    #[serde(default = "default_k")]
    k: usize,
    lang: Option<String>,
    #[serde(default)]
    no_rerank: bool,
    index: Option<String>,
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/search", post(search))
        .route("/similar", post(similar))
        .route("/info", get(info))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(axum::extract::DefaultBodyLimit::max(
            app.limits.max_body_bytes,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .layer(middleware::from_fn_with_state(app.clone(), measure))
        .with_state(app)
}

/// Counts every response (401s and 404s too) and tells the client the
/// server's own time in `Server-Timing`: `app` is the whole request, and
/// a request that searched adds its [`Stages`].
async fn measure(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_of(req.uri().path());
    let mut r = next.run(req).await;
    let took = start.elapsed();
    app.metrics.record(route, r.status().as_u16(), took);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut timing = format!("app;dur={:.3}", ms(took));
    if let Some(s) = r.extensions().get::<Stages>() {
        timing.push_str(&format!(
            ", wait;dur={:.3}, handoff;dur={:.3}, work;dur={:.3}",
            ms(s.wait),
            ms(s.handoff),
            ms(s.work)
        ));
    }
    if let Ok(v) = HeaderValue::from_str(&timing) {
        r.headers_mut().insert("server-timing", v);
    }
    r
}

/// With a key configured, every request must carry it.
async fn authorize(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(want) = &app.api_key {
        let given = presented_key(req.headers());
        if !given.is_some_and(|g| keys_match(g, want)) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong API key (send Authorization: Bearer KEY)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The key in `Authorization: Bearer KEY` or `X-API-Key: KEY`.
fn presented_key(h: &HeaderMap) -> Option<&[u8]> {
    if let Some(v) = h.get(header::AUTHORIZATION) {
        let v = v.as_bytes();
        let scheme = b"bearer ";
        if v.len() > scheme.len() && v[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&v[scheme.len()..]);
        }
        return None;
    }
    h.get("x-api-key").map(|v| v.as_bytes())
}

/// Compares in time that depends only on the lengths, never on where the
/// first differing byte is.
pub fn keys_match(given: &[u8], want: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != want.len());
    for (i, w) in want.iter().enumerate() {
        diff |= given.get(i).copied().unwrap_or(0) ^ w;
    }
    std::hint::black_box(diff) == 0
}

fn index<'a>(app: &'a App, name: Option<&str>) -> Result<&'a Arc<Served>, ApiError> {
    app.index(name).ok_or_else(|| {
        let names: Vec<&str> = app.indexes.iter().map(|s| s.name.as_str()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no index named {:?}; this server has {}",
                name.unwrap_or(""),
                names.join(", ")
            ),
        )
    })
}

fn check_k(app: &App, k: usize) -> Result<(), ApiError> {
    SearchOptions::check_k(k).map_err(ApiError::engine)?;
    if k > app.limits.max_k {
        return Err(ApiError::bad(format!(
            "k is {k}; this server answers at most {}",
            app.limits.max_k
        )));
    }
    Ok(())
}

/// Where a searching request's time went, reported in `Server-Timing`:
/// waiting for a turn at the gate, handing the work to a thread and its
/// answer back, and the work itself (the engine's search).
#[derive(Debug, Clone, Copy, Default)]
struct Stages {
    wait: Duration,
    handoff: Duration,
    work: Duration,
}

/// Runs `work` on a blocking thread once the gate lets it in, within the
/// request's deadline. The turn goes with the work, so work that outlives
/// its deadline still counts against the bound until it ends.
///
/// A request that arrives at an idle server ([`Gate::alone`]) runs it on
/// the thread that read it (`block_in_place`, which hands that thread's
/// other tasks to another worker): handing it to a blocking thread and the
/// answer back costs two thread wake-ups, 0.07–0.09 ms on an idle server,
/// about a twentieth of a graph search. Under load the blocking pool takes
/// the work as before, so the workers stay free to read requests and turn
/// the excess away, and the same few threads do the work.
///
/// [`Gate::alone`]: super::limits::Gate::alone
async fn run<T: Send + 'static>(
    app: &App,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Stages), ApiError> {
    let deadline = app.limits.timeout;
    let start = Instant::now();
    let admitted = async {
        let turn = app.gate.enter().await?;
        let admitted = Instant::now();
        let timed = move || {
            let _turn = turn;
            let began = Instant::now();
            let r = work();
            (r, began.elapsed())
        };
        let (r, took) = if app.gate.alone() {
            let done = tokio::task::block_in_place(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(timed))
            });
            let done = done.map_err(|_| internal_error())?;
            // Nothing could interrupt the work here: past the deadline,
            // answer as the timeout below would have.
            if start.elapsed() > deadline {
                return Err(past_deadline(deadline));
            }
            done
        } else {
            tokio::task::spawn_blocking(timed)
                .await
                .map_err(|_| internal_error())?
        };
        let stages = Stages {
            wait: admitted - start,
            handoff: admitted.elapsed().saturating_sub(took),
            work: took,
        };
        r.map(|t| (t, stages))
    };
    match tokio::time::timeout(deadline, admitted).await {
        Ok(r) => r,
        Err(_) => Err(past_deadline(deadline)),
    }
}

fn internal_error() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error while answering (the server's log says more)",
    )
}

fn past_deadline(deadline: Duration) -> ApiError {
    ApiError::overloaded(format!(
        "no answer within the deadline of {} ms; retry later",
        deadline.as_millis()
    ))
}

/// A response of `/search` or `/similar`: which index answered, which
/// file of it (`generation`), then the answer.
#[derive(Serialize)]
struct Answer<'a, T: Serialize> {
    index: &'a str,
    generation: u64,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct Hits<'a> {
    /// The passage `/similar` started from.
    #[serde(skip_serializing_if = "Option::is_none")]
    passage: Option<u32>,
    hits: Vec<JsonHit<'a>>,
}

#[derive(Serialize)]
struct Results<'a> {
    results: Vec<QueryResult<'a>>,
}

/// One query of a batch: its hits, or why it has none.
#[derive(Serialize)]
struct QueryResult<'a> {
    query_id: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    hits: Option<Vec<JsonHit<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn answer(served: &Served, cur: &Current, stages: Stages, body: impl Serialize) -> Response {
    let mut r = Json(Answer {
        index: &served.name,
        generation: cur.generation,
        body,
    })
    .into_response();
    r.extensions_mut().insert(stages);
    r
}

async fn search(
    State(app): State<Arc<App>>,
    Body(mut req): Body<SearchRequest>,
) -> Result<Response, ApiError> {
    check_search_limits(&app, &req)?;
    let served = index(&app, req.index.as_deref())?.clone();
    let opts = search_options(&mut req)?;
    match (req.query, req.queries) {
        (Some(q), None) => search_one(&app, &served, q, opts).await,
        (None, Some(queries)) => search_batch(&app, &served, queries, opts).await,
        (Some(_), Some(_)) => Err(ApiError::bad("give query or queries, not both")),
        (None, None) => Err(ApiError::bad(
            "missing field `query` (or `queries` for a batch)",
        )),
    }
}

/// The request's numbers against the server's limits, before any work is
/// queued.
fn check_search_limits(app: &App, req: &SearchRequest) -> Result<(), ApiError> {
    check_k(app, req.k)?;
    if req.ef == Some(0) || req.ef.is_some_and(|e| e > MAX_EF) {
        return Err(ApiError::bad(format!("ef must be between 1 and {MAX_EF}")));
    }
    if req.candidates == Some(0) || req.candidates.is_some_and(|c| c > MAX_CANDIDATES) {
        return Err(ApiError::bad(format!(
            "candidates must be between 1 and {MAX_CANDIDATES}"
        )));
    }
    Ok(())
}

/// The request's search options (its language is taken out of `req`).
fn search_options(req: &mut SearchRequest) -> Result<SearchOptions, ApiError> {
    let paths = if req.path.is_empty() && req.doc.is_empty() {
        None
    } else {
        let mut f = vecsearch::PathFilter::new(&req.path)
            .map_err(|e| ApiError::bad(super::super::describe(&e)))?;
        for d in &req.doc {
            f.extend(vecsearch::PathFilter::document(d));
        }
        Some(f)
    };
    Ok(SearchOptions {
        k: req.k,
        lang: req.lang.take(),
        rerank: !req.no_rerank,
        ef: req.ef,
        exact: req.exact,
        candidates: req.candidates,
        paths,
    })
}

/// `{"query": ...}`: one list of hits.
async fn search_one(
    app: &App,
    served: &Served,
    q: String,
    opts: SearchOptions,
) -> Result<Response, ApiError> {
    if q.trim().is_empty() {
        return Err(ApiError::bad("empty query"));
    }
    let cur = served.current();
    let searcher = cur.searcher.clone();
    let (hits, stages) = run(app, move || {
        searcher.search(&q, &opts).map_err(ApiError::engine)
    })
    .await?;
    Ok(answer(
        served,
        &cur,
        stages,
        Hits {
            passage: None,
            hits: json_hits(&hits, None),
        },
    ))
}

/// `{"queries": [...]}`: one result per query, each its hits or why it has
/// none, as `search --queries` answers a file.
async fn search_batch(
    app: &App,
    served: &Served,
    queries: Vec<String>,
    opts: SearchOptions,
) -> Result<Response, ApiError> {
    if queries.is_empty() {
        return Err(ApiError::bad("queries is empty"));
    }
    if queries.len() > app.limits.max_batch {
        return Err(ApiError::bad(format!(
            "{} queries; this server answers at most {} in one request",
            queries.len(),
            app.limits.max_batch
        )));
    }
    let cur = served.current();
    let searcher = cur.searcher.clone();
    let (results, stages) = run(app, move || {
        let mut out = Vec::new();
        for r in searcher.search_batch(&queries, &opts) {
            out.push(match r {
                Ok(hits) => Ok(hits),
                // As with a query file: a query without searchable
                // words is its own problem, anything else the
                // request's.
                Err(e @ (E::NoQueryTerms { .. } | E::EmptyQuery)) => Err(e.to_string()),
                Err(e) => return Err(ApiError::engine(e)),
            });
        }
        Ok(out)
    })
    .await?;
    let results = results
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Ok(hits) => QueryResult {
                query_id: i,
                hits: Some(json_hits(hits, Some(i))),
                error: None,
            },
            Err(e) => QueryResult {
                query_id: i,
                hits: None,
                error: Some(e.clone()),
            },
        })
        .collect();
    Ok(answer(served, &cur, stages, Results { results }))
}

async fn similar(
    State(app): State<Arc<App>>,
    Body(req): Body<SimilarRequest>,
) -> Result<Response, ApiError> {
    check_k(&app, req.k)?;
    if req.line == 0 {
        return Err(ApiError::bad("line must be a line number from 1"));
    }
    if req.doc.is_empty() {
        return Err(ApiError::bad("doc is empty"));
    }
    let served = index(&app, req.index.as_deref())?.clone();
    let opts = SearchOptions {
        k: req.k,
        lang: req.lang,
        rerank: !req.no_rerank,
        ..Default::default()
    };
    let cur = served.current();
    let searcher = cur.searcher.clone();
    let ((id, hits), stages) = run(&app, move || {
        let id = searcher
            .index()
            .passage_at(&req.doc, req.line)
            .map_err(ApiError::engine)?;
        let hits = searcher.similar(id, &opts).map_err(ApiError::engine)?;
        Ok((id, hits))
    })
    .await?;
    Ok(answer(
        &served,
        &cur,
        stages,
        Hits {
            passage: Some(id),
            hits: json_hits(&hits, None),
        },
    ))
}

/// One index of `GET /info`.
#[derive(Serialize)]
struct IndexEntry<'a> {
    name: &'a str,
    path: String,
    generation: u64,
    info: &'a vecsearch::IndexInfo,
}

async fn info(State(app): State<Arc<App>>) -> Response {
    let current: Vec<(&Arc<Served>, Current)> =
        app.indexes.iter().map(|s| (s, s.current())).collect();
    let indexes: Vec<IndexEntry<'_>> = current
        .iter()
        .map(|(s, cur)| IndexEntry {
            name: &s.name,
            path: s.path.display().to_string(),
            generation: cur.generation,
            info: &cur.info,
        })
        .collect();
    #[derive(Serialize)]
    struct Info<'a> {
        indexes: Vec<IndexEntry<'a>>,
    }
    Json(Info { indexes }).into_response()
}

async fn health(State(app): State<Arc<App>>) -> Response {
    Json(serde_json::json!({ "status": "ok", "indexes": app.indexes.len() })).into_response()
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics::render(&app),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_when_equal() {
        assert!(keys_match(b"s3cret", b"s3cret"));
        assert!(!keys_match(b"s3cre", b"s3cret"));
        assert!(!keys_match(b"s3cretX", b"s3cret"));
        assert!(!keys_match(b"S3cret", b"s3cret"));
        assert!(!keys_match(b"", b"s3cret"));
    }

    #[test]
    fn the_key_comes_from_either_header() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h), None);
        h.insert("x-api-key", HeaderValue::from_static("k1"));
        assert_eq!(presented_key(&h), Some(&b"k1"[..]));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k2"));
        assert_eq!(presented_key(&h), Some(&b"k2"[..]));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic k2"));
        assert_eq!(presented_key(&h), None);
    }
}
