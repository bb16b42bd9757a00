/* SPDX-License-Identifier: MIT */
/*
 * Entering dune for dune-run: in libdune-run.so's constructor and in
 * dune-exec-static.  A program that cannot enter says so once and runs
 * natively, unless a policy is in force (dune-run's filter, which the kernel
 * reports whatever the environment says, or DUNE_DENY) or the kernel path was
 * asked for (DUNE_MODE=kmod): then running natively would run it without
 * what the user asked for, so it stops with dune-run's own status.
 */
#ifndef DUNE_RUN_ENTER_H
#define DUNE_RUN_ENTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dune.h"
#include "policy.h"

#define EXIT_FAILED	125	/* as dune-run's own failures */

static void run_enter(void)
{
	const char *policy = getenv("DUNE_DENY"), *mode = getenv("DUNE_MODE");

	if (dune_is_inside() || !dune_enter())
		return;
	if ((policy && *policy) || dune_policy_in_force()) {
		fprintf(stderr, "dune-run: cannot enter dune, so the policy cannot hold: %s\n",
			dune_last_error());
		_exit(EXIT_FAILED);
	}
	if (mode && !strcmp(mode, "kmod")) {
		fprintf(stderr, "dune-run: cannot enter dune: %s\n", dune_last_error());
		_exit(EXIT_FAILED);
	}
	if (!getenv("DUNE_RUN_QUIET"))
		fprintf(stderr, "dune-run: cannot enter dune, running natively: %s\n",
			dune_last_error());
}

#endif /* DUNE_RUN_ENTER_H */
