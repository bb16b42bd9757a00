/* SPDX-License-Identifier: MIT */
/*
 * Helper of t-faults: usage "fault KIND native|dune".  Enters dune in dune
 * mode, then commits the fault KIND, which should kill it by a signal.
 * Exit status 0 means the fault did nothing; 2 means bad usage or setup.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

/* volatile: hide values from the compiler, which may drop UB accesses */
static volatile unsigned zero;
static volatile unsigned long huge = ~0UL;
static const char *volatile literal = "read-only";

static void *page_mapped(int prot)
{
	void *p = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(2);
	return p;
}

static __attribute__((noinline)) unsigned long recurse(unsigned long n)
{
	volatile char frame[1024];

	frame[0] = (char)n;
	if (n >= huge)
		return 0;
	return recurse(n + 1) + frame[0];
}

/* A file mapping past the end of its file. */
static volatile char *beyond_eof(void)
{
	char path[] = "/tmp/dune-fault.XXXXXX";
	int fd = mkstemp(path);
	char *p;

	if (fd < 0)
		exit(2);
	unlink(path);
	if (ftruncate(fd, 4096) < 0)
		exit(2);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		exit(2);
	return p + 4096;
}

static void set_up(const char *kind)
{
	struct rlimit rl;

	/* a stack overflow needs a stack limit to overflow */
	if (!strcmp(kind, "segv-stack-overflow") &&
	    getrlimit(RLIMIT_STACK, &rl) == 0 &&
	    (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (64UL << 20))) {
		rl.rlim_cur = 8UL << 20;
		setrlimit(RLIMIT_STACK, &rl);
	}
}

static void do_fault(const char *kind)
{
	volatile int *ip;
	unsigned lo = 1, hi = 0;

	if (!strcmp(kind, "segv-unmapped")) {
		ip = (volatile int *)0x1000;
		(void)*ip;
	} else if (!strcmp(kind, "segv-munmapped")) {
		ip = page_mapped(PROT_READ | PROT_WRITE);
		*ip = 1;
		munmap((void *)ip, 4096);
		(void)*ip;
	} else if (!strcmp(kind, "segv-rodata")) {
		*(volatile char *)literal = 'R';
	} else if (!strcmp(kind, "segv-readonly")) {
		ip = page_mapped(PROT_READ);
		(void)*ip;	/* mapped, but only for reading */
		*ip = 1;
	} else if (!strcmp(kind, "segv-kernel")) {
		ip = (volatile int *)0xffff888000000000UL;
		(void)*ip;
	} else if (!strcmp(kind, "segv-noncanonical")) {
		ip = (volatile int *)0x8000000000000000UL;
		(void)*ip;
	} else if (!strcmp(kind, "segv-stack-overflow")) {
		recurse(zero);
	} else if (!strcmp(kind, "segv-hlt")) {
		asm volatile("hlt");	/* privileged: #GP at CPL 3 */
	} else if (!strcmp(kind, "bus")) {
		*beyond_eof() = 1;
	} else if (!strcmp(kind, "ill")) {
		asm volatile("ud2");
	} else if (!strcmp(kind, "fpe")) {
		/* in asm: C compilers turn 1 / x into compares */
		asm volatile("divl %2" : "+a"(lo), "+d"(hi) : "r"(zero));
	} else if (!strcmp(kind, "trap")) {
		asm volatile("int3");
	} else if (!strcmp(kind, "abrt")) {
		abort();
	} else {
		fprintf(stderr, "unknown kind %s\n", kind);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fault KIND native|dune\n");
		return 2;
	}
	set_up(argv[1]);
	if (!strcmp(argv[2], "dune"))
		enter_dune();
	do_fault(argv[1]);
	return 0;
}
