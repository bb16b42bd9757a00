// SPDX-License-Identifier: MIT
/*
 * Protection keys natively and inside dune (LTP pkey01): an access the key
 * forbids is SIGSEGV with SEGV_PKUERR and si_pkey, whether pkey_alloc or
 * WRPKRU set the rights; the key stays across mprotect, moves with mremap,
 * goes with munmap, holds in a large mapping mapped on first touch and in a
 * fork child; a handler starts with Linux's initial PKRU and its frame holds
 * the interrupted one; PROT_EXEC alone gets the execute-only key.  Where
 * KVM gives the guest no PKU, the guest's CPUID must say so, pkey_alloc fail
 * with ENOSPC and PROT_EXEC-only code run (readable), as natively without
 * keys; then the comparison with native is skipped.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "check.h"

#define PAGE		4096UL
#define LARGE		(128UL << 20)	/* over dune's eager-map limit: mapped on a fault */
#define PKRU_INIT	0x55555554U

static sigjmp_buf back;
static volatile int got_signo, got_code, got_pkey;
static volatile uintptr_t got_addr;
static volatile uint32_t handler_pkru, frame_pkru;

static uint32_t rdpkru(void)
{
	uint32_t pkru;

	asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	return pkru;
}

static void wrpkru(uint32_t pkru)
{
	asm volatile("wrpkru" :: "a"(pkru), "c"(0), "d"(0) : "memory");
}

/* PKRU in the frame's XSAVE image (CPUID 0xD.9:EBX gives its offset). */
static uint32_t pkru_of_frame(const ucontext_t *uc)
{
	unsigned int a, b, c, d;
	uint32_t pkru;

	__cpuid_count(0xd, 9, a, b, c, d);
	memcpy(&pkru, (const char *)uc->uc_mcontext.fpregs + b, sizeof(pkru));
	return pkru;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	handler_pkru = rdpkru();
	frame_pkru = pkru_of_frame(uc);
	got_signo = sig;
	got_code = si->si_code;
	got_pkey = si->si_pkey;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

/*
 * Touch p (a write or a read): "ok", or what the handler saw (si_pkey, and
 * whether it is pkey).  Leaving the
 * handler with siglongjmp keeps its PKRU: put the program's back.
 */
static void touch(const char *what, char *p, int write, int pkey)
{
	uint32_t pkru = rdpkru();

	got_signo = 0;
	if (!sigsetjmp(back, 1)) {
		if (write)
			*(volatile char *)p = 1;
		else
			(void)*(volatile char *)p;
	}
	wrpkru(pkru);
	if (!got_signo)
		printf("%s: ok\n", what);
	else
		printf("%s: signal %d code %d pkey %s (%d) addr %s handler pkru %#x frame pkru %s\n",
		       what, got_signo, got_code, got_pkey == pkey ? "right" : "wrong", got_pkey,
		       got_addr == (uintptr_t)p ? "right" : "wrong", handler_pkru,
		       frame_pkru == pkru ? "right" : "wrong");
}

/* `mov $42, %eax; ret` on a page of its own, then PROT_EXEC alone. */
static int (*exec_only_code(void))(void)
{
	static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, code, sizeof(code));
	if (mprotect(p, PAGE, PROT_EXEC))
		return NULL;
	return (int (*)(void))p;
}

/* A syscall's own access to p (the kernel's, through the caller's PKRU). */
static void kernel_touch(const char *what, char *p, int into)
{
	int fds[2];
	long r;

	if (pipe(fds)) {
		perror("pipe");
		exit(1);
	}
	if (into) {		/* the kernel writes to p */
		(void)!write(fds[1], "k", 1);
		r = read(fds[0], p, 1);
	} else {
		r = write(fds[1], p, 1);
	}
	printf("%s: %s\n", what, r == 1 ? "ok" : strerror(errno));
	close(fds[0]);
	close(fds[1]);
}

