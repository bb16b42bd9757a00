// SPDX-License-Identifier: MIT
/*
 * MIPS64 guest page tables without KVM: arch_map/arch_unmap build them in
 * a pool like the dune area's, and a C model of the guest half's XTLB
 * refill (guest.S, run for real by the bare-metal test) walks them to the
 * EntryLo pairs a TLB entry would get.  Run under qemu-user.
 */
#include <sys/mman.h>

#include "check.h"
#include "mips.h"

static struct dune_vm vm;
static struct mips_vm mv;

static uint64_t *hva(uint64_t entry)
{
	return dune_pt_hva(&vm, entry & ~MIPS_XKPHYS_CACHED);
}

/* What guest.S's refill loads for va: the even/odd pair, or 0s for nothing. */
static void refill(uint64_t va, uint64_t lo[2])
{
	uint64_t entry = mips_table_entry(mv.pgd_gpa);

	lo[0] = lo[1] = 0;
	if (va >> MIPS_VA_BITS)
		return;
	for (int level = 2; level > 0; level--) {
		entry = hva(entry)[(va >> (DUNE_PAGE_SHIFT + MIPS_PT_SHIFT * level)) & 2047];
		if (!entry)
			return;
	}
	lo[0] = hva(entry)[(va >> DUNE_PAGE_SHIFT) & 2046];
	lo[1] = hva(entry)[((va >> DUNE_PAGE_SHIFT) & 2046) + 1];
}

#define VA	0x120000000UL
#define GPA	(DUNE_GPA_BASE + 0x40000000UL)
#define PFN(gpa)	(((gpa) >> 12) << ENTRYLO_PFN_SHIFT)

int main(void)
{
	uint64_t lo[2];

	vm.area = mmap(NULL, DUNE_AREA_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(vm.area != MAP_FAILED, "mmap: %s", strerror(errno));
	vm.area_usable = DUNE_AREA_SIZE;
	vm.area_gpa = DUNE_GPA_BASE;
	vm.pt_next = DUNE_AREA_GUEST + arch_area_pages() * DUNE_PAGE_SIZE;
	vm.arch = &mv;

	CHECK(mips_pte(0x12344000, PROT_READ | PROT_WRITE) ==
	      (PFN(0x12344000) | ENTRYLO_C_CACHED | ENTRYLO_V | ENTRYLO_D | ENTRYLO_XI),
	      "rw-: %#lx", (unsigned long)mips_pte(0x12344000, PROT_READ | PROT_WRITE));
	CHECK(mips_pte(0x12344000, PROT_READ | PROT_EXEC) ==
	      (PFN(0x12344000) | ENTRYLO_C_CACHED | ENTRYLO_V), "r-x");
	CHECK(mips_pte(0x12344000, PROT_NONE) == 0, "PROT_NONE is invalid");

	CHECK(arch_map(&vm, VA, GPA, 3 * DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE) == 0,
	      "a first mapping changes no valid entry");
	CHECK(vm.stats.pt_pages == 3, "three levels: %lu tables", (unsigned long)vm.stats.pt_pages);
	refill(VA, lo);
	CHECK(lo[0] == mips_pte(GPA, PROT_READ | PROT_WRITE) &&
	      lo[1] == mips_pte(GPA + DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE),
	      "pair: %#lx %#lx", (unsigned long)lo[0], (unsigned long)lo[1]);
	refill(VA + 2 * DUNE_PAGE_SIZE, lo);
	CHECK(lo[0] == mips_pte(GPA + 2 * DUNE_PAGE_SIZE, PROT_READ | PROT_WRITE) && lo[1] == 0,
	      "the third page and its unmapped neighbour");
	refill(VA + (1UL << 36), lo);
	CHECK(lo[0] == 0 && lo[1] == 0, "nothing under another top-level entry");
	refill(1UL << MIPS_VA_BITS, lo);
	CHECK(lo[0] == 0, "nothing beyond 47 bits");
	CHECK(arch_map(&vm, 1UL << MIPS_VA_BITS, GPA, DUNE_PAGE_SIZE, PROT_READ) == -EINVAL,
	      "beyond the user segment");

	CHECK(arch_map(&vm, VA, GPA, DUNE_PAGE_SIZE, PROT_READ) == 1, "mprotect changes an entry");
	refill(VA, lo);
	CHECK(!(lo[0] & ENTRYLO_D) && (lo[0] & ENTRYLO_V), "read-only: clean");
	CHECK(arch_map(&vm, VA, GPA, DUNE_PAGE_SIZE, PROT_READ) == 0, "the same again changes nothing");
	CHECK(arch_is_mapped(&vm, VA, DUNE_PAGE_SIZE) && !arch_is_mapped(&vm, VA + (1UL << 30), 1 << 20),
	      "is_mapped");
	CHECK(arch_unmap(&vm, VA, DUNE_PAGE_SIZE) == 1, "unmap of a valid page changes it");
	refill(VA, lo);
	CHECK(lo[0] == 0 && lo[1] != 0, "unmapped: invalid, its pair stays");
	CHECK(arch_unmap(&vm, VA + (1UL << 30), 1UL << 30) == 0, "unmap of nothing");

	/* a high address: other tables */
	CHECK(arch_map(&vm, 0x7ffff0000000UL, GPA, DUNE_PAGE_SIZE, PROT_READ | PROT_EXEC) == 0,
	      "top of the user segment");
	refill(0x7ffff0000000UL, lo);
	CHECK(lo[0] == mips_pte(GPA, PROT_READ | PROT_EXEC), "high page: %#lx", (unsigned long)lo[0]);
	CHECK(vm.stats.pt_pages == 5, "two more tables: %lu", (unsigned long)vm.stats.pt_pages);

	CHECK(arch_pt_reset(&vm) == 0, "reset");
	refill(VA + DUNE_PAGE_SIZE, lo);
	CHECK(lo[0] == 0 && lo[1] == 0 && !arch_is_mapped(&vm, VA, 1UL << 30), "reset clears leaves");
	CHECK(vm.stats.pt_pages == 5, "reset keeps the tables");
	arch_pt_prune(&vm);
	CHECK(vm.stats.pt_pages == 1, "prune leaves the top table: %lu",
	      (unsigned long)vm.stats.pt_pages);
	CHECK(arch_map(&vm, VA, GPA, DUNE_PAGE_SIZE, PROT_READ) == 0, "map after prune");
	refill(VA, lo);
	CHECK(lo[0] == mips_pte(GPA, PROT_READ), "mapped again");
	return finish();
}
