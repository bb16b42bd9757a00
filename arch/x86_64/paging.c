// SPDX-License-Identifier: MIT
/*
 * x86-64 4-level guest page tables, GVA == HVA -> memslot GPA.  A 2 MiB
 * range that one call maps whole (one mapping, one protection, one memslot:
 * GPA == HVA mod 2 MiB) gets a 2 MiB page; anything else 4 KiB pages.
 */
#include <errno.h>
#include <sys/mman.h>

#include "dune-internal.h"
#include "x86.h"

#define LEVELS		4
#define USER_VA_END	(1ULL << 47)
#define HUGE		(1UL << 21)
#define TABLE_FLAGS	(PTE_P | PTE_W | PTE_U)	/* leaves decide the access */

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

static uint64_t *table_of(struct dune_vm *vm, uint64_t entry)
{
	return dune_pt_hva(vm, entry & PTE_ADDR);
}

/* The page-directory entry for va, with the tables above it if create is set. */
static uint64_t *pde_of(struct dune_vm *vm, uintptr_t va, int create)
{
	uint64_t *table = pml4(vm);

	for (int level = LEVELS - 1; table && level > 1; level--) {
		uint64_t *entry = &table[pt_index(va, level)];
		uint64_t gpa;

		if (!(*entry & PTE_P)) {
			if (!create || !dune_pt_alloc(vm, &gpa))
				return NULL;
			*entry = gpa | TABLE_FLAGS;
		}
		table = table_of(vm, *entry);
	}
	return table ? &table[pt_index(va, 1)] : NULL;
}

/* A 2 MiB page becomes a table of 512 pages with its flags (a present entry changes). */
static int split(struct dune_vm *vm, uint64_t *pde)
{
	uint64_t gpa, *pt = dune_pt_alloc(vm, &gpa);

	if (!pt)
		return -ENOMEM;
	for (int i = 0; i < 512; i++)
		pt[i] = (*pde & ~PTE_PS) + i * DUNE_PAGE_SIZE;
	*pde = gpa | TABLE_FLAGS;
	return 1;
}

/* The page table under pde, made if needed; *changed is set if a 2 MiB page split. */
static uint64_t *pt_of(struct dune_vm *vm, uint64_t *pde, int *changed)
{
	uint64_t gpa;

	if (*pde & PTE_PS) {
		if (split(vm, pde) < 0)
			return NULL;
		*changed = 1;
	} else if (!(*pde & PTE_P)) {
		if (!dune_pt_alloc(vm, &gpa))
			return NULL;
		*pde = gpa | TABLE_FLAGS;
	}
	return table_of(vm, *pde);
}

static uint64_t pte_flags(int prot)
{
	uint64_t flags = PTE_P | PTE_U;

	if (prot & PROT_WRITE)
		flags |= PTE_W;
	if (!(prot & PROT_EXEC))
		flags |= PTE_NX;
	return flags | (uint64_t)((prot >> DUNE_PROT_PKEY_SHIFT) & 15) << PTE_PKEY_SHIFT;
}

static void set_entry(uint64_t *entry, uint64_t value, int *changed)
{
	if ((*entry & PTE_P) && *entry != value)
		*changed = 1;
	*entry = value;
}

/*
 * Map len bytes from va; returns 1 if a present entry changed.  A whole
 * 2 MiB gets a 2 MiB page if huge is set, unless a page table is already
 * there: a table page stays one (see clear_leaves).
 */
static int set_ptes(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, uint64_t flags,
		    int huge)
{
	int changed = 0;

	if (va + len > USER_VA_END || va + len < va)
		return -EINVAL;
	for (uintptr_t end = va + len; va < end;) {
		uint64_t *pde = pde_of(vm, va, 1), *pt;

		if (!pde)
			return -ENOMEM;
		if (huge && !(va & (HUGE - 1)) && end - va >= HUGE &&
		    (!(*pde & PTE_P) || (*pde & PTE_PS))) {
			set_entry(pde, (gpa & PTE_ADDR) | flags | PTE_PS, &changed);
			va += HUGE;
			gpa += HUGE;
			continue;
		}
		pt = pt_of(vm, pde, &changed);
		if (!pt)
			return -ENOMEM;
		for (unsigned int i = pt_index(va, 0); i < 512 && va < end; i++) {
			set_entry(&pt[i], (gpa & PTE_ADDR) | flags, &changed);
			va += DUNE_PAGE_SIZE;
			gpa += DUNE_PAGE_SIZE;
		}
	}
	return changed;
}

