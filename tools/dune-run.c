// SPDX-License-Identifier: MIT
/*
 * dune-run: run an unmodified program inside dune.  It sets the environment
 * (LD_PRELOAD of libdune-run.so, DUNE_TRACE, DUNE_STATS, ...) and execs the
 * program, so the program, its children and what they exec enter dune before
 * main().  A static program, and under a policy every program, is loaded by
 * dune-exec-static, which enters before its first instruction.  A policy (deny
 * rules, an allow-list, a seccomp profile) becomes a seccomp filter installed
 * here, before the exec (lib/policy.c).  Exit status: the program's, or 125
 * (dune-run failed), 126 (cannot execute), 127 (not found), like env(1).
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

#ifdef DUNE_HAVE_JSON_C
#include <json.h>
#include <sys/capability.h>
#include <sys/utsname.h>
#endif

#include "arch-policy.h"
#include "dune.h"
#include "policy.h"

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
	"      --allow=SYSCALL[,...]\n"
	"                         refuse all others (with --default's action)\n"
	"      --default=ERRNO|kill  what --allow refuses with (default EPERM)\n"
	"      --policy=FILE      rules from FILE: 'deny SYSCALL [ERRNO|kill]', 'allow SYSCALL'\n"
	"      --seccomp-profile=FILE\n"
	"                         rules from an OCI/Docker seccomp profile (JSON)\n"
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

/* --deny, --allow, --policy and --seccomp-profile accumulate here. */
static struct dune_policy policy = { .dflt = EPERM };
static int have_policy;

static void add_deny(const char *rules, const char *what)
{
	if (dune_rules_parse(policy.deny, rules, what))
		fail(EXIT_FAILED, "%s", dune_last_error());
	have_policy = 1;
}

static void allow(long nr)
{
	policy.allow[dune_syscall_slot(nr)] = 1;
	policy.allow_mode = have_policy = 1;
}

static void add_allow(const char *names, const char *what)
{
	for (const char *p = names; *p; p += *p == ',') {
		size_t len = strcspn(p, ",");
		long nr = dune_syscall_nr(p, len);

		if (nr < 0) {
			fprintf(stderr, "dune-run: %s: unknown system call '%.*s'\n", what, (int)len, p);
			exit(EXIT_FAILED);
		}
		allow(nr);
		p += len;
	}
}

static void set_default(const char *action)
{
	policy.dflt = dune_rule_action(action, strlen(action));
	if (!policy.dflt)
		fail(EXIT_FAILED, "--default=%s: the action must be an errno (a name or 1..4095) "
		     "or 'kill'", action);
}

static void read_policy(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256], verb[8], name[128], action[64];

	if (!f)
		fail(EXIT_FAILED, "%s: cannot open the policy file", path);
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, " %7s %127s %63s", verb, name, action);
		char rule[200];

		if (line[strspn(line, " \t")] == '#' || line[strspn(line, " \t\n")] == '\0')
			continue;
		if (n >= 2 && !strcmp(verb, "deny")) {
			snprintf(rule, sizeof(rule), n == 3 ? "%s=%s" : "%s", name, action);
			add_deny(rule, path);
		} else if (n == 2 && !strcmp(verb, "allow")) {
			add_allow(name, path);
		} else {
			line[strcspn(line, "\n")] = '\0';
			fail(EXIT_FAILED, "bad policy line: %s", line);
		}
	}
	fclose(f);
}

/* ---- OCI/Docker seccomp profiles (the JSON of runc and docker --security-opt) ---- */

static const char *profile;

static void __attribute__((noreturn)) bad_profile(const char *why, const char *what)
{
	fprintf(stderr, "dune-run: %s: %s%s%.*s\n", profile, why, what ? ": " : "",
		what ? (int)strcspn(what, "\n") : 0, what ? what : "");
	exit(EXIT_FAILED);
}

#ifdef DUNE_HAVE_JSON_C
/* SCMP_ACT_* and errnoRet as a rule's action: 0 allows; TRAP, TRACE, NOTIFY are refused. */
static int profile_action(json_object *obj, const char *key, const char *errno_key)
{
	json_object *v, *e;
	const char *name;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		bad_profile("no action", key);
	name = json_object_get_string(v);
	if (!strcmp(name, "SCMP_ACT_ALLOW") || !strcmp(name, "SCMP_ACT_LOG"))
		return 0;
	/* KILL_THREAD kills the process: dune cannot leave a thread without its vCPU */
	if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD") ||
	    !strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		return DUNE_DENY_KILL;
	if (strcmp(name, "SCMP_ACT_ERRNO"))
		bad_profile("action not supported (ALLOW, LOG, ERRNO, KILL*)", name);
	if (!json_object_object_get_ex(obj, errno_key, &e))
		return EPERM;
	if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) < 1 ||
	    json_object_get_int64(e) > 4095)
		bad_profile("the errno must be 1..4095", errno_key);
	return json_object_get_int(e);
}

