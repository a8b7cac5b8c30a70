#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the e2e guest (busybox only).  Mounts the virtio-fs share and
# checks file and directory operations against what the host prepared:
#   /mnt/input/hello.txt      "hello from the host\n"
#   /mnt/input/big.bin        ~32 MiB random, /mnt/input/big.md5 its md5
#   /mnt/input/many/          2000 empty files f0000..f1999
#   /mnt/input/tree.tar       a tree of a few thousand files,
#   /mnt/input/tree.md5       its md5sum manifest (paths relative to the
#                             extraction directory)
# and leaves results under /mnt/out for the host to check (see run-e2e).
#
# One line per check: "E2E PASS name (secs)" or "E2E FAIL name: detail",
# then "E2E DONE".  run-e2e counts the `run ` lines of this file to know how
# many PASS lines to expect: one `run` per line, at the start of the line.
# Against the reference back-end (E2E_BACKEND=virtiofsd) a check may instead
# print "E2E DIFF name: what" for a documented difference (exit status 3 of
# /bin/guest-probe); for vfsd that is a failure.
#
# Also prepared by the host: user.e2e.host="from-host" on input/hello.txt;
# input/locks/posix (bytes 100..199 write-locked by a host process) and
# input/locks/flock (flock LOCK_EX by that process); and, when E2E_ROTAG is
# set, a read-only share holding file.txt and sub/ (see guest-probe.c).

M=/mnt
IN=$M/input
OUT=$M/out
TAG=${E2E_TAG:-share}

now() { cut -d' ' -f1 /proc/uptime; }

run() {
	name=$1
	shift
	t0=$(now)
	detail=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		echo "E2E PASS $name ($(echo "$(now) $t0" | awk '{printf "%.2f", $1 - $2}')s)"
	elif [ $rc = 3 ] && [ "${E2E_BACKEND:-vfsd}" != vfsd ]; then
		echo "E2E DIFF $name: $(echo "$detail" | grep '^DIFF' | tail -n 4 | tr '\n' ' ')"
	else
		# A probe's "ok" lines are progress; show what went wrong.
		echo "E2E FAIL $name: $(echo "$detail" | grep -v '^ok ' | tail -n 6 | tr '\n' ' ')"
	fi
}

eq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: got '$1', want '$2'"
	return 1
}

# expect_err MESSAGE CMD...: CMD must fail and its output contain MESSAGE
# (strerror of the errno the daemon should have returned).
expect_err() {
	want=$1
	shift
	if out=$("$@" 2>&1); then
		echo "'$*' succeeded, expected failure '$want'"
		return 1
	fi
	case "$out" in
	*"$want"*) return 0 ;;
	esac
	echo "'$*' failed with '$out', want '$want'"
	return 1
}

md5of() { md5sum "$1" | cut -d' ' -f1; }

# Forget cached pages/dentries so the next reads go to the daemon.
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

t_mount() {
	mount -t virtiofs "$TAG" "$M" || return 1
	grep -q " $M virtiofs " /proc/mounts || { echo "not in /proc/mounts"; return 1; }
	[ -d "$IN" ] || { echo "$IN missing after mount"; ls -la "$M"; return 1; }
}

t_statfs() {
	out=$(df -k "$M") || return 1
	blocks=$(echo "$out" | awk 'NR==2 {print $2}')
	[ "${blocks:-0}" -gt 0 ] || { echo "statfs: $out"; return 1; }
}

t_getattr_root() {
	eq "$(stat -c %F "$M")" "directory" "root type" || return 1
	eq "$(stat -c %F "$IN/hello.txt")" "regular file" "file type"
}

t_read_small() {
	eq "$(cat "$IN/hello.txt")" "hello from the host" "content"
}

t_read_big() {
	eq "$(md5of "$IN/big.bin")" "$(cat "$IN/big.md5")" "big.bin md5"
}

t_read_big_uncached() {
	drop_caches
	eq "$(md5of "$IN/big.bin")" "$(cat "$IN/big.md5")" "big.bin md5 after drop_caches"
}

t_mkdir_out() {
	mkdir "$OUT" || return 1
	[ -d "$OUT" ] || { echo "not a directory"; return 1; }
}

t_create_write() {
	echo "hello from the guest" >"$OUT/hello.txt" || return 1
	eq "$(cat "$OUT/hello.txt")" "hello from the guest" "read back"
}

