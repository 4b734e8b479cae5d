//! `vecsearch serve`, black box: the real binary on a free loopback port,
//! spoken to over raw HTTP/1.1.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, run_in};
use serde_json::Value;

/// A running server; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    /// Every stderr line so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = bin();
        cmd.current_dir(dir)
            .arg("serve")
            .args(args)
            .env_remove("VECSEARCH_API_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary runs");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().expect("an address"),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start: {:?}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Server { child, addr, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(self.addr, method, path, body, &[])
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.call("POST", path, &body.to_string());
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
        (status, v)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.call("GET", path, "");
        (status, serde_json::from_str(&text).expect("JSON"))
    }

    fn terminate(&self) {
        let r = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(r.success());
    }

    /// Waits for the process to end and returns its exit code.
    fn wait(&mut self, limit: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < limit,
                "the server did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on its own connection; returns the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    read_response(&mut s)
}

fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("a response");
    let raw = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (status, body.to_string())
}

/// Documents in three languages, indexed as `a.vsx`.
fn corpus(dir: &Path) {
    let docs = dir.join("docs");
    for sub in ["en", "fr", "ja"] {
        std::fs::create_dir_all(docs.join(sub)).unwrap();
    }
    std::fs::write(
        docs.join("en/vectors.md"),
        "# Vector databases\n\nA vector database stores embeddings and answers nearest neighbour queries.\n\nRecall measures how many true neighbours a search returns.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("en/cooking.md"),
        "# Bread\n\nKnead the dough, let it rise, and bake it in a hot oven.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("fr/vecteurs.md"),
        "# Bases de données vectorielles\n\nUne base de données vectorielle stocke des plongements et répond aux requêtes de plus proches voisins.\n",
    )
    .unwrap();
    std::fs::write(
        docs.join("ja/vectors.md"),
        "# ベクトルデータベース\n\nベクトルデータベースは埋め込みを保存し、最近傍検索に答える。\n",
    )
    .unwrap();
    let r = run_in(dir, &["index", "docs", "--index", "a.vsx", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The JSON lines the CLI prints, as values.
fn cli_json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let r = run_in(dir, args);
    assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `a.vsx` served on a free loopback port, with `extra` options.
fn serve_a(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--index", "a.vsx", "--addr", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(dir, &args, &[])
}

fn start(dir: &Path) -> Server {
    serve_a(dir, &["--poll-ms", "50"])
}

#[test]
fn every_route_answers_as_the_cli_does() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = start(dir);

    for (query, extra) in [
        ("vector database", vec![]),
        ("base de données", vec!["--lang", "fr"]),
        ("ベクトル", vec!["-k", "2"]),
    ] {
        let mut args = vec!["search", query, "--index", "a.vsx", "--json"];
        args.extend(&extra);
        let want = cli_json(dir, &args);
        let mut body = serde_json::json!({ "query": query });
        for pair in extra.chunks(2) {
            match pair[0] {
                "--lang" => body["lang"] = pair[1].into(),
                "-k" => body["k"] = pair[1].parse::<u64>().unwrap().into(),
                _ => unreachable!(),
            }
        }
        let (status, got) = server.post("/search", body);
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["index"], "a");
        assert_eq!(got["generation"], 1);
        assert!(!want.is_empty());
        assert_eq!(got["hits"].as_array().unwrap(), &want, "{query}");
    }

    // A batch answers as a query file does.
    let queries = ["vector database", "bread oven", "plongements"];
    std::fs::write(dir.join("q.txt"), queries.join("\n")).unwrap();
    let want = cli_json(
        dir,
        &[
            "search",
            "--queries",
            "q.txt",
            "--index",
            "a.vsx",
            "--json",
            "-k",
            "3",
        ],
    );
    let (status, got) = server.post("/search", serde_json::json!({ "queries": queries, "k": 3 }));
    assert_eq!(status, 200, "{got}");
    let results = got["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let flat: Vec<Value> = results
        .iter()
        .flat_map(|r| r["hits"].as_array().unwrap().clone())
        .collect();
    assert_eq!(flat, want);

    // similar, as `vecsearch similar DOC:LINE`.
    let want = cli_json(
        dir,
        &[
            "similar",
            "docs/en/vectors.md:3",
            "--index",
            "a.vsx",
            "--json",
        ],
    );
    let (status, got) = server.post(
        "/similar",
        serde_json::json!({ "doc": "docs/en/vectors.md", "line": 3 }),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["hits"].as_array().unwrap(), &want);
    let (status, got) = server.post(
        "/similar",
        serde_json::json!({ "doc": "nope.md", "line": 3 }),
    );
    assert_eq!(status, 404, "{got}");

    let want = cli_json(dir, &["info", "--index", "a.vsx", "--json"]);
    let (status, got) = server.get("/info");
    assert_eq!(status, 200);
    assert_eq!(got["indexes"][0]["name"], "a");
    assert_eq!(got["indexes"][0]["generation"], 1);
    assert_eq!(got["indexes"][0]["info"]["passages"], want[0]["passages"]);
    assert_eq!(got["indexes"][0]["info"]["languages"], want[0]["languages"]);

    let (status, got) = server.get("/health");
    assert_eq!((status, &got["status"]), (200, &Value::from("ok")));

    let (status, text) = server.call("GET", "/metrics", "");
    assert_eq!(status, 200);
    for line in [
        "vecsearch_requests_total{route=\"/search\",status=\"200\"} 4",
        "vecsearch_requests_total{route=\"/similar\",status=\"404\"} 1",
        "vecsearch_request_duration_seconds_count{route=\"/search\"} 4",
        "vecsearch_index_generation{index=\"a\"} 1",
        "# TYPE vecsearch_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    assert!(!server.log().contains("internal error"), "{}", server.log());
}

#[test]
fn bad_requests_get_a_one_line_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = serve_a(
        dir,
        &[
            "--max-k",
            "50",
            "--max-body-bytes",
            "1000",
            "--max-batch",
            "2",
            "--index",
            "other=a.vsx",
        ],
    );
    let cases: [(&str, &str, u16, &str); 14] = [
        ("/search", "{\"query\": ", 400, "bad request body: EOF"),
        ("/search", "not json", 400, "bad request body: expected"),
        (
            "/search",
            "{\"query\": \"x\", \"kk\": 3}",
            400,
            "unknown field `kk`",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"k\": \"ten\"}",
            400,
            "invalid type",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"k\": -1}",
            400,
            "invalid value",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"k\": 0}",
            400,
            "k must be at least 1",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"k\": 51}",
            400,
            "at most 50",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"queries\": [\"y\"]}",
            400,
            "not both",
        ),
        ("/search", "{\"k\": 3}", 400, "missing field `query`"),
        ("/search", "{\"query\": \"  \"}", 400, "empty query"),
        (
            "/search",
            "{\"queries\": [\"a\", \"b\", \"c\"]}",
            400,
            "at most 2",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"lang\": \"x!\"}",
            400,
            "not a language tag",
        ),
        (
            "/search",
            "{\"query\": \"x\", \"index\": \"b\"}",
            404,
            "no index named \"b\"; this server has a, other",
        ),
        (
            "/similar",
            "{\"doc\": \"docs/en/vectors.md\", \"line\": 0}",
            400,
            "line must be",
        ),
    ];
    for (path, body, want_status, want) in cases {
        let (status, text) = server.call("POST", path, body);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{body}: {text}"));
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}: {text}"));
        assert_eq!(status, want_status, "{body}: {msg}");
        assert!(msg.contains(want), "{body}: {msg}");
        assert!(!msg.contains('\n'));
    }
    // Indexes are served by name; the first answers a request naming none.
    let (status, v) = server.post(
        "/search",
        serde_json::json!({ "query": "vector", "index": "other" }),
    );
    assert_eq!((status, &v["index"]), (200, &Value::from("other")), "{v}");
    let (_, v) = server.post("/search", serde_json::json!({ "query": "vector" }));
    assert_eq!(v["index"], "a");
    let (_, v) = server.get("/info");
    assert_eq!(v["indexes"].as_array().unwrap().len(), 2);
    let big = format!("{{\"query\": \"{}\"}}", "a".repeat(2000));
    let (status, _) = server.call("POST", "/search", &big);
    assert_eq!(status, 413);
    assert_eq!(server.call("GET", "/nowhere", "").0, 404);
    assert_eq!(server.call("GET", "/search", "").0, 405);
    // Still up, and no panic on the way.
    assert_eq!(server.get("/health").0, 200);
    assert!(!server.log().contains("internal error"), "{}", server.log());
}

#[test]
fn beyond_loopback_every_request_needs_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let r = bin()
        .current_dir(dir)
        .env_remove("VECSEARCH_API_KEY")
        .args(["serve", "--index", "a.vsx", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    let r = common::Run::from(r);
    let line = common::assert_error(&r);
    assert!(line.contains("--api-key"), "{line}");

    let server = Server::start(
        dir,
        &["--index", "a.vsx", "--addr", "0.0.0.0:0"],
        &[("VECSEARCH_API_KEY", "s3cret")],
    );
    let addr: SocketAddr = format!("127.0.0.1:{}", server.addr.port()).parse().unwrap();
    let body = "{\"query\": \"vector\"}";
    assert_eq!(http(addr, "POST", "/search", body, &[]).0, 401);
    assert_eq!(http(addr, "GET", "/info", "", &[]).0, 401);
    let wrong = [("Authorization", "Bearer s3cre")];
    assert_eq!(http(addr, "POST", "/search", body, &wrong).0, 401);
    let right = [("Authorization", "Bearer s3cret")];
    assert_eq!(http(addr, "POST", "/search", body, &right).0, 200);
    let right = [("X-API-Key", "s3cret")];
    assert_eq!(http(addr, "GET", "/info", "", &right).0, 200);
}

/// Waits until `/info` says generation `want`.
fn await_generation(server: &Server, want: u64) {
    let start = Instant::now();
    loop {
        let (_, info) = server.get("/info");
        if info["indexes"][0]["generation"] == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still {info}; log: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn a_replaced_file_is_swapped_in_and_a_bad_one_kept_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = start(dir);
    let ask = serde_json::json!({ "query": "sourdough starter", "k": 1 });
    let (_, before) = server.post("/search", ask.clone());
    assert_ne!(before["hits"][0]["doc"], "docs/en/sourdough.md");

    std::fs::write(
        dir.join("docs/en/sourdough.md"),
        "# Sourdough\n\nFeed the sourdough starter every day.\n",
    )
    .unwrap();
    let r = run_in(
        dir,
        &["index", "docs", "--index", "a.vsx", "--update", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    await_generation(&server, 2);
    let (_, after) = server.post("/search", ask.clone());
    assert_eq!(after["generation"], 2);
    assert_eq!(after["hits"][0]["doc"], "docs/en/sourdough.md", "{after}");
    assert!(server.log().contains("reloaded"), "{}", server.log());

    // A damaged file renamed over it is refused; the old one answers.
    let good = std::fs::read(dir.join("a.vsx")).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(dir.join(".a.vsx.new"), &bad).unwrap();
    std::fs::rename(dir.join(".a.vsx.new"), dir.join("a.vsx")).unwrap();
    let start = Instant::now();
    while !server.log().contains("refused") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    let (status, still) = server.post("/search", ask.clone());
    assert_eq!(status, 200);
    assert_eq!(still, after);
    let (_, text) = server.call("GET", "/metrics", "");
    assert!(
        text.contains("vecsearch_index_reloads_refused_total{index=\"a\"} 1"),
        "{text}"
    );

    // A sound file after it is taken.
    std::fs::write(dir.join(".a.vsx.new"), &good).unwrap();
    std::fs::rename(dir.join(".a.vsx.new"), dir.join("a.vsx")).unwrap();
    await_generation(&server, 3);
    assert!(!server.log().contains("internal error"), "{}", server.log());
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let mut server = start(dir);
    // Half a request is in flight when the signal comes.
    let body = "{\"query\": \"vector database\", \"k\": 2}";
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /search HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.terminate();
    let start = Instant::now();
    while !server.log().contains("SIGTERM") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // No new connections...
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after SIGTERM"
    );
    // ...but the one in flight is answered.
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let (status, text) = read_response(&mut s);
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["hits"].as_array().unwrap().len(), 2);
    assert_eq!(server.wait(Duration::from_secs(10)), 0, "{}", server.log());
}

/// One request on its own connection, with the response's header block.
fn http_with_head(addr: SocketAddr, body: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST /search HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("a response");
    let raw = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// A batch that keeps the one working slot busy for a while: 256 queries.
fn slow_batch() -> String {
    let words = [
        "vector database",
        "bread oven",
        "plongements",
        "ベクトル",
        "recall",
    ];
    let queries: Vec<String> = (0..256)
        .map(|i| format!("{} {i}", words[i % words.len()]))
        .collect();
    serde_json::json!({ "queries": queries, "k": 10, "candidates": 100000 }).to_string()
}

#[test]
fn overload_is_turned_away_with_503_while_health_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = serve_a(dir, &["--max-concurrent", "1", "--max-queue", "1"]);
    let body = slow_batch();
    let (mut ok, mut refused) = (0, 0u64);
    // Twelve requests at once against one slot and one place in the queue:
    // at most two are in the server at any moment, so unless each finished
    // before the next arrived, some are refused. Rounds repeat until both
    // kinds were seen (a very fast machine may need more than one).
    for _round in 0..10 {
        let barrier = Arc::new(std::sync::Barrier::new(12));
        let answers: Vec<_> = (0..12)
            .map(|_| {
                let (b, body, addr) = (barrier.clone(), body.clone(), server.addr);
                std::thread::spawn(move || {
                    b.wait();
                    http_with_head(addr, &body)
                })
            })
            .collect();
        let (status, health) = server.get("/health");
        assert_eq!(status, 200, "{health}");
        for a in answers {
            let (status, head, text) = a.join().unwrap();
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
            match status {
                200 => ok += 1,
                503 => {
                    refused += 1;
                    assert!(head.contains("retry-after: 1"), "{head}");
                    let reason = v["error"].as_str().unwrap();
                    assert!(!reason.contains('\n'), "{reason}");
                }
                s => panic!("status {s}: {text}"),
            }
        }
        if ok > 0 && refused > 0 {
            break;
        }
    }
    assert!(ok > 0 && refused > 0, "200s {ok}, 503s {refused}");
    // The refusals are counted where an operator looks.
    let (status, metrics) = server.call("GET", "/metrics", "");
    assert_eq!(status, 200);
    let rejected: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("vecsearch_requests_rejected_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rejection counter: {metrics}"));
    assert_eq!(rejected, refused, "{metrics}");
    // And the server still answers normally afterwards.
    let (status, v) = server.post(
        "/search",
        serde_json::json!({ "query": "vector database", "k": 1 }),
    );
    assert_eq!(status, 200, "{v}");
    assert!(!server.log().contains("internal error"), "{}", server.log());
}

#[test]
fn a_request_past_its_deadline_gets_503() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = serve_a(dir, &["--timeout-ms", "1"]);
    let body = slow_batch();
    let mut seen = None;
    for _ in 0..10 {
        let (status, _, text) = http_with_head(server.addr, &body);
        if status == 503 {
            seen = Some(text);
            break;
        }
        assert_eq!(status, 200, "{text}");
    }
    let text = seen.expect("a batch of 256 queries never took over 1 ms");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["error"].as_str().unwrap().contains("deadline"), "{text}");
    let (status, _) = server.get("/health");
    assert_eq!(status, 200);
}

