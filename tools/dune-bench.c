// SPDX-License-Identifier: MIT
/*
 * dune-bench: costs of running inside dune, measured in one run against
 * native execution and against the bare exit round trip of this host's KVM.
 * Every figure is the median of several batches (the machines are noisy).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* 10,000 steps of an LCG chain per call: CPU-bound, nothing in it traps. */
static void cpu_loop(int n)
{
	uint64_t x = 1;

	for (long i = 0; i < 10000L * n; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		asm volatile("" : "+r"(x));
	}
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

/* Read size bytes (less only at EOF or on an error). */
static ssize_t read_full(int fd, void *buf, ssize_t size)
{
	ssize_t got = 0, n;

	while (got < size && ((n = read(fd, (char *)buf + got, size - got)) > 0 ||
			      (n < 0 && errno == EINTR)))
		got += n > 0 ? n : 0;
	return got;
}

/* Run fn(arg, out) in a fork child; its size bytes of results come back in out.  0 or -1. */
static int in_child(int (*fn)(const void *arg, void *out), const void *arg, void *out,
		    ssize_t size)
{
	int fds[2], ok;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0)
		_exit(fn(arg, out) || write(fds[1], out, size) != size);
	close(fds[1]);
	ok = pid > 0 && read_full(fds[0], out, size) == size;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok ? 0 : -1;
}

static int enter_once(const void *arg, void *out)
{
	double start = now_ns();

	(void)arg;
	*(double *)out = dune_enter() ? -1 : now_ns() - start;
	return 0;
}

/* Enter latency: first dune_enter() of a fresh process, median of children. */
static double enter_ns(void)
{
	double t[5];

	for (int i = 0; i < 5; i++)
		if (in_child(enter_once, NULL, &t[i], sizeof(t[i])))
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
#if HAVE_KVM_EXIT
	{ "KVM's own exit (cpuid)", kvm_exit_loop },	/* for scale: no syscall in it */
#endif
};
#define NR_LOADS (sizeof(path_loads) / sizeof(path_loads[0]))
#define DECLINED_LOAD 3
#define KVM_EXIT_LOAD 4
#define NR_PATHS 3
#define MAX_ROUNDS 99
#define MAX_PROGRAMS 16

static const char *const path_names[NR_PATHS] = { "native", "user", "kmod" };
static int path_rounds = 7, program_rounds = 3;

/* One load in one round's child: its cost, and who served its syscalls. */
struct path_sample {
	double ns;
	double kernel, user;		/* syscalls served in the kernel, in the host loop */
	double declined[DUNE_KERNEL_DECLINE_KINDS];
};

struct spread {
	double median, min, max;
};

static struct spread spread_of(const double *v, int n)
{
	double s[MAX_ROUNDS];

	if (!n)
		return (struct spread){ 0 };
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return (struct spread){ s[n / 2], s[0], s[n - 1] };
}

/* One round of path *arg in this child: a sample of each load. */
static int path_round(const void *arg, void *out)
{
	int path = *(const int *)arg;
	struct path_sample *s = out;

	if (path) {
		setenv("DUNE_MODE", path_names[path], 1);
		if (dune_enter())
			return 1;
	}
	for (size_t l = 0; l < NR_LOADS; l++) {
		struct dune_stats a = { .size = sizeof(a) }, b = { .size = sizeof(b) };

		dune_get_stats(&a);	/* zeros natively */
		s[l].ns = measure(path_loads[l].fn, iterations);
		dune_get_stats(&b);
		s[l].kernel = b.kernel_syscalls - a.kernel_syscalls;
		s[l].user = b.syscalls - a.syscalls;
		for (int i = 0; i < DUNE_KERNEL_DECLINE_KINDS; i++)
			s[l].declined[i] = b.kernel_declined[i] - a.kernel_declined[i];
	}
	return 0;
}

/* A real program of tests/programs, its runs in each path. */
struct program {
	char name[64];
	char script[PATH_MAX + 272];
	double ms[NR_PATHS][MAX_ROUNDS];
	int status[NR_PATHS][MAX_ROUNDS];
};

struct paths {
	struct path_sample loads[NR_PATHS][MAX_ROUNDS][NR_LOADS];
	struct program programs[MAX_PROGRAMS];
	int nr_programs;
	char missing[512];		/* programs this system lacks */
	char self[PATH_MAX];		/* the directory of dune-bench (and dune-run) */
	char work[PATH_MAX];		/* the programs' seed and runs */
};

