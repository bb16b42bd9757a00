// SPDX-License-Identifier: MIT
/*
 * The LoongArch64 backend's host-side assembly under qemu-user: the raw and
 * forwarded syscalls, arch_call_on_stack(), and la_resume_native(), which
 * must load every GPR, the FPRs, FCSR and the condition flags from the
 * native frame and jump to its pc (a landing here that records them).
 */
#include <stdlib.h>
#include <sys/syscall.h>

#include "check.h"
#include "dune-internal.h"
#include "la.h"

uint64_t landed[36];
static uint8_t stack[3][16384] __attribute__((aligned(16)));
static struct la_native_frame frame;

void la_test_landing(void);
void landed_check(void) __attribute__((noreturn));

/* Records what it was resumed with: GPRs (but $r21, the jump's), f24, FCSR, fcc1. */
asm(".text\n"
    ".globl la_test_landing\n"
    "la_test_landing:\n"
    "	la.pcrel $r21, landed\n"
    "	.irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,22,23,24,25,26,27,28,29,30,31\n"
    "	st.d $r\\n, $r21, 8 * \\n\n"
    "	.endr\n"
    "	fst.d $f24, $r21, 8 * 32\n"
    "	movfcsr2gr $t0, $fcsr0\n"
    "	st.d $t0, $r21, 8 * 33\n"
    "	movcf2gr $t0, $fcc1\n"
    "	st.d $t0, $r21, 8 * 34\n"
    "	la.pcrel $sp, stack + 16384\n"
    "	bl landed_check\n");

void landed_check(void)
{
	for (int i = 1; i < 32; i++)
		if (i != 21)
			CHECK(landed[i] == frame.regs[i], "r%d: %#lx, want %#lx", i,
			      (unsigned long)landed[i], (unsigned long)frame.regs[i]);
	CHECK(landed[32] == frame.fpr[24], "f24 %#lx", (unsigned long)landed[32]);
	CHECK((landed[33] & 0x1f) == (frame.fcsr & 0x1f), "fcsr %#lx", (unsigned long)landed[33]);
	CHECK(landed[34] == 1, "fcc1 %lu", (unsigned long)landed[34]);
	exit(finish());
}

static void on_stack(struct dune_vcpu *vcpu)
{
	uint8_t here;

	CHECK(&here > stack[1] && &here < stack[1] + sizeof(stack[1]) && vcpu == (void *)stack,
	      "arch_call_on_stack: on its stack with its argument");
	for (int i = 1; i < 32; i++)
		frame.regs[i] = 0x1000 * i + 7;
	frame.regs[0] = (uint64_t)la_test_landing;
	frame.regs[LA_SP] = (uint64_t)(stack[2] + sizeof(stack[2]));
	asm("move %0, $tp" : "=r"(frame.regs[LA_TP]));	/* libc's TLS, for landed_check */
	for (int i = 0; i < 32; i++)
		frame.fpr[i] = 0x4000000000000000ULL + i;
	frame.fcsr = 0x3;		/* rounding toward +inf, and an enable bit */
	frame.fcc = 1ULL << 8;		/* fcc1 */
	la_resume_native(&frame);
}

int main(void)
{
	uint32_t insn = LA_INSN_SYSCALL;
	int call = DUNE_CALL_IDLE;

	CHECK(arch_raw_syscall(SYS_getppid, 0, 0, 0, 0, 0, 0) == getppid(), "raw getppid");
	CHECK(arch_raw_syscall(SYS_openat, -100, (long)"/nonexistent", 0, 0, 0, 0) == -ENOENT,
	      "raw -errno");
	CHECK(arch_forward_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0, arch_forward_template, &call) ==
	      getpid() && call == DUNE_CALL_IDLE, "forwarded from the template");
	call = DUNE_CALL_SIGNALLED;
	CHECK(arch_forward_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0, arch_forward_template, &call) ==
	      -DUNE_ERESTARTNOINTR && call == DUNE_CALL_SIGNALLED, "not made after a signal");
	CHECK(!memcmp(arch_forward_template, &insn, sizeof(insn)), "template starts with syscall 0");
	fflush(stdout);
	arch_call_on_stack(stack[1] + sizeof(stack[1]), on_stack, (struct dune_vcpu *)stack);
}
