// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Seeded random sequences of create/write/truncate/rename/link/unlink/
 * fallocate/punch-hole/copy_file_range/lseek(SEEK_DATA/SEEK_HOLE), done
 * natively and through vfsd --mount; every result, and the whole tree every
 * 50 steps, must match.  A failure names the seed and the step: rerun with
 * the same seed to reproduce it.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"

#define FILES 6
#define STEPS 400
#define MAX_IO (256 << 10)
#define MAX_OFF (2 << 20)

TestSuite(random, .init = diff_setup, .fini = diff_teardown, .timeout = 120);

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: reproducible everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static ssize_t cfr(int fdin, loff_t in, int fdout, loff_t out, size_t len)
{
	return copy_file_range(fdin, &in, fdout, &out, len, 0);
}

static void run(uint64_t seed)
{
	static char buf[MAX_IO];
	static const int falloc_modes[] = {
		0, FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE,
	};
	char a[32], b[32];

	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	diff_pattern(buf, sizeof(buf), (uint32_t)seed);
	BOTH(mkdirat(S->dir, "r", 0755));
	for (int step = 0; step < STEPS; step++) {
		int k = (int)rnd(FILES), j = (int)rnd(FILES);
		off_t off = rnd(MAX_OFF), off2 = rnd(MAX_OFF);
		size_t len = 1 + rnd(MAX_IO - 1);
		/* Drawn here, never inside BOTH(): each side must see the
		 * same values. */
		uint32_t skew = rnd(1024), coin = rnd(2), small = rnd(8192);
		int mode = falloc_modes[rnd(4)];

		uint32_t op = rnd(12);

		if (getenv("DIFF_EVERY_STEP"))
			fprintf(stderr, "seed %llu step %d: op %u k %d j %d off %lld off2 %lld len %zu\n",
				(unsigned long long)seed, step, op, k, j,
				(long long)off, (long long)off2, len);
		snprintf(a, sizeof(a), "r/f%d", k);
		snprintf(b, sizeof(b), "r/f%d", j);
		switch (op) {
		case 0:
			OPEN(k, openat(S->dir, a, O_RDWR | O_CREAT, 0644));
			break;
		case 1:
			BOTH(pwrite(S->fd[k], buf + skew, len - skew * (len > skew), off));
			break;
		case 2:
			BOTH(ftruncate(S->fd[k], coin ? off : (off_t)small));
			break;
		case 3:
			BOTH(renameat(S->dir, a, S->dir, b));
			break;
		case 4:
			BOTH(linkat(S->dir, a, S->dir, b, 0));
			break;
		case 5:
			BOTH(unlinkat(S->dir, a, 0));
			break;
		case 6:
			BOTH(fallocate(S->fd[k], mode, off, (off_t)len));
			break;
		case 7:
			BOTH(cfr(S->fd[k], off, S->fd[j], off2, len));
			break;
		case 8:
			BOTH(lseek(S->fd[k], off, coin ? SEEK_DATA : SEEK_HOLE));
			break;
		case 9:
			diff_pread(k, off, len);
			break;
		case 10:
			diff_fstat(k);
			break;
		case 11:
			if (D.s[0].fd[k] >= 0)
				diff_close(k);
			break;
		}
		if (step % 50 == 49 || getenv("DIFF_EVERY_STEP"))
			diff_tree();
	}
	diff_tree();
}

Test(random, seed_1) { run(1); }
Test(random, seed_2) { run(2); }
Test(random, seed_3) { run(3); }
Test(random, seed_4) { run(4); }
Test(random, seed_5) { run(5); }
Test(random, seed_6) { run(6); }
Test(random, seed_7) { run(7); }
Test(random, seed_8) { run(8); }
