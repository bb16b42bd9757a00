// SPDX-License-Identifier: MIT
/*
 * The LoongArch64 backend's host-side logic without /dev/kvm (run under
 * qemu-user by `make ARCH=loongarch64 check-cross`): page-table and PTE
 * encoding as the guest's lddir/ldpte walk reads it, the CSRs a vCPU gets,
 * exception decoding into Linux's signal and si_code, exit decoding from
 * kvm_run images and exit frames made up here (syscall registers, the a0
 * error convention, clone's argument order), and the signal frame against
 * the kernel's UAPI layout, built and parsed back.
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>

#include "check.h"
#include "dune-internal.h"
#include "la.h"

static struct dune_vm *vm;
static struct dune_vcpu *vcpu;

static void setup(void)
{
	struct la_vcpu *lc;

	vm = calloc(1, sizeof(*vm));
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vm || !vcpu)
		exit(2);
	vm->area = mmap(NULL, DUNE_AREA_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->area == MAP_FAILED)
		exit(2);
	vm->area_usable = DUNE_AREA_SIZE;
	vm->pt_next = DUNE_AREA_GUEST + arch_area_pages() * DUNE_PAGE_SIZE;
	vm->area_gpa = 1ULL << 32;
	vm->arch = calloc(1, arch_vm_size());
	la_vm(vm)->ka = vm->area + DUNE_AREA_GUEST;
	la_vm(vm)->ka_gpa = vm->area_gpa + DUNE_AREA_GUEST;
	vcpu->vm = vm;
	vcpu->fd = -1;			/* every ioctl fails */
	vcpu->arch = calloc(1, arch_vcpu_size());
	vcpu->run = calloc(1, sizeof(struct kvm_run));
	if (!vm->arch || !vcpu->arch || !vcpu->run)
		exit(2);
	lc = la_vcpu(vcpu);
	lc->frame = dune_area_alloc(vm, 1);
	lc->frame_gpa = vm->area_gpa + ((uint8_t *)lc->frame - vm->area);
}

/* What the TLB refill loads for va: lddir level 3, lddir level 1, ldpte. */
static uint64_t walk(uint64_t va)
{
	struct la_vm *lv = la_vm(vm);
	uint64_t root = va >> 63 ? lv->pgdh_gpa : lv->pgd_gpa;
	const uint64_t *pgd = dune_pt_hva(vm, root);
	const uint64_t *pmd = dune_pt_hva(vm, pgd[la_pt_index(va, 2)]);
	const uint64_t *pt = dune_pt_hva(vm, pmd[la_pt_index(va, 1)]);

	return pt[la_pt_index(va, 0)];
}

static void check_pte_encoding(void)
{
	uint64_t gpa = 0x123450000ULL;

	CHECK(la_pte(gpa, PROT_READ, 1) == (gpa | LA_PTE_V | LA_PTE_PLV3 | LA_PTE_MAT_CC | LA_PTE_NX),
	      "r--: %#llx", (unsigned long long)la_pte(gpa, PROT_READ, 1));
	CHECK(la_pte(gpa, PROT_READ | PROT_WRITE, 1) & LA_PTE_D, "rw- is dirty (writable)");
	CHECK(!(la_pte(gpa, PROT_READ | PROT_EXEC, 1) & (LA_PTE_NX | LA_PTE_D)), "r-x");
	CHECK(la_pte(gpa, PROT_EXEC, 1) & LA_PTE_NR, "--x is not readable");
	CHECK(la_pte(gpa, PROT_NONE, 1) == 0, "--- is invalid");
	CHECK(!(la_pte(gpa, PROT_READ, 0) & LA_PTE_PLV3), "a PLV0 page");
	CHECK(la_pt_index(0x7fffffffc000ULL, 0) == 2047 && la_pt_index(0x7fffffffc000ULL, 2) == 2047,
	      "indexes of the last page");
	CHECK(la_pt_index(1ULL << 36, 2) == 1 && la_pt_index(1ULL << 25, 1) == 1 &&
	      la_pt_index(1ULL << 14, 0) == 1, "level shifts 14/25/36");
	/* PWCL: PTbase 14 PTwidth 11 Dir1base 25 Dir1width 11; PWCH: Dir3base 36 width 11 */
	CHECK(LA_PWCL == (14 | 11 << 5 | 25 << 10 | 11 << 15), "PWCL %#x", LA_PWCL);
	CHECK(LA_PWCH == (36 | 11 << 6), "PWCH %#x", LA_PWCH);
}

