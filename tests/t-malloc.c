/* SPDX-License-Identifier: MIT */
/*
 * malloc inside dune: one 256 MiB block (fresh memory that the VM must map
 * as the program touches it), calloc's zeroed memory, and many small
 * allocations of the heap.
 */
#include <stdint.h>

#include "check.h"

#define BIG (256UL << 20)
#define SMALL_COUNT 100000


static uint64_t word_pattern(uint64_t i)
{
	return i * 0x9e3779b97f4a7c15ULL + 12345;
}

static void check_big(void)
{
	struct dune_stats before = { .size = sizeof(before) }, after = before;
	uint64_t *w, sum = 0, expect = 0, exits;
	unsigned char *p = malloc(BIG);
	size_t i;

	CHECK(p != NULL, "malloc(256 MiB) failed");
	if (!p)
		return;
	dune_get_stats(&before);
	memset(p, 0xa5, BIG);
	barrier();
	dune_get_stats(&after);
	/* fresh memory is mirrored in large windows, not page by page */
	exits = after.exits[DUNE_EXIT_FAULT] - before.exits[DUNE_EXIT_FAULT];
	printf("# first touch of 256 MiB (%lu pages): %llu fault exits\n", BIG / 4096,
	       (unsigned long long)exits);
	CHECK(exits <= 64, "%llu fault exits for 256 MiB of fresh memory", (unsigned long long)exits);
	for (i = 0; i < BIG; i += 8)
		sum += p[i] + p[i + 7];
	CHECK(sum == BIG / 8 * 2 * 0xa5, "memset pattern sum %llu",
	      (unsigned long long)sum);

	w = (uint64_t *)p;
	for (i = 0; i < BIG / 8; i++)
		w[i] = word_pattern(i);
	barrier();
	sum = 0;
	for (i = 0; i < BIG / 8; i++) {
		sum += w[i] ^ (sum >> 3);
		expect += word_pattern(i) ^ (expect >> 3);
	}
	CHECK(sum == expect, "checksum %llx, expected %llx",
	      (unsigned long long)sum, (unsigned long long)expect);
	free(p);
}

/* Fresh (mmap'ed) memory from calloc must read as zeros. */
static void check_calloc(void)
{
	size_t n = 64UL << 20, i;
	unsigned char *p = calloc(1, n);

	CHECK(p != NULL, "calloc(64 MiB) failed");
	if (!p)
		return;
	for (i = 0; i < n; i++)
		if (p[i])
			break;
	CHECK(i == n, "calloc memory not zero at %zu", i);
	free(p);
}

struct block {
	unsigned char *p;
	size_t size;
	unsigned char tag;
};

static int block_intact(const struct block *b)
{
	size_t i;

	for (i = 0; i < b->size; i++)
		if (b->p[i] != b->tag)
			return 0;
	return 1;
}

/* Many small blocks, tagged, freed in random order, some realloc'ed. */
static void check_small(void)
{
	static struct block b[SMALL_COUNT];
	int i, bad = 0;

	for (i = 0; i < SMALL_COUNT; i++) {
		b[i].size = 1 + rng() % 512;
		b[i].tag = (unsigned char)rng();
		b[i].p = malloc(b[i].size);
		if (!b[i].p) {
			CHECK(0, "malloc(%zu) #%d failed", b[i].size, i);
			return;
		}
		memset(b[i].p, b[i].tag, b[i].size);
	}
	for (i = 0; i < SMALL_COUNT; i++)
		bad += !block_intact(&b[i]);
	CHECK(bad == 0, "%d of %d blocks overwritten", bad, SMALL_COUNT);

	/* grow every third block: realloc keeps the old bytes */
	for (i = 0; i < SMALL_COUNT; i += 3) {
		unsigned char *q = realloc(b[i].p, b[i].size * 5);

		CHECK(q != NULL, "realloc failed");
		if (!q)
			return;
		b[i].p = q;
		bad += !block_intact(&b[i]);
		b[i].size *= 5;
		memset(q, b[i].tag, b[i].size);
	}
	CHECK(bad == 0, "%d blocks changed by realloc", bad);

	/* free in random order (Fisher-Yates shuffle), checking the rest */
	for (i = SMALL_COUNT - 1; i > 0; i--) {
		int j = rng() % (i + 1);
		struct block t = b[i];

		b[i] = b[j];
		b[j] = t;
	}
	for (i = 0; i < SMALL_COUNT; i++) {
		bad += !block_intact(&b[i]);
		free(b[i].p);
	}
	CHECK(bad == 0, "%d blocks damaged before free", bad);
}

int main(void)
{
	enter_dune();
	check_big();
	check_calloc();
	check_small();
	check_big();	/* again: memory returned to the host and remapped */
	return finish();
}
