/* SPDX-License-Identifier: MIT */
/*
 * Signals meeting system calls: no syscall result may be lost, invented or
 * repeated whatever the timing of a signal.  Under interval timers of several
 * periods, an external flood, self-sent storms from several threads and with
 * SA_RESTART on and off, every syscall result is checked and every copied
 * byte compared; a program that only computes, or reads its handler's
 * self-pipe, takes each signal at once;
 * 1,000 queued realtime signals all arrive, in order, and
 * the mask the program reads is the one it set.  The
 * same workload runs natively first (proving the checks themselves), then in
 * a child inside dune.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "check.h"

#define FILE_SIZE	(1 << 20)
#define MAX_CHUNK	(16 << 10)
#define STORM_THREADS	4
#define STORM_SIGNALS	1000
#define RT_SIGNALS	1000

static const char *mode;
static pid_t my_pid;
static volatile sig_atomic_t alarms, usr1s;
static unsigned char src[FILE_SIZE], dst[FILE_SIZE];
static char src_path[64], dst_path[64];

static void count_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void count_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "%s: sigaction(%d): %s", mode, sig,
	      strerror(errno));
}

static void set_timer(long period_us)
{
	struct timeval tv = { .tv_sec = period_us / 1000000, .tv_usec = period_us % 1000000 };
	struct itimerval it = { .it_interval = tv, .it_value = tv };

	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "%s: setitimer: %s", mode,
	      strerror(errno));
}

/* Syscalls whose exact result is known: a lost or skipped call shows. */
static void check_simple_calls(const char *what)
{
	static int word;
	int fds[2];
	char c = 'x', back = 0;
	long r;

	r = syscall(SYS_getpid);
	CHECK(r == my_pid, "%s %s: getpid() = %ld, expected %d", mode, what, r, my_pid);
	r = syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	CHECK(r == 0, "%s %s: futex(WAKE) = %ld (%s)", mode, what, r, strerror(errno));
	if (pipe2(fds, O_CLOEXEC) != 0) {
		CHECK(0, "%s %s: pipe2: %s", mode, what, strerror(errno));
		return;
	}
	r = write(fds[1], &c, 1);
	CHECK(r == 1, "%s %s: write(pipe, 1) = %ld (%s)", mode, what, r, strerror(errno));
	r = read(fds[0], &back, 1);
	CHECK(r == 1 && back == c, "%s %s: read(pipe, 1) = %ld, byte %#x", mode, what, r,
	      back);
	CHECK(close(fds[0]) == 0 && close(fds[1]) == 0, "%s %s: close: %s", mode, what,
	      strerror(errno));
}

