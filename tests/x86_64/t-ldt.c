// SPDX-License-Identifier: MIT
/*
 * Segments installed with modify_ldt(2), natively and inside dune: a 32-bit
 * data segment loaded into %gs reads through its base; a far call into a
 * 32-bit code segment of the LDT runs there and returns; entries another
 * thread installs reach this one, and a fork child; a segment removed again
 * faults.
 */
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "check.h"

#define LDT_SEL(n)	((n) << 3 | 4 | 3)	/* TI = LDT, RPL 3 */

static int set_entry(unsigned int n, uint32_t base, int code)
{
	struct user_desc d = {
		.entry_number = n, .base_addr = base, .limit = 0xfffff, .seg_32bit = 1,
		.contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA,
		.limit_in_pages = 1, .useable = 1,
	};

	return syscall(SYS_modify_ldt, 0x11, &d, sizeof(d));
}

static int clear_entry(unsigned int n)
{
	struct user_desc d = { .entry_number = n, .read_exec_only = 1, .seg_not_present = 1 };

	return syscall(SYS_modify_ldt, 0x11, &d, sizeof(d));
}

static uint64_t read_gs0(uint16_t sel)
{
	uint64_t v;

	asm volatile("mov %1, %%gs\n\tmov %%gs:0, %0\n\tmov %2, %%gs"
		     : "=r"(v) : "r"(sel), "r"(0) : "memory");
	return v;
}

static void *setter(void *arg)
{
	return (void *)(long)set_entry(2, (uint32_t)(uintptr_t)arg, 0);
}

static sigjmp_buf back;
static volatile int got_signo;

static void on_segv(int sig)
{
	got_signo = sig;
	siglongjmp(back, 1);
}

/*
 * Below 4 GiB: 64-bit code that switches to a low stack and far-calls the
 * 32-bit code (mov $42, %eax; lret) through a far pointer, then comes back.
 */
static uint32_t far_call_32(uint8_t *low)
{
	static const uint8_t tramp[] = {
		0x48, 0x89, 0xe3,			/* mov %rsp, %rbx */
		0xbc, 0, 0, 0, 0,			/* mov $stack, %esp (patched) */
		0xff, 0x1c, 0x25, 0, 0, 0, 0,		/* lcall *farptr (patched) */
		0x48, 0x89, 0xdc,			/* mov %rbx, %rsp */
		0xc3,					/* ret */
	};
	static const uint8_t code32[] = { 0xb8, 42, 0, 0, 0, 0xcb };	/* mov $42, %eax; lret */
	uint32_t stack = (uint32_t)(uintptr_t)low + 4096, farptr = (uint32_t)(uintptr_t)low + 256;
	uint32_t target = (uint32_t)(uintptr_t)low + 128;
	uint16_t sel = LDT_SEL(1);
	uint32_t eax;

	memcpy(low, tramp, sizeof(tramp));
	memcpy(low + 4, &stack, 4);
	memcpy(low + 11, &farptr, 4);
	memcpy(low + 128, code32, sizeof(code32));
	memcpy(low + 256, &target, 4);
	memcpy(low + 260, &sel, 2);
	asm volatile("call *%1" : "=a"(eax) : "r"(low) : "rbx", "memory", "cc");
	return eax;
}

/* The far call alone: 32-bit code fails natively under QEMU's TCG. */
static int far_call_child(void *mode)
{
	uint8_t *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (low == MAP_FAILED)
		return 2;
	signal(SIGSEGV, on_segv);
	if (mode)
		enter_dune();
	CHECK(set_entry(1, 0, 1) == 0, "modify_ldt (code): %s", strerror(errno));
	if (!sigsetjmp(back, 1))
		printf("far call into LDT entry 1: %u\n", far_call_32(low));
	else
		printf("far call into LDT entry 1: signal %d\n", got_signo);
	return finish();
}

static int ldt_child(void *mode)
{
	uint8_t *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	volatile uint64_t *data = (uint64_t *)low;
	pthread_t t;
	void *ret;

	if (low == MAP_FAILED)
		return 2;
	data[0] = 0x1122334455667788;
	data[1] = 0x99aabbccddeeff00;
	signal(SIGSEGV, on_segv);
	if (mode)
		enter_dune();
	CHECK(set_entry(0, (uint32_t)(uintptr_t)data, 0) == 0, "modify_ldt: %s", strerror(errno));
	if (!sigsetjmp(back, 1))
		printf("%%gs:0 through LDT entry 0: %#lx\n", (unsigned long)read_gs0(LDT_SEL(0)));
	else
		printf("loading LDT entry 0: signal %d\n", got_signo);
	/* entry 2 from another thread, with base data + 8 */
	if (pthread_create(&t, NULL, setter, (void *)(data + 1)) || pthread_join(t, &ret) || ret)
		return 3;
	if (!sigsetjmp(back, 1))
		printf("%%gs:0 through LDT entry 2: %#lx\n", (unsigned long)read_gs0(LDT_SEL(2)));
	else
		printf("loading LDT entry 2: signal %d\n", got_signo);
	/* a fork child has the same LDT */
	pid_t pid = fork();
	int status = 0;

	if (pid == 0)
		_exit(read_gs0(LDT_SEL(2)) == data[1] ? 0 : 1);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork: %s", strerror(errno));
	printf("fork child through LDT entry 2: %s\n", status_str(status));
	CHECK(clear_entry(0) == 0, "modify_ldt (clear): %s", strerror(errno));
	if (!sigsetjmp(back, 1))
		printf("%%gs:0 through cleared entry 0: %#lx\n", (unsigned long)read_gs0(LDT_SEL(0)));
	else
		printf("loading cleared entry 0: signal %d\n", got_signo);
	return finish();
}

/* Natively, then inside dune: the same output, or nothing to compare. */
static void compare(int (*fn)(void *), const char *what)
{
	char native[1024], inside[1024];
	int native_status = run_child(fn, (void *)0, native, sizeof(native));
	int inside_status;

	if (!WIFEXITED(native_status) || WEXITSTATUS(native_status) != 0) {
		printf("# %s fails natively here (%s): not checked inside\n", what,
		       status_str(native_status));
		return;
	}
	printf("# natively:\n%s", native);
	inside_status = run_child(fn, (void *)1, inside, sizeof(inside));
	CHECK(inside_status == native_status && !strcmp(native, inside),
	      "%s natively:\n%sinside dune (%s):\n%s", what, native, status_str(inside_status),
	      inside);
}

int main(void)
{
	compare(ldt_child, "data segments");
	compare(far_call_child, "a far call into 32-bit code");
	return finish();
}
