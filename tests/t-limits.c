/* SPDX-License-Identifier: MIT */
/*
 * Resource limits, natively and inside dune.  Near RLIMIT_NPROC a fork fails
 * with EAGAIN and no child is seen (never a hang, never a child outside the
 * VM), although KVM's worker thread of each VM counts there.  RLIMIT_NOFILE:
 * a tiny limit fails dune_enter() naming it (once), a small one still
 * enters; with room above the soft limit the program keeps every fd it has
 * natively, and a full table still lets it make threads and processes (with
 * none above it, processes); a
 * limit lowered inside still lets it fork.  RLIMIT_AS too small for dune's
 * area fails dune_enter() naming it.  A native seccomp filter refusing
 * process_vm_readv fails dune_enter() naming it (or sigaction works).
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/syscall.h>

#include <sys/mman.h>

#include "check.h"
#include "deny-filter.h"

#define NPROC_LIMIT	13	/* odd: the last child's clone works, its VM's worker not */
#define NOT_INSIDE	99
#define TIME_LIMIT	120	/* seconds: a hang fails the check, not the suite */
#define MAX_CHILDREN	64

static int inside;		/* the mode of this child: 0 native, 1 inside dune */

static int run_fn(void *fn)
{
	check_failures = 0;	/* the child's own */
	return ((int (*)(void))fn)();
}

/* A child of the test process (exit status: its failures). */
static int mode_status(int (*fn)(void), int mode, char *out, size_t size)
{
	inside = mode;
	return run_child(run_fn, (void *)fn, out, size);
}

static void enter_if_inside(void)
{
	alarm(TIME_LIMIT);
	if (inside)
		enter_dune();
}

static volatile sig_atomic_t nr_chld;
static volatile pid_t chld_pid[MAX_CHILDREN * 2];

static void on_chld(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (nr_chld < MAX_CHILDREN * 2)
		chld_pid[nr_chld++] = si->si_pid;
}

/* Real uid of its own (root is exempt from RLIMIT_NPROC), root's file access. */
static int become_limited_user(rlim_t nproc)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	struct rlimit lim = { nproc, nproc };
	uid_t uid = 200000 + getpid() % 100000;

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective &= ~((1u << CAP_SYS_RESOURCE) | (1u << CAP_SYS_ADMIN));
	if (setresuid(uid, 0, 0) || syscall(SYS_capset, &h, d) || setrlimit(RLIMIT_NPROC, &lim))
		return -1;
	return 0;
}

/* Forks until the kernel says no; each child waits for the pipe's EOF. */
static int nproc_child(void)
{
	struct sigaction sa = { .sa_sigaction = on_chld, .sa_flags = SA_SIGINFO | SA_RESTART };
	pid_t pids[MAX_CHILDREN];
	int p[2], n = 0, err = 0, reaped = 0, status, stray = 0;

	if (become_limited_user(NPROC_LIMIT) || pipe(p))
		return 100;
	enter_if_inside();
	sigaction(SIGCHLD, &sa, NULL);
	while (n < MAX_CHILDREN) {
		pid_t pid = fork();
		char c;

		if (pid == 0) {
			close(p[1]);
			if (read(p[0], &c, 1) < 0)
				_exit(2);
			_exit(dune_is_inside() == inside ? 0 : NOT_INSIDE);
		}
		if (pid < 0) {
			err = errno;
			break;
		}
		pids[n++] = pid;
	}
	close(p[1]);
	for (int i = 0; i < n; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0, "child %d: %s (%d: wrong side of dune)", i,
		      status_str(status), NOT_INSIDE);
		reaped++;
	}
	CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD,
	      "a child fork() did not return is there");
	CHECK(err == EAGAIN, "fork after %d children: %s, expected EAGAIN", n, strerror(err));
	for (int i = 0; i < nr_chld; i++) {
		int known = 0;

		for (int j = 0; j < n; j++)
			known |= chld_pid[i] == pids[j];
		stray += !known;
	}
	CHECK(stray == 0, "%d SIGCHLD from children fork() did not return", stray);
	printf("%d forks\n", reaped);
	return finish();
}