static char *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static int cases(void *arg)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	char *p = map(PAGE), *q = map(PAGE), *big = map(LARGE), *moved;
	int no_access, writable, status;
	int (*code)(void);
	pid_t pid;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	if (arg)
		enter_dune();
	no_access = pkey_alloc(0, PKEY_DISABLE_ACCESS);
	writable = pkey_alloc(0, 0);
	printf("keys %d %d\n", no_access, writable);
	if (no_access < 0 || writable < 0)
		return 1;

	pkey_mprotect(p, PAGE, PROT_READ | PROT_WRITE, no_access);
	touch("read, pkey_alloc forbids", p, 0, no_access);
	mprotect(p, PAGE, PROT_READ);
	touch("read after mprotect", p, 0, no_access);
	kernel_touch("write(2) from it, pkey_alloc forbids", p, 0);

	pkey_mprotect(q, PAGE, PROT_READ | PROT_WRITE, writable);
	touch("write, key open", q, 1, writable);
	pkey_set(writable, PKEY_DISABLE_WRITE);
	touch("write, WRPKRU forbids", q, 1, writable);
	touch("read, WRPKRU allows", q, 0, writable);
	kernel_touch("read(2) into it, WRPKRU forbids", q, 1);
	kernel_touch("write(2) from it, WRPKRU allows", q, 0);

	moved = mremap(p, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, big + LARGE - 4 * PAGE);
	touch("read after mremap", moved + PAGE, 0, no_access);
	munmap(moved, 2 * PAGE);
	if (mmap(moved, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return 1;
	touch("write after munmap and mmap", moved, 1, 0);

	pkey_mprotect(big, LARGE - 4 * PAGE, PROT_READ | PROT_WRITE, no_access);
	touch("write, large mapping", big + LARGE / 2, 1, no_access);

	code = exec_only_code();
	printf("execute-only code: %d\n", code ? code() : -1);
	touch("read, execute-only (the key is the kernel's)", (char *)code, 0, -1);

	signal(SIGSEGV, SIG_DFL);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		(void)*(volatile char *)q;
		*(volatile char *)q = 2;	/* PKRU is inherited: SIGSEGV */
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("fork child: %s\n", status_str(status));
	printf("pkru %#x\n", rdpkru());
	return 0;
}

/* Inside, without PKU from KVM: a CPU without keys, consistently. */
static int no_keys(void *arg)
{
	unsigned int a, b, c, d;
	int pkey;

	int (*code)(void);

	(void)arg;
	enter_dune();
	__cpuid_count(7, 0, a, b, c, d);
	pkey = pkey_alloc(0, 0);
	printf("pku %u ospke %u pkey_alloc %d %s\n", (c >> 3) & 1, (c >> 4) & 1, pkey,
	       pkey < 0 ? strerror(errno) : "");
	if (pkey >= 0)
		return 0;	/* keys: cases() compares it all with native */
	code = exec_only_code();
	printf("execute-only code %d, readable %d, inside %d\n", code ? code() : -1,
	       code && *(volatile char *)code == (char)0xb8, dune_is_inside());
	return 0;
}

static int guest_has_pkeys(void)
{
	char out[256];
	int pkey = pkey_alloc(0, 0);

	if (pkey < 0)
		return -errno;
	pkey_free(pkey);
	run_child(no_keys, NULL, out, sizeof(out));
	if (!strncmp(out, "pku 1 ospke 1 ", 14))
		return 1;
	CHECK(!strcmp(out, "pku 0 ospke 0 pkey_alloc -1 No space left on device\n"
		      "execute-only code 42, readable 1, inside 1\n"),
	      "inside dune without PKU: %s", out);
	return 0;
}

int main(void)
{
	char native[2048], inside[2048];
	int native_status, inside_status, has = guest_has_pkeys();

	if (has < 0) {
		printf("pkey_alloc natively: %s\n", strerror(-has));
		return 77;
	}
	if (!has) {
		if (check_failures)
			return finish();
		printf("KVM gives the guest no PKU here (natively it has): inside, a CPU without keys\n");
		return 77;
	}
	native_status = run_child(cases, NULL, native, sizeof(native));
	inside_status = run_child(cases, (void *)1, inside, sizeof(inside));
	printf("%s", native);
	CHECK(native_status == 0 && strstr(native, "code 4 pkey right ("),
	      "natively %s: %s", status_str(native_status), native);
	CHECK(native_status == inside_status && !strcmp(native, inside),
	      "natively %s:\n%s\ninside dune %s:\n%s", status_str(native_status), native,
	      status_str(inside_status), inside);
	return finish();
}
