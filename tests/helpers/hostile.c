// SPDX-License-Identifier: MIT
/*
 * hostile MODE DIR: what a program might try to get around a policy that
 * denies mkdir, and then mkdir(DIR).  t-policy runs each mode under
 * `dune-run --deny=mkdir` (DIR must not exist afterwards) and without a
 * policy (it must: the mode does reach mkdir).  Prints what it got.
 *   mkdir        just mkdir(DIR)
 *   write        write(2) to the file DIR (for `--deny=write`: a call dune
 *                makes natively itself, so the filter tells whose it is)
 *   escape       leave dune with its escape operation first
 *   ports        `out` to the ports dune's I/O bitmap opened, past SIGSEGV
 *   exec-clean M the same binary, mode M, without LD_PRELOAD (without a
 *                policy it runs natively)
 *   exec-nokvm   exec'd with DUNE_KVM_DEVICE=/nonexistent
 *   exec-nofile  exec'd with an RLIMIT_NOFILE too small to enter dune
 *   exec-as      exec'd with an RLIMIT_AS too small for dune's area
 *   fork-full    mkdir in a fork child, with the fd table full
 *   execveat P   execveat of the static program P (this one, linked static)
 *   uring        mkdirat through io_uring
 *   i386, x32    mkdir through another ABI
 *   edit-mem     clear dune's deny table and policy flag through /proc/self/mem,
 *                escape, then mkdir; edit-vm: the same with process_vm_writev
 *   open-mem     open /proc/self/mem for writing (directly, through a symlink),
 *                and a fork child its parent's: write(2) at an lseek'd position
 *                would go past dune's checks
 *   poke         a fork child writes a variable of its parent with
 *                process_vm_writev and as its tracer (which could change the
 *                parent's dune state as well)
 *   edit-loader  write into dune-exec-static's image (which runs the host
 *                loop under a policy): its code from a fork child as tracer,
 *                its data with process_vm_writev and mprotect, and load from it
 * With HOSTILE_PREINIT=DIR in the environment, code in .preinit_array (run
 * before any constructor, so before the preload's) makes the directory;
 * with HOSTILE_PREINIT_WRITE=FILE it writes to the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dune-internal.h"
#include "hostile-arch.h"
#include "uring.h"

extern char **environ;
static const char *dir;
static char *self;

static int try_mkdir(const char *how)
{
	int ret = mkdir(dir, 0755);

	printf("%s: mkdir=%d errno=%d inside=%d\n", how, ret, ret ? errno : 0, dune_is_inside());
	return 0;
}

static int try_write(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	ssize_t ret = fd < 0 ? -1 : write(fd, "written\n", 8);

	if (fd >= 0)
		close(fd);
	return ret != 8;
}

static void preinit(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	for (char **e = envp; *e; e++) {
		if (!strncmp(*e, "HOSTILE_PREINIT=", 16))
			mkdir(*e + 16, 0755);
		if (!strncmp(*e, "HOSTILE_PREINIT_WRITE=", 22))
			try_write(*e + 22);
	}
}
__attribute__((section(".preinit_array"), used)) static void (*const preinit_fn)(int, char **, char **) =
	preinit;

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

static int ports(void)
{
	static const unsigned short list[] = HOSTILE_PORTS;

	signal(SIGSEGV, on_fault);
	for (volatile size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		if (!sigsetjmp(fault_jmp, 1))
			hostile_port_out(list[i]);
	return try_mkdir("ports");
}

/* execve of this program in mode "mkdir" (or mode), with env changed by fix. */
static int reexec(const char *mode, const char *drop, const char *add)
{
	char *env[256], *argv[] = { self, (char *)mode, (char *)dir, NULL };
	int n = 0;

	for (char **e = environ; *e && n < 254; e++)
		if (!drop || strncmp(*e, drop, strlen(drop)))
			env[n++] = *e;
	if (add)
		env[n++] = (char *)add;
	env[n] = NULL;
	execve(self, argv, env);
	perror("execve");
	return 1;
}

static int limited_exec(int resource, rlim_t limit)
{
	struct rlimit r = { limit, limit };

	if (setrlimit(resource, &r))
		perror("setrlimit");
	return reexec("mkdir", NULL, NULL);
}

