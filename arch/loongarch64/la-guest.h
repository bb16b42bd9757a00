/* SPDX-License-Identifier: MIT */
/*
 * The contract between LoongArch64 guest-kernel code (guest.S) and the C
 * that sets it up and reads it (the host backend here, and the bare-metal
 * test harness in tests/loongarch64/bare/): CSR numbers and fields, the
 * layout of the guest-kernel page and of each vCPU's exit frame.  guest.S
 * includes it too: what is C stays inside #ifndef __ASSEMBLER__.
 */
#ifndef DUNE_LA_GUEST_H
#define DUNE_LA_GUEST_H

/* CSRs (LoongArch Reference Manual, vol. 1, ch. 7) */
#define LA_CSR_CRMD		0x0
#define LA_CSR_PRMD		0x1
#define LA_CSR_EUEN		0x2
#define LA_CSR_ECFG		0x4
#define LA_CSR_ESTAT		0x5
#define LA_CSR_ERA		0x6
#define LA_CSR_BADV		0x7
#define LA_CSR_BADI		0x8
#define LA_CSR_EENTRY		0xc
#define LA_CSR_TLBREHI		0x8e	/* PS in bits 0-5 */
#define LA_CSR_ASID		0x18
#define LA_CSR_PGDL		0x19
#define LA_CSR_PGDH		0x1a
#define LA_CSR_PWCL		0x1c
#define LA_CSR_PWCH		0x1d
#define LA_CSR_STLBPS		0x1e
#define LA_CSR_SAVE0		0x30	/* t0 of the interrupted code */
#define LA_CSR_SAVE1		0x31	/* the vCPU's exit frame (DMW1 address) */
#define LA_CSR_SAVE2		0x32	/* the exit hole (DMW0 address) */
#define LA_CSR_TID		0x40	/* rdtime's counter id: the vDSO's getcpu() */
#define LA_CSR_TLBRENTRY	0x88
#define LA_CSR_TLBRERA		0x8a
#define LA_CSR_TLBRSAVE		0x8b
#define LA_CSR_TLBRPRMD		0x8f
#define LA_CSR_DMW0		0x180
#define LA_CSR_DMW1		0x181

#define LA_CRMD_PLV3		0x3
#define LA_CRMD_IE		(1 << 2)
#define LA_CRMD_DA		(1 << 3)
#define LA_CRMD_PG		(1 << 4)
#define LA_CRMD_DATF_CC		(1 << 5)
#define LA_CRMD_DATM_CC		(1 << 7)
/* The program's mode: PLV3, paging, interrupts on (no line is enabled) */
#define LA_CRMD_USER		(LA_CRMD_PLV3 | LA_CRMD_IE | LA_CRMD_PG | LA_CRMD_DATF_CC | \
				 LA_CRMD_DATM_CC)
#define LA_PRMD_PPLV3		0x3
#define LA_PRMD_PIE		(1 << 2)
#define LA_EUEN_FPE		(1 << 0)
#define LA_EUEN_SXE		(1 << 1)
#define LA_EUEN_ASXE		(1 << 2)

/* Direct-mapped windows of the guest kernel (PLV0 only): VA = window | GPA. */
#define LA_DMW0_BASE		0x8000000000000000	/* strongly-ordered uncached */
#define LA_DMW1_BASE		0x9000000000000000	/* coherent cached */
#define LA_DMW0_VALUE		(LA_DMW0_BASE | 0x01)	/* PLV0, MAT SUC */
#define LA_DMW1_VALUE		(LA_DMW1_BASE | 0x11)	/* PLV0, MAT CC */

/*
 * The exit: one store to a guest-physical hole below 4 GiB, where dune never
 * puts a memslot (lib/mem.c starts them at 4 GiB, or DUNE_GPA_BASE):
 * KVM_EXIT_MMIO.
 */
#define LA_EXIT_GPA		0x10000000

/* The guest-kernel page: general exception entry at 0, TLB refill at 4 KiB. */
#define LA_KA_EENTRY		0x0
#define LA_KA_TLBR		0x1000

