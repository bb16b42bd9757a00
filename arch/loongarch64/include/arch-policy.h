/* SPDX-License-Identifier: MIT */
/*
 * LoongArch64 facts a dune-run policy filter (lib/policy.c) is built from;
 * see arch/x86_64/include/arch-policy.h.  It has one syscall ABI, and the
 * asm-generic table has no legacy calls for glibc's loader to issue.
 */
#ifndef DUNE_ARCH_POLICY_H
#define DUNE_ARCH_POLICY_H

#define DUNE_FORWARD_PAGE	0x10d0e0000000UL
#define DUNE_FORWARD_IP		(DUNE_FORWARD_PAGE + 4)	/* after its `syscall 0` */
#define DUNE_SCMP_ARCH		"SCMP_ARCH_LOONGARCH64"
#define DUNE_PROFILE_ARCH	"loong64"

#define DUNE_ARCH_NATIVE_SYSCALLS(X)

#endif /* DUNE_ARCH_POLICY_H */
