/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 Linux ABI facts lib/ depends on (lib/dune-internal.h includes
 * this as <arch-abi.h>; every ISA has one under arch/<isa>/include/).
 */
#ifndef DUNE_ARCH_ABI_H
#define DUNE_ARCH_ABI_H

#include <stdint.h>

#define DUNE_PAGE_SHIFT		12

/* The kernel's _NSIG and sigset_t (rt_sigprocmask's sigsetsize). */
#define DUNE_NSIG		64
#define DUNE_SIGSET_BYTES	8

/* The kernel's struct sigaction (rt_sigaction(2)), not libc's. */
struct dune_sigaction {
	void *handler;		/* SIG_DFL, SIG_IGN or a function */
	unsigned long flags;
	void *restorer;
	uint64_t mask[DUNE_SIGSET_BYTES / 8];
};

/* x86-64 handlers return through sa_restorer: the flag that says it is set. */
#define DUNE_SA_RESTORER	0x04000000

/* System call numbers: [BASE, BASE + COUNT) holds every one of them. */
#define DUNE_SYSCALL_BASE	0
#define DUNE_SYSCALL_COUNT	512

/* clone(2)'s argument order: flags, stack, parent_tid, child_tid, tls. */
#define DUNE_CLONE_ARG_CTID	3
#define DUNE_CLONE_ARG_TLS	4

/* A return value in [-MAX_ERRNO, -1] is an error (the kernel's MAX_ERRNO). */
#define DUNE_MAX_ERRNO		4095

#endif /* DUNE_ARCH_ABI_H */
