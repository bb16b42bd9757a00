// SPDX-License-Identifier: MIT
/* LoongArch64: the raw system call (nr in a7, result or -errno in a0). */
#include <linux/audit.h>

#include "arch.h"

long arch_raw_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r_nr asm("$a7") = nr;
	register long r0 asm("$a0") = a0;
	register long r1 asm("$a1") = a1;
	register long r2 asm("$a2") = a2;
	register long r3 asm("$a3") = a3;
	register long r4 asm("$a4") = a4;
	register long r5 asm("$a5") = a5;

	asm volatile("syscall 0"
		     : "+r"(r0)
		     : "r"(r_nr), "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5)
		     : "$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8", "memory");
	return r0;
}

uint32_t arch_audit_arch(void)
{
	return AUDIT_ARCH_LOONGARCH64;
}
