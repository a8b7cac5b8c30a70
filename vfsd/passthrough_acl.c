// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough filesystem: what --posix-acl and --security-label need when
 * a node is created.
 *
 * umask.  Without ACLs the guest kernel applies its umask before sending
 * the mode; we apply it again (harmless) and create with umask 0.  With
 * ACLs (FUSE_DONT_MASK agreed) the guest sends the mode unmasked and its
 * umask apart, because only the host knows whether the parent directory
 * has a default ACL: if it has, the new node takes its permissions from
 * that ACL and the umask must NOT apply; if not, it must.  Checking for the
 * default ACL ourselves would race with a concurrent setfacl, so the host
 * kernel decides, with the guest's umask as the creating thread's own:
 * each worker thread gets a private umask (unshare(CLONE_FS), once, as
 * virtiofsd does), set around the one creating syscall.
 *
 * Labels.  FUSE_SECURITY_CTX: the engine hands a checked security.* name
 * and value; they are set on the new node right after it is created,
 * through the fd it was created with where there is one (passthrough_xattr.c
 * has the path form for the others), and the node is removed if that fails.
 */
#include <errno.h>
#include <sched.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/xattr.h>

#include "log.h"
#include "passthrough_int.h"

/* This thread's umask is its own (unshare(CLONE_FS) done). */
static __thread bool umask_private;

static mode_t apply_umask(mode_t mode, mode_t umask)
{
	return (mode & S_IFMT) | (mode & 07777 & ~(umask & 0777));
}

int pt_umask_enter(struct pt_fs *fs, mode_t *mode, mode_t umask_in,
		   struct pt_umask *saved)
{
	saved->set = false;
	if (!__atomic_load_n(&fs->posix_acl, __ATOMIC_RELAXED)) {
		*mode = apply_umask(*mode, umask_in);
		return 0;
	}
	if (!umask_private) {
		/* Never the process-wide umask: other workers create at the
		 * same time with other guests' umasks. */
		if (unshare(CLONE_FS) < 0) {
			int r = pt_errno();

			log_ratelimited(LOG_LEVEL_ERROR,
					"--posix-acl: cannot give a worker "
					"thread its own umask: %s",
					strerror(-r));
			return r;
		}
		umask_private = true;
	}
	saved->old = umask(umask_in & 0777);
	saved->set = true;
	return 0;
}

void pt_umask_leave(const struct pt_umask *saved)
{
	if (saved->set)
		umask(saved->old);
}

int pt_label_fd(int fd, const struct fs_secctx *sc)
{
	if (fsetxattr(fd, sc->name, sc->value, sc->size, 0) < 0)
		return pt_errno();
	return 0;
}