/*
 * A vCPU's exit frame: every GPR of the program at the exception (regs[0]
 * unused), its ERA/ESTAT/BADV/BADI/PRMD, and a TLB flush the host asks for
 * on the way back.  The host reads and writes it in place.
 */
#define LA_FRAME_REGS		0x000
#define LA_FRAME_ERA		0x100
#define LA_FRAME_ESTAT		0x108
#define LA_FRAME_BADV		0x110
#define LA_FRAME_BADI		0x118
#define LA_FRAME_PRMD		0x120
#define LA_FRAME_FLUSH		0x128
#define LA_FRAME_SIZE		0x130

#ifndef __ASSEMBLER__
#include <stdint.h>

#include <arch-abi.h>	/* DUNE_PAGE_SHIFT */

struct la_frame {
	uint64_t regs[32];
	uint64_t era, estat, badv, badi, prmd;
	uint64_t flush;
};

_Static_assert(__builtin_offsetof(struct la_frame, era) == LA_FRAME_ERA &&
	       __builtin_offsetof(struct la_frame, estat) == LA_FRAME_ESTAT &&
	       __builtin_offsetof(struct la_frame, badv) == LA_FRAME_BADV &&
	       __builtin_offsetof(struct la_frame, badi) == LA_FRAME_BADI &&
	       __builtin_offsetof(struct la_frame, prmd) == LA_FRAME_PRMD &&
	       __builtin_offsetof(struct la_frame, flush) == LA_FRAME_FLUSH, "guest.S offsets");
#ifdef DUNE_GPA_BASE
_Static_assert(LA_EXIT_GPA + 8 <= DUNE_GPA_BASE, "the exit hole is below lib/mem.c's memslots");
#else
_Static_assert(LA_EXIT_GPA + 8 <= 1ULL << 32, "the exit hole is below lib/mem.c's memslots");
#endif
_Static_assert(sizeof(struct la_frame) == LA_FRAME_SIZE, "guest.S offsets");

/* Guest-kernel code (guest.S), copied to the guest-kernel page. */
extern const char la_guest_code[], la_guest_code_end[];
extern const char la_guest_restore[];	/* in it: back to the program from the frame */
extern const char la_guest_exit[];	/* in it: the exit store */
extern const char la_guest_tlbr[];	/* in it: the TLB refill, at LA_KA_TLBR */

/* Where sym is in the guest-kernel page (labels of one assembly section). */
static inline uint64_t la_guest_offset(const char *sym)
{
	return (uintptr_t)sym - (uintptr_t)la_guest_code;
}

/*
 * Page tables (the format Linux uses with 16 KiB pages): three levels of
 * 2048 entries, 47-bit virtual addresses.  lddir does not check a directory
 * entry: an empty one points to an invalid table (a PMD table of entries
 * pointing to a PTE table of zeros), as Linux's invalid_pmd_table.
 */
#define LA_PT_LEVELS		3
#define LA_PT_BITS		(DUNE_PAGE_SHIFT - 3)
#define LA_PT_ENTRIES		(1U << LA_PT_BITS)
#define LA_VA_BITS		(DUNE_PAGE_SHIFT + LA_PT_LEVELS * LA_PT_BITS)
#define LA_PTE_V		(1ULL << 0)
#define LA_PTE_D		(1ULL << 1)	/* writable */
#define LA_PTE_PLV3		(3ULL << 2)
#define LA_PTE_MAT_CC		(1ULL << 4)
#define LA_PTE_NR		(1ULL << 61)
#define LA_PTE_NX		(1ULL << 62)
#define LA_PTE_ADDR		0x0000fffffffff000ULL

_Static_assert(LA_VA_BITS == 47, "3 levels of 16 KiB pages");

static inline unsigned int la_pt_index(uint64_t va, int level)
{
	return (va >> (DUNE_PAGE_SHIFT + LA_PT_BITS * level)) & (LA_PT_ENTRIES - 1);
}

