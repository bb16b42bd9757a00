// SPDX-License-Identifier: MIT
/*
 * LoongArch64 VM and vCPU set-up against the upstream KVM API (Linux >= 6.7):
 * CPUCFG mirroring the host, LSX/LASX where the host has them, the guest
 * kernel's page and CSRs.
 *
 * The program runs at PLV3, as on x86-64 at CPL3 (Loongson Dune ran it at
 * PLV0): it cannot touch CSRs, the TLB or the DMW windows that hold dune's
 * frames, and its faults are the exceptions Linux turns into signals, with
 * the same si_code, because the CPU checks the same page permissions.
 *
 * The exit is an MMIO store to a guest-physical hole (LA_EXIT_GPA), not
 * `hvcl 0x102` (KVM_HCALL_USER_SERVICE): it exits to user space on every
 * LoongArch KVM since 6.7, the hypercall only from 6.14 with
 * KVM_FEATURE_USER_HCALL, and the hypercall passes a0-a5 only while the
 * registers are in the frame already; as on x86-64, one exit per syscall.
 * LoongArch KVM has no KVM_CAP_SYNC_REGS: the frame in guest memory is what
 * makes a syscall cost no ioctl besides KVM_RUN.
 */
#include <errno.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "la.h"

#define HWCAP_LSX	(1 << 4)
#define HWCAP_LASX	(1 << 5)
#define CPUCFG_WORDS	21	/* 0-20: the words Linux reads */

size_t arch_vm_size(void)
{
	return sizeof(struct la_vm);
}

size_t arch_vcpu_size(void)
{
	return sizeof(struct la_vcpu);
}

/* One 16 KiB page: the exception entry and the TLB refill (la-guest.h). */
size_t arch_area_pages(void)
{
	return 1;
}


static int vm_has_feature(struct dune_vm *vm, uint64_t feature)
{
	struct kvm_device_attr attr = { .group = LA_KVM_VM_FEAT_CTRL, .attr = feature };

	return dune_ioctl(vm->vm_fd, KVM_HAS_DEVICE_ATTR, &attr) == 0;
}

/*
 * The vector units user code may be using (glibc's string functions use
 * LSX): the guest must have each the host has, or dune_enter() fails.
 */
static int choose_vector_units(struct dune_vm *vm)
{
	unsigned long hwcap = getauxval(AT_HWCAP);
	struct la_vm *lv = la_vm(vm);

	lv->euen = LA_EUEN_FPE;
	if (hwcap & HWCAP_LSX) {
		if (!vm_has_feature(vm, LA_KVM_VM_FEAT_LSX))
			return dune_fail(-ENOTSUP, "this KVM cannot give the guest LSX, which the host has");
		lv->euen |= LA_EUEN_SXE;
	}
	if (hwcap & HWCAP_LASX) {
		if (!vm_has_feature(vm, LA_KVM_VM_FEAT_LASX))
			return dune_fail(-ENOTSUP, "this KVM cannot give the guest LASX, which the host has");
		lv->euen |= LA_EUEN_ASXE;
	}
	return 0;
}

int arch_vm_init(struct dune_vm *vm)
{
	struct la_vm *lv = la_vm(vm);
	int err;

	lv->ka = vm->area + DUNE_AREA_GUEST;
	err = choose_vector_units(vm);
	if (err)
		return err;
	lv->sigreturn = la_vdso_sigreturn();
	if (!lv->sigreturn)
		return dune_fail(-ENOTSUP, "no __vdso_rt_sigreturn in the vDSO: signal handlers "
				 "could not return");
	return 0;
}

static uint32_t cpucfg(uint32_t word)
{
	uint32_t value;

	asm volatile("cpucfg %0, %1" : "=r"(value) : "r"(word));
	return value;
}

/*
 * The guest's physical addresses, reached through the DMW windows too, stay
 * below the CPU's PALEN (CPUCFG word 1; 48 on the 3A5000/3A6000), and lib/
 * uses 1 TiB at most.
 */
unsigned int arch_guest_phys_bits(struct dune_vm *vm)
{
	unsigned int palen = ((cpucfg(1) >> 4) & 0xff) + 1;

	(void)vm;
	return palen < 40 ? palen : 40;
}

