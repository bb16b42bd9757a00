// SPDX-License-Identifier: MIT
/*
 * Protection keys in the guest: the keys are the host's (pkey_alloc and
 * pkey_mprotect are forwarded, lib/mem.c puts each page's key in its PTE),
 * the rights are the guest's PKRU, which the guest's WRPKRU changes and
 * KVM swaps with the host's.  What the kernel itself does to the calling
 * thread's PKRU is done here to the guest's: pkey_alloc's initial rights,
 * and the rights a signal handler starts with.  Host loop: raw syscalls only.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define PKRU_AD			0x1	/* access disabled (PKEY_DISABLE_ACCESS) */
#define PKRU_WD			0x2	/* write disabled (PKEY_DISABLE_WRITE) */
#define PKRU_BITS_PER_KEY	2
#define NR_PKEYS		16
/* Linux's init_pkru_value: key 0 open, every other key access-disabled. */
#define PKRU_INIT		0x55555554U
#define XSTATE_BV		512	/* offset of the XSAVE header's XSTATE_BV */

int x86_vm_has_pkeys(struct dune_vm *vm)
{
	return !!(x86_vm(vm)->cr4 & X86_CR4_PKE);
}

uint32_t x86_rdpkru(void)
{
	uint32_t pkru;

	asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	return pkru;
}

static void wrpkru(uint32_t pkru)
{
	asm volatile("wrpkru" :: "a"(pkru), "c"(0), "d"(0) : "memory");
}

/*
 * Before KVM_RUN: the host thread's PKRU must allow every key.  KVM backs a
 * guest page by get_user_pages() on the host thread, which checks the page's
 * key against that PKRU (a key-0 default of 0x55555554 refuses every other
 * key), while the program's rights are the guest's PKRU.  The kernel writes
 * the host thread's PKRU in pkey_alloc (x86_pkey_alloc gives the guest's the
 * same rights) and for a host signal handler.
 */
void x86_open_host_pkru(struct dune_vm *vm)
{
	if (x86_vm(vm)->host_pkeys && x86_rdpkru())
		wrpkru(0);
}

/* PKRU in a standard-format XSAVE image (KVM_GET_XSAVE's), and its XSTATE_BV bit. */
void x86_xsave_set_pkru(struct dune_vm *vm, uint8_t *image, uint32_t pkru)
{
	memcpy(image + x86_vm(vm)->pkru_offset, &pkru, sizeof(pkru));
	image[XSTATE_BV + 1] |= XFEATURE_PKRU >> 8;
}

static uint32_t xsave_pkru(struct dune_vm *vm, const uint8_t *image)
{
	uint32_t pkru = 0;	/* PKRU's init value, if XSTATE_BV says init */

	if (image[XSTATE_BV + 1] & (XFEATURE_PKRU >> 8))
		memcpy(&pkru, image + x86_vm(vm)->pkru_offset, sizeof(pkru));
	return pkru;
}

/*
 * Natively the kernel's accesses to user memory obey the caller's PKRU: a
 * read(2) into a page whose key forbids writes fails with EFAULT.  The
 * program's forwarded call gets the guest's rights, key 0 (dune's own stack
 * and code too) left open.  Once the program has keys only: reading the
 * guest's PKRU takes a KVM_GET_XSAVE, as WRPKRU does not exit.
 */
void arch_call_begin(struct dune_vcpu *vcpu)
{
	struct x86_vcpu *xc = x86_vcpu(vcpu);

	if (!x86_vm(vcpu->vm)->keys_used || sys3(SYS_ioctl, vcpu->fd, KVM_GET_XSAVE, &xc->xsave))
		return;
	wrpkru(xsave_pkru(vcpu->vm, (const uint8_t *)xc->xsave.region) & ~3U);
}

void arch_call_end(struct dune_vcpu *vcpu)
{
	if (x86_vm(vcpu->vm)->keys_used)
		x86_open_host_pkru(vcpu->vm);
}

/*
 * pkey_alloc(2): the kernel sets the new key's rights in the caller's PKRU
 * (arch_set_user_pkey_access()), the guest's here.  A guest without PKE has
 * a CPU without keys: ENOSPC, as pkey_alloc gives natively without OSPKE.
 */