static void check_page_tables(void)
{
	struct la_vm *lv = la_vm(vm);
	uint64_t va = 0x7f0000000000ULL, gpa = 0x200004000ULL;
	int r;

	r = arch_map(vm, va, gpa, 3 * DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE);
	CHECK(r == 0, "a first map changes nothing valid: %d", r);
	CHECK(walk(va) == la_pte(gpa, PROT_READ | PROT_WRITE, 1), "walk %#llx",
	      (unsigned long long)walk(va));
	CHECK(walk(va + 2 * DUNE_PAGE_SIZE) == la_pte(gpa + 2 * DUNE_PAGE_SIZE, 3, 1), "third page");
	CHECK(walk(va + 3 * DUNE_PAGE_SIZE) == 0, "past the mapping: invalid");
	/* an address nothing maps walks through the invalid tables to a zero PTE */
	CHECK(walk(0x100000000000ULL) == 0 && walk(0x9000000000001000ULL) == 0,
	      "unmapped addresses walk to invalid entries");
	CHECK(((uint64_t *)dune_pt_hva(vm, lv->pgd_gpa))[5] == lv->invalid_pmd, "empty PGD entry");
	CHECK(arch_is_mapped(vm, va + DUNE_PAGE_SIZE, 1), "is mapped");
	CHECK(!arch_is_mapped(vm, va + 3 * DUNE_PAGE_SIZE, 1 << 30), "nothing after it");
	CHECK(arch_map(vm, va, gpa, DUNE_PAGE_SIZE, PROT_READ) == 1, "a protection change");
	CHECK(arch_map(vm, va, gpa, DUNE_PAGE_SIZE, PROT_READ) == 0, "the same again");
	CHECK(arch_unmap(vm, va, 2 * DUNE_PAGE_SIZE) == 1, "unmap");
	CHECK(walk(va) == 0 && walk(va + 2 * DUNE_PAGE_SIZE) != 0, "partial unmap");
	CHECK(arch_map(vm, 1ULL << 47, gpa, DUNE_PAGE_SIZE, PROT_READ) == -EINVAL,
	      "beyond 47 bits: EINVAL");
	arch_pt_prune(vm);
	CHECK(walk(va + 2 * DUNE_PAGE_SIZE) != 0, "prune keeps a table in use");
	CHECK(arch_unmap(vm, va, 1ULL << 40) == 1, "unmap a large range");
	arch_pt_prune(vm);
	CHECK(((uint64_t *)dune_pt_hva(vm, lv->pgd_gpa))[la_pt_index(va, 2)] == lv->invalid_pmd,
	      "pruned back to the invalid PMD table");
	CHECK(arch_map(vm, va, gpa, DUNE_PAGE_SIZE, PROT_EXEC | PROT_READ) == 0 &&
	      arch_pt_reset(vm) == 0 && walk(va) == 0, "reset clears the leaves");
}

