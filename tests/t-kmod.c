// SPDX-License-Identifier: MIT
/*
 * The kernel module (kmod/): skipped where /dev/dune is absent (it can only
 * be loaded inside the QEMU guest of `make check-vm`).
 *
 * - Differential: every syscall on the module's safe list gives the same
 *   result natively, inside dune on the user path and on the kernel path,
 *   and on the kernel path the module served exactly that call if the
 *   library lets it (dune_fastpath_may_serve()).
 * - Memory arguments: each call the module may serve with a buffer, aimed
 *   at dune's memory, gives what it gives natively on a hole (EFAULT, or
 *   EIO from /proc/self/mem) on both paths, and the kernel path declined
 *   it (reach).
 * - Fallbacks: a syscall outside the lists (policy), a thread with a native
 *   seccomp filter (thread), a read interrupted by an SA_RESTART handler
 *   (restart); the native filter and the program's emulated filter are both
 *   still honoured.
 * - dune's own fds stay invisible; ptrace sees every syscall; fork, threads,
 *   escape; two processes have their own counters; nothing is served for a
 *   nested VM, so the outer level's filter still judges its calls; the
 *   module cannot be removed while attached.
 * - Bad input to the ioctls gives -errno.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <linux/dune.h>
#include <linux/kvm.h>

#include "check.h"
#include "deny-filter.h"
#include "dune-internal.h"
#include "kmod.h"
#include "own.h"
#include "syscalls.h"

static const char *device = DUNE_KMOD_DEVICE;

static uint64_t hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *b++) * 1099511628211ULL;
	return h;
}

/*
 * One call on the safe list: set-up (any path), then exactly one measured
 * syscall, whose result (and output bytes) the case returns in *res.
 */
struct ctx {
	int pfd[2], sv[2], fd, ep, lsock;
	char dir[64], buf[4096];
	void *at;		/* the memory argument of a reach case */
	/* during the measured call: served by the module, declined as reaching dune's memory */
	uint64_t served, reached;
};

#define MEASURE(c, expr)						\
	({								\
		uint64_t _s = kernel_served(), _d = declined(DUNE_DECLINE_REACH); \
		long _r = (expr);					\
		(c)->served = kernel_served() - _s;			\
		(c)->reached = declined(DUNE_DECLINE_REACH) - _d;	\
		_r;							\
	})

static void prep_file(struct ctx *c)
{
	snprintf(c->buf, sizeof(c->buf), "%s/f", c->dir);
	c->fd = open(c->buf, O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(c->buf, 'x', sizeof(c->buf));
	(void)!write(c->fd, "0123456789abcdef", 16);
}

static long c_read(struct ctx *c)
{
	long r;

	(void)!write(c->pfd[1], "hello", 5);
	r = MEASURE(c, RAW(SYS_read, c->pfd[0], c->buf, 64));
	return r * 31 + hash(c->buf, 5);
}

static long c_write(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_write, c->pfd[1], "abc", 3));

	return r * 31 + (read(c->pfd[0], c->buf, 64) == 3);
}

static long c_pread(struct ctx *c)
{
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_pread64, c->fd, c->buf, 8, 4));
	return r * 31 + hash(c->buf, 8);
}

static long c_pwrite(struct ctx *c)
{
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_pwrite64, c->fd, "ZZ", 2, 3));
	return r * 31 + (pread(c->fd, c->buf, 16, 0) == 16) + hash(c->buf, 16);
}

static long c_readv(struct ctx *c)
{
	struct iovec iov[2] = { { c->buf, 2 }, { c->buf + 10, 3 } };
	long r;

	(void)!write(c->pfd[1], "vector", 6);
	r = MEASURE(c, RAW(SYS_readv, c->pfd[0], iov, 2));
	return r * 31 + hash(c->buf, 2) + hash(c->buf + 10, 3);
}

static long c_writev(struct ctx *c)
{
	struct iovec iov[2] = { { "ab", 2 }, { "cde", 3 } };
	long r = MEASURE(c, RAW(SYS_writev, c->pfd[1], iov, 2));

	return r * 31 + (read(c->pfd[0], c->buf, 64) == 5) + hash(c->buf, 5);
}

static long c_preadv(struct ctx *c)
{
	struct iovec iov = { c->buf, 5 };
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_preadv, c->fd, &iov, 1, 2, 0));
	return r * 31 + hash(c->buf, 5);
}

static long c_pwritev(struct ctx *c)
{
	struct iovec iov = { "QQQ", 3 };
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_pwritev, c->fd, &iov, 1, 1, 0));
	return r * 31 + (pread(c->fd, c->buf, 16, 0) == 16) + hash(c->buf, 16);
}

static long c_preadv2(struct ctx *c)
{
	struct iovec iov = { c->buf, 6 };
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_preadv2, c->fd, &iov, 1, 5, 0, 0));
	return r * 31 + hash(c->buf, 6);
}

static long c_pwritev2(struct ctx *c)
{
	struct iovec iov = { "RR", 2 };
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_pwritev2, c->fd, &iov, 1, 7, 0, 0));
	return r * 31 + (pread(c->fd, c->buf, 16, 0) == 16) + hash(c->buf, 16);
}

static long c_openat(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY));

	if (r >= 0)
		close(r);
	return r >= 0 ? 0 : r;	/* the number itself may differ: dune's fds */
}

static long c_openat_enoent(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_openat, AT_FDCWD, "/nonexistent/x", O_RDONLY));
}

static long c_fstat(struct ctx *c)
{
	struct stat st;
	long r;

	prep_file(c);
	r = MEASURE(c, RAW(SYS_fstat, c->fd, &st));
	return r * 31 + st.st_size + st.st_mode;
}

static long c_newfstatat(struct ctx *c)
{
	struct stat st;
	long r = MEASURE(c, RAW(SYS_newfstatat, AT_FDCWD, "/", &st, 0));

	return r * 31 + st.st_ino + st.st_mode;
}

static long c_statx(struct ctx *c)
{
	struct statx stx;
	long r = MEASURE(c, RAW(SYS_statx, AT_FDCWD, "/", 0, STATX_INO, &stx));

	return r * 31 + stx.stx_ino;
}

static long c_lseek(struct ctx *c)
{
	prep_file(c);
	return MEASURE(c, RAW(SYS_lseek, c->fd, 5, SEEK_SET));
}

