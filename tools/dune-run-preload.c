// SPDX-License-Identifier: MIT
/*
 * libdune-run.so: preloaded by dune-run into every program it starts without
 * a policy (and, through the inherited environment, into everything those
 * exec), it enters dune before main() (run-enter.h).  Under a policy
 * dune-exec-static starts programs instead, entering before their first
 * instruction.
 */
#include "run-enter.h"

__attribute__((constructor)) static void dune_run_enter(void)
{
	run_enter();
}
