#!/usr/bin/env python3
"""How parallel each stage of a command is, whatever else loads the machine.

Runs the command in a pseudo-terminal (so vecsearch draws its progress bar,
whose stage names this reads), samples every 50 ms how many of its threads
are runnable (state R in /proc/PID/task/*/stat: waiting for a core counts,
so a busy machine does not hide a stage's parallelism), and prints per stage
its span and mean runnable threads, then a per-second timeline, the wall
time and the child's CPU time and peak RSS.

    scripts/stage_threads.py vecsearch index /work/corpus/debian --index all.vsx
"""
import os, pty, sys, time, re, select, glob
cmd = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
t0 = time.time(); stage = 'start'; buf = b''
samples = []  # (t, runnable, stage)
def runnable():
    n = 0
    for f in glob.glob(f'/proc/{pid}/task/*/stat'):
        try:
            st = open(f).read().rsplit(')', 1)[1].split()[0]
            if st == 'R': n += 1
        except Exception:
            pass
    return n
while True:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data: break
        buf = (buf + data)[-4096:]
        txt = buf.decode('utf-8', 'replace')
        ms = re.findall(r'([a-z][a-z ]{3,}[a-z]) +[\[⠁-⣿]', txt)
        if ms: stage = ms[-1]
    samples.append((time.time() - t0, runnable(), stage))
_, status, ru = os.wait4(pid, 0)
total = time.time() - t0
print(f'cpu user {ru.ru_utime:.2f} s sys {ru.ru_stime:.2f} s maxrss {ru.ru_maxrss} KB')
# per stage: duration, mean runnable
from collections import OrderedDict
agg = OrderedDict()
for t, n, s in samples:
    a = agg.setdefault(s, [t, t, 0, 0])
    a[1] = t; a[2] += n; a[3] += 1
for s, (a, b, sm, c) in agg.items():
    print(f'{s:20s} {a:6.1f}-{b:6.1f}s  mean runnable threads {sm/c:4.2f}  (samples {c})')
# per second timeline
sec = {}
for t, n, s in samples:
    k = int(t); x = sec.setdefault(k, [0, 0, s]); x[0] += n; x[1] += 1; x[2] = s
for k in sorted(sec):
    x = sec[k]; print(f'{k:4d}s {x[0]/x[1]:4.2f} {x[2]}')
print(f'total {total:.1f}s')
