/* SPDX-License-Identifier: MIT */
/* The LoongArch64 pieces of the tools: dune-exec-static's entry (no bare exit yet). */
#ifndef DUNE_TOOL_ARCH_H
#define DUNE_TOOL_ARCH_H

#include <elf.h>
#include <stdint.h>

/* dune-bench: the guest half has no bare exit to measure yet, nor KVM's own exit */
#define HAVE_BARE_EXIT	0
#define HAVE_KVM_EXIT	0

#define NATIVE_MACHINE	EM_LOONGARCH

/* As the kernel starts a program: the stack pointer at argc, a0 0 (no rtld_fini). */
static inline void __attribute__((noreturn)) start(uintptr_t entry, uintptr_t sp)
{
	asm volatile("move $sp, %0\n\t"
		     "move $a0, $zero\n\t"
		     "jirl $zero, %1, 0"
		     :: "r"(sp), "r"(entry) : "$a0", "memory");	/* (a0: not an input) */
	__builtin_unreachable();
}

#endif /* DUNE_TOOL_ARCH_H */
