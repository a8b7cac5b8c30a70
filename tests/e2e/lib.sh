# SPDX-License-Identifier: GPL-2.0-or-later
#
# Host-side helpers shared by tests/e2e/run-e2e and scripts/demo (bash,
# sourced).  Starting a back-end, waiting for its socket, booting the guest
# under QEMU (TCG: this machine may have no KVM), stopping processes.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# e2e_find_qemu: prints the qemu-system-x86_64 path or nothing.
e2e_find_qemu() {
	command -v "${QEMU:-qemu-system-x86_64}" 2>/dev/null || true
}

# e2e_accel: kvm when usable, else tcg.
e2e_accel() {
	if [ -z "${E2E_NO_KVM:-}" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		echo kvm
	else
		echo tcg
	fi
}

# e2e_start_backend KIND BINARY SOCKET SHARED_DIR LOGFILE [ARG...]
# Starts the back-end in the background; sets BACKEND_PID.  Extra daemon
# arguments: ARG..., then $E2E_DAEMON_ARGS (word-split).
e2e_start_backend() {
	local kind=$1 bin=$2 sock=$3 dir=$4 log=$5
	local -a args
	shift 5
	case "$kind" in
	vfsd)
		args=(--socket-path="$sock" --shared-dir="$dir")
		;;
	virtiofsd)
		# QEMU 7.2's C virtiofsd: its thread pool dies under its own
		# seccomp filter on Debian 12, so no --thread-pool-size.
		args=(--socket-path="$sock" -o source="$dir" -o cache=auto)
		;;
	*)
		echo "unknown back-end kind '$kind' (vfsd|virtiofsd)" >&2
		return 1
		;;
	esac
	args+=("$@")
	# shellcheck disable=SC2206
	args+=(${E2E_DAEMON_ARGS:-})
	echo "+ $bin ${args[*]}" >"$log"
	"$bin" "${args[@]}" >>"$log" 2>&1 </dev/null &
	BACKEND_PID=$!
}

# e2e_wait_socket SOCKET PID SECONDS: 0 once SOCKET is a listening socket,
# 1 if PID died or the time ran out.
e2e_wait_socket() {
	local sock=$1 pid=$2 secs=$3 i
	for ((i = 0; i < secs * 20; i++)); do
		[ -S "$sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# e2e_qemu_args KERNEL INITRD SOCKET MODE SERIAL_LOG [allow-reboot]: sets
# QEMU_ARGS.  Memory must be a shared memfd: the back-end maps the guest's
# RAM.  Without allow-reboot a guest reboot (or panic) ends QEMU.
# Optional globals: E2E_RO_SOCK, a second back-end's socket, becomes a second
# device with tag "roshare" (e2e.rotag=roshare); E2E_APPEND, more kernel
# command line (e2e.backend=...); E2E_FS_QUEUES, num-request-queues of the
# share's device (default: QEMU's, 1).
e2e_qemu_args() {
	local kernel=$1 initrd=$2 sock=$3 mode=$4 serial=$5 reboot=${6:-}
	local mem=${E2E_MEM:-512M} accel cpu append
	local fsq=${E2E_FS_QUEUES:+,num-request-queues=$E2E_FS_QUEUES}
	accel=$(e2e_accel)
	if [ "$accel" = kvm ]; then cpu=host; else cpu=max; fi
	append="console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check e2e.mode=$mode e2e.tag=share"
	[ -z "${E2E_RO_SOCK:-}" ] || append+=" e2e.rotag=roshare"
	[ -z "${E2E_APPEND:-}" ] || append+=" $E2E_APPEND"
	QEMU_ARGS=(
		-machine q35 -accel "$accel" -cpu "$cpu" -smp "${E2E_SMP:-2}" -m "$mem"
		-object memory-backend-memfd,id=mem,size="$mem",share=on
		-numa node,memdev=mem
		-chardev socket,id=char0,path="$sock"
		-device vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=share"$fsq"
	)
	[ -z "${E2E_RO_SOCK:-}" ] || QEMU_ARGS+=(
		-chardev socket,id=char1,path="$E2E_RO_SOCK"
		-device vhost-user-fs-pci,queue-size=128,chardev=char1,tag=roshare
	)
	QEMU_ARGS+=(
		-kernel "$kernel" -initrd "$initrd"
		-append "$append"
		-nodefaults -display none -monitor none -serial file:"$serial"
	)
	[ "$reboot" = allow-reboot ] || QEMU_ARGS+=(-no-reboot)
}

# e2e_stop PID [NAME]: TERM, wait up to 5 s, then KILL.  Only our own PIDs.
e2e_stop() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# e2e_now: seconds since the epoch with fractions.
e2e_now() { date +%s.%N; }

# e2e_elapsed START: seconds since START, one decimal.
e2e_elapsed() { awk -v s="$1" -v e="$(e2e_now)" 'BEGIN { printf "%.1f", e - s }'; }
