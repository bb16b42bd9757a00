// SPDX-License-Identifier: MIT
/* x86-64 4-level guest page tables, 4 KiB pages, GVA == HVA -> memslot GPA. */
#include <errno.h>
#include <sys/mman.h>

#include "dune-internal.h"
#include "x86.h"

#define LEVELS		4
#define USER_VA_END	(1ULL << 47)

static unsigned int pt_index(uintptr_t va, int level)
{
	return (va >> (12 + 9 * level)) & 511;
}

static uint64_t *pml4(struct dune_vm *vm)
{
	struct x86_vm *xv = x86_vm(vm);

	if (!xv->pml4)
		xv->pml4 = dune_pt_alloc(vm, &xv->pml4_gpa);
	return xv->pml4;
}

/* The last-level table for va, created on the way if create is set. */
static uint64_t *leaf_table(struct dune_vm *vm, uintptr_t va, int create)
{
	uint64_t *table = pml4(vm);

	for (int level = LEVELS - 1; table && level > 0; level--) {
		uint64_t *entry = &table[pt_index(va, level)];
		uint64_t gpa;

		if (!(*entry & PTE_P)) {
			if (!create || !dune_pt_alloc(vm, &gpa))
				return NULL;
			*entry = gpa | PTE_P | PTE_W | PTE_U;
		}
		table = dune_pt_hva(vm, *entry & PTE_ADDR);
	}
	return table;
}

static uint64_t pte_flags(int prot)
{
	uint64_t flags = PTE_P | PTE_U;

	if (prot & PROT_WRITE)
		flags |= PTE_W;
	if (!(prot & PROT_EXEC))
		flags |= PTE_NX;
	return flags;
}

/* Set len bytes of PTEs from va; returns 1 if a present entry changed. */
static int set_ptes(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, uint64_t flags)
{
	int changed = 0;

	if (va + len > USER_VA_END || va + len < va)
		return -EINVAL;
	for (uintptr_t end = va + len; va < end;) {
		uint64_t *table = leaf_table(vm, va, 1);

		if (!table)
			return -ENOMEM;
		for (unsigned int i = pt_index(va, 0); i < 512 && va < end; i++) {
			uint64_t pte = (gpa & PTE_ADDR) | flags;

			if ((table[i] & PTE_P) && table[i] != pte)
				changed = 1;
			table[i] = pte;
			va += 4096;
			gpa += 4096;
		}
	}
	return changed;
}

int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot)
{
	return set_ptes(vm, va, gpa, len, pte_flags(prot));
}

/* Guest-kernel pages: supervisor, except the pages CPL3 code must run. */
int x86_map_supervisor(struct dune_vm *vm, uintptr_t va, int user)
{
	uintptr_t off = va - (uintptr_t)vm->area;

	return set_ptes(vm, va, vm->area_gpa + off, 4096,
			PTE_P | (user ? PTE_U : PTE_W)) < 0 ? -ENOMEM : 0;
}

int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = va + len < USER_VA_END ? va + len : USER_VA_END;
	int changed = 0;

	while (va < end) {
		uint64_t *table = leaf_table(vm, va, 0);
		uintptr_t next = (va | ((1UL << 21) - 1)) + 1;

		for (; table && va < end && va < next; va += 4096) {
			uint64_t *pte = &table[pt_index(va, 0)];

			changed |= *pte & PTE_P;
			*pte = 0;
		}
		va = next;
	}
	return changed;
}

/*
 * Clear every leaf but keep the tables: under shadow paging KVM caches
 * shadow pages by the guest-physical frame of each table and never sees our
 * writes to them, so a table page must never come back as another table.
 * (Leaves are safe: the host's munmap/mprotect zap KVM's copies through its
 * MMU notifier, and a fault re-reads the guest PTE.)
 */
static void clear_leaves(struct dune_vm *vm, uint64_t *table, int level)
{
	for (int i = 0; i < 512; i++) {
		if (level == 0)
			table[i] = 0;
		else if (table[i] & PTE_P)
			clear_leaves(vm, dune_pt_hva(vm, table[i] & PTE_ADDR), level - 1);
	}
}

int arch_pt_reset(struct dune_vm *vm)
{
	clear_leaves(vm, pml4(vm), LEVELS - 1);
	return x86_map_guest_kernel(vm);
}
