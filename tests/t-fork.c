/* SPDX-License-Identifier: MIT */
/*
 * New processes from inside dune.  A fork() child runs inside dune too, in a
 * VM of its own built from the parent's state: its own memory, the same
 * files (pipes work across fork), exit statuses and fatal signals reach
 * waitpid() as natively, grandchildren likewise, a thread can fork, and 200
 * forks leave the parent without extra descriptors or memory.  vfork(),
 * posix_spawn() and system() run programs while the parent waits, and
 * posix_spawn() reports a failed exec as it does natively.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <time.h>

#include "check.h"

#define NOT_INSIDE	99	/* exit status of a fork child outside dune */
#define MANY_FORKS	200
#define RSS_SLACK	(8L << 20)
#define BIG_MAP		(128L << 20)	/* mapped lazily inside dune */

extern char **environ;

static int shared_value = 1;
static int *volatile unmapped = (int *)16;	/* volatile: a real store */

/* fork(); the child first makes sure it is inside dune. */
static pid_t fork_inside(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0 && dune_is_inside() != 1) {
		fprintf(stderr, "fork child %d is not inside dune\n", getpid());
		_exit(NOT_INSIDE);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int status = -1;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

static int exited_with(int status, int code)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static int killed_by(int status, int sig)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

/* Entries of /proc/self/fd, without the listing's own descriptor. */
static int count_fds(const char *only_target)
{
	char target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;
	ssize_t len;

	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || atoi(d->d_name) == dirfd(dir))
			continue;
		if (only_target) {
			len = readlinkat(dirfd(dir), d->d_name, target,
					 sizeof(target) - 1);
			target[len > 0 ? len : 0] = '\0';
			if (strcmp(target, only_target))
				continue;
		}
		n++;
	}
	closedir(dir);
	return n;
}

/* Resident set size in bytes, from /proc/self/statm. */
static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static void check_fork(pid_t parent)
{
	int p[2], status;
	char line[128] = "";
	ssize_t n;
	pid_t pid;

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* the child: its own memory, its own pid, the same files */
		shared_value = 2;
		dprintf(p[1], "pid-ok=%d ppid-ok=%d inside=%d vm-fds=%d",
			getpid() != parent, getppid() == parent,
			dune_is_inside(), count_fds("anon_inode:kvm-vm"));
		_exit(5);
	}
	CHECK(pid > 0, "fork: %s", strerror(errno));
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	close(p[0]);
	status = wait_status(pid);
	CHECK(exited_with(status, 5), "fork child: %s", status_str(status));
	CHECK(n > 0 && !strncmp(line, "pid-ok=1 ppid-ok=1 inside=1", 27),
	      "fork child said \"%s\"", line);
	/* the child closed the parent's VM: it has at most its own */
	CHECK(n > 0 && (strstr(line, "vm-fds=0") || strstr(line, "vm-fds=1")),
	      "fork child kept the parent's VM: \"%s\"", line);
	printf("# fork child: %s\n", line);
	CHECK(shared_value == 1, "child's store reached the parent");
	CHECK(dune_is_inside() == 1 && getpid() == parent,
	      "parent not inside after fork");
}

/* The child starts from the parent's memory; each then writes its own. */
static int memory_child(char *big, char *heap)
{
	long off;

	for (off = 0; off < BIG_MAP; off += BIG_MAP / 16)
		if (big[off] != (char)(off >> 20) + 1)
			return 1;
	if (strcmp(heap, "from the parent"))
		return 2;
	for (off = 0; off < BIG_MAP; off += BIG_MAP / 16)
		big[off] = 'c';
	strcpy(heap, "from the child");
	return big[BIG_MAP - 1] == 0 ? 0 : 3;	/* never touched */
}

