#!/usr/bin/env python3
"""Paired A/B of two `vecsearch serve` binaries on one index, for a machine
too loaded for `serve_load.py single` to compare two runs: both servers run
at once on 127.0.0.1, each query goes to both in alternating order, and
each request follows one `vecsearch search` command of binary A on the same
query (as `single` runs commands between requests). Prints each server's
median time (Server-Timing `app`, and `work`) and the median of the
per-query ratios B/A.

  benches/serve_pair.py A_BIN B_BIN INDEX QUERIES [n queries] [rounds]
"""

import importlib.util
import os
import statistics
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("serve_load", os.path.join(here, "serve_load.py"))
sl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sl)


def main():
    a, b, index, queries = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    qs = sl.read_queries(queries, n)
    pa, port_a, _ = sl.start_server(a, index)
    pb, port_b, _ = sl.start_server(b, index)
    app = {"A": [], "B": []}
    work = {"A": [], "B": []}
    try:
        for q in qs:
            sl.post(port_a, "/search", {"query": q, "k": 10})
            sl.post(port_b, "/search", {"query": q, "k": 10})
        for r in range(rounds):
            for i, q in enumerate(qs):
                order = [("A", port_a), ("B", port_b)]
                if (i + r) % 2:
                    order.reverse()
                for name, port in order:
                    subprocess.run([a, "search", q, "--index", index, "--json"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    status, data, _, server, parts = sl.post_timed(port, "/search", {"query": q, "k": 10})
                    assert status == 200, data
                    app[name].append(server)
                    work[name].append(parts.get("work", 0.0))
        for k in "AB":
            print(f"{k}: median server {statistics.median(app[k]) * 1e3:.3f} ms, "
                  f"work {statistics.median(work[k]) * 1e3:.3f} ms")
        ratios = [y / x for x, y in zip(app["A"], app["B"])]
        print(f"B/A paired median {statistics.median(ratios):.3f}, load {os.getloadavg()[0]:.2f}")
    finally:
        sl.stop_server(pa)
        sl.stop_server(pb)


if __name__ == "__main__":
    main()
