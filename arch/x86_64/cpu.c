// SPDX-License-Identifier: MIT
/*
 * x86-64 vCPU set-up: CPUID and XCR0 mirroring the host, the guest kernel
 * (GDT, IDT, TSS, stubs), control registers, and the probe that tells whether
 * this KVM switches to CPL0 on a CPL3 `syscall` (hardware) or not (kvm_pvm).
 */
#include <asm/prctl.h>
#include <linux/prctl.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define XFEATURE_AVX		(1ULL << 2)
#define XFEATURE_AVX512		(7ULL << 5)
#define XFEATURE_XTILEDATA	(1ULL << 18)
#define XFEATURE_APX		(1ULL << 19)
/* Components user code can use; losing one of those is not transparent. */
#define XFEATURE_USER	(XFEATURE_AVX | XFEATURE_AVX512 | XFEATURE_PKRU | \
			 XFEATURE_XTILEDATA | XFEATURE_APX)
#define XFEATURE_AMX	(3ULL << 17)

#define CPUID_7_ECX_PKU		(1U << 3)
#define CPUID_7_ECX_OSPKE	(1U << 4)
#define CPUID_7_ECX_CET_SS	(1U << 7)
#define CPUID_7_EDX_CET_IBT	(1U << 20)

#ifndef ARCH_GET_XCOMP_PERM
#define ARCH_GET_XCOMP_PERM 0x1022
#endif

static int hw_semantics = -1;	/* probed once per process */

/* Does the syscall stub run at CPL0 (hardware) rather than CPL3 (kvm_pvm)? */
int x86_vcpu_hw_semantics(void)
{
	return hw_semantics > 0;
}

size_t arch_vm_size(void)
{
	return sizeof(struct x86_vm);
}

size_t arch_vcpu_size(void)
{
	return sizeof(struct x86_vcpu);
}

size_t arch_area_pages(void)
{
	return KA_PAGES;
}

