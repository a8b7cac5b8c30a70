#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every option of virtiofsd 1.13/1.14 (spellings from its src/main.rs) is
known to vfsd: --help lists it, and running vfsd with it either works or is
refused with exit status 2 and one message naming it.  Never "unrecognized
option", never silently ignored."""
import os
import subprocess
import sys
import tempfile

VFSD = os.environ["VFSD"]

# (option as virtiofsd spells it, a valid value or None)
VIRTIOFSD_OPTIONS = [
    ("--shared-dir", "DIR"), ("--tag", "fs"), ("--socket", "SOCK"),
    ("--socket-path", "SOCK"), ("--socket-group", "root"), ("--fd", "3"),
    ("--thread-pool-size", "4"), ("--xattr", None), ("--posix-acl", None),
    ("--posix-acl=auto", None), ("--xattrmap", ":map::user.virtiofs.:"),
    ("--sandbox", "none"), ("--readonly", None), ("--seccomp", "none"),
    ("--announce-submounts", None), ("--no-announce-submounts", None),
    ("--inode-file-handles=never", None), ("--inode-file-handles=prefer", None),
    ("--inode-file-handles=fallback", None), ("--cache", "metadata"),
    ("--allow-mmap", None), ("--no-readdirplus", None),
    ("--posix-acl-create-fallback", None), ("--writeback", None),
    ("--allow-direct-io", None), ("--print-capabilities", None),
    ("--modcaps", "-mknod"), ("--log-level", "warn"), ("--syslog", None),
    ("--rlimit-nofile", "4096"), ("-o", "cache=auto"), ("-d", None),
    ("--no-killpriv-v2", None), ("--killpriv-v2", None), ("-f", None),
    ("--security-label", None), ("--security-label=never", None),
    ("--uid-map", ":0:100000:65536:"), ("--gid-map", ":0:100000:65536:"),
    ("--translate-uid", "map:0:1000:1"), ("--translate-gid", "guest:0:1000:1"),
    ("--preserve-noatime", None), ("--migration-mode", "find-paths"),
    ("--migration-on-error", "abort"), ("--migration-verify-handles", None),
    ("--migration-confirm-paths", None), ("--help", None), ("-h", None),
    ("--version", None), ("-V", None),
]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def name(opt):
    return opt.split("=")[0]


def main():
    help_text = subprocess.run([VFSD, "--help"], capture_output=True,
                               text=True, timeout=30, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="vfsd-opts-") as tmp:
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        for opt, value in VIRTIOFSD_OPTIONS:
            if name(opt) not in help_text and name(opt) not in ("-h", "-V"):
                fail(f"{name(opt)} is not in --help")
            args = [opt] if value is None else [opt, value.replace("DIR", shared)]
            # Socket options need their own partner; the rest get a socket
            # path in a directory that does not exist, so that an accepted
            # command line fails later, at the socket (exit 4), never serves.
            base = ["--shared-dir", shared]
            if name(opt) not in ("--socket", "--socket-path", "--fd"):
                base += ["--socket-path", os.path.join(tmp, "no", "sock")]
            if name(opt) in ("--socket", "--socket-path"):
                args[1] = os.path.join(tmp, "no", "sock")
            if opt == "--socket-group":
                base = ["--shared-dir", shared, "--socket-path",
                        os.path.join(tmp, "no", "sock")]
            p = subprocess.run([VFSD] + base + args, capture_output=True,
                               text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            err = p.stderr
            if "unrecognized option" in err or "invalid option" in err:
                fail(f"{opt}: getopt does not know it: {err.strip()}")
            elif p.returncode == 2:
                if "not implemented in this version" not in err:
                    fail(f"{opt}: refused without saying why: {err.strip()}")
                elif name(opt).lstrip("-").replace("_", "-") not in err:
                    fail(f"{opt}: refusal does not name it: {err.strip()}")
                else:
                    print(f"{opt}: refused: {err.splitlines()[0]}")
            elif p.returncode in (0, 1, 4, 5):
                print(f"{opt}: accepted (exit {p.returncode})")
            else:
                fail(f"{opt}: exit {p.returncode}: {err.strip()}")

        # Unknown options and -o items are usage errors, not ignored.
        for args in (["--no-such-option"], ["-o", "no_such_item"], ["-o", "norace"]):
            p = subprocess.run([VFSD, "--shared-dir", shared, "--socket-path",
                                os.path.join(tmp, "s")] + args,
                               capture_output=True, text=True, timeout=30)
            if p.returncode != 2 or not p.stderr.strip():
                fail(f"{args}: expected exit 2 with a message, got {p.returncode}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
