/* SPDX-License-Identifier: MIT */
/*
 * Memory at scale, natively and inside dune: what Linux lets a process map
 * and touch must work inside too.  Each case runs in a child process, once
 * natively and once inside dune, and both must end the same way: a sparse
 * 512 GiB reservation touched once per 64 MiB, 8,192 small mappings in
 * distinct 2 MiB windows, mappings made and dropped at ever new addresses,
 * parts of 2 MiB guest pages protected and unmapped, threads faulting the same fresh page together, and mlockall's resident size.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define SZ_2M		(2UL << 20)
#define SPARSE_SIZE	(512UL << 30)
#define SPARSE_STRIDE	(64UL << 20)
#define SMALL_MAPS	8192
#define MOVING_MAPS	40000		/* more than KVM has memslots */
#define MOVING_SLOTS_LIVE 1024		/* what dune may keep however many went */
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

/* How many of what were done, and inside dune what the VM uses for them now. */
static uint64_t report(size_t n, const char *what)
{
	struct dune_stats st = { .size = sizeof(st) };

	if (!dune_is_inside() || dune_get_stats(&st)) {
		printf("%zu %s\n", n, what);
		return 0;
	}
	printf("%zu %s, %llu memslots, %llu page-table pages\n", n, what,
	       (unsigned long long)st.memslots, (unsigned long long)st.pt_pages);
	return st.memslots;
}

/* One byte per 64 MiB of a 512 GiB MAP_NORESERVE mapping: JIT cages, sanitizers. */
static int sparse_reservation(void)
{
	unsigned char *p = mmap(NULL, SPARSE_SIZE, PROT_READ | PROT_WRITE, NORESERVE, -1, 0);
	size_t n = SPARSE_SIZE / SPARSE_STRIDE, i;

	/* with transparent huge pages each touch would take 2 MiB: 16 GiB in all */
	if (p == MAP_FAILED || madvise(p, SPARSE_SIZE, MADV_NOHUGEPAGE))
		return 2;
	for (i = 0; i < n; i++)
		p[i * SPARSE_STRIDE + i % 4096] = (unsigned char)(i | 1);
	barrier();
	for (i = 0; i < n; i++)
		if (p[i * SPARSE_STRIDE + i % 4096] != (unsigned char)(i | 1))
			return 3;
	report(n, "touches");
	return munmap(p, SPARSE_SIZE) ? 4 : 0;
}

