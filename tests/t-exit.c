/* SPDX-License-Identifier: MIT */
/*
 * Exit status and exit-time behaviour of a program inside dune, seen by its
 * native parent: return from main, exit() deep in the stack, _exit(),
 * atexit handlers and the stdio flush at exit.  Uses helper ./ret42.
 * Also execve() from inside dune: the new program starts natively, without
 * any of dune's descriptors (helper ./showfds).
 */
#include "check.h"

struct exit_case {
	const char *mode;	/* argv[1] of ret42, or NULL */
	int status;		/* expected exit status */
	const char *output;	/* expected stdout + stderr */
};

static const struct exit_case cases[] = {
	{ NULL, 42, "" },
	{ "exit7", 7, "" },
	{ "_exit9", 9, "" },
	{ "atexit", 3, "buffered atexit ran\n" },
	{ "args", 0, "argc=5 [./ret42] [args] [] [two words] [\xc3\xa9] "
		     "var=value with spaces\n" },
};

/* In a child: enter dune, then replace ourselves with ./showfds. */
static int exec_child(void *arg)
{
	char *argv[] = { "./showfds", NULL };

	(void)arg;
	enter_dune();
	execv(argv[0], argv);
	printf("execv from inside dune: %s\n", strerror(errno));
	return 1;
}

static void check_exec(void)
{
	char *argv[] = { "./showfds", NULL };
	char native[4096], inside[4096];
	int status;

	status = run_helper(argv, native, sizeof(native));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "showfds natively: %s; output:\n%s", status_str(status), native);
	status = run_child(exec_child, NULL, inside, sizeof(inside));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "exec of showfds from dune: %s; output:\n%s", status_str(status),
	      inside);
	CHECK(strcmp(native, inside) == 0 && strstr(native, "inside=0"),
	      "showfds printed \"%s\" natively, \"%s\" when exec'ed from dune",
	      native, inside);
}

int main(void)
{
	char out[4096];
	size_t i;

	setenv("DUNE_TEST_VAR", "value with spaces", 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct exit_case *c = &cases[i];
		char *argv[] = { "./ret42", (char *)c->mode, "", "two words",
				 "\xc3\xa9", NULL };
		int status;

		if (!c->mode || strcmp(c->mode, "args"))
			argv[2] = NULL;
		status = run_helper(argv, out, sizeof(out));
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == c->status,
		      "ret42 %s: %s, expected exit %d; output:\n%s",
		      c->mode ? c->mode : "", status_str(status), c->status, out);
		CHECK(strcmp(out, c->output) == 0,
		      "ret42 %s printed \"%s\", expected \"%s\"",
		      c->mode ? c->mode : "", out, c->output);
	}
	check_exec();
	return finish();
}