unsigned int arch_guest_phys_bits(struct dune_vm *vm)
{
	return x86_vm(vm)->phys_bits;
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		     : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* XCR0 = host XCR0 minus what KVM cannot give, if user code cannot notice. */
static int choose_xcr0(struct x86_vm *xv, uint64_t kvm_xcr0)
{
	uint64_t perm = 0, lost;

	xv->host_xcr0 = xgetbv0();
	xv->guest_xcr0 = xv->host_xcr0 & kvm_xcr0;
	lost = xv->host_xcr0 & ~xv->guest_xcr0;
	if (sys2(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &perm))
		perm = xv->host_xcr0 & ~XFEATURE_XTILEDATA;
	if (lost & perm & XFEATURE_USER)
		return dune_fail(-ENOTSUP, "KVM cannot expose this CPU's XSAVE features (XCR0 %#lx, KVM allows %#lx)",
				 (unsigned long)xv->host_xcr0, (unsigned long)kvm_xcr0);
	return 0;
}

/* Host CPUID values in the leaves KVM supports, minus the lost XSAVE features. */
static void mirror_cpuid_entry(struct x86_vm *xv, struct kvm_cpuid_entry2 *e)
{
	uint64_t lost = xv->host_xcr0 & ~xv->guest_xcr0;
	uint32_t r[4];

	cpuid(e->function, e->index, r);
	e->eax = r[0];
	e->ebx = r[1];
	e->ecx = r[2];
	e->edx = r[3];
	if (e->function == 0xd && e->index == 0) {
		e->eax &= (uint32_t)xv->guest_xcr0;
		e->edx &= (uint32_t)(xv->guest_xcr0 >> 32);
	} else if (e->function == 0xd && e->index >= 2 && e->index < 64 &&
		   (lost >> e->index) & 1) {
		e->eax = e->ebx = e->ecx = e->edx = 0;
	} else if (e->function == 7 && e->index == 0) {
		/*
		 * CET (shadow stack, IBT): the host kernel turns them on per
		 * thread in its own U_CET MSR and XSAVE supervisor state, which
		 * the vCPU does not get: the guest must not believe it has them.
		 */
		e->ecx &= ~CPUID_7_ECX_CET_SS;
		e->edx &= ~CPUID_7_EDX_CET_IBT;
		/* no keys without KVM's PKU (KVM sets OSPKE from the guest's CR4) */
		if (!(xv->cr4 & X86_CR4_PKE))
			e->ecx &= ~(CPUID_7_ECX_PKU | CPUID_7_ECX_OSPKE);
		if (lost & XFEATURE_AMX)
			e->edx &= ~((1U << 22) | (1U << 24) | (1U << 25));
	} else if ((e->function == 0x1d || e->function == 0x1e) && (lost & XFEATURE_AMX)) {
		e->eax = e->ebx = e->ecx = e->edx = 0;
	}
}

static int build_cpuid(struct dune_vm *vm)
{
	struct x86_vm *xv = x86_vm(vm);
	struct kvm_cpuid2 *table = x86_cpuid(xv);
	uint64_t kvm_xcr0 = 0;
	uint32_t kvm7_ecx = 0, kvm7_ebx = 0, r[4];
	long err;

	table->nent = MAX_CPUID_ENTRIES;
	err = dune_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, table);
	if (err)
		return dune_fail(err, "KVM_GET_SUPPORTED_CPUID: %s", dune_strerror(err));
	for (unsigned int i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];

		if (e->function == 0xd && e->index == 0)
			kvm_xcr0 = ((uint64_t)e->edx << 32) | e->eax;
		if (e->function == 7 && e->index == 0) {
			kvm7_ebx = e->ebx;
			kvm7_ecx = e->ecx;
		}
	}
	err = choose_xcr0(xv, kvm_xcr0);
	if (err)
		return err;
	/* CR4 as the host kernel sets it, where KVM can virtualize the bit */
	cpuid(7, 0, r);
	xv->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	if (r[1] & 1)
		xv->cr4 |= X86_CR4_FSGSBASE;
	xv->host_pkeys = !!(r[2] & CPUID_7_ECX_OSPKE);
	if (xv->host_pkeys && (kvm7_ecx & CPUID_7_ECX_PKU) && (xv->guest_xcr0 & XFEATURE_PKRU))
		xv->cr4 |= X86_CR4_PKE;
	if ((r[2] >> 2) & (kvm7_ecx >> 2) & 1)
		xv->cr4 |= X86_CR4_UMIP;	/* then umip.c answers as Linux does */
	xv->smep = (r[1] >> 7) & (kvm7_ebx >> 7) & 1;
	cpuid(1, 0, r);
	if ((r[2] >> 27) & 1)
		xv->cr4 |= X86_CR4_OSXSAVE;
	cpuid(0xd, 9, r);
	xv->pkru_offset = r[1];
	for (unsigned int i = 0; i < table->nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->entries[i];

		if (e->function >= 0x40000000 && e->function < 0x50000000)
			continue;	/* KVM's own leaves */
		mirror_cpuid_entry(xv, e);
		if (e->function == 0x80000008)
			xv->phys_bits = e->eax & 0xff;
	}
	return 0;
}

int arch_vm_init(struct dune_vm *vm)
{
	struct x86_vm *xv = x86_vm(vm);

	xv->phys_bits = 36;
	xv->ka = vm->area + DUNE_AREA_GUEST;
	xv->vsyscall = -1;
	return build_cpuid(vm);
}

int x86_set_msr(struct dune_vcpu *vcpu, uint32_t index, uint64_t value)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;

	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	msrs->entries[0].data = value;
	return dune_ioctl(vcpu->fd, KVM_SET_MSRS, msrs) == 1 ? 0 : -EINVAL;
}