/* (below the hard limit, where dune keeps its fds: a full table must not stop a fork) */
static int fork_full(void)
{
	struct rlimit r;
	int status;
	pid_t pid;

	getrlimit(RLIMIT_NOFILE, &r);
	if (r.rlim_cur > 256 && r.rlim_cur + 64 > r.rlim_max) {
		r.rlim_cur = r.rlim_max - 64;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	while (dup(0) >= 0)
		;
	pid = fork();
	if (pid == 0)
		_exit(try_mkdir("fork child"));
	if (pid < 0)
		return printf("fork: errno=%d\n", errno), try_mkdir("fork failed");
	waitpid(pid, &status, 0);
	return 0;
}

static int execveat_static(const char *prog)
{
	char *argv[] = { (char *)prog, "mkdir", (char *)dir, NULL };

	syscall(SYS_execveat, AT_FDCWD, prog, argv, environ, 0);
	perror("execveat");
	return 1;
}

static int uring(void)
{
	struct io_uring_sqe req = { .opcode = IORING_OP_MKDIRAT, .fd = AT_FDCWD,
				    .addr = (uintptr_t)dir, .len = 0755 };
	int ret = uring_one(&req);

	printf("uring: mkdirat=%d\n", ret);
	return 0;
}

/* The path below 4 GiB, where the i386 ABI can take it. */
static int other_abi(int x32)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			 -1, 0);
	long ret;

	if (low == MAP_FAILED)
		return 1;
	snprintf(low, 4096, "%s", dir);
	ret = x32 ? hostile_mkdir_x32(low) : hostile_mkdir_i386(low);
	printf("%s: mkdir=%ld\n", x32 ? "x32" : "i386", ret);
	return 0;
}

/* dune's area: a mapping whose struct dune_vm names itself (read through /proc/self/mem). */
static uintptr_t find_area(int mem)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t start, end, area = 0, found = 0;

	while (maps && !found && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    pread(mem, &area, sizeof(area), start + offsetof(struct dune_vm, area)) ==
			    sizeof(area) && area == start)
			found = start;
	if (maps)
		fclose(maps);
	return found;
}

/* What the host loop relies on for the rules: zeroed from outside the guest, if it can be. */
static int edit(int use_vm_writev)
{
	int mem = open("/proc/self/mem", O_RDWR);
	uintptr_t vm = mem >= 0 ? find_area(mem) : 0;
	int16_t none = 0;
	int zero = 0;
	struct { uintptr_t at; void *val; size_t len; } edits[] = {
		{ vm + offsetof(struct dune_vm, tools.policy), &zero, sizeof(zero) },
		{ vm + offsetof(struct dune_vm, tools.deny[SYS_mkdir]), &none, sizeof(none) },
	};
	int done = 0;

	for (size_t i = 0; vm && i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct iovec local = { edits[i].val, edits[i].len };
		struct iovec remote = { (void *)edits[i].at, edits[i].len };

		if (use_vm_writev)
			done += process_vm_writev(getpid(), &local, 1, &remote, 1, 0) ==
				(ssize_t)edits[i].len;
		else
			done += pwrite(mem, edits[i].val, edits[i].len, edits[i].at) ==
				(ssize_t)edits[i].len;
	}
	printf("edit: area %s, %d of 2 edits, escape=%d\n", vm ? "found" : "not found", done,
	       dune_escape());
	return try_mkdir("edit");
}

/* The first mapping whose /proc/self/maps line ends with name, or 0. */
static uintptr_t find_mapping(const char *name)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t start = 0;

	while (maps && !start && fgets(line, sizeof(line), maps))
		if (strlen(line) > strlen(name) && !strcmp(line + strlen(line) - strlen(name), name))
			sscanf(line, "%lx", &start);
	if (maps)
		fclose(maps);
	return start;
}

static int open_errno(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd < 0 ? errno : 0;
}

static int open_mem(void)
{
	char link[4096], path[64];
	int self, via, status, parent = -1;
	pid_t pid;

	snprintf(link, sizeof(link), "%s.link", dir);
	self = open_errno("/proc/self/mem");
	via = symlink("/proc/self/mem", link) ? errno : open_errno(link);
	unlink(link);
	pid = fork();
	if (pid == 0) {
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)getppid());
		_exit(open_errno(path));
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		parent = WEXITSTATUS(status);
	printf("open-mem: self=%d symlink=%d parent=%d\n", self, via, parent);
	return try_mkdir("open-mem");
}

/*
 * A fork child, as the parent's tracer, writes the word at at back as it
 * is (PTRACE_POKETEXT, which writes read-only private pages by copy on
 * write): 0, or the errno of the first step that failed.
 */
