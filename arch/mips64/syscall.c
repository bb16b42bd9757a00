// SPDX-License-Identifier: MIT
/*
 * MIPS64 n64: the raw system call.  The kernel reports failure in a3 with
 * the positive errno in v0; lib/ gets -errno, as from every ISA.
 */
#include <linux/audit.h>

#include "dune-internal.h"

long arch_raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long v0 asm("$2") = nr;
	register long r0 asm("$4") = a0;
	register long r1 asm("$5") = a1;
	register long r2 asm("$6") = a2;
	register long r3 asm("$7") = a3;	/* in: the fourth argument; out: the error flag */
	register long r4 asm("$8") = a4;
	register long r5 asm("$9") = a5;

	asm volatile("syscall"
		     : "+r"(v0), "+r"(r3)
		     : "r"(r0), "r"(r1), "r"(r2), "r"(r4), "r"(r5)
		     : "$1", "$3", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25",
		       "hi", "lo", "memory");
	return r3 ? -v0 : v0;
}

uint32_t arch_audit_arch(void)
{
	return AUDIT_ARCH_MIPSEL64;
}

/* No protection keys: nothing of the guest's binds the kernel's accesses. */
void arch_call_begin(struct dune_vcpu *vcpu)
{
	(void)vcpu;
}

void arch_call_end(struct dune_vcpu *vcpu)
{
	(void)vcpu;
}
