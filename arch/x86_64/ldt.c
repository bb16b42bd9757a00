// SPDX-License-Identifier: MIT
/*
 * The program's LDT (modify_ldt(2)) inside the guest.  The kernel keeps the
 * real one, per process; the guest's LDTR points at a copy in the dune area
 * (supervisor pages: the CPU reads descriptor tables as supervisor), read
 * back from the kernel after every write, so that the kernel's checks and
 * its layout are the ones in force.  Every vCPU of the VM loads the new
 * LDTR before it runs again.  Host loop: raw syscalls only.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define LDT_READ	0

/* The guest's LDTR: the copy, or none (and its GDT descriptor, for consistency). */
void x86_fill_ldt(struct dune_vcpu *vcpu, struct kvm_segment *ldt)
{
	struct x86_vm *xv = x86_vm(vcpu->vm);
	uint64_t *gdt = (uint64_t *)(x86_vcpu(vcpu)->kv + KV_GDT);
	uint64_t base = (uint64_t)xv->ldt, limit = xv->ldt_entries * LDT_ENTRY_SIZE - 1;

	x86_vcpu(vcpu)->ldt_gen = xv->ldt_gen;
	if (!xv->ldt_entries) {
		*ldt = (struct kvm_segment){ .unusable = 1 };
		return;
	}
	gdt[GDT_LDT / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x82ULL << 40) |
			   (((base >> 24) & 0xff) << 56);
	gdt[GDT_LDT / 8 + 1] = base >> 32;
	*ldt = (struct kvm_segment){ .base = base, .limit = limit, .selector = GDT_LDT,
				     .type = 2, .present = 1 };
}

/* Before KVM_RUN: another thread changed the LDT since this vCPU loaded it. */
long x86_sync_ldt(struct dune_vcpu *vcpu)
{
	struct kvm_sregs *s;

	if (x86_vcpu(vcpu)->ldt_gen == x86_vm(vcpu->vm)->ldt_gen)
		return 0;
	s = x86_sregs_to_change(vcpu);
	if (!s)
		return -EIO;
	x86_fill_ldt(vcpu, &s->ldt);
	return 0;
}

/* modify_ldt(2): the kernel's, then its table copied for the guest. */
long x86_modify_ldt(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct dune_vm *vm = vcpu->vm;
	struct x86_vm *xv = x86_vm(vm);
	long ret = sys3(SYS_modify_ldt, sys->args[0], sys->args[1], sys->args[2]);
	long n;

	if (ret || sys->args[0] == LDT_READ || sys->args[0] == 2)	/* failed, or a read */
		return ret;
	dune_lock(&vm->lock);
	if (!xv->ldt) {
		uint8_t *ldt = dune_area_alloc(vm, LDT_PAGES);

		if (!ldt || x86_map_guest_pages(vm, ldt, LDT_PAGES)) {
			dune_unlock(&vm->lock);
			dune_log("modify_ldt: no room for the guest's LDT; its segments fault inside dune");
			return ret;
		}
		xv->ldt = ldt;
	}
	n = sys3(SYS_modify_ldt, LDT_READ, (long)xv->ldt, LDT_ENTRIES * LDT_ENTRY_SIZE);
	if (n >= 0) {
		xv->ldt_entries = n / LDT_ENTRY_SIZE;
		xv->ldt_gen++;
	}
	dune_unlock(&vm->lock);
	(void)x86_sync_ldt(vcpu);	/* failed: the next KVM_RUN tries again */
	return ret;
}