/* A leaf for gpa with the host's protection (PROT_READ 1, WRITE 2, EXEC 4). */
static inline uint64_t la_pte(uint64_t gpa, int prot, int user)
{
	uint64_t pte = (gpa & LA_PTE_ADDR) | LA_PTE_MAT_CC;

	if (!(prot & 7))
		return 0;
	pte |= LA_PTE_V | (user ? LA_PTE_PLV3 : 0);
	if (prot & 2)
		pte |= LA_PTE_D;
	if (!(prot & 3))
		pte |= LA_PTE_NR;	/* execute-only */
	if (!(prot & 4))
		pte |= LA_PTE_NX;
	return pte;
}

/* PWCL/PWCH for that format: PTE at bit 14, dir1 (PMD) at 25, dir3 (PGD) at 36. */
#define LA_PWCL	(DUNE_PAGE_SHIFT | LA_PT_BITS << 5 | \
		 (DUNE_PAGE_SHIFT + LA_PT_BITS) << 10 | LA_PT_BITS << 15)
#define LA_PWCH	((DUNE_PAGE_SHIFT + 2 * LA_PT_BITS) | LA_PT_BITS << 6)

/* Where the guest kernel's pieces are, guest-physical. */
struct la_layout {
	uint64_t ka_gpa;	/* the guest-kernel page */
	uint64_t frame_gpa;	/* this vCPU's exit frame */
	uint64_t pgd_gpa;	/* the page table's root (PGDL) */
	uint64_t pgdh_gpa;	/* an empty root for the upper half (PGDH) */
	uint64_t euen;		/* FPU, LSX, LASX enabled */
	uint64_t tid;		/* the host CPU */
};

struct la_csr_value {
	uint32_t csr;
	uint64_t value;
};

#define LA_NR_GUEST_CSRS	18

/*
 * The CSRs of a vCPU running the program at PLV3 with paging on (CRMD, the
 * last, puts it there); the host sets them with ONE_REG, the bare-metal
 * harness with csrwr.
 */
static inline void la_guest_csrs(const struct la_layout *l, struct la_csr_value *v)
{
	const struct la_csr_value csrs[LA_NR_GUEST_CSRS] = {
		{ LA_CSR_ECFG, 0 },	/* one entry for all, no interrupt lines */
		{ LA_CSR_EENTRY, LA_DMW1_BASE | (l->ka_gpa + LA_KA_EENTRY) },
		{ LA_CSR_TLBRENTRY, l->ka_gpa + LA_KA_TLBR },
		{ LA_CSR_DMW0, LA_DMW0_VALUE },
		{ LA_CSR_DMW1, LA_DMW1_VALUE },
		{ LA_CSR_PGDL, l->pgd_gpa },
		{ LA_CSR_PGDH, l->pgdh_gpa },
		{ LA_CSR_PWCL, LA_PWCL },
		{ LA_CSR_PWCH, LA_PWCH },
		{ LA_CSR_STLBPS, DUNE_PAGE_SHIFT },
		{ LA_CSR_TLBREHI, DUNE_PAGE_SHIFT },
		{ LA_CSR_ASID, 0 },
		{ LA_CSR_SAVE1, LA_DMW1_BASE | l->frame_gpa },
		{ LA_CSR_SAVE2, LA_DMW0_BASE | LA_EXIT_GPA },
		{ LA_CSR_TID, l->tid },
		{ LA_CSR_EUEN, l->euen },
		{ LA_CSR_PRMD, LA_PRMD_PPLV3 | LA_PRMD_PIE },
		{ LA_CSR_CRMD, LA_CRMD_USER },
	};

	for (int i = 0; i < LA_NR_GUEST_CSRS; i++)
		v[i] = csrs[i];
}

/* ESTAT fields */
#define LA_ESTAT_ECODE(estat)		(((estat) >> 16) & 0x3f)
#define LA_ESTAT_ESUBCODE(estat)	(((estat) >> 22) & 0x1ff)
#endif

#endif /* DUNE_LA_GUEST_H */
