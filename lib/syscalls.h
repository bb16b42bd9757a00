/* SPDX-License-Identifier: MIT */
/*
 * The system calls dune must see in user space, and why: the one list from
 * which the host loop's dispatch (syscall.c), the restart rules (signal.c),
 * the tools' end-of-process reports (syscall.c) and the fast path's
 * allow-list (fastpath.c) are derived.  Every other system call is re-issued
 * unchanged and may run in the kernel module.
 *
 * X(name, why, handler): SYS_<name>; a set of DUNE_WHY_* bits; the function
 * that services it in the host loop, long handler(vcpu, sys).  ISA-specific
 * entries (legacy calls, arch intercepts) come from DUNE_ARCH_SYSCALLS in
 * <arch-syscalls.h>.
 */
#ifndef DUNE_SYSCALLS_H
#define DUNE_SYSCALLS_H

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
};

#define DUNE_SYSCALLS(X)						\
	X(mmap, DUNE_WHY_MEM, do_mmap)					\
	X(munmap, DUNE_WHY_MEM, do_munmap)				\
	X(mprotect, DUNE_WHY_MEM, do_mprotect)				\
	X(mremap, DUNE_WHY_MEM, do_mremap)				\
	X(brk, DUNE_WHY_MEM, do_brk)					\
	X(shmat, DUNE_WHY_MEM, do_shmat)				\
	X(shmdt, DUNE_WHY_MEM, do_shmdt)				\
	X(close, DUNE_WHY_FD, refuse_own_fd)				\
	X(dup, DUNE_WHY_FD, refuse_own_fd)				\
	X(fcntl, DUNE_WHY_FD, refuse_own_fd)				\
	X(ioctl, DUNE_WHY_FD, refuse_own_fd)				\
	X(dup3, DUNE_WHY_FD, do_dup2)					\
	X(close_range, DUNE_WHY_FD, do_close_range)			\
	X(clone, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_clone)		\
	X(clone3, DUNE_WHY_PROC | DUNE_WHY_SERVED, dune_clone3)		\
	X(exit, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_exit)		\
	X(unshare, DUNE_WHY_PROC, do_single_threaded)			\
	X(setns, DUNE_WHY_PROC, do_single_threaded)			\
	X(exit_group, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_exit_group) \
	X(execve, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_execve)		\
	X(execveat, DUNE_WHY_PROC | DUNE_WHY_NORETURN, do_execve)	\
	X(rt_sigaction, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, dune_sigaction) \
	X(rt_sigprocmask, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, dune_sigprocmask) \
	X(rt_sigreturn, DUNE_WHY_SIGNAL | DUNE_WHY_SERVED, do_sigreturn) \
	X(seccomp, DUNE_WHY_SECCOMP | DUNE_WHY_SERVED, do_seccomp)	\
	X(prctl, DUNE_WHY_SECCOMP | DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_prctl) \
	X(prlimit64, DUNE_WHY_LIMIT, forward_fds_locked)		\
	X(rt_sigsuspend, DUNE_WHY_NORESTART, do_forward)		\
	X(rt_sigtimedwait, DUNE_WHY_NORESTART, do_forward)		\
	X(nanosleep, DUNE_WHY_NORESTART, do_forward)			\
	X(clock_nanosleep, DUNE_WHY_NORESTART, do_forward)		\
	X(ppoll, DUNE_WHY_NORESTART, do_forward)			\
	X(pselect6, DUNE_WHY_NORESTART, do_forward)			\
	X(epoll_pwait, DUNE_WHY_NORESTART, do_forward)			\
	X(epoll_pwait2, DUNE_WHY_NORESTART, do_forward)			\
	X(semop, DUNE_WHY_NORESTART, do_forward)			\
	X(semtimedop, DUNE_WHY_NORESTART, do_forward)			\
	X(msgrcv, DUNE_WHY_NORESTART, do_forward)			\
	X(msgsnd, DUNE_WHY_NORESTART, do_forward)			\
	X(io_getevents, DUNE_WHY_NORESTART, do_forward)			\
	DUNE_ARCH_SYSCALLS(X)

/* The DUNE_WHY_* bits of syscall nr (0: any path may serve it). */
unsigned int dune_syscall_why(long nr);

#endif /* DUNE_SYSCALLS_H */