long x86_pkey_alloc(struct dune_vcpu *vcpu, const struct dune_syscall *sys)
{
	struct kvm_xsave *xsave = &x86_vcpu(vcpu)->xsave;
	uint8_t *image = (uint8_t *)xsave->region;
	uint32_t rights = 0, pkru;
	long pkey, err;

	if (!x86_vm_has_pkeys(vcpu->vm))
		return -ENOSPC;
	pkey = dune_forward6(vcpu->vm, sys->nr, sys->args[0], sys->args[1], 0, 0, 0, 0);
	if (pkey < 0 || pkey >= NR_PKEYS)
		return pkey;
	if (sys->args[1] & PKRU_AD)
		rights |= PKRU_AD;
	if (sys->args[1] & PKRU_WD)
		rights |= PKRU_WD;
	err = sys3(SYS_ioctl, vcpu->fd, KVM_GET_XSAVE, xsave);
	if (!err) {
		pkru = xsave_pkru(vcpu->vm, image) & ~(3U << (PKRU_BITS_PER_KEY * pkey));
		x86_xsave_set_pkru(vcpu->vm, image, pkru | rights << (PKRU_BITS_PER_KEY * pkey));
		err = sys3(SYS_ioctl, vcpu->fd, KVM_SET_XSAVE, xsave);
	}
	if (err) {		/* the key would not have the rights asked for */
		dune_forward6(vcpu->vm, SYS_pkey_free, pkey, 0, 0, 0, 0, 0);
		return err;
	}
	x86_vm(vcpu->vm)->keys_used = 1;
	return pkey;
}

/* Give the guest's PKRU the access-disable bits of mask (the vCPU's image). */
static long guest_pkru_disable(struct dune_vcpu *vcpu, uint32_t mask)
{
	struct kvm_xsave *xsave = &x86_vcpu(vcpu)->xsave;
	uint8_t *image = (uint8_t *)xsave->region;
	long err = sys3(SYS_ioctl, vcpu->fd, KVM_GET_XSAVE, xsave);

	if (!err) {
		x86_xsave_set_pkru(vcpu->vm, image, xsave_pkru(vcpu->vm, image) | mask);
		err = sys3(SYS_ioctl, vcpu->fd, KVM_SET_XSAVE, xsave);
	}
	return err;
}

/*
 * An mmap or mprotect with PROT_EXEC alone, which dune gives the host as
 * PROT_READ | PROT_EXEC (KVM cannot back a page its host mapping does not
 * let it read): the execute-only key the guest's page gets, or -1.  As
 * Linux's execute_only_pkey(), one key per process, allocated the first time
 * (from the host, so that pkey_alloc never returns it), access-disabled in
 * the calling thread's PKRU each time.  Without PKE in the guest there is no
 * key: the pages are readable, as on a CPU without keys.
 */
int arch_exec_only_pkey(struct dune_vcpu *vcpu)
{
	struct dune_vm *vm = vcpu->vm;
	long pkey = vm->exec_only_pkey;

	if (!x86_vm_has_pkeys(vm))
		return -1;
	if (!pkey)
		pkey = dune_forward6(vm, SYS_pkey_alloc, 0, PKRU_AD, 0, 0, 0, 0);
	if (pkey <= 0 || pkey >= NR_PKEYS)
		return -1;	/* no key left: Linux then gives key 0 too */
	vm->exec_only_pkey = pkey;
	x86_vm(vm)->keys_used = 1;
	return guest_pkru_disable(vcpu, PKRU_AD << (PKRU_BITS_PER_KEY * pkey)) ? -1 : pkey;
}

/*
 * A handler starts with Linux's initial PKRU (fpu__clear_user_states()); the
 * frame's XSAVE image, already written, holds the interrupted one, which
 * rt_sigreturn restores.  image is the vCPU's current state.
 */
int x86_pkru_for_handler(struct dune_vcpu *vcpu, uint8_t *image)
{
	if (!x86_vm_has_pkeys(vcpu->vm))
		return 0;
	x86_xsave_set_pkru(vcpu->vm, image, PKRU_INIT);
	return dune_ioctl(vcpu->fd, KVM_SET_XSAVE, &x86_vcpu(vcpu)->xsave) ? -EIO : 0;
}
