// SPDX-License-Identifier: MIT
/*
 * dune-exec-static [--fd=N] PROGRAM [ARGV0 ARGS...]: enter dune, then run
 * PROGRAM inside it (from the open file N if given: dune's execve passes the
 * file it checked, since a path such as /proc/self/exe would name this
 * loader once it runs).  A static executable has no dynamic loader, so
 * nothing can be preloaded into it to enter dune before its first
 * instruction; and under a policy nothing of a program may run natively
 * before dune has entered (the dynamic loader, IFUNC resolvers and
 * .preinit_array would run before the preload's constructor, where the
 * filter cannot tell their calls from dune's own), so dune-run and dune's
 * execve start every program here then.  This program is static, so that
 * nothing in the environment (LD_PRELOAD, LD_LIBRARY_PATH) can run in it
 * natively.  It does the kernel's part of execve(2) itself: it follows a
 * "#!" line, maps PROGRAM's segments and those of its dynamic loader, builds
 * a fresh initial stack (argv, envp, the auxiliary vector) and jumps to the
 * entry point, still inside the VM.
 *
 * What differs from a real exec: /proc/self/exe and /proc/self/cmdline name
 * this loader (dune runs the program again for an execve of /proc/self/exe,
 * but a dynamic loader's $ORIGIN is this loader's directory), the program
 * break starts after the loader's, and the loader's own memory stays mapped:
 * its code sealed read-only (dune_set_exec_loader()), and under a policy all
 * of it dune's own memory once the program starts.  The process name is set
 * to PROGRAM's.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dune.h"
#include "policy.h"
#include "run-enter.h"
#include "tool-arch.h"	/* tools/<isa>/: NATIVE_MACHINE, start() */

#define EXIT_CANNOT_RUN	126
#define STACK_SIZE	(8UL << 20)
#define MAX_PHDRS	64
#define MAX_AUXV	64
#define MAX_SCRIPTS	4	/* "#!" interpreters that are scripts themselves */
#define PAGE_DOWN(x)	((x) & ~(uintptr_t)(page - 1))
#define PAGE_UP(x)	PAGE_DOWN((x) + page - 1)

static const char *prog;
static uintptr_t page;

static void __attribute__((noreturn)) fail(int status, const char *what, int err)
{
	fprintf(stderr, "dune-exec-static: %s: %s%s%s\n", prog, what, err ? ": " : "",
		err ? strerror(err) : "");
	exit(status);
}

struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];
	uintptr_t bias;		/* load address - link address (0 for ET_EXEC) */
	uintptr_t phdr;		/* where the program headers are mapped */
	char interp[PATH_MAX];	/* PT_INTERP, or "" */
};

static void read_headers(int fd, struct image *im)
{
	Elf64_Ehdr *eh = &im->eh;

	if (pread(fd, eh, sizeof(*eh), 0) != sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		fail(EXIT_CANNOT_RUN, "not an ELF executable", 0);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != NATIVE_MACHINE ||
	    (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > MAX_PHDRS)
		fail(EXIT_CANNOT_RUN, "not an executable for this machine", 0);
	if (pread(fd, im->ph, eh->e_phnum * sizeof(Elf64_Phdr), eh->e_phoff) !=
	    (ssize_t)(eh->e_phnum * sizeof(Elf64_Phdr)))
		fail(EXIT_CANNOT_RUN, "truncated program headers", 0);
	im->interp[0] = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &im->ph[i];

		if (ph->p_type != PT_INTERP)
			continue;
		if (ph->p_filesz < 2 || ph->p_filesz > sizeof(im->interp) ||
		    pread(fd, im->interp, ph->p_filesz, ph->p_offset) != (ssize_t)ph->p_filesz ||
		    im->interp[ph->p_filesz - 1])
			fail(EXIT_CANNOT_RUN, "a bad PT_INTERP", 0);
	}
}