static void check_csrs(void)
{
	struct la_layout l = { .ka_gpa = 0x100200000ULL, .frame_gpa = 0x100300000ULL,
			       .pgd_gpa = 0x100400000ULL, .pgdh_gpa = 0x100404000ULL,
			       .euen = LA_EUEN_FPE | LA_EUEN_SXE, .tid = 3 };
	struct la_csr_value v[LA_NR_GUEST_CSRS];
	int found = 0;

	la_guest_csrs(&l, v);
	CHECK(v[LA_NR_GUEST_CSRS - 1].csr == LA_CSR_CRMD, "CRMD last: it switches to PLV3");
	for (int i = 0; i < LA_NR_GUEST_CSRS; i++) {
		if (v[i].csr == LA_CSR_EENTRY)
			found += v[i].value == (LA_DMW1_BASE | 0x100200000ULL);
		if (v[i].csr == LA_CSR_TLBRENTRY)
			found += v[i].value == 0x100201000ULL;
		if (v[i].csr == LA_CSR_SAVE1)
			found += v[i].value == (LA_DMW1_BASE | 0x100300000ULL);
		if (v[i].csr == LA_CSR_SAVE2)
			found += v[i].value == (LA_DMW0_BASE | LA_EXIT_GPA);
		if (v[i].csr == LA_CSR_CRMD)
			found += (v[i].value & 3) == 3 && (v[i].value & LA_CRMD_PG) &&
				 !(v[i].value & LA_CRMD_DA);
	}
	CHECK(found == 5, "EENTRY (DMW), TLBRENTRY (physical), SAVE1, SAVE2, CRMD: %d", found);
	CHECK(LA_KVM_CSR_ID(LA_CSR_CRMD) == 0x9030000000010000ULL, "ONE_REG id of CRMD");
}

static struct la_frame frame_with(unsigned int ecode, unsigned int sub)
{
	return (struct la_frame){ .era = 0x120001000, .estat = (uint64_t)ecode << 16 |
				  (uint64_t)sub << 22, .badv = 0x7ff0001234, .prmd = 7 };
}

static void check_exceptions(void)
{
	static const struct {
		unsigned int ecode;
		uint32_t badi, fcsr;
		int signo, code, at_pc;
	} cases[] = {
		{ 8, 0, 0, SIGBUS, BUS_ADRERR, 0 },		/* ADE */
		{ 9, 0, 0, SIGBUS, BUS_ADRALN, 0 },		/* ALE */
		{ 10, 0, 0, SIGSEGV, SEGV_BNDERR, 0 },		/* BCE */
		{ 12, LA_INSN_BREAK(0), 0, SIGTRAP, TRAP_BRKPT, 1 },
		{ 12, LA_INSN_BREAK(7), 0, SIGFPE, FPE_INTDIV, 1 },
		{ 12, LA_INSN_BREAK(6), 0, SIGFPE, FPE_INTOVF, 1 },
		{ 12, LA_INSN_BREAK(1), 0, SIGTRAP, SI_KERNEL, -1 },
		{ 13, 0, 0, SIGILL, SI_KERNEL, -1 },		/* INE */
		{ 14, 0, 0, SIGILL, SI_KERNEL, -1 },		/* IPE */
		{ 16, 0, 0, SIGILL, SI_KERNEL, -1 },		/* LSX disabled */
		{ 18, 0, 1U << 27 | 1U << 24, SIGFPE, FPE_FLTDIV, 1 },
		{ 18, 0, 1U << 28, SIGFPE, FPE_FLTINV, 1 },
		{ 18, 0, 1U << 24, SIGFPE, FPE_FLTRES, 1 },
		{ 18, 0, 0, SIGFPE, FPE_FLTUNK, 1 },
		{ 40, 0, 0, SIGSYS, SI_KERNEL, -1 },		/* reserved */
	};
	struct dune_fault f;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct la_frame fr = frame_with(cases[i].ecode, 0);
		uint64_t addr = cases[i].at_pc > 0 ? fr.era : cases[i].at_pc < 0 ? 0 : fr.badv;

		fr.badi = cases[i].badi;
		CHECK(la_exception_signal(&fr, cases[i].fcsr, &f) == 1 && f.signo == cases[i].signo &&
		      f.code == cases[i].code && f.addr == addr && f.pc == fr.era && !f.is_page_fault,
		      "ecode %u badi %#x: signal %d code %d addr %#lx", cases[i].ecode, cases[i].badi,
		      f.signo, f.code, (unsigned long)f.addr);
	}
	for (unsigned int ecode = 1; ecode <= 7; ecode++) {
		struct la_frame fr = frame_with(ecode, 0);

		CHECK(la_exception_signal(&fr, 0, &f) == 1 && f.is_page_fault && f.addr == fr.badv &&
		      f.not_present == (ecode <= 3) && f.write == (ecode == 2 || ecode == 4) &&
		      f.exec == (ecode == 3 || ecode == 6), "page fault ecode %u", ecode);
	}
	{
		struct la_frame fr = frame_with(0, 0);

		CHECK(la_exception_signal(&fr, 0, &f) == 0, "an interrupt delivers nothing");
	}
}