static double load_ns(const struct paths *p, int path, int round, size_t l)
{
	return p->loads[path][round][l].ns;
}

static struct spread load_spread(const struct paths *p, int path, size_t l)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < path_rounds; r++)
		v[r] = load_ns(p, path, r, l);
	return spread_of(v, path_rounds);
}

/* kernel/user of each round (interleaved: the two ran close together). */
static struct spread load_ratio(const struct paths *p, size_t l)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < path_rounds; r++)
		v[r] = load_ns(p, 2, r, l) / load_ns(p, 1, r, l);
	return spread_of(v, path_rounds);
}

/*
 * KVM's own exit on the kernel path over getpid on the user path, in each
 * round: what an exit costs that never leaves the kernel and runs no
 * syscall, against the whole user path.  (Not a strict floor: KVM emulates
 * cpuid and, without NRIP save, decodes it to skip it.)
 */
static struct spread kvm_exit_share(const struct paths *p)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < path_rounds; r++)
		v[r] = load_ns(p, 2, r, KVM_EXIT_LOAD) / load_ns(p, 1, r, 0);
	return spread_of(v, path_rounds);
}

/* kernel/user of each path's fastest round: what a load elsewhere slowed least. */
static double best_ratio(const struct paths *p, size_t l)
{
	return load_spread(p, 2, l).min / load_spread(p, 1, l).min;
}

static struct spread program_spread(const struct program *g, int path)
{
	return spread_of(g->ms[path], program_rounds);
}

static struct spread program_ratio(const struct program *g)
{
	double v[MAX_ROUNDS];

	for (int r = 0; r < program_rounds; r++)
		v[r] = g->ms[2][r] / g->ms[1][r];
	return spread_of(v, program_rounds);
}

/* tests/t-programs --list: its cases as scripts in p->work/cases. */
static int list_programs(struct paths *p)
{
	char cmd[2 * PATH_MAX + 64], dir[PATH_MAX + 8];
	struct dirent **names;
	int n;

	snprintf(cmd, sizeof(cmd), "'%s/tests/t-programs' --list '%s'", p->self, p->work);
	if (system(cmd))
		return -1;
	snprintf(dir, sizeof(dir), "%s/cases", p->work);
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char *name = strchr(names[i]->d_name, '-'), *dot = strrchr(names[i]->d_name, '.');

		if (name && dot && !strcmp(dot, ".sh") && p->nr_programs < MAX_PROGRAMS) {
			struct program *g = &p->programs[p->nr_programs++];

			snprintf(g->name, sizeof(g->name), "%.*s", (int)(dot - name - 1), name + 1);
			snprintf(g->script, sizeof(g->script), "%s/%s", dir, names[i]->d_name);
		} else if (name && dot && !strcmp(dot, ".missing")) {
			size_t len = strlen(p->missing);

			snprintf(p->missing + len, sizeof(p->missing) - len, "%s%.*s",
				 len ? ", " : "", (int)(dot - name - 1), name + 1);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return n < 0 ? -1 : 0;
}

/* One run of g in path: a fresh copy of the seed, its wall time in ms. */
static double run_program(const struct paths *p, const struct program *g, int path, int *status)
{
	char cmd[3 * PATH_MAX + 64], run[PATH_MAX + 8], dune_run[PATH_MAX + 16];
	double start;
	pid_t pid;

	snprintf(run, sizeof(run), "%s/run", p->work);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -r '%s/seed' '%s'", run, p->work, run);
	if (system(cmd))
		return *status = -1;
	snprintf(dune_run, sizeof(dune_run), "%s/dune-run", p->self);
	snprintf(cmd, sizeof(cmd), "--mode=%s", path_names[path]);
	start = now_ns();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (chdir(run) || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0)
			_exit(126);
		if (path)
			execl(dune_run, dune_run, "-q", cmd, "sh", g->script, (char *)NULL);
		else
			execl("/bin/sh", "sh", g->script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, status, 0) != pid)
		*status = -1;
	return (now_ns() - start) / 1e6;
}

