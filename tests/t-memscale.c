/* SPDX-License-Identifier: MIT */
/*
 * Memory at scale, natively and inside dune: what Linux lets a process map
 * and touch must work inside too.  Each case runs in a child process, once
 * natively and once inside dune, and both must end the same way: threads
 * faulting the same fresh page together, and mlockall's resident size.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define SPARSE_STRIDE	(64UL << 20)
#define FAULT_THREADS	8
#define FAULT_ROUNDS	64
#define RSS_SLACK_KB	(16 << 10)	/* what dune itself may add to mlockall's RSS */

#define NORESERVE	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

struct run {
	int (*fn)(void);
	int inside;
};

static int in_child(void *arg)
{
	const struct run *r = arg;

	if (r->inside)
		enter_dune();
	return r->fn();
}

static pthread_barrier_t fault_barrier;
static unsigned char *fault_area;

/* Every thread writes its own byte of the same fresh page, all at once. */
static void *fault_worker(void *arg)
{
	long idx = (long)arg;

	for (int round = 0; round < FAULT_ROUNDS; round++) {
		pthread_barrier_wait(&fault_barrier);
		fault_area[round * SPARSE_STRIDE + idx] = (unsigned char)(idx + 1);
	}
	return NULL;
}

static int threads_same_page(void)
{
	pthread_t t[FAULT_THREADS];
	long i;

	fault_area = mmap(NULL, FAULT_ROUNDS * SPARSE_STRIDE, PROT_READ | PROT_WRITE, NORESERVE,
			  -1, 0);
	if (fault_area == MAP_FAILED ||
	    pthread_barrier_init(&fault_barrier, NULL, FAULT_THREADS))
		return 2;
	for (i = 0; i < FAULT_THREADS; i++)
		if (pthread_create(&t[i], NULL, fault_worker, (void *)i))
			return 3;
	for (i = 0; i < FAULT_THREADS; i++)
		join_within(t[i], "fault worker", 120);
	for (int round = 0; round < FAULT_ROUNDS; round++)
		for (i = 0; i < FAULT_THREADS; i++)
			if (fault_area[round * SPARSE_STRIDE + i] != i + 1)
				return 4;
	printf("%d threads, %d fresh pages\n", FAULT_THREADS, FAULT_ROUNDS);
	return 0;
}

static long rss_kb(void)
{
	char buf[4096], *at;
	FILE *f = fopen("/proc/self/status", "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	at = strstr(buf, "VmRSS:");
	return at ? atol(at + 6) : -1;
}

/* mlockall locks the program's memory, not dune's unused reservation. */
static int locked_rss(void)
{
	long kb;

	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return 77;
	kb = rss_kb();
	munlockall();
	printf("%ld\n", kb);
	return 0;
}

/* Run fn natively and inside dune: the same exit status, and the output. */
static int both(const char *name, int (*fn)(void), char *native_out, char *dune_out, size_t size)
{
	struct run native = { fn, 0 }, inside = { fn, 1 };
	int st_native = run_child(in_child, &native, native_out, size);
	int st_dune = run_child(in_child, &inside, dune_out, size);

	if (WIFEXITED(st_native) && WEXITSTATUS(st_native) == 77) {
		printf("# %s: not possible natively here, skipped\n", name);
		return 0;
	}
	CHECK(WIFEXITED(st_native) && WEXITSTATUS(st_native) == 0,
	      "%s natively: %s; output:\n%s", name, status_str(st_native), native_out);
	CHECK(WIFEXITED(st_dune) && WEXITSTATUS(st_dune) == 0,
	      "%s inside dune: %s; output:\n%s", name, status_str(st_dune), dune_out);
	return WIFEXITED(st_dune) && WEXITSTATUS(st_dune) == 0 && !WEXITSTATUS(st_native);
}

int main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
		{ "threads faulting one page", threads_same_page },
	};
	char native_out[4096], dune_out[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (both(cases[i].name, cases[i].fn, native_out, dune_out, sizeof(native_out))) {
			dune_out[strcspn(dune_out, "\n")] = '\0';
			printf("# %s: %s inside dune, as natively\n", cases[i].name, dune_out);
		}
	}
	if (both("mlockall", locked_rss, native_out, dune_out, sizeof(native_out))) {
		long native_kb = atol(native_out), dune_kb = atol(dune_out);

		printf("# RSS after mlockall: %ld KiB inside dune, %ld KiB natively\n", dune_kb,
		       native_kb);
		CHECK(dune_kb <= native_kb + RSS_SLACK_KB,
		      "mlockall: RSS %ld KiB inside dune, %ld KiB natively", dune_kb, native_kb);
	}
	return finish();
}
