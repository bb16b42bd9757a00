/* SPDX-License-Identifier: MIT */
/*
 * The interface every ISA backend (arch/<isa>/) implements.  lib/ knows the
 * guest only through these functions and the ISA-neutral types below; all
 * register layouts, page-table formats, exit decoding and guest entry code
 * live behind it.
 */
#ifndef DUNE_ARCH_H
#define DUNE_ARCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <arch-abi.h>	/* the ISA's ABI constants, struct dune_sigaction */

struct dune_vm;
struct dune_vcpu;

/* A guest system call as the syscall ABI of the ISA passes it. */
struct dune_syscall {
	long nr;
	long args[6];
	uintptr_t ip;		/* where the guest continues after it */
	uint32_t compat_arch;	/* 0, or the AUDIT_ARCH_* of the ISA's other ABI it came in */
};

enum dune_event {
	DUNE_EV_SYSCALL,	/* sys filled */
	DUNE_EV_FAULT,		/* fault filled */
	DUNE_EV_INTR,		/* nothing left to do: KVM_RUN interrupted, or the arch served it */
	DUNE_EV_MMIO,		/* guest touched a guest-physical hole */
	DUNE_EV_FATAL,		/* VM unusable: why says what happened */
};

/* A guest exception, already translated to what Linux would deliver. */
struct dune_fault {
	int signo;		/* SIGSEGV, SIGILL, ... */
	int code;		/* si_code */
	uintptr_t addr;		/* si_addr */
	uintptr_t pc;
	/* page faults only: */
	int is_page_fault;
	int not_present;	/* no translation (vs. a protection fault) */
	int write, exec;
	int pkey_denied;	/* the page's protection key forbade it */
	int pkey;		/* si_pkey, for SEGV_PKUERR */
};

struct dune_exit {
	enum dune_event event;
	struct dune_syscall sys;
	struct dune_fault fault;
	uint64_t mmio_gpa;
	const char *why;
};

/* VM and vCPU set-up (run natively, before entering; may use libc). */
size_t arch_vm_size(void);		/* size of the arch part of a VM */
size_t arch_vcpu_size(void);
size_t arch_area_pages(void);		/* guest-kernel pages at the start of the dune area */
int arch_vm_init(struct dune_vm *vm);
int arch_vcpu_init(struct dune_vcpu *vcpu);
int arch_vcpu_reenter(struct dune_vcpu *vcpu);
unsigned int arch_guest_phys_bits(struct dune_vm *vm);

/*
 * Guest page tables; prot is PROT_READ|PROT_WRITE|PROT_EXEC, and the pages'
 * protection key DUNE_PROT_PKEY(pkey) (an ISA without keys ignores it).
 */
#define DUNE_PROT_PKEY_SHIFT	24
#define DUNE_PROT_PKEY(pkey)	((pkey) << DUNE_PROT_PKEY_SHIFT)
int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot);
int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len);
/* Drop every guest mapping but the guest kernel's (vm->lock held). */
int arch_pt_reset(struct dune_vm *vm);
/* Is any page of [va, va + len) mapped in the guest page tables? */
int arch_is_mapped(struct dune_vm *vm, uintptr_t va, size_t len);
/* Unlink the tables that map nothing and give them to dune_pt_free(). */
void arch_pt_prune(struct dune_vm *vm);

/*
 * Switch to the host stack and run dune_host_start(vcpu) there; the guest
 * starts at the caller's return address with 0 as return value.
 */
int arch_enter(struct dune_vcpu *vcpu, void *host_stack_top);
/* Abandon the current stack: run fn(vcpu) on the host stack. */
void arch_call_on_stack(void *host_stack_top, void (*fn)(struct dune_vcpu *),
			struct dune_vcpu *vcpu) __attribute__((noreturn));
void arch_vcpu_start(struct dune_vcpu *vcpu);

