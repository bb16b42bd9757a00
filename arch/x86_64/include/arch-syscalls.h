/* SPDX-License-Identifier: MIT */
/* x86-64 entries of dune's syscall table (lib/syscalls.h): legacy calls, intercepts. */
#ifndef DUNE_ARCH_SYSCALLS_H
#define DUNE_ARCH_SYSCALLS_H

#define DUNE_ARCH_SYSCALLS(X)						\
	X(dup2, DUNE_WHY_FD, do_dup2)					\
	X(fork, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_fork)		\
	X(vfork, DUNE_WHY_PROC | DUNE_WHY_SERVED, do_vfork)		\
	X(arch_prctl, DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_arch_syscall)	\
	X(modify_ldt, DUNE_WHY_ARCH | DUNE_WHY_SERVED, do_arch_syscall)	\
	X(getrlimit, DUNE_WHY_LIMIT, forward_fds_locked)		\
	X(setrlimit, DUNE_WHY_LIMIT, forward_fds_locked)		\
	X(pause, DUNE_WHY_NORESTART, do_forward)			\
	X(poll, DUNE_WHY_NORESTART, do_forward)				\
	X(select, DUNE_WHY_NORESTART, do_forward)			\
	X(epoll_wait, DUNE_WHY_NORESTART, do_forward)

#endif /* DUNE_ARCH_SYSCALLS_H */
