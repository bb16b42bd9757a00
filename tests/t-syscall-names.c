// SPDX-License-Identifier: MIT
/*
 * The syscall table of this ISA without /dev/kvm (run natively, and under
 * qemu-user for the cross-built ISAs by `make check-cross`): names and
 * numbers agree both ways with <sys/syscall.h>, the table starts at the
 * ISA's syscall base (5000 on MIPS n64), the calls dune intercepts are
 * known, and the error convention gives -errno through the raw syscall.
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "check.h"
#include "dune-internal.h"
#include "syscalls.h"

#define NAME(x) { #x, SYS_##x }
static const struct {
	const char *name;
	long nr;
} known[] = {
	NAME(read), NAME(write), NAME(close), NAME(openat), NAME(mmap), NAME(munmap),
	NAME(clone), NAME(clone3), NAME(execve), NAME(exit_group), NAME(rt_sigaction),
	NAME(rt_sigreturn), NAME(prlimit64), NAME(io_uring_setup), NAME(pidfd_open),
#ifdef SYS_open
	NAME(open),
#endif
#ifdef SYS_fork
	NAME(fork),
#endif
#ifdef SYS_newfstatat
	NAME(newfstatat),
#endif
};

static void check_known(void)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *name = dune_syscall_name(known[i].nr);

		CHECK(name && !strcmp(name, known[i].name), "%ld: %s, want %s", known[i].nr,
		      name ? name : "(none)", known[i].name);
		CHECK(dune_syscall_nr(known[i].name, strlen(known[i].name)) == known[i].nr,
		      "%s: %ld, want %ld", known[i].name,
		      dune_syscall_nr(known[i].name, strlen(known[i].name)), known[i].nr);
	}
}

/* Every named slot round-trips, and the ISA's first syscall sits at the base. */
static void check_table(void)
{
	int named = 0;

	for (long nr = DUNE_SYSCALL_BASE; nr < DUNE_SYSCALL_BASE + DUNE_NR_SYSCALLS; nr++) {
		const char *name = dune_syscall_name(nr);

		if (!name)
			continue;
		named++;
		CHECK(dune_syscall_nr(name, strlen(name)) == nr, "%s: %ld", name, nr);
	}
	CHECK(named > 250, "only %d syscalls named", named);
	CHECK(dune_syscall_name(DUNE_SYSCALL_BASE - 1) == NULL, "a name below the base");
	CHECK(dune_syscall_name(DUNE_SYSCALL_BASE + DUNE_NR_SYSCALLS) == NULL, "a name past the table");
	CHECK(dune_syscall_nr("no_such_call", 12) == -1, "an unknown name has a number");
	printf("# %d syscalls named from %d\n", named, DUNE_SYSCALL_BASE);
}

/* The calls dune must see have their reasons, the others none. */
static void check_why(void)
{
	CHECK(dune_syscall_why(SYS_mmap) & DUNE_WHY_MEM, "mmap");
	CHECK(dune_syscall_why(SYS_clone) & DUNE_WHY_PROC, "clone");
	CHECK(dune_syscall_why(SYS_execve) & DUNE_WHY_NORETURN, "execve");
	CHECK(dune_syscall_why(SYS_rt_sigaction) & DUNE_WHY_SIGNAL, "rt_sigaction");
	CHECK(!dune_syscall_why(SYS_read), "read");
	CHECK(!dune_syscall_why(SYS_getpid), "getpid");
}

/* lib/ sees -errno from every ISA (MIPS: a3 and a positive v0). */
static void check_errors(void)
{
	long ret = arch_raw_syscall(SYS_close, -1, 0, 0, 0, 0, 0);

	CHECK(ret == -EBADF, "close(-1) = %ld", ret);
	CHECK(IS_ERR_VALUE(ret), "-EBADF is not an error value");
	ret = arch_raw_syscall(SYS_openat, AT_FDCWD, (long)"/nonexistent/x", O_RDONLY, 0, 0, 0);
	CHECK(ret == -ENOENT, "openat = %ld", ret);
	ret = arch_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0);
	CHECK(ret == getpid() && !IS_ERR_VALUE(ret), "getpid = %ld", ret);
	CHECK(!IS_ERR_VALUE(-DUNE_MAX_ERRNO - 1L), "-MAX_ERRNO - 1 is an error value");
}

int main(void)
{
	check_known();
	check_table();
	check_why();
	check_errors();
	return finish();
}
