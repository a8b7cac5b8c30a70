#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Lifecycle of the real vfsd binary without a VM: how it gets its socket
# (--socket-path, --fd, LISTEN_FDS through the real systemd-socket-activate),
# what it tells the service manager (a NOTIFY_SOCKET listener plays systemd:
# READY only once the socket listens, STATUS transitions, STOPPING), how it
# stops (SIGTERM, --idle-timeout), and every start-up failure a user can
# cause: one clear line, the documented exit code, no READY, nothing left
# behind.
#
# env: VFSD = the daemon binary.  Every wait is bounded.
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

VFSD = os.environ.get("VFSD", "")
SSA = shutil.which("systemd-socket-activate")
EXIT_OK, EXIT_USAGE, EXIT_SHARED_DIR, EXIT_SOCKET = 0, 2, 3, 4
WAIT = 10.0  # seconds, every wait


class Notify:
    """A NOTIFY_SOCKET listener: what systemd would receive, in order."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        # As systemd does: the kernel names each sender (NotifyAccess=).
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.msgs = []          # (monotonic time, {key: value})
        self.cond = threading.Condition()
        self.hooks = []         # called with each message, on arrival
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(
                    4096, socket.CMSG_SPACE(struct.calcsize("3i")))
            except OSError:
                return
            fields = {}
            for line in data.decode(errors="replace").splitlines():
                k, _, v = line.partition("=")
                fields[k] = v
            for level, kind, cred in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    fields["_SENDER_PID"] = str(
                        struct.unpack("3i", cred[:12])[0])
            for h in self.hooks:
                h(fields)
            with self.cond:
                self.msgs.append((time.monotonic(), fields))
                self.cond.notify_all()

    def wait_for(self, pred, timeout=WAIT):
        """First message (oldest first) for which pred(fields) is true."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for _, f in self.msgs:
                    if pred(f):
                        return f
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def wait_seq(self, words, timeout=WAIT):
        """Have STATUS messages containing words[0], words[1], ... arrived
        in this order?"""
        def found():
            i = 0
            for st in self.statuses():
                if i < len(words) and words[i] in st:
                    i += 1
            return i == len(words)
        deadline = time.monotonic() + timeout
        with self.cond:
            while not found():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def has(self, key):
        with self.cond:
            return any(key in f for _, f in self.msgs)

    def statuses(self):
        with self.cond:
            return [f["STATUS"] for _, f in self.msgs if "STATUS" in f]

    def close(self):
        self.sock.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vfsd-lc.")
        self.shared = os.path.join(self.tmp, "shared")
        os.mkdir(self.shared)
        self.sock = os.path.join(self.tmp, "vfsd.sock")
        self.notify = Notify(os.path.join(self.tmp, "notify"))
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(WAIT)
        self.notify.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def env(self, **extra):
        e = dict(os.environ)
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
            e.pop(k, None)
        e["NOTIFY_SOCKET"] = self.notify.path
        e.update(extra)
        return e

    def spawn(self, args, env=None, pass_fds=(), argv0=None, **kw):
        p = subprocess.Popen((argv0 or [VFSD]) + args,
                             env=env or self.env(), pass_fds=pass_fds,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kw)
        self.procs.append(p)
        return p

    def start(self, extra=(), **kw):
        """vfsd on self.sock, READY received."""
        p = self.spawn(["--shared-dir=" + self.shared,
                        "--socket-path=" + self.sock] + list(extra), **kw)
        self.assertIsNotNone(self.notify.wait_for(lambda f: "READY" in f),
                             "no READY=1")
        return p

    def finish(self, p):
        try:
            out, err = p.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail("vfsd did not exit within %s s" % WAIT)
        return p.returncode, err

    def count(self, key):
        with self.notify.cond:
            return len([1 for _, f in self.notify.msgs if key in f])

    def listing(self):
        return sorted(os.listdir(self.tmp))

    def assert_fails(self, args, code, words, env=None, pass_fds=(),
                     argv0=None, before=None):
        """Start-up failure: exit code, one line naming the cause, no
        READY, nothing left behind in the temp dir."""
        before = before if before is not None else self.listing()
        readies = self.count("READY")
        p = self.spawn(args, env=env, pass_fds=pass_fds, argv0=argv0)
        rc, err = self.finish(p)
        lines = [l for l in err.splitlines()
                 if l.strip() and not l.startswith("Try ")]
        self.assertEqual(rc, code, "exit status; stderr: %r" % err)
        self.assertEqual(len(lines), 1, "want one line, got %r" % err)
        for w in words:
            self.assertIn(w, lines[0])
        time.sleep(0.05)  # let the listener drain
        self.assertEqual(self.count("READY"), readies, "READY=1 on a failure")
        self.assertEqual(self.listing(), before, "left something behind")
        return lines[0]