static long c_getdents64(struct ctx *c)
{
	long r;

	c->fd = open("/", O_RDONLY | O_DIRECTORY);
	r = MEASURE(c, RAW(SYS_getdents64, c->fd, c->buf, sizeof(c->buf)));
	return r * 31 + hash(c->buf, r > 0 ? r : 0);
}

static long c_pipe2(struct ctx *c)
{
	int p[2];
	long r = MEASURE(c, RAW(SYS_pipe2, p, O_CLOEXEC));

	if (!r) {
		close(p[0]);
		close(p[1]);
	}
	return r;
}

static long c_fsync(struct ctx *c)
{
	prep_file(c);
	return MEASURE(c, RAW(SYS_fsync, c->fd));
}

static long c_fdatasync(struct ctx *c)
{
	prep_file(c);
	return MEASURE(c, RAW(SYS_fdatasync, c->fd));
}

static long c_readlinkat(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", c->buf, 256));

	return r * 31 + hash(c->buf, r > 0 ? r : 0);
}

static long c_faccessat(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_faccessat, AT_FDCWD, "/", R_OK)) * 31 +
	       MEASURE(c, RAW(SYS_faccessat, AT_FDCWD, "/nonexistent", R_OK));
}

static long c_getcwd(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_getcwd, c->buf, 256));

	return r * 31 + hash(c->buf, r > 0 ? r : 0);
}

static long c_uname(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_uname, c->buf));

	return r * 31 + hash(c->buf, 390);
}

static long c_getpid(struct ctx *c) { return MEASURE(c, RAW(SYS_getpid)); }
static long c_getppid(struct ctx *c) { return MEASURE(c, RAW(SYS_getppid)); }
static long c_gettid(struct ctx *c) { return MEASURE(c, RAW(SYS_gettid)); }
static long c_getuid(struct ctx *c) { return MEASURE(c, RAW(SYS_getuid)); }
static long c_geteuid(struct ctx *c) { return MEASURE(c, RAW(SYS_geteuid)); }
static long c_getgid(struct ctx *c) { return MEASURE(c, RAW(SYS_getgid)); }
static long c_getegid(struct ctx *c) { return MEASURE(c, RAW(SYS_getegid)); }
static long c_sched_yield(struct ctx *c) { return MEASURE(c, RAW(SYS_sched_yield)); }

static long c_getrandom(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_getrandom, c->buf, 16, 0));
}

static long c_clock_gettime(struct ctx *c)
{
	struct timespec ts;

	return MEASURE(c, RAW(SYS_clock_gettime, CLOCK_MONOTONIC, &ts)) * 31 + (ts.tv_nsec < 1000000000);
}

static long c_clock_getres(struct ctx *c)
{
	struct timespec ts;
	long r = MEASURE(c, RAW(SYS_clock_getres, CLOCK_MONOTONIC, &ts));

	return r * 31 + ts.tv_nsec;
}

static long c_gettimeofday(struct ctx *c)
{
	struct timeval tv;

	return MEASURE(c, RAW(SYS_gettimeofday, &tv, NULL)) * 31 + (tv.tv_usec < 1000000);
}

#ifdef SYS_time
static long c_time(struct ctx *c)
{
	time_t t = 0, r = MEASURE(c, RAW(SYS_time, &t));

	return r == t && r > 0;
}
#endif

static long c_getrusage(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_getrusage, RUSAGE_SELF, c->buf));
}

static long c_sysinfo(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_sysinfo, c->buf));
}

static long c_epoll_create1(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_epoll_create1, EPOLL_CLOEXEC));

	if (r >= 0)
		close(r);
	return r >= 0 ? 0 : r;
}

static long c_epoll_ctl(struct ctx *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	c->ep = epoll_create1(0);
	return MEASURE(c, RAW(SYS_epoll_ctl, c->ep, EPOLL_CTL_ADD, c->pfd[0], &ev));
}

static long c_epoll_wait(struct ctx *c)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[2] = { 0 };

	c->ep = epoll_create1(0);
	epoll_ctl(c->ep, EPOLL_CTL_ADD, c->pfd[0], &ev);
	(void)!write(c->pfd[1], "e", 1);
	return MEASURE(c, RAW(SYS_epoll_wait, c->ep, out, 2, 0)) * 31 + out[0].events;
}

static long c_eventfd2(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_eventfd2, 3, EFD_CLOEXEC));
	uint64_t v = 0;

	if (r >= 0) {
		(void)!read(r, &v, sizeof(v));
		close(r);
	}
	return r >= 0 ? (long)v : r;
}

static long c_socket(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));

	if (r >= 0)
		close(r);
	return r >= 0 ? 0 : r;
}

static long c_socketpair(struct ctx *c)
{
	int sv[2];
	long r = MEASURE(c, RAW(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));

	if (!r) {
		close(sv[0]);
		close(sv[1]);
	}
	return r;
}

/* An abstract unix address unique to this process and call. */
static socklen_t unix_addr(struct sockaddr_un *a, const char *what)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "dune-kmod-%d-%s", getpid(), what);
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1);
}

static long c_bind(struct ctx *c)
{
	struct sockaddr_un a;
	socklen_t n = unix_addr(&a, "bind");

	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return MEASURE(c, RAW(SYS_bind, c->fd, &a, n));
}

static void prep_listen(struct ctx *c, const char *what, int do_listen)
{
	struct sockaddr_un a;
	socklen_t n = unix_addr(&a, what);

	c->lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(c->lsock, (struct sockaddr *)&a, n);
	if (do_listen)
		listen(c->lsock, 4);
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
}

static long c_listen(struct ctx *c)
{
	prep_listen(c, "listen", 0);
	return MEASURE(c, RAW(SYS_listen, c->lsock, 4));
}

static long c_connect(struct ctx *c)
{
	struct sockaddr_un a;
	socklen_t n = unix_addr(&a, "connect");

	prep_listen(c, "connect", 1);
	return MEASURE(c, RAW(SYS_connect, c->fd, &a, n));
}

static long c_accept(struct ctx *c, int four)
{
	struct sockaddr_un a;
	socklen_t n = unix_addr(&a, "accept");
	long r;

	prep_listen(c, "accept", 1);
	connect(c->fd, (struct sockaddr *)&a, n);
	r = four ? MEASURE(c, RAW(SYS_accept4, c->lsock, NULL, NULL, SOCK_CLOEXEC)) :
		   MEASURE(c, RAW(SYS_accept, c->lsock, NULL, NULL));
	if (r >= 0)
		close(r);
	return r >= 0 ? 0 : r;
}

