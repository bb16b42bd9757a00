// SPDX-License-Identifier: MIT
/*
 * dune's memory and fds out of the program's reach.  Natively they do not
 * exist, so a system call whose memory arguments reach dune's memory fails
 * as on a hole, and one that names dune's fds as on a closed fd.  The
 * table's memargs (syscalls.h) say what each pointer argument covers; each
 * is an interval test against dune's own ranges.  What the kernel reads
 * through guest pointers after the check (iovec arrays, a msghdr and its
 * control data) is copied first and the call made on the copy, so that
 * another thread cannot change it in between.  Host loop: raw syscalls only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/ioctl.h>
#include <linux/kcmp.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "dune-internal.h"
#include "policy.h"
#include "syscalls.h"

#define CMSG_COPY	4096		/* control data copied for the SCM_RIGHTS check */
#define PROC_PATH	64

/* What the kernel gets instead of the guest's iovec arrays and msghdr. */
struct reach_copy {
	struct dune_syscall sys;
	size_t bytes;			/* what the buffers checked so far cover */
	unsigned int nr_iov;
	struct iovec iov[2 * UIO_MAXIOV];
	struct msghdr msg;
	uintptr_t msg_guest;		/* where recvmsg's results go back */
	union {
		struct cmsghdr align;
		char buf[CMSG_COPY];
	} control;
};

/* Does [p, p + len) reach dune's memory?  (A range past the top wraps.) */
static int reaches(struct dune_vm *vm, uintptr_t p, size_t len)
{
	uintptr_t end = p + len;

	if (!len)
		return 0;
	return dune_overlaps_own(vm, p, end > p ? end : UINTPTR_MAX);
}

static size_t times_size(unsigned long n, size_t size)
{
	return size && n > SIZE_MAX / size ? SIZE_MAX : n * size;
}

/*
 * Does pid share our memory (a thread of ours, a vfork child)?  kcmp says;
 * without it (CONFIG_KCMP), a thread of this process does.
 */
static int is_own_process(struct dune_vm *vm, long pid)
{
	long same;

	if (pid == vm->pid || pid <= 0)
		return pid == vm->pid;
	same = sys5(SYS_kcmp, vm->pid, pid, KCMP_VM, 0, 0);
	if (same == -ENOSYS)
		return !sys3(SYS_tgkill, vm->pid, pid, 0);
	return same == 0;
}

