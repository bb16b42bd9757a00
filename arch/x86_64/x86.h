/* SPDX-License-Identifier: MIT */
/* Private to arch/x86_64. */
#ifndef DUNE_X86_H
#define DUNE_X86_H

#include <stdint.h>
#include <asm/ldt.h>
#include <linux/kvm.h>

#include <linux/dune.h>	/* the guest/host contract: ports, registers */

/* GDT selectors, as Linux uses them (user CS/SS must match the host's). */
#define GDT_KERNEL_CS	0x10
#define GDT_KERNEL_DS	0x18
#define GDT_USER_CS32	0x23
#define GDT_USER_DS	0x2b
#define GDT_USER_CS	0x33
#define GDT_TSS		0x40
#define GDT_LDT		0x50	/* the program's LDT, if it made one (ldt.c) */
#define GDT_CPUNODE	0x7b	/* limit = cpu | node << 12, for getcpu's LSL */
#define GDT_ENTRIES	16

/* Guest-kernel pages of the VM, at the start of the dune area's guest part. */
#define KA_IDT		0x0000
#define KA_EXC		0x1000	/* CPL0 exception stubs, EXC_STUB_SIZE bytes per vector */
#define KA_SYSCALL	0x2000	/* LSTAR stub: U=0 (hardware) or U=1 (kvm_pvm) */
#define KA_PROBE	KA_SYSCALL	/* before it, the probe's code (U=1 while probing) */
#define KA_PAGES	3

/* Guest-kernel pages of each vCPU. */
#define KV_GDT		0x0000
#define KV_TSS		0x1000	/* TSS, then its I/O bitmap */
#define KV_KSTACK_TOP	0x6000	/* TSS.RSP0: four pages below */
#define KV_IST_TOP	0x8000	/* IST1 for NMI, #DB, #DF, #MC: two pages below */
#define KV_PAGES	8

#define LDT_PAGES	(LDT_ENTRIES * LDT_ENTRY_SIZE / 4096)	/* the LDT's copy (ldt.c) */

#define EXC_STUB_SIZE	16
#define STUB_OUT_LEN	2	/* every stub begins with `out` to its port: e6/e7 imm8 */

#define TSS_IOMAP	0x68
#define NR_VECTORS	32

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_U		(1ULL << 2)
#define PTE_PWT		(1ULL << 3)
#define PTE_PS		(1ULL << 7)
#define PTE_PKEY_SHIFT	59	/* bits 62:59, with CR4.PKE */
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL

#define X86_CR4_TSD		(1ULL << 2)
#define X86_CR4_PAE		(1ULL << 5)
#define X86_CR4_OSFXSR		(1ULL << 9)
#define X86_CR4_OSXMMEXCPT	(1ULL << 10)
#define X86_CR4_UMIP		(1ULL << 11)
#define X86_CR4_FSGSBASE	(1ULL << 16)
#define X86_CR4_OSXSAVE		(1ULL << 18)
#define X86_CR4_SMEP		(1ULL << 20)
#define X86_CR4_PKE		(1ULL << 22)

#define XFEATURE_PKRU		(1ULL << 9)

#define MSR_IA32_TSC	0x10
#define MSR_TSC_AUX	0xc0000103
#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_SFMASK	0xc0000084
/* TF IF DF IOPL NT AC, like Linux; sysretq restores RFLAGS from R11 */
#define SFMASK_HW	0x47700ULL

#define MAX_CPUID_ENTRIES 256

#define VSYSCALL_PAGE	0xffffffffff600000ULL	/* gettimeofday, time, getcpu at 1 KiB steps */

/*
 * i386 calls whose kernel function is the x86-64 one (no compat variant, the
 * arguments zero-extended): compat.c serves them as that native call.
 */
#define X86_COMPAT_NATIVE(X)						\
	X(exit) X(exit_group) X(munmap) X(mprotect) X(madvise) X(mlock)	\
	X(munlock) X(mlockall) X(close) X(dup) X(dup2) X(dup3) X(close_range)

#define X86_COMPAT_ENUM(name)	X86_COMPAT_##name,
enum x86_compat_native { X86_COMPAT_NATIVE(X86_COMPAT_ENUM) X86_NR_COMPAT_NATIVE };

