/* SPDX-License-Identifier: MIT */
/*
 * The system calls dune must see in user space, and why: the one list from
 * which the host loop's dispatch (syscall.c), the restart rules (signal.c),
 * the tools' end-of-process reports (syscall.c) and the fast path's
 * allow-list (fastpath.c) are derived.  Every other system call is re-issued
 * unchanged and may run in the kernel module.
 *
 * X(name, why, handler, memargs...): SYS_<name>; a set of DUNE_WHY_* bits;
 * the function that services it in the host loop, long handler(vcpu, sys);
 * then what its pointer arguments reach (DUNE_IN/OUT_* below, at most
 * DUNE_MAX_MEMARGS), checked against dune's own memory before the handler
 * runs (reach.c).  ISA-specific entries (legacy calls, arch intercepts) come
 * from DUNE_ARCH_SYSCALLS in <arch-syscalls.h>.  The memargs name C types
 * (the kernel's layout: on Linux, libc's types for these calls): they expand
 * only in syscall.c, which includes their headers.
 */
#ifndef DUNE_SYSCALLS_H
#define DUNE_SYSCALLS_H

#include <stdint.h>

#include "arch-syscalls.h"

enum dune_why {
	DUNE_WHY_MEM = 1 << 0,		/* changes the address space dune mirrors */
	DUNE_WHY_FD = 1 << 1,		/* could reach dune's own fds */
	DUNE_WHY_PROC = 1 << 2,		/* threads, processes, images, namespaces */
	DUNE_WHY_SIGNAL = 1 << 3,	/* signals are delivered inside the guest */
	DUNE_WHY_SECCOMP = 1 << 4,	/* seccomp filters are run by dune */
	DUNE_WHY_ARCH = 1 << 5,		/* changes vCPU state (arch intercept) */
	DUNE_WHY_LIMIT = 1 << 6,	/* RLIMIT_NOFILE, which dune lifts at times */
	DUNE_WHY_NORESTART = 1 << 7,	/* never restarted after a handler (SA_RESTART) */
	DUNE_WHY_NORETURN = 1 << 8,	/* ends the process image when it succeeds */
	DUNE_WHY_SERVED = 1 << 9,	/* dune performs it (or some of its uses) itself:
					   a policy filter never sees the program's call */
	DUNE_WHY_REACH = 1 << 10,	/* memory arguments could reach dune's own */
	DUNE_WHY_POLICY = 1 << 11,	/* under a policy dune makes it itself, having
					   asked (the open calls: reach.c) */
};

/*
 * A memory argument: args[ptr] and what it covers.  Natively dune's memory
 * is a hole, so a syscall whose memory reaches it fails before it runs:
 * EFAULT (a range syscall's own error is its handler's business).  The
 * direction says what the kernel does there.  The module checks the kinds
 * that need no guest memory read (fastpath.c), and so may serve those calls.
 */
enum dune_memarg_kind {
	DUNE_MA_NONE,
	DUNE_MA_BUF,		/* args[len] bytes, and size more (msgrcv's mtype) */
	DUNE_MA_FIXED,		/* size bytes */
	DUNE_MA_ARRAY,		/* args[len] elements of size bytes */
	DUNE_MA_FDSET,		/* an fd_set of args[len] bits */
	DUNE_MA_SOCKADDR,	/* an address of *args[len] bytes (a socklen_t) */
	DUNE_MA_IOV,		/* args[len] iovecs, and what each one covers */
	DUNE_MA_PEER_IOV,	/* same, in process args[0]: checked if it is this one */
	DUNE_MA_MSG,		/* a struct msghdr, its name, iovecs and control */
	DUNE_MA_MMSG,		/* args[len] struct mmsghdr */
	DUNE_MA_MEM_POS,	/* args[ptr] is a file offset: /proc/self/mem's is an address */
	DUNE_MA_IOCTL,		/* the size encoded in request args[len], at least a byte */
	DUNE_MA_FCNTL,		/* the struct that command args[len] takes, if any */
	DUNE_MA_PAGE_VEC,	/* a byte per page of args[len] bytes (mincore) */
};