/* The guest's TSC must equal the host's, or the vDSO clock stops in the guest. */
static int sync_tsc(struct dune_vcpu *vcpu)
{
	uint64_t offset = 0;
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uint64_t)&offset,
	};
	uint32_t lo, hi;

	if (!dune_ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &attr) &&
	    !dune_ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, &attr))
		return 0;
	if (x86_tsc_cr4())	/* our own rdtsc would trap, and so will the guest's */
		return 0;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return x86_set_msr(vcpu, MSR_IA32_TSC, ((uint64_t)hi << 32) | lo);
}

static int set_cpuid_xcr0(struct dune_vcpu *vcpu)
{
	struct x86_vm *xv = x86_vm(vcpu->vm);
	struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xv->guest_xcr0 } } };
	long err = dune_ioctl(vcpu->fd, KVM_SET_CPUID2, x86_cpuid(xv));

	if (err)
		return dune_fail(err, "KVM_SET_CPUID2: %s", dune_strerror(err));
	err = dune_ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs);
	if (err)
		return dune_fail(err, "KVM_SET_XCRS(%#lx): %s", (unsigned long)xv->guest_xcr0,
				 dune_strerror(err));
	return 0;
}

/*
 * The x87 control word and MXCSR are callee-saved: carry them into the guest,
 * and PKRU, the thread's protection-key rights (a fork or clone child then
 * gets its parent's from arch_vcpu_restore()).
 * (Through the XSAVE image: the kernel takes FCW only with XSTATE_BV bit 0 (x87)
 * set, MXCSR only with bit 1 (SSE), PKRU only with bit 9.)
 */
static int set_fpu_control(struct dune_vcpu *vcpu)
{
	/* not the vCPU's buffer: a fork child's vCPU has the parent's state there */
	struct kvm_xsave buf __attribute__((aligned(64))), *xsave = &buf;
	uint8_t *image = (uint8_t *)xsave->region;
	uint16_t fcw;
	uint32_t mxcsr;
	long err = dune_ioctl(vcpu->fd, KVM_GET_XSAVE, xsave);

	if (err)
		return dune_fail(err, "KVM_GET_XSAVE: %s", dune_strerror(err));
	asm volatile("fnstcw %0" : "=m"(fcw));
	asm volatile("stmxcsr %0" : "=m"(mxcsr));
	memcpy(image + 0, &fcw, sizeof(fcw));
	memcpy(image + 24, &mxcsr, sizeof(mxcsr));
	image[512] |= 3;	/* XSTATE_BV: x87, SSE */
	/* without PKE too: the thread gets it back if it continues natively */
	if (x86_vm(vcpu->vm)->host_pkeys && (x86_vm(vcpu->vm)->guest_xcr0 & XFEATURE_PKRU))
		x86_xsave_set_pkru(vcpu->vm, image, x86_rdpkru());
	err = dune_ioctl(vcpu->fd, KVM_SET_XSAVE, xsave);
	if (err)
		return dune_fail(err, "KVM_SET_XSAVE: %s", dune_strerror(err));
	return 0;
}