/* The vCPU stopped at the guest kernel's exit store with this frame. */
static void stub_exit(const struct la_frame *fr)
{
	struct kvm_run *run = vcpu->run;

	(void)arch_prepare_run(vcpu);	/* resets the exit's flags; its TID update fails here */
	*la_vcpu(vcpu)->frame = *fr;
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = LA_EXIT_GPA;
	run->mmio.len = 8;
	run->mmio.is_write = 1;
}

static void check_exits(void)
{
	struct la_frame fr = frame_with(11, 0), *live = la_vcpu(vcpu)->frame;
	struct dune_exit e;

	for (int i = 0; i < 32; i++)
		fr.regs[i] = 0x1000 + i;
	fr.regs[LA_A7] = SYS_clone;
	stub_exit(&fr);
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_SYSCALL && e.sys.nr == SYS_clone, "syscall %ld", e.sys.nr);
	for (int i = 0; i < 6; i++)
		CHECK(e.sys.args[i] == 0x1000 + LA_A0 + i, "arg %d: %#lx", i, e.sys.args[i]);
	CHECK(e.sys.ip == fr.era + 4 && live->era == fr.era + 4, "past the syscall: %#lx",
	      (unsigned long)e.sys.ip);
	/* clone(flags, stack, parent_tid, child_tid, tls): no CLONE_BACKWARDS */
	CHECK(e.sys.args[DUNE_CLONE_ARG_CTID] == 0x1000 + LA_A0 + 3 &&
	      e.sys.args[DUNE_CLONE_ARG_TLS] == 0x1000 + LA_A0 + 4 && e.sys.args[1] == 0x1000 + LA_A0 + 1,
	      "clone's arguments");
	arch_syscall_return(vcpu, -ENOENT);
	CHECK((long)live->regs[LA_A0] == -ENOENT && IS_ERR_VALUE(live->regs[LA_A0]),
	      "-errno in a0, in the frame, no ioctl");
	CHECK(live->regs[LA_A7] == SYS_clone && live->regs[LA_A0 + 1] == 0x1000 + LA_A0 + 1,
	      "other registers untouched");
	CHECK(!IS_ERR_VALUE(-(long)DUNE_MAX_ERRNO - 1) && IS_ERR_VALUE(-1L), "error range");
	CHECK(arch_vcpu_save(vcpu) == -EIO, "no FPU without KVM: save fails with EIO");

	fr = frame_with(2, 0);		/* PIS: store to an invalid page */
	stub_exit(&fr);
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_FAULT && e.fault.is_page_fault && e.fault.write &&
	      e.fault.not_present && e.fault.addr == fr.badv && live->era == fr.era,
	      "a page fault: event %d", e.event);

	fr = frame_with(11, 0);
	fr.prmd = 0;			/* PPLV0: the guest kernel itself */
	stub_exit(&fr);
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_FATAL && e.why && strstr(e.why, "guest kernel"), "fatal");

	vcpu->run->mmio.phys_addr = 0xfe000000;
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_MMIO && e.mmio_gpa == 0xfe000000, "another MMIO exit");
	vcpu->run->exit_reason = KVM_EXIT_INTR;
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_FATAL, "interrupted, registers unreadable: fatal");
	vcpu->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	arch_decode_exit(vcpu, &e);
	CHECK(e.event == DUNE_EV_FATAL, "internal error");

	/* a flush asked for: the guest's restore path does invtlb */
	fr = frame_with(11, 0);
	stub_exit(&fr);
	arch_decode_exit(vcpu, &e);
	vcpu->flush_pending = 1;
	(void)arch_prepare_run(vcpu);
	CHECK(live->flush == 1 && !vcpu->flush_pending, "flush through the frame");
}