static void profile_arch(json_object *root)
{
	json_object *archs;
	size_t n;

	if (!json_object_object_get_ex(root, "architectures", &archs))
		return;		/* the native one, as runc takes it */
	n = json_object_array_length(archs);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(archs, i)),
			    DUNE_SCMP_ARCH))
			return;
	bad_profile("its architectures leave out this one", DUNE_SCMP_ARCH);
}

static json_object *member(json_object *obj, const char *key, json_type type)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	if (!json_object_is_type(v, type))
		bad_profile("a member of the wrong type", key);
	return v;
}

static int in_list(json_object *list, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(list, i)), name))
			return 1;
	return 0;
}

/*
 * Does dune-run hold the capability (its effective set: as root, what the
 * program will hold after the exec; as another user, none of them)?
 */
static int holds(const char *name)
{
	static cap_t caps;
	cap_flag_value_t v;
	cap_value_t cap;

	if (cap_from_name(name, &cap))
		bad_profile("unknown capability", name);
	if (!caps && !(caps = cap_get_proc()))
		bad_profile("cannot read dune-run's capabilities", NULL);
	return !cap_get_flag(caps, cap, CAP_EFFECTIVE, &v) && v == CAP_SET;
}

static int any_held(json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (holds(json_object_get_string(json_object_array_get_idx(list, i))))
			return 1;
	return 0;
}

static int all_held(json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (!holds(json_object_get_string(json_object_array_get_idx(list, i))))
			return 0;
	return 1;
}

/* Is the running kernel at least MAJOR.MINOR? */
static int kernel_at_least(json_object *version)
{
	struct utsname u;
	int major, minor, have_major, have_minor;

	if (sscanf(json_object_get_string(version), "%d.%d", &major, &minor) != 2)
		bad_profile("not a kernel version (MAJOR.MINOR)", json_object_get_string(version));
	if (uname(&u) || sscanf(u.release, "%d.%d", &have_major, &have_minor) != 2)
		bad_profile("cannot tell the kernel's version", NULL);
	return have_major > major || (have_major == major && have_minor >= minor);
}

/*
 * An entry's "includes" and "excludes", as Docker applies them when it
 * starts a container: this architecture (Go's name), the capabilities
 * dune-run holds, the running kernel.
 */
static int applies(json_object *entry)
{
	json_object *inc = member(entry, "includes", json_type_object);
	json_object *exc = member(entry, "excludes", json_type_object);
	json_object *v;

	if (inc) {
		v = member(inc, "arches", json_type_array);
		if (v && json_object_array_length(v) && !in_list(v, DUNE_PROFILE_ARCH))
			return 0;
		v = member(inc, "caps", json_type_array);
		if (v && !all_held(v))
			return 0;
		v = member(inc, "minKernel", json_type_string);
		if (v && !kernel_at_least(v))
			return 0;
	}
	if (exc) {
		v = member(exc, "arches", json_type_array);
		if (v && in_list(v, DUNE_PROFILE_ARCH))
			return 0;
		v = member(exc, "caps", json_type_array);
		if (v && any_held(v))
			return 0;
		v = member(exc, "minKernel", json_type_string);
		if (v && kernel_at_least(v))
			return 0;
	}
	return 1;
}

