#!/usr/bin/env python3
"""Load test of `vecsearch serve` with a real HTTP load generator (oha).

Runs only against 127.0.0.1, every run bounded in seconds; figures go to
BENCHMARKS.md ("Serving"). Needs `oha` (cargo install oha, e.g. with
CARGO_INSTALL_ROOT=/work/tools) on PATH or given with --oha.

  benches/serve_load.py latency  BIN INDEX QUERIES [--conns 1,8,64] [--seconds 10] [--queries-used 64] [--repeats 2]
  benches/serve_load.py single   BIN INDEX QUERIES [--n 20]
  benches/serve_load.py reload   BIN INDEX QUERIES --corpus DIR [--seconds 60] [--updates 20]
  benches/serve_load.py overload BIN INDEX QUERIES [--seconds 10] [--conns 1000] [--rounds 3]

latency:  sustained QPS and p50/p99 per connection count; the bodies cycle
          through --queries-used queries drawn evenly from QUERIES; each
          run is repeated and reported as a range.
single:   one request at a time: the server's own time (Server-Timing) and
          curl's, against the wall time of `vecsearch search` on the same
          query (a new process each time, as a user at a terminal runs it).
reload:   a load run while `index DIR --index INDEX --update` replaces the
          file again and again (a file of DIR is rewritten between updates);
          a checker thread validates every answer it gets; the server's RSS
          is read idle, after a 5 s run of the same load without
          replacements (the start), and after.
overload: far more connections than --max-concurrent + --max-queue admit;
          counts 503s, polls /health throughout and watches the RSS.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"


def start_server(bin_, index, extra=()):
    """Starts `serve` on a free loopback port; returns (process, port, log lines)."""
    p = subprocess.Popen(
        [bin_, "serve", "--index", index, "--addr", f"{HOST}:0", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = []
    port = None
    deadline = time.time() + 120
    while port is None:
        line = p.stderr.readline()
        if not line:
            raise SystemExit(f"server did not start: {''.join(log)}")
        log.append(line)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
        if time.time() > deadline:
            raise SystemExit("server did not start in 120 s")

    def drain():
        for line in p.stderr:
            log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return p, port, log


def stop_server(p):
    p.terminate()
    code = p.wait(timeout=60)
    if code != 0:
        print(f"warning: server exited {code}", file=sys.stderr)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def post(port, path, body, timeout=60):
    status, data, took, server, _ = post_timed(port, path, body, timeout)
    return status, data, took, server


def post_timed(port, path, body, timeout=60):
    """`post`, and the response's `Server-Timing` entries (see `stages`)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    t = time.perf_counter()
    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    took = time.perf_counter() - t
    timing = r.getheader("server-timing") or ""
    c.close()
    m = re.search(r"dur=([0-9.]+)", timing)
    return r.status, data, took, float(m.group(1)) / 1e3 if m else None, stages(timing)


def stages(timing):
    """The `Server-Timing` entries of a response, name -> seconds."""
    return {m.group(1): float(m.group(2)) / 1e3
            for m in re.finditer(r"(\w+);dur=([0-9.]+)", timing or "")}