/* Where an interrupted vCPU stands, for decode_interrupted() to undo or redo. */
static void check_where(void)
{
	uint64_t ka = 0x100200000ULL, entry = LA_DMW1_BASE | ka;
	uint64_t exit = entry + la_guest_offset(la_guest_exit);
	uint64_t restore = entry + la_guest_offset(la_guest_restore);
	uint64_t end = ka + la_guest_offset(la_guest_code_end);

	CHECK(restore == exit + LA_INSN_SIZE, "restore right after the exit store");
	CHECK(la_guest_where(entry, ka) == LA_AT_ENTRY, "entry");
	CHECK(la_guest_where(entry + 4, ka) == LA_AT_ENTRY_SAVED &&
	      la_guest_where(exit, ka) == LA_AT_ENTRY_SAVED, "up to the exit store: undone");
	CHECK(la_guest_where(restore, ka) == LA_AT_RESTORE &&
	      la_guest_where(entry + LA_KA_TLBR - 4, ka) == LA_AT_RESTORE, "restore path");
	CHECK(la_guest_where(ka + LA_KA_TLBR, ka) == LA_AT_TLBR &&
	      la_guest_where(ka + LA_KA_TLBR + 4, ka) == LA_AT_TLBR_SAVED &&
	      la_guest_where(end - 4, ka) == LA_AT_TLBR_SAVED, "refill (direct address)");
	CHECK(la_guest_where(end, ka) == LA_AT_PROGRAM && la_guest_where(ka, ka) == LA_AT_PROGRAM &&
	      la_guest_where(0x120000000, ka) == LA_AT_PROGRAM && la_guest_where(entry - 4, ka) ==
	      LA_AT_PROGRAM, "the program");
}

