/* SPDX-License-Identifier: MIT */
/* Private to arch/mips64. */
#ifndef DUNE_MIPS_H
#define DUNE_MIPS_H

#include <stdint.h>

#include "frame.h"
#include "kvm-mips.h"

/* CP0 Status */
#define ST_EXL		(1U << 1)
#define ST_KSU_USER	(2U << 3)
#define ST_UX		(1U << 5)
#define ST_SX		(1U << 6)
#define ST_KX		(1U << 7)
#define ST_FR		(1U << 26)	/* 64-bit FPRs, as n64 uses them */
#define ST_CU1		(1U << 29)

/*
 * The program runs in user mode (KSU = user, 64-bit segments), like on
 * x86-64 at CPL3: it cannot touch CP0 or the TLB, and each exception it
 * takes enters the guest half, which forwards it to the host loop to be
 * turned into the signal Linux would deliver.  eret from the frame clears
 * EXL, so the guest half always starts the program with EXL set.
 */
#define MIPS_USER_STATUS	(ST_KSU_USER | ST_UX | ST_SX | ST_KX | ST_FR | ST_CU1)

/* Cause.ExcCode */
#define EXC_INT		0
#define EXC_MOD		1
#define EXC_TLBL	2
#define EXC_TLBS	3
#define EXC_ADEL	4
#define EXC_ADES	5
#define EXC_IBE		6
#define EXC_DBE		7
#define EXC_SYS		8
#define EXC_BP		9
#define EXC_RI		10
#define EXC_CPU		11
#define EXC_OV		12
#define EXC_TR		13
#define EXC_MSAFPE	14
#define EXC_FPE		15
#define EXC_TLBRI	19
#define EXC_TLBXI	20
#define EXC_MSADIS	21
#define CAUSE_EXCCODE(c)	(((c) >> 2) & 31)
#define CAUSE_BD	(1ULL << 31)

/* EntryLo: what a leaf page-table entry holds, as the refill loads it */
#define ENTRYLO_V	(1ULL << 1)
#define ENTRYLO_D	(1ULL << 2)
#define ENTRYLO_C_CACHED	(3ULL << 3)	/* cacheable (coherent on Loongson-3) */
#define ENTRYLO_PFN_SHIFT	6
#define ENTRYLO_XI	(1ULL << 62)
#define PAGEGRAIN_XIE	(1U << 30)
#define PAGEGRAIN_RIE	(1U << 31)
#define PAGEGRAIN_IEC	(1U << 27)	/* RI/XI violations as TLBRI/TLBXI */
#define PAGEMASK_16K	0x6000U
#define CONFIG3_RXI	(1U << 12)
#define CONFIG3_ULRI	(1U << 13)
#define CONFIG5_MSAEN	(1U << 27)	/* MSA instructions enabled */
/* HWREna: CPUNum, SYNCI_Step, CC, CCRes and UserLocal readable by rdhwr */
#define HWRENA_USER	((1U << 29) | 0xf)

/* FCSR cause bits, and the break/trap codes Linux reads from the instruction */
#define FCSR_CAUSE_I	(1U << 12)
#define FCSR_CAUSE_U	(1U << 13)
#define FCSR_CAUSE_O	(1U << 14)
#define FCSR_CAUSE_Z	(1U << 15)
#define FCSR_CAUSE_V	(1U << 16)
#define BRK_OVERFLOW	6
#define BRK_DIVZERO	7

/* Instruction encodings the code relies on */
#define MIPS_INSN_EXIT_SD	0xff7a0000U	/* sd k0, 0(k1): the exit store */
#define MIPS_INSN_JALR_K1	0x0360f809U	/* jalr k1: the bare-metal harness's exit */
#define MIPS_INSN_TLBWR		0x42000006U
#define MIPS_INSN_IS_TRAP_REG(i)	(((i) & 0xfc000030U) == 0x00000030U)	/* teq..tne */

/* What the guest half saved (frame.h gives the offsets to guest.S). */
struct mips_frame {
	uint64_t regs[32];
	uint64_t hi, lo;
	uint64_t pc;
	uint64_t cause;
	uint64_t badvaddr;
	uint64_t status;
	uint64_t tls;
	uint64_t pgd;
	uint64_t exit;
	uint64_t flush;
};

_Static_assert(__builtin_offsetof(struct mips_frame, hi) == MF_HI &&
	       __builtin_offsetof(struct mips_frame, lo) == MF_LO &&
	       __builtin_offsetof(struct mips_frame, pc) == MF_PC &&
	       __builtin_offsetof(struct mips_frame, cause) == MF_CAUSE &&
	       __builtin_offsetof(struct mips_frame, badvaddr) == MF_BADVADDR &&
	       __builtin_offsetof(struct mips_frame, status) == MF_STATUS &&
	       __builtin_offsetof(struct mips_frame, tls) == MF_TLS &&
	       __builtin_offsetof(struct mips_frame, pgd) == MF_PGD &&
	       __builtin_offsetof(struct mips_frame, exit) == MF_EXIT &&
	       __builtin_offsetof(struct mips_frame, flush) == MF_FLUSH &&
	       sizeof(struct mips_frame) == MF_SIZE &&
	       MIPS_FRAME_OFF + MF_SIZE <= MIPS_BLOCK_SIZE, "frame.h and struct mips_frame");

/* The n64 syscall registers */
#define R_V0	2
#define R_A0	4
#define R_A3	7
#define R_S0	16
#define R_T9	25
#define R_GP	28
#define R_SP	29
#define R_RA	31