/* "args": each {"index", "value", "valueTwo", "op"} as a comparison of rule. */
static void profile_args(json_object *args, struct dune_cond_rule *rule)
{
	static const char *const ops[] = {
		[DUNE_CMP_NE] = "SCMP_CMP_NE", [DUNE_CMP_LT] = "SCMP_CMP_LT",
		[DUNE_CMP_LE] = "SCMP_CMP_LE", [DUNE_CMP_EQ] = "SCMP_CMP_EQ",
		[DUNE_CMP_GE] = "SCMP_CMP_GE", [DUNE_CMP_GT] = "SCMP_CMP_GT",
		[DUNE_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
	};

	rule->nr_cmps = (int)json_object_array_length(args);
	if (rule->nr_cmps > DUNE_MAX_CMPS)
		bad_profile("more than 6 conditions in one entry", NULL);
	for (int i = 0; i < rule->nr_cmps; i++) {
		json_object *a = json_object_array_get_idx(args, i);
		json_object *index = member(a, "index", json_type_int);
		json_object *value = member(a, "value", json_type_int);
		json_object *value2 = member(a, "valueTwo", json_type_int);
		json_object *op = member(a, "op", json_type_string);
		struct dune_arg_cmp *c = &rule->cmp[i];

		if (!index || json_object_get_int64(index) < 0 || json_object_get_int64(index) > 5)
			bad_profile("a condition's \"index\" must be 0..5", NULL);
		if (!value || !op)
			bad_profile("a condition without \"value\" or \"op\"", NULL);
		c->arg = (uint8_t)json_object_get_int64(index);
		c->value = json_object_get_uint64(value);
		c->value2 = value2 ? json_object_get_uint64(value2) : 0;
		for (c->op = 0; c->op < sizeof(ops) / sizeof(ops[0]); c->op++)
			if (!strcmp(json_object_get_string(op), ops[c->op]))
				break;
		if (c->op == sizeof(ops) / sizeof(ops[0]))
			bad_profile("unknown comparison", json_object_get_string(op));
	}
}

/* One entry of "syscalls": names, an action, and conditions on the arguments. */
static void profile_entry(json_object *entry, int dflt)
{
	json_object *names = member(entry, "names", json_type_array);
	json_object *args = member(entry, "args", json_type_array);
	struct dune_cond_rule rule = { .action = profile_action(entry, "action", "errnoRet") };

	if (!names)
		bad_profile("an entry of \"syscalls\" without \"names\"", NULL);
	if (!applies(entry))
		return;
	if (args)
		profile_args(args, &rule);
	for (size_t i = 0; i < json_object_array_length(names); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));
		long nr = name ? dune_syscall_nr(name, strlen(name)) : -1;

		if (nr < 0)
			continue;	/* not on this architecture, as libseccomp skips it */
		if (rule.nr_cmps) {
			rule.nr = nr;
			if (dune_policy_add_cond(&policy, &rule))
				bad_profile(dune_last_error(), NULL);
		} else if (rule.action != dflt) {
			if (rule.action)
				policy.deny[dune_syscall_slot(nr)] = rule.action;
			else
				allow(nr);
		}
	}
}

static void read_profile(const char *path)
{
	json_object *root, *syscalls;
	size_t n;

	profile = path;
	root = json_object_from_file(path);
	if (!root)
		bad_profile("cannot read it as JSON", json_util_get_last_err());
	policy.dflt = profile_action(root, "defaultAction", "defaultErrnoRet");
	policy.allow_mode = policy.dflt != 0;
	have_policy = 1;
	profile_arch(root);
	if (json_object_object_get_ex(root, "syscalls", &syscalls)) {
		if (!json_object_is_type(syscalls, json_type_array))
			bad_profile("\"syscalls\" is not an array", NULL);
		n = json_object_array_length(syscalls);
		for (size_t i = 0; i < n; i++)
			profile_entry(json_object_array_get_idx(syscalls, i), policy.dflt);
	}
	json_object_put(root);
}
#else
/* A cross build: Debian has no json-c for the target here (Makefile). */
static void read_profile(const char *path)
{
	profile = path;
	bad_profile("this dune-run was built without json-c: seccomp profiles are not supported",
		    NULL);
}
#endif

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
 * enters dune and loads it, inside.  DUNE_EXEC_STATIC tells the library to do
 * the same for static programs exec'd later.  Under a policy every program
 * starts there, so that none of its code runs natively before dune enters.
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
		{ "allow", required_argument, NULL, 'a' }, { "default", required_argument, NULL, 'D' },
		{ "seccomp-profile", required_argument, NULL, 'P' },
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
		case 'd': add_deny(optarg, "--deny"); break;
		case 'a': add_allow(optarg, "--allow"); break;
		case 'D': set_default(optarg); break;
		case 'p': read_policy(optarg); break;
		case 'P': read_profile(optarg); break;
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
}

/*
 * The policy's filter, from here on for this process and all it starts.
 * The kernel, not dune, enforces it: nothing the program does to dune's
 * memory, its environment or its limits can lift it.
 */
static void install_policy(void)
{
	if (have_policy && dune_policy_install(&policy))
		fail(EXIT_FAILED, "%s", dune_last_error());
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
	if (!have_policy)
		preload();
	install_policy();
	if (have_policy || is_static_elf(path))
		exec_static(loader, path, argv + optind, argc - optind);
	execv(path, argv + optind);
	fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s: cannot execute", argv[optind]);
	return EXIT_FAILED;
}