static void check_nproc(void)
{
	char out[2][4096];
	int status[2], forks[2] = { 0, 0 };

	if (geteuid() != 0) {
		printf("# RLIMIT_NPROC: needs root to set up a user of its own\n");
		return;
	}
	for (int m = 0; m < 2; m++) {
		status[m] = mode_status(nproc_child, m, out[m], sizeof(out[m]));
		CHECK(WIFEXITED(status[m]) && WEXITSTATUS(status[m]) == 0,
		      "%s under RLIMIT_NPROC %d: %s, output:\n%s", m ? "inside" : "native",
		      NPROC_LIMIT, status_str(status[m]), out[m]);
		sscanf(out[m], "%d forks", &forks[m]);
	}
	CHECK(forks[1] > 0, "no fork worked inside dune");
	printf("# RLIMIT_NPROC %d: %d forks natively, %d inside dune\n", NPROC_LIMIT,
	       forks[0], forks[1]);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *at = hay; (at = strstr(at, needle)); at++)
		n++;
	return n;
}

static void *thread_inside(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)(dune_is_inside() == inside);
}

/* A fork child on the right side of dune. */
static void fork_child(const char *when)
{
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(dune_is_inside() == inside ? 7 : NOT_INSIDE);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 7, "%s: fork child: %s (%s; %d: wrong side)", when,
	      status_str(status), pid < 0 ? strerror(errno) : "forked", NOT_INSIDE);
}

/* A thread and a fork child on the right side of dune (0: both). */
static int thread_and_fork(const char *when)
{
	pthread_t t;
	void *ok = NULL;
	int err = pthread_create(&t, NULL, thread_inside, NULL);

	CHECK(err == 0, "%s: pthread_create: %s", when, strerror(err));
	if (!err)
		pthread_join(t, &ok);
	CHECK(err || ok, "%s: thread on the wrong side of dune", when);
	fork_child(when);
	return check_failures;
}

/* Under lim, inside dune or not, dup stdin into fds[] until the table is full: how many. */
static int fill_table(struct rlimit lim, int fds[64])
{
	int n = 0;

	if (setrlimit(RLIMIT_NOFILE, &lim))
		exit(100);
	enter_if_inside();
	while (n < 64 && (fds[n] = dup(0)) >= 0)
		n++;
	CHECK(errno == EMFILE, "dup: %s", strerror(errno));
	return n;
}

/* soft = hard = 3: no fd is free, so dune cannot enter; it says why, once. */
static int nofile_none(void)
{
	struct rlimit lim = { 3, 3 };
	int ret;

	alarm(TIME_LIMIT);
	setrlimit(RLIMIT_NOFILE, &lim);
	ret = dune_enter();
	CHECK(ret == -EMFILE, "dune_enter() = %d, expected -EMFILE", ret);
	CHECK(count(dune_last_error(), "RLIMIT_NOFILE") == 1, "message: %s", dune_last_error());
	printf("%s\n", dune_last_error());
	return finish();
}

/* soft = hard = 8: dune's fds take the top, the program's first open is 3. */
static int nofile_small(void)
{
	struct rlimit lim = { 8, 8 };
	int fd;

	setrlimit(RLIMIT_NOFILE, &lim);
	enter_if_inside();
	fd = open("/dev/null", O_RDONLY);
	CHECK(fd == 3, "first open: %d", fd);
	close(fd);
	thread_and_fork("RLIMIT_NOFILE 8");
	return finish();
}

/* Room above the soft limit: the program has as many fds as natively. */
static int nofile_full(void)
{
	int fds[64], n = fill_table((struct rlimit){ 32, 4096 }, fds);
	char *big;

	printf("%d fds free under RLIMIT_NOFILE 32\n", n);
	thread_and_fork("full fd table");
	/* a first touch that makes dune read /proc/self/maps */
	big = mmap(NULL, 256 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED, "mmap 256 MiB: %s", strerror(errno));
	if (big != MAP_FAILED) {
		big[200 << 20] = 1;
		CHECK(big[200 << 20] == 1, "a touch of a large mapping with a full fd table");
		munmap(big, 256 << 20);
	}
	while (n > 0)
		close(fds[--n]);
	return finish();
}

/*
 * soft = hard and the table full: a fork child still enters (it reports to
 * its parent without an fd).  A thread could not: its vCPU needs one.
 */
