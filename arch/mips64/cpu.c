// SPDX-License-Identifier: MIT
/*
 * MIPS64 VM and vCPU set-up against the upstream KVM API (MIPS VZ): the
 * guest CP0 through ONE_REG, the FPU (and MSA where KVM has it) enabled,
 * and each vCPU's guest-kernel block in KSEG0.  KVM's registers are
 * touched only here and where the state must move between KVM and the
 * frame (exit.c): a syscall exit is served from the frame in memory alone.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "mips.h"

/* What KVM MIPS VZ gives a guest: 40 bits is the smallest PABITS among VZ CPUs. */
#define GUEST_PHYS_BITS	40
#define KSEG0_PHYS_END	(512UL << 20)	/* EBase must be in KSEG0 (KSEG0 maps 512 MiB) */
#define KA_PAGES	(DUNE_MAX_VCPUS * MIPS_BLOCK_SIZE / DUNE_PAGE_SIZE)

_Static_assert(DUNE_GPA_BASE + DUNE_AREA_GUEST + KA_PAGES * DUNE_PAGE_SIZE <= KSEG0_PHYS_END,
	       "every vCPU block has a KSEG0 address");
_Static_assert(MIPS_EXIT_GPA < DUNE_GPA_BASE, "the exit hole is below every memslot");

size_t arch_vm_size(void)
{
	return sizeof(struct mips_vm);
}

size_t arch_vcpu_size(void)
{
	return sizeof(struct mips_vcpu);
}

size_t arch_area_pages(void)
{
	return KA_PAGES;
}

unsigned int arch_guest_phys_bits(struct dune_vm *vm)
{
	(void)vm;
	return GUEST_PHYS_BITS;
}

int mips_set_one(struct dune_vcpu *vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&value };
	uint32_t value32 = value;

	if ((id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32)
		reg.addr = (uintptr_t)&value32;
	return sys3(SYS_ioctl, vcpu->fd, KVM_SET_ONE_REG, &reg);
}

int mips_get_one(struct dune_vcpu *vcpu, uint64_t id, uint64_t *value)
{
	uint32_t value32 = 0;
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)value };
	long err;

	if ((id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32)
		reg.addr = (uintptr_t)&value32;
	err = sys3(SYS_ioctl, vcpu->fd, KVM_GET_ONE_REG, &reg);
	if (!err && (id & KVM_REG_SIZE_MASK) == KVM_REG_SIZE_U32)
		*value = value32;
	return err;
}

/* Which half of KVM's 128-bit $wN is the low one: the least significant byte comes first. */
#define VEC_LO	(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 1)

static int vec_one(struct dune_vcpu *vcpu, unsigned long ioctl, int n, uint64_t v[2])
{
	struct kvm_one_reg reg = { .id = KVM_REG_MIPS_VEC_128(n), .addr = (uintptr_t)v };

	return sys3(SYS_ioctl, vcpu->fd, ioctl, &reg);
}

/*
 * The FPU's 32 64-bit registers and FCSR (KVM_CAP_MIPS_FPU; FR=1, as n64
 * runs); with MSA, the 128-bit vector registers they are the low halves of,
 * and MSACSR.
 */
int mips_get_fpu(struct dune_vcpu *vcpu, struct mips_fpu *fpu)
{
	uint64_t csr = 0, v[2];
	int err = mips_get_one(vcpu, KVM_REG_MIPS_FCR_CSR, &csr);

	fpu->fcsr = csr;
	fpu->msa = mips_vm(vcpu->vm)->has_msa;
	for (int i = 0; i < 32 && !err; i++) {
		if (!fpu->msa) {
			err = mips_get_one(vcpu, KVM_REG_MIPS_FPR_64(i), &fpu->fpr[i]);
			continue;
		}
		err = vec_one(vcpu, KVM_GET_ONE_REG, i, v);
		fpu->fpr[i] = v[VEC_LO];
		fpu->wr_hi[i] = v[!VEC_LO];
	}
	if (!err && fpu->msa) {
		err = mips_get_one(vcpu, KVM_REG_MIPS_MSA_CSR, &csr);
		fpu->msacsr = csr;
	}
	return err;
}

int mips_set_fpu(struct dune_vcpu *vcpu, const struct mips_fpu *fpu)
{
	int msa = fpu->msa && mips_vm(vcpu->vm)->has_msa;
	int err = mips_set_one(vcpu, KVM_REG_MIPS_FCR_CSR, fpu->fcsr);
	uint64_t v[2];

	for (int i = 0; i < 32 && !err; i++) {
		if (!msa) {
			err = mips_set_one(vcpu, KVM_REG_MIPS_FPR_64(i), fpu->fpr[i]);
			continue;
		}
		v[VEC_LO] = fpu->fpr[i];
		v[!VEC_LO] = fpu->wr_hi[i];
		err = vec_one(vcpu, KVM_SET_ONE_REG, i, v);
	}
	if (!err && msa)
		err = mips_set_one(vcpu, KVM_REG_MIPS_MSA_CSR, fpu->msacsr);
	return err;
}

static long check_cap(struct dune_vm *vm, long cap)
{
	return dune_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)cap);
}

