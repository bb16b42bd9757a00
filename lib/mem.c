// SPDX-License-Identifier: MIT
/*
 * Memory mirroring.  The guest sees the process's own address space (guest
 * virtual == host virtual).  Memslots give each host range a compact guest-
 * physical range (hardware often has only 39-46 physical address bits), and
 * the guest page tables map each virtual page to it with the host's
 * permissions.  Small mappings are mirrored as soon as they are made, large
 * ones window by window when the guest first touches them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "dune-internal.h"

#ifdef DUNE_GPA_BASE
#define GPA_BASE	DUNE_GPA_BASE	/* the ISA's guest kernel needs low memory */
#else
#define GPA_BASE	(1ULL << 32)	/* below: left free, like a PC's low memory */
#endif
#define RESET_GPA	(1ULL << 20)	/* the page of reset_shadow()'s slot */

/* ---- the dune area's pool: page tables, vCPUs (vm->lock held) ----------- */

/*
 * Only the part of the area in use is accessible, the rest is PROT_NONE, so
 * mlockall(MCL_CURRENT) populates and locks what dune uses, not the whole
 * reservation.  It grows 2 MiB at a time (MCL_FUTURE then locks the growth).
 */
static int area_make_usable(struct dune_vm *vm, size_t end)
{
	size_t want = DUNE_ALIGN_UP(end, DUNE_SZ_2M);
	long err;

	if (want <= vm->area_usable)
		return 0;
	err = sys3(SYS_mprotect, vm->area + vm->area_usable, want - vm->area_usable,
		   PROT_READ | PROT_WRITE);
	if (err)
		return (int)err;
	vm->area_usable = want;
	return 0;
}

void *dune_area_alloc(struct dune_vm *vm, size_t pages)
{
	uint8_t *p = vm->area + vm->pt_next;

	if (vm->pt_next + pages * DUNE_PAGE_SIZE > DUNE_AREA_SIZE ||
	    area_make_usable(vm, vm->pt_next + pages * DUNE_PAGE_SIZE))
		return NULL;
	vm->pt_next += pages * DUNE_PAGE_SIZE;
	return p;
}

/*
 * A page-table page comes from the pool, or is one freed by arch_pt_prune()
 * after KVM dropped every shadow page (dune_mem_sweep): KVM caches shadow
 * pages by the guest-physical frame of each table, so a page must not come
 * back as another table while it may still hold a copy of the old one.
 */
void *dune_pt_alloc(struct dune_vm *vm, uint64_t *gpa)
{
	uint8_t *page;

	if (vm->pt_free) {
		page = vm->area + vm->pt_free;
		vm->pt_free = *(size_t *)page;
	} else {
		page = dune_area_alloc(vm, 1);
		if (!page)
			return NULL;
	}
	memset(page, 0, DUNE_PAGE_SIZE);
	vm->stats.pt_pages++;
	*gpa = vm->area_gpa + (page - vm->area);
	return page;
}

void *dune_pt_hva(struct dune_vm *vm, uint64_t gpa)
{
	return vm->area + (gpa - vm->area_gpa);
}

/* An unlinked table page: reusable after the next shadow reset. */
void dune_pt_free(struct dune_vm *vm, uint64_t gpa)
{
	size_t *page = dune_pt_hva(vm, gpa);

	*page = vm->pt_freed;
	vm->pt_freed = gpa - vm->area_gpa;
	vm->stats.pt_pages--;
}

/* ---- memslots ----------------------------------------------------------- */

