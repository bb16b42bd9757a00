// SPDX-License-Identifier: MIT
/*
 * The LoongArch64 guest kernel (arch/loongarch64/guest.S) bare-metal under
 * qemu-system-loongarch64 TCG, at PLV0 as in a vCPU: page tables built with
 * the host's encoding (la-guest.h), the CSRs the host gives a vCPU
 * (la_guest_csrs(), but for SAVE2 and TLBRENTRY: the exit store goes to an
 * address that traps to the harness, which plays the host there), and a
 * program at PLV3 (start.S) whose syscalls and faults the harness checks in
 * the exit frame, decoding exceptions with the host's la_exception_signal().
 * TAP on the UART, a count line, then power-off.
 */
#include <signal.h>
#include <sys/mman.h>

#include "dune-internal.h"
#include "la.h"
#include "bare.h"

#define UART		0x800000001fe001e0UL	/* 16550, through DMW0 */
#define POWEROFF	0x80000000100e001cUL
#define PAGE		DUNE_PAGE_SIZE

#define ECODE_PIL	1
#define ECODE_PME	4
#define ECODE_PPI	7
#define ECODE_SYS	11

extern const char user_entry[], user_handler[], user_sigreturn[], bare_tlbr[];


static uint64_t pgd[LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static uint64_t pgdh[LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static uint64_t pmd[LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static uint64_t invalid_pmd[LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static uint64_t invalid_pte[LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static uint64_t pte[3][LA_PT_ENTRIES] __attribute__((aligned(PAGE)));
static unsigned int ptes_used;
static uint64_t data_page[PAGE / 8] __attribute__((aligned(PAGE)));
static uint64_t ro_page[PAGE / 8] __attribute__((aligned(PAGE)));
static struct la_frame frame __attribute__((aligned(64)));
static struct la_frame saved;
static uint64_t sigframe_sp;
static int step, passed, failed;

void *memset(void *d, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((volatile uint8_t *)d)[i] = c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((volatile uint8_t *)d)[i] = ((const uint8_t *)s)[i];
	return d;
}

static void puts_uart(const char *s)
{
	for (; *s; s++)
		*(volatile uint8_t *)UART = *s;
}

static void put_num(unsigned long n)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do
		buf[--i] = '0' + n % 10;
	while (n /= 10);
	puts_uart(buf + i);
}

static void tap(int ok, const char *what)
{
	ok ? passed++ : failed++;
	puts_uart(ok ? "ok " : "not ok ");
	put_num(passed + failed);
	puts_uart(" - ");
	puts_uart(what);
	puts_uart("\n");
}

static void __attribute__((noreturn)) finish(void)
{
	puts_uart("1..");
	put_num(passed + failed);
	puts_uart("\n");
	put_num(passed);
	puts_uart(" passed, ");
	put_num(failed);
	puts_uart(" failed, 0 skipped\n");
	*(volatile uint8_t *)POWEROFF = 0x34;
	for (;;)
		;
}

/* GVA -> PA with the host's PTE encoding; the image itself identity-mapped at PLV0. */
static void map(uint64_t va, uint64_t pa, int prot, int user)
{
	uint64_t *pmde = &pmd[la_pt_index(va, 1)];

	pgd[la_pt_index(va, 2)] = (uint64_t)pmd;
	if (*pmde == (uint64_t)invalid_pte) {
		if (ptes_used == sizeof(pte) / sizeof(pte[0])) {
			tap(0, "the harness has no PTE table left");
			finish();
		}
		*pmde = (uint64_t)pte[ptes_used++];
	}
	((uint64_t *)*pmde)[la_pt_index(va, 0)] = la_pte(pa, prot, user);
}

static void build_page_tables(void)
{
	extern char __image_end[];

	for (unsigned int i = 0; i < LA_PT_ENTRIES; i++) {
		invalid_pmd[i] = (uint64_t)invalid_pte;
		pgd[i] = pgdh[i] = (uint64_t)invalid_pmd;
		pmd[i] = (uint64_t)invalid_pte;
	}
	for (uint64_t a = 0x200000; a < (uint64_t)__image_end; a += PAGE)
		map(a, a, PROT_READ | PROT_WRITE | PROT_EXEC, 0);
	map((uint64_t)user_entry, (uint64_t)user_entry, PROT_READ | PROT_EXEC, 1);
	map(BARE_DATA_VA, (uint64_t)data_page, PROT_READ | PROT_WRITE, 1);
	map(BARE_RO_VA, (uint64_t)ro_page, PROT_READ, 1);
	map(BARE_KERNEL_VA, (uint64_t)data_page, PROT_READ | PROT_WRITE, 0);
	data_page[0] = 0x1122334455667788ULL;
}

#define CSRWR(n)	case n: asm volatile("csrwr %0, " #n : "+r"(v) : : "memory"); return 1;

static int csr_write(uint32_t csr, uint64_t v)
{
	switch (csr) {
	CSRWR(0x0) CSRWR(0x1) CSRWR(0x2) CSRWR(0x4) CSRWR(0xc) CSRWR(0x18) CSRWR(0x19)
	CSRWR(0x1a) CSRWR(0x1c) CSRWR(0x1d) CSRWR(0x1e) CSRWR(0x31) CSRWR(0x32) CSRWR(0x40)
	CSRWR(0x88) CSRWR(0x8e) CSRWR(0x180) CSRWR(0x181)
	}
	return 0;
}

static int is_syscall(uint64_t nr)
{
	return LA_ESTAT_ECODE(frame.estat) == ECODE_SYS && frame.regs[LA_A7] == nr &&
	       *(const uint32_t *)frame.era == LA_INSN_SYSCALL;
}

/* A page fault the host's decoder reports as a fault at addr. */
static int page_fault(unsigned int ecode, uint64_t addr, int write, int not_present)
{
	struct dune_fault f;

	return LA_ESTAT_ECODE(frame.estat) == ecode && la_exception_signal(&frame, 0, &f) == 1 &&
	       f.is_page_fault && f.addr == addr && f.write == write &&
	       f.not_present == not_present;
}

/* The stack is the data page's (identity-mapped image, so a pointer is its PA). */
static uint8_t *stack_pa(uint64_t va)
{
	return (uint8_t *)data_page + (va - BARE_DATA_VA);
}

/* As arch_signal_deliver(): the kernel's frame on the stack, the handler's arguments. */
static void deliver_signal(void)
{
	static const siginfo_t info = { .si_signo = SIGSEGV, .si_code = SEGV_ACCERR };
	static struct la_kvm_fpu fpu = { .fcsr = 0x1 };
	static uint8_t buf[LA_SIGFRAME_MAX];
	struct la_sigframe_in in = { .regs = frame.regs, .pc = frame.era, .fpu = &fpu,
				     .vec_bytes = 8, .info = &info, .mask = 0x5 };
	uint64_t top = frame.regs[LA_SP];

	saved = frame;
	fpu.fpr[3].val64[0] = 0x33;
	sigframe_sp = la_sigframe_build(buf, top, &in);
	memcpy(stack_pa(sigframe_sp), buf, la_sigframe_end(top) - sigframe_sp);
	frame.regs[LA_A0] = SIGSEGV;
	frame.regs[LA_A0 + 1] = sigframe_sp + LA_SIGFRAME_INFO;
	frame.regs[LA_A0 + 2] = sigframe_sp + LA_SIGFRAME_UC;
	frame.regs[LA_SP] = sigframe_sp;
	frame.regs[LA_RA] = (uint64_t)user_sigreturn;
	frame.era = (uint64_t)user_handler;
}

/* As arch_sigreturn(): the state the frame holds, with the handler's edit of sc_pc. */
static void return_from_signal(void)
{
	struct la_kvm_fpu fpu = { 0 };
	uint64_t regs[32], pc, mask, end = la_sigframe_end(saved.regs[LA_SP]);
	int fp;

	tap(is_syscall(BARE_NR_SIGRETURN) && frame.regs[LA_SP] == sigframe_sp &&
	    frame.regs[LA_A0 + 1] == 99, "the handler ran and returned through ra");
	fp = la_sigframe_parse(stack_pa(sigframe_sp), end - sigframe_sp, regs, &pc, &fpu, &mask);
	tap(fp == 1 && pc == saved.era + LA_INSN_SIZE && mask == 5 && fpu.fpr[3].val64[0] == 0x33 &&
	    regs[LA_A0 + 1] == saved.regs[LA_A0 + 1],
	    "the kernel's frame parsed back, with the handler's edit of sc_pc");
	for (int i = 1; i < 32; i++)
		frame.regs[i] = regs[i];
	frame.era = pc;
}

/* The guest kernel's exit: the frame holds the program's state at PLV3. */
void bare_host_exit(void)
{
	struct dune_fault f;

	if ((frame.prmd & 3) != 3)
		tap(0, "an exception from PLV3");
	switch (step++) {
	case 0:
		tap(is_syscall(BARE_NR_FIRST) && frame.regs[LA_A0] == 1 && frame.regs[LA_A0 + 5] == 6 &&
		    frame.regs[LA_S0] == 0x5a5a5a5a && frame.regs[LA_SP] == BARE_DATA_VA + PAGE,
		    "syscall: nr, arguments and callee-saved registers in the frame");
		frame.regs[LA_A0] += frame.regs[LA_A0 + 5];
		frame.era += LA_INSN_SIZE;
		return;
	case 1:
		tap(is_syscall(BARE_NR_REPORT) && frame.regs[LA_A0] == 7,
		    "the result the host wrote to the frame reached the program");
		tap(frame.regs[LA_A0 + 1] == data_page[0], "a load through the TLB refill");
		tap(frame.regs[LA_A0 + 2] == 0x5a5a5a5a, "registers restored across exits");
		frame.flush = 1;	/* invtlb on the way back */
		frame.era += LA_INSN_SIZE;
		return;
	case 2:
		tap(frame.flush == 0, "the guest kernel did the TLB flush the host asked for");
		tap(page_fault(ECODE_PME, BARE_RO_VA, 1, 0), "store to a read-only page: PME, write");
		deliver_signal();
		return;
	case 3:
		return_from_signal();
		return;
	case 4:
		tap(page_fault(ECODE_PIL, BARE_UNMAPPED_VA, 0, 1) && frame.regs[LA_A0 + 1] == 0,
		    "load from an unmapped page: PIL, not present; sigreturn restored a1");
		/* as the host fixing the fault: map it, and the load runs again */
		map(BARE_UNMAPPED_VA, (uint64_t)data_page, PROT_READ, 1);
		return;
	case 5:
		tap(page_fault(ECODE_PIL, BARE_UNMAPPED_VA + PAGE, 0, 1),
		    "the other page of the pair: PIL (the refill had cached both invalid)");
		tap(frame.regs[LA_A0 + 1] == data_page[0],
		    "the faulting load ran again after the host mapped its page");
		frame.era += LA_INSN_SIZE;
		return;
	case 6:
		tap(la_exception_signal(&frame, 0, &f) == 1 && f.signo == SIGFPE &&
		    f.code == FPE_INTDIV && f.addr == frame.era, "break 7: SIGFPE, FPE_INTDIV");
		frame.era += LA_INSN_SIZE;
		return;
	case 7:
		tap(page_fault(ECODE_PPI, BARE_KERNEL_VA, 0, 0), "a PLV0 page from PLV3: PPI");
		frame.era += LA_INSN_SIZE;
		return;
	case 8:
		tap(is_syscall(BARE_NR_EXIT), "the last syscall");
		finish();
	}
	tap(0, "an exit after the end");
	finish();
}

void bare_main(void)
{
	struct la_layout l = {
		.ka_gpa = (uint64_t)la_guest_code, .frame_gpa = (uint64_t)&frame,
		.pgd_gpa = (uint64_t)pgd, .pgdh_gpa = (uint64_t)pgdh, .euen = 0, .tid = 0,
	};
	struct la_csr_value csrs[LA_NR_GUEST_CSRS];
	int ok = 1;

	puts_uart("# LoongArch64 guest kernel, bare metal\n");
	build_page_tables();
	la_guest_csrs(&l, csrs);
	for (int i = 0; i < LA_NR_GUEST_CSRS; i++) {
		uint64_t v = csrs[i].value;

		if (csrs[i].csr == LA_CSR_SAVE2)
			v = BARE_EXIT_VA;		/* the exit traps to bare_tlbr */
		else if (csrs[i].csr == LA_CSR_TLBRENTRY)
			v = (uint64_t)bare_tlbr;	/* which goes on to guest.S's */
		else if (csrs[i].csr == LA_CSR_CRMD)
			v &= ~(uint64_t)(LA_CRMD_PLV3 | LA_CRMD_IE);	/* ertn goes to PLV3 */
		ok &= csr_write(csrs[i].csr, v);
	}
	tap(ok, "the vCPU's CSRs written, paging on");
	asm volatile("csrwr %0, %1\n\tmove $sp, %2\n\tertn"
		     : : "r"((uint64_t)user_entry), "i"(LA_CSR_ERA), "r"(BARE_DATA_VA + PAGE));
	__builtin_unreachable();
}