t_append() {
	echo "one" >"$OUT/append.txt" || return 1
	echo "two" >>"$OUT/append.txt" || return 1
	echo "three" >>"$OUT/append.txt" || return 1
	eq "$(wc -l <"$OUT/append.txt" | tr -d ' ')" "3" "line count" || return 1
	eq "$(tail -n 1 "$OUT/append.txt")" "three" "last line"
}

t_write_big() {
	cp "$IN/big.bin" "$OUT/copy.bin" || return 1
	eq "$(md5of "$OUT/copy.bin")" "$(cat "$IN/big.md5")" "copy md5 (cached)" || return 1
	drop_caches
	eq "$(md5of "$OUT/copy.bin")" "$(cat "$IN/big.md5")" "copy md5 (uncached)"
}

t_write_seq() {
	seq 1 100000 >"$OUT/seq.txt" || return 1
	eq "$(stat -c %s "$OUT/seq.txt")" "588895" "size"
}

t_pwrite_middle() {
	printf '0123456789' >"$OUT/pwrite.txt" || return 1
	printf 'XYZ' | dd of="$OUT/pwrite.txt" bs=1 seek=5 conv=notrunc 2>/dev/null || return 1
	drop_caches
	eq "$(cat "$OUT/pwrite.txt")" "01234XYZ89" "content"
}

t_rename() {
	echo "moved" >"$OUT/rename.src" || return 1
	mv "$OUT/rename.src" "$OUT/rename.dst" || return 1
	[ ! -e "$OUT/rename.src" ] || { echo "source still exists"; return 1; }
	eq "$(cat "$OUT/rename.dst")" "moved" "dst content"
}

t_rename_overwrite() {
	echo "old" >"$OUT/ow.dst" || return 1
	echo "new" >"$OUT/ow.src" || return 1
	mv -f "$OUT/ow.src" "$OUT/ow.dst" || return 1
	[ ! -e "$OUT/ow.src" ] || { echo "source still exists"; return 1; }
	eq "$(cat "$OUT/ow.dst")" "new" "dst content"
}

t_rename_dir() {
	mkdir -p "$OUT/rd1/sub" || return 1
	echo "inside" >"$OUT/rd1/sub/f" || return 1
	mv "$OUT/rd1" "$OUT/rd2" || return 1
	[ ! -e "$OUT/rd1" ] || { echo "old dir still exists"; return 1; }
	eq "$(cat "$OUT/rd2/sub/f")" "inside" "content under renamed dir"
}

t_hardlink() {
	echo "linked" >"$OUT/link.a" || return 1
	ln "$OUT/link.a" "$OUT/link.b" || return 1
	eq "$(stat -c %h "$OUT/link.a")" "2" "nlink" || return 1
	eq "$(stat -c %i "$OUT/link.a")" "$(stat -c %i "$OUT/link.b")" "inode" || return 1
	eq "$(cat "$OUT/link.b")" "linked" "content via link"
}

t_symlink() {
	echo "target data" >"$OUT/sym.target" || return 1
	ln -s sym.target "$OUT/sym.link" || return 1
	eq "$(readlink "$OUT/sym.link")" "sym.target" "readlink" || return 1
	eq "$(stat -c %F "$OUT/sym.link")" "symbolic link" "type" || return 1
	eq "$(cat "$OUT/sym.link")" "target data" "read through symlink" || return 1
	ln -s /nonexistent/dangling "$OUT/sym.dangling" || return 1
	eq "$(readlink "$OUT/sym.dangling")" "/nonexistent/dangling" "dangling readlink"
}

t_chmod() {
	echo "mode" >"$OUT/mode.txt" || return 1
	chmod 0640 "$OUT/mode.txt" || return 1
	eq "$(stat -c %a "$OUT/mode.txt")" "640" "mode" || return 1
	chmod 0755 "$OUT/mode.txt" || return 1
	drop_caches
	eq "$(stat -c %a "$OUT/mode.txt")" "755" "mode after drop_caches" || return 1
	chmod 0640 "$OUT/mode.txt"
}

t_utimes() {
	echo "t" >"$OUT/mtime.txt" || return 1
	touch -d "2001-02-03 04:05:06" "$OUT/mtime.txt" || return 1
	drop_caches
	eq "$(date -d "@$(stat -c %Y "$OUT/mtime.txt")" '+%Y-%m-%d %H:%M:%S')" \
		"2001-02-03 04:05:06" "mtime"
}