def listening(path):
    """Is a listening AF_UNIX socket bound to path (/proc/net/unix)?"""
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.split()
            # Flags 00010000: __SO_ACCEPTCON, i.e. listen() was called.
            if len(fields) >= 8 and fields[7] == path and \
                    int(fields[3], 16) & 0x10000:
                return True
    return False


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(WAIT)
    s.connect(path)
    return s


class Readiness(Base):
    def test_ready_only_after_listen(self):
        # The hook runs the moment READY=1 arrives, before vfsd can do
        # anything else: the socket must accept a connection right then.
        seen = {}

        def on_msg(f):
            if "READY" in f and "conn" not in seen:
                try:
                    connect(self.sock).close()
                    seen["conn"] = "ok"
                except OSError as e:
                    seen["conn"] = str(e)
        self.notify.hooks.append(on_msg)
        p = self.start()
        self.assertEqual(seen.get("conn"), "ok")
        ready = self.notify.wait_for(lambda f: "READY" in f)
        self.assertEqual(ready.get("MAINPID"), str(p.pid))
        self.assertIn("Waiting for the hypervisor",
                      self.notify.wait_for(lambda f: "STATUS" in f)["STATUS"])

    def test_every_notification_comes_from_the_main_pid(self):
        # systemd's NotifyAccess=main (Type=notify's default) drops what
        # any other pid sends.  In its own pid namespace vfsd serves from
        # a child, which must speak through the pid that was started.
        p = self.start()
        c = connect(self.sock)
        self.assertIsNotNone(self.notify.wait_for(
            lambda f: "Hypervisor connected" in f.get("STATUS", "")),
            self.notify.statuses())
        c.close()
        p.send_signal(signal.SIGTERM)
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.notify.has("STOPPING"))
        with self.notify.cond:
            senders = {f.get("_SENDER_PID") for _, f in self.notify.msgs}
        self.assertEqual(senders, {str(p.pid)}, self.notify.msgs)

    def test_status_transitions_and_stopping(self):
        p = self.start()
        c = connect(self.sock)
        want = "Hypervisor connected (pid %d)" % os.getpid()
        self.assertIsNotNone(self.notify.wait_for(
            lambda f: want in f.get("STATUS", "")), self.notify.statuses())
        c.close()
        order = ["Waiting", "Hypervisor connected", "disconnected", "Waiting"]
        self.assertTrue(self.notify.wait_seq(order), self.notify.statuses())
        p.send_signal(signal.SIGTERM)
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertTrue(self.notify.has("STOPPING"))
        # Created socket and lock file are gone.
        self.assertEqual(self.listing(), ["notify", "shared"])

    def test_sigint_while_connected(self):
        p = self.start()
        c = connect(self.sock)
        self.notify.wait_for(lambda f: "connected" in f.get("STATUS", ""))
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertTrue(self.notify.has("STOPPING"))
        c.close()

    def test_watchdog(self):
        self.start(env=self.env(WATCHDOG_USEC="400000"))
        self.assertIsNotNone(self.notify.wait_for(lambda f: "WATCHDOG" in f))
        # Still pinging while a front-end is connected.
        c = connect(self.sock)
        self.notify.wait_for(lambda f: "connected" in f.get("STATUS", ""))
        n = len([1 for _, f in self.notify.msgs if "WATCHDOG" in f])
        self.assertIsNotNone(self.notify.wait_for(
            lambda f: len([1 for _, g in self.notify.msgs
                           if "WATCHDOG" in g]) > n + 1))
        c.close()


class Stopping(Base):
    def test_idle_timeout(self):
        p = self.start(["--idle-timeout=1"])
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertIn("idle-timeout", err)
        self.assertEqual(self.listing(), ["notify", "shared"])

    def test_idle_timeout_not_while_connected(self):
        p = self.start(["--idle-timeout=1"])
        c = connect(self.sock)
        self.notify.wait_for(lambda f: "connected" in f.get("STATUS", ""))
        # Connected for twice the idle time: still there.
        time.sleep(2)
        self.assertIsNone(p.poll())
        c.close()
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)

    def test_exit_on_disconnect(self):
        p = self.start(["--exit-on-disconnect"])
        connect(self.sock).close()
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.listing(), ["notify", "shared"])


