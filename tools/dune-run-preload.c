// SPDX-License-Identifier: MIT
/*
 * libdune-run.so: preloaded by dune-run into every program it starts (and,
 * through the inherited environment, into everything those exec), it enters
 * dune before main().  A program that cannot enter says so once and runs
 * natively: a preloaded library must not end a process.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dune.h"

__attribute__((constructor)) static void dune_run_enter(void)
{
	int err;

	if (dune_is_inside())
		return;
	err = dune_enter();
	if (err && !getenv("DUNE_RUN_QUIET"))
		fprintf(stderr, "dune-run: cannot enter dune, running natively: %s\n",
			dune_last_error());
}