/* Registers in and out: dune_enter()'s context, a clone's, continuing natively. */
static void check_marshalling(void)
{
	struct la_vcpu *lc = la_vcpu(vcpu);
	struct la_entry_ctx *ctx = &lc->ctx;
	uint64_t regs[32], pc;

	memset(ctx, 0, sizeof(*ctx));
	ctx->ra = 0x120000100;
	ctx->sp = 0x7fff0000;
	ctx->tp = 0x7000;
	ctx->fp = 0x7fff0040;
	for (int i = 0; i < 9; i++)
		ctx->s[i] = 0x5000 + i;
	ctx->fpr[31] = 0x3ff0000000000000ULL;
	ctx->fcsr = 0x100;
	arch_vcpu_start(vcpu);		/* its ioctls fail here: the copies stay */
	CHECK(lc->state == LA_IN_VCPU && lc->regs_dirty && lc->regs.pc == 0x120000100 &&
	      lc->regs.gpr[LA_A0] == 0 && lc->regs.gpr[LA_SP] == 0x7fff0000 &&
	      lc->regs.gpr[LA_TP] == 0x7000 && lc->regs.gpr[LA_FP] == 0x7fff0040 &&
	      lc->regs.gpr[LA_S0] == 0x5000 && lc->regs.gpr[LA_S0 + 8] == 0x5008 &&
	      lc->fpu.fpr[31].val64[0] == ctx->fpr[31] && lc->fpu.fcsr == 0x100,
	      "dune_enter()'s caller in the vCPU's registers");
	CHECK(la_user_regs(vcpu, regs, &pc) == 0 && pc == 0x120000100 && regs[LA_S0] == 0x5000,
	      "user registers from the vCPU");
	regs[LA_A0] = 42;
	la_set_user_regs(vcpu, regs, 0x120000200);
	CHECK(lc->regs.gpr[LA_A0] == 42 && lc->regs.pc == 0x120000200, "set in the vCPU");

	/* a clone's child: the parent's state at its syscall, a0 = 0, its stack and TLS */
	memset(&lc->saved, 0, sizeof(lc->saved));
	lc->saved.regs[LA_A0] = SYS_clone;
	lc->saved.regs[LA_S0] = 0x77;
	lc->saved.era = 0x120000304;
	CHECK(arch_vcpu_restore(vcpu, vcpu, 0x7ffe0000, 1, 0x8000) == -EIO, "no FPU: EIO");
	CHECK(lc->regs.gpr[LA_A0] == 0 && lc->regs.pc == 0x120000304 &&
	      lc->regs.gpr[LA_SP] == 0x7ffe0000 && lc->regs.gpr[LA_TP] == 0x8000 &&
	      lc->regs.gpr[LA_S0] == 0x77, "the child's registers");

	/* continuing natively from a frame */
	memset(lc->frame, 0, sizeof(*lc->frame));
	lc->frame->regs[LA_A0 + 1] = 0xabc;
	lc->frame->regs[LA_SP] = 0x7ffd0000;
	lc->frame->era = 0x120000404;
	lc->state = LA_IN_FRAME;
	lc->saved_fpu.fpr[24].val64[0] = 0x24;
	arch_capture_native(vcpu);
	arch_native_set(vcpu, 7, 0x7ffc0000);
	CHECK(lc->native.regs[0] == 0x120000404 && lc->native.regs[LA_A0] == 7 &&
	      lc->native.regs[LA_A0 + 1] == 0xabc && lc->native.regs[LA_SP] == 0x7ffc0000 &&
	      lc->native.fpr[24] == 0x24, "the native frame");
}

static void check_sigframe(void)
{
	uint8_t buf[LA_SIGFRAME_MAX] __attribute__((aligned(16)));
	siginfo_t info = { .si_signo = SIGUSR1, .si_code = SI_USER };
	struct la_kvm_fpu fpu = { .fcsr = 0x300, .fcc = 0x0100000000000001ULL }, back;
	uint64_t regs[32], out[32], pc, mask, top = 0x7ffff0001238ULL;

	for (int i = 0; i < 32; i++) {
		regs[i] = 0xa000 + i;
		for (int j = 0; j < 4; j++)
			fpu.fpr[i].val64[j] = (uint64_t)i << 8 | j;
	}
	/* the UAPI (glibc's names): mcontext at 176, pc then 32 registers, extcontext at 272 */
	CHECK(offsetof(ucontext_t, uc_mcontext) == 176 && offsetof(mcontext_t, __gregs) == 8 &&
	      offsetof(mcontext_t, __flags) == 264 && sizeof(mcontext_t) == 272, "ucontext layout");
	CHECK(offsetof(struct sigcontext, sc_extcontext) == 272, "sc_extcontext");
	for (int vec = 8; vec <= 32; vec *= 2) {
		struct la_sigframe_in in = { .regs = regs, .pc = 0x120000400, .fpu = &fpu,
					     .vec_bytes = vec, .info = &info, .mask = 0x5 };
		uint64_t sp = la_sigframe_build(buf, top, &in);
		const ucontext_t *uc = (const ucontext_t *)(buf + sizeof(siginfo_t));
		const struct sctx_info *ctx = (const struct sctx_info *)(buf + sizeof(siginfo_t) +
									   sizeof(ucontext_t));
		const uint32_t magic = vec == 8 ? FPU_CTX_MAGIC : vec == 16 ? LSX_CTX_MAGIC : LASX_CTX_MAGIC;

		CHECK(sp % 16 == 0 && sp < top && top - sp < sizeof(buf), "sp %#lx", (unsigned long)sp);
		CHECK(uc->uc_mcontext.__pc == 0x120000400 && uc->uc_mcontext.__gregs[3] == 0xa003 &&
		      uc->uc_mcontext.__flags == 1 && uc->uc_sigmask.__val[0] == 5, "sigcontext, mask");
		CHECK(((const siginfo_t *)buf)->si_signo == SIGUSR1, "siginfo first");
		CHECK(ctx->magic == magic && ctx->size >= sizeof(*ctx) + 32 * vec + 12,
		      "vec %d: magic %#x size %u", vec, ctx->magic, ctx->size);
		CHECK(((const struct sctx_info *)((const uint8_t *)ctx + ctx->size))->magic == 0 &&
		      (uint8_t *)ctx + ctx->size + 16 - buf == (long)(DUNE_ALIGN_DOWN(top, 16) - sp),
		      "end marker at the top");
		memset(&back, 0, sizeof(back));
		memset(out, 0, sizeof(out));
		CHECK(la_sigframe_parse(buf, DUNE_ALIGN_DOWN(top, 16) - sp, out, &pc, &back, &mask) == 1,
		      "parse vec %d", vec);
		CHECK(pc == 0x120000400 && mask == 5 && out[31] == 0xa01f && out[0] == 0, "back");
		CHECK(back.fcsr == 0x300 && back.fcc == fpu.fcc && back.fpr[31].val64[0] == 31 << 8 &&
		      back.fpr[7].val64[vec / 8 - 1] == (7 << 8 | (uint64_t)(vec / 8 - 1)) &&
		      (vec == 32 || back.fpr[7].val64[vec / 8] == 0), "vector registers back");
	}
	CHECK(la_sigframe_parse(buf, 100, out, &pc, &back, &mask) == -EINVAL, "short frame");
	CHECK(la_sigframe_size(32) <= LA_SIGFRAME_MAX, "LA_SIGFRAME_MAX");
}

