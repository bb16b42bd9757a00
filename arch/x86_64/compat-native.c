// SPDX-License-Identifier: MIT
/* The x86-64 numbers of X86_COMPAT_NATIVE's calls (compat.c has the i386 ones). */
#include <sys/syscall.h>

#include "dune-internal.h"
#include "x86.h"

#define NATIVE_NR(name)	[X86_COMPAT_##name] = SYS_##name,

long x86_compat_native_nr(enum x86_compat_native which)
{
	static const long nr[X86_NR_COMPAT_NATIVE] = { X86_COMPAT_NATIVE(NATIVE_NR) };

	return nr[which];
}
