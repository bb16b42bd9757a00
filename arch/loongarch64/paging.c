// SPDX-License-Identifier: MIT
/*
 * LoongArch64 guest page tables, GVA == HVA -> memslot GPA, walked by the
 * guest's TLB refill (guest.S) with lddir/ldpte: three levels of 16 KiB
 * tables (la-guest.h), 16 KiB leaves only (a 32 MiB huge page would need
 * memslots aligned to 32 MiB, which lib/mem.c does not promise).  An empty
 * directory entry points to the invalid table of the next level.  The
 * guest kernel itself needs no entry: it runs in the DMW windows.
 */
#include <errno.h>

#include "dune-internal.h"
#include "la.h"

/* A directory table whose entries all point to the invalid table below. */
static uint64_t *new_dir(struct dune_vm *vm, uint64_t *gpa, uint64_t invalid)
{
	uint64_t *t = dune_pt_alloc(vm, gpa);

	for (unsigned int i = 0; t && i < LA_PT_ENTRIES; i++)
		t[i] = invalid;
	return t;
}

/* The invalid tables and the two roots, once per VM (a fork child inherits them). */
int la_pt_init(struct dune_vm *vm)
{
	struct la_vm *lv = la_vm(vm);

	if (lv->pgd)
		return 0;
	if (!dune_pt_alloc(vm, &lv->invalid_pte) ||
	    !new_dir(vm, &lv->invalid_pmd, lv->invalid_pte) ||
	    !new_dir(vm, &lv->pgdh_gpa, lv->invalid_pmd))
		return -ENOMEM;
	lv->pgd = new_dir(vm, &lv->pgd_gpa, lv->invalid_pmd);
	return lv->pgd ? 0 : -ENOMEM;
}

/* The PTE table for va, made with its PMD table if create is set. */
static uint64_t *pte_table(struct dune_vm *vm, uintptr_t va, int create)
{
	struct la_vm *lv = la_vm(vm);
	uint64_t *pgde = &lv->pgd[la_pt_index(va, 2)], *pmd, *pmde, gpa;

	if (*pgde == lv->invalid_pmd) {
		if (!create || !new_dir(vm, &gpa, lv->invalid_pte))
			return NULL;
		*pgde = gpa;
	}
	pmd = dune_pt_hva(vm, *pgde);
	pmde = &pmd[la_pt_index(va, 1)];
	if (*pmde == lv->invalid_pte) {
		if (!create || !dune_pt_alloc(vm, &gpa))
			return NULL;
		*pmde = gpa;
	}
	return dune_pt_hva(vm, *pmde);
}

static int valid_range(uintptr_t va, size_t len)
{
	return va + len >= va && va + len <= (1ULL << LA_VA_BITS);
}

/* Returns 1 if a valid entry changed (the guest TLB may hold it). */
int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot)
{
	int changed = 0;

	if (!valid_range(va, len))
		return -EINVAL;
	if (la_pt_init(vm))
		return -ENOMEM;
	for (uintptr_t end = va + len; va < end; va += DUNE_PAGE_SIZE, gpa += DUNE_PAGE_SIZE) {
		uint64_t *pt = pte_table(vm, va, 1), *pte, value = la_pte(gpa, prot, 1);

		if (!pt)
			return -ENOMEM;
		pte = &pt[la_pt_index(va, 0)];
		if ((*pte & LA_PTE_V) && *pte != value)
			changed = 1;
		*pte = value;
	}
	return changed;
}

int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = valid_range(va, len) ? va + len : 1ULL << LA_VA_BITS;
	int changed = 0;

	if (!la_vm(vm)->pgd)
		return 0;
	for (; va < end; va += DUNE_PAGE_SIZE) {
		uint64_t *pt = pte_table(vm, va, 0);

		if (!pt) {	/* nothing up to the next PTE table */
			va = (va | ((DUNE_PAGE_SIZE << LA_PT_BITS) - 1)) + 1 - DUNE_PAGE_SIZE;
			continue;
		}
		changed |= pt[la_pt_index(va, 0)] & LA_PTE_V;
		pt[la_pt_index(va, 0)] = 0;
	}
	return changed;
}

int arch_is_mapped(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = valid_range(va, len) ? va + len : 1ULL << LA_VA_BITS;

	if (!la_vm(vm)->pgd)
		return 0;
	for (; va < end; va += DUNE_PAGE_SIZE) {
		uint64_t *pt = pte_table(vm, va, 0);

		if (!pt)
			va = (va | ((DUNE_PAGE_SIZE << LA_PT_BITS) - 1)) + 1 - DUNE_PAGE_SIZE;
		else if (pt[la_pt_index(va, 0)] & LA_PTE_V)
			return 1;
	}
	return 0;
}

/*
 * Clear every leaf but keep the tables, as on x86-64 (KVM may cache what a
 * table page held); the guest kernel has no entries to put back.
 */
int arch_pt_reset(struct dune_vm *vm)
{
	struct la_vm *lv = la_vm(vm);

	if (la_pt_init(vm))
		return -ENOMEM;
	for (unsigned int i = 0; i < LA_PT_ENTRIES; i++) {
		uint64_t *pmd = dune_pt_hva(vm, lv->pgd[i]);

		if (lv->pgd[i] == lv->invalid_pmd)
			continue;
		for (unsigned int j = 0; j < LA_PT_ENTRIES; j++) {
			uint64_t *pt = dune_pt_hva(vm, pmd[j]);

			for (unsigned int k = 0; pmd[j] != lv->invalid_pte && k < LA_PT_ENTRIES; k++)
				pt[k] = 0;
		}
	}
	return 0;
}

static int table_empty(const uint64_t *t, uint64_t empty, uint64_t mask)
{
	for (unsigned int i = 0; i < LA_PT_ENTRIES; i++)
		if ((t[i] & mask) != empty)
			return 0;
	return 1;
}

/* Unlink PTE tables without a valid entry, then PMD tables without a PTE table. */
void arch_pt_prune(struct dune_vm *vm)
{
	struct la_vm *lv = la_vm(vm);

	for (unsigned int i = 0; lv->pgd && i < LA_PT_ENTRIES; i++) {
		uint64_t *pmd = dune_pt_hva(vm, lv->pgd[i]);

		if (lv->pgd[i] == lv->invalid_pmd)
			continue;
		for (unsigned int j = 0; j < LA_PT_ENTRIES; j++) {
			if (pmd[j] == lv->invalid_pte ||
			    !table_empty(dune_pt_hva(vm, pmd[j]), 0, LA_PTE_V))
				continue;
			dune_pt_free(vm, pmd[j]);
			pmd[j] = lv->invalid_pte;
		}
		if (table_empty(pmd, lv->invalid_pte, ~0ULL)) {
			dune_pt_free(vm, lv->pgd[i]);
			lv->pgd[i] = lv->invalid_pmd;
		}
	}
}
