/* SPDX-License-Identifier: MIT */
/*
 * Memory mapping calls inside dune.  The host changes the process's memory
 * and the VM must see exactly the new state every time: new pages are zero,
 * moved pages keep their contents, unmapped or read-only pages fault.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define PAGE 4096UL
#define SLOTS 16
#define ITERATIONS 3000
#define MAX_PAGES 64


/*
 * A live anonymous mapping in the random cycles.  Page i of it holds the
 * pattern of page number first + i, so unmapping its head keeps the rest.
 */
struct slot {
	unsigned char *addr;
	size_t pages;
	size_t first;
	uint64_t seed;
	int pieced;	/* maybe several VMAs now: no mremap (EFAULT) */
};

static uint64_t pattern(const struct slot *s, size_t page, size_t word)
{
	return (s->seed + (s->first + page) * 0x100000001b3ULL) ^ (word * 0x9e37);
}

static void fill(const struct slot *s, size_t from, size_t to)
{
	size_t page, w;

	for (page = from; page < to; page++) {
		uint64_t *p = (uint64_t *)(s->addr + page * PAGE);

		for (w = 0; w < PAGE / 8; w++)
			p[w] = pattern(s, page, w);
	}
	barrier();
}

/* Index of the first page of s that does not hold its pattern, or -1. */
static long bad_page(const struct slot *s)
{
	size_t page, w;

	barrier();
	for (page = 0; page < s->pages; page++) {
		const uint64_t *p = (uint64_t *)(s->addr + page * PAGE);

		for (w = 0; w < PAGE / 8; w++)
			if (p[w] != pattern(s, page, w))
				return page;
	}
	return -1;
}

