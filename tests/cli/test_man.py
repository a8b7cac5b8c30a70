#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""vfsd(8) renders without a single warning, has the sections users look
for, and documents every option --help lists, every exit code in
vfsd/config.h and every environment variable vfsd reads."""
import os
import re
import shutil
import subprocess
import sys

SRC = os.environ["VFSD_SOURCE_ROOT"]
VFSD = os.environ["VFSD"]
PAGE = os.path.join(SRC, "man", "vfsd.8")
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SOCKET ACTIVATION",
            "READINESS AND STATUS", "SANDBOX AND SECURITY", "EXAMPLES",
            "EXIT STATUS", "ENVIRONMENT", "SEE ALSO"]
ENVIRONMENT = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
               "WATCHDOG_USEC", "JOURNAL_STREAM"]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def render(width):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH=str(width),
               MAN_KEEP_FORMATTING="", MANPAGER="cat", PAGER="cat")
    p = subprocess.run(["man", "--warnings", "-l", PAGE], env=env,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        fail(f"man exited {p.returncode}: {p.stderr.strip()}")
    if p.stderr.strip():
        fail(f"man --warnings (MANWIDTH={width}) printed:\n{p.stderr}")
    # Rendered hyphens and minus signs are all "-" for searching.
    return re.sub("[\u2010\u2011\u2212]", "-", p.stdout)


def main():
    if not shutil.which("man"):
        print("man(1) is not installed: skipped")
        return 77
    text = render(80)
    render(65)          # narrow terminals must not warn either
    for s in SECTIONS:
        if not re.search(r"^" + re.escape(s) + r"$", text, re.M):
            fail(f"section {s} missing")

    help_text = subprocess.run([VFSD, "--help"], capture_output=True,
                               text=True, timeout=30, check=True).stdout
    options = sorted(set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", help_text)))
    options += sorted(set(re.findall(r"^\s+(-[a-zA-Z])\b", help_text, re.M)))
    if len(options) < 40:
        fail(f"--help lists only {len(options)} options: {options}")
    for opt in options:
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text):
            fail(f"option {opt} from --help is not in the man page")

    config_h = open(os.path.join(SRC, "vfsd", "config.h")).read()
    codes = re.findall(r"^\s*EXIT_\w+\s*=\s*(\d+)", config_h, re.M)
    exit_section = text.split("\nEXIT STATUS\n", 1)[-1].split("\nENVIRONMENT\n")[0]
    for code in codes:
        if not re.search(r"^\s+" + code + r"\s", exit_section, re.M):
            fail(f"exit status {code} (vfsd/config.h) not documented")
    env_section = text.split("\nENVIRONMENT\n", 1)[-1].split("\nSEE ALSO\n")[0]
    for var in ENVIRONMENT:
        if var not in env_section:
            fail(f"environment variable {var} not documented")
    print(f"{len(options)} options, {len(codes)} exit codes checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
