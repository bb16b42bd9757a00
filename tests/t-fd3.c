/* SPDX-License-Identifier: MIT */
/*
 * Descriptor numbers inside dune are those of the native process: dune's own
 * descriptors (KVM, VM, vCPU, ...) must not take low numbers, and where they
 * live they must look like free numbers: close(), dup(), dup3() and
 * fcntl() give EBADF, dup2() over them works (or, above the soft
 * RLIMIT_NOFILE where they go if the hard one leaves room, gives EBADF as
 * natively), and dune keeps working.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "check.h"

#define MAX_FDS 256

struct fd_list {
	int n;
	int fd[MAX_FDS];
};

/* The open descriptors according to /proc/self/fd (without the listing's own). */
static void list_fds(struct fd_list *l)
{
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");

	l->n = 0;
	CHECK(dir != NULL, "opendir /proc/self/fd: %s", strerror(errno));
	if (!dir)
		return;
	while ((d = readdir(dir)) != NULL && l->n < MAX_FDS) {
		int fd = atoi(d->d_name);

		if (d->d_name[0] != '.' && fd != dirfd(dir))
			l->fd[l->n++] = fd;
	}
	closedir(dir);
}

static int in_list(const struct fd_list *l, int fd)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (l->fd[i] == fd)
			return 1;
	return 0;
}

/* Lowest free descriptor number. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

/* Quick proof that dune still forwards calls and maps memory. */
static void check_dune_works(const char *after)
{
	static pid_t pid;
	char buf[8] = "";
	int p[2] = { -1, -1 };
	char *mem;
	int i;

	if (!pid)
		pid = getpid();
	CHECK(dune_is_inside() == 1, "%s: not inside any more", after);
	CHECK(getpid() == pid, "%s: getpid() = %d, expected %d", after,
	      getpid(), pid);
	CHECK(pipe(p) == 0 && write(p[1], "ok", 2) == 2 &&
	      read(p[0], buf, sizeof(buf)) == 2 && memcmp(buf, "ok", 2) == 0,
	      "%s: pipe round trip failed: %s", after, strerror(errno));
	close(p[0]);
	close(p[1]);
	mem = mmap(NULL, 64 << 12, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED, "%s: mmap: %s", after, strerror(errno));
	if (mem == MAP_FAILED)
		return;
	for (i = 0; i < 64; i++)
		mem[i << 12] = (char)i;
	for (i = 0; i < 64; i++)
		if (mem[i << 12] != (char)i)
			break;
	CHECK(i == 64, "%s: fresh memory reads wrong at page %d", after, i);
	munmap(mem, 64 << 12);
}

static void check_first_open(int expect)
{
	int a = open("/dev/null", O_RDONLY);
	int b = open("/dev/null", O_RDONLY);

	CHECK(a == expect && b == expect + 1,
	      "first opens inside gave %d, %d; expected %d, %d", a, b, expect,
	      expect + 1);
	close(a);
	close(b);
}

/* close() of numbers nobody opened: EBADF, and dune does not mind. */
static void check_close_high(const struct fd_list *native)
{
	int fd;

	for (fd = 1000; fd < 1024; fd++) {
		if (in_list(native, fd))
			continue;
		errno = 0;
		CHECK(close(fd) == -1 && errno == EBADF,
		      "close(%d): errno %d, expected EBADF", fd, errno);
	}
	check_dune_works("close(1000..1023)");
}

/* dune's own descriptors must look like free numbers. */
static void check_dune_fds(const struct fd_list *native,
			   const struct fd_list *inside)
{
	struct rlimit nofile;
	char what[64];
	int i, fd;

	getrlimit(RLIMIT_NOFILE, &nofile);

	for (i = 0; i < inside->n; i++) {
		fd = inside->fd[i];
		if (in_list(native, fd))
			continue;
		printf("# dune descriptor %d visible in /proc/self/fd\n", fd);
		errno = 0;
		CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF,
		      "fcntl(%d, F_GETFD): errno %d, expected EBADF", fd, errno);
		errno = 0;
		CHECK(dup(fd) == -1 && errno == EBADF,
		      "dup(%d): errno %d, expected EBADF", fd, errno);
		errno = 0;
		CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 0) == -1 && errno == EBADF,
		      "fcntl(%d, F_DUPFD_CLOEXEC): errno %d, expected EBADF", fd, errno);
		errno = 0;
		CHECK(dup3(fd, 100, 0) == -1 && errno == EBADF,
		      "dup3(%d, 100): errno %d, expected EBADF", fd, errno);
		errno = 0;
		CHECK(close(fd) == -1 && errno == EBADF,
		      "close(%d) of dune's descriptor: errno %d, expected EBADF",
		      fd, errno);
		snprintf(what, sizeof(what), "close(%d)", fd);
		check_dune_works(what);

		if ((rlim_t)fd >= nofile.rlim_cur) {	/* no such number natively */
			errno = 0;
			CHECK(dup2(0, fd) == -1 && errno == EBADF,
			      "dup2(0, %d) above RLIMIT_NOFILE %lu: errno %d, expected EBADF",
			      fd, (unsigned long)nofile.rlim_cur, errno);
			continue;
		}
		CHECK(dup2(0, fd) == fd, "dup2(0, %d): %s", fd, strerror(errno));
		snprintf(what, sizeof(what), "dup2(0, %d)", fd);
		check_dune_works(what);
		CHECK(close(fd) == 0, "close(%d) after dup2: %s", fd,
		      strerror(errno));
		check_dune_works(what);
	}
}

/* A daemon-style "close everything above 2" must not kill dune. */
static int close_range_child(void *arg)
{
	(void)arg;
	enter_dune();
	if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
		printf("close_range: %s\n", strerror(errno));
		return 1;
	}
	check_first_open(3);
	check_dune_works("close_range(3, ~0U)");
	printf("alive\n");
	return finish();
}

/*
 * A process cloned with CLONE_FILES (not CLONE_VM) shares the fd table: its
 * close_range() of every number above the program's fds must spare our VM
 * (dune's fds are high), what it opens we see, and its own VM's fds must not
 * stay behind in our table when it ends.
 */
static void check_shared_fd_table(void)
{
	struct fd_list before, after;
	int above = 0;

	list_fds(&before);
	for (int i = 0; i < before.n; i++)
		if (before.fd[i] < 1000 && before.fd[i] >= above)
			above = before.fd[i] + 1;
	for (int i = 0; i < 3; i++) {
		pid_t pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
		int status = -1, fd;

		if (pid == 0)
			_exit(syscall(SYS_close_range, above, ~0U, 0) ? 255 : open("/dev/null", O_RDONLY));
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) < 255, "CLONE_FILES child: %s", status_str(status));
		check_dune_works("a CLONE_FILES child's close_range()");
		fd = WEXITSTATUS(status);
		CHECK(!in_list(&before, fd) && close(fd) == 0,
		      "fd %d the CLONE_FILES child opened is not ours", fd);
	}
	list_fds(&after);
	CHECK(after.n == before.n, "%d fds before CLONE_FILES children, %d after", before.n,
	      after.n);
}

int main(void)
{
	struct fd_list native, inside;
	char out[4096];
	int first, status;

	list_fds(&native);
	first = lowest_free_fd();

	status = run_child(close_range_child, NULL, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	      strcmp(out, "alive\n") == 0,
	      "close_range child: %s, output:\n%s", status_str(status), out);

	enter_dune();
	list_fds(&inside);
	check_dune_works("entering");
	check_first_open(first);
	check_close_high(&native);
	check_dune_fds(&native, &inside);
	check_first_open(first);
	check_shared_fd_table();
	return finish();
}
