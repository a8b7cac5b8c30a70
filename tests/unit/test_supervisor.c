// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the pid namespace's supervisor passes on to the service manager
 * from its server (which a guest may have taken over): the notification
 * lines vfsd sends, nothing else, and no main pid but its own.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "vfsd/supervisor.h"

static const char *filtered(const char *in, size_t len, pid_t self)
{
	static char out[256];
	size_t n = supervisor_filter_notify(in, len, out, sizeof(out), self);

	cr_assert_eq(n, strlen(out));
	return out;
}

#define F(s) filtered((s), strlen(s), 4242)

Test(supervisor, passes_what_vfsd_sends)
{
	cr_assert_str_eq(F("READY=1\nMAINPID=4242"), "READY=1\nMAINPID=4242");
	cr_assert_str_eq(F("STATUS=Serving the guest (hypervisor pid 77)"),
			 "STATUS=Serving the guest (hypervisor pid 77)");
	cr_assert_str_eq(F("STOPPING=1\nSTATUS=Stopping"), "STOPPING=1\nSTATUS=Stopping");
	cr_assert_str_eq(F("WATCHDOG=1"), "WATCHDOG=1");
}

Test(supervisor, drops_everything_else)
{
	/* Another main pid, a file descriptor store, a reload, an errno. */
	cr_assert_str_eq(F("READY=1\nMAINPID=1"), "READY=1");
	cr_assert_str_eq(F("MAINPID=42420"), "");
	cr_assert_str_eq(F("MAINPID=424"), "");
	cr_assert_str_eq(F("FDSTORE=1\nFDNAME=x"), "");
	cr_assert_str_eq(F("RELOADING=1\nERRNO=2\nBUSERROR=x"), "");
	cr_assert_str_eq(F("WATCHDOG=trigger\nWATCHDOG_USEC=1"), "");
	cr_assert_str_eq(F("READY=10\nREADY=1x\nSTATUS"), "");
	cr_assert_str_eq(F("STATUS="), "");
	cr_assert_str_eq(F("\n\n\nREADY=1\n\n"), "READY=1");
}

Test(supervisor, nul_and_truncation)
{
	char out[16];
	static const char nul[] = "STATUS=a\0b\nREADY=1";

	/* A NUL inside a line would cut the line systemd reads. */
	cr_assert_str_eq(filtered(nul, sizeof(nul) - 1, 4242), "READY=1");
	/* A line that does not fit is dropped whole, never cut. */
	cr_assert_eq(supervisor_filter_notify("STATUS=0123456789", 17, out,
					      sizeof(out), 1), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(supervisor_filter_notify("READY=1\nSTATUS=0123456789", 25,
					      out, sizeof(out), 1), 7);
	cr_assert_str_eq(out, "READY=1");
	cr_assert_eq(supervisor_filter_notify("READY=1", 7, out, 0, 1), 0);
}
