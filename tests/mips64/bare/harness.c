// SPDX-License-Identifier: MIT
/*
 * The host's side of the MIPS64 guest half, bare-metal under qemu-system:
 * the guest half (arch/mips64/guest.S) is copied to a vCPU block as the
 * backend copies it, with one difference: its exit store becomes `jalr k1`
 * into bare_exit() (there is no KVM to take the MMIO exit).  Page tables
 * come from arch/mips64/paging.c, exits are decoded by decode.c, signal
 * frames are built and parsed by decode.c, as in the backend.  TAP goes to
 * the UART; the last line is "N passed, N failed"; then the board resets
 * (QEMU's -no-reboot ends).
 */
#include <asm/unistd.h>
#include <sys/mman.h>

#include "bare.h"
#include "mips.h"
#include "sigframe.h"

#define UART		((volatile uint8_t *)0xffffffffb80003f8UL)	/* malta 16550 */
#define MALTA_RESET	((volatile uint32_t *)0xffffffffbf000500UL)
#define KSEG0_OF(pa)	((void *)(MIPS_KSEG0 | (pa)))
#define PA_OF(p)	((uint64_t)(uintptr_t)(p) - MIPS_KSEG0)
#define USER_VA(sym)	PA_OF(sym)	/* user code runs at its physical address */
#define POOL_PAGES	32

extern const char user_start[], user_sys1[], user_load[], user_store[], user_break[];
extern const char user_handler[], user_sigreturn[];
extern const char bare_exit_hook[];
void bare_resume(uint64_t pc, uint64_t status) __attribute__((noreturn));

static uint8_t block[MIPS_BLOCK_SIZE] __attribute__((aligned(MIPS_BLOCK_SIZE)));
static uint8_t pool[POOL_PAGES][DUNE_PAGE_SIZE] __attribute__((aligned(DUNE_PAGE_SIZE)));
static unsigned int pool_next;
static struct dune_vm vm;
static struct mips_vm mv;
static struct mips_frame *frame;
static uint8_t *stack_page, *fault_page, *ro_page;
static int passed, failed, skipped, tests, step;

void *memset(void *d, int c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)d)[i] = c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)d)[i] = ((const uint8_t *)s)[i];
	return d;
}

static void put(const char *s)
{
	while (*s)
		*UART = *s++;
}

static void put_num(unsigned long v)
{
	char buf[24], *p = buf + sizeof(buf) - 1;

	*p = 0;
	do
		*--p = '0' + v % 10;
	while (v /= 10);
	put(p);
}

static void put_hex(unsigned long v)
{
	char buf[20], *p = buf + sizeof(buf) - 1;

	*p = 0;
	do
		*--p = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	put("0x");
	put(p);
}

static void ok(int cond, const char *what, unsigned long value)
{
	tests++;
	if (cond) {
		passed++;
		put("ok ");
	} else {
		failed++;
		put("not ok ");
	}
	put_num(tests);
	put(" - ");
	put(what);
	if (!cond) {
		put(" (got ");
		put_hex(value);
		put(")");
	}
	put("\n");
}

static void skip(const char *what, const char *why)
{
	tests++;
	skipped++;
	put("ok ");
	put_num(tests);
	put(" - ");
	put(what);
	put(" # SKIP ");
	put(why);
	put("\n");
}

static void __attribute__((noreturn)) finish(void)
{
	put_num(passed);
	put(" passed, ");
	put_num(failed);
	put(" failed, ");
	put_num(skipped);
	put(" skipped\n");
	*MALTA_RESET = 0x42;
	for (;;)
		;
}

/* The page-table pool paging.c takes tables from (lib/mem.c's role). */
void *dune_pt_alloc(struct dune_vm *v, uint64_t *gpa)
{
	(void)v;
	if (pool_next == POOL_PAGES)
		return NULL;
	memset(pool[pool_next], 0, DUNE_PAGE_SIZE);
	*gpa = PA_OF(pool[pool_next]);
	return pool[pool_next++];
}

void *dune_pt_hva(struct dune_vm *v, uint64_t gpa)
{
	(void)v;
	return KSEG0_OF(gpa);
}

void dune_pt_free(struct dune_vm *v, uint64_t gpa)
{
	(void)v, (void)gpa;
}

static void *page(void)
{
	uint64_t gpa;

	return dune_pt_alloc(&vm, &gpa);
}

static void map(uint64_t va, void *p, int prot)
{
	if (arch_map(&vm, va, PA_OF(p), DUNE_PAGE_SIZE, prot) < 0)
		ok(0, "arch_map", va);
}