/* Interleaved rounds (native, user, kmod, native, ...): a noisy machine disturbs all alike. */
static int run_paths(struct paths *p)
{
	for (int r = 0; r < path_rounds; r++) {
		for (int path = 0; path < NR_PATHS; path++)
			if (in_child(path_round, &path, p->loads[path][r], sizeof(p->loads[path][r]))) {
				fprintf(stderr, "dune-bench: DUNE_MODE=%s: %s\n", path_names[path],
					path == 2 ? "no usable dune kernel module" : "cannot enter dune");
				return 1;
			}
		fprintf(stderr, "dune-bench: calls, round %d of %d\n", r + 1, path_rounds);
	}
	for (int r = 0; r < program_rounds && p->nr_programs; r++) {
		for (int i = 0; i < p->nr_programs; i++)
			for (int path = 0; path < NR_PATHS; path++)
				p->programs[i].ms[path][r] =
					run_program(p, &p->programs[i], path,
						    &p->programs[i].status[path][r]);
		fprintf(stderr, "dune-bench: programs, round %d of %d\n", r + 1, program_rounds);
	}
	return 0;
}

/* Of the kernel path's syscalls for load l, how many the module served (%), "-" if none. */
static void print_kernel_share(FILE *f, const struct paths *p, size_t l)
{
	double kernel = 0, user = 0;

	for (int r = 0; r < path_rounds; r++) {
		kernel += p->loads[2][r][l].kernel;
		user += p->loads[2][r][l].user;
	}
	if (kernel + user)
		fprintf(f, " %8.1f%%\n", 100 * kernel / (kernel + user));
	else
		fprintf(f, " %9s\n", "-");
}

static const char *const decline_names[DUNE_KERNEL_DECLINE_KINDS] = {
	"policy", "thread", "restart", "state", "disabled",
};

/* The reasons the module gave for the kernel path's declines of load l. */
static void print_declines(FILE *f, const struct paths *p, size_t l)
{
	const char *sep = "";

	fprintf(f, "%s on the kernel path, declined by the module:", path_loads[l].name);
	for (int i = 0; i < DUNE_KERNEL_DECLINE_KINDS; i++) {
		double n = 0;

		for (int r = 0; r < path_rounds; r++)
			n += p->loads[2][r][l].declined[i];
		if (n)
			fprintf(f, "%s %s %.0f", sep, decline_names[i], n);
		sep = n ? "," : sep;
	}
	fprintf(f, "%s\n", *sep ? "" : " none");
}

static void print_spread(FILE *f, struct spread s, const char *fmt)
{
	char cell[80], num[3][24];

	snprintf(num[0], sizeof(num[0]), fmt, s.median);
	snprintf(num[1], sizeof(num[1]), fmt, s.min);
	snprintf(num[2], sizeof(num[2]), fmt, s.max);
	snprintf(cell, sizeof(cell), "%s [%s..%s]", num[0], num[1], num[2]);
	fprintf(f, " %26s", cell);
}

