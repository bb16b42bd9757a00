/* SPDX-License-Identifier: MIT */
/* x86-64 entries of dune's syscall table (lib/syscalls.h): legacy calls, intercepts. */
#ifndef DUNE_ARCH_SYSCALLS_H
#define DUNE_ARCH_SYSCALLS_H

#ifndef SYS_mseal
#define SYS_mseal	462	/* Linux 6.10; older headers lack it */
#endif

#define DUNE_ARCH_SYSCALLS(X)						\
	X(dup2, DUNE_WHY_FD, do_dup2)					\
	X(open, DUNE_WHY_POLICY, do_open)				\
	X(creat, DUNE_WHY_POLICY, do_creat)				\
	X(fork, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_fork)		\
	X(vfork, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_vfork)		\
	X(arch_prctl, DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_arch_syscall)	\
	X(modify_ldt, DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_arch_syscall)	\
	X(pkey_alloc, DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_arch_syscall)	\
	X(getrlimit, DUNE_WHY_LIMIT, forward_fds_locked, DUNE_OUT(1, struct rlimit)) \
	X(setrlimit, DUNE_WHY_LIMIT, forward_fds_locked, DUNE_IN(1, struct rlimit)) \
	X(pause, DUNE_WHY_NORESTART, do_forward)			\
	X(poll, DUNE_WHY_NORESTART, do_forward,				\
	  DUNE_MA(ARRAY, 0, 1, WRITE, sizeof(struct pollfd)))		\
	X(select, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_FDSET(1, 0), DUNE_FDSET(2, 0), DUNE_FDSET(3, 0), DUNE_OUT(4, struct timeval)) \
	X(epoll_wait, DUNE_WHY_NORESTART, do_forward,			\
	  DUNE_OUT_ARRAY(1, 2, struct epoll_event))			\
	X(pipe, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, int[2]))	\
	X(stat, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct stat))	\
	X(fstat, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct stat))	\
	X(newfstatat, DUNE_WHY_REACH, do_forward, DUNE_OUT(2, struct stat)) \
	X(lstat, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct stat))	\
	X(readlink, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(getdents, DUNE_WHY_REACH, do_forward, DUNE_OUT_BUF(1, 2))	\
	X(time, DUNE_WHY_REACH, do_forward, DUNE_OUT(0, time_t))

#endif /* DUNE_ARCH_SYSCALLS_H */
