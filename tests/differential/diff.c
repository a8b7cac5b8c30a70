// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The differential harness: fixtures that start the real daemon with
 * --mount, and comparison helpers.  See diff.h.
 */
#include "diff.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

struct diff D;

#define MOUNT_TIMEOUT_MS 10000
#define EXIT_TIMEOUT_MS 10000

void diff_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void must(int ret, const char *what)
{
	if (ret < 0)
		cr_assert_fail("setup: %s: %s", what, strerror(errno));
}

static void write_file(int dir, const char *name, const void *buf,
		       size_t len, mode_t mode)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	must(fd, name);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	must(fchmod(fd, mode), "fchmod");
	close(fd);
}

/* The starting tree, made identically on both sides (directly on the host:
 * the copy the daemon serves). */
static void seed(const char *root)
{
	char buf[10000];
	int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd;

	must(dir, root);
	diff_pattern(buf, sizeof(buf), 1);
	write_file(dir, "a", buf, sizeof(buf), 0644);
	fd = openat(dir, "sparse", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	must(fd, "sparse");
	must(ftruncate(fd, 1 << 20), "ftruncate");
	cr_assert_eq(pwrite(fd, buf, 4096, 0), 4096);
	cr_assert_eq(pwrite(fd, buf, 4096, 512 << 10), 4096);
	close(fd);
	must(mkdirat(dir, "d", 0755), "mkdir d");
	must(mkdirat(dir, "d/e", 0755), "mkdir d/e");
	write_file(dir, "d/x", "hello\n", 6, 0644);
	must(symlinkat("a", dir, "lnk"), "symlink");
	must(symlinkat("nowhere", dir, "dangle"), "symlink");
	write_file(dir, "ro", "read only\n", 10, 0444);
	write_file(dir, "suid", "#!/bin/sh\n", 10, 06755);
	must(fchownat(dir, "suid", 0, 1000, 0), "chown");
	must(fchmodat(dir, "suid", 06775, 0), "chmod");
	write_file(dir, "other", "not root's\n", 11, 0644);
	must(fchownat(dir, "other", 1000, 1000, 0), "chown");
	must(mkdirat(dir, "pub", 0777), "mkdir pub");
	must(fchmodat(dir, "pub", 0777, 0), "chmod pub");
	must(mkdirat(dir, "sticky", 0777), "mkdir sticky");
	must(fchmodat(dir, "sticky", 01777, 0), "chmod sticky");
	close(dir);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_mounted(const char *mnt, dev_t parent_dev)
{
	struct stat st;

	return stat(mnt, &st) == 0 && st.st_dev != parent_dev;
}

static void start_vfsd(const char *const *extra)
{
	const char *vfsd = getenv("VFSD");
	char shared_opt[4200], mount_opt[4200];
	const char *argv[32];
	unsigned int n = 0;
	struct stat parent;
	long deadline;
	int status;

	cr_assert(vfsd, "VFSD is not set: run through meson test");
	snprintf(shared_opt, sizeof(shared_opt), "--shared-dir=%s", D.shared);
	snprintf(mount_opt, sizeof(mount_opt), "--mount=%s", D.mnt);
	argv[n++] = vfsd;
	argv[n++] = shared_opt;
	argv[n++] = mount_opt;
	argv[n++] = "--log-level=warn";
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;

	must(stat(D.tmp, &parent), "stat tmp");
	D.vfsd = fork();
	must(D.vfsd, "fork");
	if (D.vfsd == 0) {
		/* The daemon unmounts when the test process dies. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(vfsd, (char *const *)argv);
		_exit(127);
	}
	deadline = now_ms() + MOUNT_TIMEOUT_MS;
	while (!is_mounted(D.mnt, parent.st_dev)) {
		if (waitpid(D.vfsd, &status, WNOHANG) == D.vfsd) {
			D.vfsd = 0;
			cr_assert_fail("vfsd exited before mounting (status 0x%x)",
				       status);
		}
		cr_assert(now_ms() < deadline, "vfsd did not mount in time");
		usleep(2000);
	}
}

static void side_init(struct side *s, const char *name, const char *root)
{
	s->name = name;
	snprintf(s->root, sizeof(s->root), "%s", root);
	s->dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	must(s->dir, root);
	for (int k = 0; k < DIFF_FDS; k++)
		s->fd[k] = -1;
}

void diff_setup_opts(const char *const *extra)
{
	static const char *const never[] = { "--cache=never", NULL };
	char native[4200];

	memset(&D, 0, sizeof(D));
	umask(022);
	snprintf(D.tmp, sizeof(D.tmp), "/tmp/vfsd-diff.XXXXXX");
	cr_assert(mkdtemp(D.tmp), "mkdtemp: %s", strerror(errno));
	must(chmod(D.tmp, 0755), "chmod tmp");
	snprintf(native, sizeof(native), "%s/native", D.tmp);
	snprintf(D.shared, sizeof(D.shared), "%s/shared", D.tmp);
	snprintf(D.mnt, sizeof(D.mnt), "%s/mnt", D.tmp);
	must(mkdir(native, 0755), native);
	must(mkdir(D.shared, 0755), D.shared);
	must(mkdir(D.mnt, 0755), D.mnt);
	seed(native);
	seed(D.shared);
	start_vfsd(extra ? extra : never);
	side_init(&D.s[0], "native", native);
	side_init(&D.s[1], "vfsd", D.mnt);
}

void diff_setup(void)
{
	diff_setup_opts(NULL);
}

void diff_setup_xattr(void)
{
	static const char *const opts[] = { "--cache=never", "--xattr", NULL };

	diff_setup_opts(opts);
}

void diff_setup_readonly(void)
{
	static const char *const opts[] = { "--cache=never", "--readonly", NULL };

	diff_setup_opts(opts);
}

static int rm_one(const char *path, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st; (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

void diff_teardown(void)
{
	int status = 0;
	long deadline;
	bool exited = false;

	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < DIFF_FDS; k++)
			if (D.s[i].fd[k] >= 0)
				close(D.s[i].fd[k]);
		if (D.s[i].dir > 0)
			close(D.s[i].dir);
	}
	if (D.vfsd > 0) {
		kill(D.vfsd, SIGTERM);
		deadline = now_ms() + EXIT_TIMEOUT_MS;
		while (now_ms() < deadline) {
			if (waitpid(D.vfsd, &status, WNOHANG) == D.vfsd) {
				exited = true;
				break;
			}
			usleep(2000);
		}
		if (!exited) {
			kill(D.vfsd, SIGKILL);
			waitpid(D.vfsd, &status, 0);
		}
		umount2(D.mnt, MNT_DETACH);	/* no-op when vfsd did it */
	}
	if (D.tmp[0])
		nftw(D.tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	/* Summed by whoever wants the suite's count (grep "compared"). */
	fprintf(stderr, "diff: %lu results compared\n", D.ops);
	if (D.vfsd > 0) {
		cr_expect(exited, "vfsd did not exit on SIGTERM");
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "vfsd exit status 0x%x", status);
	}
}

/* ---- comparisons ------------------------------------------------------ */

void diff_cmp(const char *what, const char *file, int line,
	      const long r[2], const int e[2], bool sign_only)
{
	bool same = sign_only ? ((r[0] < 0) == (r[1] < 0)) : r[0] == r[1];

	D.ops++;
	if (!same || e[0] != e[1])
		cr_assert_fail("%s:%d: %s\n  native: %ld (%s)\n  vfsd:   %ld (%s)",
			       file, line, what, r[0], e[0] ? strerror(e[0]) : "ok",
			       r[1], e[1] ? strerror(e[1]) : "ok");
}

void diff_close(int k)
{
	BOTH(close(S->fd[k]));
	D.s[0].fd[k] = D.s[1].fd[k] = -1;
}

void diff_pread(int k, off_t off, size_t len)
{
	char *b[2];
	long r[2];
	int e[2];

	for (int i = 0; i < 2; i++) {
		b[i] = malloc(len ? len : 1);
		cr_assert(b[i]);
		errno = 0;
		r[i] = pread(D.s[i].fd[k], b[i], len, off);
		e[i] = r[i] < 0 ? errno : 0;
	}
	diff_cmp("pread", __FILE__, __LINE__, r, e, false);
	if (r[0] > 0)
		cr_assert(memcmp(b[0], b[1], (size_t)r[0]) == 0,
			  "pread(%d, %lld, %zu): data differs", k,
			  (long long)off, len);
	free(b[0]);
	free(b[1]);
}

static void cmp_stat(const char *path, const struct stat *a,
		     const struct stat *b)
{
	cr_assert_eq(a->st_mode, b->st_mode, "%s: mode 0%o vs 0%o", path,
		     a->st_mode, b->st_mode);
	cr_assert_eq(a->st_uid, b->st_uid, "%s: uid %u vs %u", path,
		     a->st_uid, b->st_uid);
	cr_assert_eq(a->st_gid, b->st_gid, "%s: gid %u vs %u", path,
		     a->st_gid, b->st_gid);
	cr_assert_eq(a->st_nlink, b->st_nlink, "%s: nlink %lu vs %lu", path,
		     (unsigned long)a->st_nlink, (unsigned long)b->st_nlink);
	cr_assert_eq(a->st_rdev, b->st_rdev, "%s: rdev", path);
	if (!S_ISDIR(a->st_mode)) {
		cr_assert_eq(a->st_size, b->st_size, "%s: size %lld vs %lld",
			     path, (long long)a->st_size, (long long)b->st_size);
		cr_assert_eq(a->st_blocks, b->st_blocks,
			     "%s: blocks %lld vs %lld", path,
			     (long long)a->st_blocks, (long long)b->st_blocks);
	}
}

void diff_stat(const char *path, int flags)
{
	struct stat st[2];
	long r[2];
	int e[2];

	for (int i = 0; i < 2; i++) {
		errno = 0;
		r[i] = fstatat(D.s[i].dir, path, &st[i], flags);
		e[i] = r[i] < 0 ? errno : 0;
	}
	diff_cmp(path, __FILE__, __LINE__, r, e, false);
	if (r[0] == 0)
		cmp_stat(path, &st[0], &st[1]);
}

void diff_fstat(int k)
{
	struct stat st[2];
	long r[2];
	int e[2];

	for (int i = 0; i < 2; i++) {
		errno = 0;
		r[i] = fstat(D.s[i].fd[k], &st[i]);
		e[i] = r[i] < 0 ? errno : 0;
	}
	diff_cmp("fstat", __FILE__, __LINE__, r, e, false);
	if (r[0] == 0)
		cmp_stat("fstat", &st[0], &st[1]);
}

struct listing {
	char **names;
	unsigned char *types;
	size_t n;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(int parent, const char *path, struct listing *l)
{
	int fd = openat(parent, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	memset(l, 0, sizeof(*l));
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	cr_assert(dir);
	while ((de = readdir(dir))) {
		l->names = realloc(l->names, (l->n + 1) * sizeof(char *));
		cr_assert(l->names);
		/* d_type goes in the first byte, the name after it. */
		l->names[l->n] = malloc(strlen(de->d_name) + 2);
		l->names[l->n][0] = (char)de->d_type;
		strcpy(l->names[l->n] + 1, de->d_name);
		l->n++;
	}
	closedir(dir);
	qsort(l->names, l->n, sizeof(char *), cmp_names);
	return 0;
}

static void free_listing(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
}

static void cmp_listing(const char *path, struct listing *l)
{
	cr_assert_eq(l[0].n, l[1].n, "%s: %zu entries vs %zu", path, l[0].n,
		     l[1].n);
	for (size_t i = 0; i < l[0].n; i++) {
		cr_assert_str_eq(l[0].names[i] + 1, l[1].names[i] + 1,
				 "%s: listings differ", path);
		cr_assert_eq(l[0].names[i][0], l[1].names[i][0],
			     "%s/%s: d_type %d vs %d", path,
			     l[0].names[i] + 1, l[0].names[i][0],
			     l[1].names[i][0]);
	}
}

void diff_listdir(const char *path)
{
	struct listing l[2];
	long r[2];
	int e[2];

	for (int i = 0; i < 2; i++) {
		r[i] = list_dir(D.s[i].dir, path, &l[i]);
		e[i] = r[i] < 0 ? (int)-r[i] : 0;
	}
	diff_cmp(path, __FILE__, __LINE__, r, e, false);
	cmp_listing(path, l);
	free_listing(&l[0]);
	free_listing(&l[1]);
}

static void *slurp(int dir, const char *path, size_t *len)
{
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	cr_assert(buf);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
	}
	cr_assert(r == 0, "read %s: %s", path, strerror(errno));
	close(fd);
	*len = n;
	return buf;
}

void diff_read_file(const char *path)
{
	size_t len[2];
	void *b[2];

	b[0] = slurp(D.s[0].dir, path, &len[0]);
	b[1] = slurp(D.s[1].dir, path, &len[1]);
	D.ops++;
	cr_assert_eq(len[0], len[1], "%s: %zu bytes vs %zu", path, len[0],
		     len[1]);
	cr_assert(memcmp(b[0], b[1], len[0]) == 0, "%s: contents differ", path);
	free(b[0]);
	free(b[1]);
}

static void tree_at(const char *path)
{
	struct listing l[2];
	struct stat st[2];
	char child[4096];

	diff_stat(path, AT_SYMLINK_NOFOLLOW);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(list_dir(D.s[i].dir, path, &l[i]), 0, "%s", path);
	cmp_listing(path, l);
	for (size_t j = 0; j < l[0].n; j++) {
		const char *name = l[0].names[j] + 1;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, name);
		diff_stat(child, AT_SYMLINK_NOFOLLOW);
		cr_assert_eq(fstatat(D.s[0].dir, child, &st[0],
				     AT_SYMLINK_NOFOLLOW), 0);
		if (S_ISDIR(st[0].st_mode)) {
			tree_at(child);
		} else if (S_ISREG(st[0].st_mode)) {
			diff_read_file(child);
		} else if (S_ISLNK(st[0].st_mode)) {
			char t[2][4096];
			ssize_t n[2];

			for (int i = 0; i < 2; i++)
				n[i] = readlinkat(D.s[i].dir, child, t[i],
						  sizeof(t[i]));
			cr_assert(n[0] >= 0 && n[0] == n[1] &&
				  !memcmp(t[0], t[1], (size_t)n[0]),
				  "%s: symlink targets differ", child);
		}
	}
	(void)st[1];
	free_listing(&l[0]);
	free_listing(&l[1]);
}

void diff_tree(void)
{
	tree_at(".");
}

void diff_xattrs(const char *path)
{
	char list[2][4096], val[2][4096], full[2][4200];
	ssize_t n[2], v[2];

	for (int i = 0; i < 2; i++) {
		snprintf(full[i], sizeof(full[i]), "%s/%s", D.s[i].root, path);
		n[i] = llistxattr(full[i], list[i], sizeof(list[i]));
	}
	D.ops++;
	cr_assert_eq(n[0], n[1], "%s: xattr lists differ in size", path);
	if (n[0] <= 0)
		return;
	/* The native list order is the vfsd list order: same filesystem. */
	cr_assert(memcmp(list[0], list[1], (size_t)n[0]) == 0,
		  "%s: xattr names differ", path);
	for (char *name = list[0]; name < list[0] + n[0];
	     name += strlen(name) + 1) {
		for (int i = 0; i < 2; i++)
			v[i] = lgetxattr(full[i], name, val[i], sizeof(val[i]));
		cr_assert(v[0] == v[1] && (v[0] <= 0 ||
			  !memcmp(val[0], val[1], (size_t)v[0])),
			  "%s: xattr %s differs", path, name);
	}
}

int diff_in_child(void (*child)(int out, void *arg), void *arg, void *res,
		  size_t len, const char *what)
{
	int pipefd[2], status = -1;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		child(pipefd[1], arg);
		_exit(1);
	}
	close(pipefd[1]);
	/* Bounded: criterion's suite timeout ends a hung child's test. */
	cr_assert_eq(read(pipefd[0], res, len), (ssize_t)len,
		     "%s: the child failed", what);
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

struct as_user {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	long (*fn)(struct side *s, void *arg);
	void *arg;
};

/* In the child: take the credentials, run fn on both sides, send
 * {result, errno} of each. */
static void as_user_child(int out, void *arg)
{
	const struct as_user *u = arg;
	long res[4];

	if (setgroups(u->ngroups, u->groups) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		_exit(1);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		res[2 * i] = u->fn(&D.s[i], u->arg);
		res[2 * i + 1] = res[2 * i] < 0 ? errno : 0;
	}
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(1);
	_exit(0);
}

void diff_as_user_groups(uid_t uid, gid_t gid, const gid_t *groups,
			 size_t ngroups,
			 long (*fn)(struct side *s, void *arg), void *arg,
			 const char *what)
{
	struct as_user u = { uid, gid, groups, ngroups, fn, arg };
	long res[4];

	diff_in_child(as_user_child, &u, res, sizeof(res), what);

	long r[2] = { res[0], res[2] };
	int e[2] = { (int)res[1], (int)res[3] };

	diff_cmp(what, __FILE__, __LINE__, r, e, false);
}

void diff_as_user(uid_t uid, gid_t gid, long (*fn)(struct side *s, void *arg),
		  void *arg, const char *what)
{
	diff_as_user_groups(uid, gid, NULL, 0, fn, arg, what);
}

long diff_write_byte(struct side *s, void *arg)
{
	int fd = openat(s->dir, arg, O_WRONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -1;
	r = write(fd, "x", 1);
	close(fd);
	return r;
}

void diff_on_host(int (*fn)(int dir, const char *a, const char *b),
		  const char *a, const char *b)
{
	int dir = open(D.shared, O_PATH | O_DIRECTORY | O_CLOEXEC);

	cr_assert_geq(dir, 0);
	cr_assert_eq(fn(D.s[0].dir, a, b), 0, "native %s: %s", a,
		     strerror(errno));
	cr_assert_eq(fn(dir, a, b), 0, "shared %s: %s", a, strerror(errno));
	close(dir);
}

int diff_host_unlink(int dir, const char *a, const char *b)
{
	(void)b;
	return unlinkat(dir, a, 0);
}

int diff_host_replace(int dir, const char *a, const char *b)
{
	int fd = openat(dir, "replacement", O_WRONLY | O_CREAT | O_EXCL |
			O_CLOEXEC, 0600);

	(void)b;
	if (fd < 0 || write(fd, "new\n", 4) != 4)
		return -1;
	close(fd);
	return renameat(dir, "replacement", dir, a);
}
