// SPDX-License-Identifier: MIT
/*
 * x86-64 specifics: segment bases and PR_SET_TSC reach the vCPU; XSAVE state
 * KVM lacks.
 */
#include <asm/prctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

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

int main(void)
{
	check_amx_refusal();
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
