// SPDX-License-Identifier: MIT
/*
 * execve(2) and execveat(2) from inside dune.  The new image runs natively
 * unless something enters dune in it: dune-run's preloaded library does, in
 * a dynamically linked program.  A static one has no dynamic loader to
 * preload into, so under dune-run (DUNE_EXEC_STATIC names dune-exec-static)
 * that loader is exec'd instead, with the program's path and argv, and maps
 * the program itself, inside dune.
 *
 * Under a policy every image goes through the loader, dynamic programs and
 * scripts too: the preload would run only after the dynamic loader, the
 * program's IFUNC resolvers and its .preinit_array, natively, where the
 * filter cannot tell their calls from dune's own.  The loader then enters
 * before any of the program's instructions.  It is dune's own fd, opened when
 * the VM is made: by the loader, from its own /proc/self/exe, since the
 * environment is the program's.  Host loop code: raw syscalls only.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dune-internal.h"
#include "policy.h"

static const char *loader_self;
static struct dune_range loader_image;

/* The image this code is in: the loader's, which links libdune statically. */
static int find_image(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0, here = (uintptr_t)find_image;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		lo = start < lo ? start : lo;
		hi = start + ph->p_memsz > hi ? start + ph->p_memsz : hi;
	}
	if (here < lo || here >= hi)
		return 0;
	loader_image = (struct dune_range){ DUNE_ALIGN_DOWN(lo, DUNE_PAGE_SIZE),
					    DUNE_ALIGN_UP(hi, DUNE_PAGE_SIZE) };
	*(struct dl_phdr_info *)arg = *info;
	return 1;
}

/*
 * [start, end) of this image, read-only, as the same bytes in a sealed memfd
 * mapped shared: the kernel writes a private mapping's read-only pages for
 * ptrace and /proc/PID/mem (FOLL_FORCE, by copy on write), a shared one's
 * never.  The code running here is replaced by the same bytes.
 */
static long seal_pages(uintptr_t start, uintptr_t end, int prot)
{
	long fd, err = 0, at;

	if (start >= end)
		return 0;
	fd = sys2(SYS_memfd_create, "dune-exec-static", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fd;
	for (uintptr_t p = start; !err && p < end; p += err)
		err = sys3(SYS_write, fd, p, end - p);
	if (err >= 0)
		err = sys3(SYS_fcntl, fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
			   F_SEAL_SEAL);
	at = err ? err : sys6(SYS_mmap, start, end - start, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	sys1(SYS_close, fd);
	return IS_ERR_VALUE(at) ? at : 0;
}

/*
 * The loader's code, constants and RELRO, sealed (its data stays writable),
 * in the host's pages (natively, before it enters: under qemu-user smaller
 * than the guest's).
 */
static long seal_image(const struct dl_phdr_info *info)
{
	uintptr_t rw_lo = UINTPTR_MAX, page = getauxval(AT_PAGESZ);
	long err = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = DUNE_ALIGN_DOWN(info->dlpi_addr + ph->p_vaddr, page);

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && start < rw_lo)
			rw_lo = start;
	}
	for (int i = 0; !err && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;

		if (ph->p_type == PT_LOAD && !(ph->p_flags & PF_W)) {
			end = DUNE_ALIGN_UP(end, page);
			err = seal_pages(DUNE_ALIGN_DOWN(start, page),
					 end > rw_lo && start < rw_lo ? rw_lo : end,
					 (ph->p_flags & PF_R ? PROT_READ : 0) |
					 (ph->p_flags & PF_X ? PROT_EXEC : 0));
		} else if (ph->p_type == PT_GNU_RELRO) {	/* as glibc's _dl_protect_relro */
			err = seal_pages(DUNE_ALIGN_DOWN(start, page),
					 DUNE_ALIGN_DOWN(end, page), PROT_READ);
		}
	}
	return err;
}