struct x86_vm {
	uint8_t *ka;			/* guest-kernel pages of the VM */
	int ka_ready;
	uint64_t host_xcr0, guest_xcr0;
	uint64_t cr4;
	unsigned int phys_bits;
	int smep;			/* host and KVM have SMEP */
	unsigned int pkru_offset;	/* PKRU in an XSAVE image (CPUID 0xD.9:EBX) */
	int host_pkeys;			/* the host kernel uses protection keys (OSPKE) */
	int keys_used;			/* the program has (or had) a key: arch_call_begin() */
	int vsyscall;			/* the host emulates the vsyscall page (-1: not asked) */
	unsigned int compat_refused;	/* i386 calls refused (the first is logged) */
	uint8_t *ldt;			/* guest copy of the program's LDT (ldt.c)... */
	unsigned int ldt_entries;
	unsigned int ldt_gen;		/* ...changed each time it is rewritten */
	uint64_t pml4_gpa;
	uint64_t *pml4;
	/* struct kvm_cpuid2 and its entries (see x86_cpuid()) */
	uint8_t cpuid_buf[sizeof(struct kvm_cpuid2) +
			  MAX_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2)] __attribute__((aligned(8)));
};

/* What dune_enter()'s caller must find again inside the guest. */
struct x86_entry_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

/* Register state for continuing natively; entry.S knows these offsets. */
struct x86_native_frame {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, rsp;
	uint64_t xcr0;
	uint8_t *xsave;
};

struct x86_vcpu {
	struct x86_entry_ctx ctx;
	uint8_t *kv;			/* guest-kernel pages of this vCPU */
	int last_syscall;		/* the last exit was a system call */
	uint64_t *exc_frame;		/* the user state is in an exception stub's frame */
	int exc_taken;			/* this exit reports exception exc_vector */
	int exc_vector;
	uint64_t exc_error;
	uint32_t cpunode;		/* what the guest's GDT and TSC_AUX say... */
	int cpunode_set;		/* ...once set */
	unsigned int ldt_gen;		/* the x86_vm's LDT this vCPU has loaded */
	struct x86_native_frame native;
	struct kvm_regs saved_regs;	/* arch_vcpu_save(): state at a syscall */
	struct kvm_sregs saved_sregs;
	int xsave_current;		/* xsave is the vCPU's, read at this exit */
	struct kvm_xsave xsave __attribute__((aligned(64)));	/* also saved state */
};

static inline struct x86_vm *x86_vm(struct dune_vm *vm)
{
	return vm->arch;
}

static inline struct kvm_cpuid2 *x86_cpuid(struct x86_vm *xv)
{
	return (struct kvm_cpuid2 *)xv->cpuid_buf;
}

static inline struct x86_vcpu *x86_vcpu(struct dune_vcpu *vcpu)
{
	return vcpu->arch;
}

int x86_enter(struct x86_entry_ctx *ctx, struct dune_vcpu *vcpu, void *host_stack_top);
void x86_resume_native(struct x86_native_frame *frame) __attribute__((noreturn));
void x86_int80(struct kvm_regs *r);
long x86_clone_thread(unsigned long flags, void *stack, long ptid, long ctid, long tls);
void x86_exit_thread(int *busy, long status) __attribute__((noreturn));
int x86_vector_has_error_code(int vector);
int x86_in_syscall_stub(struct dune_vcpu *vcpu, const struct kvm_regs *g);
void x86_user_regs(struct dune_vcpu *vcpu, const struct kvm_regs *g, struct kvm_regs *r);
int x86_probe_hw_semantics(struct dune_vcpu *vcpu, struct kvm_sregs *sregs);
int x86_vm_has_pkeys(struct dune_vm *vm);
uint32_t x86_rdpkru(void);
void x86_open_host_pkru(struct dune_vm *vm);
void x86_xsave_set_pkru(struct dune_vm *vm, uint8_t *image, uint32_t pkru);
long x86_pkey_alloc(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
int x86_pkru_for_handler(struct dune_vcpu *vcpu, uint8_t *image);
void x86_fill_user_sregs(struct dune_vcpu *vcpu, struct kvm_sregs *s);
struct kvm_segment x86_user_code_segment(uint16_t selector);
uint64_t x86_tsc_cr4(void);
int x86_vcpu_hw_semantics(void);
int x86_set_msr(struct dune_vcpu *vcpu, uint32_t index, uint64_t value);
int x86_map_supervisor(struct dune_vm *vm, uintptr_t va, int user);
int x86_map_guest_kernel(struct dune_vm *vm);
int x86_map_guest_pages(struct dune_vm *vm, uint8_t *base, int pages);
void x86_fill_ldt(struct dune_vcpu *vcpu, struct kvm_segment *ldt);
long x86_sync_ldt(struct dune_vcpu *vcpu);
struct kvm_sregs *x86_sregs_to_change(struct dune_vcpu *vcpu);
long x86_modify_ldt(struct dune_vcpu *vcpu, const struct dune_syscall *sys);
long x86_compat_native_nr(enum x86_compat_native which);
int x86_emulate_umip(struct dune_vcpu *vcpu, uint64_t *frame, struct dune_exit *e);

_Static_assert(__builtin_offsetof(struct x86_native_frame, xsave) == 152, "entry.S offsets");

#endif
