// SPDX-License-Identifier: MIT
/*
 * dune-run: run an unmodified program inside dune.  It sets the environment
 * (LD_PRELOAD of libdune-run.so, DUNE_TRACE, DUNE_STATS, DUNE_DENY, ...) and
 * execs the program, so the program, its children and what they exec enter
 * dune before main().  A static program is loaded by dune-exec-static.  Exit status: the program's, or
 * 125 (dune-run failed), 126 (cannot execute), 127 (not found), like env(1).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dune.h"

#define EXIT_FAILED	125
#define EXIT_CANNOT_RUN	126
#define EXIT_NOT_FOUND	127

static const char usage[] =
	"usage: dune-run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"Run PROGRAM inside dune (a KVM VM); its children and exec'd programs too.\n\n"
	"  -t, --trace[=FILE]     log every forwarded system call (default: stderr)\n"
	"  -s, --stats            per-process table of exits and syscalls at exit (stderr)\n"
	"      --stats-json=FILE  the same as JSON, one object per line\n"
	"      --deny=SYSCALL[=ERRNO|=kill][,...]\n"
	"                         refuse these system calls (default errno EPERM)\n"
	"      --policy=FILE      deny rules from FILE: 'deny SYSCALL [ERRNO|kill]' lines\n"
	"      --mode=auto|user|kmod\n"
	"                         syscall path (kmod: in-kernel fast path; auto: probe)\n"
	"  -q, --quiet            no dune messages     -v, --verbose  log guest faults\n"
	"  -h, --help             this help            --version      print the version\n";

static void fail(int status, const char *fmt, const char *arg)
{
	fprintf(stderr, "dune-run: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(status);
}

static void set(const char *name, const char *value)
{
	if (setenv(name, value, 1))
		fail(EXIT_FAILED, "cannot set %s", name);
}

/* --deny lists accumulate (with --policy's rules) into DUNE_DENY. */
static char deny[8192];

static void add_deny(const char *rules)
{
	if (strlen(deny) + strlen(rules) + 2 > sizeof(deny))
		fail(EXIT_FAILED, "too many deny rules (%s)", rules);
	if (*deny)
		strcat(deny, ",");
	strcat(deny, rules);
}

static void read_policy(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], name[128], action[64];

	if (!f)
		fail(EXIT_FAILED, "%s: cannot open the policy file", path);
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, " deny %127s %63s", name, action);
		char rule[200];

		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (n < 1)
			fail(EXIT_FAILED, "bad policy line: %s", line);
		snprintf(rule, sizeof(rule), n == 2 ? "%s=%s" : "%s", name, action);
		add_deny(rule);
	}
	fclose(f);
}

/* A companion file next to this program, or in ../lib when installed. */
static void find_companion(const char *name, const char *const places[], int n, char *out,
			   size_t size)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		fail(EXIT_FAILED, "%s", "cannot find where dune-run is installed");
	self[len] = '\0';
	*strrchr(self, '/') = '\0';
	for (int i = 0; i < n; i++) {
		if (snprintf(out, size, places[i], self, name) < (int)size && !access(out, R_OK))
			return;
	}
	fprintf(stderr, "dune-run: %s not found next to %s\n", name, self);
	exit(EXIT_FAILED);
}

static void find_preload(char *out, size_t size)
{
	static const char *const places[] = { "%s/%s", "%s/../lib/%s" };

	find_companion("libdune-run.so", places, 2, out, size);
}

static void preload(void)
{
	const char *old = getenv("LD_PRELOAD");
	char lib[PATH_MAX], value[2 * PATH_MAX];

	find_preload(lib, sizeof(lib));
	snprintf(value, sizeof(value), old && *old ? "%s:%s" : "%s", lib, old);
	set("LD_PRELOAD", value);
}

