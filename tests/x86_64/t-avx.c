/* SPDX-License-Identifier: MIT */
/*
 * Vector state inside dune.  glibc chose its string functions natively from
 * the host CPU (AVX2 or AVX-512 ones on most machines), so inside the VM the
 * same instructions must work (guest XCR0) and the vector registers must
 * survive every exit: system calls, page faults.  The string functions are
 * checked against plain byte loops on big buffers and at many alignments,
 * and ymm/zmm/mask registers are checked directly across system calls.
 */
#include <cpuid.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "check.h"

#define MIB (1UL << 20)
#define BUF_SIZE (64 * MIB + 4096)
#define SMALL_LEN 300

static unsigned char *src, *dst;


/*
 * Reference loops go through volatile pointers so that the compiler cannot
 * turn them back into calls of the functions under test.
 */
static void fill_random(unsigned char *buf, size_t len)
{
	volatile unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(rng() | 1);	/* never NUL */
}

/* Index of the first difference of a and b, or len. */
static size_t naive_diff(const unsigned char *a, const unsigned char *b,
			 size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			break;
	return i;
}

static size_t naive_count(const unsigned char *a, unsigned char c, size_t len)
{
	const volatile unsigned char *x = a;
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += x[i] == c;
	return n;
}

/* memcpy of len bytes at the given offsets; bytes around dst untouched. */
static int copy_ok(size_t so, size_t d_o, size_t len)
{
	unsigned char *d = dst + d_o;
	unsigned char before = d[-1], after = d[len];

	memcpy(d, src + so, len);
	return naive_diff(d, src + so, len) == len && d[-1] == before &&
	       d[len] == after;
}

static void check_memcpy(void)
{
	static const size_t big[] = { MIB, 8 * MIB - 3, 64 * MIB };
	size_t len, so, d_o;
	unsigned i;

	for (len = 0; len <= SMALL_LEN; len++)
		for (so = 0; so < 64; so++)
			for (d_o = 1; d_o <= 64; d_o += 9)
				if (!copy_ok(so, d_o, len)) {
					CHECK(0, "memcpy of %zu bytes from offset "
					      "%zu to %zu wrong", len, so, d_o);
					return;
				}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		so = rng() % 64;
		d_o = 1 + rng() % 64;
		CHECK(copy_ok(so, d_o, big[i]),
		      "memcpy of %zu bytes from offset %zu to %zu wrong", big[i],
		      so, d_o);
	}
}

static int move_ok(size_t len, size_t sh)
{
	unsigned char *base = dst + 8;

	/* src holds the original; copy it in with memcpy, checked */
	if (!copy_ok(8, 8, len + sh))
		return 0;
	memmove(base + sh, base, len);	/* forward overlap */
	if (naive_diff(base + sh, src + 8, len) != len ||
	    naive_diff(base, src + 8, sh) != sh || !copy_ok(8, 8, len + sh))
		return 0;
	memmove(base, base + sh, len);	/* backward overlap */
	return naive_diff(base, src + 8 + sh, len) == len;
}

/* memmove within one buffer, both directions, against a saved copy. */
static void check_memmove(void)
{
	static const size_t shifts[] = { 1, 31, 64, 4096 + 7 };
	static const size_t lens[] = { 17, 1000, MIB + 5 };
	unsigned i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 0; j < sizeof(shifts) / sizeof(shifts[0]); j++)
			CHECK(move_ok(lens[i], shifts[j]),
			      "memmove by %zu of %zu bytes wrong", shifts[j],
			      lens[i]);
	CHECK(move_ok(32 * MIB, 33), "memmove by 33 of 32 MiB wrong");
}

static int set_ok(size_t off, unsigned char c, size_t len)
{
	unsigned char before = dst[off - 1], after = dst[off + len];

	memset(dst + off, c, len);
	return naive_count(dst + off, c, len) == len &&
	       dst[off - 1] == before && dst[off + len] == after;
}