static void do_syscall(struct dune_exit *e)
{
	const struct dune_syscall *sys = &e->sys;
	long ret = 0;

	switch (sys->nr) {
	case BARE_NR_SYS1:
		ok(sys->args[0] == 0x100 && sys->args[1] == 0x101 && sys->args[2] == 0x102 &&
		   sys->args[3] == 0x103 && sys->args[4] == 0x104 && sys->args[5] == 0x105,
		   "syscall: the six arguments in the frame", sys->args[3]);
		ok(sys->ip == USER_VA(user_sys1) + 4 && frame->pc == USER_VA(user_sys1),
		   "syscall: EPC at the syscall instruction", frame->pc);
		ok(frame->regs[R_SP] == BARE_STACK_VA + DUNE_PAGE_SIZE - 64 &&
		   frame->regs[16] == 0x5a50 && frame->regs[23] == 0x5a57,
		   "syscall: sp and s0..s7 saved", frame->regs[R_SP]);
		ok((frame->status & (ST_EXL | ST_KSU_USER | ST_UX)) == (ST_EXL | ST_KSU_USER | ST_UX),
		   "syscall: taken from user mode (Status)", frame->status);
		ret = BARE_RET1;
		break;
	case BARE_NR_SYS2:
		ret = -BARE_ERRNO2;
		break;
	case BARE_NR_REPORT:
		step++;
		if (sys->args[1] == 2) {
			skip("user: rdhwr $29 reads the frame's TLS", "this CPU has no UserLocal "
			     "(dune_enter refuses it)");
			break;
		}
		ok(sys->args[1] == 1 && sys->args[0] != 0,
		   sys->args[0] == 1 ? "user: syscall result and a3 = 0" :
		   sys->args[0] == 2 ? "user: error convention, v0 = errno and a3 = 1" :
		   sys->args[0] == 3 ? "user: load through the refill after the fault was fixed" :
		   sys->args[0] == 4 ? "user: store after the page became writable" :
		   sys->args[0] == 5 ? "user: callee-saved registers intact after every exit" :
		   sys->args[0] == 7 ? "user: rdhwr $29 reads the frame's TLS (UserLocal)" :
		   "user: the signal handler ran and sigreturn resumed past the break",
		   sys->args[0]);
		break;
	case __NR_rt_sigreturn: {
		struct mips_rt_sigframe *sf = KSEG0_OF(frame->regs[R_SP] - BARE_STACK_VA +
						      PA_OF(stack_page));
		struct mips_fpu fpu;

		mips_sigcontext_to_frame(&sf->rs_uc.uc_mcontext, frame, &fpu);
		ok(frame->pc == USER_VA(user_break) + 4 && frame->regs[16] == 0x5a50,
		   "rt_sigreturn: the frame's registers, the handler's pc edit", frame->pc);
		return;		/* v0, a3 and pc are the frame's */
	}
	case __NR_exit_group:
		ok(step == 7, "the user program reported every step", step);
		finish();
	default:
		ok(0, "unknown syscall", sys->nr);
		finish();
	}
	mips_syscall_set_return(frame, ret);
}

/* A SIGFPE handler entered as the backend enters one (signal.c's frame layout). */
static void deliver(struct dune_exit *e)
{
	struct dune_sigaction act = { .flags = SA_SIGINFO, .handler = (void *)USER_VA(user_handler) };
	siginfo_t info = { .si_signo = e->fault.signo, .si_code = e->fault.code };
	struct mips_fpu fpu = { .fcsr = 0 };
	uint64_t sp = (frame->regs[R_SP] - MIPS_SIGFRAME_GAP - mips_sigframe_size(&fpu)) & ~15UL;
	struct mips_rt_sigframe *sf = KSEG0_OF(sp - BARE_STACK_VA + PA_OF(stack_page));

	memset(sf, 0, mips_sigframe_size(&fpu));
	mips_sigframe_setup(frame, &fpu, &info, &act, 0, sp, USER_VA(user_sigreturn), sf);
}