static int prot_of(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/*
 * Reserve the span of the PT_LOAD segments: where the program was linked
 * (ET_EXEC, refusing to replace anything there) or anywhere (static PIE).
 */
static void reserve(struct image *im)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int fixed = im->eh.e_type == ET_EXEC;
	void *at;

	for (int i = 0; i < im->eh.e_phnum; i++) {
		if (im->ph[i].p_type != PT_LOAD)
			continue;
		lo = lo < PAGE_DOWN(im->ph[i].p_vaddr) ? lo : PAGE_DOWN(im->ph[i].p_vaddr);
		hi = hi > im->ph[i].p_vaddr + im->ph[i].p_memsz ? hi : im->ph[i].p_vaddr + im->ph[i].p_memsz;
	}
	if (hi <= lo)
		fail(EXIT_CANNOT_RUN, "no loadable segment", 0);
	at = mmap(fixed ? (void *)lo : NULL, PAGE_UP(hi) - lo, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED_NOREPLACE : 0), -1, 0);
	if (at == MAP_FAILED)
		fail(EXIT_CANNOT_RUN, "its addresses are taken in this process", errno);
	im->bias = (uintptr_t)at - lo;
}

/* One PT_LOAD: the file's pages, then zeros for the rest of p_memsz (bss). */
static void map_segment(int fd, const struct image *im, const Elf64_Phdr *ph)
{
	uintptr_t start = PAGE_DOWN(im->bias + ph->p_vaddr);
	uintptr_t file_end = im->bias + ph->p_vaddr + ph->p_filesz;
	uintptr_t mem_end = PAGE_UP(im->bias + ph->p_vaddr + ph->p_memsz);
	int prot = prot_of(ph->p_flags);

	if (ph->p_filesz &&
	    mmap((void *)start, file_end - start, prot | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
		 PAGE_DOWN(ph->p_offset)) == MAP_FAILED)
		fail(EXIT_CANNOT_RUN, "cannot map a segment", errno);
	if (ph->p_memsz > ph->p_filesz) {
		uintptr_t zero_from = PAGE_UP(file_end);

		if (ph->p_filesz)
			memset((void *)file_end, 0, zero_from - file_end);
		if (mem_end > zero_from &&
		    mmap((void *)zero_from, mem_end - zero_from, prot,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			fail(EXIT_CANNOT_RUN, "cannot map its bss", errno);
	}
	if (ph->p_filesz && mprotect((void *)start, file_end - start, prot))
		fail(EXIT_CANNOT_RUN, "mprotect", errno);
}

/* path, read-only, or the process ends as the kernel's exec would have failed. */
static int open_or_fail(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail(errno == ENOENT ? 127 : EXIT_CANNOT_RUN, what, errno);
	return fd;
}

/* Map an image from fd. */
static void load(int fd, struct image *im)
{
	read_headers(fd, im);
	reserve(im);
	im->phdr = 0;
	for (int i = 0; i < im->eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &im->ph[i];

		if (ph->p_type == PT_LOAD)
			map_segment(fd, im, ph);
		if (ph->p_type == PT_PHDR)
			im->phdr = im->bias + ph->p_vaddr;
		else if (ph->p_type == PT_LOAD && !im->phdr && ph->p_offset <= im->eh.e_phoff &&
			 im->eh.e_phoff < ph->p_offset + ph->p_filesz)
			im->phdr = im->bias + ph->p_vaddr + (im->eh.e_phoff - ph->p_offset);
	}
	if (!im->phdr)
		fail(EXIT_CANNOT_RUN, "its program headers are not loaded", 0);
}

/* Our own auxiliary vector, with the entries that describe the program replaced. */
static int build_auxv(const struct image *im, uintptr_t base, Elf64_auxv_t *out, uintptr_t execfn,
		      uintptr_t random)
{
	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC), n = 0;
	Elf64_auxv_t av;

	if (fd < 0)
		fail(EXIT_FAILED, "/proc/self/auxv", errno);
	while (n < MAX_AUXV - 1 && read(fd, &av, sizeof(av)) == sizeof(av) && av.a_type != AT_NULL) {
		switch (av.a_type) {
		case AT_PHDR: av.a_un.a_val = im->phdr; break;
		case AT_PHENT: av.a_un.a_val = sizeof(Elf64_Phdr); break;
		case AT_PHNUM: av.a_un.a_val = im->eh.e_phnum; break;
		case AT_ENTRY: av.a_un.a_val = im->bias + im->eh.e_entry; break;
		case AT_BASE: av.a_un.a_val = base; break;	/* the interpreter's, or 0 */
		case AT_EXECFN: av.a_un.a_val = execfn; break;
		case AT_RANDOM: av.a_un.a_val = random; break;
		default: break;
		}
		out[n++] = av;
	}
	close(fd);
	out[n++] = (Elf64_auxv_t){ .a_type = AT_NULL };
	return n;
}

/* Copy s just below *top; returns its address. */
static uintptr_t push_string(uintptr_t *top, const char *s)
{
	size_t len = strlen(s) + 1;

	*top -= len;
	memcpy((void *)*top, s, len);
	return *top;
}

/*
 * The initial stack as the kernel lays it out: argc, argv[], NULL, envp[],
 * NULL, auxv[], then the strings and AT_RANDOM's bytes above.
 */
static uintptr_t build_stack(const struct image *im, uintptr_t base, char **argv, char **envp)
{
	int argc = 0, envc = 0, auxc;
	Elf64_auxv_t auxv[MAX_AUXV];
	uint8_t random[16];
	uintptr_t top, execfn, rnd, *sp;
	char *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (stack == MAP_FAILED)
		fail(EXIT_FAILED, "no memory for its stack", errno);
	while (argv[argc])
		argc++;
	while (envp[envc])
		envc++;
	uintptr_t strs[argc + envc];

	top = (uintptr_t)stack + STACK_SIZE;
	execfn = push_string(&top, prog);
	for (int i = envc - 1; i >= 0; i--)
		strs[argc + i] = push_string(&top, envp[i]);
	for (int i = argc - 1; i >= 0; i--)
		strs[i] = push_string(&top, argv[i]);
	if (getrandom(random, sizeof(random), 0) != sizeof(random))
		fail(EXIT_FAILED, "getrandom", errno);
	top = (top - sizeof(random)) & ~15UL;
	rnd = top;
	memcpy((void *)rnd, random, sizeof(random));
	auxc = build_auxv(im, base, auxv, execfn, rnd);

	/* argc, argv, NULL, envp, NULL, auxv: 16-byte aligned at argc */
	sp = (uintptr_t *)((top - (1 + argc + 1 + envc + 1 + 2 * auxc) * 8) & ~15UL);
	*sp = argc;
	memcpy(sp + 1, strs, argc * 8);
	sp[1 + argc] = 0;
	memcpy(sp + 2 + argc, strs + argc, envc * 8);
	sp[2 + argc + envc] = 0;
	memcpy(sp + 3 + argc + envc, auxv, auxc * sizeof(Elf64_auxv_t));
	return (uintptr_t)sp;
}

/*
 * The program's C library registers its own rseq area; ours would make that
 * fail (one per thread), so it goes, as an exec would drop it.  The length
 * must be the registered one: glibc registers at least 32 bytes.
 */
static void drop_rseq(void)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (__rseq_size &&
	    syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) &&
	    syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		fail(EXIT_FAILED, "cannot unregister the loader's rseq area", errno);
}

