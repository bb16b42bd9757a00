// SPDX-License-Identifier: MIT
/* x86-64 specifics: segment bases reach the vCPU; XSAVE state KVM lacks. */
#include <asm/prctl.h>
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

int main(void)
{
	check_amx_refusal();
	enter_dune();
	check_gs_base();
	return finish();
}

#else
int main(void)
{
	skip("x86-64 only");
}
#endif
