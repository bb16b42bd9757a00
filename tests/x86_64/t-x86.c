// SPDX-License-Identifier: MIT
/*
 * x86-64 specifics: segment bases and PR_SET_TSC reach the vCPU; XSAVE state
 * KVM lacks; a fault in compat-mode code runs its handler in 64-bit mode; a
 * tracer may cancel an int3's SIGTRAP; the guest kernel's pages are a hole
 * for user code; getcpu's sources (the vDSO, RDPID, RDTSCP, LSL) follow the
 * thread from CPU to CPU.
 */
#include <asm/prctl.h>
#include <cpuid.h>
#include <sched.h>
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

static sigjmp_buf hole_back;
static volatile int hole_code;
static volatile uintptr_t hole_addr;

static void hole_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hole_code = si->si_code;
	hole_addr = (uintptr_t)si->si_addr;
	siglongjmp(hole_back, 1);
}

/*
 * The guest kernel's pages of the VM (IDT, exception stubs, syscall stub)
 * from the dune area's layout in /proc/self/maps: 1 MiB for the VM,
 * the host stack's guard page, then the guest part 1 MiB further.
 */
static uint8_t *guest_kernel_pages(void)
{
	unsigned long a, b, prev_a = 0, prev_b = 0;
	char line[256], perm[8];
	uint8_t *ka = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) != 3)
			continue;
		if (b - a == 4096 && perm[0] == '-' && prev_b == a && a - prev_a == 1UL << 20)
			ka = (uint8_t *)a + (1UL << 20);
		prev_a = a;
		prev_b = b;
	}
	if (f)
		fclose(f);
	return ka;
}

/* How an access to the page at ka + off ends: "hole" (SIGSEGV there) or what it gave. */
static const char *touch(uint8_t *ka, unsigned long off, int exec)
{
	static char what[64];
	volatile uint8_t x = 0;

	hole_code = 0;
	if (!sigsetjmp(hole_back, 1)) {
		if (exec)
			((void (*)(void))(ka + off))();
		else
			x = ka[off];
	}
	if (hole_addr == (uintptr_t)ka + off && hole_code == SEGV_MAPERR)
		return "hole";
	snprintf(what, sizeof(what), "read %#x, si_code %d", x, hole_code);
	return what;
}

/*
 * Natively there is nothing at dune's addresses: the IDT and the exception
 * stubs are supervisor pages, and so is the syscall stub's (where the probe
 * ran) but on kvm_pvm, whose stub runs at CPL3.
 */