static void do_fault(struct dune_exit *e)
{
	const struct dune_fault *f = &e->fault;

	frame->flush = MIPS_FLUSH_ONE;		/* as arch_decode_exit(): the refill's entry goes */
	if (f->pc == USER_VA(user_load)) {
		ok(f->signo == SIGSEGV && f->code == SEGV_MAPERR && f->is_page_fault &&
		   f->not_present && !f->write && f->addr == BARE_FAULT_VA,
		   "TLBL from an unmapped page: SIGSEGV SEGV_MAPERR read at BadVAddr", f->addr);
		map(BARE_FAULT_VA, fault_page, PROT_READ | PROT_WRITE);
	} else if (f->pc == USER_VA(user_store)) {
		ok(f->signo == SIGSEGV && f->code == SEGV_ACCERR && f->is_page_fault && f->write &&
		   !f->not_present && f->addr == BARE_RO_VA,
		   "TLB Mod on a read-only page: SIGSEGV SEGV_ACCERR write", f->addr);
		map(BARE_RO_VA, ro_page, PROT_READ | PROT_WRITE);
	} else if (f->pc == USER_VA(user_break)) {
		ok(f->signo == SIGFPE && f->code == FPE_INTDIV, "break 7: SIGFPE FPE_INTDIV",
		   f->signo);
		deliver(e);
	} else {
		ok(0, "unexpected fault at pc", f->pc);
		finish();
	}
}

/* Every exit of the guest half (start.S's bare_exit_hook). */
void bare_exit(void)
{
	struct dune_exit e = { 0 };
	uint32_t insn = 0;

	if (CAUSE_EXCCODE(frame->cause) == EXC_BP)
		insn = *(uint32_t *)KSEG0_OF(mips_fault_pc(frame));
	mips_decode_frame(frame, insn, 0, &e);
	if (e.event == DUNE_EV_SYSCALL)
		do_syscall(&e);
	else if (e.event == DUNE_EV_FAULT)
		do_fault(&e);
	else if (e.event != DUNE_EV_INTR) {
		ok(0, "fatal exit, cause", frame->cause);
		finish();
	}
}

static int has_ulri;

static void set_cp0(void)
{
	uint64_t ebase = (uintptr_t)block;
	uint32_t config3;

	asm volatile("mfc0 %0, $16, 3" : "=r"(config3));
	has_ulri = !!(config3 & CONFIG3_ULRI);
	asm volatile("dmtc0 %0, $15, 1" :: "r"(ebase));
	asm volatile("mtc0 %0, $5, 0" :: "r"(PAGEMASK_16K));
	asm volatile("mtc0 %0, $5, 1" :: "r"(config3 & CONFIG3_RXI ?
					     PAGEGRAIN_RIE | PAGEGRAIN_XIE | PAGEGRAIN_IEC : 0));
	asm volatile("mtc0 $0, $6, 0; dmtc0 $0, $10, 0");
	asm volatile("mtc0 %0, $7, 0" :: "r"(HWRENA_USER));
	asm volatile("ehb");
}

void bare_main(void)
{
	uint32_t *exit_insn = (uint32_t *)(block + mips_block_offset(mips_guest_exit));
	put("1..17\n");
	vm.arch = &mv;
	if (!mips_pgd(&vm))
		finish();	/* the pool is too small: the count says so */
	mips_block_init(block, mips_table_entry(mv.pgd_gpa), (uintptr_t)bare_exit_hook);
	frame = mips_block_frame(block);
	ok(*exit_insn == MIPS_INSN_EXIT_SD, "the exit is one store (sd k0, 0(k1))", *exit_insn);
	*exit_insn = MIPS_INSN_JALR_K1;

	stack_page = page();
	fault_page = page();
	ro_page = page();
	*(uint32_t *)fault_page = BARE_FAULT_WORD;
	map(BARE_STACK_VA, stack_page, PROT_READ | PROT_WRITE);
	map(BARE_RO_VA, ro_page, PROT_READ);
	for (uint64_t off = 0; off < 2 * DUNE_PAGE_SIZE; off += DUNE_PAGE_SIZE)
		map(DUNE_ALIGN_DOWN(USER_VA(user_start), DUNE_PAGE_SIZE) + off,
		    KSEG0_OF(DUNE_ALIGN_DOWN(USER_VA(user_start), DUNE_PAGE_SIZE) + off),
		    PROT_READ | PROT_EXEC);
	set_cp0();
	frame->pc = USER_VA(user_start);
	frame->tls = BARE_TLS;
	frame->regs[30] = has_ulri;	/* the user program skips its TLS step without it */
	frame->regs[R_SP] = BARE_STACK_VA + DUNE_PAGE_SIZE - 64;
	bare_resume((uintptr_t)block + mips_block_offset(mips_guest_resume),
		    MIPS_USER_STATUS | ST_EXL);
}