/*
 * A "#!" script as the kernel runs one (binfmt_script): its first line names
 * the interpreter and at most one argument, which come before the script's
 * path and the arguments after argv[0].  Returns the interpreter's fd and
 * sets *argvp, or returns fd itself if it is not a script.
 */
static int follow_script(int fd, const char *path, char ***argvp)
{
	char line[256], *interp, *arg, *end, **argv = *argvp, **args;
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	int argc = 0, nfd;

	if (n < 2 || line[0] != '#' || line[1] != '!')
		return fd;
	line[n] = 0;
	end = strchr(line, '\n');
	if (!end)
		fail(EXIT_CANNOT_RUN, "its #! line is longer than the kernel reads", ENOEXEC);
	do
		*end = 0;
	while (end > line && (*--end == ' ' || *end == '\t'));
	interp = line + 2 + strspn(line + 2, " \t");
	arg = interp + strcspn(interp, " \t");
	if (*arg)
		*arg++ = 0;
	arg += strspn(arg, " \t");
	if (!*interp)
		fail(EXIT_CANNOT_RUN, "its #! line names no interpreter", 0);
	while (argv[argc])
		argc++;
	args = calloc(argc + 4, sizeof(*args));
	if (!args)
		fail(EXIT_FAILED, "out of memory", 0);
	n = 0;
	args[n++] = strdup(interp);
	if (*arg)
		args[n++] = strdup(arg);
	args[n++] = (char *)path;
	memcpy(args + n, argv + (argc > 0), (argc - (argc > 0)) * sizeof(*args));
	*argvp = args;
	nfd = open_or_fail(args[0], "cannot open its interpreter");
	close(fd);
	return nfd;
}