enum { DUNE_MA_READ = 1, DUNE_MA_WRITE = 2 };

struct dune_memarg {
	uint8_t kind, ptr, len, dir;
	uint32_t size;
};

#define DUNE_MAX_MEMARGS	6
#define DUNE_MA(kind, p, n, dir, size)	{ DUNE_MA_##kind, p, n, DUNE_MA_##dir, size }
#define DUNE_IN_BUF(p, n)		DUNE_MA(BUF, p, n, READ, 0)
#define DUNE_OUT_BUF(p, n)		DUNE_MA(BUF, p, n, WRITE, 0)
#define DUNE_IN(p, type)		DUNE_MA(FIXED, p, 0, READ, sizeof(type))
#define DUNE_OUT(p, type)		DUNE_MA(FIXED, p, 0, WRITE, sizeof(type))
#define DUNE_OUT_ARRAY(p, n, type)	DUNE_MA(ARRAY, p, n, WRITE, sizeof(type))
#define DUNE_IN_ARRAY(p, n, type)	DUNE_MA(ARRAY, p, n, READ, sizeof(type))
#define DUNE_FDSET(p, n)		DUNE_MA(FDSET, p, n, WRITE, 0)
#define DUNE_IN_SOCKADDR(p, n)		DUNE_MA(BUF, p, n, READ, 0)
#define DUNE_OUT_SOCKADDR(p, n)		DUNE_MA(SOCKADDR, p, n, WRITE, 0)
#define DUNE_IN_IOV(p, n)		DUNE_MA(IOV, p, n, READ, 0)
#define DUNE_OUT_IOV(p, n)		DUNE_MA(IOV, p, n, WRITE, 0)
#define DUNE_IN_PEER_IOV(p, n)		DUNE_MA(PEER_IOV, p, n, READ, 0)
#define DUNE_OUT_PEER_IOV(p, n)		DUNE_MA(PEER_IOV, p, n, WRITE, 0)
#define DUNE_IN_MSG(p)			DUNE_MA(MSG, p, 0, READ, 0)
#define DUNE_OUT_MSG(p)			DUNE_MA(MSG, p, 0, WRITE, 0)
#define DUNE_IN_MMSG(p, n)		DUNE_MA(MMSG, p, n, READ, 0)
#define DUNE_OUT_MMSG(p, n)		DUNE_MA(MMSG, p, n, WRITE, 0)
/* a write to /proc/self/mem at args[p] of what the buffers before it hold */
#define DUNE_MEM_POS(p, dir)		DUNE_MA(MEM_POS, p, 0, dir, 0)