static void write_gdt_tss(uint8_t *kv, int hw)
{
	uint64_t *gdt = (uint64_t *)(kv + KV_GDT);
	uint64_t tss = (uint64_t)kv + KV_TSS;
	uint64_t limit = TSS_IOMAP + 32;	/* bitmap for ports 0-255, then 0xff */

	gdt[GDT_KERNEL_CS / 8] = 0x00af9b000000ffffULL;
	gdt[GDT_KERNEL_DS / 8] = 0x00cf93000000ffffULL;
	gdt[GDT_USER_CS32 / 8] = 0x00cffb000000ffffULL;
	gdt[GDT_USER_DS / 8] = 0x00cff3000000ffffULL;
	gdt[GDT_USER_CS / 8] = 0x00affb000000ffffULL;
	gdt[GDT_TSS / 8] = limit | ((tss & 0xffffff) << 16) | (0x89ULL << 40) |
			   (((tss >> 24) & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = tss >> 32;
	*(uint64_t *)(kv + KV_TSS + 4) = (uint64_t)kv + KV_KSTACK_TOP;	/* RSP0 */
	*(uint64_t *)(kv + KV_TSS + 0x24) = (uint64_t)kv + KV_IST_TOP;	/* IST1 */
	*(uint16_t *)(kv + KV_TSS + 0x66) = TSS_IOMAP;
	memset(kv + KV_TSS + TSS_IOMAP, 0xff, 33);
	/* kvm_pvm runs the LSTAR stub at CPL3: let it (and only it) reach the port */
	if (!hw)
		kv[KV_TSS + TSS_IOMAP + DUNE_X86_PORT_SYSCALL / 8] &= ~(0xf << (DUNE_X86_PORT_SYSCALL % 8));
}

/* IDT: every vector -> a CPL0 stub "out %al, $(port + v); [add $8, %rsp]; iretq". */
static void write_idt(uint8_t *ka)
{
	for (int v = 0; v < NR_VECTORS; v++) {
		uint8_t *code = ka + KA_EXC + EXC_STUB_SIZE * v;
		uint64_t *gate = (uint64_t *)(ka + KA_IDT + 16 * v);
		uint64_t addr = (uint64_t)code, dpl = (v == 3 || v == 4) ? 3 : 0;
		uint64_t ist = (v == 1 || v == 2 || v == 8 || v == 18) ? 1 : 0;
		int n = 0;

		code[n++] = 0xe6;
		code[n++] = DUNE_X86_PORT_EXC + v;
		if (x86_vector_has_error_code(v)) {
			memcpy(code + n, "\x48\x83\xc4\x08", 4);
			n += 4;
		}
		memcpy(code + n, "\x48\xcf", 2);
		gate[0] = (addr & 0xffff) | ((uint64_t)GDT_KERNEL_CS << 16) | (ist << 32) |
			  ((0x8eULL | (dpl << 5)) << 40) | (((addr >> 16) & 0xffff) << 48);
		gate[1] = addr >> 32;
	}
}

/* LSTAR stub: hardware runs it at CPL0 (return with sysretq), kvm_pvm at CPL3. */
static void write_syscall_stub(uint8_t *ka, int hw)
{
	static const uint8_t stub_hw[] = { 0xe7, DUNE_X86_PORT_SYSCALL, 0x48, 0x0f, 0x07 };
	static const uint8_t stub_pvm[] = { 0xe7, DUNE_X86_PORT_SYSCALL, 0xff, 0xe1 };

	memset(ka + KA_SYSCALL, 0, DUNE_PAGE_SIZE);	/* the probe's code goes */
	if (hw)
		memcpy(ka + KA_SYSCALL, stub_hw, sizeof(stub_hw));
	else
		memcpy(ka + KA_SYSCALL, stub_pvm, sizeof(stub_pvm));
}

static struct kvm_segment segment(uint16_t sel, uint8_t type, uint8_t dpl, int code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = dpl, .db = !code64, .s = 1, .l = code64, .g = 1,
	};
}

/* CR4.TSD if the calling thread's rdtsc traps (PR_SET_TSC, inherited natively). */
uint64_t x86_tsc_cr4(void)
{
	int mode = PR_TSC_ENABLE;

	sys5(SYS_prctl, PR_GET_TSC, (long)&mode, 0, 0, 0);
	return mode == PR_TSC_SIGSEGV ? X86_CR4_TSD : 0;
}

/* A user code segment of our GDT: GDT_USER_CS (64-bit) or GDT_USER_CS32. */
struct kvm_segment x86_user_code_segment(uint16_t selector)
{
	return segment(selector, 11, 3, selector == GDT_USER_CS);
}

/* CPL3 with the calling thread's FS/GS bases (the host mirrors ARCH_SET_FS/GS). */
void x86_fill_user_sregs(struct dune_vcpu *vcpu, struct kvm_sregs *s)
{
	struct x86_vm *xv = x86_vm(vcpu->vm);
	uint8_t *ka = xv->ka, *kv = x86_vcpu(vcpu)->kv;
	unsigned long fs_base = 0, gs_base = 0;

	sys2(SYS_arch_prctl, ARCH_GET_FS, &fs_base);
	sys2(SYS_arch_prctl, ARCH_GET_GS, &gs_base);
	s->cs = x86_user_code_segment(GDT_USER_CS);
	s->ss = segment(GDT_USER_DS, 3, 3, 0);
	s->ds = s->es = s->fs = s->gs = s->ss;
	s->ds.selector = s->es.selector = s->fs.selector = s->gs.selector = 0;
	s->fs.base = fs_base;
	s->gs.base = gs_base;
	s->tr = (struct kvm_segment){ .base = (uint64_t)kv + KV_TSS, .limit = TSS_IOMAP + 32,
				      .selector = GDT_TSS, .type = 11, .present = 1 };
	x86_fill_ldt(vcpu, &s->ldt);
	s->gdt.base = (uint64_t)kv + KV_GDT;
	s->gdt.limit = GDT_ENTRIES * 8 - 1;
	s->idt.base = (uint64_t)ka + KA_IDT;
	s->idt.limit = NR_VECTORS * 16 - 1;
	s->cr0 = 0x80050033;	/* PG AM WP NE ET MP PE */
	s->cr3 = xv->pml4_gpa;
	s->cr4 = xv->cr4 | x86_tsc_cr4();
	if (hw_semantics > 0 && xv->smep)
		s->cr4 |= X86_CR4_SMEP;
	s->efer = 0xd01;	/* SCE LME LMA NXE */
}

/* Some CR4 bits the host has may still be refused: drop PKE, UMIP, then FSGSBASE. */
static int set_sregs(struct dune_vcpu *vcpu, struct kvm_sregs *s)
{
	static const uint64_t optional[] = { X86_CR4_PKE, X86_CR4_UMIP, X86_CR4_FSGSBASE, 0 };

	for (int i = 0;; i++) {
		long err = dune_ioctl(vcpu->fd, KVM_SET_SREGS, s);

		if (!err)
			return 0;
		if (err != -EINVAL || !optional[i])
			return dune_fail(err, "KVM_SET_SREGS(cr3 %#lx, cr4 %#lx): %s",
					 (unsigned long)s->cr3, (unsigned long)s->cr4, dune_strerror(err));
		s->cr4 &= ~optional[i];
		x86_vm(vcpu->vm)->cr4 &= ~optional[i];
	}
}

/*
 * Supervisor pages, except the one CPL3 code must run: the probe's while
 * probing (hw < 0), then kvm_pvm's stub (hw == 0) on the same page.
 */
static int map_pages(struct dune_vm *vm, uint8_t *base, int pages, int hw)
{
	uint8_t *ka = x86_vm(vm)->ka;
	int err = 0;

	for (int i = 0; i < pages && !err; i++) {
		uint8_t *page = base + i * 4096UL;

		err = x86_map_supervisor(vm, (uintptr_t)page, page == ka + KA_SYSCALL && hw <= 0);
	}
	return err ? dune_fail(err, "cannot map the guest kernel: %s", dune_strerror(err)) : 0;
}

/* Supervisor pages of the guest kernel's data (the LDT's copy). */
int x86_map_guest_pages(struct dune_vm *vm, uint8_t *base, int pages)
{
	return map_pages(vm, base, pages, hw_semantics);
}

/* After arch_pt_reset(): the VM's and every vCPU's guest-kernel pages, the LDT's. */
int x86_map_guest_kernel(struct dune_vm *vm)
{
	struct x86_vm *xv = x86_vm(vm);
	int err = map_pages(vm, xv->ka, KA_PAGES, hw_semantics);

	if (!err && xv->ldt)
		err = x86_map_guest_pages(vm, xv->ldt, LDT_PAGES);
	for (int i = 0; i < vm->nr_vcpus && !err; i++)
		if (x86_vcpu(vm->vcpus[i])->kv)
			err = map_pages(vm, x86_vcpu(vm->vcpus[i])->kv, KV_PAGES, hw_semantics);
	return err;
}

static int set_syscall_msrs(struct dune_vcpu *vcpu, int hw)
{
	if (x86_set_msr(vcpu, MSR_STAR, ((uint64_t)GDT_USER_CS32 << 48) |
			((uint64_t)GDT_KERNEL_CS << 32)) ||
	    x86_set_msr(vcpu, MSR_LSTAR, (uint64_t)x86_vm(vcpu->vm)->ka + KA_SYSCALL) ||
	    x86_set_msr(vcpu, MSR_SFMASK, hw ? SFMASK_HW : 0))
		return dune_fail(-EINVAL, "KVM_SET_MSRS refused the syscall MSRs");
	return 0;
}

/* Once per process: which stub this KVM needs (the probe runs on vCPU 0). */
static int choose_stub(struct dune_vcpu *vcpu, struct kvm_sregs *sregs)
{
	if (hw_semantics < 0)
		hw_semantics = x86_probe_hw_semantics(vcpu, sregs);
	return hw_semantics < 0 ? hw_semantics : 0;
}

/* Once per VM: IDT and stubs (the page tables of a fork child are inherited). */
static int set_up_guest_kernel(struct dune_vcpu *vcpu, struct kvm_sregs *sregs)
{
	struct x86_vm *xv = x86_vm(vcpu->vm);
	int err;

	write_idt(xv->ka);
	err = map_pages(vcpu->vm, xv->ka, KA_PAGES, hw_semantics);
	if (!err)
		err = choose_stub(vcpu, sregs);
	if (err)
		return err;
	write_syscall_stub(xv->ka, hw_semantics);
	xv->ka_ready = 1;
	return map_pages(vcpu->vm, xv->ka, KA_PAGES, hw_semantics);
}

/* A new KVM vCPU (vm->lock held): CPUID, XCR0, TSC, CPL3 segments, MSRs. */
int arch_vcpu_init(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	struct x86_vcpu *xc = x86_vcpu(vcpu);
	struct kvm_sregs sregs;
	long err;

	err = set_cpuid_xcr0(vcpu);
	if (!err)
		err = set_fpu_control(vcpu);
	if (!err && sync_tsc(vcpu))
		err = dune_fail(-EINVAL, "cannot set the guest TSC");
	if (!err && !xc->kv) {
		xc->kv = dune_area_alloc(vm, KV_PAGES);
		err = xc->kv ? map_pages(vm, xc->kv, KV_PAGES, 0) : dune_fail(-ENOMEM, "dune area full");
	}
	if (err)
		return err;
	err = dune_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	if (err)
		return dune_fail(err, "KVM_GET_SREGS: %s", dune_strerror(err));
	write_gdt_tss(xc->kv, hw_semantics > 0);
	x86_fill_user_sregs(vcpu, &sregs);
	err = set_sregs(vcpu, &sregs);
	if (!err && !x86_vm(vm)->ka_ready)
		err = set_up_guest_kernel(vcpu, &sregs);
	if (err)
		return err;
	write_gdt_tss(xc->kv, hw_semantics);
	xc->cpunode_set = 0;		/* sync_cpunode() writes it before the first run */
	x86_fill_user_sregs(vcpu, &sregs);
	err = set_sregs(vcpu, &sregs);	/* also flushes the guest TLB */
	return err ? err : set_syscall_msrs(vcpu, hw_semantics);
}

/* Entering again after dune_escape(): the thread's current TLS and FPU control. */
int arch_vcpu_reenter(struct dune_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	long err = dune_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);

	if (err)
		return dune_fail(err, "KVM_GET_SREGS: %s", dune_strerror(err));
	x86_fill_user_sregs(vcpu, &sregs);
	err = set_sregs(vcpu, &sregs);
	return err ? err : set_fpu_control(vcpu);
}