static long c_accept3(struct ctx *c) { return c_accept(c, 0); }
static long c_accept4(struct ctx *c) { return c_accept(c, 1); }

static long c_sendto(struct ctx *c)
{
	long r = MEASURE(c, RAW(SYS_sendto, c->sv[0], "to", 2, 0, NULL, 0));

	return r * 31 + (recv(c->sv[1], c->buf, 64, 0) == 2);
}

static long c_recvfrom(struct ctx *c)
{
	long r;

	send(c->sv[0], "from", 4, 0);
	r = MEASURE(c, RAW(SYS_recvfrom, c->sv[1], c->buf, 64, 0, NULL, NULL));
	return r * 31 + hash(c->buf, 4);
}

static long c_sendmsg(struct ctx *c)
{
	struct iovec iov = { "msg", 3 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r = MEASURE(c, RAW(SYS_sendmsg, c->sv[0], &m, 0));

	return r * 31 + (recv(c->sv[1], c->buf, 64, 0) == 3);
}

static long c_recvmsg(struct ctx *c)
{
	struct iovec iov = { c->buf, 64 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	long r;

	send(c->sv[0], "msgr", 4, 0);
	r = MEASURE(c, RAW(SYS_recvmsg, c->sv[1], &m, 0));
	return r * 31 + hash(c->buf, 4);
}

static long c_shutdown(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_shutdown, c->sv[0], SHUT_WR)) * 31 +
	       (read(c->sv[1], c->buf, 1) == 0);
}

static long c_getsockname(struct ctx *c)
{
	struct sockaddr_un a;
	socklen_t n = sizeof(a);

	return MEASURE(c, RAW(SYS_getsockname, c->sv[0], &a, &n)) * 31 + n + a.sun_family;
}

static long c_getpeername(struct ctx *c)
{
	struct sockaddr_un a;
	socklen_t n = sizeof(a);

	return MEASURE(c, RAW(SYS_getpeername, c->sv[0], &a, &n)) * 31 + n + a.sun_family;
}

static long c_setsockopt(struct ctx *c)
{
	int v = 65536;

	return MEASURE(c, RAW(SYS_setsockopt, c->sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
}

static long c_getsockopt(struct ctx *c)
{
	int v = 0;
	socklen_t n = sizeof(v);

	return MEASURE(c, RAW(SYS_getsockopt, c->sv[0], SOL_SOCKET, SO_TYPE, &v, &n)) * 31 + v;
}

static long c_wait4(struct ctx *c)
{
	pid_t pid = fork();
	int status = 0;
	siginfo_t si;
	long r;

	if (pid == 0)
		_exit(7);
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);	/* a zombie: wait4 will not block */
	r = MEASURE(c, RAW(SYS_wait4, pid, &status, 0, NULL));
	return (r == pid) * 31 + WEXITSTATUS(status);
}

static long c_kill(struct ctx *c)
{
	pid_t pid = getpid();

	return MEASURE(c, RAW(SYS_kill, pid, 0));
}

static long c_tgkill(struct ctx *c)
{
	pid_t pid = getpid(), tid = gettid();

	return MEASURE(c, RAW(SYS_tgkill, pid, tid, 0));
}

static long c_set_robust_list(struct ctx *c)
{
	void *head;
	size_t len;

	syscall(SYS_get_robust_list, 0, &head, &len);
	return MEASURE(c, RAW(SYS_set_robust_list, head, len));
}

static int tid_word;

static long c_set_tid_address(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_set_tid_address, &tid_word)) == gettid();
}

struct call {
	const char *name;
	long nr;
	long (*fn)(struct ctx *c);
};

#define CALL_NR(n, sys) { #n, SYS_##sys, c_##n }
#define CALL(n) CALL_NR(n, n)
static const struct call calls[] = {
	CALL(read), CALL(write), CALL_NR(pread, pread64), CALL_NR(pwrite, pwrite64), CALL(readv),
	CALL(writev), CALL(preadv), CALL(pwritev), CALL(preadv2), CALL(pwritev2),
	CALL(openat), CALL_NR(openat_enoent, openat), CALL(fstat), CALL(newfstatat),
	CALL(statx), CALL(lseek), CALL(getdents64), CALL(pipe2), CALL(fsync),
	CALL(fdatasync), CALL(readlinkat), CALL(faccessat), CALL(getcwd),
	CALL(uname), CALL(getpid), CALL(getppid), CALL(gettid), CALL(getuid),
	CALL(geteuid), CALL(getgid), CALL(getegid), CALL(getrandom),
	CALL(clock_gettime), CALL(clock_getres), CALL(gettimeofday),
#ifdef SYS_time
	CALL(time),
#endif
	CALL(sched_yield), CALL(getrusage), CALL(sysinfo), CALL(epoll_wait),
	CALL(epoll_ctl), CALL(epoll_create1), CALL(eventfd2), CALL(socket),
	CALL(socketpair), CALL(bind), CALL(listen), CALL(connect),
	CALL_NR(accept3, accept), CALL(accept4), CALL(sendto), CALL(recvfrom),
	CALL(sendmsg), CALL(recvmsg), CALL(shutdown), CALL(getsockname),
	CALL(getpeername), CALL(setsockopt), CALL(getsockopt), CALL(wait4),
	CALL(kill), CALL(tgkill), CALL(set_robust_list), CALL(set_tid_address),
};
#define NR_CALLS (sizeof(calls) / sizeof(calls[0]))

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Run call in a fresh context: its result; what the module did in *m. */
static long run_call(const struct call *call, const char *dir, void *at, struct ctx *m)
{
	struct ctx c = { .fd = -1, .ep = -1, .lsock = -1, .at = at };
	long r;

	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	(void)!pipe(c.pfd);
	(void)!socketpair(AF_UNIX, SOCK_STREAM, 0, c.sv);
	r = call->fn(&c);
	m->served = c.served;
	m->reached = c.reached;
	close_if(c.fd);
	close_if(c.ep);
	close_if(c.lsock);
	close(c.pfd[0]);
	close(c.pfd[1]);
	close(c.sv[0]);
	close(c.sv[1]);
	return r;
}