/* The guest half (guest.S): one block, copied to each vCPU's. */
extern const char mips_guest_block[], mips_guest_block_end[];
extern const char mips_guest_exit[], mips_guest_resume[];

static inline struct mips_frame *mips_block_frame(void *block)
{
	return (struct mips_frame *)((char *)block + MIPS_FRAME_OFF);
}

/* Where the guest stands in its block: [0, exit] taking an exception, after it returning. */
static inline long mips_block_offset(const char *sym)
{
	return sym - mips_guest_block;
}

enum mips_state_at { MIPS_STATE_REGS, MIPS_STATE_REGS_EPC, MIPS_STATE_FRAME };

/* Host-side logic, no KVM needed (decode.c, paging.c): unit-tested and bare-metal-tested. */
struct dune_exit;
struct dune_fault;
void mips_decode_frame(const struct mips_frame *f, uint32_t insn, uint32_t fcsr,
		       struct dune_exit *e);
uint64_t mips_fault_pc(const struct mips_frame *f);
void mips_regs_set_return(uint64_t regs[32], long ret);
void mips_syscall_set_return(struct mips_frame *f, long ret);
uint64_t mips_pte(uint64_t gpa, int prot);
uint64_t mips_table_entry(uint64_t gpa);
void mips_block_init(void *block, uint64_t pgd, uint64_t exit);
enum mips_state_at mips_state_at(uint64_t block, uint64_t pc);

#include "dune-internal.h"

struct mips_vm {
	uint64_t pgd_gpa;
	uint64_t *pgd;
	int has_msa;
	int rixi;		/* the CPU has RI/XI: non-executable pages */
};

/*
 * The FPU (FR=1, as n64 runs) and, where the VM has MSA, the vector
 * registers: $wN is fpr[N] in its low 64 bits and wr_hi[N] in its high
 * ones (entry.S knows this layout).
 */
struct mips_fpu {
	uint64_t fpr[32];
	uint64_t wr_hi[32];
	uint32_t fcsr, msacsr;
	uint32_t msa;			/* wr_hi and msacsr hold MSA state */
	uint32_t pad;
};

/* What dune_enter()'s caller must find again inside the guest (entry.S). */
struct mips_entry_ctx {
	uint64_t s[8], gp, sp, fp, ra;
	struct mips_fpu fpu;
	uint64_t tls;
};

/* Registers for continuing natively (entry.S knows this layout). */
struct mips_native {
	uint64_t regs[32];
	uint64_t hi, lo, pc;
	struct mips_fpu fpu;
	uint64_t tls;
};

struct mips_vcpu {
	struct mips_entry_ctx ctx;
	uint8_t *block;			/* its guest-kernel block (EBase) */
	struct mips_frame *frame;	/* in block: the user state at an exit */
	int in_frame;			/* the frame holds the user state (vs KVM's registers) */
	int syscall;			/* the last exit was a syscall... */
	uint64_t orig_a3;		/* ...whose a3 a restart needs again */
	int regs_set;			/* rt_sigreturn set v0/a3: the return leaves them */
	int start_err;			/* arch_vcpu_start() could not set KVM's registers */
	struct mips_frame saved;	/* arch_vcpu_save(): the state at a syscall */
	struct mips_fpu saved_fpu;
	struct mips_native native;
};

static inline struct mips_vm *mips_vm(struct dune_vm *vm)
{
	return vm->arch;
}

static inline struct mips_vcpu *mips_vcpu(struct dune_vcpu *vcpu)
{
	return vcpu->arch;
}

uint64_t *mips_pgd(struct dune_vm *vm);
int mips_set_one(struct dune_vcpu *vcpu, uint64_t id, uint64_t value);
int mips_get_one(struct dune_vcpu *vcpu, uint64_t id, uint64_t *value);
int mips_get_fpu(struct dune_vcpu *vcpu, struct mips_fpu *fpu);
int mips_set_fpu(struct dune_vcpu *vcpu, const struct mips_fpu *fpu);
int mips_take_state(struct dune_vcpu *vcpu);
int mips_run_from_frame(struct dune_vcpu *vcpu);
uint64_t mips_kseg0(struct dune_vm *vm, const void *hva);

struct mips_sigcontext;
struct mips_rt_sigframe;
size_t mips_sigframe_size(const struct mips_fpu *fpu);
void mips_sigframe_setup(struct mips_frame *f, const struct mips_fpu *fpu,
			 const siginfo_t *info, const struct dune_sigaction *act, uint64_t old_mask,
			 uint64_t sp, uint64_t ret_code, struct mips_rt_sigframe *frame);
void mips_frame_to_sigcontext(const struct mips_frame *f, const struct mips_fpu *fpu,
			      struct mips_sigcontext *sc);
void mips_sigcontext_to_frame(const struct mips_sigcontext *sc, struct mips_frame *f,
			      struct mips_fpu *fpu);
int mips_extcontext_to_fpu(const struct mips_rt_sigframe *frame, struct mips_fpu *fpu);

/* entry.S */
int mips_enter(struct mips_entry_ctx *ctx, struct dune_vcpu *vcpu, void *host_stack_top,
	       void (*fn)(struct dune_vcpu *));
void mips_resume_native(struct mips_native *n) __attribute__((noreturn));
long mips_clone_thread(unsigned long flags, void *stack, long ptid, long tls, long ctid);
void mips_exit_thread(int *busy, long status) __attribute__((noreturn));
extern const char mips_sigreturn_code[];

#endif /* DUNE_MIPS_H */