static void check_guest_kernel_hole(void)
{
	struct sigaction sa = { .sa_sigaction = hole_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };
	uint8_t *ka = guest_kernel_pages();

	if (!ka) {
		printf("# the dune area's layout is not recognized: guest kernel pages not checked\n");
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	CHECK(!strcmp(touch(ka, 0, 0), "hole"), "reading the IDT: %s", touch(ka, 0, 0));
	CHECK(!strcmp(touch(ka, 0x1000, 0), "hole"), "reading the exception stubs: %s",
	      touch(ka, 0x1000, 0));
	CHECK(!strcmp(touch(ka, 0x1000, 1), "hole"), "running an exception stub: %s",
	      touch(ka, 0x1000, 1));
	printf("# reading the syscall stub (and the probe's code before): %s\n",
	       touch(ka, 0x2000, 0));
	signal(SIGSEGV, SIG_DFL);
}

#define CPUNODE_SEL	0x7b

/* What each source of cpu | node << 12 says on this CPU, or why it differs. */
static void check_cpunode_here(int cpu, int pvm)
{
	unsigned int c, node, a, b, ecx, d, aux, lsl;
	unsigned long pid;
	unsigned char ok;
	uint32_t want;

	CHECK(syscall(SYS_getcpu, &c, &node, NULL) == 0 && (int)c == cpu, "getcpu: %u on cpu %d",
	      c, cpu);
	want = c | node << 12;
	CHECK(sched_getcpu() == cpu, "sched_getcpu() = %d on cpu %d", sched_getcpu(), cpu);
	__cpuid_count(7, 0, a, b, ecx, d);
	if (ecx & (1u << 22)) {
		asm volatile("rdpid %0" : "=r"(pid));
		CHECK(pid == want, "rdpid = %#lx on cpu %d node %u", pid, cpu, node);
	}
	__cpuid(0x80000001, a, b, ecx, d);
	if (d & (1u << 27)) {
		asm volatile("rdtscp" : "=c"(aux) :: "rax", "rdx");
		CHECK(aux == want, "rdtscp's TSC_AUX = %#x on cpu %d node %u", aux, cpu, node);
	}
	asm volatile("lsl %2, %0; setz %1" : "=r"(lsl), "=q"(ok) : "r"(CPUNODE_SEL));
	if (pvm && (!ok || lsl != want))
		printf("# kvm_pvm: lsl of the CPUNODE segment gives %#x on cpu %d (stale)\n", lsl, cpu);
	else
		CHECK(ok && lsl == want, "lsl of the CPUNODE segment: %d, %#x on cpu %d node %u", ok,
		      lsl, cpu, node);
}

/* Pinned to each CPU in turn (up to 4), natively, then inside dune. */
static int cpunode_child(void *mode)
{
	int pvm = !access("/sys/module/kvm_pvm", F_OK);
	cpu_set_t all, one;

	if (mode)
		enter_dune();
	if (sched_getaffinity(0, sizeof(all), &all))
		return 2;
	for (int cpu = 0, n = 0; cpu < CPU_SETSIZE && n < 4; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			return 3;
		check_cpunode_here(cpu, pvm && mode);
		n++;
	}
	if (mode) {
		unsigned int a, b, ecx7, d, ecx, d81;

		__cpuid_count(7, 0, a, b, ecx7, d);
		__cpuid(0x80000001, a, b, ecx, d81);
		printf("# getcpu inside dune: vDSO%s%s, LSL\n", ecx7 & (1u << 22) ? ", RDPID" : "",
		       d81 & (1u << 27) ? ", RDTSCP" : "");
	}
	return finish();
}

static void check_cpunode(void)
{
	for (long mode = 0; mode < 2; mode++) {
		char out[1024];
		int status = run_child(cpunode_child, (void *)mode, out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "getcpu's sources %s: %s %s",
		      mode ? "inside dune" : "natively", status_str(status), out);
		if (mode && strstr(out, "# "))
			printf("%s", out);
	}
}

/*
 * CPUID leaf 7 inside dune: the host's bits minus what KVM cannot give and
 * CET, which dune hides (README); the others are listed for the record.
 * With PKE, the thread's PKRU is the guest's.
 */
static void check_cpuid7(unsigned int native[4], uint32_t native_pkru)
{
	unsigned int in[4];
	const char *reg = "abcd";
	uint32_t pkru;

	__cpuid_count(7, 0, in[0], in[1], in[2], in[3]);
	if (in[2] & (1u << 4)) {	/* OSPKE: the thread's PKRU comes along */
		asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
		CHECK(pkru == native_pkru, "PKRU %#x inside dune, %#x natively", pkru, native_pkru);
	} else {
		printf("# no PKE inside dune: PKRU not compared\n");
	}
	CHECK(!(in[2] & (1u << 7)) && !(in[3] & (1u << 20)),
	      "CET (shadow stack ecx %#x, IBT edx %#x) shown inside dune", in[2], in[3]);
	for (int r = 1; r < 4; r++)
		if (native[r] & ~in[r])
			printf("# CPUID 7.0 e%cx: the host's bits %#x hidden inside dune\n", reg[r],
			       native[r] & ~in[r]);
}

int main(void)
{
	unsigned int cpuid7[4];
	uint32_t pkru = 0;

	__cpuid_count(7, 0, cpuid7[0], cpuid7[1], cpuid7[2], cpuid7[3]);
	if (cpuid7[2] & (1u << 4))
		asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
	check_amx_refusal();
	check_cpunode();
	check_tracer_cancels_trap();
	check_compat_fault();
	enter_dune();
	check_cpuid7(cpuid7, pkru);
	check_guest_kernel_hole();
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
