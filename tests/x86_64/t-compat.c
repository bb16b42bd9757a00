// SPDX-License-Identifier: MIT
/*
 * The i386 system call ABI, `int $0x80`, natively and inside dune: from
 * 64-bit code (number in EAX, arguments in EBX ECX EDX ESI EDI EBP, a 32-bit
 * result sign-extended, the other registers as the kernel leaves them) and
 * from a 32-bit code segment; a call dune would have to intercept is refused
 * with ENOSYS inside, and every call under deny rules; a seccomp filter sees
 * AUDIT_ARCH_I386; `sysenter` ends the program as natively.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <ucontext.h>

#include "check.h"

#define I386_READ	3
#define I386_WRITE	4
#define I386_GETPID	20
#define I386_BRK	45
#define I386_MUNMAP	91
#define I386_EXIT_GROUP	252
#define USER_CS32	0x23

struct gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

/* int $0x80 with every GPR but RSP given, and all of them as it leaves them. */
static void int80(struct gprs *g)
{
	asm volatile("push %%rbp\n\t"
		     "push %%rbx\n\t"
		     "push %%rdi\n\t"
		     "mov 8(%%rdi), %%rbx\n\t"
		     "mov 48(%%rdi), %%rbp\n\t"
		     "mov 40(%%rdi), %%rdi\n\t"
		     "int $0x80\n\t"
		     "xchg %%rdi, (%%rsp)\n\t"
		     "mov %%rbx, 8(%%rdi)\n\t"
		     "mov %%rbp, 48(%%rdi)\n\t"
		     "popq 40(%%rdi)\n\t"
		     "pop %%rbx\n\t"
		     "pop %%rbp"
		     : "+a"(g->rax), "+c"(g->rcx), "+d"(g->rdx), "+S"(g->rsi),
		       "+r"(g->r8), "+r"(g->r9), "+r"(g->r10), "+r"(g->r11),
		       "+r"(g->r12), "+r"(g->r13), "+r"(g->r14), "+r"(g->r15)
		     : "D"(g) : "memory", "cc");
}

/* Runs in a child: prints the registers and results, to compare. */
static int from_64bit(void *mode)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	struct gprs g;
	int fds[2];
	char back[3] = "";

	if (low == MAP_FAILED || pipe(fds))
		return 2;
	if (mode)
		enter_dune();
	/* getpid, with every other register holding a pattern */
	g = (struct gprs){ I386_GETPID, 0x1111111111111111, 0x2222222222222222,
			   0x3333333333333333, 0x4444444444444444, 0x5555555555555555,
			   0x6666666666666666, 8, 9, 10, 11, 12, 13, 14, 15 };
	int80(&g);
	printf("getpid %s; rbx %lx rcx %lx rdx %lx rsi %lx rdi %lx rbp %lx\n",
	       g.rax == (uint64_t)getpid() ? "right" : "wrong", g.rbx, g.rcx, g.rdx, g.rsi, g.rdi,
	       g.rbp);
	printf("r8-r15 %lx %lx %lx %lx %lx %lx %lx %lx\n", g.r8, g.r9, g.r10, g.r11, g.r12, g.r13,
	       g.r14, g.r15);
	/* write through a 32-bit pointer, upper halves ignored */
	memcpy(low, "hi", 2);
	g = (struct gprs){ .rax = I386_WRITE, .rbx = 0xdead00000000 | fds[1],
			   .rcx = 0xbeef00000000 | (uintptr_t)low, .rdx = 2 };
	int80(&g);
	printf("write %ld, read back \"%s\"\n", (long)g.rax,
	       read(fds[0], back, 2) == 2 ? back : "");
	/* an error is a 32-bit result, sign-extended */
	g = (struct gprs){ .rax = 0xffffffff00000000 | I386_READ, .rbx = -1, .rcx = 0, .rdx = 0 };
	int80(&g);
	printf("read(-1) %ld\n", (long)g.rax);
	return 0;
}

static void check_from_64bit(void)
{
	char native[512], inside[512];
	int native_status = run_child(from_64bit, (void *)0, native, sizeof(native));
	int inside_status = run_child(from_64bit, (void *)1, inside, sizeof(inside));

	if (!WIFEXITED(native_status) || WEXITSTATUS(native_status) != 0) {
		printf("# natively: %s\n", status_str(native_status));
		skip("int $0x80 fails natively here (no IA32 emulation?)");
	}
	CHECK(strstr(native, "getpid right") && strstr(native, "write 2, read back \"hi\"") &&
	      strstr(native, "read(-1) -9\n"), "int $0x80 natively: %s", native);
	CHECK(inside_status == native_status && !strcmp(native, inside),
	      "int $0x80 from 64-bit code: natively\n%s inside dune %s\n%s", native,
	      status_str(inside_status), inside);
}

/*
 * i386 brk would need dune's mirroring: refused inside, with ENOSYS; and
 * under deny rules (mode 1) so is every i386 call, getpid too.
 */
static int refused(void *mode)
{
	struct gprs g = { .rax = I386_BRK };

	if (mode)
		setenv("DUNE_DENY", "mkdir", 1);
	enter_dune();
	int80(&g);
	printf("brk %ld\n", (long)g.rax);
	g = (struct gprs){ .rax = I386_GETPID };
	int80(&g);
	printf("getpid %s\n", g.rax == (uint64_t)getpid() ? "right" :
			      g.rax == -38UL ? "ENOSYS" : "wrong");
	return 0;
}

static void check_refused(void)
{
	for (long mode = 0; mode < 2; mode++) {
		char out[256];
		int status = run_child(refused, (void *)mode, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "brk -38\n") &&
		      strstr(out, mode ? "getpid ENOSYS\n" : "getpid right\n"),
		      "i386 brk and getpid inside dune%s: %s %s", mode ? " under deny rules" : "",
		      status_str(status), out);
	}
}