int dune_set_exec_loader(const char *path)
{
	struct dl_phdr_info info;
	long err;

	loader_self = path;
	if (!dl_iterate_phdr(find_image, &info))
		return dune_fail(-ENOENT, "dune-exec-static: its own image not found");
	err = seal_image(&info);
	return err ? dune_fail(err, "cannot seal dune-exec-static's code: %s", dune_strerror(err)) : 0;
}

void dune_open_loader(struct dune_vm *vm)
{
	const char *path = loader_self ? loader_self : getenv("DUNE_EXEC_STATIC");

	vm->loader_image = loader_image;
	vm->loader_fd = -1;
	if (path && *path)
		vm->loader_fd = dune_take_high(sys4(SYS_openat, AT_FDCWD, path,
						    O_RDONLY | O_CLOEXEC, 0));
}

/* The file to exec, read-only and close-on-exec, whatever the program's fd table. */
static long open_exec(struct dune_vm *vm, long dirfd, uintptr_t path, long flags)
{
	struct rlimit program;
	long fd;

	dune_fds_begin(vm, &program);	/* a full fd table must not change what runs */
	fd = sys4(SYS_openat, dirfd, path, O_RDONLY | O_CLOEXEC | flags, 0);
	dune_fds_end(vm, &program);
	return fd;
}

/*
 * The program at path (the guest's pointer), opened close-on-exec, if it is
 * a readable ELF executable without an interpreter; else -1.
 */