t_truncate() {
	head -c 100000 "$IN/big.bin" >"$OUT/trunc.bin" || return 1
	truncate -s 1000 "$OUT/trunc.bin" || return 1
	eq "$(stat -c %s "$OUT/trunc.bin")" "1000" "shrunk size" || return 1
	eq "$(md5of "$OUT/trunc.bin")" "$(head -c 1000 "$IN/big.bin" | md5sum | cut -d' ' -f1)" \
		"shrunk content" || return 1
	truncate -s 1048576 "$OUT/trunc.bin" || return 1
	drop_caches
	eq "$(stat -c %s "$OUT/trunc.bin")" "1048576" "grown size" || return 1
	eq "$(tail -c 1047576 "$OUT/trunc.bin" | tr -d '\0' | wc -c | tr -d ' ')" "0" \
		"grown tail is zeros" || return 1
	truncate -s 0 "$OUT/trunc.zero" || return 1
	eq "$(stat -c %s "$OUT/trunc.zero")" "0" "empty size"
}

t_mknod_fifo() {
	mkfifo "$OUT/fifo" || return 1
	eq "$(stat -c %F "$OUT/fifo")" "fifo" "type"
}

t_readdir_host() {
	eq "$(ls "$IN/many" | wc -l | tr -d ' ')" "2000" "entries" || return 1
	eq "$(ls -la "$IN/many" | grep -c ' f[0-9]')" "2000" "entries (readdirplus)" || return 1
	eq "$(ls "$IN/many" | sort | head -n 1)" "f0000" "first" || return 1
	eq "$(ls "$IN/many" | sort | tail -n 1)" "f1999" "last"
}

t_readdir_guest() {
	mkdir "$OUT/many" || return 1
	i=0
	while [ $i -lt 2000 ]; do
		: >"$OUT/many/g$i" || return 1
		i=$((i + 1))
	done
	drop_caches
	eq "$(ls "$OUT/many" | wc -l | tr -d ' ')" "2000" "entries after create" || return 1
	eq "$(find "$OUT/many" -type f | wc -l | tr -d ' ')" "2000" "find count" || return 1
	# Unlink the odd ones; the host checks the even 1000 remain.
	i=1
	while [ $i -lt 2000 ]; do
		echo "$OUT/many/g$i"
		i=$((i + 2))
	done | xargs rm -f || return 1
	eq "$(ls "$OUT/many" | wc -l | tr -d ' ')" "1000" "entries after unlink"
}

t_chown() {
	echo "owned" >"$OUT/chown.txt" || return 1
	chown 1234:5678 "$OUT/chown.txt" || return 1
	drop_caches
	eq "$(stat -c %u:%g "$OUT/chown.txt")" "1234:5678" "owner"
}

t_fallocate() {
	: >"$OUT/falloc.bin" || return 1
	fallocate -l 1048576 "$OUT/falloc.bin" || return 1
	drop_caches
	eq "$(stat -c %s "$OUT/falloc.bin")" "1048576" "size"
}

t_odirect_read() {
	eq "$(dd if="$IN/big.bin" bs=1M iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)" \
		"$(cat "$IN/big.md5")" "O_DIRECT read md5"
}

t_parallel_io() {
	# Several requests in flight at once: 4 writers, then 4 readers.
	for i in 1 2 3 4; do
		dd if="$IN/big.bin" of="$OUT/par$i.bin" bs=64k skip=$((i * 16)) count=64 \
			2>/dev/null &
	done
	wait
	drop_caches
	for i in 1 2 3 4; do
		md5sum "$OUT/par$i.bin" >"/tmp/par$i.md5" &
	done
	wait
	for i in 1 2 3 4; do
		want=$(dd if="$IN/big.bin" bs=64k skip=$((i * 16)) count=64 2>/dev/null |
			md5sum | cut -d' ' -f1)
		eq "$(cut -d' ' -f1 "/tmp/par$i.md5")" "$want" "par$i.bin md5" || return 1
	done
}

t_exec_from_share() {
	# exec maps the binary: page-cache reads through the share (mmap).
	cp /bin/busybox "$OUT/busybox" || return 1
	drop_caches
	eq "$("$OUT/busybox" echo exec-ok)" "exec-ok" "output"
}

t_name_max() {
	n255=$(printf 'n%.0s' $(seq 1 255))
	: >"$OUT/$n255" || return 1
	[ -e "$OUT/$n255" ] || { echo "255-byte name missing"; return 1; }
	rm "$OUT/$n255" || return 1
	expect_err "File name too long" touch "$OUT/${n255}x"
}