/* If fd is /proc/<pid>/mem (or a task's), the pid; else -1. */
static long mem_file_pid(long fd)
{
	char path[PROC_PATH], link[PROC_PATH];
	const char *p, *digits;
	long n, pid;

	dune_fmt(path, sizeof(path), "/proc/self/fd/%ld", fd);
	n = sys4(SYS_readlinkat, AT_FDCWD, path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	if (strncmp(link, "/proc/", 6))
		return -1;
	digits = link + 6;
	pid = dune_parse_ulong(digits, &p);
	if (p == digits)
		return -1;
	if (!strncmp(p, "/task/", 6)) {
		digits = p + 6;
		dune_parse_ulong(digits, &p);
		if (p == digits)
			return -1;
	}
	return strcmp(p, "/mem") ? -1 : pid;
}

/* Is fd /proc/<pid>/mem (or a task's) of this process? */
static int is_own_mem_file(struct dune_vm *vm, long fd)
{
	long pid = mem_file_pid(fd);

	return pid >= 0 && is_own_process(vm, pid);
}

/*
 * Under a policy no /proc/PID/mem opens for writing (EACCES, as where the
 * kernel's ptrace access check refuses it): write(2), sendfile or splice at
 * a position set by lseek would reach dune's memory past the checks of the
 * calls that take an offset, in this process or, through another's file, in
 * a parent or child under the same policy.  The file is opened O_PATH first,
 * which pins it (no rename or symlink can change what the check saw), then
 * reopened through /proc/self/fd with the call's flags.  The policy's filter
 * judges the program's call as it made it, first.  A file that does not exist
 * yet is made with O_EXCL (retried if it appears meanwhile): it is not one.
 * For the calls that may write the file (the caller's test); how is
 * openat2's struct open_how, copied, or NULL.
 */
long dune_open_checked(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long dirfd,
		       uintptr_t path, long flags, long mode, const struct open_how *how)
{
	uint64_t resolve = how ? how->resolve : 0;
	char self[PROC_PATH];
	long pin, fd, err;

	err = dune_policy_ask(vcpu->vm, sys->nr, sys->args);
	if (err)
		return err;
	for (int tries = 0; tries < 8; tries++) {
		struct open_how pin_how = { O_PATH | O_CLOEXEC | (flags & (O_NOFOLLOW | O_DIRECTORY)),
					    0, resolve };

		pin = how ? sys4(SYS_openat2, dirfd, path, &pin_how, sizeof(pin_how)) :
			    sys4(SYS_openat, dirfd, path, pin_how.flags, 0);
		if (pin == -ENOENT && (flags & O_CREAT)) {
			struct open_how excl_how = { flags | O_EXCL, mode, resolve };

			fd = how ? sys4(SYS_openat2, dirfd, path, &excl_how, sizeof(excl_how)) :
				   sys4(SYS_openat, dirfd, path, excl_how.flags, mode);
			if (fd != -EEXIST || (flags & O_EXCL))
				return fd;
			continue;
		}
		if (pin < 0)
			return pin;
		if (mem_file_pid(pin) >= 0)
			err = -EACCES;
		else if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			err = -EEXIST;
		dune_fmt(self, sizeof(self), "/proc/self/fd/%ld", pin);
		fd = err ? err : sys4(SYS_openat, AT_FDCWD, self, flags & ~(O_NOFOLLOW | O_CREAT), mode);
		sys1(SYS_close, pin);
		if (fd != -ENOENT)
			return fd;
		/* no /proc/self/fd: no /proc/PID/mem either */
		return how ? sys4(SYS_openat2, dirfd, path, how, sizeof(*how)) :
			     sys4(SYS_openat, dirfd, path, flags, mode);
	}
	return -EEXIST;
}

/* Copy and check n guest iovecs; the copy's address replaces the guest's. */
static int take_iov(struct dune_vm *vm, struct reach_copy *c, uintptr_t p, unsigned long n,
		    struct iovec **copy)
{
	struct iovec *iov = &c->iov[c->nr_iov];

	if (n > UIO_MAXIOV)
		return 1;	/* the kernel refuses it (EINVAL): nothing to check */
	if (c->nr_iov + n > ARRAY_SIZE(c->iov))
		return -ENOMEM;	/* room for two iovec arguments: never short */
	if (reaches(vm, p, n * sizeof(*iov)) || dune_read_guest(iov, p, n * sizeof(*iov)))
		return -EFAULT;
	for (unsigned long i = 0; i < n; i++)
		if ((ssize_t)iov[i].iov_len < 0)
			goto copied;	/* the kernel's EINVAL, before it looks at any buffer */
	for (unsigned long i = 0; i < n; i++) {
		if (reaches(vm, (uintptr_t)iov[i].iov_base, iov[i].iov_len))
			return -EFAULT;
		c->bytes += iov[i].iov_len;
	}
copied:
	c->nr_iov += n;
	*copy = iov;
	return 0;
}

/* Does control data (in our memory) pass one of dune's fds with SCM_RIGHTS? */
static int own_fd_in_rights(struct dune_vm *vm, const struct msghdr *msg)
{
	const char *end = (const char *)msg->msg_control + msg->msg_controllen;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR((struct msghdr *)msg, cm)) {
		const int *fds = (const int *)CMSG_DATA(cm);
		size_t n;

		/* a header longer than the data is the kernel's EINVAL: read no further */
		if (cm->cmsg_len < CMSG_LEN(0) || cm->cmsg_len > (size_t)(end - (char *)cm))
			return 0;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < n; i++)
			if (dune_is_own_fd(vm, fds[i]))
				return 1;
	}
	return 0;
}

/*
 * A msghdr: its name, iovecs and control buffer.  Control data to send is
 * copied (up to CMSG_COPY bytes), and no SCM_RIGHTS in it may name dune's
 * fds.  in_place: the iovecs are only checked, the call reads the guest's.
 */
static int check_msg(struct dune_vm *vm, struct reach_copy *c, struct msghdr *msg, int dir,
		     int in_place)
{
	struct msghdr copy;
	struct iovec *iov;
	int err;

	if (reaches(vm, (uintptr_t)msg->msg_name, msg->msg_namelen) ||
	    reaches(vm, (uintptr_t)msg->msg_control, msg->msg_controllen))
		return -EFAULT;
	err = take_iov(vm, c, (uintptr_t)msg->msg_iov, msg->msg_iovlen, &iov);
	if (err)
		return err > 0 ? 0 : err;
	if (!in_place)
		msg->msg_iov = iov;
	else
		c->nr_iov -= msg->msg_iovlen;	/* only checked: reuse the room */
	if (dir != DUNE_MA_READ || !msg->msg_control || !msg->msg_controllen)
		return 0;
	if (msg->msg_controllen > sizeof(c->control.buf))
		return -ENOBUFS;	/* as over net.core.optmem_max */
	if (dune_read_guest(c->control.buf, (uintptr_t)msg->msg_control, msg->msg_controllen))
		return -EFAULT;
	copy = *msg;
	copy.msg_control = c->control.buf;
	if (own_fd_in_rights(vm, &copy))
		return -EBADF;	/* as for a closed fd */
	if (!in_place)
		msg->msg_control = c->control.buf;
	return 0;
}

