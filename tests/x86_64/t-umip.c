// SPDX-License-Identifier: MIT
/*
 * sgdt, sidt, smsw, sldt and str from user code, natively and inside dune:
 * with UMIP, Linux emulates them with fixed values (arch/x86/kernel/umip.c);
 * inside dune they must give the same, never the guest kernel's addresses,
 * whatever the operand (register of each size, memory through a base,
 * index, displacement, RIP-relative, %gs), and fault on a bad operand as
 * natively.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "check.h"

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct desc_ptr rip_target;
static sigjmp_buf back;
static volatile int got_signo, got_code;
static volatile uintptr_t got_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_signo = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

static void print_dt(const char *what, const struct desc_ptr *d)
{
	printf("%s %#x %#lx\n", what, d->limit, (unsigned long)d->base);
}

/* A register operand over a pattern, then a 16-bit memory one: what they end as. */
#define REG_FORM(insn, what)						\
	do {								\
		uint64_t r64 = 0x1111111111111111;			\
									\
		asm volatile(insn : "+r"(r64) :: "r9");			\
		printf("%s %#lx\n", what, (unsigned long)r64);		\
	} while (0)
#define MEM_FORM(insn, what)						\
	do {								\
		uint16_t m16 = 0x5555;					\
									\
		asm volatile(insn : "=m"(m16));				\
		printf("%s %#x\n", what, m16);				\
	} while (0)

/* Every form, printed: the output is compared with the native one. */
static void run_forms(uint8_t *ro)
{
	struct desc_ptr d[2] = { 0 };
	uint64_t idx = 1;

	asm volatile("sgdt %0" : "=m"(d[0]));
	print_dt("sgdt (%rsp)", &d[0]);
	asm volatile("sidt (%0,%1,8)" :: "r"((uintptr_t)d - 8), "r"(idx) : "memory");
	print_dt("sidt (base,index,8)", &d[0]);
	asm volatile("sgdt %0" : "=m"(rip_target));	/* a static: RIP-relative */
	print_dt("sgdt rip-relative", &rip_target);
	asm volatile("sidt 10(%0)" :: "r"(d) : "memory");
	print_dt("sidt disp8(%r)", &d[1]);
	asm volatile("sgdt %%gs:(%0)" :: "r"(&d[1]) : "memory");	/* GS base is 0 */
	print_dt("sgdt %gs:(%r)", &d[1]);

	REG_FORM("smsw %0", "smsw r64");
	REG_FORM("smsw %k0", "smsw r32");
	REG_FORM("smsw %w0", "smsw r16");
	REG_FORM("mov %0, %%r9\n\tsmsw %%r9\n\tmov %%r9, %0", "smsw r9");
	REG_FORM("sldt %k0", "sldt r32");
	REG_FORM("str %0", "str r64");
	MEM_FORM("smsw %0", "smsw m16");
	MEM_FORM("sldt %0", "sldt m16");
	MEM_FORM("str %0", "str m16");

	/* a bad operand: the fault Linux's emulation raises */
	if (!sigsetjmp(back, 1))
		asm volatile("sgdt (%0)" :: "r"(ro) : "memory");
	printf("sgdt to a read-only page: signal %d code %d addr %s\n", got_signo, got_code,
	       got_addr == (uintptr_t)ro ? "right" : "wrong");
	got_signo = 0;
	if (!sigsetjmp(back, 1))
		asm volatile("sidt (%0)" :: "r"(8UL) : "memory");
	printf("sidt to address 8: signal %d code %d addr %#lx\n", got_signo, got_code,
	       (unsigned long)got_addr);
}

static int forms(void *mode)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	uint8_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ro == MAP_FAILED)
		return 2;
	sigaction(SIGSEGV, &sa, NULL);
	if (mode)
		enter_dune();
	run_forms(ro);
	return 0;
}

int main(void)
{
	char native[2048], inside[2048];
	int native_status = run_child(forms, (void *)0, native, sizeof(native));
	int inside_status = run_child(forms, (void *)1, inside, sizeof(inside));

	CHECK(WIFEXITED(native_status) && WEXITSTATUS(native_status) == 0, "natively: %s\n%s",
	      status_str(native_status), native);
	if (!strstr(native, "sgdt (%rsp) 0 0xfffffffffffe0000\n")) {
		printf("# no UMIP natively here: sgdt gives the host kernel's GDT\n%s", native);
		skip("no UMIP on this CPU: nothing to compare");
	}
	CHECK(inside_status == native_status && !strcmp(native, inside),
	      "natively:\n%sinside dune (%s):\n%s", native, status_str(inside_status), inside);
	return finish();
}
