#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""When stderr is a journal stream (JOURNAL_STREAM names stderr's
device:inode, as systemd sets it), vfsd logs natively to the journal: each
entry has PRIORITY, MESSAGE, SYSLOG_IDENTIFIER=vfsd and the structured
fields VFSD_SHARE= and, while a hypervisor is connected,
VFSD_FRONTEND_PID=.  When JOURNAL_STREAM does not match stderr (a child
whose stderr was redirected), messages go to stderr.

A real journald is not needed: the test runs in a private mount namespace
(unshare) with a tmpfs on /run, and plays journald on
/run/systemd/journal/socket itself, decoding the native protocol.
Needs root; skipped (77) otherwise."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

VFSD = os.environ["VFSD"]
JOURNAL = "/run/systemd/journal/socket"


def parse_native(data):
    """Decode one native-protocol datagram into a dict."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode(errors="replace")
    return fields


def receive(sock, until, timeout=10.0):
    """Collect entries until `until(entry)` is true for one; returns all."""
    entries, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        e = parse_native(data)
        entries.append(e)
        if until(e):
            return entries, e
    return entries, None


def fail(msg, *extra):
    print("FAIL:", msg)
    for x in extra:
        print(x)
    return 1


def inner():
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
    os.makedirs(os.path.dirname(JOURNAL))
    jsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    jsock.bind(JOURNAL)
    with tempfile.TemporaryDirectory(prefix="vfsd-journal-") as tmp:
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        vsock = os.path.join(tmp, "vhost.sock")
        errpath = os.path.join(tmp, "stderr")
        with open(errpath, "w") as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
            proc = subprocess.Popen([VFSD, "--socket-path", vsock,
                                     "--shared-dir", shared],
                                    stdin=subprocess.DEVNULL, stdout=err,
                                    stderr=err, env=env)
        try:
            entries, serving = receive(
                jsock, lambda e: "serving" in e.get("MESSAGE", ""))
            if not serving:
                return fail("no 'serving' entry reached the journal", entries,
                            open(errpath).read())
            for k, want in (("PRIORITY", "6"), ("SYSLOG_IDENTIFIER", "vfsd"),
                            ("VFSD_SHARE", shared)):
                if serving.get(k) != want:
                    return fail(f"{k}={serving.get(k)!r}, expected {want!r}", serving)
            if "VFSD_FRONTEND_PID" in serving:
                return fail("a front-end pid before any connection", serving)

            # A hypervisor connects: its pid is attached to what follows.
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(vsock)
            _, connected = receive(
                jsock, lambda e: e.get("MESSAGE", "").startswith("hypervisor connected"))
            if not connected:
                return fail("no 'connected' entry")
            if connected.get("VFSD_FRONTEND_PID") != str(os.getpid()):
                return fail(f"VFSD_FRONTEND_PID={connected.get('VFSD_FRONTEND_PID')!r}, "
                            f"expected {os.getpid()}", connected)
            if connected.get("VFSD_SHARE") != shared:
                return fail("VFSD_SHARE missing on a later entry", connected)
            conn.close()
            print("journal entry:", connected)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        receive(jsock, lambda e: False, timeout=0.5)     # drain the rest
        text = open(errpath).read()
        if "serving" in text:
            return fail("messages went to stderr as well as the journal", text)

        # stderr redirected away from the journal: plain stderr lines.
        with open(errpath, "w") as err:
            env = dict(os.environ, JOURNAL_STREAM="1:1")
            p = subprocess.run([VFSD, "--socket-path", vsock, "--shared-dir",
                                os.path.join(tmp, "missing")],
                               stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                               env=env, timeout=30)
        text = open(errpath).read()
        if p.returncode != 3 or "missing" not in text:
            return fail(f"exit {p.returncode}, stderr {text!r}: expected exit 3 "
                        "and the error on stderr")
        stray, _ = receive(jsock, lambda e: False, timeout=0.5)
        if stray:
            return fail("journal entries although stderr is not the journal", stray)
    return 0


def main():
    if "--inner" in sys.argv:
        return inner()
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("needs root and unshare(1) for a private /run: skipped")
        return 77
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private",
                            "true"], capture_output=True)
    if probe.returncode != 0:
        print("cannot create a mount namespace here: skipped")
        return 77
    return subprocess.run(["unshare", "--mount", "--propagation", "private",
                           sys.executable, os.path.abspath(__file__),
                           "--inner"], timeout=120).returncode


if __name__ == "__main__":
    sys.exit(main())
