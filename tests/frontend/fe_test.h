/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared pieces of the integration tests (criterion): start a back-end of
 * either kind, open a device, and the scenarios run against both vfsd and
 * QEMU's virtiofsd.
 */
#ifndef VFSD_FE_TEST_H
#define VFSD_FE_TEST_H

#include "frontend.h"

/* One back-end and one connection per test; torn down by fe_test_fini
 * whatever happened. */
struct fe_test {
	struct fe_backend be;
	struct fe_dev *dev;
	bool started;
};

extern struct fe_test fe_t;

/* Path of the daemon under test: $VFSD. Skips the test (with a message)
 * when it is not built yet.  Note: criterion does not run .fini after a
 * skip, so never skip once a back-end is running (its temp dir would stay
 * behind); fe_test_start skips before creating anything. */
const char *fe_test_vfsd(void);
const char *fe_test_virtiofsd(void);
/* Start the back-end of `kind` (exe chosen as above), fail on error. */
void fe_test_start(enum fe_backend_kind kind, const char *const *extra);
/* Open a device on the running back-end, assert success. */
struct fe_dev *fe_test_open(const struct fe_opts *opts);
/* Open + INIT. */
struct fe_dev *fe_test_open_init(const struct fe_opts *opts);
void fe_test_fini(void);
/* Last statement of every test: fail on a sanitizer report in the
 * back-end's log (criterion ignores failures in .fini). */
void fe_test_end(void);

/* Scenarios (assert inside). */
void fe_scenario_lifecycle(struct fe_dev *d, const char *shared_dir);
void fe_scenario_depth(struct fe_dev *d, const char *shared_dir,
		       unsigned int depth);
void fe_scenario_forget(struct fe_dev *d, const char *shared_dir);
/* A quick liveness check of a fresh connection: INIT, LOOKUP of a file
 * created on the host, GETATTR of the root. */
void fe_scenario_smoke(struct fe_dev *d, const char *shared_dir);

/* Deterministic test data. */
void fe_fill_pattern(void *buf, size_t len, uint32_t seed);

#endif
