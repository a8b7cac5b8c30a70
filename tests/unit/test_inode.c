// SPDX-License-Identifier: GPL-2.0-or-later
/* The node id table (inode.c) and the open-file table (handle.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfsd/fs.h"
#include "vfsd/handle.h"
#include "vfsd/inode.h"

static struct inode_table *it;

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int some_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	return fd;
}

static struct inode_key key(uint64_t ino)
{
	return (struct inode_key){ .dev = 7, .ino = ino, .mnt_id = 3 };
}

static void it_setup(void)
{
	struct inode_key root = key(1);

	cr_assert_eq(inode_table_new(&it, 100000), 0);
	cr_assert_eq(inode_table_set_root(it, some_fd(), &root, S_IFDIR), 0);
}

static void it_teardown(void)
{
	inode_table_free(it);
}

TestSuite(inode, .init = it_setup, .fini = it_teardown);

static uint64_t add(uint64_t ino, int fd)
{
	struct inode_key k = key(ino);
	struct inode *n;

	cr_assert_eq(inode_lookup_or_add(it, &k, S_IFREG, fd, &n), 0);
	uint64_t id = n->id;

	inode_put(it, n);
	return id;
}

Test(inode, same_key_same_id_counted)
{
	int fd1 = some_fd(), fd2 = some_fd();
	uint64_t a = add(10, fd1), b = add(10, fd2);

	cr_expect_eq(a, b);
	cr_expect_neq(a, FS_ROOT_ID);
	cr_expect_eq(inode_table_nlookup(it, a), 2);
	cr_expect_eq(inode_table_count(it), 2);
	/* The second fd was redundant and closed; the first is kept. */
	cr_expect_not(fd_open(fd2));
	cr_expect(fd_open(fd1));
}

Test(inode, mount_id_is_part_of_the_key)
{
	struct inode_key k = key(10);
	struct inode *n;
	uint64_t a = add(10, -1);

	k.mnt_id = 4;
	cr_assert_eq(inode_lookup_or_add(it, &k, S_IFREG, -1, &n), 0);
	cr_expect_neq(n->id, a);
	inode_put(it, n);
}

Test(inode, forget_to_zero_closes_and_unhashes)
{
	int fd = some_fd();
	uint64_t a = add(10, fd);

	add(10, -1);
	inode_forget(it, a, 1);
	cr_expect(fd_open(fd));
	struct inode *n = inode_get(it, a);

	cr_expect_not_null(n);
	inode_put(it, n);
	inode_forget(it, a, 1);
	cr_expect_null(inode_get(it, a));
	cr_expect_eq(inode_table_count(it), 1);
	cr_expect_neq(add(10, -1), a);
}

Test(inode, reference_outlives_forget)
{
	int fd = some_fd();
	uint64_t a = add(10, fd);
	struct inode *n = inode_get(it, a);

	cr_assert_not_null(n);
	inode_forget(it, a, 1);
	/* Gone for the guest, alive for the operation using it. */
	cr_expect_null(inode_get(it, a));
	cr_expect(fd_open(fd));
	cr_expect_eq(n->fd, fd);
	/* A new lookup of the same file is a new node. */
	uint64_t b = add(10, -1);

	cr_expect_neq(a, b);
	inode_put(it, n);
	cr_expect_not(fd_open(fd));
}

Test(inode, root_is_never_forgotten_or_cleared)
{
	inode_forget(it, FS_ROOT_ID, 100);
	add(10, -1);
	add(11, -1);
	inode_table_clear(it);
	cr_expect_eq(inode_table_count(it), 1);
	struct inode *r = inode_get(it, FS_ROOT_ID);

	cr_assert_not_null(r);
	cr_expect_eq(r->type, S_IFDIR);
	inode_put(it, r);
	/* Looking the root up again does not make it forgettable. */
	struct inode_key k = key(1);
	struct inode *n;

	cr_assert_eq(inode_lookup_or_add(it, &k, S_IFDIR, -1, &n), 0);
	cr_expect_eq(n->id, FS_ROOT_ID);
	inode_put(it, n);
}

Test(inode, clear_spares_nodes_in_use_until_put)
{
	int fd = some_fd();
	uint64_t a = add(10, fd);
	struct inode *n = inode_get(it, a);

	inode_table_clear(it);
	cr_expect_null(inode_get(it, a));
	cr_expect(fd_open(fd));
	inode_put(it, n);
	cr_expect_not(fd_open(fd));
}

Test(inode, many_nodes_all_found)
{
	enum { N = 20000 };
	static uint64_t ids[N];

	for (int i = 0; i < N; i++)
		ids[i] = add(100 + i, -1);
	cr_expect_eq(inode_table_count(it), N + 1);
	for (int i = 0; i < N; i++) {
		struct inode *n = inode_get(it, ids[i]);

		cr_assert_not_null(n);
		cr_assert_eq(n->key.ino, (uint64_t)(100 + i));
		inode_put(it, n);
	}
	for (int i = 0; i < N; i += 2)
		inode_forget(it, ids[i], 1);
	cr_expect_eq(inode_table_count(it), N / 2 + 1);
	for (int i = 1; i < N; i += 2)
		cr_assert_eq(add(100 + i, -1), ids[i]);
}

