// SPDX-License-Identifier: MIT
/*
 * execve(2) from inside dune.  The new image runs natively unless something
 * enters dune in it: dune-run's preloaded library does, in a dynamically
 * linked program.  A static one has no dynamic loader to preload into, so
 * under dune-run (DUNE_EXEC_STATIC names dune-exec-static) that loader is
 * exec'd instead, with the program's path and argv, and maps the program
 * itself, inside dune.  Host loop code: raw syscalls only.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dune-internal.h"

/* A readable ELF executable without an interpreter (path: the guest's pointer). */
static int is_static_elf(struct dune_vm *vm, uintptr_t path)
{
	struct rlimit program;
	int elf, dynamic = 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	long fd;

	dune_fds_begin(vm, &program);	/* a full fd table must not change what runs */
	fd = sys4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	dune_fds_end(vm, &program);
	if (fd < 0)
		return 0;
	elf = sys4(SYS_pread64, fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
	      !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	      (eh.e_type == ET_EXEC || eh.e_type == ET_DYN);
	for (int i = 0; elf && !dynamic && i < eh.e_phnum; i++)
		dynamic = sys4(SYS_pread64, fd, &ph, sizeof(ph),
			       eh.e_phoff + (long)i * eh.e_phentsize) == sizeof(ph) &&
			  ph.p_type == PT_INTERP;
	sys1(SYS_close, fd);
	return elf && !dynamic;
}

/* The length of the guest's argv (NULL counts as empty), or -EFAULT. */
static long count_args(uintptr_t argv)
{
	uintptr_t arg = 1;
	long n;

	for (n = 0; argv && arg; n++)
		if (dune_read_guest(&arg, argv + n * sizeof(arg), sizeof(arg)))
			return -EFAULT;
	return argv ? n - 1 : 0;
}

/* execve(loader, [loader, path, argv...], envp), from a temporary mapping. */
static long exec_loader(struct dune_vm *vm, const struct dune_syscall *sys)
{
	uintptr_t path = sys->args[0], argv = sys->args[1], *args;
	long n = count_args(argv), ret;
	size_t len;

	if (n < 0)
		return n;
	len = DUNE_ALIGN_UP((n + 3) * sizeof(*args), DUNE_PAGE_SIZE);
	args = (uintptr_t *)sys6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (IS_ERR_VALUE(args))
		return (long)args;
	args[0] = (uintptr_t)vm->static_loader;
	args[1] = path;
	ret = n ? dune_read_guest(args + 2, argv, n * sizeof(*args)) : 0;
	if (!ret)
		ret = dune_forward6(vm, SYS_execve, vm->static_loader, args, sys->args[2], 0, 0, 0);
	sys2(SYS_munmap, args, len);
	return ret;
}

long dune_execve(struct dune_vm *vm, const struct dune_syscall *sys)
{
	if (vm->static_loader[0] && is_static_elf(vm, sys->args[0]))
		return exec_loader(vm, sys);
	return dune_forward6(vm, SYS_execve, sys->args[0], sys->args[1], sys->args[2], 0, 0, 0);
}