def oha(args, port, body, conns, seconds):
    """One bounded oha run; `body` is one request body, or a list of them
    (written one a line and sent in turn with -Z)."""
    assert seconds <= 120, "runs are bounded"
    cmd = [
        args.oha, "--no-tui", "--output-format", "json",
        "-z", f"{seconds}s", "-c", str(conns),
        "-m", "POST", "-T", "application/json",
    ]
    if isinstance(body, list):
        path = f"/tmp/serve_load_bodies.{os.getpid()}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for b in body:
                f.write(json.dumps(b, ensure_ascii=False) + "\n")
        cmd += ["-Z", path]
    else:
        cmd += ["-d", json.dumps(body)]
    cmd.append(f"http://{HOST}:{port}/search")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def read_queries(path, n):
    qs = [l.strip() for l in open(path, encoding="utf-8") if l.strip()]
    step = max(1, len(qs) // n)
    return qs[::step][:n]


def cmd_latency(args):
    queries = read_queries(args.queries, args.queries_used)
    bodies = [{"query": q, "k": 10} for q in queries]
    p, port, log = start_server(args.bin, args.index, ["--max-queue", "1024"])
    try:
        for b in bodies:  # warm the page cache and the server
            post(port, "/search", b)
        for conns in [int(c) for c in args.conns.split(",")]:
            rows = []
            for rep in range(args.repeats):
                r = oha(args, port, bodies, conns, args.seconds)
                lat = r["latencyPercentiles"]
                rows.append(
                    dict(
                        conns=conns, repeat=rep, seconds=args.seconds, queries=len(bodies),
                        qps=r["summary"]["requestsPerSec"],
                        p50_ms=lat["p50"] * 1e3, p99_ms=lat["p99"] * 1e3,
                        codes=r.get("statusCodeDistribution", {}),
                        errors=r.get("errorDistribution", {}),
                        load=os.getloadavg()[0],
                    )
                )
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
            qps = [r["qps"] for r in rows]
            p50 = [r["p50_ms"] for r in rows]
            p99 = [r["p99_ms"] for r in rows]
            print(
                f"# conns {conns}: QPS {min(qps):.1f}-{max(qps):.1f}, "
                f"p50 {min(p50):.2f}-{max(p50):.2f} ms, p99 {min(p99):.2f}-{max(p99):.2f} ms",
                flush=True,
            )
    finally:
        stop_server(p)


def cmd_single(args):
    queries = read_queries(args.queries, args.n)
    p, port, log = start_server(args.bin, args.index)
    try:
        for q in queries:
            post(port, "/search", {"query": q, "k": 10})
        rows = []
        for q in queries:
            status, data, client, server, parts = post_timed(port, "/search", {"query": q, "k": 10})
            assert status == 200, data
            walls = []
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run(
                    [args.bin, "search", q, "--index", args.index, "--json"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                walls.append(time.perf_counter() - t)
            cli = statistics.median(walls)
            rows.append((server, client, cli, parts.get("work", 0.0), parts.get("handoff", 0.0)))
            print(json.dumps(dict(query=q, server_ms=server * 1e3, curl_ms=client * 1e3,
                                  cli_wall_ms=cli * 1e3, ratio=server / cli,
                                  work_ms=parts.get("work", 0.0) * 1e3,
                                  handoff_ms=parts.get("handoff", 0.0) * 1e3), ensure_ascii=False),
                  flush=True)
        s = statistics.median(r[0] for r in rows)
        c = statistics.median(r[1] for r in rows)
        w = statistics.median(r[2] for r in rows)
        work = statistics.median(r[3] for r in rows)
        handoff = statistics.median(r[4] for r in rows)
        print(f"# median server {s*1e3:.2f} ms (work {work*1e3:.2f}, handoff {handoff*1e3:.3f}), "
              f"client {c*1e3:.2f} ms, `search` wall {w*1e3:.1f} ms: "
              f"server/wall {s/w:.3f}, load {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        stop_server(p)


def cmd_reload(args):
    queries = read_queries(args.queries, 8)
    p, port, log = start_server(args.bin, args.index, ["--poll-ms", "200", "--max-queue", "1024"])
    # The file rewritten between updates: a copy of the first file found.
    victim = None
    for root, _, files in os.walk(args.corpus):
        if files:
            victim = os.path.join(root, sorted(files)[0])
            break
    original = open(victim, "rb").read()
    stop = threading.Event()
    checked = {"ok": 0, "bad": 0, "generations": set()}

    def checker():
        """Every answer must be whole: 200, well-formed hits, and a
        generation that never goes back."""
        i, last_gen = 0, 0
        while not stop.is_set():
            q = queries[i % len(queries)]
            i += 1
            try:
                status, data, _, _ = post(port, "/search", {"query": q, "k": 10})
                v = json.loads(data)
                gen = v.get("generation", -1)
                hits = v.get("hits", [])
                good = (
                    status == 200
                    and gen >= last_gen
                    and len(hits) <= 10
                    and all(h["text"] and h["doc"] and h["rank"] == n + 1 for n, h in enumerate(hits))
                    and all(a["score"] >= b["score"] for a, b in zip(hits, hits[1:]))
                )
                if not good:
                    print(f"checker: bad answer {status} {data[:200]!r}", file=sys.stderr)
                last_gen = max(last_gen, gen)
                checked["generations"].add(gen)
            except Exception as e:  # noqa: BLE001
                print(f"checker: {e}", file=sys.stderr)
                good = False
            checked["ok" if good else "bad"] += 1

    def updater():
        n = 0
        while not stop.is_set() and n < args.updates:
            with open(victim, "ab") as f:
                f.write(f"\nserve reload test line {n} {time.time()}\n".encode())
            subprocess.run(
                [args.bin, "index", args.corpus, "--index", args.index, "--update", "-q"],
                check=True, stdout=subprocess.DEVNULL,
            )
            n += 1
            checked["updates"] = n
            time.sleep(0.3)

    try:
        for q in queries:
            post(port, "/search", {"query": q, "k": 10})
        time.sleep(1)
        rss_idle = rss_kb(p.pid)
        # The same load without replacements first, so the start figure
        # holds the threads and connection buffers the load itself costs.
        oha(args, port, [{"query": q, "k": 10} for q in queries], args.conns, 5)
        time.sleep(1)
        rss0 = rss_kb(p.pid)
        threads = [threading.Thread(target=checker), threading.Thread(target=updater)]
        for t in threads:
            t.start()
        r = oha(args, port, [{"query": q, "k": 10} for q in queries], args.conns, args.seconds)
        stop.set()
        for t in threads:
            t.join()
        time.sleep(2)  # the last reload lands, old mappings drop
        rss1 = rss_kb(p.pid)
        reloads = sum("reloaded" in l for l in log)
        refused = sum("refused" in l for l in log)
        print(json.dumps(dict(
            seconds=args.seconds, conns=args.conns,
            oha_qps=r["summary"]["requestsPerSec"], oha_codes=r.get("statusCodeDistribution", {}),
            oha_errors=r.get("errorDistribution", {}),
            p50_ms=r["latencyPercentiles"]["p50"] * 1e3, p99_ms=r["latencyPercentiles"]["p99"] * 1e3,
            updates=checked.get("updates", 0), reloads=reloads, refused=refused,
            checker_ok=checked["ok"], checker_bad=checked["bad"],
            generations_seen=len(checked["generations"]),
            rss_idle_mb=rss_idle / 1024, rss_start_mb=rss0 / 1024, rss_end_mb=rss1 / 1024,
            rss_change_pct=100.0 * (rss1 - rss0) / rss0,
        )), flush=True)
    finally:
        stop.set()
        open(victim, "wb").write(original)
        stop_server(p)


def cmd_overload(args):
    queries = read_queries(args.queries, 1)
    p, port, log = start_server(
        args.bin, args.index, ["--max-concurrent", "4", "--max-queue", "16"]
    )
    health = {"ok": 0, "bad": 0, "worst_ms": 0.0}
    stop = threading.Event()
    rss = []

    def poll():
        while not stop.is_set():
            t = time.perf_counter()
            try:
                c = http.client.HTTPConnection(HOST, port, timeout=10)
                c.request("GET", "/health")
                ok = c.getresponse().status == 200
                c.close()
            except Exception:  # noqa: BLE001
                ok = False
            health["ok" if ok else "bad"] += 1
            health["worst_ms"] = max(health["worst_ms"], (time.perf_counter() - t) * 1e3)
            rss.append(rss_kb(p.pid))
            time.sleep(0.2)

    try:
        post(port, "/search", {"query": queries[0], "k": 10})
        time.sleep(1)
        rss0 = rss_kb(p.pid)
        t = threading.Thread(target=poll)
        t.start()
        # Rounds one after another: memory that levels off is buffers,
        # memory that grows round after round would be a leak.
        for rnd in range(args.rounds):
            r = oha(args, port, {"query": queries[0], "k": 10}, args.conns, args.seconds)
            time.sleep(1)
            rss1 = rss_kb(p.pid)
            print(json.dumps(dict(
                round=rnd, conns=args.conns, seconds=args.seconds,
                codes=r.get("statusCodeDistribution", {}), errors=r.get("errorDistribution", {}),
                qps=r["summary"]["requestsPerSec"],
                health_ok=health["ok"], health_bad=health["bad"], health_worst_ms=health["worst_ms"],
                rss_start_mb=rss0 / 1024, rss_peak_mb=max(rss) / 1024, rss_end_mb=rss1 / 1024,
            )), flush=True)
        stop.set()
        t.join()
    finally:
        stop_server(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["latency", "single", "reload", "overload"])
    ap.add_argument("bin")
    ap.add_argument("index")
    ap.add_argument("queries")
    ap.add_argument("--oha", default=shutil.which("oha") or "/work/tools/bin/oha")
    ap.add_argument("--conns", default=None)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--queries-used", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--corpus")
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.mode == "latency":
        args.conns = args.conns or "1,8,64"
        args.seconds = args.seconds or 10
        cmd_latency(args)
    elif args.mode == "single":
        cmd_single(args)
    elif args.mode == "reload":
        args.conns = int(args.conns or 8)
        args.seconds = args.seconds or 60
        if not args.corpus:
            raise SystemExit("reload needs --corpus DIR (the folder INDEX was built from)")
        cmd_reload(args)
    else:
        args.conns = int(args.conns or 1000)
        args.seconds = args.seconds or 10
        cmd_overload(args)


if __name__ == "__main__":
    main()