/* A page in each of 8,192 distinct 2 MiB windows of a PROT_NONE reservation. */
static int small_mappings(void)
{
	size_t len = SMALL_MAPS * SZ_2M, i;
	unsigned char *base = mmap(NULL, len, PROT_NONE, NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		return 2;
	for (i = 0; i < SMALL_MAPS; i++) {
		unsigned char *p = mmap(base + i * SZ_2M, 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (p == MAP_FAILED)
			return 3;
		p[i % 4096] = (unsigned char)(i | 1);
	}
	barrier();
	for (i = 0; i < SMALL_MAPS; i++)
		if (base[i * SZ_2M + i % 4096] != (unsigned char)(i | 1))
			return 4;
	report(SMALL_MAPS, "mappings");
	return munmap(base, len) ? 5 : 0;
}

/*
 * Map, touch and unmap at a new address each time, more often than KVM has
 * memslots and over more guest-physical space than it has: what is gone must
 * give its memslot back.
 */
static int moving_mappings(void)
{
	size_t len = MOVING_MAPS * SZ_2M, i;
	unsigned char *hole = mmap(NULL, len, PROT_NONE, NORESERVE, -1, 0);

	if (hole == MAP_FAILED || munmap(hole, len))
		return 2;
	for (i = 0; i < MOVING_MAPS; i++) {
		unsigned char *want = hole + (i * 7919 % MOVING_MAPS) * SZ_2M;
		volatile unsigned char *p = mmap(want, 65536, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
						 -1, 0);

		if (p == MAP_FAILED)
			return 3;
		if (p[i % 65536] || p[65535 - i % 65536])
			return 6;	/* fresh memory shows old contents */
		p[i % 65536] = 1;
		if (p[i % 65536] != 1 || munmap((void *)p, 65536))
			return 4;
	}
	/* the memslots of what is gone go: as many as what lives, at most twice */
	return report(MOVING_MAPS, "mappings") > 2 * MOVING_SLOTS_LIVE ? 5 : 0;
}

static sigjmp_buf probe_jump;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(probe_jump, 1);
}

/* Does a read (or a write of v) at p fault? */
static int faults(volatile unsigned char *p, int write, unsigned char v)
{
	if (sigsetjmp(probe_jump, 1))
		return 1;
	if (write)
		*p = v;
	else
		(void)*p;
	return 0;
}

/*
 * Parts of 2 MiB that were mapped whole change: mprotect and munmap of one
 * page, then of the whole 2 MiB, in a mapping mapped at once (8 MiB) and in
 * one mapped on first touch (128 MiB).
 */
static int split_one(size_t len)
{
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, NORESERVE, -1, 0);
	unsigned char *b = (unsigned char *)(((uintptr_t)p + 2 * SZ_2M - 1) & ~(SZ_2M - 1));

	if (p == MAP_FAILED)
		return 2;
	if (faults(b, 1, 1) || faults(b + SZ_2M, 1, 2) || faults(b + SZ_2M - 1, 1, 3))
		return 3;
	if (mprotect(b + 4096, 4096, PROT_READ) || !faults(b + 4096, 1, 4) ||
	    faults(b + 4096, 0, 0) || faults(b + 8192, 1, 5) || faults(b + 4095, 1, 6))
		return 4;
	if (munmap(b + SZ_2M + 65536, 4096) || !faults(b + SZ_2M + 65536, 0, 0) ||
	    faults(b + SZ_2M + 65536 + 4096, 1, 7) || b[SZ_2M] != 2)
		return 5;
	if (mprotect(b, SZ_2M, PROT_NONE) || !faults(b + SZ_2M - 1, 0, 0) ||
	    mprotect(b, SZ_2M, PROT_READ | PROT_WRITE) || b[0] != 1 || b[SZ_2M - 1] != 3 ||
	    faults(b + 4096, 1, 8))
		return 6;
	return munmap(p, len) ? 7 : 0;
}

static int huge_page_split(void)
{
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	int err;

	sigaction(SIGSEGV, &sa, NULL);
	err = split_one(8UL << 20);
	if (!err)
		err = split_one(128UL << 20);
	if (!err)
		report(2, "mappings split");
	return err;
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

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Run fn natively and inside dune: the same exit status, and the output.
 * *took is how long each took, for the log (such loads are slow under TCG).
 */
static int both(const char *name, int (*fn)(void), char *native_out, char *dune_out, size_t size,
		double took[2])
{
	struct run native = { fn, 0 }, inside = { fn, 1 };
	double t0 = seconds();
	int st_native = run_child(in_child, &native, native_out, size);
	double t1 = seconds();
	int st_dune = run_child(in_child, &inside, dune_out, size);

	took[0] = t1 - t0;
	took[1] = seconds() - t1;

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
		{ "sparse 512 GiB", sparse_reservation },
		{ "small mappings", small_mappings },
		{ "moving mappings", moving_mappings },
		{ "threads faulting one page", threads_same_page },
		{ "2 MiB pages split", huge_page_split },
	};
	char native_out[4096], dune_out[4096];
	double took[2];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (both(cases[i].name, cases[i].fn, native_out, dune_out, sizeof(native_out),
			 took)) {
			dune_out[strcspn(dune_out, "\n")] = '\0';
			printf("# %s: %s inside dune (%.1f s), as natively (%.1f s)\n", cases[i].name,
			       dune_out, took[1], took[0]);
		}
	}
	if (both("mlockall", locked_rss, native_out, dune_out, sizeof(native_out), took)) {
		long native_kb = atol(native_out), dune_kb = atol(dune_out);

		printf("# RSS after mlockall: %ld KiB inside dune, %ld KiB natively\n", dune_kb,
		       native_kb);
		CHECK(dune_kb <= native_kb + RSS_SLACK_KB,
		      "mlockall: RSS %ld KiB inside dune, %ld KiB natively", dune_kb, native_kb);
	}
	return finish();
}
