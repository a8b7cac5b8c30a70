# SPDX-License-Identifier: GPL-2.0-or-later
#
# Guest helpers for the lifecycle e2e scripts (bash, sourced after
# tests/e2e/lib.sh): the tests/e2e initramfs with our guest-init on top,
# booting it against a socket, bounded waits.  Needs $guest_timeout.

LC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# lc_build_initrd TMPDIR CACHEDIR: sets kernel and initrd.
lc_build_initrd() {
	local tmpd=$1 cached=$2 img base
	img=$("$LC_DIR/../e2e/mkinitramfs" "$cached") || return 1
	kernel=$(sed -n 's/^kernel=//p' <<<"$img")
	base=$(sed -n 's/^initrd=//p' <<<"$img")
	mkdir -p "$tmpd/overlay"
	cp "$LC_DIR/guest-init" "$tmpd/overlay/init"
	chmod 0755 "$tmpd/overlay/init"
	# The kernel unpacks concatenated archives in order: our /init wins.
	(cd "$tmpd/overlay" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0 | gzip -1) \
		>"$tmpd/overlay.cpio.gz" || return 1
	initrd=$tmpd/initrd.cpio.gz
	cat "$base" "$tmpd/overlay.cpio.gz" >"$initrd"
}

# lc_listening PATH: 0 when a listening AF_UNIX socket is bound to PATH
# (/proc/net/unix flag 0x10000, __SO_ACCEPTCON).
lc_listening() {
	local _num _ref _proto flags _type _st _ino path
	while read -r _num _ref _proto flags _type _st _ino path; do
		[ "$path" = "$1" ] && (((16#$flags) & 0x10000)) && return 0
	done </proc/net/unix
	return 1
}

# boot_guest SOCKET MODE SERIAL: starts QEMU in the background (QEMU_PID).
# MODE: rw | reboot | load (see guest-init).
boot_guest() {
	local sock=$1 mode=$2 serial=$3 i
	: >"$serial"
	e2e_qemu_args "$kernel" "$initrd" "$sock" lc "$serial"
	for i in "${!QEMU_ARGS[@]}"; do
		case "${QEMU_ARGS[$i]}" in
		console=*) QEMU_ARGS[$i]="console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check lc.mode=$mode" ;;
		esac
	done
	if [ "$mode" = reboot ]; then
		# A guest reboot resets the machine inside the same QEMU.
		local -a a=()
		for i in "${QEMU_ARGS[@]}"; do [ "$i" = -no-reboot ] || a+=("$i"); done
		QEMU_ARGS=("${a[@]}")
	fi
	# Not under timeout(1): QEMU_PID must be QEMU itself, for SIGKILL.
	"$qemu" "${QEMU_ARGS[@]}" >"$serial.qemu" 2>&1 &
	QEMU_PID=$!
}

# wait_console SERIAL PATTERN SECONDS: 0 once PATTERN is on the console.
wait_console() {
	local serial=$1 pat=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		tr -d '\r' <"$serial" | grep -qE "$pat" && return 0
		[ -n "$QEMU_PID" ] && ! kill -0 "$QEMU_PID" 2>/dev/null &&
			{ tr -d '\r' <"$serial" | grep -qE "$pat"; return; }
		sleep 0.1
	done
	return 1
}

# wait_qemu: wait (at most $guest_timeout s) for the guest to power off;
# returns QEMU's exit status, 124 after killing it on timeout.
wait_qemu() {
	local i rc
	for ((i = 0; i < guest_timeout * 10; i++)); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		kill -KILL "$QEMU_PID"
		wait "$QEMU_PID" 2>/dev/null
		rc=124
	else
		wait "$QEMU_PID"
		rc=$?
	fi
	QEMU_PID=
	return $rc
}