/* Copy src_path to dst_path in chunks of random sizes, checking each call. */
static void copy_file(const char *what)
{
	int in = open(src_path, O_RDONLY | O_CLOEXEC);
	int out = open(dst_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t done = 0;

	CHECK(in >= 0 && out >= 0, "%s %s: open: %s", mode, what, strerror(errno));
	while (in >= 0 && out >= 0 && done < FILE_SIZE) {
		size_t want = 1 + rng() % MAX_CHUNK;
		unsigned char buf[MAX_CHUNK];
		size_t expect = want < FILE_SIZE - done ? want : FILE_SIZE - done;
		ssize_t n = read(in, buf, want);

		if (n != (ssize_t)expect) {
			CHECK(0, "%s %s: read(%zu) at %zu = %zd (%s), expected %zu", mode, what,
			      want, done, n, strerror(errno), expect);
			break;
		}
		n = write(out, buf, expect);
		if (n != (ssize_t)expect) {
			CHECK(0, "%s %s: write(%zu) at %zu = %zd (%s)", mode, what, expect, done,
			      n, strerror(errno));
			break;
		}
		done += expect;
		if (done % 8 == 0)
			check_simple_calls(what);
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	in = open(dst_path, O_RDONLY | O_CLOEXEC);
	CHECK(in >= 0 && read(in, dst, FILE_SIZE) == FILE_SIZE, "%s %s: read back: %s", mode,
	      what, strerror(errno));
	if (in >= 0)
		close(in);
	for (size_t i = 0; i < FILE_SIZE; i++) {
		if (src[i] != dst[i]) {
			CHECK(0, "%s %s: copy differs first at byte %zu", mode, what, i);
			break;
		}
	}
}

/*
 * A slow writer process feeds a pipe: blocking reads meet timer signals.
 * With SA_RESTART a read never fails with EINTR; without, EINTR is the only
 * error allowed.  Every byte must arrive once, in order.
 */
static void pipe_reads(const char *what, int restart)
{
	int fds[2];
	size_t got = 0;
	pid_t writer;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		CHECK(0, "%s %s: pipe2: %s", mode, what, strerror(errno));
		return;
	}
	writer = fork();
	if (writer == 0) {
		close(fds[0]);
		for (size_t off = 0; off < 128 << 10; off += 4096) {
			struct timespec gap = { .tv_nsec = 200000 };

			if (write(fds[1], src + off, 4096) != 4096)
				_exit(1);
			nanosleep(&gap, NULL);
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < 128 << 10) {
		unsigned char buf[8192];
		ssize_t n = read(fds[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR && !restart)
			continue;
		if (n <= 0) {
			CHECK(0, "%s %s: read(pipe) after %zu bytes = %zd (%s)", mode, what, got,
			      n, strerror(errno));
			break;
		}
		if (memcmp(buf, src + got, n)) {
			CHECK(0, "%s %s: pipe data differs within %zu..%zu", mode, what, got,
			      got + n);
			break;
		}
		got += n;
	}
	close(fds[0]);
	while (waitpid(writer, NULL, 0) < 0 && errno == EINTR)
		;
}

static long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/*
 * The cost of one signal round trip here, in us: a timer faster than that
 * would starve the program (under QEMU's TCG a round trip inside dune takes
 * longer than the shortest period), natively as inside.
 */
static long round_trip_us(void)
{
	long start;

	set_handler(SIGUSR1, count_usr1, 0);
	start = now_us();
	for (int i = 0; i < 20; i++)
		kill(my_pid, SIGUSR1);
	return (now_us() - start) / 20 + 1;
}

/*
 * Each timer runs over copies and pipe reads until it has fired a few times
 * (a loaded machine makes the scaled periods long), or for 10 s and three
 * periods at most.
 */
static void timers(void)
{
	static const long periods_us[] = { 100, 500, 3000 };
	long scale = 1 + 4 * round_trip_us() / periods_us[0];

	for (size_t i = 0; i < sizeof(periods_us) / sizeof(periods_us[0]); i++) {
		for (int restart = 0; restart <= 1; restart++) {
			long period = periods_us[i] * scale, end = now_us() + 10000000 + 3 * period;
			char what[64];

			snprintf(what, sizeof(what), "timer %ld us%s", period,
				 restart ? " SA_RESTART" : "");
			alarms = 0;
			set_handler(SIGALRM, count_alarm, restart ? SA_RESTART : 0);
			set_timer(period);
			do {
				copy_file(what);
				pipe_reads(what, restart);
			} while (alarms < 3 && now_us() < end);
			set_timer(0);
			CHECK(alarms > 0, "%s %s: no timer signal arrived", mode, what);
		}
	}
}

/* Another process sends SIGUSR1 as fast as it can while we work. */
static void flood(void)
{
	long gap_us = round_trip_us();
	const struct timespec gap = { .tv_sec = gap_us / 1000000, .tv_nsec = gap_us % 1000000 * 1000 };
	pid_t flooder;

	usr1s = 0;
	set_handler(SIGUSR1, count_usr1, SA_RESTART);
	flooder = fork();
	if (flooder == 0) {
		for (;;) {	/* as fast as the program can take them */
			kill(my_pid, SIGUSR1);
			nanosleep(&gap, NULL);
		}
	}
	CHECK(flooder > 0, "%s: fork: %s", mode, strerror(errno));
	copy_file("flood");
	pipe_reads("flood", 1);
	if (flooder > 0) {
		kill(flooder, SIGKILL);
		while (waitpid(flooder, NULL, 0) < 0 && errno == EINTR)
			;
	}
	CHECK(usr1s > 0, "%s flood: no SIGUSR1 arrived", mode);
}

#define PINGS		2000

static volatile int *pongs;		/* shared with the pinger: handled, stuck at */
static int wake[2] = { -1, -1 };	/* the handler's self-pipe, if in use */

static void count_pong(int sig)
{
	(void)sig;
	pongs[0]++;
	if (wake[1] >= 0)
		(void)!write(wake[1], "x", 1);
}

/*
 * Each signal taken as it comes, by a program that only computes (no
 * syscall, no fault), or that reads the pipe its handler writes to (a
 * self-pipe, as event loops and Python's wakeup fd do).  Another process
 * sends the next up to 20 us after the handler ran: while dune handles that
 * handler's rt_sigreturn, or the next read on its way to the kernel.  One
 * that stays pending for 5 s waited for an exit a computing program never
 * makes, or for a read to end that only the handler would end: the pinger
 * then sends SIGUSR2 to end the wait.
 */
static void ping_pong(int self_pipe)
{
	const char *doing = self_pipe ? "read its handler's self-pipe" : "computed";
	pid_t pinger;
	char c;

	pongs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(pongs != MAP_FAILED, "%s: mmap: %s", mode, strerror(errno));
	if (pongs == MAP_FAILED)
		return;
	CHECK(!self_pipe || pipe(wake) == 0, "%s: pipe: %s", mode, strerror(errno));
	/* restarted, a read blocked when the signal came returns the handler's byte */
	set_handler(SIGUSR1, count_pong, self_pipe ? SA_RESTART : 0);
	set_handler(SIGUSR2, count_usr1, 0);
	pinger = fork();
	if (pinger == 0) {
		for (int i = 0; i < PINGS; i++) {
			long deadline = now_us() + 5000000, late = now_us() + rng() % 20;

			while (now_us() < late)	/* anywhere in dune's round trip */
				;
			kill(my_pid, SIGUSR1);
			while (pongs[0] <= i && now_us() < deadline)
				sched_yield();
			if (pongs[0] <= i) {
				pongs[1] = i + 1;
				kill(my_pid, SIGUSR2);
				_exit(1);
			}
		}
		_exit(0);
	}
	CHECK(pinger > 0, "%s: fork: %s", mode, strerror(errno));
	while (pinger > 0 && pongs[0] < PINGS && !pongs[1]) {
		if (self_pipe)
			(void)!read(wake[0], &c, 1);
		else
			barrier();
	}
	while (pinger > 0 && waitpid(pinger, NULL, 0) < 0 && errno == EINTR)
		;
	CHECK(!pongs[1], "%s: signal %d of %d stayed pending for 5 s while the program %s",
	      mode, pongs[1], PINGS, doing);
	if (self_pipe) {
		close(wake[0]);
		close(wake[1]);
		wake[0] = wake[1] = -1;
	}
	munmap((void *)pongs, 4096);
}

static __thread int storm_hits;

static void count_storm(int sig)
{
	(void)sig;
	storm_hits++;
}

/* Each thread signals itself: the handler runs before tgkill returns. */
static void *storm_thread(void *arg)
{
	long tid = syscall(SYS_gettid);

	(void)arg;
	for (int i = 0; i < STORM_SIGNALS; i++) {
		long r = syscall(SYS_tgkill, my_pid, tid, SIGUSR2);

		if (r != 0 || storm_hits != i + 1) {
			CHECK(0, "%s storm: tgkill #%d = %ld (%s), handler ran %d times", mode,
			      i, r, strerror(errno), storm_hits);
			break;
		}
		if (i % 16 == 0)
			check_simple_calls("storm");
	}
	return NULL;
}

static void storm(void)
{
	pthread_t t[STORM_THREADS];

	set_handler(SIGUSR2, count_storm, 0);
	for (int i = 0; i < STORM_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, storm_thread, NULL) == 0, "%s: pthread_create",
		      mode);
	for (int i = 0; i < STORM_THREADS; i++)
		join_within(t[i], "storm thread", 240);
}

static int rt_values[RT_SIGNALS], rt_count;

static void record_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (rt_count < RT_SIGNALS)
		rt_values[rt_count] = si->si_value.sival_int;
	rt_count++;
}

/* Realtime signals queue while blocked, up to RLIMIT_SIGPENDING, in order. */
static void rt_queue(void)
{
	struct sigaction sa = { .sa_sigaction = record_rt, .sa_flags = SA_SIGINFO };
	struct rlimit lim;
	sigset_t set;
	int sig = SIGRTMIN + 1;

	if (getrlimit(RLIMIT_SIGPENDING, &lim) == 0 && lim.rlim_cur < RT_SIGNALS + 16) {
		printf("# %s: RLIMIT_SIGPENDING %lu: realtime queue not checked\n", mode,
		       (unsigned long)lim.rlim_cur);
		return;
	}
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "%s: sigaction: %s", mode, strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < RT_SIGNALS; i++) {
		union sigval v = { .sival_int = i };

		if (sigqueue(my_pid, sig, v) != 0) {
			CHECK(0, "%s: sigqueue #%d: %s", mode, i, strerror(errno));
			break;
		}
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigprocmask(SIG_BLOCK, NULL, &set);
	CHECK(!sigismember(&set, sig), "%s: signal %d still blocked after unblocking it", mode,
	      sig);
	CHECK(rt_count == RT_SIGNALS, "%s: %d of %d queued realtime signals delivered", mode,
	      rt_count, RT_SIGNALS);
	for (int i = 0; i < rt_count && i < RT_SIGNALS; i++) {
		if (rt_values[i] != i) {
			CHECK(0, "%s: realtime signal #%d carried %d", mode, i, rt_values[i]);
			break;
		}
	}
}

static int workload(void *arg)
{
	mode = arg;
	if (!strcmp(mode, "inside"))
		enter_dune();
	my_pid = getpid();
	setvbuf(stdout, NULL, _IONBF, 0);	/* a timeout shows how far it got */
	printf("# %s: timers\n", mode);
	timers();
	printf("# %s: flood\n", mode);
	flood();
	printf("# %s: computing\n", mode);
	ping_pong(0);
	printf("# %s: self-pipe\n", mode);
	ping_pong(1);
	printf("# %s: storm\n", mode);
	storm();
	printf("# %s: realtime queue\n", mode);
	rt_queue();
	if (!strcmp(mode, "inside")) {
		struct dune_stats st = { .size = sizeof(st) };

		if (dune_get_stats(&st) == 0)
			printf("# inside: %lu signals delivered in the guest\n",
			       (unsigned long)st.signals);
	}
	return finish();
}

static int make_source(void)
{
	int fd;

	for (size_t i = 0; i < FILE_SIZE; i += 8) {
		uint64_t r = rng();

		memcpy(src + i, &r, 8);
	}
	snprintf(src_path, sizeof(src_path), "/tmp/dune-sigstress-src.%d", getpid());
	snprintf(dst_path, sizeof(dst_path), "/tmp/dune-sigstress-dst.%d", getpid());
	fd = open(src_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, src, FILE_SIZE) != FILE_SIZE || close(fd) != 0)
		return -1;
	fd = open(dst_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return fd < 0 ? -1 : close(fd);
}

/* t-sigstress [native|inside]: run one workload only. */
int main(int argc, char **argv)
{
	int native, inside;

	if (make_source() != 0) {
		perror("creating the files in /tmp");
		return 1;
	}
	if (argc > 1)
		return workload(argv[1]);
	native = run_child(workload, "native", NULL, 0);
	CHECK(WIFEXITED(native) && WEXITSTATUS(native) == 0, "natively: %s", status_str(native));
	inside = run_child(workload, "inside", NULL, 0);
	CHECK(WIFEXITED(inside) && WEXITSTATUS(inside) == 0, "inside dune: %s",
	      status_str(inside));
	unlink(src_path);
	unlink(dst_path);
	return finish();
}
