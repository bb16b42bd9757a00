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

/* Every form, printed: the output is compared with the native one. */
static void run_forms(uint8_t *ro)
{
	struct desc_ptr d[2] = { 0 };
	uint64_t r64 = 0x1111111111111111;
	uint64_t idx = 1;
	uint16_t m16 = 0x5555;

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

	asm volatile("smsw %0" : "+r"(r64));
	printf("smsw r64 %#lx\n", (unsigned long)r64);
	r64 = 0x1111111111111111;
	asm volatile("smsw %k0" : "+r"(r64));
	printf("smsw r32 %#lx\n", (unsigned long)r64);
	r64 = 0x1111111111111111;
	asm volatile("smsw %w0" : "+r"(r64));
	printf("smsw r16 %#lx\n", (unsigned long)r64);
	asm volatile("smsw %0" : "=m"(m16));
	printf("smsw m16 %#x\n", m16);
	r64 = 0x1111111111111111;
	asm volatile("mov %0, %%r9\n\tsmsw %%r9\n\tmov %%r9, %0" : "+r"(r64) :: "r9");
	printf("smsw r9 %#lx\n", (unsigned long)r64);

	r64 = 0x1111111111111111;
	asm volatile("sldt %k0" : "+r"(r64));
	printf("sldt r32 %#lx\n", (unsigned long)r64);
	m16 = 0x5555;
	asm volatile("sldt %0" : "=m"(m16));
	printf("sldt m16 %#x\n", m16);
	r64 = 0x1111111111111111;
	asm volatile("str %0" : "+r"(r64));
	printf("str r64 %#lx\n", (unsigned long)r64);
	m16 = 0x5555;
	asm volatile("str %0" : "=m"(m16));
	printf("str m16 %#x\n", m16);

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
