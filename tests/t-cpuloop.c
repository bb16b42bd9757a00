/* SPDX-License-Identifier: MIT */
/*
 * A CPU-bound loop runs inside dune without leaving the guest: there is
 * nothing in it to trap on, so dune's host loop must see no exit of any
 * kind while it runs (timer interrupts and the like stay in KVM).  Counted,
 * not timed: how fast the loop runs against native is dune-bench's to say
 * ("CPU-bound loop / native"), since these machines are noisy; the times
 * are printed for the log.
 */
#include <stdint.h>
#include <time.h>

#include "check.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An LCG chain: every step needs the previous, and none can be skipped. */
static void loop(long n)
{
	uint64_t x = 1;

	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		asm volatile("" : "+r"(x));
	}
}

static uint64_t all_exits(void)
{
	struct dune_stats s = { .size = sizeof(s) };
	uint64_t n = 0;

	CHECK(dune_get_stats(&s) == 0, "dune_get_stats: %s", dune_last_error());
	for (int i = 0; i < DUNE_EXIT_KINDS; i++)
		n += s.exits[i];
	return n;
}

/* A loop length taking about 200 ms natively. */
static long calibrate(void)
{
	long n = 1 << 20;
	int64_t t;

	while ((t = now_ns(), loop(n), now_ns() - t) < 100000000 && n < (1L << 40))
		n *= 2;
	return 2 * n;
}

int main(void)
{
	long n = calibrate();
	uint64_t a, b, c, d;
	int64_t native, inside;

	native = now_ns();
	loop(n);
	native = now_ns() - native;
	enter_dune();
	a = all_exits();
	b = all_exits();		/* what a dune_get_stats() between costs */
	inside = now_ns();
	c = all_exits();
	loop(n);
	d = all_exits();
	inside = now_ns() - inside;
	CHECK(d - c == b - a, "%lu exits of the host loop during a CPU-bound loop of %ld steps "
	      "(dune_get_stats() alone: %lu)", (unsigned long)(d - c), n, (unsigned long)(b - a));
	printf("# %ld steps: natively %.1f ms, inside %.1f ms (not checked: dune-bench)\n", n,
	       native / 1e6, inside / 1e6);
	return finish();
}
