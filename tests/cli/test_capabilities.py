#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""--print-capabilities prints valid JSON per the vhost-user back-end
program conventions (type "fs", features a list of strings), and the
50-vfsd.json built for share/qemu/vhost-user/ describes the same back-end
with an absolute binary path (QEMU's docs/interop/vhost-user.json)."""
import json
import os
import subprocess
import sys

VFSD = os.environ["VFSD"]
JSON_FILE = os.environ["VFSD_VHOST_USER_JSON"]


def main():
    out = subprocess.run([VFSD, "--print-capabilities"], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    # The same check a packager would run.
    subprocess.run([sys.executable, "-m", "json.tool"], input=out, text=True,
                   check=True, capture_output=True, timeout=30)
    caps = json.loads(out)
    assert caps["type"] == "fs", caps
    assert isinstance(caps.get("features", []), list), caps
    assert all(isinstance(f, str) for f in caps.get("features", [])), caps
    # --print-capabilities needs nothing else on the command line.
    p = subprocess.run([VFSD, "--print-capabilities", "--socket-path=/nonexistent/x"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p

    desc = json.load(open(JSON_FILE))
    assert desc["type"] == "fs", desc
    assert os.path.isabs(desc["binary"]), desc
    assert desc["binary"].endswith("/vfsd"), desc
    assert desc.get("description"), desc
    assert desc.get("features", []) == caps.get("features", []), (desc, caps)
    print("capabilities:", out.strip().replace("\n", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