static int child_poke(uintptr_t at)
{
	pid_t parent = getpid(), pid = fork();
	int status;

	if (pid == 0) {
		long word;

		if (ptrace(PTRACE_SEIZE, parent, 0, 0) || ptrace(PTRACE_INTERRUPT, parent, 0, 0) ||
		    waitpid(parent, &status, __WALL) != parent)
			_exit(errno);
		errno = 0;
		word = ptrace(PTRACE_PEEKTEXT, parent, at, 0);
		status = errno ? errno : ptrace(PTRACE_POKETEXT, parent, at, word) ? errno : 0;
		ptrace(PTRACE_DETACH, parent, 0, 0);
		_exit(status);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static volatile long target = 1;

static int poke(void)
{
	pid_t parent = getpid(), pid = fork();
	int status;

	if (pid == 0) {
		long two = 2;
		struct iovec local = { &two, sizeof(two) }, remote = { (void *)&target, sizeof(two) };
		int vm = process_vm_writev(parent, &local, 1, &remote, 1, 0) == sizeof(two) ? 0 : errno;
		int pt = ptrace(PTRACE_SEIZE, parent, 0, 0) ? errno : 0;

		if (!pt && (ptrace(PTRACE_INTERRUPT, parent, 0, 0) ||
			    waitpid(parent, &status, __WALL) != parent ||
			    ptrace(PTRACE_POKEDATA, parent, &target, 3)))
			pt = errno;
		if (!pt)
			ptrace(PTRACE_DETACH, parent, 0, 0);
		printf("poke: vm_writev=%d ptrace=%d\n", vm, pt);
		_exit(0);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	printf("poke: target=%ld\n", target);
	return try_mkdir("poke");
}

static int edit_loader(void)
{
	uintptr_t code = find_mapping("/memfd:dune-exec-static (deleted)\n");
	uintptr_t data = find_mapping("/dune-exec-static\n");
	char byte = 0;
	struct iovec local = { &byte, 1 }, remote = { (void *)data, 1 };
	int e_vm, e_mprotect;
	volatile int loaded = 0;

	printf("edit-loader: code %s poke=%d\n", code ? "found" : "none", child_poke(code));
	e_vm = process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == 1 ? 0 : errno;
	e_mprotect = mprotect((void *)data, 4096, PROT_READ) ? errno : 0;
	signal(SIGSEGV, on_fault);
	if (!sigsetjmp(fault_jmp, 1)) {
		byte = *(volatile char *)data;
		loaded = 1;
	}
	printf("edit-loader: data %s vm_writev=%d mprotect=%d load=%s\n", data ? "found" : "none",
	       e_vm, e_mprotect, loaded ? "read" : "fault");
	return try_mkdir("edit-loader");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	self = argv[0];
	dir = argv[argc - 1];
	if (!strcmp(mode, "mkdir"))
		return try_mkdir("mkdir");
	if (!strcmp(mode, "write"))
		return try_write(dir);
	if (!strcmp(mode, "escape")) {
		printf("escape=%d\n", dune_escape());
		return try_mkdir("escape");
	}
	if (!strcmp(mode, "ports"))
		return ports();
	if (!strcmp(mode, "exec-clean") && argc > 3)
		return reexec(argv[2], "LD_PRELOAD=", NULL);
	if (!strcmp(mode, "exec-nokvm"))
		return reexec("mkdir", "DUNE_KVM_DEVICE=", "DUNE_KVM_DEVICE=/nonexistent");
	if (!strcmp(mode, "exec-nofile"))
		return limited_exec(RLIMIT_NOFILE, 5);
	if (!strcmp(mode, "exec-as"))
		return limited_exec(RLIMIT_AS, 256UL << 20);
	if (!strcmp(mode, "fork-full"))
		return fork_full();
	if (!strcmp(mode, "execveat") && argc > 3)
		return execveat_static(argv[2]);
	if (!strcmp(mode, "uring"))
		return uring();
	if (!strcmp(mode, "i386") || !strcmp(mode, "x32"))
		return other_abi(!strcmp(mode, "x32"));
	if (!strcmp(mode, "poke"))
		return poke();
	if (!strcmp(mode, "open-mem"))
		return open_mem();
	if (!strcmp(mode, "edit-loader"))
		return edit_loader();
	if (!strcmp(mode, "edit-mem") || !strcmp(mode, "edit-vm"))
		return edit(!strcmp(mode, "edit-vm"));
	fprintf(stderr, "usage: hostile MODE [ARG] DIR (modes: see the source)\n");
	return 2;
}
