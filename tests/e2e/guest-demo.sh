#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the demo guest (busybox only): mounts the share, shows it,
# writes a file the host then shows.  Every line meant for the user starts
# with "[guest] " so scripts/demo can pick them out of the console.

TAG=${E2E_TAG:-share}

show() {
	echo "\$ $*"
	"$@" 2>&1
}

{
	echo "Linux $(uname -r) booted; mounting virtio-fs tag '$TAG' on /mnt"
	if ! show mount -t virtiofs "$TAG" /mnt; then
		echo "DEMO FAILED: mount"
		exit 0
	fi
	show ls -l /mnt
	show cat /mnt/hello.txt
	show df -h /mnt
	msg="hello host, this is the guest writing through virtio-fs (Linux $(uname -r))"
	echo "\$ echo \"$msg\" > /mnt/from-guest.txt"
	echo "$msg" >/mnt/from-guest.txt
	show ls -l /mnt/from-guest.txt
	show umount /mnt
	echo "DEMO OK"
} 2>&1 | sed 's/^/[guest] /'