static void check_memset(void)
{
	static const size_t big[] = { MIB - 1, 64 * MIB };
	size_t len, off, i;

	for (len = 0; len <= SMALL_LEN; len++)
		for (off = 1; off <= 64; off++)
			if (!set_ok(off, (unsigned char)(len + off), len)) {
				CHECK(0, "memset of %zu bytes at offset %zu wrong",
				      len, off);
				return;
			}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		CHECK(set_ok(1 + rng() % 64, 0x5a, big[i]),
		      "memset of %zu bytes wrong", big[i]);
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

/* memcmp of two equal copies, then with one byte changed near the end. */
static int cmp_ok(size_t ao, size_t bo, size_t len)
{
	unsigned char *a = src + ao, *b = dst + bo;
	unsigned char keep;
	size_t k;

	if (!copy_ok(ao, bo, len) || memcmp(a, b, len) != 0)
		return 0;
	if (!len)
		return 1;
	k = len - 1 - rng() % (len < 70 ? len : 70);
	keep = b[k];
	b[k] = (unsigned char)(a[k] + 1);
	if (sign(memcmp(a, b, len)) != (a[k] < b[k] ? -1 : 1) ||
	    sign(memcmp(b, a, len)) != (a[k] < b[k] ? 1 : -1) ||
	    memcmp(a, b, k) != 0)
		return 0;
	b[k] = keep;
	return 1;
}

static void check_memcmp(void)
{
	size_t len, off;

	for (len = 0; len <= SMALL_LEN; len++)
		for (off = 1; off <= 64; off++)
			if (!cmp_ok(off, 65 - off, len)) {
				CHECK(0, "memcmp of %zu bytes at offsets %zu, %zu "
				      "wrong", len, off, 65 - off);
				return;
			}
	CHECK(cmp_ok(3, 1, 16 * MIB), "memcmp of 16 MiB wrong");
	CHECK(cmp_ok(0, 64, 64 * MIB), "memcmp of 64 MiB wrong");
}

/*
 * strlen, strchr and memchr find the one NUL or the one byte 2 we put in:
 * src holds only odd bytes, so nothing else can match.
 */
static int search_ok(size_t off, size_t len)
{
	unsigned char *s = dst + off;
	size_t k = len ? rng() % len : 0;
	int ok;

	if (!copy_ok(0, off, len))
		return 0;
	s[len] = 0;
	ok = strlen((char *)s) == len;
	ok &= strchr((char *)s, 0) == (char *)s + len;
	ok &= strchr((char *)s, 2) == NULL;
	ok &= memchr(s, 2, len) == NULL;
	ok &= memchr(s, 0, len + 1) == s + len;
	if (len) {
		s[k] = 2;
		ok &= memchr(s, 2, len) == s + k;
		ok &= memchr(s, 2, k) == NULL;
		ok &= strchr((char *)s, 2) == (char *)s + k;
	}
	return ok;
}

static void check_search(void)
{
	static const size_t big[] = { MIB, 8 * MIB + 1, 64 * MIB - 64 };
	size_t len, off;
	unsigned i;

	for (len = 0; len <= SMALL_LEN; len++)
		for (off = 1; off <= 64; off++)
			if (!search_ok(off, len)) {
				CHECK(0, "strlen/strchr/memchr of %zu bytes at "
				      "offset %zu wrong", len, off);
				return;
			}
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		CHECK(search_ok(1 + rng() % 64, big[i]),
		      "strlen/strchr/memchr of %zu bytes wrong", big[i]);
}

/* --- Registers -------------------------------------------------------- */

#define REGS8(m) m(0) m(1) m(2) m(3) m(4) m(5) m(6) m(7)
#define REGS16(m) REGS8(m) m(8) m(9) m(10) m(11) m(12) m(13) m(14) m(15)
#define REGS32(m) REGS16(m) m(16) m(17) m(18) m(19) m(20) m(21) m(22) m(23) \
		  m(24) m(25) m(26) m(27) m(28) m(29) m(30) m(31)

/*
 * Load every register from in[], make a system call (or touch a page the VM
 * has not seen, if touch != NULL), store every register to out[].
 */
#define LOAD_Y(n) "vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define STORE_Y(n) "vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"
#define CLOBBER_X(n) "xmm" #n,

__attribute__((target("avx")))
static void ymm_exit(const void *in, void *out, long nr, volatile char *touch)
{
	if (touch)
		asm volatile(REGS16(LOAD_Y) "movb $1, (%[t])\n\t" REGS16(STORE_Y)
			     : : [in] "r"(in), [out] "r"(out), [t] "r"(touch)
			     : REGS16(CLOBBER_X) "memory");
	else
		asm volatile(REGS16(LOAD_Y) "syscall\n\t" REGS16(STORE_Y)
			     : "+a"(nr) : [in] "r"(in), [out] "r"(out)
			     : REGS16(CLOBBER_X) "rcx", "r11", "memory");
}

#define LOAD_Z(n) "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define STORE_Z(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"
#define LOAD_K(n) "kmovw 2048+" #n "*2(%[in]), %%k" #n "\n\t"
#define STORE_K(n) "kmovw %%k" #n ", 2048+" #n "*2(%[out])\n\t"
#define CLOBBER_K(n) "k" #n,

__attribute__((target("avx512f")))
static void zmm_exit(const void *in, void *out, long nr, volatile char *touch)
{
	if (touch)
		asm volatile(REGS32(LOAD_Z) REGS8(LOAD_K) "movb $1, (%[t])\n\t"
			     REGS32(STORE_Z) REGS8(STORE_K)
			     : : [in] "r"(in), [out] "r"(out), [t] "r"(touch)
			     : REGS32(CLOBBER_X) REGS8(CLOBBER_K) "memory");
	else
		asm volatile(REGS32(LOAD_Z) REGS8(LOAD_K) "syscall\n\t"
			     REGS32(STORE_Z) REGS8(STORE_K)
			     : "+a"(nr) : [in] "r"(in), [out] "r"(out)
			     : REGS32(CLOBBER_X) REGS8(CLOBBER_K) "rcx", "r11",
			       "memory");
}

typedef void exit_fn(const void *in, void *out, long nr, volatile char *touch);

/* Registers survive 200 system calls of three kinds and 200 page faults. */
static void check_registers(const char *name, exit_fn *fn, size_t size)
{
	static const long calls[] = { SYS_getpid, SYS_sched_yield, SYS_getppid };
	unsigned char in[2048 + 16], out[2048 + 16];
	char *fresh = mmap(NULL, 200 * 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i, bad_call = -1, bad_fault = -1;

	CHECK(fresh != MAP_FAILED, "mmap: %s", strerror(errno));
	if (fresh == MAP_FAILED)
		return;
	for (i = 0; i < 200; i++) {
		fill_random(in, size);
		memset(out, 0, size);
		fn(in, out, calls[i % 3], NULL);
		if (bad_call < 0 && naive_diff(in, out, size) != size)
			bad_call = i;

		fill_random(in, size);
		memset(out, 0, size);
		fn(in, out, 0, fresh + i * 4096);
		if (bad_fault < 0 && naive_diff(in, out, size) != size)
			bad_fault = i;
	}
	CHECK(bad_call < 0, "%s registers changed by system call #%d", name,
	      bad_call);
	CHECK(bad_fault < 0, "%s registers changed by page fault #%d", name,
	      bad_fault);
	munmap(fresh, 200 * 4096);
}

/* --- CPU features and control state ----------------------------------- */

struct cpu_state {
	unsigned leaf1_ecx, leaf7_ebx;
	uint64_t xcr0;
	uint32_t mxcsr;
	uint16_t fpucw;
};

static void read_cpu_state(struct cpu_state *s)
{
	unsigned a, b, c, d;

	memset(s, 0, sizeof(*s));
	if (__get_cpuid(1, &a, &b, &c, &d))
		s->leaf1_ecx = c;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
		s->leaf7_ebx = b;
	if (s->leaf1_ecx & bit_OSXSAVE) {
		asm volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
		s->xcr0 = (uint64_t)d << 32 | a;
	}
	asm volatile("stmxcsr %0" : "=m"(s->mxcsr));
	asm volatile("fnstcw %0" : "=m"(s->fpucw));
}

static void report_cpu(const char *when, const struct cpu_state *s)
{
	printf("# %s: cpuid avx=%d avx2=%d avx512f=%d avx512bw=%d, XCR0=%#llx\n",
	       when, !!(s->leaf1_ecx & bit_AVX), !!(s->leaf7_ebx & bit_AVX2),
	       !!(s->leaf7_ebx & bit_AVX512F), !!(s->leaf7_ebx & bit_AVX512BW),
	       (unsigned long long)s->xcr0);
}

int main(void)
{
	/* x87|SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM: what glibc's choice needs */
	const uint64_t xcr0_vector = 0xe7;
	struct cpu_state native, inside;
	uint32_t mxcsr = 0x1f80 | 0x6000 | 0x8040;	/* RZ, FTZ, DAZ */
	uint16_t fpucw = 0x027f;			/* 53-bit precision */
	int avx, avx512;

	rng_state = 0x9e3779b97f4a7c15ULL;

	__builtin_cpu_init();
	avx = __builtin_cpu_supports("avx");
	avx512 = __builtin_cpu_supports("avx512f");
	printf("# ISA level: %s\n", avx512 ? "AVX-512" :
	       __builtin_cpu_supports("avx2") ? "AVX2" : avx ? "AVX" : "SSE");

	/* these control registers are callee-saved: entering keeps them */
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	asm volatile("fldcw %0" : : "m"(fpucw));
	read_cpu_state(&native);
	enter_dune();
	read_cpu_state(&inside);
	report_cpu("native", &native);
	report_cpu("inside", &inside);
	CHECK(inside.mxcsr == native.mxcsr, "MXCSR %#x inside, %#x native",
	      inside.mxcsr, native.mxcsr);
	CHECK(inside.fpucw == native.fpucw, "x87 control word %#x inside, %#x "
	      "native", inside.fpucw, native.fpucw);
	CHECK((inside.xcr0 & xcr0_vector) == (native.xcr0 & xcr0_vector),
	      "XCR0 %#llx inside, %#llx native: vector state missing",
	      (unsigned long long)inside.xcr0, (unsigned long long)native.xcr0);
	mxcsr = 0x1f80;
	fpucw = 0x037f;
	asm volatile("ldmxcsr %0" : : "m"(mxcsr));
	asm volatile("fldcw %0" : : "m"(fpucw));

	if (avx)
		check_registers("ymm", ymm_exit, 16 * 32);
	else
		printf("# ymm part skipped: no AVX\n");
	if (avx512)
		check_registers("zmm/k", zmm_exit, 32 * 64 + 16);
	else
		printf("# zmm part skipped: no AVX-512F\n");

	src = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED) {
		CHECK(0, "mmap of buffers: %s", strerror(errno));
		return finish();
	}
	fill_random(src, BUF_SIZE);
	fill_random(dst, BUF_SIZE);
	check_memcpy();
	check_memmove();
	check_memset();
	check_memcmp();
	check_search();
	return finish();
}
