// SPDX-License-Identifier: MIT
/*
 * The siginfo of x86 traps, natively and inside dune: SIGFPE for unmasked
 * SSE and x87 divide-by-zero says FPE_FLTDIV, single-step says TRAP_TRACE
 * and icebp TRAP_BRKPT, each with the address Linux reports; port I/O from
 * user code (dune's own ports included) is SIGSEGV at the instruction.
 */
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

#include "check.h"

static sigjmp_buf back;
static volatile int got_signo, got_code;
static volatile uintptr_t got_addr, got_ip;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	got_ip = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
	got_signo = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

extern char sse_div[], x87_wait[], step_next[], icebp_next[], out_syscall[], out_dx[];

static void sse_divide_by_zero(void)
{
	unsigned int mxcsr = 0x1f80 & ~(1u << 9);	/* ZM unmasked */
	float one = 1.0f, zero = 0.0f;

	asm volatile("ldmxcsr %0\n\t"
		     "sse_div: divss %2, %1" : "+m"(mxcsr), "+x"(one) : "x"(zero));
}

static void x87_divide_by_zero(void)
{
	unsigned short cw = 0x037f & ~(1u << 2);	/* ZM unmasked */

	asm volatile("fninit\n\tfldcw %0\n\tfld1\n\tfldz\n\tfdivrp\n\t"
		     "x87_wait: fwait\n\tfstp %%st(0)" :: "m"(cw));
}

static void single_step(void)
{
	asm volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
		     "nop\n" "step_next: nop\n\tpushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq" ::: "cc");
}

static void icebp(void)
{
	asm volatile(".byte 0xf1\n" "icebp_next: nop");
}

static void out_syscall_port(void)
{
	asm volatile("out_syscall: out %%eax, $0x20" :: "a"(39) : "rcx", "r11");
}

static void out_dx_port(void)
{
	asm volatile("out_dx: outw %%ax, %%dx" :: "a"(0), "d"(0x22));
}

struct trap_case {
	const char *what;
	void (*fn)(void);
	int signo, code;
	const char *addr;	/* expected si_addr */
	const char *ip;		/* and where the handler's context stands (or NULL) */
};

static const struct trap_case cases[] = {
	{ "SSE divide by zero", sse_divide_by_zero, SIGFPE, FPE_FLTDIV, sse_div, NULL },
	{ "x87 divide by zero", x87_divide_by_zero, SIGFPE, FPE_FLTDIV, x87_wait, NULL },
	{ "single-step", single_step, SIGTRAP, TRAP_TRACE, step_next, NULL },
	{ "icebp", icebp, SIGTRAP, TRAP_BRKPT, icebp_next, NULL },
	{ "out to the syscall port", out_syscall_port, SIGSEGV, SI_KERNEL, NULL, out_syscall },
	{ "outw to port 0x22", out_dx_port, SIGSEGV, SI_KERNEL, NULL, out_dx },
};

static int run_cases(void *mode)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };
	unsigned int mxcsr = 0x1f80;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (mode)
		enter_dune();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trap_case *c = &cases[i];

		got_signo = 0;
		if (!sigsetjmp(back, 1))
			c->fn();
		asm volatile("ldmxcsr %0\n\tfninit" :: "m"(mxcsr));
		CHECK(got_signo == c->signo && got_code == c->code && got_addr == (uintptr_t)c->addr,
		      "%s %s: signal %d code %d addr %#lx, expected %d %d %p", c->what,
		      mode ? "inside" : "natively", got_signo, got_code, (unsigned long)got_addr,
		      c->signo, c->code, (void *)c->addr);
		CHECK(!c->ip || got_ip == (uintptr_t)c->ip, "%s %s: at %#lx, expected %p", c->what,
		      mode ? "inside" : "natively", (unsigned long)got_ip, (void *)c->ip);
	}
	return finish();
}

int main(void)
{
	for (long mode = 0; mode < 2; mode++) {
		char out[4096];
		int status = run_child(run_cases, (void *)mode, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s\n%s",
		      mode ? "inside dune" : "natively", status_str(status), out);
	}
	return finish();
}
