// SPDX-License-Identifier: MIT
/*
 * Helpers safe on the host loop: it runs on the guest's own thread, maybe while
 * the guest holds the malloc or stdio locks, and shares errno and TLS with it,
 * so nothing here calls malloc, stdio or anything that sets errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "dune-internal.h"

static char last_error[256];

static size_t put_str(char *buf, size_t size, size_t at, const char *s)
{
	for (; *s; s++, at++)
		if (at + 1 < size)
			buf[at] = *s;
	return at;
}

static size_t put_num(char *buf, size_t size, size_t at, unsigned long v,
		      unsigned int base, int negative)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	while (n)
		if (at++ + 1 < size)
			buf[at - 1] = digits[--n];
	return at;
}

static size_t pad(char *buf, size_t size, size_t at, size_t from, int width, int left)
{
	size_t len = at - from;

	if ((int)len >= width)
		return at;
	if (!left) {		/* right-justify: shift what was written */
		for (size_t i = len; i-- > 0;)
			if (from + i + width - len + 1 < size && from + i + 1 < size)
				buf[from + i + width - len] = buf[from + i];
		for (size_t i = 0; i < width - len; i++)
			if (from + i + 1 < size)
				buf[from + i] = ' ';
		return from + width;
	}
	for (; (int)(at - from) < width; at++)
		if (at + 1 < size)
			buf[at] = ' ';
	return at;
}

/* A printf subset: %s %d %u %x %p %c, flags # -, width, modifier l. */
int dune_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t at = 0;

	for (; *fmt; fmt++) {
		int is_long = 0, alt = 0, left = 0, width = 0;
		size_t from;
		long sv;

		if (*fmt != '%') {
			if (at++ + 1 < size)
				buf[at - 1] = *fmt;
			continue;
		}
		for (fmt++; *fmt == '#' || *fmt == '-'; fmt++)
			*fmt == '#' ? (alt = 1) : (left = 1);
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l'; fmt++)
			is_long = 1;
		from = at;
		switch (*fmt) {
		case 's':
			at = put_str(buf, size, at, va_arg(ap, const char *));
			break;
		case 'c':
			if (at++ + 1 < size)
				buf[at - 1] = (char)va_arg(ap, int);
			break;
		case 'd':
			sv = is_long ? va_arg(ap, long) : va_arg(ap, int);
			at = put_num(buf, size, at, sv < 0 ? -(unsigned long)sv : (unsigned long)sv, 10, sv < 0);
			break;
		case 'u':
			at = put_num(buf, size, at, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int), 10, 0);
			break;
		case 'x':
			if (alt)
				at = put_str(buf, size, at, "0x");
			at = put_num(buf, size, at, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int), 16, 0);
			break;
		case 'p':
			at = put_str(buf, size, at, "0x");
			at = put_num(buf, size, at, (unsigned long)va_arg(ap, void *), 16, 0);
			break;
		default:
			at = put_str(buf, size, at, "%?");
			break;
		}
		at = pad(buf, size, at, from, width, left);
	}
	if (size)
		buf[at < size ? at : size - 1] = '\0';
	return (int)at;
}

/* Read the small file path (relative to dir) into buf, NUL-terminated: its length or -errno. */
long dune_read_small_file(int dir, const char *path, char *buf, size_t size)
{
	long fd = sys4(SYS_openat, dir, path, O_RDONLY | O_CLOEXEC, 0), n;

	if (fd < 0)
		return fd;
	n = sys3(SYS_read, fd, buf, size - 1);
	sys1(SYS_close, fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* A decimal number at p; *end (if end) is where its digits stop. */
unsigned long dune_parse_ulong(const char *p, const char **end)
{
	unsigned long v = 0;

	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	if (end)
		*end = p;
	return v;
}

int dune_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = dune_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void dune_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	memcpy(buf, "dune: ", 6);
	va_start(ap, fmt);
	n = 6 + dune_vfmt(buf + 6, sizeof(buf) - 7, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	sys3(SYS_write, 2, buf, n);
}

/* Record why a dune call failed (for dune_last_error()) and return err. */
int dune_fail(int err, const char *fmt, ...)
{
	char buf[sizeof(last_error)];	/* fmt's arguments may be last_error itself */
	va_list ap;

	va_start(ap, fmt);
	dune_vfmt(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(last_error, buf, sizeof(buf));
	return err;
}

const char *dune_last_error(void)
{
	return last_error;
}

/* (EMFILE always means RLIMIT_NOFILE: say so, the limit is what to raise.) */
const char *dune_strerror(int err)
{
	const char *s = strerrordesc_np(err < 0 ? -err : err);

	if (err == EMFILE || err == -EMFILE)
		return "Too many open files (RLIMIT_NOFILE)";

	return s ? s : "Unknown error";
}

/*
 * dune's fds live at the top of RLIMIT_NOFILE's hard limit (the kernel's fd
 * table grows to the highest fd, so at most DUNE_FD_TOP), in at most half of
 * it: one fd per vCPU (thread) and the VM's.  Where the hard limit is above
 * the soft one, that is above what the program can use: it pays nothing.
 */
static long fd_top(const struct rlimit *lim)
{
	return lim->rlim_max < DUNE_FD_TOP ? (long)lim->rlim_max : DUNE_FD_TOP;
}

/* A close-on-exec copy of fd near the top (-errno: no room there). */
static long dup_high(int fd)
{
	struct rlimit lim;
	long top;

	if (sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &lim))
		return -EINVAL;
	top = fd_top(&lim);
	return sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC,
		    top - (top / 2 < DUNE_FD_ROOM ? top / 2 : DUNE_FD_ROOM));
}

/*
 * While dune makes or moves its fds, the soft limit is lifted to fd_top(),
 * so that it can place them there and make them even when the program's
 * table is full.  vm->fd_lock keeps the program's own rlimit calls (and
 * fork, exec) out of that window: they never see the lifted value.
 */
void dune_fds_begin(struct dune_vm *vm, struct rlimit *program)
{
	struct rlimit lifted;

	dune_lock(&vm->fd_lock);
	if (sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, program)) {
		program->rlim_cur = program->rlim_max = 0;	/* nothing to restore */
		return;
	}
	lifted = *program;
	lifted.rlim_cur = fd_top(program);
	if (lifted.rlim_cur > program->rlim_cur)
		sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, &lifted, NULL);
}

