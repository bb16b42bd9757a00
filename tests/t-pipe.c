/* SPDX-License-Identifier: MIT */
/*
 * Pipes inside dune: small and 1 MiB transfers (with the partial reads and
 * writes a pipe forces), EOF, EPIPE and SIGPIPE.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include "check.h"

#define BIG (1 << 20)

static unsigned char data_byte(size_t i)
{
	return (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
}

static size_t first_mismatch(const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != data_byte(i))
			break;
	return i;
}

static void check_small(void)
{
	char buf[64] = "";
	int p[2];

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	CHECK(write(p[1], "ping", 4) == 4, "write: %s", strerror(errno));
	CHECK(write(p[1], "pong", 4) == 4, "write: %s", strerror(errno));
	CHECK(read(p[0], buf, 3) == 3 && memcmp(buf, "pin", 3) == 0,
	      "first read got \"%.3s\"", buf);
	CHECK(read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "gpong", 5) == 0,
	      "second read got \"%.5s\"", buf);
	close(p[1]);
	CHECK(read(p[0], buf, sizeof(buf)) == 0, "no EOF after writer closed");
	close(p[0]);
}

/* One process, both ends: non-blocking writes and reads take turns. */
static void check_big_one_process(void)
{
	static unsigned char out[BIG], in[BIG];
	size_t sent = 0, got = 0, i;
	int p[2], partial_reads = 0, partial_writes = 0;

	for (i = 0; i < BIG; i++)
		out[i] = data_byte(i);
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2: %s", strerror(errno));
	while (got < BIG) {
		ssize_t n = sent < BIG ? write(p[1], out + sent, BIG - sent) : 0;

		if (n < 0 && errno != EAGAIN) {
			CHECK(0, "write: %s", strerror(errno));
			break;
		}
		if (n > 0) {
			partial_writes += (size_t)n < BIG - sent;
			sent += n;
		}
		n = read(p[0], in + got, BIG - got);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			CHECK(0, "read: %zd, %s", n, strerror(errno));
			break;
		}
		if (n > 0) {
			partial_reads += (size_t)n < BIG - got;
			got += n;
		}
	}
	CHECK(got == BIG, "got %zu of %d bytes", got, BIG);
	CHECK(partial_writes > 0 && partial_reads > 0,
	      "expected partial transfers (writes %d, reads %d)",
	      partial_writes, partial_reads);
	i = first_mismatch(in, got);
	CHECK(i == got, "data differs at byte %zu", i);
	close(p[0]);
	close(p[1]);
}

/* Write 1 MiB with one blocking write() from another dune process. */
static int writer_child(void *arg)
{
	static unsigned char out[BIG];
	int *p = arg;
	size_t i;

	for (i = 0; i < BIG; i++)
		out[i] = data_byte(i);
	close(p[0]);
	enter_dune();
	if (write(p[1], out, BIG) != BIG)
		return 2;
	return 0;
}

/* Started natively, before we enter: the writer blocks until we read. */
static pid_t start_writer(int *read_fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		exit(writer_child(p));
	close(p[1]);
	*read_fd = p[0];
	return pid;
}

static void check_big_two_processes(pid_t pid, int fd)
{
	static unsigned char in[BIG + 1];
	int status = 0, reads = 0;
	size_t got = 0, i;
	ssize_t n;

	while ((n = read(fd, in + got, BIG + 1 - got)) > 0) {
		got += n;
		reads++;
	}
	CHECK(n == 0, "read: %s", strerror(errno));
	CHECK(got == BIG, "got %zu of %d bytes", got, BIG);
	CHECK(reads > 1, "1 MiB came in one read: the pipe is not a pipe?");
	i = first_mismatch(in, got);
	CHECK(i == got, "data differs at byte %zu", i);
	close(fd);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "writer: %s", status_str(status));
}

/* poll() sees what the pipe holds, and times out when it holds nothing. */
static void check_poll(void)
{
	struct pollfd pfd;
	int p[2];

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	pfd.fd = p[0];
	pfd.events = POLLIN;
	CHECK(poll(&pfd, 1, 10) == 0, "poll on empty pipe did not time out");
	CHECK(write(p[1], "x", 1) == 1, "write: %s", strerror(errno));
	CHECK(poll(&pfd, 1, 1000) == 1 && pfd.revents == POLLIN,
	      "poll revents 0x%x, expected POLLIN", pfd.revents);
	close(p[1]);
	close(p[0]);
}

static void check_epipe(void)
{
	int p[2];

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE,
	      "write to a closed pipe: errno %d, expected EPIPE", errno);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
}

/* With SIGPIPE at its default the writer dies of it. */
static int sigpipe_child(void *arg)
{
	int p[2];

	(void)arg;
	enter_dune();
	if (pipe(p) < 0)
		return 2;
	close(p[0]);
	if (write(p[1], "x", 1) < 0)
		return 3;	/* EPIPE, but no SIGPIPE */
	return 0;
}

int main(void)
{
	char out[4096];
	int status, fd = -1;
	pid_t writer;

	status = run_child(sigpipe_child, NULL, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
	      "writer to closed pipe: %s, expected SIGPIPE; output:\n%s",
	      status_str(status), out);
	writer = start_writer(&fd);
	CHECK(writer > 0, "fork: %s", strerror(errno));
	enter_dune();
	check_small();
	check_big_one_process();
	if (writer > 0)
		check_big_two_processes(writer, fd);
	check_poll();
	check_epipe();
	return finish();
}