/* Index of the first slot ending above hva (nr_slots if none). */
static int slot_search(struct dune_vm *vm, uintptr_t hva)
{
	int lo = 0, hi = vm->nr_slots;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (vm->slots[mid].hva + vm->slots[mid].size <= hva)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static long set_region(struct dune_vm *vm, uint32_t id, uint64_t gpa, size_t size, uintptr_t hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = id,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = hva,
	};

	return dune_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static long register_slot(struct dune_vm *vm, const struct dune_slot *s)
{
	return set_region(vm, s->id, s->gpa, s->size, s->hva);
}

static int bit_test(const uint64_t *map, size_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void bits_set(uint64_t *map, size_t from, size_t n, int on)
{
	for (size_t i = from; i < from + n; i++)
		map[i / 64] = on ? map[i / 64] | 1ULL << (i % 64) : map[i / 64] & ~(1ULL << (i % 64));
}

/* The first of n free 2 MiB units of guest-physical space at or after from, or -1. */
static long gpa_find(struct dune_vm *vm, size_t from, size_t n)
{
	size_t run = 0;

	for (size_t u = from; u < vm->gpa_units; u++) {
		if (!(u % 64) && vm->gpa_used[u / 64] == ~0ULL) {
			u += 63;
			run = 0;
		} else if (bit_test(vm->gpa_used, u)) {
			run = 0;
		} else if (++run == n) {
			return u + 1 - n;
		}
	}
	return -1;
}

/* Guest-physical units of a slot: 2 MiB aligned, GPA == HVA mod 2 MiB. */
static size_t slot_units(uintptr_t hva, size_t size)
{
	return DUNE_ALIGN_UP((hva & (DUNE_SZ_2M - 1)) + size, DUNE_SZ_2M) / DUNE_SZ_2M;
}

static size_t slot_first_unit(const struct dune_slot *s)
{
	return (DUNE_ALIGN_DOWN(s->gpa, DUNE_SZ_2M) - GPA_BASE) / DUNE_SZ_2M;
}

static int add_slot(struct dune_vm *vm, uintptr_t hva, size_t size)
{
	struct dune_slot slot = { .hva = hva, .size = size };
	size_t units = slot_units(hva, size);
	int at = slot_search(vm, hva), id = 0;
	long u = -1, err;

	if (vm->nr_slots < vm->max_slots) {
		u = gpa_find(vm, vm->gpa_next, units);
		if (u < 0)
			u = gpa_find(vm, 0, units);
	}
	if (u < 0)
		return -ENOSPC;
	while (bit_test(vm->slot_ids, id))
		id++;
	slot.id = id;
	slot.gpa = GPA_BASE + u * DUNE_SZ_2M + (hva & (DUNE_SZ_2M - 1));
	err = register_slot(vm, &slot);
	if (err)
		return (int)err;
	bits_set(vm->gpa_used, u, units, 1);
	bits_set(vm->slot_ids, id, 1, 1);
	memmove(&vm->slots[at + 1], &vm->slots[at], (vm->nr_slots - at) * sizeof(vm->slots[0]));
	vm->slots[at] = slot;
	vm->nr_slots++;
	vm->stats.memslots = vm->nr_slots;
	vm->slot_bytes += size;
	vm->gpa_next = u + units;
	return 0;
}

static void remove_slot(struct dune_vm *vm, int i)
{
	struct dune_slot *s = &vm->slots[i];

	/* it maps nothing: if KVM refuses, it stays registered, and unused */
	if (set_region(vm, s->id, s->gpa, 0, s->hva))
		return;
	bits_set(vm->gpa_used, slot_first_unit(s), slot_units(s->hva, s->size), 0);
	bits_set(vm->slot_ids, s->id, 1, 0);
	vm->slot_bytes -= s->size;
	memmove(s, s + 1, (vm->nr_slots - i - 1) * sizeof(*s));
	vm->nr_slots--;
	vm->stats.memslots = vm->nr_slots;
}

/* A fork child's new VM: the same slots at the same guest-physical addresses. */
int dune_mem_replay_slots(struct dune_vm *vm)
{
	for (int i = 0; i < vm->nr_slots; i++) {
		long err = register_slot(vm, &vm->slots[i]);

		if (err)
			return dune_fail(err, "memslot replay: %s", dune_strerror(err));
	}
	return 0;
}

/* A present PTE changed: every vCPU must drop its cached translations. */
static void note_change(struct dune_vm *vm, int changed)
{
	if (changed <= 0)
		return;
	for (int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i]->flush_pending = 1;
	vm->stats.tlb_flushes++;
}

/*
 * Make KVM drop every shadow page: deleting a memslot does that on x86 (by
 * default KVM zaps all shadow pages of all slots, and waits until no vCPU
 * uses them), so register and delete a page-sized slot where nothing else is.
 * The slot id is the one dune keeps for it, past those it allocates.
 */
static void reset_shadow(struct dune_vm *vm)
{
	if (!set_region(vm, vm->max_slots, RESET_GPA, DUNE_PAGE_SIZE, (uintptr_t)vm->area))
		(void)set_region(vm, vm->max_slots, RESET_GPA, 0, (uintptr_t)vm->area);
}

/*
 * Give back what no guest mapping uses any more: page-table pages that map
 * nothing (reusable once KVM has dropped its copies) and memslots that no
 * PTE points into (their ids and guest-physical space are reused).  Returns
 * nonzero if anything was freed.  Then the next sweep waits until the slots
 * in use doubled.
 */
static int sweep(struct dune_vm *vm)
{
	int before = vm->nr_slots;

	arch_pt_prune(vm);
	for (int i = vm->nr_slots - 1; i >= 0; i--) {
		struct dune_slot *s = &vm->slots[i];

		if (s->hva != (uintptr_t)vm->area && !arch_is_mapped(vm, s->hva, s->size))
			remove_slot(vm, i);
	}
	if (vm->pt_freed && vm->nr_slots == before)
		reset_shadow(vm);
	while (vm->pt_freed) {
		size_t *page = (size_t *)(vm->area + vm->pt_freed), next = *page;

		*page = vm->pt_free;
		vm->pt_free = vm->pt_freed;
		vm->pt_freed = next;
	}
	note_change(vm, 1);
	vm->sweep_bytes = 2 * vm->slot_bytes > DUNE_SLOT_BUDGET ? 2 * vm->slot_bytes : DUNE_SLOT_BUDGET;
	vm->sweep_slots = 2 * vm->nr_slots > DUNE_SLOT_COUNT_MIN ? 2 * vm->nr_slots : DUNE_SLOT_COUNT_MIN;
	return vm->nr_slots < before || vm->pt_free;
}

/*
 * Give every page of [start, end) a memslot, in 2 MiB-aligned windows where
 * the kernel accepts them (not past the top of the user address space).
 */
static int cover_with_slots(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	uintptr_t at = DUNE_ALIGN_DOWN(start, DUNE_SZ_2M);
	uintptr_t window_end = DUNE_ALIGN_UP(end, DUNE_SZ_2M);

	while (at < window_end) {
		int i = slot_search(vm, at);
		uintptr_t gap_end = window_end;
		int err;

		if (i < vm->nr_slots && vm->slots[i].hva <= at) {
			at = vm->slots[i].hva + vm->slots[i].size;
			continue;
		}
		if (i < vm->nr_slots && vm->slots[i].hva < gap_end)
			gap_end = vm->slots[i].hva;
		err = add_slot(vm, at, gap_end - at);
		if (err == -EINVAL && (at < start || gap_end > end)) {
			at = at > start ? at : start;
			gap_end = gap_end < end ? gap_end : end;
			window_end = end;
			err = at < gap_end ? add_slot(vm, at, gap_end - at) : 0;
		}
		if (err)
			return err;
		at = gap_end;
	}
	return 0;
}

int dune_mem_hva_of_gpa(struct dune_vm *vm, uint64_t gpa, uintptr_t *hva)
{
	for (int i = 0; i < vm->nr_slots; i++) {
		struct dune_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa < s->gpa + s->size) {
			*hva = s->hva + (gpa - s->gpa);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- guest page tables -------------------------------------------------- */

/* ---- protection keys, which /proc/self/maps does not show ----------------- */

/* The key at addr, and in *run_end where it stops being that key (at most end). */
static int pkey_run(const struct dune_vm *vm, uintptr_t addr, uintptr_t end, uintptr_t *run_end)
{
	for (int i = 0; i < vm->nr_keyed; i++) {
		const struct dune_keyed *k = &vm->keyed[i];

		if (k->end <= addr)
			continue;
		if (k->start <= addr) {
			*run_end = k->end < end ? k->end : end;
			return k->pkey;
		}
		*run_end = k->start < end ? k->start : end;
		return 0;
	}
	*run_end = end;
	return 0;
}

/*
 * Take [start, end) out of the keyed ranges.  A range cut in two with the
 * table full keeps its lower part only (the key of the upper part is lost:
 * its pages then get key 0 in the guest, and dune says so).
 */
static void cut_keyed(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	for (int i = 0; i < vm->nr_keyed; i++) {
		struct dune_keyed *k = &vm->keyed[i];

		if (k->end <= start || end <= k->start)
			continue;
		if (k->start < start && end < k->end) {
			if (vm->nr_keyed == DUNE_MAX_KEYED) {
				dune_log("more than %d ranges with protection keys: the key of %p-%p is lost",
					 DUNE_MAX_KEYED, (void *)end, (void *)k->end);
				k->end = start;
				return;
			}
			memmove(k + 1, k, (vm->nr_keyed - i) * sizeof(*k));
			vm->nr_keyed++;
			k[0].end = start;
			k[1].start = end;
			return;
		}
		if (k->start < start) {
			k->end = start;
		} else if (end < k->end) {
			k->start = end;
		} else {
			memmove(k, k + 1, (vm->nr_keyed - i - 1) * sizeof(*k));
			vm->nr_keyed--;
			i--;
		}
	}
}

/* [start, end), cut out already, gets pkey: joins a neighbour with the same key. */
static void insert_keyed(struct dune_vm *vm, uintptr_t start, uintptr_t end, int pkey)
{
	int i = 0;

	while (i < vm->nr_keyed && vm->keyed[i].start < start)
		i++;
	if (i > 0 && vm->keyed[i - 1].end == start && vm->keyed[i - 1].pkey == pkey) {
		vm->keyed[i - 1].end = end;
		return;
	}
	if (i < vm->nr_keyed && vm->keyed[i].start == end && vm->keyed[i].pkey == pkey) {
		vm->keyed[i].start = start;
		return;
	}
	memmove(&vm->keyed[i + 1], &vm->keyed[i], (vm->nr_keyed - i) * sizeof(vm->keyed[0]));
	vm->keyed[i] = (struct dune_keyed){ .start = start, .end = end, .pkey = pkey };
	vm->nr_keyed++;
}

/* Can pkey_mprotect's key be recorded, whatever it splits? */
int dune_mem_pkey_room(struct dune_vm *vm)
{
	int room;

	dune_lock(&vm->lock);
	room = vm->nr_keyed + 2 <= DUNE_MAX_KEYED;
	dune_unlock(&vm->lock);
	return room;
}

/*
 * The host gave [start, end) protection key pkey (0: a new mapping, or
 * none): what the guest page tables get from now on.
 */
void dune_mem_set_pkey(struct dune_vm *vm, uintptr_t start, uintptr_t end, int pkey)
{
	start = DUNE_ALIGN_DOWN(start, DUNE_PAGE_SIZE);
	end = DUNE_ALIGN_UP(end, DUNE_PAGE_SIZE);
	dune_lock(&vm->lock);
	cut_keyed(vm, start, end);
	if (pkey && vm->nr_keyed < DUNE_MAX_KEYED)	/* dune_mem_pkey_room() made room */
		insert_keyed(vm, start, end, pkey);
	else if (pkey)
		dune_log("more than %d ranges with protection keys: %p-%p gets key 0 in the guest",
			 DUNE_MAX_KEYED, (void *)start, (void *)end);
	dune_unlock(&vm->lock);
}

/* The pages of [start, end) that have pkey get key 0. */
void dune_mem_drop_pkey(struct dune_vm *vm, uintptr_t start, uintptr_t end, int pkey)
{
	start = DUNE_ALIGN_DOWN(start, DUNE_PAGE_SIZE);
	end = DUNE_ALIGN_UP(end, DUNE_PAGE_SIZE);
	dune_lock(&vm->lock);
	for (int i = 0; i < vm->nr_keyed; i++) {
		struct dune_keyed *k = &vm->keyed[i];

		if (k->pkey == pkey && k->start < end && start < k->end) {
			cut_keyed(vm, k->start > start ? k->start : start, k->end < end ? k->end : end);
			i = -1;		/* the table moved: again from the start */
		}
	}
	dune_unlock(&vm->lock);
}

/*
 * mremap moved [old, old + old_len) to [new, new + new_len) (kept the old
 * one too with MREMAP_DONTUNMAP): one mapping, one key, which goes with it.
 */
void dune_mem_move_pkey(struct dune_vm *vm, uintptr_t old, size_t old_len, uintptr_t new,
			size_t new_len, int keep_old)
{
	uintptr_t run_end;
	int pkey;

	dune_lock(&vm->lock);
	pkey = pkey_run(vm, old, old + 1, &run_end);
	dune_unlock(&vm->lock);
	if (!keep_old)
		dune_mem_set_pkey(vm, old, old + old_len, 0);
	dune_mem_set_pkey(vm, new, new + new_len, pkey);
}

/* Map [start, end), already covered by slots, slot by slot and key by key. */
static int map_covered(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	while (start < end) {
		struct dune_slot *s = &vm->slots[slot_search(vm, start)];
		uintptr_t slot_end = s->hva + s->size < end ? s->hva + s->size : end, piece_end;
		int pkey = pkey_run(vm, start, slot_end, &piece_end);
		int r = arch_map(vm, start, s->gpa + (start - s->hva), piece_end - start,
				 prot | DUNE_PROT_PKEY(pkey));

		if (r < 0)
			return r;
		note_change(vm, r);
		start = piece_end;
	}
	return 0;
}

static int map_once(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	int err = cover_with_slots(vm, start, end);

	return err ? err : map_covered(vm, start, end, prot);
}

/* Out of memslots, guest-physical space or table pages: sweep, and try again. */
static int map_now(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	int err;

	if (vm->slot_bytes > vm->sweep_bytes || vm->nr_slots >= vm->sweep_slots)
		sweep(vm);
	err = map_once(vm, start, end, prot);
	if ((err == -ENOSPC || err == -ENOMEM) && sweep(vm))
		err = map_once(vm, start, end, prot);
	return err;
}

static void unmap_now(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	note_change(vm, arch_unmap(vm, start, end - start));
}

/* Call fn on the parts of [start, end) that are not dune's own memory. */
static int for_each_guest_piece(struct dune_vm *vm, uintptr_t start, uintptr_t end,
				int (*fn)(struct dune_vm *, uintptr_t, uintptr_t, int), int prot)
{
	for (int i = 0; i < vm->nr_own; i++) {
		struct dune_range *o = &vm->own[i];
		int err = 0;

		if (start >= o->end || o->start >= end)
			continue;
		if (start < o->start)
			err = for_each_guest_piece(vm, start, o->start, fn, prot);
		if (!err && o->end < end)
			err = for_each_guest_piece(vm, o->end, end, fn, prot);
		return err;
	}
	return start < end ? fn(vm, start, end, prot) : 0;
}

static int mirror_piece(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	if (!prot || end - start > DUNE_EAGER_MAP) {
		unmap_now(vm, start, end);	/* (re)mapped on first touch */
		return 0;
	}
	return map_now(vm, start, end, prot);
}

static int unmap_piece(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	(void)prot;
	unmap_now(vm, start, end);
	return 0;
}

/* The host mapped [start, end) with prot: mirror it (now or on first touch). */
int dune_mem_map(struct dune_vm *vm, uintptr_t start, uintptr_t end, int prot)
{
	int err;

	start = DUNE_ALIGN_DOWN(start, DUNE_PAGE_SIZE);
	end = DUNE_ALIGN_UP(end, DUNE_PAGE_SIZE);
	dune_lock(&vm->lock);
	err = for_each_guest_piece(vm, start, end, mirror_piece, prot);
	dune_unlock(&vm->lock);
	return err;
}

void dune_mem_unmap(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	start = DUNE_ALIGN_DOWN(start, DUNE_PAGE_SIZE);
	end = DUNE_ALIGN_UP(end, DUNE_PAGE_SIZE);
	dune_lock(&vm->lock);
	for_each_guest_piece(vm, start, end, unmap_piece, 0);
	dune_unlock(&vm->lock);
}

int dune_mem_make_own(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	int err;

	dune_lock(&vm->lock);	/* no vCPU maps it again in between */
	for_each_guest_piece(vm, start, end, unmap_piece, 0);
	err = dune_own_add(vm, start, end);
	dune_unlock(&vm->lock);
	return err;
}

/* ---- /proc/self/maps, read with raw syscalls into a preallocated buffer ---- */

static uintptr_t parse_hex(const char **p)
{
	uintptr_t v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else
			return v;
	}
}

static void parse_maps_line(const char *line, struct dune_vma *vma)
{
	const char *p = line;

	vma->start = parse_hex(&p);
	p++;
	vma->end = parse_hex(&p);
	p++;
	vma->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		    (p[2] == 'x' ? PROT_EXEC : 0);
}

/* Call fn for each mapping until it returns nonzero; returns that value. */
static int maps_for_each(struct dune_vm *vm, int (*fn)(struct dune_vm *, const struct dune_vma *, void *),
			 void *arg)
{
	struct rlimit program;
	size_t have = 0;
	int ret = 0;
	long fd;

	dune_fds_begin(vm, &program);	/* a full fd table must not stop a fault */
	fd = sys4(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	dune_fds_end(vm, &program);
	if (fd < 0)
		return (int)fd;
	for (;;) {
		long n = sys3(SYS_read, fd, vm->maps_buf + have, sizeof(vm->maps_buf) - 1 - have);
		char *line = vm->maps_buf, *nl;

		if (n <= 0)
			break;
		have += n;
		vm->maps_buf[have] = '\0';
		while (!ret && (nl = strchr(line, '\n'))) {
			struct dune_vma vma;

			*nl = '\0';
			parse_maps_line(line, &vma);
			ret = fn(vm, &vma, arg);
			line = nl + 1;
		}
		if (ret)
			break;
		have -= line - vm->maps_buf;
		memmove(vm->maps_buf, line, have);
	}
	sys1(SYS_close, fd);
	return ret;
}

struct vma_query {
	uintptr_t addr;
	struct dune_vma *found;		/* the mapping holding addr */
	struct dune_vma below;		/* the last one below addr */
	struct dune_vma above;		/* the first one above addr */
};

static int match_vma(struct dune_vm *vm, const struct dune_vma *vma, void *arg)
{
	struct vma_query *q = arg;

	(void)vm;
	if (vma->end <= q->addr) {
		q->below = *vma;
		return 0;
	}
	if (vma->start <= q->addr)
		*q->found = *vma;
	else
		q->above = *vma;
	return 1;
}

static int find_vma(struct dune_vm *vm, uintptr_t addr, struct dune_vma *vma,
		    struct vma_query *q)
{
	*q = (struct vma_query){ .addr = addr, .found = vma };
	vma->end = 0;
	maps_for_each(vm, match_vma, q);
	return vma->end ? 0 : -ENOENT;
}

int dune_maps_find(struct dune_vm *vm, uintptr_t addr, struct dune_vma *vma)
{
	struct vma_query q;

	return find_vma(vm, addr, vma, &q);
}

/* ---- faults --------------------------------------------------------------- */

/*
 * The guest cannot grow a stack (the kernel grows [stack] and MAP_GROWSDOWN
 * mappings only for faults of the process itself).  A kernel write to the
 * address from this thread faults as the guest's access would natively, so
 * the kernel applies its own rules (VM_GROWSDOWN, RLIMIT_STACK, guard gap)
 * and fails harmlessly where it would not grow.  Nothing is mapped there yet:
 * the zero written is what the new page holds anyway.
 */
static int grow_stack(struct dune_vm *vm, uintptr_t addr, struct vma_query *q, struct dune_vma *vma)
{
	static const char zero;

	if (!q->above.end || dune_read_guest((void *)addr, (uintptr_t)&zero, 1))
		return -ENOENT;
	return find_vma(vm, addr, vma, q);
}

/* Bytes of [start, end) that memslots cover. */
static size_t slotted(struct dune_vm *vm, uintptr_t start, uintptr_t end)
{
	size_t sum = 0;

	for (int i = slot_search(vm, start); i < vm->nr_slots && vm->slots[i].hva < end; i++) {
		const struct dune_slot *s = &vm->slots[i];
		uintptr_t a = s->hva > start ? s->hva : start;
		uintptr_t b = s->hva + s->size < end ? s->hva + s->size : end;

		sum += b - a;
	}
	return sum;
}

/*
 * What a fault at addr in the large mapping [*start, *end) maps: the largest
 * aligned window, from 2 MiB up to DUNE_SLOT_WINDOW, of which memslots
 * already cover a quarter.  Sequential first touches get ever larger windows
 * (few exits); sparse ones 2 MiB each, so memslots cover only what is used
 * (KVM's shadow MMU keeps 8 bytes per 4 KiB of memslot).  As memslots run
 * short, windows grow sooner.
 */
static void fault_window(struct dune_vm *vm, uintptr_t addr, uintptr_t *start, uintptr_t *end)
{
	size_t scarcity = 1 + 8UL * vm->nr_slots / vm->max_slots, w = DUNE_SZ_2M;
	uintptr_t vstart = *start, vend = *end;

	for (size_t size = 2 * DUNE_SZ_2M; size <= DUNE_SLOT_WINDOW; size *= 2) {
		uintptr_t a = DUNE_ALIGN_DOWN(addr, size), b = a + size;

		a = a > vstart ? a : vstart;
		b = b < vend ? b : vend;
		if (slotted(vm, a, b) * 4 * scarcity >= size)
			w = size;
	}
	*start = DUNE_ALIGN_DOWN(addr, w) > vstart ? DUNE_ALIGN_DOWN(addr, w) : vstart;
	*end = DUNE_ALIGN_DOWN(addr, w) + w < vend ? DUNE_ALIGN_DOWN(addr, w) + w : vend;
}

static int access_allowed(const struct dune_vma *vma, const struct dune_fault *f)
{
	if (f->write && !(vma->prot & PROT_WRITE))
		return 0;
	if (f->exec && !(vma->prot & PROT_EXEC))
		return 0;
	return vma->prot != 0;
}

/*
 * A guest page fault: map what the host has there and retry (returns 1), or
 * leave a signal description in f (returns 0).  A fault that repeats at the
 * same page on the same vCPU means the host itself refuses the access (other
 * threads faulting the same fresh page at once are no repeat).
 */
static int fix_fault(struct dune_vcpu *vcpu, struct dune_fault *f)
{
	struct dune_vm *vm = vcpu->vm;
	uintptr_t page = DUNE_ALIGN_DOWN(f->addr, DUNE_PAGE_SIZE);
	struct dune_vma vma;
	struct vma_query q;
	uintptr_t start, end;

	f->code = SEGV_MAPERR;
	if (dune_overlaps_own(vm, page, page + DUNE_PAGE_SIZE))
		return 0;
	if (find_vma(vm, f->addr, &vma, &q) && grow_stack(vm, f->addr, &q, &vma))
		return 0;
	if (f->pkey_denied) {	/* the guest's PKRU decided, as natively */
		f->code = SEGV_PKUERR;
		f->pkey = pkey_run(vm, f->addr, f->addr + 1, &end);
		return 0;
	}
	f->code = SEGV_ACCERR;
	if (!access_allowed(&vma, f))
		return 0;
	/* a repeat after the page tables were reset (a re-entry) is not one */
	vcpu->fault_repeats = page == vcpu->fault_page && vcpu->fault_resets == vm->pt_resets ?
			      vcpu->fault_repeats + 1 : 0;
	vcpu->fault_page = page;
	vcpu->fault_resets = vm->pt_resets;
	if (vcpu->fault_repeats > 2)
		return 0;
	start = vma.start;
	end = vma.end;
	if (end - start > DUNE_EAGER_MAP)
		fault_window(vm, f->addr, &start, &end);
	return for_each_guest_piece(vm, start, end, map_now, vma.prot) == 0;
}

int dune_mem_fix_fault(struct dune_vcpu *vcpu, struct dune_fault *f)
{
	struct dune_vm *vm = vcpu->vm;
	int fixed;

	dune_lock(&vm->lock);
	fixed = fix_fault(vcpu, f);
	dune_unlock(&vm->lock);
	return fixed;
}

/* ---- start-up ----------------------------------------------------------- */

/* Map every mapping of /proc/self/maps (vm->lock held: it guards vm->maps_buf too). */
static int mirror_vma(struct dune_vm *vm, const struct dune_vma *vma, void *arg)
{
	(void)arg;
	for_each_guest_piece(vm, DUNE_ALIGN_DOWN(vma->start, DUNE_PAGE_SIZE),
			     DUNE_ALIGN_UP(vma->end, DUNE_PAGE_SIZE), mirror_piece, vma->prot);
	return 0;
}

static int mirror_all(struct dune_vm *vm)
{
	int err;

	vm->brk = sys1(SYS_brk, 0);
	err = maps_for_each(vm, mirror_vma, NULL);
	return err < 0 ? dune_fail(err, "cannot read /proc/self/maps: %s", dune_strerror(err)) : 0;
}

int dune_mem_init(struct dune_vm *vm)
{
	long cap = dune_ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, (void *)KVM_CAP_NR_MEMSLOTS);
	size_t gpa_units = ((1ULL << arch_guest_phys_bits(vm)) - GPA_BASE) / DUNE_SZ_2M;
	int err;

	/* the last slot id KVM allows is reset_shadow()'s */
	vm->max_slots = (cap > 0 && cap <= DUNE_MAX_SLOTS ? cap : DUNE_MAX_SLOTS) - 1;
	vm->gpa_units = gpa_units < DUNE_GPA_UNITS ? gpa_units : DUNE_GPA_UNITS;
	vm->sweep_bytes = DUNE_SLOT_BUDGET;
	vm->sweep_slots = DUNE_SLOT_COUNT_MIN;
	vm->pt_next = DUNE_AREA_GUEST + arch_area_pages() * DUNE_PAGE_SIZE;
	vm->area_usable = DUNE_ALIGN_UP(vm->pt_next, DUNE_SZ_2M);
	err = sys3(SYS_mprotect, vm->area + vm->area_usable, DUNE_AREA_SIZE - vm->area_usable,
		   PROT_NONE);
	if (err)
		return dune_fail(err, "mprotect of the dune area: %s", dune_strerror(err));
	vm->slots = dune_area_alloc(vm, DUNE_ALIGN_UP(vm->max_slots * sizeof(vm->slots[0]),
						      DUNE_PAGE_SIZE) / DUNE_PAGE_SIZE);
	if (!vm->slots)
		return dune_fail(-ENOMEM, "dune area full");
	err = add_slot(vm, (uintptr_t)vm->area, DUNE_AREA_SIZE);
	if (err)
		return dune_fail(err, "memslot for the dune area: %s (guest physical address bits: %u)",
				 dune_strerror(err), arch_guest_phys_bits(vm));
	vm->area_gpa = vm->slots[0].gpa;
	vm->stats.memslots = vm->nr_slots;
	dune_lock(&vm->lock);
	err = mirror_all(vm);
	dune_unlock(&vm->lock);
	return err;
}

/* Back from running natively: the mappings may all have changed. */
int dune_mem_resync(struct dune_vm *vm)
{
	int err;

	/* other threads may be inside: they fault meanwhile, and wait for the lock */
	dune_lock(&vm->lock);
	err = arch_pt_reset(vm);
	vm->pt_resets++;
	note_change(vm, 1);
	if (err)
		err = dune_fail(err, "cannot reset the guest page tables");
	else
		err = mirror_all(vm);
	dune_unlock(&vm->lock);
	return err;
}
