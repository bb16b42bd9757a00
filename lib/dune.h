/* SPDX-License-Identifier: MIT */
/*
 * dune: run the calling process inside a KVM virtual machine.
 *
 * After dune_enter() returns 0 the caller keeps running the same code on the
 * same stack, memory, TLS and file descriptors, but inside a VM at guest
 * CPL3; every system call leaves the VM and is executed by the host on the
 * caller's behalf.  All functions are async-signal-safe and never touch errno.
 */
#ifndef DUNE_H
#define DUNE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libdune.so exports these names only */
#pragma GCC visibility push(default)

#define DUNE_VERSION "0.1.0"

/*
 * The reserved system call number through which code inside the VM reaches
 * the library.  Linux does not use it: natively it fails with ENOSYS.
 */
#define DUNE_SYSCALL_NR 0x10d0e

/* Operations of DUNE_SYSCALL_NR (first argument). */
enum dune_op {
	DUNE_OP_IS_INSIDE = 1,	/* returns 1 */
	DUNE_OP_ESCAPE = 2,	/* leave the VM: returns 0, natively */
	DUNE_OP_GET_STATS = 3,	/* (op, struct dune_stats *, size) */
	DUNE_OP_NOP = 4,	/* returns 0: the bare guest -> host loop round trip */
	/*
	 * For benchmarks (dune-bench's exit floor): where the guest's own `out`
	 * to the syscall port can exit (kvm_pvm), let it reach the host loop as
	 * this syscall instead of SIGSEGV.  -EPERM under a policy.
	 */
	DUNE_OP_BARE_EXITS = 5,
	/*
	 * 1 if a dune-run policy (a seccomp filter) is in force, else 0.
	 * Natively the filter itself answers: -EPERM (without one, -ENOSYS).
	 */
	DUNE_OP_POLICY = 6,
	/*
	 * (op, fd, entry, sp): dune-exec-static's last step, the end of its
	 * execve.  The fd (of the program it loaded) becomes dune's, and an
	 * execve of /proc/self/exe runs that program again, as natively; under
	 * a policy the loader's own image becomes dune's memory; and the call
	 * returns to entry with the stack at sp, in a new image's registers.
	 * Returns -errno (and does nothing) on failure.
	 */
	DUNE_OP_EXEC_START = 7,
	/*
	 * (op | nr << 32, the call's first five arguments): before dune performs
	 * a program's call itself (clone, the signal calls...), it asks a dune-run
	 * policy's filter what the call would get: 0 to run it, or -errno.
	 */
	DUNE_OP_POLICY_CHECK = 8,
};

/*
 * Enter the VM.  Returns 0 inside the VM, or -errno (still native).  After
 * dune_escape() it enters the same VM again; called inside dune, it enters
 * a VM nested one level deeper.
 */
int dune_enter(void);

/* 1 if the calling thread runs inside dune, 0 otherwise. */
int dune_is_inside(void);

/*
 * Leave the VM (one level) and continue natively at the same point, with the
 * same registers, FPU state, TLS and signal dispositions.  Returns 0, or
 * -EINVAL if not inside.
 */
int dune_escape(void);

/* One line saying why the last failing dune call failed ("" if none). */
const char *dune_last_error(void);

/* Exit kinds counted in dune_stats.exits[]. */
enum dune_exit_kind {
	DUNE_EXIT_SYSCALL,	/* forwarded system call */
	DUNE_EXIT_FAULT,	/* guest exception (page fault, #UD, ...) */
	DUNE_EXIT_INTR,		/* KVM_RUN interrupted by a host signal */
	DUNE_EXIT_MMIO,		/* access to a guest-physical hole */
	DUNE_EXIT_OTHER,
	DUNE_EXIT_KINDS
};

/*
 * Why the kernel module left syscalls to user space: not allowed by policy;
 * the thread is traced, audited or filtered natively; an -ERESTART result;
 * guest state it cannot touch or a foreign mm; switched off by the admin;
 * a memory argument reaching dune's own memory (the user path says EFAULT).
 */
#define DUNE_KERNEL_DECLINE_KINDS 6

struct dune_stats {
	uint32_t size;			/* in: sizeof(struct dune_stats) */
	uint32_t reserved;
	uint64_t exits[DUNE_EXIT_KINDS];
	uint64_t syscalls;		/* system calls forwarded to the host */
	uint64_t faults_fixed;		/* guest faults resolved by mapping memory */
	uint64_t faults_signalled;	/* guest faults turned into signals */
	uint64_t memslots;		/* KVM memory slots in use */
	uint64_t pt_pages;		/* guest page-table pages in use */
	uint64_t tlb_flushes;		/* guest TLB flushes requested */
	uint64_t signals;		/* signals delivered to handlers in the guest */
	/* a fork child: how long building its own VM took, in ns */
	uint64_t fork_vm_ns;		/* KVM_CREATE_VM */
	uint64_t fork_memslots_ns;	/* re-registering the memslots */
	uint64_t fork_vcpu_ns;		/* the vCPU and its state */
	/* the in-kernel fast path (DUNE_MODE), zero without the module: */
	uint64_t kernel_syscalls;	/* served in the kernel (syscalls: in user space) */
	uint64_t kernel_declined[DUNE_KERNEL_DECLINE_KINDS];	/* by reason, see below */
};

/*
 * Copy the calling process's counters into *stats (up to stats->size bytes).
 * Returns 0, or -EINVAL if stats->size is too small for the first fields.
 */
int dune_get_stats(struct dune_stats *stats);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* DUNE_H */