void dune_fds_end(struct dune_vm *vm, const struct rlimit *program)
{
	if (program->rlim_cur < (rlim_t)fd_top(program))
		sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, program, NULL);
	dune_unlock(&vm->fd_lock);
}

/*
 * Move a dune fd out of the program's way (it wants that number): near the
 * top if there is room, else to any free number.
 */
int dune_reopen_high(int fd)
{
	long nfd = dup_high(fd);

	if (nfd < 0)
		nfd = sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0)
		return (int)nfd;
	sys1(SYS_close, fd);
	return (int)nfd;
}

/*
 * A new fd of dune's, close-on-exec from its making (or -errno from making
 * it, passed on): moved near the top, or left where the kernel put it if a
 * tight limit leaves no room there.
 */
int dune_take_high(long fd)
{
	long nfd;

	if (fd < 0)
		return (int)fd;
	nfd = dup_high(fd);
	if (nfd < 0)
		return (int)fd;
	sys1(SYS_close, fd);
	return (int)nfd;
}

/* ioctl without errno: -errno on failure. */
long dune_ioctl(int fd, unsigned long request, void *arg)
{
	return sys3(SYS_ioctl, fd, request, arg);
}

/*
 * A lock for what threads of one VM share (memory map, vCPU pool): a futex,
 * since the host loop may not use pthread (the guest may hold its locks).
 */
void dune_lock(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		sys4(SYS_futex, lock, FUTEX_WAIT_PRIVATE, 1, NULL);
}

void dune_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
	sys3(SYS_futex, lock, FUTEX_WAKE_PRIVATE, 1);
}

/*
 * dune reads and writes the program's memory with process_vm_readv (signal
 * frames, sigaction, clone3): a seccomp filter installed before dune_enter()
 * (containers often refuse it) would break that later, so entering fails now
 * if it does not work.
 */
int dune_guest_copy_check(void)
{
	char a = 1, b = 0;
	struct iovec local = { &b, 1 }, remote = { &a, 1 };
	long r = arch_raw_syscall(SYS_process_vm_readv, sys0(SYS_getpid), (long)&local, 1,
				  (long)&remote, 1, 0);

	if (r == 1 && b == 1)
		return 0;
	r = r < 0 ? r : -EIO;
	return dune_fail(r, "process_vm_readv: %s (refused by a seccomp filter?): dune needs it "
			 "to reach the program's memory", dune_strerror(r));
}

/* Copy from a guest pointer: -EFAULT instead of a crash if it is bad. */
int dune_read_guest(void *dst, uintptr_t src, size_t len)
{
	/* dst is written, never read: callers pass fresh buffers */
	// cppcheck-suppress ctuuninitvar
	struct iovec local = { dst, len }, remote = { (void *)src, len };
	long n = arch_raw_syscall(SYS_process_vm_readv, sys0(SYS_getpid), (long)&local, 1,
				  (long)&remote, 1, 0);

	return n == (long)len ? 0 : -EFAULT;
}

/*
 * The guest's NUL-terminated string at p into buf, a page at a time (it may
 * end just before memory that cannot be read): 0; -ENAMETOOLONG if size
 * holds no NUL (buf then ends with one, cut short); or -EFAULT.
 */
int dune_read_guest_string(char *buf, size_t size, uintptr_t p)
{
	size_t first = DUNE_PAGE_SIZE - (p & (DUNE_PAGE_SIZE - 1));

	if (first > size)
		first = size;
	if (dune_read_guest(buf, p, first))
		return -EFAULT;
	if (!memchr(buf, 0, first) && first < size &&
	    dune_read_guest(buf + first, p + first, size - first))
		return -EFAULT;
	if (memchr(buf, 0, size))
		return 0;
	buf[size - 1] = '\0';
	return -ENAMETOOLONG;
}

/*
 * Copy to a guest pointer: -EFAULT instead of a crash if it is bad.  The
 * kernel writes dst from this thread (process_vm_readv's local side), as it
 * writes a signal frame: a write below a stack grows it, which a remote
 * write (process_vm_writev) does not do on every kernel.  dune's own memory
 * is a hole for the guest: -EFAULT there too (a signal frame on a stack the
 * program put in it, an old value it asked for there).
 */
int dune_write_guest(struct dune_vm *vm, uintptr_t dst, const void *src, size_t len)
{
	struct iovec local = { (void *)dst, len }, remote = { (void *)src, len };
	long n;

	if (dune_overlaps_own(vm, dst, dst + len))
		return -EFAULT;
	n = arch_raw_syscall(SYS_process_vm_readv, sys0(SYS_getpid), (long)&local, 1,
			     (long)&remote, 1, 0);
	return n == (long)len ? 0 : -EFAULT;
}

uint64_t dune_now_ns(void)
{
	struct timespec t;

	sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}
