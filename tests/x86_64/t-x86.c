// SPDX-License-Identifier: MIT
/*
 * x86-64 specifics: segment bases and PR_SET_TSC reach the vCPU; XSAVE state
 * KVM lacks; a fault in compat-mode code runs its handler in 64-bit mode; a
 * tracer may cancel an int3's SIGTRAP.
 */
#include <asm/prctl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "check.h"

#ifdef __x86_64__

#define ARCH_REQ_XCOMP_PERM	0x1023
#define XFEATURE_XTILEDATA	18

static volatile long gs_target = 0x1234abcd;

/* arch_prctl(ARCH_SET_GS) must move the vCPU's GS base: read through %gs. */
static void check_gs_base(void)
{
	unsigned long base = 0;
	long via_gs;

	CHECK(syscall(SYS_arch_prctl, ARCH_SET_GS, &gs_target) == 0, "ARCH_SET_GS: %s",
	      strerror(errno));
	asm volatile("mov %%gs:0, %0" : "=r"(via_gs));
	CHECK(via_gs == 0x1234abcd, "%%gs:0 = %#lx inside, the new GS base was not used", via_gs);
	CHECK(syscall(SYS_arch_prctl, ARCH_GET_GS, &base) == 0 && base == (unsigned long)&gs_target,
	      "ARCH_GET_GS = %#lx", base);
	syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL);
}

/*
 * A process allowed to use AMX tile data may hold state this KVM cannot give
 * the guest: entering must fail cleanly and leave the process native.
 */
static int amx_child(void *arg)
{
	int ret;

	(void)arg;
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA))
		return 77;
	ret = dune_enter();
	if (ret == 0)
		return 3;	/* fine if KVM can give the guest AMX */
	printf("%d %s\n", ret, dune_last_error());
	return dune_is_inside() ? 1 : 0;
}

static void check_amx_refusal(void)
{
	char out[512];
	int status = run_child(amx_child, NULL, out, sizeof(out));

	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("# no AMX on this CPU: refusal not exercised\n");
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		printf("# KVM gives the guest AMX: nothing to refuse\n");
		return;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "AMX child: %s: %s",
	      status_str(status), out);
	CHECK(strstr(out, "XSAVE") != NULL, "refusal does not say why: %s", out);
	printf("# with AMX permission: %s", out);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void *rdtsc_thread(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)rdtsc();
}

/* mode 0: rdtsc in this thread; 1: in a thread created after the prctl */
static int tsc_child(void *mode)
{
	pthread_t t;

	if (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0))
		return 2;
	if (!mode)
		return rdtsc() ? 0 : 1;
	if (pthread_create(&t, NULL, rdtsc_thread, NULL) || pthread_join(t, NULL))
		return 3;
	return 0;
}

/* prctl(PR_SET_TSC, PR_TSC_SIGSEGV): the guest's rdtsc faults as the host's would. */
static void check_tsc_trap(void)
{
	for (long mode = 0; mode < 2; mode++) {
		int status = run_child(tsc_child, (void *)mode, NULL, 0);

		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
		      "rdtsc after PR_TSC_SIGSEGV (%s): %s", mode ? "new thread" : "same thread",
		      status_str(status));
	}
	CHECK(rdtsc() != 0, "rdtsc traps in the parent too");
}

#define USER_CS32	0x23

static sigjmp_buf compat_back;
static volatile int compat_cs, compat_signo;

static void compat_fault(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	compat_signo = sig;
	compat_cs = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_CSGSFS] & 0xffff;
	siglongjmp(compat_back, 1);
}

/*
 * Far-return into 32-bit code (below 4 GiB) that executes ud2: the SIGILL
 * handler runs in 64-bit mode and sees the compat code segment.
 */
static int compat_child(void *mode)
{
	struct sigaction sa = { .sa_sigaction = compat_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	static char altstack[64 << 10];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (code == MAP_FAILED)
		return 2;
	code[0] = 0x0f;		/* ud2 */
	code[1] = 0x0b;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	sigaltstack(&ss, NULL);	/* the compat code's stack pointer is not the handler's */
	if (mode)
		enter_dune();
	if (!sigsetjmp(compat_back, 1))
		asm volatile("pushq %0; pushq %1; lretq" :: "i"(USER_CS32), "r"((uint64_t)code)
			     : "memory");
	if (compat_signo != SIGILL || compat_cs != USER_CS32) {
		printf("signal %d, cs %#x in the handler\n", compat_signo, compat_cs);
		return 1;
	}
	return 0;
}

/* Where it fails natively (QEMU's TCG here: SIGKILL), there is nothing to compare. */
static void check_compat_fault(void)
{
	for (long mode = 0; mode < 2; mode++) {
		char out[256] = "";
		int status = run_child(compat_child, (void *)mode, out, sizeof(out));

		if (!mode && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			printf("# ud2 in compat mode fails natively here (%s): not checked inside\n",
			       status_str(status));
			return;
		}
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "ud2 in compat mode %s: %s %s", mode ? "inside" : "natively",
		      status_str(status), out);
	}
}

/* A traced child that hits int3 (LTP's ptrace09); inside dune if mode. */
static void __attribute__((noreturn)) trapping_child(long mode)
{
	if (mode)
		enter_dune();
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	raise(SIGSTOP);
	asm volatile("int3");
	_exit(42);
}

/*
 * A tracer that cancels the breakpoint's SIGTRAP (PTRACE_CONT with no
 * signal, as debuggers do): the child goes on after the int3 and exits.
 */
static void check_tracer_cancels_trap(void)
{
	for (long mode = 0; mode < 2; mode++) {
		int status, traps = 0;
		pid_t pid = fork();

		if (pid == 0)
			trapping_child(mode);
		while (waitpid(pid, &status, 0) == pid && WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);

			traps += sig == SIGTRAP;
			ptrace(PTRACE_CONT, pid, NULL,
			       (void *)(long)(sig == SIGTRAP || sig == SIGSTOP ? 0 : sig));
		}
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42 && traps == 1,
		      "int3 under a tracer that cancels SIGTRAP %s: %s, %d SIGTRAP stops",
		      mode ? "inside" : "natively", status_str(status), traps);
	}
}

int main(void)
{
	check_amx_refusal();
	check_tracer_cancels_trap();
	check_compat_fault();
	enter_dune();
	check_gs_base();
	check_tsc_trap();
	return finish();
}

#else
int main(void)
{
	skip("x86-64 only");
}
#endif