/* Every call natively, then inside dune in DUNE_MODE arg: same results. */
static int differential(void *arg)
{
	const char *mode = arg;
	char dir[] = "/tmp/t-kmod-XXXXXX", path[64];
	long native[NR_CALLS];
	struct ctx m;

	if (!mkdtemp(dir))
		return 1;
	for (size_t i = 0; i < NR_CALLS; i++)
		native[i] = run_call(&calls[i], dir, NULL, &m);
	setenv("DUNE_MODE", mode, 1);
	enter_dune();
	for (size_t i = 0; i < NR_CALLS; i++) {
		long r = run_call(&calls[i], dir, NULL, &m);
		/* the kernel path serves what dune's syscall table lets it check */
		uint64_t expect = !strcmp(mode, "kmod") && dune_fastpath_may_serve(calls[i].nr);

		CHECK(r == native[i], "%s, DUNE_MODE=%s: %ld, natively %ld", calls[i].name, mode,
		      r, native[i]);
		CHECK(m.served == expect && !m.reached, "%s, DUNE_MODE=%s: the module served %lu "
		      "calls (expected %lu), declined %lu as reaching dune's memory", calls[i].name,
		      mode, (unsigned long)m.served, (unsigned long)expect, (unsigned long)m.reached);
	}
	dune_escape();
	snprintf(path, sizeof(path), "%s/f", dir);
	unlink(path);
	rmdir(dir);
	return finish();
}

/*
 * The calls the module may serve with memory arguments, each with one of
 * them at c->at: natively a hole, inside dune's own memory.
 */
static int zero_fd = -1, mem_fd = -1;

static long r_read(struct ctx *c) { return MEASURE(c, RAW(SYS_read, zero_fd, c->at, 64)); }
static long r_write(struct ctx *c) { return MEASURE(c, RAW(SYS_write, c->pfd[1], c->at, 16)); }

static long r_pread(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_pread64, zero_fd, c->at, 64, 0));
}

static long r_pwrite(struct ctx *c)
{
	prep_file(c);
	return MEASURE(c, RAW(SYS_pwrite64, c->fd, c->at, 16, 0));
}

/* The offset is an address only on /proc/self/mem: EIO on a hole. */
static long r_pread_mem(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_pread64, mem_fd, c->buf, 16, (long)c->at));
}

/* Elsewhere it is past the end: declined all the same, read by the user path. */
static long r_pread_pos(struct ctx *c)
{
	prep_file(c);
	return MEASURE(c, RAW(SYS_pread64, c->fd, c->buf, 16, (long)c->at));
}

static long r_fstat(struct ctx *c) { return MEASURE(c, RAW(SYS_fstat, c->pfd[0], c->at)); }

static long r_newfstatat(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_newfstatat, AT_FDCWD, "/", c->at, 0));
}

static long r_statx(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_statx, AT_FDCWD, "/", 0, STATX_INO, c->at));
}

static long r_getdents64(struct ctx *c)
{
	c->fd = open("/", O_RDONLY | O_DIRECTORY);
	return MEASURE(c, RAW(SYS_getdents64, c->fd, c->at, 4096));
}

static long r_pipe2(struct ctx *c) { return MEASURE(c, RAW(SYS_pipe2, c->at, O_CLOEXEC)); }

static long r_readlinkat(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", c->at, 256));
}

static long r_getcwd(struct ctx *c) { return MEASURE(c, RAW(SYS_getcwd, c->at, 256)); }
static long r_uname(struct ctx *c) { return MEASURE(c, RAW(SYS_uname, c->at)); }
static long r_getrandom(struct ctx *c) { return MEASURE(c, RAW(SYS_getrandom, c->at, 16, 0)); }

static long r_clock_gettime(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_clock_gettime, CLOCK_MONOTONIC, c->at));
}

static long r_clock_getres(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_clock_getres, CLOCK_MONOTONIC, c->at));
}

static long r_gettimeofday(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_gettimeofday, c->at, NULL));
}

#ifdef SYS_time
static long r_time(struct ctx *c) { return MEASURE(c, RAW(SYS_time, c->at)); }
#endif

static long r_getrusage(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_getrusage, RUSAGE_SELF, c->at));
}

static long r_sysinfo(struct ctx *c) { return MEASURE(c, RAW(SYS_sysinfo, c->at)); }

static long r_epoll_ctl(struct ctx *c)
{
	c->ep = epoll_create1(0);
	return MEASURE(c, RAW(SYS_epoll_ctl, c->ep, EPOLL_CTL_ADD, c->pfd[0], c->at));
}

static long r_socketpair(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, c->at));
}

static long r_bind(struct ctx *c)
{
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return MEASURE(c, RAW(SYS_bind, c->fd, c->at, sizeof(struct sockaddr_un)));
}

static long r_connect(struct ctx *c)
{
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	return MEASURE(c, RAW(SYS_connect, c->fd, c->at, sizeof(struct sockaddr_un)));
}

/* accept with a connection waiting: natively it fails copying the address out */
static long r_accept(struct ctx *c, int four, int at_len)
{
	struct sockaddr_un a;
	socklen_t n = unix_addr(&a, "raccept");
	void *addr = at_len ? (void *)&a : c->at, *len = at_len ? c->at : (void *)&n;

	prep_listen(c, "raccept", 1);
	connect(c->fd, (struct sockaddr *)&a, n);
	n = sizeof(a);
	return four ? MEASURE(c, RAW(SYS_accept4, c->lsock, addr, len, SOCK_CLOEXEC)) :
		      MEASURE(c, RAW(SYS_accept, c->lsock, addr, len));
}

static long r_accept3(struct ctx *c) { return r_accept(c, 0, 0); }
static long r_accept4(struct ctx *c) { return r_accept(c, 1, 0); }
static long r_accept4_len(struct ctx *c) { return r_accept(c, 1, 1); }

static long r_sendto(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_sendto, c->sv[0], c->at, 2, 0, NULL, 0));
}

static long r_sendto_addr(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_sendto, c->sv[0], "x", 1, 0, c->at, sizeof(struct sockaddr_un)));
}

static long r_recvfrom(struct ctx *c)
{
	send(c->sv[0], "from", 4, 0);
	return MEASURE(c, RAW(SYS_recvfrom, c->sv[1], c->at, 64, 0, NULL, NULL));
}

static long r_recvfrom_len(struct ctx *c)
{
	struct sockaddr_un a;

	send(c->sv[0], "from", 4, 0);
	return MEASURE(c, RAW(SYS_recvfrom, c->sv[1], c->buf, 64, 0, &a, c->at));
}

static long r_getsockname(struct ctx *c)
{
	socklen_t n = sizeof(struct sockaddr_un);

	return MEASURE(c, RAW(SYS_getsockname, c->sv[0], c->at, &n));
}