/*
 * The host's CPUCFG words, as glibc and the program read them with
 * `cpucfg` (KVM answers for the guest); KVM keeps its own value of a word it
 * refuses, except word 2 (FP, LSX, LASX), which must be the host's.
 */
static int mirror_cpucfg(struct dune_vcpu *vcpu)
{
	for (uint32_t word = 0; word < CPUCFG_WORDS; word++) {
		uint64_t value = cpucfg(word);
		struct kvm_one_reg reg = { .id = LA_KVM_CPUCFG_ID(word), .addr = (uint64_t)&value };
		long err = dune_ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg);

		if (err && word == LA_CPUCFG2)
			return dune_fail(err, "KVM_SET_ONE_REG(CPUCFG2 %#lx): %s",
					 (unsigned long)value, dune_strerror(err));
	}
	return 0;
}

/*
 * The guest's counter must read as the host's, or the vDSO's clocks (rdtime
 * scaled by the host's vvar data) are wrong in the guest; KVM keeps one
 * offset per VM, so setting it on every vCPU sets the same.
 */
static int sync_counter(struct dune_vcpu *vcpu)
{
	uint64_t now;
	struct kvm_one_reg reg = { .id = LA_KVM_REG_COUNTER, .addr = (uint64_t)&now };
	long err;

	asm volatile("rdtime.d %0, $zero" : "=r"(now));
	err = dune_ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg);
	return err ? dune_fail(err, "KVM_SET_ONE_REG(counter): %s", dune_strerror(err)) : 0;
}

/* Once per VM: the guest kernel's code and page-table roots. */
static int set_up_guest_kernel(struct dune_vm *vm)
{
	struct la_vm *lv = la_vm(vm);

	if (lv->ka_ready)
		return 0;
	memcpy(lv->ka, la_guest_code, la_guest_offset(la_guest_code_end));
	lv->ka_gpa = vm->area_gpa + (lv->ka - vm->area);
	if (la_pt_init(vm))
		return dune_fail(-ENOMEM, "no room for the guest page tables");
	lv->ka_ready = 1;
	return 0;
}

/* A new KVM vCPU (vm->lock held): CPUCFG, the counter, its exit frame, the CSRs. */
int arch_vcpu_init(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	struct la_vm *lv = la_vm(vm);
	struct la_vcpu *lc = la_vcpu(vcpu);
	struct la_csr_value csrs[LA_NR_GUEST_CSRS];
	struct la_layout layout;
	unsigned int cpu = 0;
	int err = set_up_guest_kernel(vm);

	if (!err)
		err = mirror_cpucfg(vcpu);
	if (!err)
		err = sync_counter(vcpu);
	if (err)
		return err;
	if (!lc->frame) {
		lc->frame = dune_area_alloc(vm, 1);
		if (!lc->frame)
			return dune_fail(-ENOMEM, "dune area full");
		lc->frame_gpa = vm->area_gpa + ((uint8_t *)lc->frame - vm->area);
	}
	memset(lc->frame, 0, sizeof(*lc->frame));
	(void)sys3(SYS_getcpu, &cpu, NULL, NULL);	/* else CPU 0, fixed at the first run */
	layout = (struct la_layout){
		.ka_gpa = lv->ka_gpa, .frame_gpa = lc->frame_gpa, .pgd_gpa = lv->pgd_gpa,
		.pgdh_gpa = lv->pgdh_gpa, .euen = lv->euen, .tid = cpu,
	};
	la_guest_csrs(&layout, csrs);
	for (int i = 0; i < LA_NR_GUEST_CSRS; i++) {
		err = la_set_csr(vcpu, csrs[i].csr, csrs[i].value);
		if (err)
			return dune_fail(err, "KVM_SET_ONE_REG(CSR %#x = %#lx): %s", csrs[i].csr,
					 (unsigned long)csrs[i].value, dune_strerror(err));
	}
	lc->tid = cpu;
	lc->state = LA_IN_VCPU;
	return 0;
}

/* Entering again after dune_escape(): arch_vcpu_start() takes the thread's state. */
int arch_vcpu_reenter(struct dune_vcpu *vcpu)
{
	(void)vcpu;
	return 0;
}