static void print_table(FILE *f, const struct paths *p)
{
	struct spread over = load_ratio(p, DECLINED_LOAD), getpid = load_ratio(p, 0);

	fprintf(f, "dune-bench %s --paths: %d calls per batch, median of %d batches; %d "
		"interleaved rounds: median [min..max] over the rounds\n", DUNE_VERSION,
		iterations, BATCHES, path_rounds);
	fprintf(f, "%-24s %26s %26s %26s %26s %9s\n", "ns per call", "native", "user path",
		"kernel path", "kernel/user", "in kernel");
	for (size_t l = 0; l < NR_LOADS; l++) {
		fprintf(f, "%-24s", path_loads[l].name);
		for (int path = 0; path < NR_PATHS; path++)
			print_spread(f, load_spread(p, path, l), "%.1f");
		print_spread(f, load_ratio(p, l), "%.3f");
		print_kernel_share(f, p, l);
	}
	fprintf(f, "in kernel: the share of the kernel path's syscalls the module served\n");
	for (size_t l = 0; l < NR_LOADS; l++)
		if (l != KVM_EXIT_LOAD)
			print_declines(f, p, l);
	fprintf(f, "getpid kernel/user: %.3f [%.3f..%.3f] over the rounds, %.3f of the best "
		"rounds (target <= 0.5)\n", getpid.median, getpid.min, getpid.max,
		best_ratio(p, 0));
	if (HAVE_KVM_EXIT) {
		struct spread share = kvm_exit_share(p);

		fprintf(f, "KVM's own exit on the kernel path / getpid on the user path: %.3f "
			"[%.3f..%.3f] over the rounds (an exit that stays in the kernel, no "
			"syscall)\n", share.median, share.min, share.max);
	}
	fprintf(f, "declined syscall, module attached vs. DUNE_MODE=user (none): %+.1f%% "
		"[%+.1f%%..%+.1f%%] over the rounds, %+.1f%% of the best rounds (target <= +2%%)\n",
		100 * over.median - 100, 100 * over.min - 100, 100 * over.max - 100,
		100 * best_ratio(p, DECLINED_LOAD) - 100);
	if (!p->nr_programs && !*p->missing)
		return;
	fprintf(f, "\nreal programs (tests/programs), ms per run; %d interleaved rounds: median "
		"[min..max]\n", program_rounds);
	fprintf(f, "%-24s %26s %26s %26s %26s\n", "ms per run", "native", "dune-run --mode=user",
		"dune-run --mode=kmod", "kernel/user");
	for (int i = 0; i < p->nr_programs; i++) {
		const struct program *g = &p->programs[i];
		int differs = -1;

		fprintf(f, "%-24s", g->name);
		for (int path = 0; path < NR_PATHS; path++)
			print_spread(f, program_spread(g, path), "%.0f");
		print_spread(f, program_ratio(g), "%.3f");
		for (int r = 0; r < program_rounds && differs < 0; r++)
			if (g->status[1][r] != g->status[0][r] || g->status[2][r] != g->status[0][r])
				differs = r;
		if (differs >= 0)
			fprintf(f, "  exit status differs: native %#x, user %#x, kmod %#x",
				g->status[0][differs], g->status[1][differs], g->status[2][differs]);
		fprintf(f, "\n");
	}
	if (*p->missing)
		fprintf(f, "not run (not installed here): %s\n", p->missing);
}

/*
 * paths.dat for gnuplot: index 0 the calls (ns), index 1 the programs
 * (ms); each row median, min, max of native, user and kernel path.
 */
