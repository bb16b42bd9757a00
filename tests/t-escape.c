// SPDX-License-Identifier: MIT
/*
 * dune_escape() leaves the VM at the same point with registers, FPU state,
 * TLS and signal dispositions intact; dune_enter() goes back in, reusing the
 * VM; 1,000 cycles leak no fds, memory or vCPUs; and cycles while other
 * threads run inside (syscalls, fresh pages, a blocked read) harm none.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>

#include "check.h"

static __thread long tls_value = 1234;

static void on_usr1(int sig)
{
	(void)sig;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, rss = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* State a native caller expects to find again after a call. */
static void check_state_survives(void)
{
	volatile double x = 1.0 / 3.0;
	long *tls_addr = &tls_value;
	struct sigaction sa;

	CHECK(dune_escape() == 0 && !dune_is_inside(), "escape failed");
	CHECK(x == 1.0 / 3.0, "FPU value changed across escape");
	CHECK(tls_addr == &tls_value && tls_value == 1234, "TLS moved or changed");
	CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == on_usr1,
	      "signal disposition lost");
	CHECK(dune_enter() == 0 && dune_is_inside(), "re-enter: %s", dune_last_error());
	CHECK(x == 1.0 / 3.0 && tls_value == 1234, "state changed across re-entry");
}

/* Memory mapped while native must be usable inside, and unmapped memory gone. */
static void check_native_mappings(void)
{
	char *p;

	CHECK(dune_escape() == 0, "escape");
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 0x33, 1 << 20);
	CHECK(dune_enter() == 0, "re-enter: %s", dune_last_error());
	CHECK(p[0] == 0x33 && p[(1 << 20) - 1] == 0x33, "memory mapped natively not seen inside");
	p[12345] = 7;
	munmap(p, 1 << 20);
}

#define LOAD_THREADS	2
#define LOAD_CYCLES	200
#define LOAD_PAGES	256

static volatile int load_stop;

/* Syscalls and first touches of pages while another thread escapes. */
static void *load_main(void *arg)
{
	long page = sysconf(_SC_PAGESIZE), bad = 0, rounds = 0;
	pid_t parent = getppid();

	(void)arg;
	while (!load_stop) {
		char *p = mmap(NULL, LOAD_PAGES * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return (void *)-1L;
		for (long i = 0; i < LOAD_PAGES; i++) {
			p[i * page] = (char)i;
			bad += getppid() != parent || p[i * page] != (char)i;
		}
		munmap(p, LOAD_PAGES * page);
		rounds++;
	}
	return (void *)(bad ? -bad : rounds);
}

/* Blocked in a forwarded read while another thread escapes. */
static void *reader_main(void *arg)
{
	char c = 0;

	return (void *)(long)(read(*(int *)arg, &c, 1) == 1 && c == 'x');
}

static void check_escape_under_load(void)
{
	pthread_t load[LOAD_THREADS], reader;
	int pipefd[2];
	long got;

	CHECK(pipe(pipefd) == 0, "pipe");
	load_stop = 0;
	for (int i = 0; i < LOAD_THREADS; i++)
		CHECK(pthread_create(&load[i], NULL, load_main, NULL) == 0, "pthread_create");
	CHECK(pthread_create(&reader, NULL, reader_main, &pipefd[0]) == 0, "pthread_create");
	for (int i = 0; i < LOAD_CYCLES; i++) {
		char *p;

		if (dune_escape()) {
			CHECK(0, "escape %d under load: %s", i, dune_last_error());
			break;
		}
		/* native mappings the threads inside must not mind */
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 1 << 16);
		if (dune_enter()) {
			CHECK(0, "re-enter %d under load: %s", i, dune_last_error());
			break;
		}
	}
	load_stop = 1;
	CHECK(write(pipefd[1], "x", 1) == 1, "write");
	for (int i = 0; i < LOAD_THREADS; i++) {
		got = (long)join_within(load[i], "a loaded thread", 120);
		CHECK(got > 0, "loaded thread %d: %ld wrong results", i, -got);
	}
	CHECK((long)join_within(reader, "the blocked reader", 120) == 1,
	      "the read blocked across the escapes got the wrong result");
	printf("# %d escape/enter cycles with %d threads inside and a blocked read\n",
	       LOAD_CYCLES, LOAD_THREADS);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	int fds_before, fds_after;
	long rss_before, rss_after;

	CHECK(dune_escape() == -EINVAL, "escape while native should fail");
	signal(SIGUSR1, on_usr1);
	enter_dune();
	check_state_survives();
	check_native_mappings();
	for (int i = 0; i < 10; i++)	/* warm up: pools, caches */
		CHECK(dune_escape() == 0 && dune_enter() == 0, "cycle %d", i);
	fds_before = count_fds();
	rss_before = rss_kib();
	for (int i = 0; i < 1000; i++) {
		if (dune_escape() || dune_is_inside() || dune_enter() || !dune_is_inside()) {
			CHECK(0, "cycle %d failed: %s", i, dune_last_error());
			break;
		}
	}
	fds_after = count_fds();
	rss_after = rss_kib();
	printf("# 1000 escape/enter cycles: fds %d -> %d, RSS %ld -> %ld KiB\n", fds_before,
	       fds_after, rss_before, rss_after);
	CHECK(fds_after == fds_before, "fd count grew: %d -> %d", fds_before, fds_after);
	CHECK(rss_after - rss_before < 4096, "RSS grew by %ld KiB", rss_after - rss_before);
	check_escape_under_load();
	return finish();
}
