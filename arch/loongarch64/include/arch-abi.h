/* SPDX-License-Identifier: MIT */
/*
 * The LoongArch64 Linux ABI facts lib/ depends on (see
 * arch/x86_64/include/arch-abi.h for what each one means).
 */
#ifndef DUNE_ARCH_ABI_H
#define DUNE_ARCH_ABI_H

#include <stdint.h>

#define DUNE_ARCH_NAME		"LoongArch64"

/* 16 KiB: the default of Linux's LoongArch kernels (Debian's included). */
#define DUNE_PAGE_SHIFT		14

#define DUNE_NSIG		64
#define DUNE_SIGSET_BYTES	8

/* asm-generic's struct sigaction: no sa_restorer (handlers return via the vDSO). */
struct dune_sigaction {
	void *handler;
	unsigned long flags;
	uint64_t mask[DUNE_SIGSET_BYTES / 8];
};

#define DUNE_SA_RESTORER	0

/* asm-generic numbering (__NR_syscalls is below 512). */
#define DUNE_SYSCALL_BASE	0
#define DUNE_SYSCALL_COUNT	512

/* clone(2) without CLONE_BACKWARDS*: flags, stack, parent_tid, child_tid, tls. */
#define DUNE_CLONE_ARG_CTID	3
#define DUNE_CLONE_ARG_TLS	4

/* No KVM_CAP_SYNC_REGS on LoongArch: registers go by ONE_REG and KVM_GET/SET_REGS. */
#define DUNE_KVM_CAP		KVM_CAP_ONE_REG
#define DUNE_KVM_CAP_NAME	"KVM_CAP_ONE_REG"

/* a0 holds -errno, as on x86-64. */
#define DUNE_MAX_ERRNO		4095

#endif /* DUNE_ARCH_ABI_H */
