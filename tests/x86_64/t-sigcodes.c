// SPDX-License-Identifier: MIT
/*
 * The siginfo of x86 traps, natively and inside dune: SIGFPE for unmasked
 * SSE and x87 divide-by-zero says FPE_FLTDIV, single-step says TRAP_TRACE
 * and icebp TRAP_BRKPT, each with the address Linux reports; port I/O from
 * user code (dune's own ports included) is SIGSEGV at the instruction;
 * `int $3` and `int $4` in 2 bytes trap as Linux's gates let them (SIGTRAP,
 * SIGSEGV), after the instruction.
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
extern char int_0x81[], int_0x0d[], int_0xff[], int_3_next[], int_4_next[];

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

static void int_0x81_gate(void)
{
	asm volatile("int_0x81: int $0x81");
}

static void int_0x0d_gate(void)
{
	asm volatile("int_0x0d: int $0x0d");
}

static void int_0xff_gate(void)
{
	asm volatile("int_0xff: int $0xff");
}

/* The 2-byte forms of the gates user code may use: traps, after the instruction. */
static void int_3_gate(void)
{
	asm volatile(".byte 0xcd, 0x03\n" "int_3_next: nop");
}

static void int_4_gate(void)
{
	asm volatile("int $4\n" "int_4_next: nop");
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
	{ "int $0x81", int_0x81_gate, SIGSEGV, SI_KERNEL, NULL, int_0x81 },
	{ "int $0x0d", int_0x0d_gate, SIGSEGV, SI_KERNEL, NULL, int_0x0d },
	{ "int $0xff", int_0xff_gate, SIGSEGV, SI_KERNEL, NULL, int_0xff },
	{ "int $3 (cd 03)", int_3_gate, SIGTRAP, SI_KERNEL, NULL, int_3_next },
	{ "int $4", int_4_gate, SIGSEGV, SI_KERNEL, NULL, int_4_next },
};

struct run {
	long mode;
	const struct trap_case *c;
};

/* One case in a child: prints what the handler saw, relative to what Linux gives. */
static int run_case(void *arg)
{
	const struct run *run = arg;
	const struct trap_case *c = run->c;
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	if (run->mode)
		enter_dune();
	if (!sigsetjmp(back, 1))
		c->fn();
	printf("signal %d code %d addr %s ip %s\n", got_signo, got_code,
	       got_addr == (uintptr_t)c->addr ? "right" : "wrong",
	       !c->ip || got_ip == (uintptr_t)c->ip ? "right" : "wrong");
	return 0;
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct trap_case *c = &cases[i];
		struct run native_run = { 0, c }, inside_run = { 1, c };
		char native[256], inside[256], linux_gives[256];
		int native_status = run_child(run_case, &native_run, native, sizeof(native));
		int inside_status = run_child(run_case, &inside_run, inside, sizeof(inside));

		snprintf(linux_gives, sizeof(linux_gives), "signal %d code %d addr right ip right\n",
			 c->signo, c->code);
		/* an emulated CPU (QEMU's TCG) may lack a trap: then inside must do as natively */
		if (strcmp(native, linux_gives) || native_status != 0)
			printf("# %s natively here: %s %s", c->what, status_str(native_status), native);
		char native_how[96];

		snprintf(native_how, sizeof(native_how), "%s", status_str(native_status));
		CHECK(native_status == inside_status && !strcmp(native, inside),
		      "%s: natively %s %s, inside dune %s %s", c->what, native_how, native,
		      status_str(inside_status), inside);
	}
	return finish();
}
