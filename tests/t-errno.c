/* SPDX-License-Identifier: MIT */
/*
 * errno of failing system calls inside dune is what Linux gives natively,
 * and successful calls leave errno alone.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "check.h"

/* Expect call to return -1 with errno == err. */
#define CHECK_ERR(call, err)						\
	do {								\
		long ret_;						\
		errno = 0;						\
		ret_ = (long)(call);					\
		CHECK(ret_ == -1 && errno == (err),			\
		      "returned %ld, errno %d (%s), expected %s",	\
		      ret_, errno, strerror(errno), #err);		\
	} while (0)

/* An address nothing is mapped at (hidden from the compiler's checks). */
static void *bad_pointer(void)
{
	volatile uintptr_t addr = 1;

	return (void *)addr;
}

/* A descriptor number that surely is not open: one we just closed. */
static int closed_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

static void check_failures_give_errno(void)
{
	char buf[16];
	int fd = closed_fd();
	int p[2];

	CHECK_ERR(open("/nonexistent/file", O_RDONLY), ENOENT);
	CHECK_ERR(open("/tmp", O_WRONLY), EISDIR);
	CHECK_ERR(mkdir("/tmp", 0700), EEXIST);
	CHECK_ERR(open("/proc/self/status/x", O_RDONLY), ENOTDIR);
	CHECK_ERR(read(fd, buf, sizeof(buf)), EBADF);
	CHECK_ERR(write(fd, buf, sizeof(buf)), EBADF);
	CHECK_ERR(close(fd), EBADF);
	CHECK_ERR(close(-1), EBADF);
	CHECK_ERR(lseek(0, 0, 12345), EINVAL);

	if (pipe(p) < 0) {
		CHECK(0, "pipe: %s", strerror(errno));
		return;
	}
	CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
	/* the host reads/writes the guest's address: it must fault there too */
	CHECK(write(p[1], "data", 4) == 4, "write: %s", strerror(errno));
	CHECK_ERR(read(p[0], bad_pointer(), 4), EFAULT);
	CHECK_ERR(write(p[1], bad_pointer(), 4), EFAULT);
	CHECK(read(p[0], buf, sizeof(buf)) == 4 && memcmp(buf, "data", 4) == 0,
	      "data lost after EFAULT");
	CHECK_ERR(fstat(p[0], bad_pointer()), EFAULT);
	close(p[0]);
	close(p[1]);

	/* a system call number Linux does not have */
	CHECK_ERR(syscall(1023), ENOSYS);
}

static void check_success_keeps_errno(void)
{
	struct stat st;
	char buf[4];
	int p[2];

	errno = 1234;
	CHECK(getpid() > 0 && errno == 1234, "getpid changed errno to %d", errno);
	CHECK(pipe(p) == 0 && errno == 1234, "pipe changed errno to %d", errno);
	CHECK(write(p[1], "x", 1) == 1 && errno == 1234,
	      "write changed errno to %d", errno);
	CHECK(read(p[0], buf, 1) == 1 && errno == 1234,
	      "read changed errno to %d", errno);
	CHECK(fstat(p[0], &st) == 0 && errno == 1234,
	      "fstat changed errno to %d", errno);
	close(p[0]);
	close(p[1]);
	CHECK(errno == 1234, "close changed errno to %d", errno);
}

int main(void)
{
	enter_dune();
	check_failures_give_errno();
	check_success_keeps_errno();
	return finish();
}