static long open_static_elf(struct dune_vm *vm, uintptr_t path)
{
	int elf, dynamic = 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	long fd = open_exec(vm, AT_FDCWD, path, 0);

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
 * Under a policy, any file the kernel would execute: checked as execve
 * checks it (execute permission, then an ELF image or a "#!" script; other
 * binfmts are ENOEXEC) and opened close-on-exec for the loader, or -errno.
 */
static long open_any(struct dune_vm *vm, long dirfd, uintptr_t path, long flags)
{
	char name[PATH_MAX], magic[4];
	long fd, err;

	if (dune_read_guest_string(name, sizeof(name), path))
		return -EFAULT;
	if (!name[0] && (flags & AT_EMPTY_PATH)) {	/* fexecve: the file dirfd is */
		dune_fmt(name, sizeof(name), "/proc/self/fd/%ld", dirfd);
		dirfd = AT_FDCWD;
	}
	err = sys4(SYS_faccessat2, dirfd, name, X_OK, AT_EACCESS |
		   (flags & AT_SYMLINK_NOFOLLOW));
	if (err == -ENOSYS)	/* before Linux 5.8 */
		err = sys3(SYS_faccessat, dirfd, name, X_OK);
	if (err)
		return err;
	fd = open_exec(vm, dirfd, (uintptr_t)name, flags & AT_SYMLINK_NOFOLLOW ? O_NOFOLLOW : 0);
	if (fd < 0)
		return fd;
	err = sys4(SYS_pread64, fd, magic, sizeof(magic), 0);
	if (err == sizeof(magic) && !memcmp(magic, ELFMAG, SELFMAG))
		return fd;
	if (err >= 2 && magic[0] == '#' && magic[1] == '!')
		return fd;
	sys1(SYS_close, fd);
	return err == -EISDIR ? -EACCES : err < 0 ? err : -ENOEXEC;
}

/*
 * execve(loader, [loader, --fd=N, path, argv...], envp), as the program's own
 * call (execve or execveat), which the filter judges.  The loader maps the
 * program from fd N, inherited across the exec, and hands it to dune: a path
 * such as /proc/self/exe would name the loader once it runs.
 */
static long exec_loader(struct dune_vm *vm, const struct dune_syscall *sys, long fd)
{
	int at = sys->nr == SYS_execveat;
	uintptr_t path = sys->args[at], argv = sys->args[at + 1], envp = sys->args[at + 2];
	uintptr_t small[512], *args = small;	/* no mmap: RLIMIT_AS may be low by now */
	long n = count_args(argv), ret;
	size_t len, strings;
	char *fd_arg, *self;

	if (n < 0)
		return n;
	strings = (n + 4) * sizeof(*args);
	len = strings + 2 * sizeof("/proc/self/fd/") + 40;
	if (len > sizeof(small)) {
		len = DUNE_ALIGN_UP(len, DUNE_PAGE_SIZE);
		args = (uintptr_t *)sys6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (IS_ERR_VALUE(args))
			return (long)args;
	}
	fd_arg = (char *)args + strings;
	self = fd_arg + dune_fmt(fd_arg, 32, "--fd=%ld", fd) + 1;
	dune_fmt(self, 32, "/proc/self/fd/%d", vm->loader_fd);
	args[0] = (uintptr_t)"dune-exec-static";
	args[1] = (uintptr_t)fd_arg;
	args[2] = path;
	args[n + 3] = 0;
	ret = n ? dune_read_guest(args + 3, argv, n * sizeof(*args)) : 0;
	if (!ret)
		ret = sys3(SYS_fcntl, fd, F_SETFD, 0);
	if (!ret && at)
		ret = dune_forward6(vm, SYS_execveat, vm->loader_fd, (uintptr_t)"", args, envp,
				    AT_EMPTY_PATH, 0);
	else if (!ret)
		ret = dune_forward6(vm, SYS_execve, self, args, envp, 0, 0, 0);
	if (args != small)
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

/* The program the loader runs, for an execve of /proc/self/exe: a new fd, or -errno. */
static long dup_exec_file(struct dune_vm *vm)
{
	struct rlimit program;
	long fd;

	dune_fds_begin(vm, &program);
	fd = sys3(SYS_fcntl, vm->exe_fd, F_DUPFD_CLOEXEC, 0);
	dune_fds_end(vm, &program);
	return fd;
}

long dune_execve(struct dune_vm *vm, const struct dune_syscall *sys)
{
	const long *a = sys->args;
	int at = sys->nr == SYS_execveat;
	long fd = -1, ret;

	if (vm->loader_fd < 0)
		return dune_forward6(vm, sys->nr, a[0], a[1], a[2], a[3], a[4], 0);
	if (vm->exe_fd >= 0 && names_own_exe(a[at]) && (!at || a[0] == AT_FDCWD))
		fd = dup_exec_file(vm);
	else if (vm->tools.filter)
		fd = open_any(vm, at ? a[0] : AT_FDCWD, a[at], at ? a[4] : 0);
	else if (!at)
		fd = open_static_elf(vm, a[0]);
	if (vm->tools.filter && fd < 0)
		return fd;
	if (fd < 0)
		return dune_forward6(vm, sys->nr, a[0], a[1], a[2], a[3], a[4], 0);
	ret = exec_loader(vm, sys, fd);
	sys1(SYS_close, fd);	/* the exec failed */
	return ret;
}

/* The program the loader runs: dune's own fd, for an execve of /proc/self/exe. */
static long set_exec_file(struct dune_vm *vm, long fd)
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
	sys1(SYS_close, fd);
	return 0;
}

/*
 * DUNE_OP_EXEC_START.  Under a policy the loader's image (its code, which
 * includes the host loop's, and libdune's data) becomes dune's memory here,
 * before the program's first instruction: from now on the guest runs none of
 * it, and nothing the program does reaches it.  Once per process image.
 */
long dune_exec_start(struct dune_vcpu *vcpu, long fd, uintptr_t entry, uintptr_t sp)
{
	struct dune_vm *vm = vcpu->vm;
	const struct dune_range *im = &vm->loader_image;
	long err;

	if (vm->started)
		return -EBUSY;
	err = set_exec_file(vm, fd);
	if (!err && vm->tools.filter && im->end)
		err = dune_mem_make_own(vm, im->start, im->end);
	if (!err)
		err = arch_exec_start(vcpu, entry, sp);
	vm->started = !err;
	return err;
}
