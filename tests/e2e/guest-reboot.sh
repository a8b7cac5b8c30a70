#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Second guest of an e2e run (e2e.mode=reboot), booted by a new QEMU against
# the back-end that already served the first guest:
#   boot 1: the share still works for a new hypervisor connection (reconnect),
#           leave a marker, reboot the guest (QEMU resets the device);
#   boot 2: the share works again after the device reset (reboot).
# Lines as in guest-tests.sh; run-e2e checks them.

M=/mnt
TAG=${E2E_TAG:-share}

if ! mount -t virtiofs "$TAG" "$M" 2>/tmp/mount.err; then
	echo "E2E FAIL reconnect_mount: $(cat /tmp/mount.err)"
	echo "E2E DONE"
	exit 1
fi

if [ ! -e "$M/out/reboot-marker" ]; then
	got=$(cat "$M/out/done" 2>&1)
	if [ "$got" = "guest-ok" ]; then
		echo "E2E PASS reconnect"
	else
		echo "E2E FAIL reconnect: out/done: '$got'"
	fi
	echo "boot1" >"$M/out/reboot-marker"
	sync
	umount "$M"
	echo "E2E INFO rebooting the guest"
	reboot -f
	sleep 30
	echo "E2E FAIL reboot: reboot -f returned"
	echo "E2E DONE"
	exit 1
fi

got=$(cat "$M/out/reboot-marker" 2>&1)
if [ "$got" = "boot1" ]; then
	echo "E2E PASS reboot"
else
	echo "E2E FAIL reboot: reboot-marker: '$got'"
fi
if [ "$(md5sum "$M/input/big.bin" | cut -d' ' -f1)" = "$(cat "$M/input/big.md5")" ]; then
	echo "E2E PASS reboot_read_big"
else
	echo "E2E FAIL reboot_read_big: md5 mismatch"
fi
echo "boot2" >>"$M/out/reboot-marker"
sync
umount "$M" && echo "E2E PASS reboot_umount" || echo "E2E FAIL reboot_umount"
echo "E2E DONE"