static long r_getpeername_len(struct ctx *c)
{
	struct sockaddr_un a;

	return MEASURE(c, RAW(SYS_getpeername, c->sv[0], &a, c->at));
}

static long r_setsockopt(struct ctx *c)
{
	return MEASURE(c, RAW(SYS_setsockopt, c->sv[0], SOL_SOCKET, SO_SNDBUF, c->at, sizeof(int)));
}

static long r_getsockopt(struct ctx *c)
{
	socklen_t n = sizeof(int);

	return MEASURE(c, RAW(SYS_getsockopt, c->sv[0], SOL_SOCKET, SO_TYPE, c->at, &n));
}

/* natively the zombie is reaped and the status cannot be stored */
static long r_wait4(struct ctx *c)
{
	pid_t pid = fork();
	siginfo_t si;
	long r;

	if (pid == 0)
		_exit(7);
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	r = MEASURE(c, RAW(SYS_wait4, pid, c->at, 0, NULL));
	waitpid(pid, NULL, 0);	/* inside, the call failed before it reaped */
	return r;
}

#define REACH(n, sys) { #n, SYS_##sys, r_##n }
static const struct call reach_calls[] = {
	REACH(read, read), REACH(write, write), REACH(pread, pread64), REACH(pwrite, pwrite64),
	REACH(pread_mem, pread64), REACH(pread_pos, pread64), REACH(fstat, fstat),
	REACH(newfstatat, newfstatat), REACH(statx, statx), REACH(getdents64, getdents64),
	REACH(pipe2, pipe2), REACH(readlinkat, readlinkat), REACH(getcwd, getcwd),
	REACH(uname, uname), REACH(getrandom, getrandom), REACH(clock_gettime, clock_gettime),
	REACH(clock_getres, clock_getres), REACH(gettimeofday, gettimeofday),
#ifdef SYS_time
	REACH(time, time),
#endif
	REACH(getrusage, getrusage), REACH(sysinfo, sysinfo), REACH(epoll_ctl, epoll_ctl),
	REACH(socketpair, socketpair), REACH(bind, bind), REACH(connect, connect),
	REACH(accept3, accept), REACH(accept4, accept4), REACH(accept4_len, accept4),
	REACH(sendto, sendto), REACH(sendto_addr, sendto), REACH(recvfrom, recvfrom),
	REACH(recvfrom_len, recvfrom), REACH(getsockname, getsockname),
	REACH(getpeername_len, getpeername), REACH(setsockopt, setsockopt),
	REACH(getsockopt, getsockopt), REACH(wait4, wait4),
};
#define NR_REACH (sizeof(reach_calls) / sizeof(reach_calls[0]))

/* An address with nothing mapped at it (natively: what dune's memory is). */
static void *hole(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p, 4096);
	return p;
}

/*
 * Each reach case natively on a hole, then inside on dune's memory in
 * DUNE_MODE arg: the same result, and on the kernel path the module
 * declined the call as reaching dune's memory and served nothing.
 */
static int reach(void *arg)
{
	const char *mode = arg;
	char dir[] = "/tmp/t-kmod-XXXXXX", path[64];
	int kmod = !strcmp(mode, "kmod");
	long native[NR_REACH];
	struct ctx m;
	void *own;

	if (!mkdtemp(dir))
		return 1;
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	CHECK(zero_fd >= 0 && mem_fd >= 0, "set-up: %s", strerror(errno));
	for (size_t i = 0; i < NR_REACH; i++)
		native[i] = run_call(&reach_calls[i], dir, hole(), &m);
	setenv("DUNE_MODE", mode, 1);
	enter_dune();
	own = dune_current_vm;	/* dune's VM state, in its area */
	for (size_t i = 0; i < NR_REACH; i++) {
		long r = run_call(&reach_calls[i], dir, own, &m);
		int served = kmod && dune_fastpath_may_serve(reach_calls[i].nr);

		CHECK(r == native[i], "%s at dune's memory, DUNE_MODE=%s: %ld, natively on a "
		      "hole %ld", reach_calls[i].name, mode, r, native[i]);
		CHECK(!m.served && m.reached == (uint64_t)served, "%s at dune's memory, DUNE_MODE=%s:"
		      " served %lu, declined as reaching it %lu (expected %d)", reach_calls[i].name,
		      mode, (unsigned long)m.served, (unsigned long)m.reached, served);
		CHECK(!kmod || served, "%s: the library does not let the module serve it",
		      reach_calls[i].name);
	}
	check_still_works("after the reach cases");
	dune_escape();
	snprintf(path, sizeof(path), "%s/f", dir);
	unlink(path);
	rmdir(dir);
	return finish();
}

/* A syscall neither list allows (getpriority) is declined as policy. */
static int fallback_policy(void *arg)
{
	uint64_t before, served;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	served = kernel_served();
	before = declined(DUNE_DECLINE_POLICY);
	CHECK(RAW(SYS_getpriority, PRIO_PROCESS, 0) >= 0, "getpriority");
	/* dune_get_stats() itself is declined too: it is dune's own syscall */
	CHECK(declined(DUNE_DECLINE_POLICY) > before, "policy declines %lu -> %lu",
	      (unsigned long)before, (unsigned long)declined(DUNE_DECLINE_POLICY));
	CHECK(kernel_served() == served, "getpriority served in the kernel");
	return finish();
}

/* A seccomp filter: uname fails with EPERM, whatever the path. */
static void native_filter(void)
{
	CHECK(deny_syscall(SYS_uname, EPERM) == 0, "seccomp: %s", strerror(errno));
}

/* Native seccomp on the thread: everything declined, the filter honoured. */
static int fallback_thread(void *arg)
{
	char buf[400];
	uint64_t before;

	(void)arg;
	native_filter();
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	before = declined(DUNE_DECLINE_THREAD);
	CHECK(RAW(SYS_getpid) == getpid(), "getpid");
	CHECK(RAW(SYS_uname, buf) == -EPERM, "uname under a native filter: %ld",
	      RAW(SYS_uname, buf));
	CHECK(declined(DUNE_DECLINE_THREAD) >= before + 2, "thread declines %lu -> %lu",
	      (unsigned long)before, (unsigned long)declined(DUNE_DECLINE_THREAD));
	CHECK(kernel_served() == 0, "%lu served despite seccomp", (unsigned long)kernel_served());
	return finish();
}

