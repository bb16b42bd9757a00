// SPDX-License-Identifier: MIT
/*
 * The legacy vsyscall page: where the host kernel emulates it (its maps show
 * [vsyscall] executable), gettimeofday, time and getcpu called there work
 * inside dune as natively; elsewhere in the page, or without it, SIGSEGV.
 */
#include <sys/time.h>
#include <time.h>

#include "check.h"

#define VSYSCALL 0xffffffffff600000UL

static int host_has_vsyscall(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "[vsyscall]") && strstr(line, "x");
	if (f)
		fclose(f);
	return found;
}

static int call_vsyscalls(void *mode)
{
	int (*vgettimeofday)(struct timeval *, void *) = (void *)VSYSCALL;
	time_t (*vtime)(time_t *) = (void *)(VSYSCALL + 0x400);
	long (*vgetcpu)(unsigned *, unsigned *, void *) = (void *)(VSYSCALL + 0x800);
	struct timeval tv = { 0 };
	time_t t = 0, now;
	unsigned cpu = ~0u, node = ~0u;

	if (mode)
		enter_dune();
	now = time(NULL);
	CHECK(vgettimeofday(&tv, NULL) == 0 && tv.tv_sec >= now && tv.tv_sec < now + 5,
	      "gettimeofday through the vsyscall page: %ld", (long)tv.tv_sec);
	CHECK(vtime(&t) >= now && t >= now, "time through the vsyscall page: %ld", (long)t);
	CHECK(vgetcpu(&cpu, &node, NULL) == 0 && cpu < 4096, "getcpu through the vsyscall page: %u",
	      cpu);
	return finish();
}

static int call_bad_entry(void *mode)
{
	void (*bad)(void) = (void *)(VSYSCALL + 0x100);

	if (mode)
		enter_dune();
	bad();
	return 0;
}

int main(void)
{
	if (!host_has_vsyscall())
		skip("the host kernel does not emulate the vsyscall page");
	for (long mode = 0; mode < 2; mode++) {
		char out[1024];
		int status = run_child(call_vsyscalls, (void *)mode, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s\n%s",
		      mode ? "inside dune" : "natively", status_str(status), out);
		status = run_child(call_bad_entry, (void *)mode, NULL, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "a call into the middle of the vsyscall page %s: %s",
		      mode ? "inside dune" : "natively", status_str(status));
	}
	return finish();
}