static void write_data(FILE *f, const struct paths *p)
{
	fprintf(f, "# name, then median min max of native, user path, kernel path\n");
	for (size_t l = 0; l < NR_LOADS; l++) {
		fprintf(f, "\"%s\"", path_loads[l].name);
		for (int path = 0; path < NR_PATHS; path++) {
			struct spread s = load_spread(p, path, l);

			fprintf(f, " %f %f %f", s.median, s.min, s.max);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n\n");
	for (int i = 0; i < p->nr_programs; i++) {
		fprintf(f, "\"%s\"", p->programs[i].name);
		for (int path = 0; path < NR_PATHS; path++) {
			struct spread s = program_spread(&p->programs[i], path);

			fprintf(f, " %f %f %f", s.median, s.min, s.max);
		}
		fprintf(f, "\n");
	}
}

static void write_plot(FILE *f, const struct paths *p)
{
	static const char *const titles[NR_PATHS] = { "native", "user-space path",
						      "kernel path" };

	fprintf(f, "set terminal png size %d,500\nset output 'paths.png'\n"
		"set multiplot layout 1,%d title 'dune-bench --paths: median and range over "
		"the rounds'\nset style data histograms\n"
		"set style histogram errorbars gap 1 lw 1\nset style fill solid border -1\n"
		"set xtics rotate by -30 scale 0\nset key top left\n", p->nr_programs ? 1400 : 800,
		p->nr_programs ? 2 : 1);
	for (int set = 0; set < (p->nr_programs ? 2 : 1); set++) {
		fprintf(f, "%s\nset ylabel '%s'\nplot", set ? "unset logscale y" :
			"set logscale y", set ? "ms per run" : "ns per call");
		for (int path = 0; path < NR_PATHS; path++)
			fprintf(f, "%s 'paths.dat' index %d using %d:%d:%d%s title '%s'",
				path ? "," : "", set, 2 + 3 * path, 3 + 3 * path, 4 + 3 * path,
				path ? "" : ":xtic(1)", titles[path]);
		fprintf(f, "\n");
	}
	fprintf(f, "unset multiplot\n");
}

static int write_file(const char *dir, const char *name, const struct paths *p,
		      void (*fn)(FILE *f, const struct paths *p))
{
	char path[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "dune-bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fn(f, p);
	return fclose(f) ? -1 : 0;
}

/* gnuplot paths.gp in dir: paths.png, or one line saying why not. */
static void plot(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (chdir(dir) == 0)
			execlp("gnuplot", "gnuplot", "paths.gp", (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0)
		return;
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
		printf("dune-bench: no gnuplot here (package gnuplot-nox): no %s/paths.png; "
		       "`gnuplot paths.gp` in that directory draws it\n", dir);
	else
		printf("dune-bench: gnuplot failed: no %s/paths.png\n", dir);
}

/*
 * --paths[=DIR]: the table on stdout; with DIR also paths.txt (the table),
 * paths.dat, paths.gp and, where gnuplot is installed, paths.png there.
 */
static int bench_paths(const char *dir)
{
	static struct paths p;
	char tmpl[] = "/tmp/dune-bench-XXXXXX", cmd[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	ssize_t n = readlink("/proc/self/exe", p.self, sizeof(p.self) - 1);
	int err;

	pread_fd = open("/proc/self/exe", O_RDONLY);
	if (n <= 0 || pread_fd < 0 || pipe(pipe_fds)) {
		perror("dune-bench");
		return 1;
	}
	p.self[n] = '\0';
	*strrchr(p.self, '/') = '\0';
	snprintf(p.work, sizeof(p.work), "%s/dune-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(p.work) && !mkdtemp(strcpy(p.work, tmpl))) {
		perror("dune-bench: mkdtemp");
		return 1;
	}
	if (program_rounds && list_programs(&p))
		printf("dune-bench: %s/tests/t-programs --list failed: no real programs\n", p.self);
	err = run_paths(&p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p.work);
	if (system(cmd))
		fprintf(stderr, "dune-bench: could not remove %s\n", p.work);
	if (err)
		return 1;
	print_table(stdout, &p);
	fflush(stdout);
	if (!dir)
		return 0;
	if (write_file(dir, "paths.txt", &p, print_table) ||
	    write_file(dir, "paths.dat", &p, write_data) ||
	    write_file(dir, "paths.gp", &p, write_plot))
		return 1;
	plot(dir);
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

/* --paths[=DIR] [CALLS [ROUNDS [PROGRAM_ROUNDS]]] */
static int paths_main(int argc, char **argv)
{
	int *const args[] = { &iterations, &path_rounds, &program_rounds };
	const int min[] = { 1, 1, 0 };

	for (int i = 2; i < argc; i++) {
		char *end;
		long v = strtol(argv[i], &end, 10);

		if (i - 2 >= 3 || *end || end == argv[i] || v < min[i - 2] || v > (i > 2 ? MAX_ROUNDS : 1L << 24)) {
			fprintf(stderr, "dune-bench: usage: dune-bench --paths[=DIR] [CALLS [ROUNDS "
				"[PROGRAM_ROUNDS]]] (rounds 1..%d, program rounds 0..%d)\n",
				MAX_ROUNDS, MAX_ROUNDS);
			return 2;
		}
		*args[i - 2] = v;
	}
	return bench_paths(argv[1][7] ? argv[1] + 8 : NULL);
}

int main(int argc, char **argv)
{
	double native_getpid, native_pipe, native_touch, enter, floor_out = -1;
	double native_cpu, cpu_inside;
	double nop, fwd_getpid, fwd_pipe, touch;
	double native_fork, native_thread, fork_inside, thread_inside;
	double native_signal, native_barrier, signal_inside, barrier_inside, escape;
	int bare, err;

	if (argc > 1 && !strcmp(argv[1], "--programs"))
		return bench_programs();
	if (argc > 1 && !strncmp(argv[1], "--paths", 7) && strchr("=", argv[1][7]))
		return paths_main(argc, argv);
	if (argc > 1)
		iterations = atoi(argv[1]) > 0 ? atoi(argv[1]) : iterations;
	if (pipe(pipe_fds)) {
		perror("dune-bench: pipe");
		return 1;
	}
	native_getpid = measure(getpid_loop, iterations * 100);
	native_cpu = measure(cpu_loop, iterations);
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
	cpu_inside = measure(cpu_loop, iterations);
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
	row("native CPU-bound loop", native_cpu, "10,000 steps of an LCG chain");
	row("CPU-bound loop inside", cpu_inside, "");
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
	ratio("CPU-bound loop / native", cpu_inside / native_cpu, "target <= 1.05");
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