int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot)
{
	return set_ptes(vm, va, gpa, len, pte_flags(prot), 1);
}

/* Guest-kernel pages: supervisor, except the pages CPL3 code must run. */
int x86_map_supervisor(struct dune_vm *vm, uintptr_t va, int user)
{
	uintptr_t off = va - (uintptr_t)vm->area;

	return set_ptes(vm, va, vm->area_gpa + off, 4096,
			PTE_P | (user ? PTE_U : PTE_W), 0) < 0 ? -ENOMEM : 0;
}

/*
 * Part of a 2 MiB page goes: split it.  Without a page for the table, the
 * whole 2 MiB goes (the rest faults and is mapped again).
 */
int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = va + len < USER_VA_END ? va + len : USER_VA_END;
	int changed = 0;

	while (va < end) {
		uint64_t *pde = pde_of(vm, va, 0), *pt = NULL;
		uintptr_t next = (va | (HUGE - 1)) + 1;

		if (pde && (*pde & PTE_PS) && (!(va & (HUGE - 1)) && end >= next)) {
			*pde = 0;
			changed = 1;
		} else if (pde && (*pde & PTE_P)) {
			pt = pt_of(vm, pde, &changed);
			if (!pt) {
				*pde = 0;
				changed = 1;
			}
		}
		for (; pt && va < end && va < next; va += DUNE_PAGE_SIZE) {
			uint64_t *pte = &pt[pt_index(va, 0)];

			changed |= *pte & PTE_P;
			*pte = 0;
		}
		va = next;
	}
	return changed;
}

/* Is anything of [va, va + len) mapped? */
int arch_is_mapped(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = va + len < USER_VA_END ? va + len : USER_VA_END;

	for (; va < end; va = (va | (HUGE - 1)) + 1) {
		uint64_t *pde = pde_of(vm, va, 0), *pt;

		if (!pde || !(*pde & PTE_P))
			continue;
		if (*pde & PTE_PS)
			return 1;
		pt = table_of(vm, *pde);
		for (uintptr_t at = va; at < end && at < ((va | (HUGE - 1)) + 1); at += DUNE_PAGE_SIZE)
			if (pt[pt_index(at, 0)] & PTE_P)
				return 1;
	}
	return 0;
}

/*
 * Clear every leaf but the guest kernel's, and keep the tables: under shadow
 * paging KVM caches shadow pages by the guest-physical frame of each table
 * and never sees our writes to them, so a table page must never come back
 * as another table until KVM dropped them all (arch_pt_prune).  (Leaves are
 * safe: the host's munmap/mprotect zap KVM's copies through its MMU
 * notifier, and a fault re-reads the guest PTE.)  The guest kernel's pages
 * (all in dune's area) stay: other vCPUs may be running, and without its
 * IDT and stacks a fault of theirs would be a triple fault.
 */
static void clear_leaves(struct dune_vm *vm, uint64_t *table, int level, uintptr_t va)
{
	uintptr_t area = (uintptr_t)vm->area, span = 1UL << (12 + 9 * level);

	for (int i = 0; i < 512; i++) {
		uintptr_t at = va + i * span;

		if (level > 0 && (table[i] & PTE_P) && !(table[i] & PTE_PS))
			clear_leaves(vm, table_of(vm, table[i]), level - 1, at);
		else if (at + span <= area || at >= area + DUNE_AREA_SIZE)
			table[i] = 0;
	}
}

int arch_pt_reset(struct dune_vm *vm)
{
	clear_leaves(vm, pml4(vm), LEVELS - 1, 0);
	return x86_map_guest_kernel(vm);
}

/* Unlink the tables below table that map nothing; returns 1 if table maps nothing. */
static int prune(struct dune_vm *vm, uint64_t *table, int level)
{
	int empty = 1;

	for (int i = 0; i < 512; i++) {
		if (!(table[i] & PTE_P))
			continue;
		if (level > 0 && !(table[i] & PTE_PS) && prune(vm, table_of(vm, table[i]), level - 1)) {
			dune_pt_free(vm, table[i] & PTE_ADDR);
			table[i] = 0;
		} else {
			empty = 0;
		}
	}
	return empty;
}

void arch_pt_prune(struct dune_vm *vm)
{
	(void)prune(vm, pml4(vm), LEVELS - 1);	/* the PML4 itself stays */
}
