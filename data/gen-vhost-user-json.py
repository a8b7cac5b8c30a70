#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write 50-vfsd.json, the vhost-user back-end description management
software (libvirt) reads from share/qemu/vhost-user/ (QEMU's
docs/interop/vhost-user.json, VhostUserBackend: description, type, binary,
features).  Type and features come from the built daemon's
--print-capabilities, so the file never disagrees with the binary.

usage: gen-vhost-user-json.py VFSD_BUILT INSTALLED_BINARY_PATH
"""
import json
import subprocess
import sys


def main():
    built, installed = sys.argv[1], sys.argv[2]
    caps = json.loads(subprocess.run([built, "--print-capabilities"],
                                     check=True, capture_output=True,
                                     text=True).stdout)
    desc = {
        "description": "vfsd virtio-fs daemon (vhost-user-fs back-end)",
        "type": caps["type"],
        "binary": installed,
    }
    if caps.get("features"):
        desc["features"] = caps["features"]
    json.dump(desc, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