/* The program's own filter, emulated by dune: honoured, nothing served. */
static int emulated_filter(void *arg)
{
	char buf[400];
	uint64_t served;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	CHECK(RAW(SYS_uname, buf) == 0, "uname before the filter");
	native_filter();	/* inside: dune's emulation */
	served = kernel_served();
	CHECK(RAW(SYS_uname, buf) == -EPERM, "uname under the emulated filter: %ld",
	      RAW(SYS_uname, buf));
	CHECK(RAW(SYS_getpid) == getpid(), "getpid");
	CHECK(kernel_served() == served, "served %lu -> %lu under an emulated filter",
	      (unsigned long)served, (unsigned long)kernel_served());
	return finish();
}

/*
 * dune inside dune: the outer level runs the inner host loop's syscalls and
 * its emulated filter must still judge them, so the module serves none of
 * the inner VM's.
 */
static int nested(void *arg)
{
	char buf[400];
	uint64_t served;
	int ret;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	native_filter();	/* emulated by the outer level */
	ret = dune_enter();
	CHECK(ret == 0, "nested dune_enter() = %d: %s", ret, dune_last_error());
	served = kernel_served();
	CHECK(RAW(SYS_uname, buf) == -EPERM, "uname at depth 2 under the outer filter: %ld",
	      RAW(SYS_uname, buf));
	CHECK(RAW(SYS_getpid) == getpid(), "getpid at depth 2");
	CHECK(kernel_served() == served, "depth 2: %lu calls served in the kernel",
	      (unsigned long)(kernel_served() - served));
	return finish();
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * An openat of a FIFO blocked in the kernel path (waiting for a writer),
 * interrupted by an SA_RESTART handler: -ERESTARTSYS goes to user space,
 * which restarts it, and it opens once the writer comes.
 */
static int fallback_restart(void *arg)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerval it = { .it_value = { 0, 100000 } };
	char dir[] = "/tmp/t-kmod-XXXXXX", fifo[64];
	pid_t writer;
	uint64_t before;
	long fd;

	(void)arg;
	CHECK(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
	writer = fork();
	if (writer == 0) {
		usleep(600000);
		close(open(fifo, O_WRONLY));
		_exit(0);
	}
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	sigaction(SIGALRM, &sa, NULL);
	before = declined(DUNE_DECLINE_RESTART);
	setitimer(ITIMER_REAL, &it, NULL);
	/* a FIFO's open waits for a writer: openat has no memory dune must check */
	fd = RAW(SYS_openat, AT_FDCWD, fifo, O_RDONLY);
	CHECK(fd >= 0, "restarted openat of a FIFO: %ld", fd);
	CHECK(declined(DUNE_DECLINE_RESTART) == before + 1, "restart declines %lu -> %lu",
	      (unsigned long)before, (unsigned long)declined(DUNE_DECLINE_RESTART));
	waitpid(writer, NULL, 0);
	unlink(fifo);
	rmdir(dir);
	return finish();
}

/* dune's fds (the module's among them) stay invisible to the program. */
static int own_fds(void *arg)
{
	struct dirent *de;
	int found = 0;
	DIR *d;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d))) {
		char link[300], target[64] = "";
		int fd = atoi(de->d_name);

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		if (readlink(link, target, sizeof(target) - 1) <= 0 || strcmp(target, device))
			continue;
		found++;
		CHECK(RAW(SYS_fcntl, fd, F_GETFD) == -EBADF, "fcntl on the module's fd %d", fd);
		CHECK(RAW(SYS_dup, fd) == -EBADF, "dup of the module's fd %d", fd);
		CHECK(RAW(SYS_close, fd) == -EBADF, "close of the module's fd %d", fd);
		CHECK(RAW(SYS_ioctl, fd, DUNE_KMOD_IOC_ABI, 0) == -EBADF, "ioctl on %d", fd);
	}
	if (d)
		closedir(d);
	CHECK(found == 1, "%d fds on %s", found, device);
	CHECK(RAW(SYS_getpid) == getpid() && kernel_served() > 0, "still served: %lu",
	      (unsigned long)kernel_served());
	return finish();
}

#define PTRACED_CALLS 20

/* 3: served in the kernel, 4: not declined as "thread", 5: a wrong result */
static int traced_child(void *arg)
{
	pid_t parent = getppid();
	uint64_t before;
	int wrong = 0;

	(void)arg;
	raise(SIGSTOP);
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	before = declined(DUNE_DECLINE_THREAD);
	for (int i = 0; i < PTRACED_CALLS; i++)
		wrong += RAW(SYS_getppid) != parent;
	if (kernel_served())
		return 3;
	return declined(DUNE_DECLINE_THREAD) < before + PTRACED_CALLS ? 4 : wrong ? 5 : 0;
}

/* ptrace (strace's mechanism) sees every syscall: the module declines them. */
static void test_ptrace(void)
{
	struct __ptrace_syscall_info info;
	int status, seen = 0, sig = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();

	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		exit(traced_child(NULL));
	}
	waitpid(pid, &status, 0);	/* the SIGSTOP */
	ptrace(PTRACE_SETOPTIONS, pid, NULL, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) < 0 ||
		    waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			break;
		/* a signal for the child: deliver it */
		sig = WSTOPSIG(status) == (SIGTRAP | 0x80) ? 0 : WSTOPSIG(status);
		if (sig)
			continue;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) > 0 &&
		    info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr == SYS_getppid)
			seen++;
	}
	CHECK(seen == PTRACED_CALLS, "ptrace saw %d of %d getppid calls", seen, PTRACED_CALLS);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "traced child: %s (3: served in "
	      "the kernel under ptrace, 4: not declined as thread, 5: a wrong getppid)",
	      status_str(status));
}

static void *getpids(void *arg)
{
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getpid);
	return arg;
}

/* Threads, a fork child (its own VM and counters), escape and re-entry. */
static int processes(void *arg)
{
	pthread_t t[4];
	uint64_t before;
	int status;
	pid_t pid;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	before = kernel_served();
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, getpids, NULL);
	for (int i = 0; i < 4; i++)
		join_within(t[i], "getpid thread", 120);
	/* while another thread changes memslots, the module declines (state) */
	CHECK(kernel_served() + declined(DUNE_DECLINE_STATE) >= before + 4000,
	      "4 threads: %lu served", (unsigned long)(kernel_served() - before));
	printf("threads done\n");
	fflush(stdout);

	before = kernel_served();
	pid = fork();
	if (pid == 0) {
		uint64_t mine = kernel_served();

		getpids(NULL);
		/* the child's counters are its own VM's: they start near 0 */
		_exit(mine < 100 && kernel_served() >= mine + 1000 ? 0 : 4);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "fork child on the kernel path: %s", status_str(status));
	CHECK(kernel_served() < before + 100, "the child's calls counted in the parent: %lu",
	      (unsigned long)(kernel_served() - before));
	printf("fork done\n");
	fflush(stdout);

	dune_escape();
	CHECK(!dune_is_inside(), "escaped");
	enter_dune();
	before = kernel_served();
	getpids(NULL);
	CHECK(kernel_served() >= before + 1000, "after re-entry: %lu served",
	      (unsigned long)(kernel_served() - before));
	return finish();
}

