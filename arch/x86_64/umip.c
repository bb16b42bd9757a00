// SPDX-License-Identifier: MIT
/*
 * User-Mode Instruction Prevention, as Linux presents it to user code: with
 * CR4.UMIP, sgdt, sidt, smsw, sldt and str at CPL3 raise #GP, and the kernel
 * emulates them with fixed values (arch/x86/kernel/umip.c), so they reveal
 * nothing about it.  Inside dune they would reveal the guest kernel's
 * addresses in the dune area: the guest gets CR4.UMIP where the host has it,
 * and the #GP is emulated here with the same values, for 64-bit code.
 * (Linux also emulates them for 32-bit code; dune does not: SIGSEGV there.)
 * Host loop: raw syscalls only.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define UMIP_DUMMY_GDT_BASE	0xfffffffffffe0000ULL
#define UMIP_DUMMY_IDT_BASE	0xffffffffffff0000ULL
#define UMIP_DUMMY_CR0		0x80050033ULL	/* PG AM WP NE ET MP PE */
#define UMIP_DUMMY_TR		0x40ULL		/* GDT_ENTRY_TSS << 3 */

enum umip_insn { UMIP_SGDT, UMIP_SIDT, UMIP_SMSW, UMIP_SLDT, UMIP_STR };

/* The decoded instruction: what it is, its length, where its operand goes. */
struct umip_op {
	enum umip_insn insn;
	unsigned int len;
	int is_reg;		/* operand is register reg (else memory at addr) */
	unsigned int reg;
	unsigned int opnd_bytes;
	uint64_t addr;
};

/* ModRM/SIB register numbers to struct kvm_regs fields. */
static __u64 *gpr(struct kvm_regs *r, unsigned int n)
{
	__u64 *const regs[16] = {
		&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
		&r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
	};

	return regs[n & 15];
}

/* A ModRM memory operand's address (RIP-relative: its displacement); p walks the bytes. */
static uint64_t modrm_address(const uint8_t **p, uint8_t modrm, unsigned int rex,
			      struct kvm_regs *r, int *rip_rel)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	uint64_t addr = 0;
	int32_t disp = 0;

	*rip_rel = 0;
	if (rm == 4) {
		uint8_t sib = *(*p)++;
		unsigned int base = sib & 7, index = ((sib >> 3) & 7) | ((rex & 2) << 2);

		if (index != 4)
			addr = *gpr(r, index) << (sib >> 6);
		if (base == 5 && mod == 0) {
			memcpy(&disp, *p, 4);
			*p += 4;
		} else {
			addr += *gpr(r, base | ((rex & 1) << 3));
		}
	} else if (rm == 5 && mod == 0) {
		*rip_rel = 1;
		memcpy(&disp, *p, 4);
		*p += 4;
		return (uint64_t)(int64_t)disp;
	} else {
		addr = *gpr(r, rm | ((rex & 1) << 3));
	}
	if (mod == 1)
		disp = (int8_t)*(*p)++;
	else if (mod == 2) {
		memcpy(&disp, *p, 4);
		*p += 4;
	}
	return addr + (int64_t)disp;
}

/*
 * Decode the instruction at rip (64-bit code): prefixes, REX, 0f 01 /0 /1 /4
 * or 0f 00 /0 /1 with its operand.  0 if it is not one of them.
 */