static int is_zero(const void *addr, size_t len)
{
	const unsigned char *p = addr;
	size_t i;

	barrier();
	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Does the host still have anything mapped in [addr, addr + len)? */
static int host_mapped(void *addr, size_t len)
{
	unsigned char vec[MAX_PAGES * 2];	/* slots never get bigger */

	if (len > sizeof(vec) * PAGE)
		abort();

	return mincore(addr, len, vec) == 0 || errno != ENOMEM;
}

static void *map_anon(void *hint, size_t len, int flags)
{
	return mmap(hint, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

static void slot_new(struct slot *s)
{
	s->pages = 1 + rng() % MAX_PAGES;
	s->first = 0;
	s->seed = rng();
	s->pieced = 0;
	s->addr = map_anon(NULL, s->pages * PAGE, 0);
	CHECK(s->addr != MAP_FAILED, "mmap %zu pages: %s", s->pages,
	      strerror(errno));
	if (s->addr == MAP_FAILED) {
		s->addr = NULL;
		return;
	}
	CHECK(is_zero(s->addr, s->pages * PAGE), "new mapping not zero");
	fill(s, 0, s->pages);
}

static void slot_free(struct slot *s)
{
	CHECK(munmap(s->addr, s->pages * PAGE) == 0, "munmap: %s",
	      strerror(errno));
	CHECK(!host_mapped(s->addr, s->pages * PAGE), "still mapped");
	s->addr = NULL;
}

static void slot_resize(struct slot *s, size_t pages)
{
	void *p = mremap(s->addr, s->pages * PAGE, pages * PAGE, MREMAP_MAYMOVE);
	size_t old = s->pages;

	CHECK(p != MAP_FAILED, "mremap %zu -> %zu pages: %s", old, pages,
	      strerror(errno));
	if (p == MAP_FAILED)
		return;
	s->addr = p;
	s->pages = pages < old ? pages : old;
	CHECK(bad_page(s) < 0, "mremap %zu -> %zu lost page %ld", old, pages,
	      bad_page(s));
	s->pages = pages;
	if (pages > old) {
		CHECK(is_zero(s->addr + old * PAGE, (pages - old) * PAGE),
		      "grown part not zero");
		fill(s, old, pages);
	}
}

/* Move to a fixed address we reserved; the old range must be gone. */
static void slot_move(struct slot *s)
{
	size_t len = s->pages * PAGE;
	void *dest = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	void *p;

	CHECK(dest != MAP_FAILED, "reserve: %s", strerror(errno));
	if (dest == MAP_FAILED)
		return;
	p = mremap(s->addr, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
	CHECK(p == dest, "mremap to %p gave %p (%s)", dest, p, strerror(errno));
	if (p != dest) {
		munmap(dest, len);
		return;
	}
	CHECK(!host_mapped(s->addr, len), "old range still mapped after move");
	s->addr = p;
	CHECK(bad_page(s) < 0, "moved mapping lost page %ld", bad_page(s));
}

static void slot_readonly(struct slot *s)
{
	size_t len = s->pages * PAGE;

	CHECK(mprotect(s->addr, len, PROT_READ) == 0, "mprotect RO: %s",
	      strerror(errno));
	CHECK(bad_page(s) < 0, "read-only mapping reads wrong at page %ld",
	      bad_page(s));
	CHECK(mprotect(s->addr, len, PROT_READ | PROT_WRITE) == 0,
	      "mprotect RW: %s", strerror(errno));
	fill(s, 0, s->pages);	/* writable again */
	CHECK(bad_page(s) < 0, "rewritten mapping wrong at page %ld",
	      bad_page(s));
}

static void slot_unmap_head(struct slot *s)
{
	size_t k = 1 + rng() % (s->pages - 1);

	CHECK(munmap(s->addr, k * PAGE) == 0, "munmap head: %s", strerror(errno));
	s->addr += k * PAGE;
	s->pages -= k;
	s->first += k;
	CHECK(bad_page(s) < 0, "tail of split mapping wrong at page %ld",
	      bad_page(s));
}

/* Punch out one page, map a new one at the same address: it must be zero. */
static void slot_replace_page(struct slot *s)
{
	size_t page = rng() % s->pages;
	unsigned char *addr = s->addr + page * PAGE;
	void *p;

	CHECK(munmap(addr, PAGE) == 0, "munmap page: %s", strerror(errno));
	CHECK(!host_mapped(addr, PAGE), "punched page still mapped");
	p = map_anon(addr, PAGE, MAP_FIXED_NOREPLACE);
	CHECK(p == addr, "remap page at %p gave %p (%s)", (void *)addr, p,
	      strerror(errno));
	if (p != addr) {	/* give the slot up */
		munmap(s->addr, s->pages * PAGE);
		s->addr = NULL;
		return;
	}
	CHECK(is_zero(addr, PAGE), "page mapped anew shows old contents");
	fill(s, page, page + 1);
	s->pieced = 1;
	CHECK(bad_page(s) < 0, "mapping wrong at page %ld after replace",
	      bad_page(s));
}

static void slot_dontneed(struct slot *s)
{
	size_t from = rng() % s->pages;
	size_t to = from + 1 + rng() % (s->pages - from);

	CHECK(madvise(s->addr + from * PAGE, (to - from) * PAGE,
		      MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	CHECK(is_zero(s->addr + from * PAGE, (to - from) * PAGE),
	      "MADV_DONTNEED pages not zero");
	fill(s, from, to);
}

static void random_cycles(void)
{
	struct slot slots[SLOTS] = { { 0 } };
	int i, failed = check_failures, ops[9] = { 0 };

	for (i = 0; i < ITERATIONS && check_failures == failed; i++) {
		struct slot *s = &slots[rng() % SLOTS];

		int op = rng() % 8;

		if (!s->addr) {
			slot_new(s);
			ops[8]++;
			continue;
		}
		CHECK(bad_page(s) < 0, "iteration %d: page %ld changed", i,
		      bad_page(s));
		ops[op]++;
		switch (op) {
		case 0:
			slot_free(s);
			break;
		case 1 ... 3:
			if (s->pieced) {
				ops[op]--, ops[0]++;
				slot_free(s);
				break;
			}
			if (s->pages >= MAX_PAGES)	/* grow up to 2 * MAX_PAGES - 1 */
				slot_resize(s, 1 + rng() % (s->pages - 1));
			else if (rng() % 3 == 0)
				slot_move(s);
			else
				slot_resize(s, 1 + rng() % (2 * MAX_PAGES - 1));
			break;
		case 4:
			slot_readonly(s);
			break;
		case 5:
			if (s->pages > 1)
				slot_unmap_head(s);
			break;
		case 6:
			slot_replace_page(s);
			break;
		default:
			slot_dontneed(s);
			break;
		}
	}
	for (i = 0; i < SLOTS; i++)
		if (slots[i].addr)
			slot_free(&slots[i]);
	printf("# %d cycles: %d mmap, %d munmap, %d mremap, %d mprotect, "
	       "%d head munmap, %d page replace, %d MADV_DONTNEED\n", ITERATIONS,
	       ops[8], ops[0], ops[1] + ops[2] + ops[3], ops[4], ops[5], ops[6],
	       ops[7]);
}

/* MAP_FIXED over the middle of a mapping: the new contents show there. */
static void check_map_fixed(void)
{
	unsigned char *a = map_anon(NULL, 4 * PAGE, 0), *b;

	CHECK(a != MAP_FAILED, "mmap: %s", strerror(errno));
	if (a == MAP_FAILED)
		return;
	memset(a, 'A', 4 * PAGE);
	b = map_anon(a + PAGE, 2 * PAGE, MAP_FIXED);
	CHECK(b == a + PAGE, "MAP_FIXED gave %p, not %p", (void *)b,
	      (void *)(a + PAGE));
	CHECK(is_zero(a + PAGE, 2 * PAGE), "MAP_FIXED pages show old contents");
	CHECK(a[0] == 'A' && a[PAGE - 1] == 'A' && a[3 * PAGE] == 'A' &&
	      a[4 * PAGE - 1] == 'A', "pages beside MAP_FIXED changed");
	memset(a + PAGE, 'B', 2 * PAGE);
	CHECK(a[PAGE] == 'B' && a[3 * PAGE - 1] == 'B', "new pages not writable");
	munmap(a, 4 * PAGE);
}

/* A shared file mapping and write()/pwrite() see each other's data. */
static void check_file_mapping(void)
{
	char path[] = "/tmp/dune-mmap.XXXXXX";
	char buf[8] = "";
	unsigned char *shared, *priv;
	int fd = mkstemp(path);

	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	unlink(path);
	CHECK(ftruncate(fd, 2 * PAGE) == 0, "ftruncate: %s", strerror(errno));
	shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(shared != MAP_FAILED, "mmap shared: %s", strerror(errno));
	if (shared == MAP_FAILED) {
		close(fd);
		return;
	}
	CHECK(is_zero(shared, 2 * PAGE), "fresh file mapping not zero");
	CHECK(pwrite(fd, "abc", 3, 100) == 3, "pwrite: %s", strerror(errno));
	barrier();
	CHECK(memcmp(shared + 100, "abc", 3) == 0, "mapping misses pwrite");
	CHECK(lseek(fd, PAGE + 7, SEEK_SET) == (off_t)(PAGE + 7) &&
	      write(fd, "xyz", 3) == 3, "write: %s", strerror(errno));
	barrier();
	CHECK(memcmp(shared + PAGE + 7, "xyz", 3) == 0, "mapping misses write");

	shared[5000] = 'Z';
	CHECK(pread(fd, buf, 1, 5000) == 1 && buf[0] == 'Z',
	      "file misses store to the mapping");

	/* a private mapping reads the file; its stores stay private */
	priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED, "mmap private: %s", strerror(errno));
	if (priv != MAP_FAILED) {
		CHECK(memcmp(priv + 100, "abc", 3) == 0, "private map misses file");
		priv[100] = 'q';
		CHECK(pread(fd, buf, 1, 100) == 1 && buf[0] == 'a',
		      "private store reached the file");
		CHECK(shared[100] == 'a', "private store reached shared map");
		munmap(priv, PAGE);
	}
	munmap(shared, 2 * PAGE);
	close(fd);
}

static sigjmp_buf bus_jump;
static void *volatile bus_addr;

static void on_sigbus(int sig, siginfo_t *info, void *uc)
{
	(void)sig;
	(void)uc;
	bus_addr = info->si_addr;
	siglongjmp(bus_jump, 1);
}

/*
 * A file mapping's page past the end of the file: SIGBUS at that address
 * (KVM cannot back it), to a handler that jumps out; the VM goes on.
 */
static void check_sigbus_past_eof(void)
{
	char path[] = "/tmp/dune-sigbus.XXXXXX";
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO }, old;
	volatile unsigned char *map;
	int fd = mkstemp(path);

	CHECK(fd >= 0 && ftruncate(fd, PAGE / 2) == 0, "temp file: %s", strerror(errno));
	if (fd < 0)
		return;
	unlink(path);
	map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	if (map == MAP_FAILED)
		return;
	sigaction(SIGBUS, &sa, &old);
	bus_addr = NULL;
	if (!sigsetjmp(bus_jump, 1))
		map[PAGE + 1] = 1;
	sigaction(SIGBUS, &old, NULL);
	CHECK(bus_addr == map + PAGE + 1, "SIGBUS at %p, expected %p", bus_addr,
	      (void *)(map + PAGE + 1));
	CHECK(dune_is_inside(), "left the VM at the SIGBUS");
	munmap((void *)map, 2 * PAGE);
}

/* Grow the heap with sbrk, shrink it, grow again: the new part is zero. */
static void check_brk(void)
{
	const size_t len = (1UL << 20) + 123;
	unsigned char *old, *again;
	int wrote_ok, zero_again;
	size_t i;

	/* no CHECK (it may malloc and move the break) until we shrank back */
	old = sbrk(len);
	if (old == (void *)-1) {
		CHECK(0, "sbrk(%zu): %s", len, strerror(errno));
		return;
	}
	for (i = 0; i < len; i++)
		old[i] = (unsigned char)(i * 7);
	barrier();
	for (i = 0; i < len; i++)
		if (old[i] != (unsigned char)(i * 7))
			break;
	wrote_ok = i == len;
	sbrk(-(intptr_t)len);
	again = sbrk(len);
	zero_again = again == old && is_zero(again, len);
	sbrk(-(intptr_t)len);

	CHECK(wrote_ok, "heap grown by sbrk reads wrong at %zu", i);
	CHECK(again == old, "sbrk moved: %p then %p", (void *)old, (void *)again);
	CHECK(zero_again, "heap grown again shows old contents");
}

static __attribute__((noinline)) unsigned grow_stack(unsigned depth)
{
	volatile unsigned char frame[16384];
	unsigned sum;

	frame[0] = (unsigned char)depth;
	frame[sizeof(frame) - 1] = (unsigned char)(depth * 3);
	if (depth == 0)
		return 0;
	sum = grow_stack(depth - 1);
	/* read the frame after the call: it must have lived through it */
	return sum + frame[0] + frame[sizeof(frame) - 1];
}

/* The main stack grows down on demand inside the VM too. */
static void check_stack_growth(void)
{
	unsigned depth = 384, expect = 0, i;	/* 6 MiB of frames */
	struct rlimit rl;

	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (8UL << 20)) {
		printf("# stack growth part skipped: RLIMIT_STACK %lu\n",
		       (unsigned long)rl.rlim_cur);
		return;
	}
	for (i = 1; i <= depth; i++)
		expect += (unsigned char)i + (unsigned char)(i * 3);
	CHECK(grow_stack(depth) == expect, "deep recursion computed wrong");
}

/*
 * A MAP_GROWSDOWN mapping at the top of len free bytes: the kernel grows it
 * for accesses below it while the guard gap to the next mapping allows.
 */
static unsigned char *map_growsdown(size_t len, size_t mapped)
{
	unsigned char *hole = map_anon(NULL, len, 0);

	if (hole == MAP_FAILED || munmap(hole, len))
		return NULL;
	if (mmap(hole + len - mapped, mapped, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0) == MAP_FAILED)
		return NULL;
	return hole + len;
}

/* A thread-stack-like MAP_GROWSDOWN mapping grows on a guest access too. */
static void check_growsdown(void)
{
	const size_t len = 1024 * PAGE;
	unsigned char *top = map_growsdown(len, PAGE), *p;

	CHECK(top != NULL, "MAP_GROWSDOWN: %s", strerror(errno));
	if (!top)
		return;
	for (p = top - PAGE - 1; p >= top - 64 * PAGE; p -= 3 * PAGE)
		*(volatile unsigned char *)p = 0x5a;
	barrier();
	for (p = top - PAGE - 1; p >= top - 64 * PAGE; p -= 3 * PAGE)
		CHECK(*p == 0x5a, "grown page at %p lost its byte", (void *)p);
	munmap(top - len, len);
}

/* In a child inside dune: set up one bad access, which must kill it. */
static int fault_child(void *arg)
{
	const char *kind = arg;
	volatile unsigned char *p;
	unsigned char *a = map_anon(NULL, 2 * PAGE, 0);

	if (a == MAP_FAILED)
		return 2;
	enter_dune();
	p = a + PAGE;
	*p = 1;			/* touch it first: the VM knows it writable */
	barrier();
	if (!strcmp(kind, "write-readonly")) {
		mprotect(a, 2 * PAGE, PROT_READ);
		*p = 2;
	} else if (!strcmp(kind, "read-none")) {
		mprotect(a, 2 * PAGE, PROT_NONE);
		(void)*p;
	} else if (!strcmp(kind, "read-unmapped")) {
		munmap(a, 2 * PAGE);
		(void)*p;
	} else if (!strcmp(kind, "growsdown-into-gap")) {
		unsigned char *top = map_growsdown(1024 * PAGE, PAGE);

		/* a mapping 16 pages below: growing to it would cross the guard gap */
		if (!top || map_anon(top - 16 * PAGE, PAGE, MAP_FIXED) == MAP_FAILED)
			return 3;
		p = top - 8 * PAGE;
		(void)*p;
	} else if (!strcmp(kind, "read-moved")) {
		void *to = mmap(NULL, 2 * PAGE, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (to == MAP_FAILED || mremap(a, 2 * PAGE, 2 * PAGE,
					       MREMAP_MAYMOVE | MREMAP_FIXED,
					       to) != to)
			return 3;
		(void)*p;
	}
	return 0;		/* survived the bad access */
}

static void check_faults(void)
{
	static const char *const kinds[] = {
		"write-readonly", "read-none", "read-unmapped", "read-moved",
		"growsdown-into-gap",
	};
	char out[4096];
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int status = run_child(fault_child, (void *)kinds[i], out,
				       sizeof(out));

		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "%s: %s, expected SIGSEGV; output:\n%s", kinds[i],
		      status_str(status), out);
	}
}

int main(void)
{
	rng_state = 0x2545f4914f6cdd1dULL;

	check_faults();
	enter_dune();
	random_cycles();
	check_map_fixed();
	check_file_mapping();
	check_brk();
	check_stack_growth();
	check_growsdown();
	check_sigbus_past_eof();
	return finish();
}
