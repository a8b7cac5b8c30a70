#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The load generator against the real daemon, on the paths that once broke.

vfsd-bench queues a FORGET on the high-priority queue after every LOOKUP
(and after every UNLINK of the metadata loop) and keeps at most
--forget-window of them in flight.  When the window was full it waited for
used entries of FORGETs it had not kicked yet: the daemon slept waiting for
the kick, the bench for the entries, until the 20 s timeout ("transport
failure: Input/output error", one depth-32 lookup run in three on a quiet
machine).  A window of 1 makes that wait happen on almost every operation.

It also drives one request queue at depth 32 with the queue's helper
threads on (--thread-pool-size: metadata requests shared between the
worker and its helpers, replies pushed from several threads), where a lost
used-ring entry or notification would hang the run and a wrong reply is
counted as an error.

Pass: every run exits 0 and prints its line, with operations done and no
request errors.  The figures themselves are never checked (benchmarks are
not pass/fail)."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VFSD = os.environ["VFSD"]
BENCH = os.environ["VFSD_BENCH"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


def start_vfsd(sock, share, extra):
    p = subprocess.Popen([VFSD, "--socket-path=" + sock, "--shared-dir=" + share,
                          "--cache=auto", "--log-level=error"] + extra,
                         start_new_session=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(sock):
        if p.poll() is not None or time.monotonic() > deadline:
            stop(p)
            raise RuntimeError("vfsd did not create " + sock)
        time.sleep(0.02)
    return p


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run(tmp, name, vfsd_extra, bench_args):
    share = os.path.join(tmp, name)
    os.mkdir(share)
    sock = os.path.join(tmp, name + ".sock")
    p = start_vfsd(sock, share, vfsd_extra)
    try:
        out = subprocess.run([BENCH, "--socket=" + sock, "--dir=" + share,
                              "--file-mib=2", "--time=0.3", "--warmup=0.05"]
                             + bench_args, capture_output=True, text=True,
                             timeout=120)
    finally:
        stop(p)
    lines = [l for l in out.stdout.splitlines() if l.startswith("bench=")]
    if out.returncode != 0:
        fail("%s: vfsd-bench exited %d: %s" % (name, out.returncode,
                                               out.stderr.strip()))
        return
    if not lines:
        fail("%s: no result line" % name)
    for line in lines:
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if int(kv["errors"]) != 0 or int(kv["ops"]) == 0:
            fail("%s: %s" % (name, line))
        else:
            print("ok %s: %s" % (name, line), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="vfsd-benchtest-")
    try:
        for window in ("1", "3"):
            run(tmp, "forget-w" + window, [],
                ["--workloads=lookup,meta", "--depths=32,1",
                 "--forget-window=" + window])
        for pool in ("0", "1", "8"):
            run(tmp, "pool" + pool, ["--thread-pool-size=" + pool],
                ["--workloads=getattr,lookup,meta,randread4k",
                 "--depths=32,2"])
        # Every workload once through two request queues, so that the
        # bench's own paths stay exercised by the test run.
        run(tmp, "all-2q", ["--request-queues=2"],
            ["--queues=2", "--depths=8"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
