/* SPDX-License-Identifier: MIT */
/* The MIPS64 (n64) pieces of the tools: dune-exec-static's entry (no bare exit yet). */
#ifndef DUNE_TOOL_ARCH_H
#define DUNE_TOOL_ARCH_H

#include <elf.h>
#include <stdint.h>

/* dune-bench: the guest half has no bare exit to measure yet, nor KVM's own exit */
#define HAVE_BARE_EXIT	0
#define HAVE_KVM_EXIT	0

#define NATIVE_MACHINE	EM_MIPS

/*
 * As the kernel starts a program: the stack pointer at argc, v0 0 (glibc's
 * __start takes rtld_fini there), t9 the entry (PIC code finds gp from it).
 */
static inline void __attribute__((noreturn)) start(uintptr_t entry, uintptr_t sp)
{
	asm volatile("move $sp, %0\n\t"
		     "move $2, $0\n\t"
		     "move $25, %1\n\t"
		     "jr $25\n\t"
		     "nop"
		     :: "r"(sp), "r"(entry) : "$2", "$25", "memory");	/* (not inputs) */
	__builtin_unreachable();
}

#endif /* DUNE_TOOL_ARCH_H */
