// SPDX-License-Identifier: MIT
/*
 * dune-bench: costs of running inside dune, measured in one run against
 * native execution and against the bare exit round trip of this host's KVM.
 * Every figure is the median of several batches (the machines are noisy).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dune.h"
#include "tool-arch.h"	/* tools/<isa>/: HAVE_BARE_EXIT, bare_exit_loop() */

#define BATCHES 7

static int iterations = 1000;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median over BATCHES of the mean cost of one call of fn, in ns. */
static double measure(void (*fn)(int n), int n)
{
	double t[BATCHES];

	for (int b = 0; b < BATCHES; b++) {
		double start = now_ns();

		fn(n);
		t[b] = (now_ns() - start) / n;
	}
	qsort(t, BATCHES, sizeof(t[0]), cmp_double);
	return t[BATCHES / 2];
}

static void getpid_loop(int n)
{
	for (int i = 0; i < n; i++)
		syscall(SYS_getpid);
}

static void nop_loop(int n)
{
	for (int i = 0; i < n; i++)
		syscall(DUNE_SYSCALL_NR, DUNE_OP_NOP);
}

static int pipe_fds[2];

static void pipe_loop(int n)
{
	char c = 'x';

	for (int i = 0; i < n; i++)
		if (write(pipe_fds[1], &c, 1) != 1 || read(pipe_fds[0], &c, 1) != 1)
			abort();
}

static void fork_loop(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			abort();
	}
}

/* Where a fork child's time goes (it reports its own counters). */
static void fork_breakdown(void)
{
	struct dune_stats st = { .size = sizeof(st) };
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		dune_get_stats(&st);
		_exit(write(fds[1], &st, sizeof(st)) != sizeof(st));
	}
	close(fds[1]);
	if (read(fds[0], &st, sizeof(st)) == sizeof(st))
		printf("%-36s %12.1f us  VM %.1f us, %lu memslots %.1f us, vCPU %.1f us\n",
		       "  fork child: building its VM",
		       (st.fork_vm_ns + st.fork_memslots_ns + st.fork_vcpu_ns) / 1e3,
		       st.fork_vm_ns / 1e3, (unsigned long)st.memslots, st.fork_memslots_ns / 1e3,
		       st.fork_vcpu_ns / 1e3);
	close(fds[0]);
	waitpid(pid, &status, 0);
}

static volatile int signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/* kill(self) -> handler -> rt_sigreturn */
static void signal_loop(int n)
{
	for (int i = 0; i < n; i++)
		kill(getpid(), SIGUSR1);
}

static char *barrier_page;
static long page_size;

/* Appel-Li write barrier: a write traps, the handler unprotects the page. */
static void unprotect(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	mprotect((void *)((uintptr_t)si->si_addr & ~(page_size - 1)), page_size,
		 PROT_READ | PROT_WRITE);
}

static void appel_li_loop(int n)
{
	for (int i = 0; i < n; i++) {
		mprotect(barrier_page, page_size, PROT_READ);
		barrier_page[i % page_size] = 1;
	}
}

static void escape_loop(int n)
{
	for (int i = 0; i < n; i++)
		if (dune_escape() || dune_enter())
			abort();
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_sigaction = unprotect, .sa_flags = SA_SIGINFO };

	signal(SIGUSR1, on_signal);
	sigaction(SIGSEGV, &sa, NULL);
	page_size = sysconf(_SC_PAGESIZE);
	barrier_page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void thread_loop(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_fn, NULL) || pthread_join(t, NULL))
			abort();
	}
}

/* First touch of fresh anonymous pages, per page. */
static double first_touch_ns(int pages)
{
	long page = sysconf(_SC_PAGESIZE);
	double best = 1e30;

	for (int b = 0; b < 3; b++) {
		volatile char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double start, t;

		if (p == MAP_FAILED)
			return -1;
		start = now_ns();
		for (int i = 0; i < pages; i++)
			p[(long)i * page] = 1;
		t = (now_ns() - start) / pages;
		best = t < best ? t : best;
		munmap((void *)p, pages * page);
	}
	return best;
}

