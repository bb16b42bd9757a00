// SPDX-License-Identifier: MIT
/*
 * The program's forwarded call and a host signal (lib/arch.h), without KVM:
 * a signal whose handler runs before the kernel took the call must keep the
 * call from being made (the host loop runs the program's handler, then the
 * call), and one that runs after must find it made.  Single-stepping puts the
 * signal after each instruction in turn, from the caller's C code through
 * arch_forward_syscall() and the syscall: its handler does what dune's host
 * handler does (lib/signal.c), and notes whether the call (a write to a
 * pipe) was made when it ran.
 */
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "check.h"
#include "dune-internal.h"

#define RFLAGS_TF	0x100
#define MAX_STEPS	64

static int pipefd[2];
static int call;
static volatile int step, target, fired, made_when_fired;
static volatile uintptr_t fired_ip;

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	int queued = 0;

	(void)sig;
	(void)si;
	if (step++ != target)
		return;
	uc->uc_mcontext.gregs[REG_EFL] &= ~RFLAGS_TF;
	fired = 1;
	fired_ip = uc->uc_mcontext.gregs[REG_RIP];
	made_when_fired = arch_raw_syscall(SYS_ioctl, pipefd[0], FIONREAD, (long)&queued, 0, 0, 0) ==
			  0 && queued > 0;
	if (__atomic_load_n(&call, __ATOMIC_SEQ_CST) == DUNE_CALL_PENDING) {
		arch_forward_cancel(uc, arch_forward_template, &call);
		__atomic_store_n(&call, DUNE_CALL_SIGNALLED, __ATOMIC_SEQ_CST);
	}
}

/* One round: the signal after the target-th instruction once stepping began. */
static int one_round(int at)
{
	char c;
	long ret;
	int queued = 0;

	step = 0;
	target = at;
	fired = 0;
	call = DUNE_CALL_PENDING;
	asm volatile("pushf\n\torl %0, (%%rsp)\n\tpopf" : : "i"(RFLAGS_TF) : "memory", "cc");
	ret = arch_forward_syscall(SYS_write, pipefd[1], (long)"x", 1, 0, 0, 0, arch_forward_template,
				   &call);
	asm volatile("pushf\n\tandl %0, (%%rsp)\n\tpopf" : : "i"(~RFLAGS_TF) : "memory", "cc");
	if (!fired)
		return 0;	/* the target lay past the round's end */
	ioctl(pipefd[0], FIONREAD, &queued);
	if (queued)
		CHECK(read(pipefd[0], &c, 1) == 1, "draining the pipe");
	if (made_when_fired)
		CHECK(ret == 1 && queued == 1 && call == DUNE_CALL_IDLE,
		      "step %d (ip %#lx): the call was made before the handler ran, yet it returned %ld, "
		      "%d bytes written, call state %d", at, (unsigned long)fired_ip, ret, queued, call);
	else
		CHECK(ret == -DUNE_ERESTARTNOINTR && queued == 0 && call == DUNE_CALL_SIGNALLED,
		      "step %d (ip %#lx): the handler ran before the call, yet it returned %ld, "
		      "%d bytes written, call state %d", at, (unsigned long)fired_ip, ret, queued, call);
	return 1;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	int before = 0, after = 0, at;

	if (pipe(pipefd))
		return 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, NULL);
	for (at = 0; at < MAX_STEPS && one_round(at); at++) {
		if (made_when_fired)
			after++;
		else
			before++;
	}
	printf("# %d signal positions before the call was made, %d after\n", before, after);
	CHECK(before > 5 && after > 0, "stepping never reached both sides of the syscall");
	return finish();
}
