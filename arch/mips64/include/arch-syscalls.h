/* SPDX-License-Identifier: MIT */
/*
 * MIPS64 n64 entries of dune's syscall table (lib/syscalls.h): legacy calls
 * (n64 has no vfork, and select is _newselect) and the TLS register's
 * set_thread_area, a vCPU-state intercept.
 */
#ifndef DUNE_ARCH_SYSCALLS_H
#define DUNE_ARCH_SYSCALLS_H

#ifndef SYS_mseal
#define SYS_mseal	5462	/* Linux 6.10; older headers lack it */
#endif

#define DUNE_ARCH_SYSCALLS(X)						\
	X(dup2, DUNE_WHY_FD, do_dup2)					\
	X(open, DUNE_WHY_POLICY, do_open)				\
	X(creat, DUNE_WHY_POLICY, do_creat)				\
	X(fork, DUNE_WHY_PROC, do_fork)					\
	X(set_thread_area, DUNE_WHY_ARCH, do_arch_syscall)		\
	X(getrlimit, DUNE_WHY_LIMIT, forward_fds_locked)		\
	X(setrlimit, DUNE_WHY_LIMIT, forward_fds_locked)		\
	X(pause, DUNE_WHY_NORESTART, do_forward)			\
	X(poll, DUNE_WHY_NORESTART, do_forward)				\
	X(_newselect, DUNE_WHY_NORESTART, do_forward)			\
	X(epoll_wait, DUNE_WHY_NORESTART, do_forward)			\
	X(fstat, DUNE_WHY_REACH, do_forward, DUNE_OUT(1, struct stat))	\
	X(newfstatat, DUNE_WHY_REACH, do_forward, DUNE_OUT(2, struct stat))

#endif /* DUNE_ARCH_SYSCALLS_H */