/* The module stays while a process is attached (fops.owner). */
static int removal_refused(void *arg)
{
	long r;

	(void)arg;
	setenv("DUNE_MODE", "kmod", 1);
	enter_dune();
	r = RAW(SYS_delete_module, "dune", O_NONBLOCK);
	CHECK(r == -EWOULDBLOCK, "delete_module while attached: %ld", r);
	return finish();
}

static int new_vm(int kvm)
{
	int vm;

	do
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
	while (vm < 0 && errno == EINTR);
	return vm;
}

static long attach(int dev, int vm_fd, __u32 size)
{
	struct dune_kmod_attach a = { .size = size, .vm_fd = vm_fd };

	return ioctl(dev, DUNE_KMOD_IOC_ATTACH, &a) ? -errno : 0;
}

/* Ranges of dune's memory and memargs the module must refuse. */
enum bad_policy {
	BAD_NR_RANGES, BAD_EMPTY_RANGE, BAD_UNSORTED, BAD_OVERLAP, BAD_NR_MEMARGS, BAD_KIND_NONE,
	BAD_KIND, BAD_PTR, BAD_LEN, BAD_RESERVED, BAD_NR, BAD_ORDER, BAD_CALL_MEMARGS, BAD_POLICIES
};

static void make_policy(struct dune_kmod_attach *a, int vm_fd, int bad)
{
	static const struct dune_kmod_memarg read_buf = {
		.nr = SYS_read, .kind = DUNE_KMOD_MA_BUF, .ptr = 1, .len = 2,
	};
	struct dune_kmod_memarg *ma;

	memset(a, 0, sizeof(*a));
	ma = a->memargs;
	a->size = sizeof(*a);
	a->vm_fd = vm_fd;
	a->nr_ranges = 2;
	a->ranges[0] = (struct dune_kmod_range){ 0x10000, 0x20000 };
	a->ranges[1] = (struct dune_kmod_range){ 0x30000, 0x40000 };
	a->nr_memargs = 2;
	ma[0] = ma[1] = read_buf;
	ma[1].nr = SYS_write;
	switch (bad) {
	case BAD_NR_RANGES:
		a->nr_ranges = DUNE_KMOD_MAX_RANGES + 1;
		break;
	case BAD_EMPTY_RANGE:
		a->ranges[1].end = a->ranges[1].start;
		break;
	case BAD_UNSORTED:
		a->ranges[0] = (struct dune_kmod_range){ 0x50000, 0x60000 };
		break;
	case BAD_OVERLAP:
		a->ranges[0].end = 0x30001;
		break;
	case BAD_NR_MEMARGS:
		a->nr_memargs = DUNE_KMOD_MAX_MEMARGS + 1;
		break;
	case BAD_KIND_NONE:
		ma[1].kind = DUNE_KMOD_MA_NONE;
		break;
	case BAD_KIND:
		ma[1].kind = DUNE_KMOD_MA_KINDS;
		break;
	case BAD_PTR:
		ma[1].ptr = 6;
		break;
	case BAD_LEN:
		ma[1].len = 255;
		break;
	case BAD_RESERVED:
		ma[1].reserved[2] = 1;
		break;
	case BAD_NR:
		ma[1].nr = DUNE_KMOD_MAX_SYSCALLS;
		break;
	case BAD_ORDER:
		ma[0].nr = SYS_write;
		ma[1].nr = SYS_read;
		break;
	case BAD_CALL_MEMARGS:
		a->nr_memargs = DUNE_KMOD_CALL_MEMARGS + 1;
		for (int i = 0; i < DUNE_KMOD_CALL_MEMARGS + 1; i++)
			ma[i] = read_buf;
		break;
	}
}

/* Bad input, natively: each gives its -errno, and the module stays usable. */
static void bad_input(void)
{
	struct dune_kmod_counters cnt = { .size = sizeof(cnt) };
	struct dune_kmod_attach a;
	int dev = open(device, O_RDWR | O_CLOEXEC), dev2 = open(device, O_RDWR | O_CLOEXEC);
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), null = open("/dev/null", O_RDONLY);
	int vm = new_vm(kvm), vcpu = ioctl(vm, KVM_CREATE_VCPU, 0), status;
	pid_t pid;

	CHECK(dev >= 0 && kvm >= 0 && vm >= 0 && vcpu >= 0, "set-up: %s", strerror(errno));
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ABI, 0) == DUNE_KMOD_ABI_VERSION, "ABI");
	CHECK(ioctl(dev, _IO(DUNE_KMOD_IOC_MAGIC, 99), 0) < 0 && errno == ENOTTY, "unknown ioctl");
	CHECK(ioctl(dev, DUNE_KMOD_IOC_COUNTERS, &cnt) < 0 && errno == ENXIO, "counters unattached");
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ALLOW, &(struct dune_kmod_attach){ .size = sizeof(
		struct dune_kmod_attach) }) < 0 && errno == ENXIO, "allow unattached");
	CHECK(attach(dev, -1, sizeof(struct dune_kmod_attach)) == -EBADF, "fd -1");
	CHECK(attach(dev, null, sizeof(struct dune_kmod_attach)) == -EINVAL, "/dev/null");
	CHECK(attach(dev, kvm, sizeof(struct dune_kmod_attach)) == -EINVAL, "/dev/kvm");
	CHECK(attach(dev, vcpu, sizeof(struct dune_kmod_attach)) == -EINVAL, "a vCPU fd");
	CHECK(attach(dev, vm, 7) == -EINVAL, "size 7");
	CHECK(attach(dev, vm, ~0u) == -EINVAL, "size ~0");
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ATTACH, (void *)16) < 0 && errno == EFAULT, "bad pointer");
	for (int bad = 0; bad < BAD_POLICIES; bad++) {
		make_policy(&a, vm, bad);
		CHECK(ioctl(dev, DUNE_KMOD_IOC_ATTACH, &a) < 0 && errno == EINVAL,
		      "bad ranges or memargs (%d): %s", bad, strerror(errno));
	}

	/* another process's VM: the child's own mm did not create it */
	pid = fork();
	if (pid == 0)
		_exit(attach(dev2, vm, sizeof(struct dune_kmod_attach)) == -EPERM ? 0 : 5);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "attach of another process's VM: %s", status_str(status));

	make_policy(&a, vm, BAD_POLICIES);
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ATTACH, &a) == 0, "attach: %s", strerror(errno));
	CHECK(attach(dev, vm, sizeof(struct dune_kmod_attach)) == -EBUSY, "double attach");
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ALLOW, &a) == 0, "allow: %s", strerror(errno));
	a.ranges[1].end++;
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ALLOW, &a) < 0 && errno == EINVAL,
	      "allow with other ranges: %s", strerror(errno));
	make_policy(&a, vm, BAD_POLICIES);
	a.memargs[1].size = 1;
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ALLOW, &a) < 0 && errno == EINVAL,
	      "allow with other memargs: %s", strerror(errno));
	make_policy(&a, vm, BAD_ORDER);
	CHECK(ioctl(dev, DUNE_KMOD_IOC_ALLOW, &a) < 0 && errno == EINVAL,
	      "allow with bad memargs: %s", strerror(errno));
	CHECK(attach(dev2, vm, sizeof(struct dune_kmod_attach)) == -EBUSY,
	      "a second device fd on the same VM");
	CHECK(ioctl(dev, DUNE_KMOD_IOC_COUNTERS, &cnt) == 0 && cnt.served == 0, "counters");
	cnt.size = 3;
	CHECK(ioctl(dev, DUNE_KMOD_IOC_COUNTERS, &cnt) < 0 && errno == EINVAL, "counters size 3");
	pid = fork();
	if (pid == 0) {
		cnt.size = sizeof(cnt);
		_exit(ioctl(dev, DUNE_KMOD_IOC_COUNTERS, &cnt) < 0 && errno == EPERM ? 0 : 6);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "counters from a fork child sharing the fd: %s", status_str(status));
	close(vcpu);
	close(vm);	/* the module still pins it */
	close(dev);
	close(dev2);
	close(kvm);
	close(null);
}

