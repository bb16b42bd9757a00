/* SPDX-License-Identifier: MIT */
/*
 * The MIPS64 (n64, little-endian) Linux ABI facts lib/ depends on (see
 * arch/x86_64/include/arch-abi.h for what each one means).
 */
#ifndef DUNE_ARCH_ABI_H
#define DUNE_ARCH_ABI_H

#include <stdint.h>

#define DUNE_ARCH_NAME		"MIPS64"

/* 16 KiB: what Loongson-3 kernels use (Debian's loongson-3 flavour included). */
#define DUNE_PAGE_SHIFT		14

/* 128 signals: a 16-byte sigset_t. */
#define DUNE_NSIG		128
#define DUNE_SIGSET_BYTES	16

/* arch/mips/include/uapi/asm/signal.h: flags first, no sa_restorer. */
struct dune_sigaction {
	unsigned int flags;
	void *handler;
	uint64_t mask[DUNE_SIGSET_BYTES / 8];
};

#define DUNE_SA_RESTORER	0

/* n64 numbers start at __NR_Linux (5000). */
#define DUNE_SYSCALL_BASE	5000
#define DUNE_SYSCALL_COUNT	512

/* CLONE_BACKWARDS: flags, stack, parent_tid, tls, child_tid. */
#define DUNE_CLONE_ARG_TLS	3
#define DUNE_CLONE_ARG_CTID	4

/* No KVM_CAP_SYNC_REGS on MIPS: registers go by ONE_REG and KVM_GET/SET_REGS. */
#define DUNE_KVM_CAP		KVM_CAP_ONE_REG
#define DUNE_KVM_CAP_NAME	"KVM_CAP_ONE_REG"

/*
 * A syscall fails with a3 set and the errno (positive) in v0;
 * arch_raw_syscall() and arch_syscall_return() convert to and from -errno,
 * which is all lib/ sees.
 */
#define DUNE_MAX_ERRNO		4095

/*
 * Memslots from 32 MiB of guest-physical space: the dune area's guest-kernel
 * pages must sit below 512 MiB, where KSEG0 reaches them (EBase is a KSEG0
 * address), and the exit's MMIO hole lies below (arch/mips64/frame.h).
 */
#define DUNE_GPA_BASE		(32ULL << 20)

#endif /* DUNE_ARCH_ABI_H */
