/* SPDX-License-Identifier: MIT */
/*
 * Tiny test harness shared by the tests (tests/t-NAME.c) and their helpers.
 *
 * CHECK() reports a failed expectation with file:line and keeps going;
 * finish() turns the count of failures into the exit status.  Exit status
 * 77 means "skipped" (the last output line says why), see run-tests.sh.
 */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dune.h"

/* Make the compiler forget what it stored: later reads really read memory. */
#define barrier() asm volatile("" ::: "memory")

static int check_failures __attribute__((unused));

__attribute__((format(printf, 4, 5), unused))
static void check_fail(const char *file, int line, const char *cond,
		       const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	fflush(stdout);		/* keep our output in order */
	fprintf(stderr, "%s:%d: FAIL: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	check_failures++;
	errno = saved;
}

/* CHECK(cond, fmt, ...): count and report a failure if cond is false. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond))						\
			check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)

/* Enter dune or give up: a test that cannot enter cannot check anything. */
static inline void enter_dune(void)
{
	int ret = dune_enter();

	if (ret != 0) {
		fflush(stdout);
		fprintf(stderr, "dune_enter() = %d (%s): %s\n", ret,
			strerror(-ret), dune_last_error());
		exit(1);
	}
	if (!dune_is_inside()) {
		fprintf(stderr, "dune_enter() = 0 but dune_is_inside() = 0\n");
		exit(1);
	}
}

/* Exit status of a test: 0 if every CHECK held. */
static inline int finish(void)
{
	fflush(stdout);
	if (check_failures) {
		fprintf(stderr, "%d check(s) failed\n", check_failures);
		return 1;
	}
	return 0;
}

__attribute__((noreturn, unused))
static void skip(const char *reason)
{
	printf("%s\n", reason);
	fflush(stdout);
	exit(77);
}

/* "exit 3", "signal 11 (Segmentation fault)" ...: for messages. */
static inline const char *status_str(int status)
{
	static char buf[96];

	if (WIFEXITED(status))
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, sizeof(buf), "signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? " core dumped" : "");
	else
		snprintf(buf, sizeof(buf), "status 0x%x", status);
	return buf;
}

/* Read fd until EOF into out (NUL-terminated, size >= 1); drop the excess. */
static inline size_t read_all(int fd, char *out, size_t size)
{
	char drop[256] = "";
	size_t len = 0;

	for (;;) {
		int keep = len + 1 < size;
		ssize_t n = read(fd, keep ? out + len : drop,
				 keep ? size - 1 - len : sizeof(drop));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			len += n;
	}
	out[len] = '\0';
	return len;
}

/*
 * Fork a native child that runs child_fn(arg) and exits with its return
 * value (or runs argv via execv if child_fn is NULL).  If out != NULL the
 * child's stdout and stderr are collected there, NUL-terminated (extra
 * output is dropped).  RLIMIT_CORE is 0 in the child so faults leave no core
 * files.  Returns the wait status, or -1 if fork/pipe failed.
 */
static inline int spawn_wait(int (*child_fn)(void *), void *arg,
			     char *const argv[], char *out, size_t size)
{
	const struct rlimit no_core = { 0, 0 };
	int pfd[2] = { -1, -1 };
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if (out && pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		if (out) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		if (out) {
			dup2(pfd[1], 1);
			dup2(pfd[1], 2);
			close(pfd[0]);
			close(pfd[1]);
		}
		if (child_fn || !argv)
			exit(child_fn ? child_fn(arg) : 127);
		execv(argv[0], argv);
		fprintf(stderr, "execv %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out) {
		close(pfd[1]);
		read_all(pfd[0], out, size);
		close(pfd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* Run fn(arg) in a native child process; see spawn_wait(). */
static inline int run_child(int (*fn)(void *), void *arg, char *out,
			    size_t size)
{
	return spawn_wait(fn, arg, NULL, out, size);
}

/* Run a helper program (argv[0] is its path); see spawn_wait(). */
static inline int run_helper(char *const argv[], char *out, size_t size)
{
	return spawn_wait(NULL, NULL, argv, out, size);
}

/* xorshift64: reproducible pseudo-random numbers (a test may reseed). */
static uint64_t rng_state __attribute__((unused)) = 88172645463325252ULL;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* pthread_join, but fail after `seconds` instead of hanging the test. */
static inline void *join_within(pthread_t t, const char *what, int seconds)
{
	struct timespec deadline;
	void *ret = NULL;
	int err;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	err = pthread_timedjoin_np(t, &ret, &deadline);
	if (err) {
		CHECK(0, "joining %s: %s", what, strerror(err));
		exit(finish());
	}
	return ret;
}

#endif /* CHECK_H */
