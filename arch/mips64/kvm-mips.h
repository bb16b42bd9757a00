/* SPDX-License-Identifier: MIT */
/*
 * The MIPS KVM register ids dune needs that Debian's UAPI headers lack: the
 * CP0 ids live in the kernel-internal arch/mips/include/asm/kvm_host.h
 * (KVM_GET/SET_ONE_REG accepts them all the same), copied here with
 * compile-time checks of their encoding and of the UAPI layouts dune relies on.
 */
#ifndef DUNE_KVM_MIPS_H
#define DUNE_KVM_MIPS_H

#include <stddef.h>
#include <linux/kvm.h>

/* kvm_host.h: MIPS_CP0_32/64(reg, sel) */
#define MIPS_CP0_32(r, s)	(KVM_REG_MIPS_CP0 | KVM_REG_SIZE_U32 | (8 * (r) + (s)))
#define MIPS_CP0_64(r, s)	(KVM_REG_MIPS_CP0 | KVM_REG_SIZE_U64 | (8 * (r) + (s)))

#define KVM_REG_MIPS_CP0_USERLOCAL	MIPS_CP0_64(4, 2)
#define KVM_REG_MIPS_CP0_PAGEMASK	MIPS_CP0_32(5, 0)
#define KVM_REG_MIPS_CP0_PAGEGRAIN	MIPS_CP0_32(5, 1)
#define KVM_REG_MIPS_CP0_WIRED		MIPS_CP0_32(6, 0)
#define KVM_REG_MIPS_CP0_HWRENA		MIPS_CP0_32(7, 0)
#define KVM_REG_MIPS_CP0_ENTRYHI	MIPS_CP0_64(10, 0)
#define KVM_REG_MIPS_CP0_STATUS		MIPS_CP0_32(12, 0)
#define KVM_REG_MIPS_CP0_EPC		MIPS_CP0_64(14, 0)
#define KVM_REG_MIPS_CP0_EBASE		MIPS_CP0_64(15, 1)
#define KVM_REG_MIPS_CP0_CONFIG3	MIPS_CP0_32(16, 3)
#define KVM_REG_MIPS_CP0_CONFIG5	MIPS_CP0_32(16, 5)

/* The ids as the kernel computes them (a typo here would set another register). */
_Static_assert(KVM_REG_MIPS_CP0_STATUS == 0x7020000000010060ULL, "CP0 Status id");
_Static_assert(KVM_REG_MIPS_CP0_EBASE == 0x7030000000010079ULL, "CP0 EBase id");
_Static_assert(KVM_REG_MIPS_CP0_CONFIG5 == 0x7020000000010085ULL, "CP0 Config5 id");
_Static_assert(KVM_REG_MIPS_CP0_USERLOCAL == 0x7030000000010022ULL, "CP0 UserLocal id");
_Static_assert(KVM_REG_MIPS_PC == 0x7030000000000022ULL, "PC id");
_Static_assert(KVM_REG_MIPS_FPR_64(31) == 0x703000000003001fULL, "FPR id");
_Static_assert(KVM_REG_MIPS_FCR_CSR == 0x702000000003011fULL, "FCSR id");

/* struct kvm_regs: gpr[32], hi, lo, pc, in that order (KVM_GET/SET_REGS). */
_Static_assert(offsetof(struct kvm_regs, hi) == 256 && offsetof(struct kvm_regs, pc) == 272,
	       "kvm_regs layout");
/* The MMIO exit dune's guest half makes (arch_decode_exit) */
_Static_assert(offsetof(struct kvm_run, mmio.phys_addr) == 32 &&
	       offsetof(struct kvm_run, mmio.is_write) == 52, "kvm_run.mmio layout");

#endif /* DUNE_KVM_MIPS_H */