class SocketPath(Base):
    def test_stale_socket_is_replaced(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.close()           # a dead daemon's socket file
        p = self.start()
        connect(self.sock).close()
        p.terminate()
        self.assertEqual(self.finish(p)[0], 0)

    def test_second_daemon_refused(self):
        p = self.start()
        before = self.listing()
        self.assert_fails(["--shared-dir=" + self.shared,
                           "--socket-path=" + self.sock], EXIT_SOCKET,
                          ["already served", self.sock], before=before)
        # The first one still serves its socket.
        connect(self.sock).close()
        p.terminate()
        self.assertEqual(self.finish(p)[0], 0)

    def test_live_socket_of_another_process(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.listen(1)
        try:
            self.assert_fails(["--shared-dir=" + self.shared,
                               "--socket-path=" + self.sock], EXIT_SOCKET,
                              ["another process", self.sock])
        finally:
            s.close()

    def test_group_mode(self):
        p = self.start(["--socket-group=root"])
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o660)
        p.terminate()
        self.finish(p)

    def test_default_mode(self):
        p = self.start()
        self.assertEqual(os.stat(self.sock).st_mode & 0o777, 0o600)
        p.terminate()
        self.finish(p)


class Failures(Base):
    def args(self, shared=None, sock=None):
        return ["--shared-dir=" + (shared or self.shared),
                "--socket-path=" + (sock or self.sock)]

    def test_missing_shared_dir(self):
        missing = os.path.join(self.tmp, "nope")
        self.assert_fails(self.args(shared=missing), EXIT_SHARED_DIR,
                          [missing, "No such file"])

    def test_shared_dir_not_a_directory(self):
        f = os.path.join(self.tmp, "file")
        open(f, "w").close()
        self.assert_fails(self.args(shared=f), EXIT_SHARED_DIR,
                          [f, "Not a directory"])

    @unittest.skipUnless(os.getuid() == 0, "needs root to switch to nobody")
    def test_shared_dir_no_permission(self):
        locked = os.path.join(self.tmp, "locked")
        os.mkdir(locked, 0o700)
        sockdir = os.path.join(self.tmp, "sockdir")
        os.mkdir(sockdir)
        os.chown(sockdir, 65534, 65534)
        os.chmod(self.tmp, 0o755)
        self.assert_fails(
            self.args(shared=locked, sock=os.path.join(sockdir, "s")),
            EXIT_SHARED_DIR, [locked, "Permission denied"],
            argv0=["setpriv", "--reuid=65534", "--regid=65534",
                   "--clear-groups", VFSD])

    def test_socket_dir_missing(self):
        sock = os.path.join(self.tmp, "no-such-dir", "vfsd.sock")
        self.assert_fails(self.args(sock=sock), EXIT_SOCKET,
                          [sock, "No such file"])

    def test_socket_path_too_long(self):
        sock = os.path.join(self.tmp, "x" * 120)
        self.assert_fails(self.args(sock=sock), EXIT_SOCKET, ["too long"])

    def test_socket_path_is_a_file(self):
        open(self.sock, "w").close()
        self.assert_fails(self.args(), EXIT_SOCKET, ["not a socket"])

    def test_socket_group_unknown(self):
        self.assert_fails(self.args() + ["--socket-group=no-such-group-x"],
                          EXIT_SOCKET, ["no-such-group-x"])

    def test_conflicting_socket_path_and_fd(self):
        self.assert_fails(self.args() + ["--fd=3"], EXIT_USAGE,
                          ["mutually exclusive"])

    def test_no_socket_at_all(self):
        self.assert_fails(["--shared-dir=" + self.shared], EXIT_USAGE,
                          ["no socket"])

    def test_bad_option_value(self):
        self.assert_fails(self.args() + ["--idle-timeout=soon"], EXIT_USAGE,
                          ["--idle-timeout"])

    def test_fd_is_a_file(self):
        with open(os.path.join(self.tmp, "f"), "w") as f:
            before = self.listing()
            self.assert_fails(["--shared-dir=" + self.shared,
                               "--fd=%d" % f.fileno()], EXIT_SOCKET,
                              ["not a listening"], pass_fds=[f.fileno()],
                              before=before)

    def test_fd_not_listening(self):
        a, b = socket.socketpair()
        with a, b:
            self.assert_fails(["--shared-dir=" + self.shared,
                               "--fd=%d" % a.fileno()], EXIT_SOCKET,
                              ["not a listening"], pass_fds=[a.fileno()])

    def test_fd_closed(self):
        self.assert_fails(["--shared-dir=" + self.shared, "--fd=77"],
                          EXIT_SOCKET, ["fd 77"])

    # LISTEN_PID must be vfsd's own pid: sh -c '... exec vfsd' keeps it.
    def activated(self, listen_fds, extra_args=(), names=None, pass_fds=()):
        env = self.env(LISTEN_FDS=listen_fds)
        if names:
            env["LISTEN_FDNAMES"] = names
        script = 'LISTEN_PID=$$ exec "$0" "$@"'
        return dict(argv0=["sh", "-c", script, VFSD], env=env,
                    pass_fds=pass_fds)

    def test_listen_fds_garbage(self):
        kw = self.activated("abc")
        self.assert_fails(["--shared-dir=" + self.shared], EXIT_SOCKET,
                          ["LISTEN_FDS"], **kw)

    def test_listen_fds_not_for_us(self):
        env = self.env(LISTEN_FDS="1", LISTEN_PID="1")
        self.assert_fails(["--shared-dir=" + self.shared], EXIT_SOCKET,
                          ["LISTEN_PID"], env=env)

    def test_listen_fds_fd_is_a_file(self):
        with open(os.path.join(self.tmp, "f"), "w") as f:
            before = self.listing()
            # fd 3 in the child: a regular file.
            kw = self.activated("1")
            kw["argv0"] = ["sh", "-c",
                           'exec 3<&%d; LISTEN_PID=$$ exec "$0" "$@"'
                           % f.fileno(), VFSD]
            kw["pass_fds"] = [f.fileno()]
            self.assert_fails(["--shared-dir=" + self.shared], EXIT_SOCKET,
                              ["not a listening"], before=before, **kw)

    def test_listen_fds_with_socket_path(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(self.tmp, "act.sock"))
        s.listen(1)
        with s:
            kw = self.activated("1")
            kw["argv0"] = ["sh", "-c",
                           'exec 3<&%d; LISTEN_PID=$$ exec "$0" "$@"'
                           % s.fileno(), VFSD]
            kw["pass_fds"] = [s.fileno()]
            self.assert_fails(self.args(), EXIT_USAGE,
                              ["conflicts", "--socket-path"], **kw)


@unittest.skipUnless(SSA, "systemd-socket-activate not installed")
class SocketActivation(Base):
    """The real systemd-socket-activate: the socket exists before vfsd."""

    def ssa(self, listen, fdnames=None, extra=()):
        argv0 = [SSA] + ["--listen=" + l for l in listen]
        if fdnames:
            argv0.append("--fdname=" + fdnames)
        argv0 += ["-E", "NOTIFY_SOCKET=" + self.notify.path, VFSD]
        p = self.spawn(["--shared-dir=" + self.shared] + list(extra),
                       argv0=argv0)
        # systemd-socket-activate binds, then listens: the path exists a
        # moment before it accepts connections (systemd's socket units are
        # listening before anything is ordered after them).
        deadline = time.monotonic() + WAIT
        while not all(listening(l) for l in listen):
            self.assertLess(time.monotonic(), deadline, "no socket")
            time.sleep(0.01)
        return p

    def test_activation_serves_and_keeps_socket(self):
        # systemd-socket-activate starts vfsd on the first connection: the
        # front-end connected before vfsd runs is queued, never refused.
        p = self.ssa([self.sock])
        t0 = time.monotonic()
        c = connect(self.sock)
        self.assertIsNotNone(self.notify.wait_for(lambda f: "READY" in f))
        self.assertIsNotNone(self.notify.wait_for(
            lambda f: "Hypervisor connected" in f.get("STATUS", "")))
        with self.notify.cond:
            t_ready = [t for t, f in self.notify.msgs if "READY" in f][0]
            t_conn = [t for t, f in self.notify.msgs
                      if "Hypervisor connected" in f.get("STATUS", "")][0]
        print("\nsocket activation: first connection -> READY %.1f ms, "
              "-> connection served %.1f ms" % ((t_ready - t0) * 1e3,
                                                 (t_conn - t0) * 1e3),
              file=sys.stderr)
        c.close()
        p.terminate()
        rc, err = self.finish(p)
        self.assertEqual(rc, 0, err)
        # Never created nor removed by vfsd: systemd-socket-activate made it.
        self.assertTrue(os.path.exists(self.sock))

    def test_named_socket_chosen_among_several(self):
        other = os.path.join(self.tmp, "other.sock")
        p = self.ssa([other, self.sock], fdnames="other:vfsd")
        c = connect(self.sock)
        self.assertIsNotNone(self.notify.wait_for(lambda f: "READY" in f))
        self.assertIsNotNone(self.notify.wait_for(
            lambda f: "Hypervisor connected" in f.get("STATUS", "")))
        c.close()
        p.terminate()
        self.assertEqual(self.finish(p)[0], 0)

    def test_two_unnamed_sockets_refused(self):
        other = os.path.join(self.tmp, "other.sock")
        p = self.ssa([other, self.sock])
        connect(self.sock).close()
        rc, err = self.finish(p)
        self.assertEqual(rc, EXIT_SOCKET, err)
        self.assertIn("2 sockets passed", err)
        self.assertFalse(self.notify.has("READY"))


if __name__ == "__main__":
    if not VFSD or not os.access(VFSD, os.X_OK):
        print("VFSD not set to the daemon binary", file=sys.stderr)
        sys.exit(1)
    unittest.main(verbosity=2)