int main(int argc, char **argv, char **envp)
{
	struct image im, interp;
	struct rlimit nofile;
	uintptr_t sp, base = 0, entry;
	const char *name;
	char **args;
	int fd = -1, n, entered = 0;

	if (argc > 1 && sscanf(argv[1], "--fd=%d%n", &fd, &n) == 1 && !argv[1][n] && fd >= 0) {
		argc--;
		argv++;
	}
	if (argc < 2) {
		fputs("usage: dune-exec-static [--fd=N] PROGRAM [ARGV0 ARGS...]\n", stderr);
		return EXIT_FAILED;
	}
	prog = argv[1];
	page = sysconf(_SC_PAGESIZE);
	/* the kernel's exec takes no fds: the program's limit applies from its start */
	getrlimit(RLIMIT_NOFILE, &nofile);
	setrlimit(RLIMIT_NOFILE, &(struct rlimit){ nofile.rlim_max, nofile.rlim_max });
	if (fd < 0)
		fd = open_or_fail(prog, "cannot open");
	args = argv + 2;
	for (n = 0; n <= MAX_SCRIPTS; n++) {
		int next = follow_script(fd, n ? args[0] : prog, &args);

		if (next == fd)
			break;
		fd = next;
	}
	if (n > MAX_SCRIPTS)
		fail(EXIT_CANNOT_RUN, "too many #! interpreters", ELOOP);
	load(fd, &im);
	entry = im.bias + im.eh.e_entry;
	if (im.interp[0]) {
		int ifd = open_or_fail(im.interp, "cannot open its interpreter");

		load(ifd, &interp);
		close(ifd);
		if (interp.interp[0])
			fail(EXIT_CANNOT_RUN, "its interpreter has an interpreter", 0);
		base = interp.bias;
		entry = interp.bias + interp.eh.e_entry;
	}
	sp = build_stack(&im, base, args, envp);
	name = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
	prctl(PR_SET_NAME, name, 0, 0, 0);	/* a policy may refuse it: only a name */
	fflush(NULL);
	drop_rseq();
	setrlimit(RLIMIT_NOFILE, &nofile);
	/*
	 * All of the above is the kernel's part of execve, done natively: the
	 * program's rules do not judge it.  Only then enter, as late as possible.
	 */
	if (!dune_is_inside()) {
		if (dune_set_exec_loader("/proc/self/exe") && dune_policy_in_force())
			fail(EXIT_FAILED, dune_last_error(), 0);
		run_enter();
		entered = dune_is_inside();
	}
	/*
	 * Returns to the program's entry, with its file as dune's /proc/self/exe.
	 * (Run inside dune already, by an outer dune-run's loader, it just jumps.)
	 */
	if (entered) {
		syscall(DUNE_SYSCALL_NR, DUNE_OP_EXEC_START, fd, entry, sp);
		fail(EXIT_CANNOT_RUN, "cannot hand it to dune", errno);
	}
	close(fd);
	start(entry, sp);
}
