#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the vIOMMU e2e guest (busybox only), installed over the e2e
# initramfs as /guest-tests.sh.  Mounts the virtio-fs share, checks that the
# device really goes through an IOMMU, then writes, reads back, lists and
# removes files.  Same output protocol as tests/e2e/guest-tests.sh:
# "E2E PASS name (secs)" / "E2E FAIL name: detail" lines, then "E2E DONE".
# e2e.iommu=intel|virtio|none on the kernel command line says what to expect.

M=/mnt
TAG=${E2E_TAG:-share}
IOMMU=none
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	e2e.iommu=*) IOMMU=${arg#e2e.iommu=} ;;
	esac
done

now() { cut -d' ' -f1 /proc/uptime; }

run() {
	name=$1
	shift
	t0=$(now)
	if detail=$("$@" 2>&1); then
		echo "E2E PASS $name ($(echo "$(now) $t0" | awk '{printf "%.2f", $1 - $2}')s)"
	else
		echo "E2E FAIL $name: $(echo "$detail" | tail -n 4 | tr '\n' ' ')"
	fi
}

eq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: got '$1', want '$2'"
	return 1
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The virtio-fs device (virtio id 26): VIRTIO_F_ACCESS_PLATFORM (bit 33)
# negotiated, and with the Intel IOMMU driver, the device in an IOMMU group.
check_iommu() {
	for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = 0x001a ] || continue
		bit=$(cut -c34 "$d/features")
		pci=$(readlink -f "$d/..")
		case "$IOMMU" in
		none) eq "$bit" 0 "ACCESS_PLATFORM" ;;
		intel) eq "$bit" 1 "ACCESS_PLATFORM" &&
			eq "$(ls /sys/class/iommu/ | head -n 1)" dmar0 "iommu" &&
			[ -e "$pci/iommu_group" ] ||
			{ echo "virtio-fs $pci not in an IOMMU group"; return 1; } ;;
		virtio) eq "$bit" 1 "ACCESS_PLATFORM" ;;
		esac
		return
	done
	echo "no virtio-fs device"
	return 1
}

t_mount() { mount -t virtiofs "$TAG" $M && mkdir -p $M/out; }

t_host_file() { eq "$(cat $M/input/hello.txt)" "hello from the host" hello; }

# Files of several sizes (one page, odd, several MiB: large reads and
# writes use many descriptors), compared after dropping the guest's cache.
t_write_read() {
	for n in 4096 13001 4194304; do
		head -c $n /dev/urandom >/tmp/f$n || return 1
		cp /tmp/f$n $M/out/f$n || return 1
	done
	drop_caches
	for n in 4096 13001 4194304; do
		cmp /tmp/f$n $M/out/f$n || return 1
	done
}

t_readdir() {
	mkdir $M/out/dir || return 1
	i=0
	while [ $i -lt 300 ]; do
		echo $i >$M/out/dir/e$i || return 1
		i=$((i + 1))
	done
	drop_caches
	eq "$(ls $M/out/dir | wc -l)" 300 entries &&
		eq "$(cat $M/out/dir/e299)" 299 content
}

t_unlink() {
	rm $M/out/dir/* $M/out/f4096 && rmdir $M/out/dir || return 1
	drop_caches
	eq "$(ls $M/out)" "$(printf 'f13001\nf4194304')" "left"
}

t_umount() {
	echo "guest-ok" >$M/out/done && umount $M
}

run mount t_mount
run iommu check_iommu
run host_file t_host_file
run write_read t_write_read
run readdir t_readdir
run unlink t_unlink
run umount t_umount
echo "E2E DONE"