t_readdir_long_names() {
	mkdir "$OUT/long" || return 1
	p=$(printf 'L%.0s' $(seq 1 200))
	i=0
	while [ $i -lt 300 ]; do
		: >"$OUT/long/$p.$i" || return 1
		i=$((i + 1))
	done
	drop_caches
	eq "$(ls "$OUT/long" | wc -l | tr -d ' ')" "300" "entries" || return 1
	eq "$(ls -l "$OUT/long" | grep -c "$p")" "300" "entries (readdirplus)"
}

t_unlink() {
	echo "bye" >"$OUT/unlink.txt" || return 1
	rm "$OUT/unlink.txt" || return 1
	[ ! -e "$OUT/unlink.txt" ] || { echo "still exists"; return 1; }
	expect_err "No such file" stat "$OUT/unlink.txt"
}

t_unlink_open() {
	# Unlinked while open: the data must stay readable through the fd.
	echo "still here" >"$OUT/unlink-open.txt" || return 1
	exec 3<"$OUT/unlink-open.txt" || return 1
	rm "$OUT/unlink-open.txt" || return 1
	eq "$(cat <&3)" "still here" "read after unlink"
	r=$?
	exec 3<&-
	return $r
}

t_hardlink_nlink_after_unlink() {
	rm "$OUT/link.b" || return 1
	eq "$(stat -c %h "$OUT/link.a")" "1" "nlink after unlink"
}

t_mkdir_rmdir() {
	mkdir "$OUT/dir1" || return 1
	mkdir -p "$OUT/dir1/a/b/c" || return 1
	rmdir "$OUT/dir1/a/b/c" "$OUT/dir1/a/b" "$OUT/dir1/a" "$OUT/dir1" || return 1
	[ ! -e "$OUT/dir1" ] || { echo "dir still exists"; return 1; }
}

t_err_rmdir_notempty() {
	mkdir "$OUT/full" || return 1
	: >"$OUT/full/f" || return 1
	expect_err "Directory not empty" rmdir "$OUT/full" || return 1
	[ -e "$OUT/full/f" ] || { echo "content lost"; return 1; }
}

t_err_open_missing() {
	expect_err "No such file" cat "$M/does-not-exist" || return 1
	expect_err "No such file" cat "$M/no-dir/no-file"
}

t_err_mkdir_exists() {
	expect_err "File exists" mkdir "$OUT"
}

t_err_rmdir_file() {
	expect_err "Not a directory" rmdir "$OUT/hello.txt"
}

t_err_unlink_dir() {
	# unlink(1) calls unlink(2) directly; rm(1) would check for itself.
	expect_err "Is a directory" unlink "$OUT/full"
}

t_err_create_in_file() {
	expect_err "Not a directory" touch "$OUT/hello.txt/x"
}

t_err_link_exists() {
	expect_err "File exists" ln "$OUT/hello.txt" "$OUT/append.txt"
}

t_dotdot_stays_inside() {
	# ".." of the mount root is the guest's /, never the host's parent dir.
	eq "$(ls -d "$M/.." )" "$M/.." "ls" || return 1
	[ ! -e "$M/../input" ] || { echo "escaped: $M/../input exists"; return 1; }
}

t_untar() {
	mkdir "$OUT/untar" || return 1
	cd "$OUT/untar" || return 1
	tar xf "$IN/tree.tar" || return 1
	md5sum -c "$IN/tree.md5" >/tmp/md5.log 2>&1 || {
		grep -v ': OK$' /tmp/md5.log | head -n 5
		return 1
	}
}

t_untar_verify_uncached() {
	drop_caches
	cd "$OUT/untar" || return 1
	md5sum -c "$IN/tree.md5" >/tmp/md5.log 2>&1 || {
		grep -v ': OK$' /tmp/md5.log | head -n 5
		return 1
	}
	eq "$(find . -type f | wc -l | tr -d ' ')" "$(wc -l <"$IN/tree.md5" | tr -d ' ')" \
		"file count"
}

t_rm_tree() {
	mkdir "$OUT/rmtree" || return 1
	cp -a "$OUT/untar/tree/empty" "$OUT/untar/tree/deep" "$OUT/untar/tree/links" \
		"$OUT/rmtree/" || return 1
	eq "$(find "$OUT/rmtree" | wc -l | tr -d ' ')" "83" "copied entries" || return 1
	rm -rf "$OUT/rmtree" || return 1
	[ ! -e "$OUT/rmtree" ] || { echo "tree still exists"; return 1; }
}

