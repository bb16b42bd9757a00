/* SPDX-License-Identifier: MIT */
/* Private to arch/loongarch64. */
#ifndef DUNE_LA_H
#define DUNE_LA_H

#include <stdint.h>

#include "la-guest.h"
#include "la-kvm.h"

/* Register numbers of the LoongArch64 Linux ABI */
#define LA_RA		1
#define LA_TP		2
#define LA_SP		3
#define LA_A0		4
#define LA_A7		11
#define LA_T0		12
#define LA_FP		22
#define LA_S0		23

/* The ISA pieces of a page table (paging.c). */
struct la_vm {
	uint8_t *ka;			/* the guest-kernel page */
	uint64_t ka_gpa;
	int ka_ready;
	uint64_t *pgd;			/* the root, PGDL */
	uint64_t pgd_gpa, pgdh_gpa;	/* PGDH: a root of invalid entries */
	uint64_t invalid_pmd, invalid_pte;	/* the invalid tables' GPAs */
	uint64_t euen;			/* FPU, LSX, LASX for the program */
	uintptr_t sigreturn;		/* the vDSO's __vdso_rt_sigreturn */
};

/* What dune_enter()'s caller must find again inside the guest (entry.S). */
struct la_entry_ctx {
	uint64_t ra, tp, sp, fp;
	uint64_t s[9];
	uint64_t fpr[32];
	uint64_t fcc, fcsr;
};

/* Register state for continuing natively; entry.S knows these offsets. */
struct la_native_frame {
	uint64_t regs[32];	/* regs[0]: the pc */
	uint64_t fpr[32];
	uint64_t fcc, fcsr;
};

/* Where the program's registers are at this exit. */
enum la_state {
	LA_IN_FRAME,		/* the exit frame: the vCPU is in the guest kernel */
	LA_IN_VCPU,		/* KVM's registers: it runs the program (interrupted) */
};

struct la_vcpu {
	struct la_entry_ctx ctx;
	struct la_frame *frame;		/* its exit frame (the host's view of it) */
	uint64_t frame_gpa;
	enum la_state state;
	int regs_dirty;			/* regs to KVM_SET_REGS before the next run */
	struct la_kvm_regs regs;	/* KVM's, in LA_IN_VCPU */
	uint64_t orig_a0;		/* the last syscall's first argument, for a restart */
	uint64_t tid;			/* the CPU the guest's TID names */
	struct la_native_frame native;
	struct la_frame saved;		/* arch_vcpu_save(): the state at a syscall */
	struct la_kvm_fpu fpu, saved_fpu;
};

/* entry.S's offsets */
_Static_assert(__builtin_offsetof(struct la_entry_ctx, s) == 32 &&
	       __builtin_offsetof(struct la_entry_ctx, fpr) == 104 &&
	       __builtin_offsetof(struct la_entry_ctx, fcc) == 360 &&
	       __builtin_offsetof(struct la_entry_ctx, fcsr) == 368, "entry.S CTX_*");
_Static_assert(__builtin_offsetof(struct la_native_frame, fpr) == 256 &&
	       __builtin_offsetof(struct la_native_frame, fcc) == 512 &&
	       __builtin_offsetof(struct la_native_frame, fcsr) == 520, "entry.S NF_*");

static inline struct la_vm *la_vm(struct dune_vm *vm)
{
	return vm->arch;
}

static inline struct la_vcpu *la_vcpu(struct dune_vcpu *vcpu)
{
	return vcpu->arch;
}

/* entry.S */
int la_enter(struct la_entry_ctx *ctx, struct dune_vcpu *vcpu, void *host_stack_top);
void la_resume_native(struct la_native_frame *frame) __attribute__((noreturn));
long la_clone_thread(unsigned long flags, void *stack, long ptid, long ctid, long tls,
		     struct dune_vcpu *vcpu);

/* paging.c */
int la_pt_init(struct dune_vm *vm);

/* trap.c: what Linux delivers for the exception a frame holds (0: none) */
int la_exception_signal(const struct la_frame *f, uint32_t fcsr, struct dune_fault *fault);

/* exit.c */
enum la_where {
	LA_AT_PROGRAM,
	LA_AT_ENTRY,		/* at the exception entry's first instruction */
	LA_AT_ENTRY_SAVED,	/* past it (t0 in SAVE0), up to the exit store */
	LA_AT_RESTORE,		/* past the exit store: the frame is the program's state */
	LA_AT_TLBR,		/* at the refill's first instruction */
	LA_AT_TLBR_SAVED,	/* past it (t0 in TLBRSAVE) */
};
enum la_where la_guest_where(uint64_t pc, uint64_t ka_gpa);
int la_user_regs(struct dune_vcpu *vcpu, uint64_t regs[32], uint64_t *pc);
int la_set_user_regs(struct dune_vcpu *vcpu, const uint64_t regs[32], uint64_t pc);
int la_set_csr(struct dune_vcpu *vcpu, uint32_t csr, uint64_t value);
int la_get_csr(struct dune_vcpu *vcpu, uint32_t csr, uint64_t *value);

/* sigframe.c: the kernel's rt_sigframe (pure: tests build and parse one) */
#define LA_SIGFRAME_INFO	0	/* its siginfo */
#define LA_SIGFRAME_UC		128	/* its ucontext */
#define LA_SIGFRAME_BASE	576	/* up to the extension contexts */
struct la_sigframe_in {
	const uint64_t *regs;		/* the program's GPRs (regs[0] ignored) */
	uint64_t pc;
	const struct la_kvm_fpu *fpu;
	int vec_bytes;			/* 8 (FPU), 16 (LSX) or 32 (LASX) per register */
	const siginfo_t *info;
	uint64_t mask;
	stack_t stack;
};
#define LA_SIGFRAME_MAX	2048	/* bytes a frame may take: la_sigframe_size(32) at most */
size_t la_sigframe_size(int vec_bytes);
uint64_t la_sigframe_end(uint64_t top);
size_t la_sigframe_build(uint8_t *buf, uint64_t sp, const struct la_sigframe_in *in);
int la_sigframe_parse(const uint8_t *buf, size_t len, uint64_t regs[32], uint64_t *pc,
		      struct la_kvm_fpu *fpu, uint64_t *mask);

/* vdso.c */
uintptr_t la_vdso_sigreturn(void);

#endif /* DUNE_LA_H */
