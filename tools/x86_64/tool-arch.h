/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 pieces of the tools: dune-exec-static's entry, dune-bench's bare
 * exit and KVM's own exit.
 */
#ifndef DUNE_TOOL_ARCH_H
#define DUNE_TOOL_ARCH_H

#include <elf.h>
#include <stdint.h>

#define NATIVE_MACHINE	EM_X86_64

/* As the kernel starts a program: the stack pointer at argc, rdx 0 (no rtld_fini). */
static inline void __attribute__((noreturn)) start(uintptr_t entry, uintptr_t sp)
{
	asm volatile("mov %0, %%rsp\n\t"
		     "xor %%edx, %%edx\n\t"
		     "xor %%ebp, %%ebp\n\t"
		     "jmp *%1"
		     :: "c"(sp), "a"(entry) : "memory");	/* (not in rdx or rbp) */
	__builtin_unreachable();
}

/* dune-bench: the bare exit, the guest's own `out` to the syscall port, no `syscall` trap. */
#define HAVE_BARE_EXIT	1

static inline void bare_exit_loop(int n)
{
	for (int i = 0; i < n; i++) {
		long rax = DUNE_SYSCALL_NR;

		asm volatile("out %%eax, $0x20" : "+a"(rax) : "D"((long)DUNE_OP_NOP) : "rcx", "memory");
	}
}

/*
 * dune-bench --paths: an exit KVM serves itself, in the kernel (cpuid): the
 * round trip every syscall of the kernel path makes, with KVM's emulation
 * of cpuid in place of the module's work.
 */
#define HAVE_KVM_EXIT	1

static inline void kvm_exit_loop(int n)
{
	for (int i = 0; i < n; i++) {
		unsigned int a = 0, b, c = 0, d;

		asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) :: "memory");
	}
}

#endif /* DUNE_TOOL_ARCH_H */