struct child_test {
	const char *name;
	int (*fn)(void *arg);
	void *arg;
};

#define CHILD_TEST(fn, arg) { #fn, fn, arg }
static const struct child_test child_tests[] = {
	CHILD_TEST(differential, "user"), CHILD_TEST(differential, "kmod"),
	CHILD_TEST(reach, "user"), CHILD_TEST(reach, "kmod"),
	CHILD_TEST(fallback_policy, NULL), CHILD_TEST(fallback_thread, NULL),
	CHILD_TEST(emulated_filter, NULL), CHILD_TEST(nested, NULL),
	CHILD_TEST(fallback_restart, NULL),
	CHILD_TEST(own_fds, NULL), CHILD_TEST(processes, NULL),
	CHILD_TEST(removal_refused, NULL),
};

#define TIMED_CALLS 2000

static uint64_t ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ns per call of getpid (served) and getpriority (declined by the module) */
static int timing(void *arg)
{
	uint64_t t0, t1, t2;

	if (*(const char *)arg) {
		setenv("DUNE_MODE", arg, 1);
		enter_dune();
	}
	t0 = ns_now();
	for (int i = 0; i < TIMED_CALLS; i++)
		syscall(SYS_getpid);
	t1 = ns_now();
	for (int i = 0; i < TIMED_CALLS; i++)
		syscall(SYS_getpriority, PRIO_PROCESS, 0);
	t2 = ns_now();
	printf("%lu %lu\n", (unsigned long)((t1 - t0) / TIMED_CALLS),
	       (unsigned long)((t2 - t1) / TIMED_CALLS));
	return 0;
}

/*
 * What the kernel path saves: the best of 5 interleaved rounds of each
 * path.  Reported, not checked: TCG's timing says little about hardware.
 */
static void report_timing(void)
{
	static const char *const modes[] = { "", "user", "kmod" };
	unsigned long best[3][2] = { { -1UL, -1UL }, { -1UL, -1UL }, { -1UL, -1UL } };
	char out[256];

	for (int round = 0; round < 5; round++) {
		for (int m = 0; m < 3; m++) {
			unsigned long served, declined;

			if (run_child(timing, (void *)modes[m], out, sizeof(out)) != 0 ||
			    sscanf(out, "%lu %lu", &served, &declined) != 2) {
				CHECK(0, "timing, DUNE_MODE=%s: %s", modes[m], out);
				return;
			}
			best[m][0] = served < best[m][0] ? served : best[m][0];
			best[m][1] = declined < best[m][1] ? declined : best[m][1];
		}
	}
	printf("# getpid: native %lu ns, user path %lu ns, kernel path %lu ns (kernel/user %.2f)\n",
	       best[0][0], best[1][0], best[2][0], (double)best[2][0] / best[1][0]);
	printf("# getpriority (declined): user path %lu ns, declined by the module %lu ns "
	       "(%+.1f%%)\n", best[1][1], best[2][1], 100.0 * best[2][1] / best[1][1] - 100);
}

static int run_one(void *arg)
{
	const struct child_test *t = arg;

	check_failures = 0;	/* the child's own */
	alarm(120);		/* a hang is a failure of this case only */
	return t->fn(t->arg);
}

int main(void)
{
	char out[8192];
	int status;

	if (getenv("DUNE_KMOD_DEVICE"))
		device = getenv("DUNE_KMOD_DEVICE");
	if (access(device, F_OK))
		skip("no dune kernel module (/dev/dune): it is tested inside `make check-vm`");
	if (access("/dev/kvm", R_OK | W_OK))
		skip("no usable /dev/kvm");

	printf("bad input\n");
	bad_input();
	for (size_t i = 0; i < sizeof(child_tests) / sizeof(child_tests[0]); i++) {
		const struct child_test *t = &child_tests[i];

		printf("%s %s\n", t->name, t->arg ? (char *)t->arg : "");
		status = run_child(run_one, (void *)t, out, sizeof(out));
		CHECK(WIFEXITED(status) && !WEXITSTATUS(status), "%s: %s\n%s", t->name,
		      status_str(status), out);
	}
	printf("ptrace\n");
	test_ptrace();
	report_timing();
	printf("%zu syscalls compared natively, on the user path and on the kernel path\n",
	       NR_CALLS);
	return finish();
}