static int decode(struct dune_vcpu *vcpu, uint64_t rip, struct kvm_regs *r, struct umip_op *op)
{
	static const int8_t insn01[8] = { UMIP_SGDT, UMIP_SIDT, -1, -1, UMIP_SMSW, -1, -1, -1 };
	static const int8_t insn00[8] = { UMIP_SLDT, UMIP_STR, -1, -1, -1, -1, -1, -1 };
	uint8_t code[15] = { 0 };
	const uint8_t *p = code;
	unsigned int rex = 0, opsize16 = 0, addr32 = 0, seg = 0;
	uint8_t modrm;
	int kind, rip_rel;
	struct kvm_sregs s;

	/* the page may end early: read what can be read */
	for (size_t n = sizeof(code); n && dune_read_guest(code, rip, n); n--)
		;
	for (;; p++) {
		if (*p == 0x66)
			opsize16 = 1;
		else if (*p == 0x67)
			addr32 = 1;
		else if (*p == 0x64 || *p == 0x65)
			seg = *p;
		else if (*p != 0x26 && *p != 0x2e && *p != 0x36 && *p != 0x3e &&
			 *p != 0xf0 && *p != 0xf2 && *p != 0xf3)
			break;
		if (p - code >= 10)
			return 0;
	}
	if ((*p & 0xf0) == 0x40)
		rex = *p++;
	if (p[0] != 0x0f || (p[1] != 0x00 && p[1] != 0x01))
		return 0;
	modrm = p[2];
	kind = (p[1] == 0x01 ? insn01 : insn00)[(modrm >> 3) & 7];
	p += 3;
	if (kind < 0 || ((kind == UMIP_SGDT || kind == UMIP_SIDT) && modrm >> 6 == 3))
		return 0;
	op->insn = kind;
	op->opnd_bytes = rex & 8 ? 8 : opsize16 ? 2 : 4;
	op->is_reg = modrm >> 6 == 3;
	op->reg = (modrm & 7) | ((rex & 1) << 3);
	if (!op->is_reg) {
		op->addr = modrm_address(&p, modrm, rex, r, &rip_rel);
		if (seg) {
			if (sys3(SYS_ioctl, vcpu->fd, KVM_GET_SREGS, &s))
				return 0;
			op->addr += seg == 0x64 ? s.fs.base : s.gs.base;
		}
	}
	op->len = p - code;
	if (!op->is_reg && rip_rel)
		op->addr += rip + op->len;
	if (addr32)
		op->addr = (uint32_t)op->addr;
	return op->len <= sizeof(code);
}

/*
 * A #GP(0) at CPL3 in 64-bit code: if it is a UMIP instruction, store what
 * Linux stores and step over it (1), or fault on the operand as Linux does.
 * 0: not one of them, the #GP stands.
 */
int x86_emulate_umip(struct dune_vcpu *vcpu, uint64_t *frame, struct dune_exit *e)
{
	struct kvm_regs *r = &vcpu->run->s.regs.regs, user = *r;
	uint8_t data[10];
	uint64_t value;
	unsigned int size;
	struct umip_op op = { 0 };

	user.rsp = frame[3];	/* the vCPU stands in the #GP stub, on its stack */
	if (frame[1] != GDT_USER_CS || !decode(vcpu, frame[0], &user, &op))
		return 0;
	if (op.insn == UMIP_SGDT || op.insn == UMIP_SIDT) {
		value = op.insn == UMIP_SGDT ? UMIP_DUMMY_GDT_BASE : UMIP_DUMMY_IDT_BASE;
		memset(data, 0, 2);	/* limit */
		memcpy(data + 2, &value, 8);
		size = 10;
	} else {
		value = op.insn == UMIP_SMSW ? UMIP_DUMMY_CR0 : op.insn == UMIP_STR ? UMIP_DUMMY_TR : 0;
		memcpy(data, &value, 8);
		size = op.is_reg ? op.opnd_bytes : 2;	/* memory: the low 2 bytes */
	}
	if (op.is_reg && op.reg == 4) {
		memcpy(&frame[3], data, size);
	} else if (op.is_reg) {
		memcpy(gpr(r, op.reg), data, size);	/* (the bytes above stay, as Linux leaves them) */
		vcpu->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	} else if (dune_write_guest(op.addr, data, size)) {
		e->fault = (struct dune_fault){ .signo = SIGSEGV, .code = SEGV_MAPERR,
						.addr = op.addr, .pc = frame[0] };
		return 1;
	}
	frame[0] += op.len;
	x86_vcpu(vcpu)->exc_taken = 0;
	e->event = DUNE_EV_INTR;	/* done: nothing left for the host loop */
	return 1;
}