#define DUNE_SYSCALLS(X)						\
	X(mmap, DUNE_WHY_MEM, do_mmap)					\
	X(munmap, DUNE_WHY_MEM, do_munmap)				\
	X(mprotect, DUNE_WHY_MEM, do_mprotect)				\
	X(pkey_mprotect, DUNE_WHY_MEM, do_mprotect)			\
	X(mremap, DUNE_WHY_MEM, do_mremap)				\
	X(brk, DUNE_WHY_MEM, do_brk)					\
	X(shmat, DUNE_WHY_MEM, do_shmat)				\
	X(shmdt, DUNE_WHY_MEM, do_shmdt)				\
	X(madvise, DUNE_WHY_REACH, own_range_around)			\
	X(mlock, DUNE_WHY_REACH, own_range_before)			\
	X(mlock2, DUNE_WHY_REACH, own_range_before)			\
	X(munlock, DUNE_WHY_REACH, own_range_before)			\
	X(msync, DUNE_WHY_REACH, own_range_around)			\
	X(mincore, DUNE_WHY_REACH, own_range_before, DUNE_MA(PAGE_VEC, 2, 1, WRITE, 0)) \
	X(mseal, DUNE_WHY_REACH, refuse_own_range)			\
	X(openat, DUNE_WHY_POLICY, do_openat)				\
	X(openat2, DUNE_WHY_POLICY, do_openat2)				\
	X(close, DUNE_WHY_FD, refuse_own_fd)				\
	X(dup, DUNE_WHY_FD, refuse_own_fd)				\
	X(fcntl, DUNE_WHY_FD, refuse_own_fd, DUNE_MA(FCNTL, 2, 1, WRITE, 0)) \
	X(ioctl, DUNE_WHY_FD, refuse_own_fd, DUNE_MA(IOCTL, 2, 1, WRITE, 0)) \
	X(dup3, DUNE_WHY_FD, do_dup2)					\
	X(close_range, DUNE_WHY_FD, do_close_range)			\
	X(pidfd_getfd, DUNE_WHY_FD, do_pidfd_getfd)			\
	X(io_uring_register, DUNE_WHY_FD | DUNE_WHY_REACH, do_uring_register) \
	X(clone, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_clone)		\
	X(clone3, DUNE_WHY_PROC | DUNE_WHY_SERVED, dune_clone3, DUNE_IN_BUF(0, 1)) \
	X(exit, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_exit)		\
	X(unshare, DUNE_WHY_PROC, do_single_threaded)			\
	X(setns, DUNE_WHY_PROC, do_single_threaded)			\
	X(exit_group, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_exit_group) \
	X(execve, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_execve)		\
	X(execveat, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_execve)	\
	X(rt_sigaction, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, dune_sigaction, \
	  DUNE_IN(1, struct dune_sigaction), DUNE_OUT(2, struct dune_sigaction)) \
	X(rt_sigprocmask, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, dune_sigprocmask, \
	  DUNE_IN_BUF(1, 3), DUNE_OUT_BUF(2, 3))			\
	X(rt_sigreturn, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, do_sigreturn) \
	X(seccomp, DUNE_WHY_SECCOMP | DUNE_WHY_SERVED, do_seccomp)	\
	X(prctl, DUNE_WHY_SECCOMP | DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_prctl) \
	X(prlimit64, DUNE_WHY_LIMIT, forward_fds_locked,		\
	  DUNE_IN(2, struct rlimit), DUNE_OUT(3, struct rlimit))	\
	X(rt_sigsuspend, DUNE_WHY_NORESTART, do_forward, DUNE_IN_BUF(0, 1)) \
	X(rt_sigtimedwait, DUNE_WHY_NORESTART, do_forward,		\
	  DUNE_IN_BUF(0, 3), DUNE_OUT(1, siginfo_t), DUNE_IN(2, struct timespec)) \
	X(nanosleep, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_IN(0, struct timespec), DUNE_OUT(1, struct timespec))	\
	X(clock_nanosleep, DUNE_WHY_NORESTART, do_forward,		\
	  DUNE_IN(2, struct timespec), DUNE_OUT(3, struct timespec))	\
	X(ppoll, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_MA(ARRAY, 0, 1, WRITE, sizeof(struct pollfd)),		\
	  DUNE_OUT(2, struct timespec), DUNE_IN_BUF(3, 4))		\
	X(pselect6, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_FDSET(1, 0), DUNE_FDSET(2, 0), DUNE_FDSET(3, 0),		\
	  DUNE_OUT(4, struct timespec), DUNE_IN(5, unsigned long[2]))	\
	X(epoll_pwait, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_OUT_ARRAY(1, 2, struct epoll_event), DUNE_IN_BUF(4, 5))	\
	X(epoll_pwait2, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_OUT_ARRAY(1, 2, struct epoll_event), DUNE_IN(3, struct timespec), \
	  DUNE_IN_BUF(4, 5))						\
	X(semop, DUNE_WHY_NORESTART, do_forward, DUNE_IN_ARRAY(1, 2, struct sembuf)) \
	X(semtimedop, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_IN_ARRAY(1, 2, struct sembuf), DUNE_IN(3, struct timespec)) \
	X(msgrcv, DUNE_WHY_NORESTART, do_forward, DUNE_MA(BUF, 1, 2, WRITE, sizeof(long))) \
	X(msgsnd, DUNE_WHY_NORESTART, do_forward, DUNE_MA(BUF, 1, 2, READ, sizeof(long))) \
	X(io_getevents, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_OUT_ARRAY(3, 2, struct io_event), DUNE_IN(4, struct timespec)) \
	DUNE_REACH_SYSCALLS(X)						\
	DUNE_ARCH_SYSCALLS(X)

