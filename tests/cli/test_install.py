#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`meson install --destdir` puts the binary, the man page, the vhost-user
back-end description (and whatever else the project installs, e.g. the
systemd units) in the conventional prefix-relative places, and the
installed JSON names the installed binary."""
import json
import os
import subprocess
import sys
import tempfile

BUILD = os.environ["VFSD_BUILD_ROOT"]


def introspect(key):
    out = subprocess.run(["meson", "introspect", BUILD, key],
                         capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return json.loads(out)


def main():
    opts = {o["name"]: o["value"] for o in introspect("--buildoptions")}
    prefix = opts["prefix"]
    expected = {
        "binary": os.path.join(prefix, opts["bindir"], "vfsd"),
        "man page": os.path.join(prefix, opts["mandir"], "man8", "vfsd.8"),
        "vhost-user JSON": os.path.join(prefix, opts["datadir"], "qemu",
                                        "vhost-user", "50-vfsd.json"),
    }
    installed = introspect("--installed")   # build path -> install path
    with tempfile.TemporaryDirectory(prefix="vfsd-install-") as dest:
        p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild",
                            "--destdir", dest, "--quiet"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(p.stdout, p.stderr)
            return 1
        ok = True
        for what, path in expected.items():
            full = dest + path
            if not os.path.isfile(full):
                print(f"FAIL: {what} not installed at {path}")
                ok = False
            else:
                print(f"{what}: {path}")
        # Everything meson says it installs must be there (units included).
        for src, path in installed.items():
            if not os.path.exists(dest + path):
                print(f"FAIL: {src} not installed at {path}")
                ok = False
        units = [p for p in installed.values() if p.endswith((".socket", ".service"))]
        for u in units:
            print(f"unit: {u}")
        if os.path.isfile(dest + expected["binary"]):
            mode = os.stat(dest + expected["binary"]).st_mode
            if not mode & 0o111:
                print("FAIL: the installed binary is not executable")
                ok = False
        if os.path.isfile(dest + expected["vhost-user JSON"]):
            desc = json.load(open(dest + expected["vhost-user JSON"]))
            if desc.get("binary") != expected["binary"] or desc.get("type") != "fs":
                print(f"FAIL: 50-vfsd.json does not describe {expected['binary']}: {desc}")
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
