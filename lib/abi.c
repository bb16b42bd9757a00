// SPDX-License-Identifier: MIT
/*
 * Compile-time checks of the ISA's arch-abi.h against the kernel's UAPI
 * headers it describes: a port whose constants or struct dune_sigaction
 * disagree with <asm/signal.h> or <asm/unistd.h> does not build.  (This file
 * has no code; <asm/signal.h> cannot share a file with libc's <signal.h>.)
 */
#include <stddef.h>
#include <asm/signal.h>
#include <asm/unistd.h>

#include <arch-abi.h>

#define SAME_FIELD(field, kfield)							\
	_Static_assert(offsetof(struct dune_sigaction, field) ==			\
		       offsetof(struct sigaction, kfield) &&				\
		       sizeof(((struct dune_sigaction *)0)->field) ==			\
		       sizeof(((struct sigaction *)0)->kfield), "sigaction." #kfield)

#ifdef _NSIG		/* x86's UAPI says only the old NSIG 32 */
_Static_assert(DUNE_NSIG == _NSIG, "_NSIG");
#endif
_Static_assert(DUNE_SIGSET_BYTES == sizeof(sigset_t), "the kernel's sigset_t");
_Static_assert(sizeof(struct dune_sigaction) == sizeof(struct sigaction), "struct sigaction");
SAME_FIELD(handler, sa_handler);
SAME_FIELD(flags, sa_flags);
SAME_FIELD(mask, sa_mask);
#ifdef SA_RESTORER
SAME_FIELD(restorer, sa_restorer);
_Static_assert(DUNE_SA_RESTORER == SA_RESTORER, "SA_RESTORER");
#else
_Static_assert(DUNE_SA_RESTORER == 0, "no SA_RESTORER on this ISA");
#endif

#ifdef __NR_Linux
_Static_assert(DUNE_SYSCALL_BASE == __NR_Linux, "the syscall base");
#else
_Static_assert(DUNE_SYSCALL_BASE == 0, "the syscall base");
#endif
#ifdef __NR_syscalls
_Static_assert(__NR_syscalls <= DUNE_SYSCALL_BASE + DUNE_SYSCALL_COUNT, "the syscall count");
#endif
#ifdef __NR_Linux_syscalls
_Static_assert(__NR_Linux + __NR_Linux_syscalls <= DUNE_SYSCALL_BASE + DUNE_SYSCALL_COUNT,
	       "the syscall count");
#endif
