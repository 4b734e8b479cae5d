#!/usr/bin/env python3
"""Whole-command latency of `vecsearch search` over the first N queries.

Each query runs WARMUP times untimed, then once timed; the wall time and
the CPU time (user + sys of the child) of the timed runs are summarized as
median and p90 in milliseconds. On a shared machine the CPU time is the
steadier figure; the load average is printed with the results.

With --cold, the index file is first dropped from the page cache
(posix_fadvise DONTNEED; pages other processes map stay) and read back by
one untimed command, as after a reboot: the warm runs then measure the
page cache that first command leaves.

    python3 scripts/time_queries.py BIN INDEX QUERIES [--n 20] [--warmup 2] [--cold] [-- ARGS...]
"""
import argparse
import os
import resource
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bin")
    ap.add_argument("index")
    ap.add_argument("queries")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cold", action="store_true", help="drop the index from the page cache first")
    ap.add_argument("extra", nargs="*", help="more arguments for `search` (after --)")
    a = ap.parse_args()
    with open(a.queries, encoding="utf-8") as f:
        queries = [l.strip() for l in f if l.strip()][: a.n]
    if a.cold:
        fd = os.open(a.index, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        cmd = [a.bin, "search", queries[0], "--index", a.index, "--json", *a.extra]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, cpu = [], []
    for q in queries:
        cmd = [a.bin, "search", q, "--index", a.index, "--json", *a.extra]
        for _ in range(a.warmup):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall.append((time.perf_counter() - t) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(
            (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
        )
        if r.returncode not in (0, 1):
            raise SystemExit(f"{q!r}: exit {r.returncode}: {r.stderr.decode().strip()}")

    def p90(v):
        return sorted(v)[max(0, int(round(0.9 * len(v))) - 1)]

    print(
        f"queries {len(queries)}  wall median {statistics.median(wall):.1f} ms  p90 {p90(wall):.1f} ms  "
        f"cpu median {statistics.median(cpu):.1f} ms  p90 {p90(cpu):.1f} ms  "
        f"load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