/* Can this guest reach the host loop with a bare `out`?  Try in a child. */
static int bare_exit_available(void)
{
#if HAVE_BARE_EXIT
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (dune_enter() || syscall(DUNE_SYSCALL_NR, DUNE_OP_BARE_EXITS))
			_exit(1);
		bare_exit_loop(1);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
#else
	return 0;
#endif
}

/* Run fn(arg, out) in a fork child; its n results come back in out.  0 or -1. */
static int in_child(int (*fn)(const void *arg, double *out), const void *arg, double *out,
		    size_t n)
{
	ssize_t size = n * sizeof(*out);
	int fds[2], ok;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(fn(arg, out) || write(fds[1], out, size) != size);
	close(fds[1]);
	ok = pid > 0 && read(fds[0], out, size) == size;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok ? 0 : -1;
}

static int enter_once(const void *arg, double *out)
{
	double start = now_ns();

	(void)arg;
	*out = dune_enter() ? -1 : now_ns() - start;
	return 0;
}

/* Enter latency: first dune_enter() of a fresh process, median of children. */
static double enter_ns(void)
{
	double t[5];

	for (int i = 0; i < 5; i++)
		if (in_child(enter_once, NULL, &t[i], 1))
			t[i] = -1;
	qsort(t, 5, sizeof(t[0]), cmp_double);
	return t[2];
}

static void row(const char *name, double ns, const char *note)
{
	printf("%-36s %12.1f ns  %s\n", name, ns, note);
}

static void ratio(const char *name, double value, const char *target)
{
	printf("%-36s %12.3f x   %s\n", name, value, target);
}

static int pread_fd;
static char pread_buf[4096];

static void pread_loop(int n)
{
	for (int i = 0; i < n; i++)
		if (pread(pread_fd, pread_buf, sizeof(pread_buf), 0) != sizeof(pread_buf))
			abort();
}

/* A syscall the kernel module declines (not on its list): its fallback cost. */
static void declined_loop(int n)
{
	for (int i = 0; i < n; i++)
		syscall(SYS_getpriority, 0, 0);
}

/* --paths: the same calls natively, on the user-space path, on the kernel path. */
static const struct {
	const char *name;
	void (*fn)(int n);
} path_loads[] = {
	{ "getpid", getpid_loop },
	{ "1-byte pipe write+read", pipe_loop },
	{ "4 KiB pread", pread_loop },
	{ "getpriority (declined)", declined_loop },
};
#define NR_LOADS (sizeof(path_loads) / sizeof(path_loads[0]))
#define NR_PATHS 3
#define PATH_ROUNDS 5

static const char *const path_names[NR_PATHS] = { "native", "user", "kmod" };

/* One round of path *arg in this child: ns per call of each load. */
static int path_round(const void *arg, double *ns)
{
	int path = *(const int *)arg;

	setenv("DUNE_MODE", path_names[path], 1);
	if (path && dune_enter())
		return 1;
	for (size_t l = 0; l < NR_LOADS; l++)
		ns[l] = measure(path_loads[l].fn, iterations);
	return 0;
}

/* --paths=PNG also plots the table with gnuplot. */
static void plot_paths(const char *png, double best[NR_LOADS][NR_PATHS])
{
	FILE *gp = popen("gnuplot", "w");

	if (!gp) {
		fprintf(stderr, "dune-bench: gnuplot: %s\n", strerror(errno));
		return;
	}
	fprintf(gp, "set terminal png size 900,500\nset output '%s'\n"
		"set style data histograms\nset style fill solid\nset logscale y\n"
		"set ylabel 'ns per call (median of %d batches, best of %d rounds)'\n"
		"plot '-' using 2:xtic(1) title 'native', '' using 3 title 'user-space path', "
		"'' using 4 title 'kernel path'\n", png, BATCHES, PATH_ROUNDS);
	for (int p = 0; p < NR_PATHS; p++) {
		for (size_t l = 0; l < NR_LOADS; l++)
			fprintf(gp, "\"%s\" %f %f %f\n", path_loads[l].name, best[l][0], best[l][1],
				best[l][2]);
		fprintf(gp, "e\n");
	}
	if (pclose(gp))
		fprintf(stderr, "dune-bench: gnuplot failed: no %s\n", png);
}

