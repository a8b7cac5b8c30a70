// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandbox, in stages.  Each stage says what it must do and what it must
 * not do; they run in this order, once, on the only thread of the process.
 *
 * 0. User namespace (--uid-map/--gid-map; sandbox_userns_enter(), called
 *    by main() before the shared directory is opened, so that the
 *    passthrough layer sees the namespace's ids).  Must fork the helper
 *    that writes the maps *before* unshare(CLONE_NEWUSER): the maps of a
 *    namespace are written from its parent namespace, and newuidmap's
 *    setuid bit means nothing inside the new one.  The helper writes
 *    /proc/PID/{uid,gid}_map itself (root may write any map; anyone may map
 *    their own id, once setgroups is denied for gids) and falls back to
 *    newuidmap/newgidmap (package uidmap, /etc/subuid) when the kernel
 *    refuses.  Must not switch ids: vfsd is root of the namespace
 *    exactly when its own host id is mapped to 0, and then switches to the
 *    guest's ids per request like a root daemon (only mapped ids succeed).
 *
 * 1. Notification socket (main() calls notify_init() before this):
 *    connected to NOTIFY_SOCKET while its path is reachable -- it
 *    disappears with the new root, and an abstract name with the new
 *    network namespace.  READY=1 comes from main() once the whole sandbox
 *    is in place.
 *
 * 2. Namespaces (--sandbox=namespace).  Where permitted, a pid namespace
 *    first (supervisor_fork(), vfsd/supervisor.c): vfsd forks, the child
 *    goes on through the stages below and serves as the namespace's pid
 *    1, the parent stays outside as a supervisor that relays
 *    notifications and signals and exits as the child does.  Must come
 *    before the mount namespace: the /proc of stage 3 must be mounted by
 *    a process inside the pid namespace to show only it.  Then must
 *    unshare the mount namespace and, where permitted, the network
 *    namespace (vfsd needs no network: its listening socket is already
 *    open, AF_UNIX paths are not in a network namespace).  Where the
 *    kernel refuses a pid namespace (some containers), what it would
 *    hide is still denied: the capability set (no CAP_KILL, no
 *    CAP_SYS_PTRACE), the seccomp list (no kill, ptrace, process_vm_*;
 *    tgkill to ourselves only) and the /proc of stage 3.
 *
 * 3. Root (namespace mode).  Must make every mount private first (so that
 *    detaching the old root never propagates back to the host), then
 *    pivot_root into an empty read-only tmpfs that holds only /proc
 *    (hidepid=invisible,subset=pid: our own process only) (and
 *    /dev/log with --syslog).  The shared directory is not in it: the
 *    passthrough layer reaches it only through the O_PATH fds it opened
 *    before this stage, so no path the guest can influence is ever
 *    resolved against the host tree, and "/proc/self/fd/N" (used for
 *    xattrs of special files) is the kernel's, not a file of the share.
 *    (--sandbox=chroot, for containers that forbid namespaces: chroot into
 *    the shared directory, as virtiofsd does; /proc is then not reachable
 *    by path, see the man page.)  Must not keep a reference to the old
 *    root: the cwd moves into the new root.
 *
 * 4. Capabilities (root only).  Must shrink the bounding set first (that
 *    needs CAP_SETPCAP, which is dropped next), then the effective and
 *    permitted sets to what passthrough needs (sandbox_default_caps(),
 *    changed by --modcaps), clear inheritable and ambient.  Must not drop
 *    SETUID/SETGID: passthrough switches to the guest caller's ids.
 *
 * 5. no_new_privs.  Must be set (seccomp needs it without CAP_SYS_ADMIN,
 *    and nothing vfsd could ever exec may gain privileges).
 *
 * 6. seccomp (--seccomp).  Must be last: the stages above use calls the
 *    allowlist does not have (unshare, mount, pivot_root, capset).
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "seccomp/seccomp.h"
#include "supervisor.h"

#define ROOT_FS_OPTS "mode=0755,size=64k,nr_inodes=16"
#define NEWUIDMAP "/usr/bin/newuidmap"
#define NEWGIDMAP "/usr/bin/newgidmap"

/* Stage 0 put us in a user namespace: we hold capabilities there whatever
 * our uid, and they are dropped like root's. */
static bool in_userns;

static const char *const cap_names[] = {
	[CAP_CHOWN] = "chown", [CAP_DAC_OVERRIDE] = "dac_override",
	[CAP_DAC_READ_SEARCH] = "dac_read_search", [CAP_FOWNER] = "fowner",
	[CAP_FSETID] = "fsetid", [CAP_KILL] = "kill", [CAP_SETGID] = "setgid",
	[CAP_SETUID] = "setuid", [CAP_SETPCAP] = "setpcap",
	[CAP_LINUX_IMMUTABLE] = "linux_immutable",
	[CAP_NET_BIND_SERVICE] = "net_bind_service",
	[CAP_NET_BROADCAST] = "net_broadcast", [CAP_NET_ADMIN] = "net_admin",
	[CAP_NET_RAW] = "net_raw", [CAP_IPC_LOCK] = "ipc_lock",
	[CAP_IPC_OWNER] = "ipc_owner", [CAP_SYS_MODULE] = "sys_module",
	[CAP_SYS_RAWIO] = "sys_rawio", [CAP_SYS_CHROOT] = "sys_chroot",
	[CAP_SYS_PTRACE] = "sys_ptrace", [CAP_SYS_PACCT] = "sys_pacct",
	[CAP_SYS_ADMIN] = "sys_admin", [CAP_SYS_BOOT] = "sys_boot",
	[CAP_SYS_NICE] = "sys_nice", [CAP_SYS_RESOURCE] = "sys_resource",
	[CAP_SYS_TIME] = "sys_time", [CAP_SYS_TTY_CONFIG] = "sys_tty_config",
	[CAP_MKNOD] = "mknod", [CAP_LEASE] = "lease",
	[CAP_AUDIT_WRITE] = "audit_write", [CAP_AUDIT_CONTROL] = "audit_control",
	[CAP_SETFCAP] = "setfcap", [CAP_MAC_OVERRIDE] = "mac_override",
	[CAP_MAC_ADMIN] = "mac_admin", [CAP_SYSLOG] = "syslog",
	[CAP_WAKE_ALARM] = "wake_alarm", [CAP_BLOCK_SUSPEND] = "block_suspend",
	[CAP_AUDIT_READ] = "audit_read", [CAP_PERFMON] = "perfmon",
	[CAP_BPF] = "bpf", [CAP_CHECKPOINT_RESTORE] = "checkpoint_restore",
};
#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

uint64_t sandbox_default_caps(void)
{
	return 1ull << CAP_CHOWN | 1ull << CAP_DAC_OVERRIDE |
	       1ull << CAP_FOWNER | 1ull << CAP_FSETID | 1ull << CAP_SETGID |
	       1ull << CAP_SETUID | 1ull << CAP_MKNOD | 1ull << CAP_SETFCAP;
}

static int cap_by_name(const char *name)
{
	if (strncasecmp(name, "cap_", 4) == 0)
		name += 4;
	for (size_t i = 0; i < NCAPS; i++)
		if (cap_names[i] && strcasecmp(name, cap_names[i]) == 0)
			return (int)i;
	return -1;
}

int sandbox_parse_modcaps(const char *spec, uint64_t *add, uint64_t *drop)
{
	char item[40];
	const char *p = spec;

	*add = *drop = 0;
	while (*p) {
		size_t n = strcspn(p, ":,");
		int cap;

		if (n == 0 || n >= sizeof(item) || (p[0] != '+' && p[0] != '-'))
			goto bad;
		memcpy(item, p + 1, n - 1);
		item[n - 1] = '\0';
		cap = cap_by_name(item);
		if (cap < 0)
			goto bad;
		if (p[0] == '+') {
			*add |= 1ull << cap;
			*drop &= ~(1ull << cap);
		} else {
			*drop |= 1ull << cap;
			*add &= ~(1ull << cap);
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
bad:
	fprintf(stderr, "vfsd: error: invalid --modcaps '%s': expected +name or -name items separated by ':' (names as in capabilities(7))\n",
		spec);
	return -EINVAL;
}

/* ---- stage 0: user namespace ---- */

struct id_map_spec {
	const char *kind;           /* "uid" or "gid" */
	const char *option;         /* "--uid-map" */
	const char *tool;           /* newuidmap */
	const char *grants;         /* /etc/subuid: what the tool checks */
	unsigned long n;
	unsigned long v[CONFIG_MAX_ID_MAPS][3];   /* ns, host, count */
};

/* ":NS:HOST:COUNT:" items (syntax checked by config_parse); no item: our
 * own id becomes the namespace's 0. */
static int spec_from_config(struct id_map_spec *spec,
			    const struct config_id_maps *m, unsigned long own)
{
	spec->n = 0;
	if (!m->n) {
		spec->v[0][0] = 0;
		spec->v[0][1] = own;
		spec->v[0][2] = 1;
		spec->n = 1;
		return 0;
	}
	for (unsigned int i = 0; i < m->n; i++) {
		unsigned long *v = spec->v[spec->n++];

		if (sscanf(m->map[i], ":%lu:%lu:%lu", &v[0], &v[1], &v[2]) != 3 ||
		    v[0] > UINT32_MAX || v[1] > UINT32_MAX || v[2] == 0 ||
		    v[2] > UINT32_MAX) {
			log_error("%s '%s': ids and count must be 32-bit numbers, count at least 1",
				  spec->option, m->map[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One write: the kernel takes a map only whole. */
	n = write(fd, text, strlen(text));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(text))
		r = -EIO;
	close(fd);
	return r;
}

/* The tool's complaint, read to EOF (it must never block on a full pipe):
 * its first line goes into our one error line. */
static void read_why(int fd, char *why, size_t size)
{
	size_t len = 0;
	char buf[256];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (len + 1 < size) {
			size_t k = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;

			memcpy(why + len, buf, k);
			len += k;
		}
	}
	why[len] = '\0';
	why[strcspn(why, "\n")] = '\0';
}

/* newuidmap PID NS HOST COUNT...: checks /etc/subuid, then writes. */
static int run_tool(const struct id_map_spec *spec, pid_t pid, char *why,
		    size_t size)
{
	char num[1 + 3 * CONFIG_MAX_ID_MAPS][24];
	char *argv[2 + 3 * CONFIG_MAX_ID_MAPS + 1];
	unsigned int a = 0, k = 0;
	pid_t child;
	int status, err[2];

	argv[a++] = (char *)spec->tool;
	snprintf(num[k], sizeof(num[k]), "%d", (int)pid);
	argv[a++] = num[k++];
	for (unsigned long i = 0; i < spec->n; i++) {
		for (int j = 0; j < 3; j++) {
			snprintf(num[k], sizeof(num[k]), "%lu", spec->v[i][j]);
			argv[a++] = num[k++];
		}
	}
	argv[a] = NULL;
	if (pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		status = -errno;
		close(err[0]);
		close(err[1]);
		return status;
	}
	if (child == 0) {
		if (dup2(err[1], STDERR_FILENO) >= 0)
			execv(spec->tool, argv);
		_exit(127);
	}
	close(err[1]);
	read_why(err[0], why, size);
	close(err[0]);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

static int write_map(const struct id_map_spec *spec, pid_t pid)
{
	char text[CONFIG_MAX_ID_MAPS * 36] = "", items[CONFIG_MAX_ID_MAPS * 36] = "";
	char file[16], why[256] = "";
	bool tool = geteuid() != 0 && access(spec->tool, X_OK) == 0;
	size_t at = 0, it = 0;
	int r;

	for (unsigned long i = 0; i < spec->n; i++) {
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%lu %lu %lu\n",
				       spec->v[i][0], spec->v[i][1], spec->v[i][2]);
		it += (size_t)snprintf(items + it, sizeof(items) - it, " :%lu:%lu:%lu:",
				       spec->v[i][0], spec->v[i][1], spec->v[i][2]);
	}
	/* Without CAP_SETGID in our namespace the kernel takes a gid map
	 * only once setgroups(2) is denied (user_namespaces(7)); newgidmap
	 * needs it allowed. */
	if (!tool && geteuid() != 0 && strcmp(spec->kind, "gid") == 0)
		(void)write_proc(pid, "setgroups", "deny");
	snprintf(file, sizeof(file), "%s_map", spec->kind);
	r = write_proc(pid, file, text);
	if (r == -EPERM && tool) {
		r = run_tool(spec, pid, why, sizeof(why));
		if (r < 0)
			return log_error_errno(r, "sandbox: cannot set the user namespace's %s map (%s%s): %s refused it (%s) -- the host ids must be granted to uid %u in %s",
					       spec->kind, spec->option, items, spec->tool,
					       why[0] ? why : "no reason given",
					       (unsigned)geteuid(), spec->grants);
	}
	if (r < 0)
		log_error_errno(r, "sandbox: cannot set the user namespace's %s map (%s%s)%s",
				spec->kind, spec->option, items,
				r == -EPERM && geteuid() != 0 && !tool ?
				" -- as an unprivileged user only your own id can be mapped (count 1) without newuidmap/newgidmap (package uidmap)" : "");
	return r;
}

/* The helper, in the parent namespace: waits until vfsd unshared, writes
 * both maps, exits 0 or 1 (after one line). */
static void __attribute__((noreturn))
map_helper(pid_t pid, int wait_fd, const struct id_map_spec *uids,
	   const struct id_map_spec *gids)
{
	char c;

	if (read(wait_fd, &c, 1) != 1)
		_exit(0);	/* vfsd could not unshare; it says why */
	if (write_map(gids, pid) < 0 || write_map(uids, pid) < 0)
		_exit(1);
	_exit(0);
}

/*
 * main() drops the supplementary groups of whoever started us only as
 * host root; as root of the namespace we can, where setgroups(2) is
 * allowed (newgidmap with a /etc/subgid grant): guest callers must not act
 * with the starter's groups (CVE-2022-0358).  Raw syscall: we are the
 * only thread.  Where it is denied, nobody in the namespace can change
 * them: said once.
 */
static void drop_starters_groups(void)
{
	if (geteuid() != 0 || getgroups(0, NULL) <= 0)
		return;
	if (syscall(SYS_setgroups, 0, NULL) == 0)
		return;
	log_warn("sandbox: cannot drop the supplementary groups vfsd was started with (%m): setgroups is denied in the user namespace (no /etc/subgid grant); guest callers act with them");
}

int sandbox_userns_enter(const struct config *cfg)
{
	struct id_map_spec uids = { .kind = "uid", .option = "--uid-map",
				    .tool = NEWUIDMAP, .grants = "/etc/subuid" };
	struct id_map_spec gids = { .kind = "gid", .option = "--gid-map",
				    .tool = NEWGIDMAP, .grants = "/etc/subgid" };
	pid_t self = getpid(), helper;
	int pfd[2], status = -1, r;

	if (!cfg->uid_map.n && !cfg->gid_map.n)
		return 0;
	if (spec_from_config(&uids, &cfg->uid_map, geteuid()) < 0 ||
	    spec_from_config(&gids, &cfg->gid_map, getegid()) < 0)
		return -EINVAL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return log_error_errno(-errno, "sandbox: pipe for the user namespace helper");
	helper = fork();
	if (helper < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return log_error_errno(r, "sandbox: fork the user namespace helper");
	}
	if (helper == 0) {
		close(pfd[1]);
		map_helper(self, pfd[0], &uids, &gids);
	}
	close(pfd[0]);
	r = unshare(CLONE_NEWUSER) < 0 ? -errno : 0;
	if (r == 0 && write(pfd[1], "x", 1) != 1)
		r = -errno;
	close(pfd[1]);
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return log_error_errno(r, "sandbox: cannot create a user namespace for --uid-map/--gid-map");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EPERM;	/* the helper said why */
	in_userns = true;
	drop_starters_groups();
	if (geteuid() != 0)
		log_warn("sandbox: --uid-map does not map vfsd's own uid to 0: it cannot switch to the guest's ids, files are created as its own");
	return 0;
}

/* ---- stage 2 and 3: namespaces and the new root ---- */

static int mount_or_log(const char *src, const char *target, const char *type,
			unsigned long flags, const char *data)
{
	if (mount(src, target, type, flags, data) < 0)
		return log_error_errno(-errno, "sandbox: mount %s on '%s'",
				       type ? type : src ? src : "(remount)", target);
	return 0;
}

/* /dev/log inside the new root, for --syslog (glibc connects lazily). */
static int bind_dev_log(const char *root)
{
	char dev[4096], log_path[4096];
	struct stat st;
	int fd;

	if (stat("/dev/log", &st) < 0)
		return 0;	/* no syslog daemon: nothing to keep */
	snprintf(dev, sizeof(dev), "%s/dev", root);
	snprintf(log_path, sizeof(log_path), "%s/dev/log", root);
	if (mkdir(dev, 0755) < 0)
		return log_error_errno(-errno, "sandbox: mkdir '%s'", dev);
	fd = open(log_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0)
		return log_error_errno(-errno, "sandbox: create '%s'", log_path);
	close(fd);
	return mount_or_log("/dev/log", log_path, NULL, MS_BIND, NULL);
}

/* Build the new root on top of `at` (any directory of the old tree; only
 * this mount namespace sees it), then pivot into it. */
static int new_root(const char *at, bool with_syslog)
{
	char proc[4096];
	int r;

	r = mount_or_log(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (r == 0)
		r = mount_or_log("vfsd-root", at, "tmpfs",
				 MS_NOSUID | MS_NODEV | MS_NOEXEC, ROOT_FS_OPTS);
	if (r < 0)
		return r;
	snprintf(proc, sizeof(proc), "%s/proc", at);
	if (mkdir(proc, 0555) < 0)
		return log_error_errno(-errno, "sandbox: mkdir '%s'", proc);
	/* A fresh procfs of our pid namespace; a bind of the old one where
	 * the kernel refuses that (some containers).  Without a pid namespace
	 * of our own it would list the host's processes: hidepid=invisible
	 * hides every process we may not ptrace (all but ourselves: no
	 * CAP_SYS_PTRACE), subset=pid everything but the process directories
	 * (Linux 5.8+; plain procfs before). */
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "hidepid=invisible,subset=pid") < 0 &&
	    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		r = mount_or_log("/proc", proc, NULL, MS_BIND | MS_REC, NULL);
		if (r < 0)
			return r;
	}
	if (with_syslog) {
		r = bind_dev_log(at);
		if (r < 0)
			return r;
	}
	if (chdir(at) < 0)
		return log_error_errno(-errno, "sandbox: chdir '%s'", at);
	/* pivot_root(".", "."): the old root ends up stacked on the new one,
	 * and is detached right away (pivot_root(2)). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return log_error_errno(-errno, "sandbox: pivot_root into a new root on '%s'", at);
	if (umount2(".", MNT_DETACH) < 0)
		return log_error_errno(-errno, "sandbox: detach the old root");
	if (chdir("/") < 0)
		return log_error_errno(-errno, "sandbox: chdir /");
	return mount_or_log(NULL, "/", NULL,
			    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
			    MS_NODEV | MS_NOEXEC, NULL);
}

static int enter_namespaces(const struct config *cfg, bool *netns, bool *pidns)
{
	int r;

	/* The supervisor does not come back from here. */
	r = supervisor_fork(cfg);
	if (r < 0)
		return r;
	*pidns = r == 1;
	if (unshare(CLONE_NEWNS) < 0) {
		r = -errno;
		/* EPERM: the caller decides, fall back or fail.  Anything
		 * else (ENOSPC: a namespace quota) is said here, once. */
		if (r != -EPERM)
			log_error_errno(r, "sandbox: cannot create a mount namespace%s",
					r == -ENOSPC ? " (the limit in /proc/sys/user/max_mnt_namespaces is reached)" : "");
		return r;
	}
	/* Not fatal: some container runtimes refuse it, and vfsd has no
	 * network to hide. */
	*netns = unshare(CLONE_NEWNET) == 0;
	return new_root(cfg->shared_dir, cfg->syslog);
}

static int enter_chroot(const struct config *cfg)
{
	if (chroot(cfg->shared_dir) < 0)
		return -errno;
	if (chdir("/") < 0)
		return log_error_errno(-errno, "sandbox: chdir / after chroot");
	return 0;
}

/* ---- stage 4 and 5: capabilities, no_new_privs ---- */

int sandbox_drop_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };

	for (int cap = 0; cap < 64; cap++) {
		int have = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (have < 0)
			break;	/* past the kernel's last capability */
		if (have && !(keep & (1ull << cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return log_error_errno(-errno, "sandbox: drop capability %d from the bounding set",
					       cap);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return log_error_errno(-errno, "sandbox: clear ambient capabilities");
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return log_error_errno(-errno, "sandbox: set capabilities");
	return 0;
}

static void caps_text(uint64_t caps, char *buf, size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NCAPS && at < size; i++)
		if (caps & (1ull << i) && cap_names[i])
			at += (size_t)snprintf(buf + at, size - at, "%s%s",
					       at ? "," : "", cap_names[i]);
	if (!buf[0])
		snprintf(buf, size, "none");
}

/* ---- the whole ---- */

static const char *mode_name(enum sandbox_mode m, bool netns, bool pidns)
{
	static char name[64];

	switch (m) {
	case SANDBOX_NAMESPACE:
		snprintf(name, sizeof(name), "namespace (%smount%s%s)",
			 in_userns ? "user, " : "", netns ? ", network" : "",
			 pidns ? ", pid" : "");
		return name;
	case SANDBOX_CHROOT:
		return "chroot";
	default:
		return "none";
	}
}

/* Stages 2-3.  Returns the mode actually in place, or -errno after logging
 * one line. */
static int enter_mode(const struct config *cfg, bool *netns, bool *pidns)
{
	enum sandbox_mode mode = cfg->sandbox;
	int r;

	if (mode == SANDBOX_AUTO && geteuid() != 0 && !in_userns) {
		log_warn("not running as root: no sandbox (namespaces need CAP_SYS_ADMIN); give --sandbox=none to silence this");
		return SANDBOX_NONE;
	}
	if (mode == SANDBOX_AUTO || mode == SANDBOX_NAMESPACE) {
		r = enter_namespaces(cfg, netns, pidns);
		if (r == 0)
			return SANDBOX_NAMESPACE;
		if (mode == SANDBOX_NAMESPACE || r != -EPERM) {
			/* Other errors were said where they happened. */
			if (r == -EPERM)
				log_error_errno(r, "sandbox: cannot create a mount namespace (give --sandbox=chroot or --sandbox=none where namespaces are not allowed)");
			return r;
		}
		log_warn("sandbox: namespaces not permitted here, falling back to --sandbox=chroot");
		mode = SANDBOX_CHROOT;
	}
	if (mode == SANDBOX_CHROOT) {
		r = enter_chroot(cfg);
		if (r == 0)
			return SANDBOX_CHROOT;
		if (cfg->sandbox == SANDBOX_CHROOT || r != -EPERM)
			return log_error_errno(r, "sandbox: chroot into '%s'",
					       cfg->shared_dir);
		log_warn("sandbox: chroot not permitted here: running without a sandbox");
	}
	return SANDBOX_NONE;
}

int sandbox_enter(const struct config *cfg)
{
	uint64_t keep = sandbox_default_caps(), add = 0, drop = 0;
	char caps[512];
	bool netns = false, pidns = false;
	int mode, r;

	if (cfg->modcaps && sandbox_parse_modcaps(cfg->modcaps, &add, &drop) < 0)
		return -EINVAL;
	/* open_by_handle_at needs it (--inode-file-handles). */
	if (cfg->inode_file_handles != INODE_FH_NEVER)
		keep |= 1ull << CAP_DAC_READ_SEARCH;
	keep = (keep | add) & ~drop;

	mode = enter_mode(cfg, &netns, &pidns);
	if (mode < 0)
		return mode;
	if (geteuid() == 0 || in_userns) {
		r = sandbox_drop_caps(keep);
		if (r < 0)
			return r;
		caps_text(keep, caps, sizeof(caps));
		/* They count only for what the namespace owns. */
		if (in_userns && strlen(caps) + 24 < sizeof(caps))
			strcat(caps, " (in the user namespace)");
	} else {
		snprintf(caps, sizeof(caps), "none (not root)");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(-errno, "sandbox: set no_new_privs");
	r = filter_install(cfg->seccomp);
	if (r < 0)
		return log_error_errno(r, "sandbox: cannot load the seccomp filter");
	log_info("sandbox: %s; capabilities: %s; seccomp: %s",
		 mode_name(mode, netns, pidns), caps, filter_action_name(cfg->seccomp));
	return 0;
}
