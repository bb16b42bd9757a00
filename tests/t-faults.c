/* SPDX-License-Identifier: MIT */
/*
 * A fault inside dune ends the process as it would natively: the same
 * signal, the same core-dump flag.  Runs helper ./fault once natively and
 * once inside dune for each kind of fault.
 */
#include <signal.h>

#include "check.h"

struct fault_case {
	const char *kind;
	int signal;
};

static const struct fault_case cases[] = {
	{ "segv-unmapped", SIGSEGV },	/* #PF, nothing mapped */
	{ "segv-munmapped", SIGSEGV },	/* #PF, mapped before */
	{ "segv-rodata", SIGSEGV },	/* #PF, write to a string literal */
	{ "segv-readonly", SIGSEGV },	/* #PF, write to a PROT_READ page */
	{ "segv-kernel", SIGSEGV },	/* #PF, kernel half */
	{ "segv-noncanonical", SIGSEGV },	/* #GP */
	{ "segv-stack-overflow", SIGSEGV },	/* #PF below the stack */
	{ "segv-hlt", SIGSEGV },	/* #GP, privileged instruction */
	{ "bus", SIGBUS },		/* file mapping past EOF */
	{ "ill", SIGILL },		/* #UD */
	{ "fpe", SIGFPE },		/* #DE */
	{ "trap", SIGTRAP },		/* #BP */
	{ "abrt", SIGABRT },		/* abort(): a signal sent by a syscall */
};

static int run_fault(const char *kind, const char *mode, char *out,
		     size_t size)
{
	char *argv[] = { "./fault", (char *)kind, (char *)mode, NULL };

	return run_helper(argv, out, size);
}

static void first_line(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

int main(void)
{
	char native_out[4096], dune_out[4096];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fault_case *c = &cases[i];
		int native, dune;

		native = run_fault(c->kind, "native", native_out,
				   sizeof(native_out));
		dune = run_fault(c->kind, "dune", dune_out, sizeof(dune_out));
		CHECK(WIFSIGNALED(native) && WTERMSIG(native) == c->signal,
		      "%s natively: %s, expected signal %d; output:\n%s",
		      c->kind, status_str(native), c->signal, native_out);
		CHECK(WIFSIGNALED(dune) && WTERMSIG(dune) == c->signal,
		      "%s inside dune: %s, expected signal %d; output:\n%s",
		      c->kind, status_str(dune), c->signal, dune_out);
		CHECK(WIFSIGNALED(dune) && WIFSIGNALED(native) &&
		      !WCOREDUMP(dune) == !WCOREDUMP(native),
		      "%s: core dump flag %d inside dune, %d natively", c->kind,
		      !!WCOREDUMP(dune), !!WCOREDUMP(native));
		CHECK(!strstr(dune_out, "Failed to find VMA"),
		      "%s: dune printed:\n%s", c->kind, dune_out);
		if (dune_out[0]) {
			first_line(dune_out);
			printf("# %s inside dune printed: %s\n", c->kind,
			       dune_out);
		}
	}
	return finish();
}