/*
 * Where handlers return: the vDSO's __vdso_rt_sigreturn, `li.w a7, 139;
 * syscall 0` (li.w is ori, or addi.w, from $zero).
 */
static void check_vdso(void)
{
	const uint32_t *insn = (const uint32_t *)la_vdso_sigreturn();

	if (!getauxval(AT_SYSINFO_EHDR)) {
		printf("# no vDSO here: __vdso_rt_sigreturn not looked up\n");
		return;
	}
	CHECK(insn && ((insn[0] & ~0x01000000U) == (0x02800000U | SYS_rt_sigreturn << 10 | LA_A7)) &&
	      insn[1] == LA_INSN_SYSCALL, "__vdso_rt_sigreturn at %p: %#x %#x", (void *)insn,
	      insn ? insn[0] : 0, insn ? insn[1] : 0);
}

int main(void)
{
	setup();
	check_pte_encoding();
	check_page_tables();
	check_csrs();
	check_exceptions();
	check_exits();
	check_where();
	check_marshalling();
	check_sigframe();
	check_vdso();
	CHECK(arch_forward_template_size == 8 &&
	      !memcmp(arch_forward_template, &(uint32_t){ LA_INSN_SYSCALL }, 4),
	      "forward template: syscall 0; jr ra");
	CHECK(arch_guest_phys_bits(vm) > 32 && arch_guest_phys_bits(vm) <= 40,
	      "guest physical bits %u", arch_guest_phys_bits(vm));
	CHECK(la_guest_offset(la_guest_tlbr) == LA_KA_TLBR &&
	      la_guest_offset(la_guest_code_end) <= arch_area_pages() * DUNE_PAGE_SIZE,
	      "guest kernel layout: refill at %#lx, %lu bytes", (unsigned long)la_guest_offset(la_guest_tlbr),
	      (unsigned long)la_guest_offset(la_guest_code_end));
	CHECK(arch_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) == getpid(), "raw syscall");
	CHECK(arch_raw_syscall(SYS_close, -1, 0, 0, 0, 0, 0) == -EBADF, "raw syscall -errno");
	return finish();
}
