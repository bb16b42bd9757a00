/* SPDX-License-Identifier: MIT */
/*
 * LoongArch64 entries of dune's syscall table (lib/syscalls.h): none.  The
 * asm-generic table has no dup2, fork, vfork, getrlimit, setrlimit, pause,
 * poll, select or epoll_wait, and the TLS register needs no syscall.
 */
#ifndef DUNE_ARCH_SYSCALLS_H
#define DUNE_ARCH_SYSCALLS_H

#define DUNE_ARCH_SYSCALLS(X)

#endif /* DUNE_ARCH_SYSCALLS_H */
