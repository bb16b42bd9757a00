/* SPDX-License-Identifier: MIT */
/*
 * Hello world via stdio from inside dune.  The child enters and prints; the
 * native parent reads the child's stdout from a pipe and checks the text,
 * the exit status and that the child really was inside.
 */
#include "check.h"

static int hello_child(void *arg)
{
	(void)arg;
	enter_dune();
	printf("hello, world\n");
	printf("inside=%d\n", dune_is_inside());
	return 0;
}

int main(void)
{
	const char *expect = "hello, world\ninside=1\n";
	char out[4096];
	int status;

	status = run_child(hello_child, NULL, out, sizeof(out));
	CHECK(status != -1, "fork: %s", strerror(errno));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child: %s", status_str(status));
	CHECK(strcmp(out, expect) == 0, "child printed \"%s\", expected \"%s\"",
	      out, expect);
	return finish();
}
