// SPDX-License-Identifier: MIT
/*
 * LoongArch64 exceptions of the program into what Linux delivers for them
 * (arch/loongarch/kernel/traps.c, mm/fault.c).  Pure: the unit tests feed it
 * fabricated frames.
 */
#include <signal.h>
#include <string.h>

#include "dune-internal.h"
#include "la.h"

enum {
	ECODE_INT, ECODE_PIL, ECODE_PIS, ECODE_PIF, ECODE_PME, ECODE_PNR, ECODE_PNX, ECODE_PPI,
	ECODE_ADE, ECODE_ALE, ECODE_BCE, ECODE_SYS, ECODE_BRK, ECODE_INE, ECODE_IPE, ECODE_FPD,
	ECODE_SXD, ECODE_ASXD, ECODE_FPE, ECODE_WPE, ECODE_BTD, ECODE_BTE,
};

/* FCSR0's cause bits (24-28: inexact, underflow, overflow, divide by zero, invalid) */
#define FCSR_CAUSE_INE	(1U << 24)
#define FCSR_CAUSE_UDF	(1U << 25)
#define FCSR_CAUSE_OVF	(1U << 26)
#define FCSR_CAUSE_DIV	(1U << 27)
#define FCSR_CAUSE_INV	(1U << 28)

/* asm/break.h */
#define BRK_BUG		1
#define BRK_OVERFLOW	6
#define BRK_DIVZERO	7

/* force_fcsr_sig(): the first cause in Linux's order */
static int fpe_code(uint32_t fcsr)
{
	if (fcsr & FCSR_CAUSE_INV)
		return FPE_FLTINV;
	if (fcsr & FCSR_CAUSE_DIV)
		return FPE_FLTDIV;
	if (fcsr & FCSR_CAUSE_OVF)
		return FPE_FLTOVF;
	if (fcsr & FCSR_CAUSE_UDF)
		return FPE_FLTUND;
	if (fcsr & FCSR_CAUSE_INE)
		return FPE_FLTRES;
	return FPE_FLTUNK;
}

static void brk_signal(uint32_t insn, struct dune_fault *f)
{
	switch (LA_BREAK_CODE(insn)) {
	case BRK_DIVZERO:
		f->signo = SIGFPE, f->code = FPE_INTDIV;
		break;
	case BRK_OVERFLOW:
		f->signo = SIGFPE, f->code = FPE_INTOVF;
		break;
	case BRK_BUG:		/* force_sig(SIGTRAP) */
		f->signo = SIGTRAP, f->code = SI_KERNEL, f->addr = 0;
		return;
	default:
		f->signo = SIGTRAP, f->code = TRAP_BRKPT;
		break;
	}
	f->addr = f->pc;
}

/*
 * Fill fault for the exception in f (fcsr: FCSR0 for an FP exception).
 * Returns 0 for an interrupt (nothing to deliver), 1 otherwise; page faults
 * come back with is_page_fault set for lib/mem.c to resolve.
 */
int la_exception_signal(const struct la_frame *f, uint32_t fcsr, struct dune_fault *fault)
{
	unsigned int ecode = LA_ESTAT_ECODE(f->estat);

	memset(fault, 0, sizeof(*fault));
	fault->pc = f->era;
	fault->signo = SIGSEGV;
	fault->code = SI_KERNEL;
	switch (ecode) {
	case ECODE_INT:
		return 0;
	case ECODE_PIL: case ECODE_PIS: case ECODE_PIF:
	case ECODE_PME: case ECODE_PNR: case ECODE_PNX: case ECODE_PPI:
		fault->is_page_fault = 1;
		fault->code = SEGV_MAPERR;
		fault->addr = f->badv;
		fault->not_present = ecode <= ECODE_PIF;
		fault->write = ecode == ECODE_PIS || ecode == ECODE_PME;
		fault->exec = ecode == ECODE_PIF || ecode == ECODE_PNX;
		break;
	case ECODE_ADE:
		fault->signo = SIGBUS, fault->code = BUS_ADRERR, fault->addr = f->badv;
		break;
	case ECODE_ALE:
		fault->signo = SIGBUS, fault->code = BUS_ADRALN, fault->addr = f->badv;
		break;
	case ECODE_BCE:
		fault->signo = SIGSEGV, fault->code = SEGV_BNDERR, fault->addr = f->badv;
		break;
	case ECODE_BRK:
		brk_signal(f->badi, fault);
		break;
	case ECODE_FPE:
		fault->signo = SIGFPE, fault->code = fpe_code(fcsr), fault->addr = f->era;
		break;
	case ECODE_WPE:
		fault->signo = SIGTRAP, fault->code = TRAP_HWBKPT, fault->addr = f->badv;
		break;
	case ECODE_INE: case ECODE_IPE:
	case ECODE_FPD: case ECODE_SXD: case ECODE_ASXD:	/* units dune did not enable */
	case ECODE_BTD: case ECODE_BTE:
		fault->signo = SIGILL;		/* force_sig(SIGILL) */
		break;
	default:			/* do_reserved() */
		fault->signo = SIGSYS;
		break;
	}
	return 1;
}