/*
 * Interleaved rounds (native, user, kmod, native, ...) so that a noisy
 * machine disturbs the paths alike; each path's best round counts.
 */
static int bench_paths(const char *png)
{
	double best[NR_LOADS][NR_PATHS], ns[NR_LOADS];

	pread_fd = open("/proc/self/exe", O_RDONLY);
	if (pread_fd < 0 || pipe(pipe_fds)) {
		perror("dune-bench");
		return 1;
	}
	for (size_t l = 0; l < NR_LOADS; l++)
		for (int p = 0; p < NR_PATHS; p++)
			best[l][p] = -1;
	for (int r = 0; r < PATH_ROUNDS; r++) {
		for (int p = 0; p < NR_PATHS; p++) {
			if (in_child(path_round, &p, ns, NR_LOADS))
				continue;
			for (size_t l = 0; l < NR_LOADS; l++)
				if (best[l][p] < 0 || ns[l] < best[l][p])
					best[l][p] = ns[l];
		}
	}
	if (best[0][2] < 0) {
		fprintf(stderr, "dune-bench: DUNE_MODE=kmod: no usable dune kernel module\n");
		return 1;
	}
	printf("dune-bench %s --paths: %d calls per batch, median of %d batches, best of %d "
	       "interleaved rounds\n", DUNE_VERSION, iterations, BATCHES, PATH_ROUNDS);
	printf("%-24s %12s %12s %12s %12s\n", "ns per call", "native", "user path",
	       "kernel path", "kernel/user");
	for (size_t l = 0; l < NR_LOADS; l++)
		printf("%-24s %12.1f %12.1f %12.1f %12.3f\n", path_loads[l].name, best[l][0],
		       best[l][1], best[l][2], best[l][2] / best[l][1]);
	printf("targets: getpid kernel/user <= 0.5; declined kernel/user <= 1.02\n");
	if (png)
		plot_paths(png, best);
	return 0;
}