static void check_fork_memory(void)
{
	char *big, *heap = malloc(64);
	int status;
	long off;
	pid_t pid;

	big = mmap(NULL, BIG_MAP, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED && heap, "mmap: %s", strerror(errno));
	if (big == MAP_FAILED || !heap)
		return;
	for (off = 0; off < BIG_MAP; off += BIG_MAP / 16)
		big[off] = (char)(off >> 20) + 1;
	strcpy(heap, "from the parent");
	pid = fork_inside();
	if (pid == 0)
		_exit(memory_child(big, heap));
	status = wait_status(pid);
	CHECK(exited_with(status, 0), "fork child saw other memory: %s "
	      "(1: mapping, 2: heap, 3: untouched page)", status_str(status));
	for (off = 0; off < BIG_MAP && big[off] == (char)(off >> 20) + 1;)
		off += BIG_MAP / 16;
	CHECK(off >= BIG_MAP && !strcmp(heap, "from the parent"),
	      "the child's stores reached the parent");
	munmap(big, BIG_MAP);
	free(heap);
}

/* _exit codes and fatal signals, each as waitpid() sees them natively. */
static void check_exit_statuses(void)
{
	static const int codes[] = { 0, 1, 42, 128, 255 };
	const struct timespec ms20 = { 0, 20 * 1000 * 1000 };
	int i, status, p[2];
	pid_t pid;
	char c;

	for (i = 0; i < (int)(sizeof(codes) / sizeof(codes[0])); i++) {
		pid = fork_inside();
		if (pid == 0)
			_exit(codes[i]);
		status = wait_status(pid);
		CHECK(exited_with(status, codes[i]), "child: %s, expected exit %d",
		      status_str(status), codes[i]);
	}

	/* exit() (not _exit) from inside the child flushes its stdio */
	pid = fork_inside();
	if (pid == 0) {
		printf("# exit() from a fork child flushed this\n");
		exit(17);
	}
	status = wait_status(pid);
	CHECK(exited_with(status, 17), "exit(17) child: %s", status_str(status));

	/* a child blocked in a system call is killed from outside */
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pid = fork_inside();
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], "", 1) == 1)
			pause();
		_exit(3);
	}
	close(p[1]);
	CHECK(read(p[0], &c, 1) == 1, "the pausing child did not start");
	close(p[0]);
	nanosleep(&ms20, NULL);		/* into pause() */
	CHECK(pid > 0 && kill(pid, SIGTERM) == 0, "kill: %s", strerror(errno));
	status = wait_status(pid);
	CHECK(killed_by(status, SIGTERM), "paused child after SIGTERM: %s",
	      status_str(status));
}

static void fault_now(void)
{
	const struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	*unmapped = 1;
}

/* A child that faults dies of the signal; the parent sees it. */
static void check_fatal_signals(void)
{
	int status;
	pid_t pid;

	pid = fork_inside();
	if (pid == 0) {
		fault_now();
		_exit(0);
	}
	status = wait_status(pid);
	CHECK(killed_by(status, SIGSEGV), "faulting child: %s, expected SIGSEGV",
	      status_str(status));

	pid = fork_inside();
	if (pid == 0) {
		const struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		abort();
	}
	status = wait_status(pid);
	CHECK(killed_by(status, SIGABRT), "aborting child: %s, expected SIGABRT",
	      status_str(status));
	CHECK(dune_is_inside() == 1, "parent left dune after a child's fault");
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}

/* The child uppercases what the parent sends, then writes 256 KiB. */
static int pipe_child(int in, int out)
{
	static unsigned char big[256 << 10];
	char buf[16] = "";
	size_t i;

	if (read(in, buf, 5) != 5)
		return 1;
	for (i = 0; i < 5; i++)
		buf[i] = buf[i] - 'a' + 'A';
	for (i = 0; i < sizeof(big); i++)
		big[i] = pattern(i);
	if (write(out, buf, 5) != 5 || write(out, big, sizeof(big)) != sizeof(big))
		return 2;
	return read(in, buf, 1) == 0 ? 0 : 3;	/* EOF: parent closed */
}

