// SPDX-License-Identifier: MIT
/*
 * The MIPS64 forwarded syscall (arch_forward_syscall in entry.S) under
 * qemu-user: the result and n64's error convention from the template, a
 * call already SIGNALLED not made, and arch_forward_cancel() on host
 * contexts at each place of the window: from the check of *call to the
 * template's `syscall`, a signal makes the call return as SIGNALLED.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "check.h"
#include "dune-internal.h"
#include "mips.h"

extern const char mips_forward_check[], mips_forward_call[], mips_forward_made[],
	mips_forward_cancelled[];

/* Where arch_forward_cancel() sends a host context at pc with s0 and ra. */
static uintptr_t cancelled_to(uintptr_t pc, const int *s0, const void *ra, const int *call)
{
	ucontext_t uc;

	memset(&uc, 0, sizeof(uc));
	uc.uc_mcontext.pc = pc;
	uc.uc_mcontext.gregs[R_S0] = (uintptr_t)s0;
	uc.uc_mcontext.gregs[R_RA] = (uintptr_t)ra;
	arch_forward_cancel(&uc, arch_forward_template, call);
	return uc.uc_mcontext.pc;
}

int main(void)
{
	const uintptr_t cancelled = (uintptr_t)mips_forward_cancelled;
	const uintptr_t check = (uintptr_t)mips_forward_check, made = (uintptr_t)mips_forward_made;
	const uintptr_t template = (uintptr_t)arch_forward_template;
	int call = DUNE_CALL_PENDING, other = DUNE_CALL_PENDING;
	long r;

	r = arch_forward_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0, arch_forward_template, &call);
	CHECK(r == getpid() && call == DUNE_CALL_IDLE, "forwarded getpid: %ld, call %d", r, call);
	r = arch_forward_syscall(SYS_openat, AT_FDCWD, (long)"/nonexistent", O_RDONLY, 0, 0, 0,
				 arch_forward_template, &call);
	CHECK(r == -ENOENT, "forwarded openat of nothing: %ld", r);
	call = DUNE_CALL_SIGNALLED;
	r = arch_forward_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0, arch_forward_template, &call);
	CHECK(r == -DUNE_ERESTARTNOINTR && call == DUNE_CALL_SIGNALLED,
	      "a SIGNALLED call: %ld, call %d", r, call);

	for (uintptr_t pc = check; pc <= (uintptr_t)mips_forward_call; pc += 4)
		CHECK(cancelled_to(pc, &call, NULL, &call) == cancelled,
		      "a signal at check+%lu is not cancelled", (unsigned long)(pc - check));
	CHECK(cancelled_to(template, &call, mips_forward_made, &call) == cancelled,
	      "a signal at the template's syscall is not cancelled");
	CHECK(cancelled_to(made, &call, NULL, &call) == made, "a call the kernel made is cancelled");
	CHECK(cancelled_to(template, &call, main, &call) == template,
	      "another caller's syscall is cancelled");
	CHECK(cancelled_to(check, &other, NULL, &call) == check,
	      "another call's window is cancelled");
	return finish();
}