static long take_msg(struct dune_vm *vm, struct reach_copy *c, const struct dune_memarg *ma)
{
	uintptr_t p = c->sys.args[ma->ptr];

	if (reaches(vm, p, sizeof(c->msg)) || dune_read_guest(&c->msg, p, sizeof(c->msg)))
		return -EFAULT;
	c->msg_guest = ma->dir == DUNE_MA_WRITE ? p : 0;
	c->sys.args[ma->ptr] = (long)&c->msg;
	return check_msg(vm, c, &c->msg, ma->dir, 0);
}

/*
 * sendmmsg/recvmmsg: each header checked where it is (up to the kernel's
 * UIO_MAXIOV of them), not copied, so another thread could still change one
 * after the check (see README).
 */
static long check_mmsg(struct dune_vm *vm, struct reach_copy *c, const struct dune_memarg *ma)
{
	uintptr_t p = c->sys.args[ma->ptr];
	unsigned long n = (unsigned int)c->sys.args[ma->len];

	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	if (reaches(vm, p, n * sizeof(struct mmsghdr)))
		return -EFAULT;
	for (unsigned long i = 0; i < n; i++) {
		struct mmsghdr h;
		long err;

		if (dune_read_guest(&h, p + i * sizeof(h), sizeof(h)))
			return -EFAULT;
		err = check_msg(vm, c, &h.msg_hdr, ma->dir, 1);
		if (err)
			return err;
	}
	return 0;
}

/* A socklen_t at args[len] and the address of that many bytes at args[ptr]. */
static long check_sockaddr(struct dune_vm *vm, const long *a, const struct dune_memarg *ma)
{
	uintptr_t p = a[ma->ptr], lenp = a[ma->len];
	socklen_t len;

	if (!p || !lenp)
		return 0;
	if (reaches(vm, lenp, sizeof(len)))
		return -EFAULT;
	if (dune_read_guest(&len, lenp, sizeof(len)))
		return 0;	/* the kernel says EFAULT */
	return reaches(vm, p, len) ? -EFAULT : 0;
}

/* What fcntl(2) command cmd reads or writes at its argument (0: none). */
static size_t fcntl_size(long cmd)
{
	switch (cmd) {
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return sizeof(struct flock);
	case F_GETOWN_EX:
	case F_SETOWN_EX:
		return sizeof(struct f_owner_ex);
	case F_GET_RW_HINT:
	case F_SET_RW_HINT:
	case F_GET_FILE_RW_HINT:
	case F_SET_FILE_RW_HINT:
		return sizeof(uint64_t);
	}
	return 0;
}

/*
 * mincore's vector reaches dune's memory, but mincore checks its range
 * (EINVAL, ENOMEM) first: the same call with a vector no kernel takes says
 * which error comes.
 */
static long mincore_vec_error(struct dune_vm *vm, const long *a)
{
	long ret = dune_forward6(vm, SYS_mincore, a[0], a[1], -1L, 0, 0, 0);

	return ret ? ret : -EFAULT;
}

/*
 * The checks made where the arguments are: -errno, 0, or 1 if the kind
 * needs what the kernel reads copied first (copy_and_call()).  *bytes adds
 * up what the buffers cover, for DUNE_MA_MEM_POS.
 */