/// The server's own time in `Server-Timing`: the whole request, and for a
/// search where it went (the gate, the handoff to a thread, the work), each
/// part no longer than the whole.
#[test]
fn server_timing_tells_where_a_search_spent_its_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    corpus(dir);
    let server = start(dir);
    let (status, head, text) = http_with_head(server.addr, r#"{"query": "vector database"}"#);
    assert_eq!(status, 200, "{text}");
    let timing = head
        .lines()
        .find_map(|l| l.strip_prefix("server-timing:"))
        .unwrap_or_else(|| panic!("no Server-Timing: {head}"));
    let dur = |name: &str| -> f64 {
        timing
            .split(',')
            .map(str::trim)
            .find_map(|m| m.strip_prefix(&format!("{name};dur=")))
            .unwrap_or_else(|| panic!("no {name} in {timing}"))
            .parse()
            .unwrap()
    };
    let whole = dur("app");
    for part in ["wait", "handoff", "work"] {
        let d = dur(part);
        assert!(
            (0.0..=whole).contains(&d),
            "{part} {d} of {whole}: {timing}"
        );
    }
    assert!(dur("work") > 0.0, "{timing}");
    // Other routes report the whole only.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let raw = raw.to_ascii_lowercase();
    assert!(raw.contains("server-timing: app;dur="), "{raw}");
    assert!(!raw.contains("work;dur="), "{raw}");
}
