/* SPDX-License-Identifier: MIT */
/*
 * The LoongArch KVM user API dune uses, owned here: Debian 12's headers are
 * Linux 6.1's, which have no LoongArch KVM (mainline since 6.7).  Where the
 * headers of the build have them, the values are checked against them.
 */
#ifndef DUNE_LA_KVM_H
#define DUNE_LA_KVM_H

#include <stdint.h>
#include <linux/kvm.h>

#define LA_KVM_REG_LOONGARCH	0x9000000000000000ULL
#define LA_KVM_REG_SIZE_U64	0x0030000000000000ULL
#define LA_KVM_REG_CSR		(LA_KVM_REG_LOONGARCH | 0x10000ULL)
#define LA_KVM_REG_CPUCFG	(LA_KVM_REG_LOONGARCH | 0x40000ULL)
/* ONE_REG ids: CSR n, CPUCFG word n (arch/loongarch/include/uapi/asm/kvm.h) */
#define LA_KVM_CSR_ID(n)	(LA_KVM_REG_CSR | LA_KVM_REG_SIZE_U64 | ((uint64_t)(n) << 3))
#define LA_KVM_CPUCFG_ID(n)	(LA_KVM_REG_CPUCFG | LA_KVM_REG_SIZE_U64 | ((uint64_t)(n) << 3))

/* The guest's stable counter (rdtime): setting it sets the VM's offset from the host's */
#define LA_KVM_REG_COUNTER	(LA_KVM_REG_LOONGARCH | 0x20000ULL | LA_KVM_REG_SIZE_U64 | 1)

/* KVM_HAS_DEVICE_ATTR on the VM: which vector units KVM gives a guest */
#define LA_KVM_VM_FEAT_CTRL	0
#define LA_KVM_VM_FEAT_LSX	0
#define LA_KVM_VM_FEAT_LASX	1

/* CPUCFG word 2: FP, LSX, LASX */
#define LA_CPUCFG2		2
#define LA_CPUCFG2_FP		(1U << 0)
#define LA_CPUCFG2_LSX		(1U << 6)
#define LA_CPUCFG2_LASX		(1U << 7)

/* The layouts dune reads and writes (KVM_GET/SET_REGS, KVM_GET/SET_FPU). */
struct la_kvm_regs {
	uint64_t gpr[32];
	uint64_t pc;
};

struct la_kvm_fpu {
	uint32_t fcsr;
	uint64_t fcc;		/* 8 condition flags, one byte each */
	struct {
		uint64_t val64[4];	/* FPR, LSX, LASX: the low 64, 128 or 256 bits */
	} fpr[32];
};

_Static_assert(sizeof(struct la_kvm_regs) == 33 * 8, "kvm_regs");
_Static_assert(__builtin_offsetof(struct la_kvm_fpu, fcc) == 8, "kvm_fpu");
_Static_assert(__builtin_offsetof(struct la_kvm_fpu, fpr) == 16, "kvm_fpu");
_Static_assert(sizeof(struct la_kvm_fpu) == 16 + 32 * 32, "kvm_fpu");
_Static_assert(LA_KVM_CSR_ID(0x31) == 0x9030000000010188ULL, "ONE_REG id of CSR SAVE1");

#ifdef KVM_REG_LOONGARCH_CSR	/* the build's headers have LoongArch KVM */
_Static_assert(KVM_REG_LOONGARCH == LA_KVM_REG_LOONGARCH, "KVM_REG_LOONGARCH");
_Static_assert(KVM_REG_SIZE_U64 == LA_KVM_REG_SIZE_U64, "KVM_REG_SIZE_U64");
_Static_assert(KVM_IOC_CSRID(0x1c) == LA_KVM_CSR_ID(0x1c), "KVM_IOC_CSRID");
_Static_assert(KVM_IOC_CPUCFG(2) == LA_KVM_CPUCFG_ID(2), "KVM_IOC_CPUCFG");
_Static_assert(KVM_REG_LOONGARCH_COUNTER == LA_KVM_REG_COUNTER, "KVM_REG_LOONGARCH_COUNTER");
_Static_assert(KVM_LOONGARCH_VM_FEAT_CTRL == LA_KVM_VM_FEAT_CTRL &&
	       KVM_LOONGARCH_VM_FEAT_LSX == LA_KVM_VM_FEAT_LSX &&
	       KVM_LOONGARCH_VM_FEAT_LASX == LA_KVM_VM_FEAT_LASX, "VM features");
_Static_assert(sizeof(struct kvm_regs) == sizeof(struct la_kvm_regs), "kvm_regs");
_Static_assert(sizeof(struct kvm_fpu) == sizeof(struct la_kvm_fpu) &&
	       __builtin_offsetof(struct kvm_fpu, fpr) == __builtin_offsetof(struct la_kvm_fpu, fpr),
	       "kvm_fpu");
#endif

/* Instruction encodings the backend depends on */
#define LA_INSN_SYSCALL		0x002b0000U	/* syscall 0 */
#define LA_INSN_BREAK(code)	(0x002a0000U | (code))
#define LA_BREAK_CODE(insn)	((insn) & 0x7fff)
#define LA_INSN_SIZE		4
_Static_assert(LA_BREAK_CODE(LA_INSN_BREAK(7)) == 7, "break code");

#endif /* DUNE_LA_KVM_H */