/*
 * KVM must be VZ with 64-bit segments: trap-and-emulate KVM (gone since
 * Linux 5.x) ran only 32-bit guests, and Loongson's own KVM is not upstream.
 */
int arch_vm_init(struct dune_vm *vm)
{
	struct mips_vm *mv = mips_vm(vm);
	long vz = check_cap(vm, KVM_CAP_MIPS_VZ), bits = check_cap(vm, KVM_CAP_MIPS_64BIT);

	if (vz <= 0)
		return dune_fail(-ENODEV, "this KVM has no MIPS VZ (KVM_CAP_MIPS_VZ %ld): dune's "
				 "MIPS64 guest needs a CPU with the VZ extension", vz);
	if (bits < 2)
		return dune_fail(-ENODEV, "this KVM gives no 64-bit segments to a guest "
				 "(KVM_CAP_MIPS_64BIT %ld)", bits);
	if (check_cap(vm, KVM_CAP_MIPS_FPU) <= 0)
		return dune_fail(-ENODEV, "this KVM gives no FPU to a guest (KVM_CAP_MIPS_FPU)");
	mv->has_msa = check_cap(vm, KVM_CAP_MIPS_MSA) > 0;
	return 0;
}

/* The KSEG0 address of a place in the dune area (its memslot maps below 512 MiB). */
uint64_t mips_kseg0(struct dune_vm *vm, const void *hva)
{
	return MIPS_KSEG0 | (vm->area_gpa + ((const uint8_t *)hva - vm->area));
}

static int enable_cap(struct dune_vcpu *vcpu, uint32_t cap)
{
	struct kvm_enable_cap e = { .cap = cap };

	return dune_ioctl(vcpu->fd, KVM_ENABLE_CAP, &e);
}

/* CP0 as the guest half expects it: 16 KiB pages, RI/XI where the CPU has them, rdhwr. */
static int set_cp0(struct dune_vcpu *vcpu)
{
	struct mips_vm *mv = mips_vm(vcpu->vm);
	uint64_t config3 = 0;
	int err = mips_get_one(vcpu, KVM_REG_MIPS_CP0_CONFIG3, &config3);

	if (err)
		return dune_fail(err, "KVM_GET_ONE_REG(Config3): %s", dune_strerror(err));
	/* glibc reads TLS with rdhwr $29: without UserLocal Linux emulates it, dune does not */
	if (!(config3 & CONFIG3_ULRI))
		return dune_fail(-ENODEV, "the guest CPU has no UserLocal register (Config3.ULRI), "
				 "which the program's TLS needs");
	mv->rixi = !!(config3 & CONFIG3_RXI);
	err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_EBASE,
			   mips_kseg0(vcpu->vm, mips_vcpu(vcpu)->block));
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_PAGEMASK, PAGEMASK_16K);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_PAGEGRAIN, mv->rixi ?
				   PAGEGRAIN_RIE | PAGEGRAIN_XIE | PAGEGRAIN_IEC : 0);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_WIRED, 0);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_ENTRYHI, 0);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_HWRENA, HWRENA_USER);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_STATUS, MIPS_USER_STATUS | ST_EXL);
	return err ? dune_fail(err, "KVM_SET_ONE_REG of the guest CP0: %s", dune_strerror(err)) : 0;
}

/*
 * MSA for the guest: KVM_CAP_MIPS_MSA, and Config5.MSAEn, which Linux sets
 * for a thread at its first MSA instruction; without it that instruction
 * takes the MSA Disabled exception (SIGILL).
 */
static int enable_msa(struct dune_vcpu *vcpu)
{
	uint64_t config5 = 0;
	int err = enable_cap(vcpu, KVM_CAP_MIPS_MSA);

	if (!err)
		err = mips_get_one(vcpu, KVM_REG_MIPS_CP0_CONFIG5, &config5);
	if (!err)
		err = mips_set_one(vcpu, KVM_REG_MIPS_CP0_CONFIG5, config5 | CONFIG5_MSAEN);
	return err;
}

/* A new KVM vCPU (vm->lock held): its block, CP0, FPU and MSA. */
int arch_vcpu_init(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	struct mips_vcpu *mc = mips_vcpu(vcpu);
	uint64_t *top = mips_pgd(vm);
	int err;

	if (!top)
		return dune_fail(-ENOMEM, "dune area full");
	mc->block = vm->area + DUNE_AREA_GUEST + (size_t)vcpu->id * MIPS_BLOCK_SIZE;
	mc->frame = mips_block_frame(mc->block);
	mips_block_init(mc->block, mips_table_entry(mips_vm(vm)->pgd_gpa),
			MIPS_KSEG1 | MIPS_EXIT_GPA);
	err = enable_cap(vcpu, KVM_CAP_MIPS_FPU);
	if (err)
		return dune_fail(err, "KVM_ENABLE_CAP(KVM_CAP_MIPS_FPU): %s", dune_strerror(err));
	if (mips_vm(vm)->has_msa && enable_msa(vcpu))
		mips_vm(vm)->has_msa = 0;	/* MSA stays off: its instructions are SIGILL */
	return set_cp0(vcpu);
}

/* Entering again after dune_escape(): arch_enter() notes the thread's state anew. */
int arch_vcpu_reenter(struct dune_vcpu *vcpu)
{
	(void)vcpu;
	return 0;
}
