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

/*
 * The program at path (the guest's pointer), opened close-on-exec, if it is
 * a readable ELF executable without an interpreter; else -1.
 */
static long open_static_elf(struct dune_vm *vm, uintptr_t path)
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
		return -1;
	elf = sys4(SYS_pread64, fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
	      !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
	      (eh.e_type == ET_EXEC || eh.e_type == ET_DYN);
	for (int i = 0; elf && !dynamic && i < eh.e_phnum; i++)
		dynamic = sys4(SYS_pread64, fd, &ph, sizeof(ph),
			       eh.e_phoff + (long)i * eh.e_phentsize) == sizeof(ph) &&
			  ph.p_type == PT_INTERP;
	if (elf && !dynamic)
		return fd;
	sys1(SYS_close, fd);
	return -1;
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

/*
 * execve(loader, [loader, --fd=N, path, argv...], envp), from a temporary
 * mapping.  The loader maps the program from fd N, inherited across the
 * exec, and closes it: a path such as /proc/self/exe would name the loader
 * once it runs.
 */
static long exec_loader(struct dune_vm *vm, const struct dune_syscall *sys, long fd)
{
	uintptr_t path = sys->args[0], argv = sys->args[1], *args;
	long n = count_args(argv), ret;
	size_t len, strings;
	char *fd_arg;

	if (n < 0)
		return n;
	strings = (n + 4) * sizeof(*args);
	len = DUNE_ALIGN_UP(strings + sizeof("--fd=") + 20, DUNE_PAGE_SIZE);
	args = (uintptr_t *)sys6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (IS_ERR_VALUE(args))
		return (long)args;
	fd_arg = (char *)args + strings;
	dune_fmt(fd_arg, len - strings, "--fd=%ld", fd);
	args[0] = (uintptr_t)vm->static_loader;
	args[1] = (uintptr_t)fd_arg;
	args[2] = path;
	ret = n ? dune_read_guest(args + 3, argv, n * sizeof(*args)) : 0;
	if (!ret)
		ret = sys3(SYS_fcntl, fd, F_SETFD, 0);
	if (!ret)
		ret = dune_forward6(vm, SYS_execve, vm->static_loader, args, sys->args[2], 0, 0, 0);
	sys2(SYS_munmap, args, len);
	return ret;
}

/*
 * Does path (the guest's) name this process's executable through /proc?
 * Under dune-exec-static that link names the loader, not the program.
 */
static int names_own_exe(uintptr_t path)
{
	char buf[64], pid[32];

	if (dune_read_guest_string(buf, sizeof(buf), path))
		return 0;
	dune_fmt(pid, sizeof(pid), "/proc/%ld/exe", sys0(SYS_getpid));
	return !strcmp(buf, "/proc/self/exe") || !strcmp(buf, "/proc/thread-self/exe") ||
	       !strcmp(buf, pid);
}

/* The program the loader runs, for an execve of /proc/self/exe: a new fd, or -1. */
static long dup_exec_file(struct dune_vm *vm)
{
	struct rlimit program;
	long fd;

	dune_fds_begin(vm, &program);
	fd = sys3(SYS_fcntl, vm->exe_fd, F_DUPFD_CLOEXEC, 0);
	dune_fds_end(vm, &program);
	return fd < 0 ? -1 : fd;
}

long dune_execve(struct dune_vm *vm, const struct dune_syscall *sys)
{
	long fd = -1, ret;

	if (vm->static_loader[0])
		fd = vm->exe_fd >= 0 && names_own_exe(sys->args[0]) ? dup_exec_file(vm) :
								       open_static_elf(vm, sys->args[0]);
	if (fd < 0)
		return dune_forward6(vm, SYS_execve, sys->args[0], sys->args[1], sys->args[2],
				     0, 0, 0);
	ret = exec_loader(vm, sys, fd);
	sys1(SYS_close, fd);	/* the exec failed */
	return ret;
}

/* DUNE_OP_EXEC_FILE: keep the loader's program as dune's own fd. */
long dune_set_exec_file(struct dune_vm *vm, long fd)
{
	long own;

	if (fd < 0 || dune_is_own_fd(vm, fd))
		return -EBADF;
	own = dune_take_high(sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0));
	if (own < 0)
		return own;
	if (vm->exe_fd >= 0)
		sys1(SYS_close, vm->exe_fd);
	vm->exe_fd = own;
	return 0;
}
