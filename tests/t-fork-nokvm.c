// SPDX-License-Identifier: MIT
/*
 * A fork child that cannot have a VM of its own goes on natively, as it
 * would without dune: the fork succeeds and the child runs, outside dune,
 * while its parent stays inside.  Here the child cannot because /dev/kvm is
 * /dev/null in the mount namespace the program made after it entered
 * (LTP's landlock05 and listmount03 fork under a Landlock ruleset or a new
 * mount namespace that keep /dev/kvm from them).  Needs CAP_SYS_ADMIN.
 */
#include <sched.h>
#include <sys/mount.h>

#include "check.h"

int main(void)
{
	int status = -1;
	pid_t pid;

	enter_dune();
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("/dev/null", "/dev/kvm", NULL, MS_BIND, NULL))
		skip("no mount namespace with /dev/kvm bound to /dev/null (needs CAP_SYS_ADMIN)");
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(dune_is_inside() ? 1 : 7);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 7, "the child: %s (1: inside dune, 7: natively)",
	      status_str(status));
	CHECK(dune_is_inside(), "the parent left dune");
	return finish();
}
