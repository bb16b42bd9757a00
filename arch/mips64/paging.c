// SPDX-License-Identifier: MIT
/*
 * MIPS64 guest page tables, GVA == HVA -> memslot GPA, walked by the guest
 * half's XTLB refill handler (guest.S): three levels of 2048 entries in
 * 16 KiB pages.  A table's entry is the XKPHYS address of the next table (0:
 * none), a leaf is the EntryLo of its page (0: invalid), so the handler
 * loads the even/odd pair of a TLB entry as it is.  Only 16 KiB pages: the
 * refill handler writes one PageMask.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mips.h"

#define ENTRIES		(1U << MIPS_PT_SHIFT)
#define LEVELS		3
#define USER_VA_END	(1ULL << MIPS_VA_BITS)

_Static_assert(ENTRIES * sizeof(uint64_t) == DUNE_PAGE_SIZE, "a table is one page");
_Static_assert(DUNE_PAGE_SHIFT + LEVELS * MIPS_PT_SHIFT == MIPS_VA_BITS, "levels cover user space");

static unsigned int pt_index(uintptr_t va, int level)
{
	return (va >> (DUNE_PAGE_SHIFT + MIPS_PT_SHIFT * level)) & (ENTRIES - 1);
}

uint64_t *mips_pgd(struct dune_vm *vm)
{
	struct mips_vm *mv = mips_vm(vm);

	if (!mv->pgd)
		mv->pgd = dune_pt_alloc(vm, &mv->pgd_gpa);
	return mv->pgd;
}

static uint64_t *table_of(struct dune_vm *vm, uint64_t entry)
{
	return dune_pt_hva(vm, entry & ~MIPS_XKPHYS_CACHED);
}

/* The leaf table of va, with the tables above it if create is set. */
static uint64_t *leaf_table(struct dune_vm *vm, uintptr_t va, int create)
{
	uint64_t *table = mips_pgd(vm);

	for (int level = LEVELS - 1; table && level > 0; level--) {
		uint64_t *entry = &table[pt_index(va, level)];
		uint64_t gpa;

		if (!*entry) {
			if (!create || !dune_pt_alloc(vm, &gpa))
				return NULL;
			*entry = mips_table_entry(gpa);
		}
		table = table_of(vm, *entry);
	}
	return table;
}

/* Map len bytes from va; returns 1 if a valid entry changed (the TLB may hold it). */
int arch_map(struct dune_vm *vm, uintptr_t va, uint64_t gpa, size_t len, int prot)
{
	int changed = 0;

	if (va + len > USER_VA_END || va + len < va)
		return -EINVAL;
	for (uintptr_t end = va + len; va < end;) {
		uint64_t *pt = leaf_table(vm, va, 1);

		if (!pt)
			return -ENOMEM;
		for (unsigned int i = pt_index(va, 0); i < ENTRIES && va < end; i++) {
			uint64_t pte = mips_pte(gpa, prot);

			if ((pt[i] & ENTRYLO_V) && pt[i] != pte)
				changed = 1;
			pt[i] = pte;
			va += DUNE_PAGE_SIZE;
			gpa += DUNE_PAGE_SIZE;
		}
	}
	return changed;
}

int arch_unmap(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = va + len < USER_VA_END ? va + len : USER_VA_END;
	int changed = 0;

	while (va < end) {
		uint64_t *pt = leaf_table(vm, va, 0);
		uintptr_t next = (va | (DUNE_PAGE_SIZE * ENTRIES - 1)) + 1;

		for (; pt && va < end && va < next; va += DUNE_PAGE_SIZE) {
			changed |= pt[pt_index(va, 0)] & ENTRYLO_V ? 1 : 0;
			pt[pt_index(va, 0)] = 0;
		}
		va = next;
	}
	return changed;
}

int arch_is_mapped(struct dune_vm *vm, uintptr_t va, size_t len)
{
	uintptr_t end = va + len < USER_VA_END ? va + len : USER_VA_END;

	for (; va < end; va += DUNE_PAGE_SIZE) {
		uint64_t *pt = leaf_table(vm, va, 0);

		if (!pt)
			va |= DUNE_PAGE_SIZE * ENTRIES - 1;	/* on to the next table */
		else if (pt[pt_index(va, 0)] & ENTRYLO_V)
			return 1;
	}
	return 0;
}

/*
 * Clear every leaf but keep the tables, as on x86-64 (the guest TLB may hold
 * entries: the caller's flush drops them; the guest kernel is in unmapped
 * KSEG0 and needs no entry).
 */
static void clear_leaves(struct dune_vm *vm, uint64_t *table, int level)
{
	for (unsigned int i = 0; i < ENTRIES; i++) {
		if (level == 0)
			table[i] = 0;
		else if (table[i])
			clear_leaves(vm, table_of(vm, table[i]), level - 1);
	}
}

int arch_pt_reset(struct dune_vm *vm)
{
	uint64_t *top = mips_pgd(vm);

	if (!top)
		return -ENOMEM;
	clear_leaves(vm, top, LEVELS - 1);
	return 0;
}

/* Unlink the tables below table that map nothing; returns 1 if table maps nothing. */
static int prune(struct dune_vm *vm, uint64_t *table, int level)
{
	int empty = 1;

	for (unsigned int i = 0; i < ENTRIES; i++) {
		if (!table[i])
			continue;
		if (level > 0 && prune(vm, table_of(vm, table[i]), level - 1)) {
			dune_pt_free(vm, table[i] & ~MIPS_XKPHYS_CACHED);
			table[i] = 0;
		} else {
			empty = 0;
		}
	}
	return empty;
}

void arch_pt_prune(struct dune_vm *vm)
{
	if (mips_pgd(vm))
		(void)prune(vm, mips_pgd(vm), LEVELS - 1);	/* the top table itself stays */
}