/* Host loop (run on the host stack: raw syscalls only, see util.c). */
/* Before KVM_RUN (a TLB flush vcpu->flush_pending asks for): 0 or -errno. */
long arch_prepare_run(struct dune_vcpu *vcpu);
void arch_decode_exit(struct dune_vcpu *vcpu, struct dune_exit *exit);
void arch_syscall_return(struct dune_vcpu *vcpu, long ret);
int arch_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys, long *ret);
/*
 * An mmap or mprotect with PROT_EXEC alone (the host's mapping is made
 * readable: KVM must read it): the protection key that makes the guest's
 * pages execute-only, the guest's rights denying reads with it; or -1.
 * Optional: lib/syscall.c's weak default has no keys.
 */
int arch_exec_only_pkey(struct dune_vcpu *vcpu);
uint32_t arch_audit_arch(void);		/* AUDIT_ARCH_* for seccomp_data */
/* A call through the ISA's other ABI (sys->compat_arch): run it, or -errno. */
long arch_compat_syscall(struct dune_vcpu *vcpu, const struct dune_syscall *sys);

/*
 * Leaving the VM: capture the guest's registers (and FPU state) as native
 * code must see them, optionally change the return value and stack pointer
 * (a forked child), then continue natively there.
 */
void arch_capture_native(struct dune_vcpu *vcpu);
void arch_native_set(struct dune_vcpu *vcpu, long ret, uintptr_t sp);
void arch_resume_native(struct dune_vcpu *vcpu) __attribute__((noreturn));

/* Processes and threads: copy a vCPU's state at a syscall exit into another. */
int arch_vcpu_save(struct dune_vcpu *vcpu);
int arch_vcpu_restore(struct dune_vcpu *vcpu, struct dune_vcpu *from, uintptr_t stack,
		      int settls, unsigned long tls);
/* clone(2) whose child host thread runs dune_thread_main(child) on child's stack. */
long arch_clone_thread(struct dune_vcpu *child, unsigned long flags, long ptid, long ctid,
		       long tls);
/*
 * Signals: push a native-format frame for act's handler and go there (restart:
 * the interrupted syscall restart_nr runs again after the handler); and undo
 * it at rt_sigreturn, giving the mask and the return-value register to restore.
 */
int arch_signal_deliver(struct dune_vcpu *vcpu, const siginfo_t *info,
			const struct dune_sigaction *act, uint64_t old_mask, int restart,
			long restart_nr);
int arch_sigreturn(struct dune_vcpu *vcpu, uint64_t *mask, long *ret);
/*
 * The current syscall returns into a new image: at entry with the stack at
 * sp and the other registers as Linux starts a program (start_thread).
 */
int arch_exec_start(struct dune_vcpu *vcpu, uintptr_t entry, uintptr_t sp);

/* Release *busy (if not NULL) and end the calling thread. */
void arch_exit_thread(int *busy, long status) __attribute__((noreturn));

/* A system call that never touches errno or TLS. */
long arch_raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
/*
 * The same from the instruction at insn: the host loop forwards the
 * program's syscalls from a copy of the template on DUNE_FORWARD_PAGE (see
 * arch-policy.h), where a policy filter knows them.  *call is a struct
 * dune_vcpu's call state (enum dune_call): if it is DUNE_CALL_SIGNALLED the
 * call is not made and the result is -DUNE_ERESTARTNOINTR; once the kernel
 * has returned it is DUNE_CALL_IDLE.
 */
long arch_forward_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5,
			  const void *insn, int *call);
extern const char arch_forward_template[];
extern const size_t arch_forward_template_size;
/*
 * Around the program's forwarded call: the host thread takes on what of the
 * guest's state the kernel checks when the call touches the program's
 * memory (x86-64: the protection keys' rights, PKRU), and gives it back.
 */
void arch_call_begin(struct dune_vcpu *vcpu);
void arch_call_end(struct dune_vcpu *vcpu);
/*
 * In a host signal handler, uc the context it interrupted: if that is in
 * arch_forward_syscall(..., insn, call) past its check of *call but before
 * the kernel took the call (or the kernel rewound it to start over, as for
 * ERESTARTNOINTR), make it return -DUNE_ERESTARTNOINTR without the call.
 * The caller then sets *call to DUNE_CALL_SIGNALLED.
 */
void arch_forward_cancel(void *uc, const void *insn, const int *call);

#endif /* DUNE_ARCH_H */