static long check_in_place(struct dune_vm *vm, const long *a, const struct dune_memarg *ma,
			   size_t *bytes)
{
	uintptr_t p = a[ma->ptr];
	size_t len = 0;

	switch (ma->kind) {
	case DUNE_MA_BUF:
		/*
		 * With a header, a message: for a negative size msgrcv fails with
		 * EINVAL first, msgsnd once it has read the header (its mtype).
		 */
		if (ma->size && (long)a[ma->len] < 0) {
			if (ma->dir == DUNE_MA_WRITE)
				return 0;
			len = ma->size;
			break;
		}
		len = (size_t)a[ma->len] > SIZE_MAX - ma->size ? SIZE_MAX : (size_t)a[ma->len] + ma->size;
		*bytes += a[ma->len];
		break;
	case DUNE_MA_FIXED:
		len = ma->size;
		break;
	case DUNE_MA_ARRAY:
		len = times_size(a[ma->len], ma->size);
		break;
	case DUNE_MA_FDSET:		/* (a negative nfds is the kernel's EINVAL) */
		len = (int)a[ma->len] < 0 ? 0 :
		      DUNE_ALIGN_UP((unsigned long)(int)a[ma->len], 8 * sizeof(long)) / 8;
		break;
	case DUNE_MA_IOCTL:
		len = _IOC_SIZE((unsigned int)a[ma->len]) ? _IOC_SIZE((unsigned int)a[ma->len]) : 1;
		break;
	case DUNE_MA_FCNTL:
		len = fcntl_size(a[ma->len]);
		break;
	case DUNE_MA_PAGE_VEC:
		len = DUNE_ALIGN_UP((size_t)a[ma->len], DUNE_PAGE_SIZE) / DUNE_PAGE_SIZE;
		return reaches(vm, p, len) ? mincore_vec_error(vm, a) : 0;
	case DUNE_MA_SOCKADDR:
		return check_sockaddr(vm, a, ma);
	case DUNE_MA_MEM_POS:
		/* natively /proc/self/mem gives EIO on a hole */
		return reaches(vm, p, *bytes) && is_own_mem_file(vm, a[0]) ? -EIO : 0;
	default:
		return 1;
	}
	return reaches(vm, p, len) ? -EFAULT : 0;
}

/* iovecs and msghdrs: checked and called on a copy. */
static long take_copy(struct dune_vm *vm, struct reach_copy *c, const struct dune_memarg *ma)
{
	const long *a = c->sys.args;
	struct iovec *iov;
	int err;

	switch (ma->kind) {
	case DUNE_MA_PEER_IOV:
		if (!is_own_process(vm, a[0]))
			return 0;
		/* fall through */
	case DUNE_MA_IOV:
		err = take_iov(vm, c, a[ma->ptr], a[ma->len], &iov);
		if (!err)
			c->sys.args[ma->ptr] = (long)iov;
		return err > 0 ? 0 : err;
	case DUNE_MA_MSG:
		return take_msg(vm, c, ma);
	case DUNE_MA_MMSG:
		return check_mmsg(vm, c, ma);
	}
	return check_in_place(vm, a, ma, &c->bytes);
}

/*
 * The call on copies of what the kernel reads through guest pointers (and
 * the mmsghdr checks, which need room for what they read).
 * Only recvmsg's header goes back: what the kernel wrote into the copy.
 * (Not inlined: its frame is large, and most calls do not need it.)
 */
static long __attribute__((noinline)) copy_and_call(struct dune_vcpu *vcpu,
						     const struct dune_syscall *sys,
						     const struct dune_memarg *ma, syscall_fn fn)
{
	struct dune_vm *vm = vcpu->vm;
	struct reach_copy c;
	long ret;

	c.sys = *sys;
	c.bytes = 0;
	c.nr_iov = 0;
	c.msg_guest = 0;
	for (int i = 0; i < DUNE_MAX_MEMARGS && ma[i].kind; i++) {
		ret = take_copy(vm, &c, &ma[i]);
		if (ret)
			return ret;
	}
	ret = fn(vcpu, &c.sys);
	if (c.msg_guest && !IS_ERR_VALUE(ret)) {
		struct msghdr back;

		if (dune_read_guest(&back, c.msg_guest, sizeof(back)))
			return -EFAULT;
		back.msg_namelen = c.msg.msg_namelen;
		back.msg_controllen = c.msg.msg_controllen;
		back.msg_flags = c.msg.msg_flags;
		if (dune_write_guest(vm, c.msg_guest, &back, sizeof(back)))
			return -EFAULT;
	}
	return ret;
}

/* Check the memory arguments of sys, then run its handler fn. */
long dune_reach_call(struct dune_vcpu *vcpu, const struct dune_syscall *sys,
		     const struct dune_memarg *ma, syscall_fn fn)
{
	size_t bytes = 0;

	for (int i = 0; i < DUNE_MAX_MEMARGS && ma[i].kind; i++) {
		long ret = check_in_place(vcpu->vm, sys->args, &ma[i], &bytes);

		if (ret > 0)
			return copy_and_call(vcpu, sys, ma, fn);
		if (ret)
			return ret;
	}
	return fn(vcpu, sys);
}