/*
 * Forwarded unchanged once their memory arguments are checked: the calls
 * that read or write caller memory.  (Paths are read up to their NUL and
 * are not checked: reading dune's memory as a path changes nothing.)
 */
#define DUNE_REACH_SYSCALLS(X)						\
	X(read, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))		\
	X(write, DUNE_WHY_REACH, do_forward, DUNE_IN_BUF(1, 2))		\
	X(pread64, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2), DUNE_MEM_POS(3, READ)) \
	X(pwrite64, DUNE_WHY_REACH, do_forward, DUNE_IN_BUF(1, 2), DUNE_MEM_POS(3, WRITE)) \
	X(readv, DUNE_WHY_REACH, do_forward, DUNE_OUT_IOV(1, 2))	\
	X(writev, DUNE_WHY_REACH, do_forward, DUNE_IN_IOV(1, 2))	\
	X(preadv, DUNE_WHY_REACH, do_forward, DUNE_OUT_IOV(1, 2), DUNE_MEM_POS(3, READ)) \
	X(pwritev, DUNE_WHY_REACH, do_forward, DUNE_IN_IOV(1, 2), DUNE_MEM_POS(3, WRITE)) \
	X(preadv2, DUNE_WHY_REACH, do_forward, DUNE_OUT_IOV(1, 2), DUNE_MEM_POS(3, READ)) \
	X(pwritev2, DUNE_WHY_REACH, do_forward, DUNE_IN_IOV(1, 2), DUNE_MEM_POS(3, WRITE)) \
	X(process_vm_readv, DUNE_WHY_REACH, do_forward,			\
	  DUNE_OUT_IOV(1, 2), DUNE_IN_PEER_IOV(3, 4))			\
	X(process_vm_writev, DUNE_WHY_REACH, do_forward,		\
	  DUNE_IN_IOV(1, 2), DUNE_OUT_PEER_IOV(3, 4))			\
	X(vmsplice, DUNE_WHY_REACH, do_forward, DUNE_IN_IOV(1, 2))	\
	X(sendfile, DUNE_WHY_REACH, do_forward, DUNE_OUT(2, off_t))	\
	X(splice, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, loff_t), DUNE_OUT(3, loff_t)) \
	X(copy_file_range, DUNE_WHY_REACH, do_forward,			\
	  DUNE_OUT(1, loff_t), DUNE_OUT(3, loff_t))			\
	X(recvfrom, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2), DUNE_OUT_SOCKADDR(4, 5)) \
	X(sendto, DUNE_WHY_REACH, do_forward, DUNE_IN_BUF(1, 2), DUNE_IN_SOCKADDR(4, 5)) \
	X(recvmsg, DUNE_WHY_REACH, do_forward, DUNE_OUT_MSG(1))		\
	X(sendmsg, DUNE_WHY_REACH, do_forward, DUNE_IN_MSG(1))		\
	X(recvmmsg, DUNE_WHY_REACH, do_forward, DUNE_OUT_MMSG(1, 2), DUNE_OUT(4, struct timespec)) \
	X(sendmmsg, DUNE_WHY_REACH, do_forward, DUNE_IN_MMSG(1, 2))	\
	X(accept, DUNE_WHY_REACH, do_forward, DUNE_OUT_SOCKADDR(1, 2))	\
	X(accept4, DUNE_WHY_REACH, do_forward, DUNE_OUT_SOCKADDR(1, 2))	\
	X(getsockname, DUNE_WHY_REACH, do_forward, DUNE_OUT_SOCKADDR(1, 2)) \
	X(getpeername, DUNE_WHY_REACH, do_forward, DUNE_OUT_SOCKADDR(1, 2)) \
	X(getsockopt, DUNE_WHY_REACH, do_forward, DUNE_OUT_SOCKADDR(3, 4)) \
	X(bind, DUNE_WHY_REACH, do_forward, DUNE_IN_SOCKADDR(1, 2))	\
	X(connect, DUNE_WHY_REACH, do_forward, DUNE_IN_SOCKADDR(1, 2))	\
	X(setsockopt, DUNE_WHY_REACH, do_forward, DUNE_IN_BUF(3, 4))	\
	X(socketpair, DUNE_WHY_REACH, do_forward, DUNE_OUT(3, int[2]))	\
	X(pipe2, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, int[2]))	\
	X(getrandom, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(0, 1))	\
	X(getcwd, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(0, 1))	\
	X(readlinkat, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(2, 3))	\
	X(getdents64, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(getxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(2, 3))	\
	X(lgetxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(2, 3))	\
	X(fgetxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(2, 3))	\
	X(listxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(llistxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(flistxattr, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(statx, DUNE_WHY_REACH, do_forward, DUNE_OUT(4, struct statx))	\
	X(statfs, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct statfs)) \
	X(fstatfs, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct statfs)) \
	X(clock_gettime, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct timespec)) \
	X(clock_getres, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct timespec)) \
	X(gettimeofday, DUNE_WHY_REACH, do_forward,			\
	  DUNE_OUT(0, struct timeval), DUNE_OUT(1, struct timezone))	\
	X(uname, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, struct utsname)) \
	X(sysinfo, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, struct sysinfo)) \
	X(times, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, struct tms))	\
	X(getrusage, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct rusage)) \
	X(wait4, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, int), DUNE_OUT(3, struct rusage)) \
	X(waitid, DUNE_WHY_REACH, do_forward, DUNE_OUT(2, siginfo_t), DUNE_OUT(4, struct rusage)) \
	X(sigaltstack, DUNE_WHY_REACH, do_forward, DUNE_IN(0, stack_t), DUNE_OUT(1, stack_t)) \
	X(rt_sigpending, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(0, 1)) \
	X(epoll_ctl, DUNE_WHY_REACH, do_forward, DUNE_IN(3, struct epoll_event)) \
	X(futex, DUNE_WHY_REACH, do_forward, DUNE_MA(FIXED, 0, 0, WRITE, sizeof(uint32_t))) \
	X(getitimer, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct itimerval)) \
	X(setitimer, DUNE_WHY_REACH, do_forward,			\
	  DUNE_IN(1, struct itimerval), DUNE_OUT(2, struct itimerval))	\
	X(timerfd_gettime, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct itimerspec)) \
	X(timerfd_settime, DUNE_WHY_REACH, do_forward,			\
	  DUNE_IN(2, struct itimerspec), DUNE_OUT(3, struct itimerspec)) \
	X(sched_getaffinity, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(2, 1)) \
	X(getgroups, DUNE_WHY_REACH, do_forward, DUNE_OUT_ARRAY(1, 0, gid_t)) \
	X(getresuid, DUNE_WHY_REACH, do_forward,			\
	  DUNE_OUT(0, uid_t), DUNE_OUT(1, uid_t), DUNE_OUT(2, uid_t))	\
	X(getresgid, DUNE_WHY_REACH, do_forward,			\
	  DUNE_OUT(0, gid_t), DUNE_OUT(1, gid_t), DUNE_OUT(2, gid_t))

/* The DUNE_WHY_* bits of syscall nr (0: any path may serve it). */
unsigned int dune_syscall_why(long nr);
/* Its memory arguments (at most DUNE_MAX_MEMARGS, a DUNE_MA_NONE ends them). */
const struct dune_memarg *dune_syscall_memargs(long nr);

#endif /* DUNE_SYSCALLS_H */