/* --programs: the real programs of tests/programs, inside vs. native. */
static int bench_programs(void)
{
	char self[4096], script[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(script, sizeof(script), "%s/tests/t-programs", self);
	if (access(script, X_OK)) {
		fprintf(stderr, "dune-bench: %s not found (run from the build tree)\n", script);
		return 1;
	}
	printf("real programs, wall time inside dune vs. natively (most: share of syscalls):\n");
	fflush(stdout);
	execl(script, script, "--bench", (char *)NULL);
	perror("dune-bench: exec");
	return 1;
}

int main(int argc, char **argv)
{
	double native_getpid, native_pipe, native_touch, enter, floor_out = -1;
	double nop, fwd_getpid, fwd_pipe, touch;
	double native_fork, native_thread, fork_inside, thread_inside;
	double native_signal, native_barrier, signal_inside, barrier_inside, escape;
	int bare, err;

	if (argc > 1 && !strcmp(argv[1], "--programs"))
		return bench_programs();
	if (argc > 1 && !strncmp(argv[1], "--paths", 7) && strchr("=", argv[1][7])) {
		if (argc > 2)
			iterations = atoi(argv[2]) > 0 ? atoi(argv[2]) : iterations;
		return bench_paths(argv[1][7] ? argv[1] + 8 : NULL);
	}
	if (argc > 1)
		iterations = atoi(argv[1]) > 0 ? atoi(argv[1]) : iterations;
	if (pipe(pipe_fds)) {
		perror("dune-bench: pipe");
		return 1;
	}
	native_getpid = measure(getpid_loop, iterations * 100);
	native_pipe = measure(pipe_loop, iterations * 10);
	native_touch = first_touch_ns(4096);
	setup_signals();
	native_signal = measure(signal_loop, iterations * 10);
	native_barrier = measure(appel_li_loop, iterations * 10);
	native_fork = measure(fork_loop, 20);
	native_thread = measure(thread_loop, 50);
	enter = enter_ns();
	bare = bare_exit_available();
	err = dune_enter();
	if (err) {
		fprintf(stderr, "dune-bench: dune_enter: %s\n", dune_last_error());
		return 1;
	}
#if HAVE_BARE_EXIT
	if (bare && !syscall(DUNE_SYSCALL_NR, DUNE_OP_BARE_EXITS))
		floor_out = measure(bare_exit_loop, iterations);
#endif
	nop = measure(nop_loop, iterations);
	fwd_getpid = measure(getpid_loop, iterations);
	fwd_pipe = measure(pipe_loop, iterations / 2);
	touch = first_touch_ns(4096);
	signal_inside = measure(signal_loop, iterations / 4 + 1);
	barrier_inside = measure(appel_li_loop, iterations / 4 + 1);
	escape = measure(escape_loop, 20);
	fork_inside = measure(fork_loop, 5);
	thread_inside = measure(thread_loop, 10);

	printf("dune-bench %s: %d iterations per batch, median of %d batches\n",
	       DUNE_VERSION, iterations, BATCHES);
	row("native getpid", native_getpid, "");
	if (bare)
		row("bare KVM exit round trip (floor)", floor_out, "guest `out` -> host loop -> guest");
	else
		printf("%-36s %12s     %s\n", "bare KVM exit round trip (floor)", "n/a",
		       "guest cannot `out` at CPL3 here; the syscall path below is the floor");
	row("syscall round trip, no work", nop, "guest `syscall` -> host loop -> guest");
	row("forwarded getpid", fwd_getpid, "");
	row("native 1-byte pipe write+read", native_pipe, "");
	row("forwarded 1-byte pipe write+read", fwd_pipe, "");
	row("native first-touch page fault", native_touch, "per 4 KiB page");
	row("first-touch page fault inside", touch, "per 4 KiB page");
	row("enter latency (first dune_enter)", enter, "");
	row("native fork+exit+wait", native_fork, "");
	row("fork+exit+wait inside", fork_inside, "the child builds a VM of its own");
	fork_breakdown();
	row("native signal round trip", native_signal, "kill(self) -> handler -> sigreturn");
	row("signal round trip inside", signal_inside, "the handler runs in the guest");
	row("native Appel-Li trap+unprotect", native_barrier, "mprotect RO, write, SIGSEGV, mprotect RW");
	row("Appel-Li trap+unprotect inside", barrier_inside, "");
	row("escape + enter cycle", escape, "dune_escape() then dune_enter()");
	row("native pthread_create+join", native_thread, "");
	row("pthread_create+join inside", thread_inside, "a pooled vCPU, a new host thread");
	if (!bare)
		floor_out = nop;
	ratio("forwarded getpid / native", fwd_getpid / native_getpid, "");
	ratio("forwarded getpid / floor", fwd_getpid / floor_out, "");
	ratio("forwarded getpid / (floor + native)", fwd_getpid / (floor_out + native_getpid),
	      "target <= 1.10");
	ratio("forwarded getpid / (no-work syscall + native)", fwd_getpid / (nop + native_getpid),
	      "host-loop overhead");
	ratio("pipe write+read / native", fwd_pipe / native_pipe, "");
	ratio("pipe write+read / (2 floor + native)", fwd_pipe / (2 * floor_out + native_pipe), "");
	ratio("first-touch fault / native", touch / native_touch, "");
	ratio("fork+exit+wait / native", fork_inside / native_fork, "target <= 20");
	ratio("pthread_create+join / native", thread_inside / native_thread, "");
	ratio("signal round trip / native", signal_inside / native_signal, "");
	ratio("signal round trip / floor", signal_inside / floor_out, "");
	ratio("Appel-Li loop / native", barrier_inside / native_barrier, "");
	ratio("Appel-Li loop / floor", barrier_inside / floor_out, "");
	ratio("first-touch fault / floor", touch / floor_out, "");
	return 0;
}