static sigjmp_buf back;

/* SIGILL (or SIGSEGV): back to the sigsetjmp. */
static void on_sigill(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	siglongjmp(back, 1);
}

/*
 * Far-return into 32-bit code (below 4 GiB) that makes the i386 getpid,
 * stores EAX and ends with ud2; the SIGILL handler comes back.
 */
static int from_32bit(void *mode)
{
	static const uint8_t code[] = {
		0xb8, I386_GETPID, 0, 0, 0,	/* mov $20, %eax */
		0xcd, 0x80,			/* int $0x80 */
		0x36, 0xa3, 0, 0, 0, 0,		/* mov %eax, %ss:result (patched; DS is null) */
		0x0f, 0x0b,			/* ud2 */
	};
	struct sigaction sa = { .sa_sigaction = on_sigill, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	static char altstack[64 << 10];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	volatile uint32_t *result = (uint32_t *)(page + 2048);
	uint32_t at = (uint32_t)(uintptr_t)result;

	if (page == MAP_FAILED)
		return 2;
	memcpy(page, code, sizeof(code));
	memcpy(page + 9, &at, sizeof(at));
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	sigaltstack(&ss, NULL);
	if (mode)
		enter_dune();
	if (!sigsetjmp(back, 1))
		asm volatile("pushq %0; pushq %1; lretq" :: "i"(USER_CS32), "r"((uint64_t)page)
			     : "memory");
	printf("getpid from 32-bit code %s\n", *result == (uint32_t)getpid() ? "right" : "wrong");
	return 0;
}

static void check_from_32bit(void)
{
	char native[128] = "", inside[128] = "";
	int native_status = run_child(from_32bit, (void *)0, native, sizeof(native));
	int inside_status;

	if (!WIFEXITED(native_status) || WEXITSTATUS(native_status) != 0) {
		printf("# 32-bit code fails natively here (%s): not checked inside\n",
		       status_str(native_status));
		return;
	}
	inside_status = run_child(from_32bit, (void *)1, inside, sizeof(inside));
	CHECK(inside_status == native_status && !strcmp(native, inside),
	      "int $0x80 from 32-bit code: natively %s, inside dune %s %s", native,
	      status_str(inside_status), inside);
}

/*
 * i386 calls served as their x86-64 twins: munmap is mirrored (the page
 * faults after it), exit_group ends the process with its status.
 */
static int served_as_native(void *mode)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	struct gprs g = { .rax = I386_MUNMAP, .rbx = (uintptr_t)low, .rcx = 4096 };

	if (low == MAP_FAILED)
		return 2;
	low[0] = 1;
	if (mode)
		enter_dune();
	int80(&g);
	if (g.rax != 0)
		return 3;
	if (!sigsetjmp(back, 1)) {
		struct sigaction sa = { .sa_sigaction = on_sigill, .sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);	/* its handler comes back just as well */
		low[0] = 2;
		return 4;
	}
	g = (struct gprs){ .rax = I386_EXIT_GROUP, .rbx = 7 };
	int80(&g);
	return 5;
}

static void check_served_as_native(void)
{
	int native = run_child(served_as_native, (void *)0, NULL, 0);
	int inside = run_child(served_as_native, (void *)1, NULL, 0);

	CHECK(WIFEXITED(native) && WEXITSTATUS(native) == 7, "i386 munmap, exit_group natively: %#x",
	      native);
	CHECK(inside == native, "i386 munmap, exit_group inside dune: %s", status_str(inside));
}

/*
 * A seccomp filter sees an i386 call with AUDIT_ARCH_I386 and its i386
 * number: EPERM for i386 getpid (20) only, x86-64's 20 (writev) untouched.
 */
static int filtered(void *mode)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, I386_GETPID, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };
	struct gprs g = { .rax = I386_GETPID };

	if (mode)
		enter_dune();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return 2;
	int80(&g);
	printf("i386 getpid under the filter: %ld; getpid %s\n", (long)g.rax,
	       getpid() > 0 ? "works" : "fails");
	return 0;
}

static void check_filtered(void)
{
	char native[128], inside[128];
	int native_status = run_child(filtered, (void *)0, native, sizeof(native));
	int inside_status = run_child(filtered, (void *)1, inside, sizeof(inside));

	CHECK(WIFEXITED(native_status) &&
	      !strcmp(native, "i386 getpid under the filter: -1; getpid works\n"),
	      "seccomp natively: %s %s", status_str(native_status), native);
	CHECK(inside_status == native_status && !strcmp(native, inside),
	      "seccomp on an i386 call: natively %s, inside dune %s %s", native,
	      status_str(inside_status), inside);
}

/* sysenter from 64-bit code: how it ends depends on the CPU; the same inside. */
static int do_sysenter(void *mode)
{
	if (mode)
		enter_dune();
	asm volatile("sysenter" ::: "memory");
	return 0;
}

static void check_sysenter(void)
{
	int native = run_child(do_sysenter, (void *)0, NULL, 0);
	int inside = run_child(do_sysenter, (void *)1, NULL, 0);

	printf("# sysenter natively: %s\n", status_str(native));
	CHECK(WIFSIGNALED(native) && WIFSIGNALED(inside) && WTERMSIG(native) == WTERMSIG(inside),
	      "sysenter: natively status %#x, inside dune %s", native, status_str(inside));
}

int main(void)
{
	check_from_64bit();
	check_refused();
	check_served_as_native();
	check_filtered();
	check_from_32bit();
	check_sysenter();
	return finish();
}