Test(inode, limit_is_enfile_and_caller_keeps_fd)
{
	struct inode_table *t;
	struct inode_key k0 = key(1), k1 = key(2), k2 = key(3);
	struct inode *n;
	int fd = some_fd();

	cr_assert_eq(inode_table_new(&t, 1), 0);
	cr_assert_eq(inode_table_set_root(t, -1, &k0, S_IFDIR), 0);
	cr_assert_eq(inode_lookup_or_add(t, &k1, S_IFREG, -1, &n), 0);
	inode_put(t, n);
	cr_expect_eq(inode_lookup_or_add(t, &k2, S_IFREG, fd, &n), -ENFILE);
	cr_expect(fd_open(fd));
	close(fd);
	inode_table_free(t);
}

/* A file handle of `bytes` bytes, all set to `fill`. */
static struct file_handle *fake_handle(unsigned char fill)
{
	static unsigned char store[2][sizeof(struct file_handle) + 8];
	struct file_handle *h = (struct file_handle *)store[fill & 1];

	h->handle_bytes = 8;
	h->handle_type = 1;
	memset(h->f_handle, fill, 8);
	return h;
}

/* An inode number reused by a new file while the guest still holds the old
 * node must not hand the new file's fd to the old node (with file handles
 * nothing pins the old inode): the lookup is stale instead. */
Test(inode, reused_inode_number_with_other_handle_is_stale)
{
	struct inode_key k = key(42);
	struct inode *n;
	int fd = some_fd();

	cr_assert_eq(inode_lookup_or_add_handle(it, &k, S_IFREG, -1,
						fake_handle(0xaa), &n), 0);
	inode_put(it, n);
	cr_expect_eq(inode_lookup_or_add_handle(it, &k, S_IFCHR, fd,
						fake_handle(0xbb), &n), -ESTALE);
	cr_expect(fd_open(fd), "the caller keeps its fd on failure");
	/* The same handle still finds the node. */
	cr_expect_eq(inode_lookup_or_add_handle(it, &k, S_IFREG, fd,
						fake_handle(0xaa), &n), 0);
	inode_put(it, n);
}

struct race_arg {
	int id;
	int bad;
};

static void *race(void *p)
{
	struct race_arg *a = p;

	for (int i = 0; i < 5000; i++) {
		struct inode_key k = key(50 + (i + a->id) % 5);
		struct inode *n;

		if (inode_lookup_or_add(it, &k, S_IFREG, -1, &n)) {
			a->bad++;
			continue;
		}
		uint64_t id = n->id;

		inode_put(it, n);
		n = inode_get(it, id);  /* our lookup holds it */
		if (!n || n->key.ino != k.ino)
			a->bad++;
		inode_put(it, n);
		inode_forget(it, id, 1);
	}
	return NULL;
}

Test(inode, concurrent_lookup_forget)
{
	pthread_t t[4];
	struct race_arg a[4] = { { 0 } };

	for (int i = 0; i < 4; i++) {
		a[i].id = i;
		pthread_create(&t[i], NULL, race, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(a[i].bad, 0);
	}
	cr_expect_eq(inode_table_count(it), 1);
}

/* ---- handles ---- */

Test(handle, add_get_remove)
{
	struct handle_table *t;
	struct handle *h;
	uint64_t fh, fh2;
	int fd = some_fd();

	cr_assert_eq(handle_table_new(&t, 10), 0);
	cr_assert_eq(handle_add(t, 5, fd, &fh), 0);
	cr_assert_eq(handle_add(t, 5, -1, &fh2), 0);
	cr_expect_neq(fh, fh2);
	cr_expect_neq(fh, 0);
	h = handle_get(t, fh, 5);
	cr_assert_not_null(h);
	cr_expect_eq(h->fd, fd);
	cr_expect_null(handle_get(t, fh, 6));
	cr_expect_null(handle_get(t, 12345, 5));
	cr_expect_eq(handle_remove(t, fh, 6), -EBADF);
	cr_expect_eq(handle_remove(t, fh, 5), 0);
	cr_expect_eq(handle_remove(t, fh, 5), -EBADF);
	cr_expect_null(handle_get(t, fh, 5));
	/* Released, but our reference keeps the fd open. */
	cr_expect(fd_open(fd));
	handle_put(t, h);
	cr_expect_not(fd_open(fd));
	cr_expect_eq(handle_table_count(t), 1);
	handle_table_free(t);
}

Test(handle, limit_is_emfile)
{
	struct handle_table *t;
	uint64_t fh;

	cr_assert_eq(handle_table_new(&t, 2), 0);
	cr_assert_eq(handle_add(t, 1, -1, &fh), 0);
	cr_assert_eq(handle_add(t, 1, -1, &fh), 0);
	cr_expect_eq(handle_add(t, 1, -1, &fh), -EMFILE);
	cr_assert_eq(handle_remove(t, fh, 1), 0);
	cr_expect_eq(handle_add(t, 1, -1, &fh), 0);
	handle_table_free(t);
}

Test(handle, clear_and_growth)
{
	struct handle_table *t;
	uint64_t fh;

	cr_assert_eq(handle_table_new(&t, 100000), 0);
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(handle_add(t, i, -1, &fh), 0);
	cr_expect_eq(handle_table_count(t), 5000);
	struct handle *h = handle_get(t, 1, 0);

	cr_expect_not_null(h);
	handle_put(t, h);
	handle_table_clear(t);
	cr_expect_eq(handle_table_count(t), 0);
	handle_table_free(t);
}