static int nofile_full_hard(void)
{
	int fds[64], n = fill_table((struct rlimit){ 32, 32 }, fds);

	fork_child("fork with the table full, soft = hard");
	while (n > 0)
		close(fds[--n]);
	return finish();
}

/* ulimit -n 64 inside: dune's fds are above it now, yet a fork child enters. */
static int nofile_lowered(void)
{
	struct rlimit lim = { 64, 64 };

	enter_if_inside();
	CHECK(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit: %s", strerror(errno));
	CHECK(dup2(0, 63) == 63, "dup2(0, 63): %s", strerror(errno));
	close(63);
	thread_and_fork("RLIMIT_NOFILE lowered to 64");
	return finish();
}

static void check_nofile(void)
{
	static int (*const fns[])(void) = { nofile_small, nofile_full, nofile_full_hard,
					    nofile_lowered };
	char out[2][4096];
	int status;

	for (unsigned int i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		for (int m = 0; m < 2; m++) {
			status = mode_status(fns[i], m, out[m], sizeof(out[m]));
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "RLIMIT_NOFILE case %u %s: %s, output:\n%s", i,
			      m ? "inside" : "native", status_str(status), out[m]);
		}
		CHECK(!strcmp(out[0], out[1]), "RLIMIT_NOFILE case %u: native said\n%s\ninside:\n%s",
		      i, out[0], out[1]);
		if (*out[1])
			printf("# inside: %s", out[1]);
	}
	status = mode_status(nofile_none, 1, out[0], sizeof(out[0]));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "RLIMIT_NOFILE 3: %s, output:\n%s", status_str(status), out[0]);
	printf("# RLIMIT_NOFILE 3: %s", out[0]);
}

/* Address space: what the program has now, plus 64 MiB. */
static int as_small(void)
{
	unsigned long pages = 0;
	struct rlimit lim;
	FILE *f = fopen("/proc/self/statm", "r");
	void *p;
	int ret = 0;

	alarm(TIME_LIMIT);
	if (!f || fscanf(f, "%lu", &pages) != 1)
		return 100;
	fclose(f);
	lim.rlim_cur = lim.rlim_max = pages * 4096 + (64UL << 20);
	setrlimit(RLIMIT_AS, &lim);
	if (inside)
		ret = dune_enter();
	if (ret) {
		CHECK(ret == -ENOMEM && strstr(dune_last_error(), "RLIMIT_AS"),
		      "dune_enter() = %d: %s", ret, dune_last_error());
		printf("%s\n", dune_last_error());
		return finish();
	}
	p = malloc(16 << 20);
	CHECK(p != NULL, "malloc of 16 MiB under RLIMIT_AS");
	free(p);
	return finish();
}

static void check_as(void)
{
	char out[4096];

	for (int m = 0; m < 2; m++) {
		int status = mode_status(as_small, m, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "RLIMIT_AS %s: %s, output:\n%s", m ? "inside" : "native",
		      status_str(status), out);
	}
	printf("# RLIMIT_AS 64 MiB above use: %s", out[0] ? out : "entered\n");
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	got_usr1 = sig;
}

/* A native filter that refuses process_vm_readv with EPERM. */
static int seccomp_child(void)
{
	int ret = 0;

	alarm(TIME_LIMIT);
	if (deny_syscall(SYS_process_vm_readv, EPERM))
		return 100;
	if (inside)
		ret = dune_enter();
	if (ret) {
		CHECK(strstr(dune_last_error(), "process_vm_readv") != NULL,
		      "dune_enter() = %d: %s", ret, dune_last_error());
		printf("%s\n", dune_last_error());
		return finish();
	}
	CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR, "signal: %s", strerror(errno));
	raise(SIGUSR1);
	CHECK(got_usr1 == SIGUSR1, "SIGUSR1 handler did not run");
	return finish();
}

static void check_seccomp(void)
{
	char out[4096];

	for (int m = 0; m < 2; m++) {
		int status = mode_status(seccomp_child, m, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "filter refusing process_vm_readv, %s: %s, output:\n%s",
		      m ? "inside" : "native", status_str(status), out);
	}
	printf("# process_vm_readv refused: %s", out[0] ? out : "works\n");
}

int main(void)
{
	check_nproc();
	check_nofile();
	check_as();
	check_seccomp();
	return finish();
}