t_fsync() {
	echo "synced" >"$OUT/fsync.txt" || return 1
	sync "$OUT/fsync.txt" 2>/dev/null || sync
}

# The system calls busybox cannot make are in /bin/guest-probe.
probe() {
	[ -x /bin/guest-probe ] || { echo "/bin/guest-probe missing from the initramfs"; return 1; }
	/bin/guest-probe "$@"
}

t_xattr() {
	: >"$OUT/xattr.txt" || return 1
	probe xattr "$OUT/xattr.txt" || return $?
	# Set by the host before the boot.
	eq "$(probe getxattr "$IN/hello.txt" user.e2e.host)" "from-host" "host's xattr"
}

t_acl() {
	# Unprivileged users (uid 1000, 1001) must reach the files.
	chmod 0755 / "$M" "$OUT" || return 1
	mkdir "$OUT/acl" || return 1
	probe acl "$OUT/acl"
}

t_tmpfile() {
	probe tmpfile "$OUT"
}

t_posix_lock() {
	probe posix-lock "$OUT/posix.lock"
}

t_flock() {
	probe flock "$OUT/flock.lock"
}

t_locks_reach_host() {
	# Without lock support in the back-end the guest kernel would keep the
	# locks to itself and never see the host's.
	probe remote-locks "$IN/locks/posix" "$IN/locks/flock"
}

t_readonly() {
	if [ -z "${E2E_ROTAG:-}" ]; then
		if [ "${E2E_BACKEND:-vfsd}" != vfsd ]; then
			echo "DIFF $E2E_BACKEND has no read-only option: no read-only share"
			return 3
		fi
		echo "no read-only share (e2e.rotag) on the kernel command line"
		return 1
	fi
	mkdir -p /ro || return 1
	mount -t virtiofs "$E2E_ROTAG" /ro || return 1
	eq "$(ls /ro | tr '\n' ' ')" "file.txt sub " "readdir" || { umount /ro; return 1; }
	probe readonly /ro
	r=$?
	umount /ro || { echo "umount /ro failed"; return 1; }
	return $r
}

t_done_marker() {
	echo "guest-ok" >"$OUT/done" && sync
}

t_umount() {
	cd /
	umount "$M" || return 1
	! grep -q " $M virtiofs " /proc/mounts || { echo "still mounted"; return 1; }
}

echo "E2E START (booted in $(now)s)"
run mount t_mount
if ! grep -q " $M virtiofs " /proc/mounts; then
	dmesg | tail -n 20
	echo "E2E DONE"
	exit 1
fi
run statfs t_statfs
run getattr_root t_getattr_root
run read_small t_read_small
run read_big t_read_big
run read_big_uncached t_read_big_uncached
run mkdir_out t_mkdir_out
run create_write t_create_write
run append t_append
run write_big t_write_big
run write_seq t_write_seq
run pwrite_middle t_pwrite_middle
run rename t_rename
run rename_overwrite t_rename_overwrite
run rename_dir t_rename_dir
run hardlink t_hardlink
run symlink t_symlink
run chmod t_chmod
run utimes t_utimes
run truncate t_truncate
run mknod_fifo t_mknod_fifo
run chown t_chown
run fallocate t_fallocate
run odirect_read t_odirect_read
run parallel_io t_parallel_io
run exec_from_share t_exec_from_share
run name_max t_name_max
run readdir_long_names t_readdir_long_names
run readdir_host t_readdir_host
run readdir_guest t_readdir_guest
run unlink t_unlink
run unlink_open t_unlink_open
run hardlink_nlink_after_unlink t_hardlink_nlink_after_unlink
run mkdir_rmdir t_mkdir_rmdir
run err_rmdir_notempty t_err_rmdir_notempty
run err_open_missing t_err_open_missing
run err_mkdir_exists t_err_mkdir_exists
run err_rmdir_file t_err_rmdir_file
run err_unlink_dir t_err_unlink_dir
run err_create_in_file t_err_create_in_file
run err_link_exists t_err_link_exists
run dotdot_stays_inside t_dotdot_stays_inside
run untar t_untar
run untar_verify_uncached t_untar_verify_uncached
run rm_tree t_rm_tree
run fsync t_fsync
run xattr t_xattr
run acl t_acl
run tmpfile t_tmpfile
run posix_lock t_posix_lock
run flock t_flock
run locks_reach_host t_locks_reach_host
run readonly t_readonly
run done_marker t_done_marker
run umount t_umount
echo "E2E DONE"