static void check_pipes(void)
{
	static unsigned char big[(256 << 10) + 1];
	int down[2], up[2], status;
	char buf[8] = "";
	size_t got = 0, i;
	ssize_t n;
	pid_t pid;

	CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);	/* a dead child is a failure, not death */
	pid = fork_inside();
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		_exit(pipe_child(down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	CHECK(write(down[1], "hello", 5) == 5, "write: %s", strerror(errno));
	close(down[1]);		/* the child waits for this EOF at the end */
	CHECK(read(up[0], buf, 5) == 5 && !memcmp(buf, "HELLO", 5),
	      "child answered \"%.5s\"", buf);
	while ((n = read(up[0], big + got, sizeof(big) - got)) > 0)
		got += n;	/* the child blocks in write() meanwhile */
	close(up[0]);
	CHECK(got == sizeof(big) - 1, "got %zu bytes of %zu", got,
	      sizeof(big) - 1);
	for (i = 0; i < got && big[i] == pattern(i); i++)
		;
	CHECK(i == got, "data from the child differs at byte %zu", i);
	status = wait_status(pid);
	CHECK(exited_with(status, 0), "pipe child: %s", status_str(status));
	signal(SIGPIPE, SIG_DFL);
}

/* A grandchild: inside, its parent is the child, its store stays its own. */
static int grandchild_round(int i)
{
	pid_t me = getpid(), pid;
	int status;

	pid = fork_inside();
	if (pid == 0) {
		shared_value = 100 + i;
		_exit(getppid() == me ? 10 + i : 1);
	}
	if (pid < 0)
		return 1;
	status = wait_status(pid);
	if (!exited_with(status, 10 + i)) {
		fprintf(stderr, "grandchild %d: %s\n", i, status_str(status));
		return 1;
	}
	return shared_value != 1;
}

static void check_grandchildren(void)
{
	int status, i;
	pid_t pid;

	pid = fork_inside();
	if (pid == 0) {
		int bad = 0;

		for (i = 0; i < 3; i++)
			bad += grandchild_round(i);
		_exit(bad);
	}
	status = wait_status(pid);
	CHECK(exited_with(status, 0), "child making grandchildren: %s "
	      "(exit N: N grandchildren went wrong)", status_str(status));
}

struct thread_fork {
	int status;
};

static void *fork_from_thread(void *arg)
{
	struct thread_fork *tf = arg;
	pid_t pid = fork_inside();

	if (pid == 0)
		_exit(9);
	tf->status = pid < 0 ? -1 : wait_status(pid);
	return NULL;
}

/* The child of a fork in a second thread is inside dune as well. */
static void check_fork_in_thread(void)
{
	struct thread_fork tf = { -1 };
	pthread_t t;
	int ret;

	ret = pthread_create(&t, NULL, fork_from_thread, &tf);
	CHECK(ret == 0, "pthread_create: %s", strerror(ret));
	if (ret)
		return;
	pthread_join(t, NULL);
	CHECK(exited_with(tf.status, 9), "fork child of a thread: %s",
	      status_str(tf.status));
}

/* 200 forks: the parent's descriptors and memory do not grow. */
static void check_many_forks(void)
{
	int fds = count_fds(NULL), bad = 0, i, status = 0;
	long rss = rss_bytes(), grown;
	pid_t pid;

	for (i = 0; i < MANY_FORKS; i++) {
		pid = fork_inside();
		if (pid == 0)
			_exit(i & 0x7f);
		status = wait_status(pid);
		if (!exited_with(status, i & 0x7f) && bad++ == 0)
			CHECK(0, "fork #%d: %s", i, status_str(status));
	}
	CHECK(bad == 0, "%d of %d forks went wrong", bad, MANY_FORKS);
	CHECK(count_fds(NULL) == fds, "%d descriptors before %d forks, %d after",
	      fds, MANY_FORKS, count_fds(NULL));
	grown = rss_bytes() - rss;
	CHECK(rss > 0 && grown < RSS_SLACK,
	      "RSS grew by %ld KiB over %d forks", grown >> 10, MANY_FORKS);
	printf("# %d forks: RSS %+ld KiB, %d descriptors\n", MANY_FORKS,
	       grown >> 10, fds);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_vfork(void)
{
	const struct timespec pause_50ms = { 0, 50 * 1000 * 1000 };
	char *argv[] = { "/bin/true", NULL };
	int status;
	double t0;
	pid_t pid;

	fflush(stdout);
	pid = vfork();
	if (pid == 0)
		_exit(dune_is_inside() == 1 ? 3 : NOT_INSIDE);
	CHECK(pid > 0, "vfork: %s", strerror(errno));
	status = wait_status(pid);
	CHECK(exited_with(status, 3), "vfork child: %s (%d: not inside)",
	      status_str(status), NOT_INSIDE);

	/* the parent stays suspended until the child has exec'ed */
	t0 = now();
	pid = vfork();
	if (pid == 0) {
		nanosleep(&pause_50ms, NULL);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	CHECK(pid > 0, "vfork: %s", strerror(errno));
	CHECK(now() - t0 >= 0.05, "parent ran on %.1f ms into the vfork child",
	      (now() - t0) * 1e3);
	status = wait_status(pid);
	CHECK(exited_with(status, 0), "vfork + execve /bin/true: %s",
	      status_str(status));
}

static void check_posix_spawn(void)
{
	char *argv[] = { "./ret42", NULL };
	char *bad_argv[] = { "/nonexistent/program", NULL };
	int status = 0, ret;
	pid_t pid = 0;

	ret = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
	CHECK(ret == 0, "posix_spawn %s: %s", argv[0], strerror(ret));
	CHECK(ret || (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 42),
	      "spawned ret42: %s", status_str(status));

	/* natively glibc hands the child's exec error back to the parent */
	ret = posix_spawn(&pid, bad_argv[0], NULL, NULL, bad_argv, environ);
	CHECK(ret == ENOENT, "posix_spawn of a missing program gave %d (%s), "
	      "expected ENOENT", ret, strerror(ret));
	if (ret == 0)
		waitpid(pid, NULL, 0);
}

static void check_system(void)
{
	char cmd[64], buf[16] = "";
	int p[2], status;

	CHECK(system(NULL) != 0, "system(NULL): no shell");
	status = system("exit 7");
	CHECK(exited_with(status, 7), "system(\"exit 7\"): %s",
	      status_str(status));
	status = system("kill -TERM $$");
	CHECK(killed_by(status, SIGTERM), "system(\"kill -TERM $$\"): %s",
	      status_str(status));

	/* the shell inherits our descriptors */
	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "printf sys-ok >&%d", p[1]);
	status = system(cmd);
	close(p[1]);
	CHECK(exited_with(status, 0), "system(\"%s\"): %s", cmd,
	      status_str(status));
	CHECK(read_all(p[0], buf, sizeof(buf)) == 6 && !strcmp(buf, "sys-ok"),
	      "the shell wrote \"%s\"", buf);
	close(p[0]);
}

static int return_seven(void *arg)
{
	(void)arg;
	return 7;	/* glibc's clone() then calls SYS_exit, not exit_group */
}

/* A fork-like clone() on a stack of its own, ended by SYS_exit (LTP clone07). */
static void check_clone_with_stack(void)
{
	static char stack[64 << 10] __attribute__((aligned(16)));
	int status = 0;
	pid_t pid = clone(return_seven, stack + sizeof(stack), SIGCHLD, NULL);

	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 7, "clone(SIGCHLD) child: %s", status_str(status));
}

int main(void)
{
	pid_t pid = getpid();

	enter_dune();
	check_fork(pid);
	check_fork_memory();
	check_exit_statuses();
	check_fatal_signals();
	check_pipes();
	check_grandchildren();
	check_fork_in_thread();
	check_many_forks();
	check_vfork();
	check_posix_spawn();
	check_system();
	check_clone_with_stack();
	CHECK(dune_is_inside() == 1 && getpid() == pid,
	      "not inside after making children");
	return finish();
}