/* The pid of a pidfd, from its fdinfo ("Pid:\t<n>"); 0 if unknown. */
static long pidfd_pid(long pidfd)
{
	char path[PROC_PATH], buf[512];
	const char *at;

	dune_fmt(path, sizeof(path), "/proc/self/fdinfo/%ld", pidfd);
	if (dune_read_small_file(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return 0;
	at = strstr(buf, "\nPid:\t");
	return at ? (long)dune_parse_ulong(at + 6, NULL) : 0;
}

/* pidfd_getfd(2) of one of dune's fds from this process: as if it were closed. */
long dune_pidfd_getfd_check(struct dune_vm *vm, const struct dune_syscall *sys)
{
	const long *a = sys->args;

	return dune_is_own_fd(vm, a[1]) && is_own_process(vm, pidfd_pid(a[0])) ? -EBADF : 0;
}

/* Does an array of n fds at p name one of dune's?  (-EFAULT if unreadable.) */
static int own_fd_in_array(struct dune_vm *vm, uintptr_t p, unsigned long n)
{
	int fds[256];

	if (reaches(vm, p, times_size(n, sizeof(int))))
		return -EFAULT;
	for (unsigned long i = 0; i < n; i += ARRAY_SIZE(fds)) {
		size_t k = n - i < ARRAY_SIZE(fds) ? n - i : ARRAY_SIZE(fds);

		if (dune_read_guest(fds, p + i * sizeof(int), k * sizeof(int)))
			return 0;	/* the kernel says EFAULT */
		for (size_t j = 0; j < k; j++)
			if (dune_is_own_fd(vm, fds[j]))
				return -EBADF;
	}
	return 0;
}

/* Do n iovecs at p cover dune's memory?  (-EFAULT if so.) */
static int iovs_reach(struct dune_vm *vm, uintptr_t p, unsigned long n)
{
	struct iovec iov[64];

	if (reaches(vm, p, times_size(n, sizeof(*iov))))
		return -EFAULT;
	for (unsigned long i = 0; i < n; i += ARRAY_SIZE(iov)) {
		size_t k = n - i < ARRAY_SIZE(iov) ? n - i : ARRAY_SIZE(iov);

		if (dune_read_guest(iov, p + i * sizeof(*iov), k * sizeof(*iov)))
			return 0;	/* the kernel says EFAULT */
		for (size_t j = 0; j < k; j++)
			if (reaches(vm, (uintptr_t)iov[j].iov_base, iov[j].iov_len))
				return -EFAULT;
	}
	return 0;
}

/*
 * io_uring_register(2): files registered for fixed-file operations must not
 * be dune's, nor fixed buffers in its memory.  Checked in place, not copied:
 * io_uring reads its submissions from shared memory dune never sees, so a
 * program can reach dune's fds and memory through them anyway (README).
 */
long dune_uring_register_check(struct dune_vm *vm, const struct dune_syscall *sys)
{
	const long *a = sys->args;
	unsigned long op = a[1], n = (unsigned int)a[3];
	struct io_uring_files_update up;
	struct io_uring_rsrc_register reg;
	struct io_uring_rsrc_update2 up2;
	uintptr_t p = a[2];

	/* (an unreadable argument is left to the kernel: EFAULT) */
	switch (op) {
	case IORING_REGISTER_FILES:
	case IORING_REGISTER_BUFFERS:
		break;
	case IORING_REGISTER_FILES_UPDATE:
		p = dune_read_guest(&up, p, sizeof(up)) ? 0 : up.fds;
		break;
	case IORING_REGISTER_FILES2:
	case IORING_REGISTER_BUFFERS2:
		p = dune_read_guest(&reg, p, sizeof(reg)) ? 0 : reg.data;
		n = p ? reg.nr : 0;
		break;
	case IORING_REGISTER_FILES_UPDATE2:
	case IORING_REGISTER_BUFFERS_UPDATE:
		p = dune_read_guest(&up2, p, sizeof(up2)) ? 0 : up2.data;
		n = p ? up2.nr : 0;
		break;
	default:
		p = 0;
	}
	if (!p)
		return 0;
	if (op == IORING_REGISTER_BUFFERS || op == IORING_REGISTER_BUFFERS2 ||
	    op == IORING_REGISTER_BUFFERS_UPDATE)
		return iovs_reach(vm, p, n);
	return own_fd_in_array(vm, p, n);
}