/* PROGRAM as execvp would find it; exits 126/127 as env(1) does. */
static void resolve(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");

	if (strchr(prog, '/')) {
		snprintf(out, size, "%s", prog);
	} else {
		for (const char *p = path ? path : "/usr/bin:/bin"; ; p = strchr(p, ':') + 1) {
			int len = strcspn(p, ":");

			snprintf(out, size, "%.*s/%s", len, len ? p : ".", prog);
			if (!access(out, X_OK) || !strchr(p, ':'))
				break;
		}
	}
	if (access(out, F_OK))
		fail(EXIT_NOT_FOUND, "%s: No such file or directory", prog);
	if (access(out, X_OK))
		fail(EXIT_CANNOT_RUN, "%s: Permission denied", prog);
}

static int is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), dynamic = 0;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		if (fd >= 0)
			close(fd);
		return 0;	/* a script: its interpreter is what runs */
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + (off_t)i * eh.e_phentsize) == sizeof(ph) &&
		    ph.p_type == PT_INTERP)
			dynamic = 1;
	}
	close(fd);
	return !dynamic;
}

/*
 * A static executable has no dynamic loader to preload into: dune-exec-static
 * (dynamic, so it enters dune) loads it, inside.  DUNE_EXEC_STATIC tells the
 * library to do the same for static programs exec'd later.
 */
static void set_static_loader(char *out, size_t size)
{
	static const char *const places[] = { "%s/%s" };

	find_companion("dune-exec-static", places, 1, out, size);
	set("DUNE_EXEC_STATIC", out);
}

/* The library reads DUNE_MODE; with kmod, no module means the program stops. */
static void set_mode(const char *mode)
{
	if (strcmp(mode, "auto") && strcmp(mode, "user") && strcmp(mode, "kmod"))
		fail(EXIT_FAILED, "unknown --mode '%s' (auto, user or kmod)", mode);
	set("DUNE_MODE", mode);
}

static void parse(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "trace", optional_argument, NULL, 't' }, { "stats", no_argument, NULL, 's' },
		{ "stats-json", required_argument, NULL, 'j' }, { "deny", required_argument, NULL, 'd' },
		{ "policy", required_argument, NULL, 'p' }, { "mode", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+t::sqvh", longs, NULL)) != -1) {
		switch (c) {
		case 't': set("DUNE_TRACE", optarg ? optarg : "/dev/stderr"); break;
		case 's': set("DUNE_STATS", "/dev/stderr"); break;
		case 'j': set("DUNE_STATS_JSON", optarg); break;
		case 'd': add_deny(optarg); break;
		case 'p': read_policy(optarg); break;
		case 'm': set_mode(optarg); break;
		case 'q': set("DUNE_RUN_QUIET", "1"); break;
		case 'v': set("DUNE_DEBUG", "1"); break;
		case 'h': fputs(usage, stdout); exit(0);
		case 'V': printf("dune-run %s\n", DUNE_VERSION); exit(0);
		default:
			fputs("Try 'dune-run --help' for more information.\n", stderr);
			exit(EXIT_FAILED);
		}
	}
	if (optind == argc)
		fail(EXIT_FAILED, "%s", "no program to run (see dune-run --help)");
	if (*deny)
		set("DUNE_DENY", deny);
}

/* dune-exec-static PATH ARGV0 ARGS... */
static void exec_static(const char *loader, char *path, char **args, int nargs)
{
	char **argv = calloc(nargs + 3, sizeof(*argv));

	if (!argv)
		fail(EXIT_FAILED, "%s", "out of memory");
	argv[0] = (char *)loader;
	argv[1] = path;
	memcpy(argv + 2, args, nargs * sizeof(*argv));
	execv(loader, argv);
	fail(EXIT_FAILED, "cannot execute %s", loader);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], loader[PATH_MAX];

	parse(argc, argv);
	resolve(argv[optind], path, sizeof(path));
	set_static_loader(loader, sizeof(loader));
	preload();
	if (is_static_elf(path))
		exec_static(loader, path, argv + optind, argc - optind);
	execv(path, argv + optind);
	fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s: cannot execute", argv[optind]);
	return EXIT_FAILED;
}
