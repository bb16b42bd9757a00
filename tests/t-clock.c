/* SPDX-License-Identifier: MIT */
/*
 * Clocks inside dune.  clock_gettime() runs in the vDSO without a system
 * call (it reads the TSC and the kernel's vvar page), so inside the VM it
 * must still agree with the host's clock as a real system call reads it.
 */
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>

#include "check.h"

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t vdso_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ns_of(&ts);
}

static int64_t syscall_ns(clockid_t clock)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, clock, &ts);
	return ns_of(&ts);
}

/* vDSO before <= system call <= vDSO after, many times over. */
static void check_agrees(clockid_t clock, const char *name)
{
	int i, bad = 0;
	int64_t a = 0, b = 0, c = 0;

	for (i = 0; i < 1000; i++) {
		a = vdso_ns(clock);
		b = syscall_ns(clock);
		c = vdso_ns(clock);
		if (!(a <= b && b <= c)) {
			bad++;
			break;
		}
	}
	CHECK(!bad, "%s: vDSO %lld, syscall %lld, vDSO %lld out of order", name,
	      (long long)a, (long long)b, (long long)c);
}

static void check_monotonic(void)
{
	int64_t prev = vdso_ns(CLOCK_MONOTONIC), now = prev;
	int i;

	for (i = 0; i < 200000; i++) {
		now = vdso_ns(CLOCK_MONOTONIC);
		if (now < prev)
			break;
		prev = now;
	}
	CHECK(i == 200000, "CLOCK_MONOTONIC went back by %lld ns at call %d",
	      (long long)(prev - now), i);
}

/* The seconds from a real syscall (forwarded inside dune), not the vDSO. */
static time_t syscall_time(void)
{
#ifdef SYS_time
	return syscall(SYS_time, NULL);
#else
	struct timespec ts;	/* asm-generic ISAs have no time(2) */

	return syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) ? 0 : ts.tv_sec;
#endif
}

static void check_realtime(void)
{
	time_t before = time(NULL);
	int64_t rt = vdso_ns(CLOCK_REALTIME);
	time_t after = syscall_time();

	/* time() reads the tick-updated seconds: it may lag by one */
	CHECK(before <= rt / 1000000000 && rt / 1000000000 <= after + 1,
	      "CLOCK_REALTIME %lld s not between time() %lld and %lld",
	      (long long)(rt / 1000000000), (long long)before,
	      (long long)after);
	CHECK(after > 1500000000, "time() = %lld: before 2017?",
	      (long long)after);
}

static void check_nanosleep(void)
{
	struct timespec ten_ms = { 0, 10000000 };
	int64_t start = vdso_ns(CLOCK_MONOTONIC), slept;

	CHECK(nanosleep(&ten_ms, NULL) == 0, "nanosleep: %s", strerror(errno));
	slept = vdso_ns(CLOCK_MONOTONIC) - start;
	CHECK(slept >= 10000000, "nanosleep(10 ms) took %lld ns",
	      (long long)slept);
}

/* A pure CPU loop shows up as process CPU time (kernel accounting). */
static void check_cputime(void)
{
	int64_t start = syscall_ns(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t x = 1;
	long i;

	for (i = 0; i < 20000000; i++) {
		x = x * 6364136223846793005ULL + 1;
		asm volatile("" : "+r"(x));
	}
	CHECK(syscall_ns(CLOCK_PROCESS_CPUTIME_ID) > start,
	      "process CPU time did not advance");
}

/* How many exits did 1000 clock_gettime() calls cost?  (Report only.) */
static void report_vdso_exits(void)
{
	struct dune_stats before = { .size = sizeof(before) }, after = before;
	int i;

	if (dune_get_stats(&before) < 0)
		return;
	for (i = 0; i < 1000; i++)
		vdso_ns(CLOCK_MONOTONIC);
	if (dune_get_stats(&after) < 0)
		return;
	printf("# vDSO %s; 1000 clock_gettime() calls forwarded %llu system calls\n",
	       getauxval(AT_SYSINFO_EHDR) ? "present" : "absent",
	       (unsigned long long)(after.syscalls - before.syscalls));
}

int main(void)
{
	enter_dune();
	check_monotonic();
	check_agrees(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
	check_agrees(CLOCK_REALTIME, "CLOCK_REALTIME");
	check_agrees(CLOCK_BOOTTIME, "CLOCK_BOOTTIME");
	check_realtime();
	check_nanosleep();
	check_cputime();
	report_vdso_exits();
	return finish();
}
