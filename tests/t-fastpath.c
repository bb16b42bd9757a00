// SPDX-License-Identifier: MIT
/*
 * DUNE_MODE and the fast-path probe: user never looks for the module; auto
 * uses it when it is there and usable, and otherwise goes on silently in user
 * space, leaving no fd behind; kmod makes dune_enter() fail with a clear
 * error when the module is missing or the device is not the module's, and
 * the process goes on natively; anything else is refused.
 */
#include <dirent.h>

#include "check.h"

struct mode_case {
	const char *mode, *device;
	int err;		/* what dune_enter() returns */
	const char *says;	/* in dune_last_error() */
};

static const struct mode_case cases[] = {
	{ "user", "/nonexistent", 0, "" },
	{ "auto", "/nonexistent", 0, "" },
	{ "auto", "/dev/null", 0, "" },
	{ "", "/dev/null", 0, "" },
	{ "kmod", "/nonexistent", -ENOENT, "kernel module is not available" },
	{ "kmod", "/dev/null", -ENOTTY, "not the dune module's device" },
	{ "fast", "/nonexistent", -EINVAL, "expected auto, user or kmod" },
};

/* fds (3 and up) open on path: a probe that fell back must not keep one */
static int fds_on(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char link[300], target[256] = "";

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		if (atoi(de->d_name) > 2 && readlink(link, target, sizeof(target) - 1) > 0 &&
		    !strcmp(target, path))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static int try_mode(void *arg)
{
	const struct mode_case *c = arg;
	struct dune_stats st = { .size = sizeof(st) };
	int ret, before = fds_on(c->device);

	setenv("DUNE_MODE", c->mode, 1);
	setenv("DUNE_KMOD_DEVICE", c->device, 1);
	ret = dune_enter();
	CHECK(ret == c->err, "DUNE_MODE=%s, device %s: dune_enter() = %d (%s), expected %d",
	      c->mode, c->device, ret, dune_last_error(), c->err);
	CHECK(strstr(dune_last_error(), c->says), "DUNE_MODE=%s: the error says '%s'", c->mode,
	      dune_last_error());
	CHECK(dune_is_inside() == !ret, "DUNE_MODE=%s: inside %d after %d", c->mode,
	      dune_is_inside(), ret);
	CHECK(fds_on(c->device) == before, "DUNE_MODE=%s: %s still open", c->mode, c->device);
	if (!ret) {
		CHECK(dune_get_stats(&st) == 0 && st.kernel_syscalls == 0 && st.syscalls > 0,
		      "DUNE_MODE=%s without a module: %lu syscalls in the kernel, %lu in user space",
		      c->mode, (unsigned long)st.kernel_syscalls, (unsigned long)st.syscalls);
	}
	printf("still running\n");	/* natively, or inside */
	return finish();
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[4096];
		int status = run_child(try_mode, (void *)&cases[i], out, sizeof(out));

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "still running"),
		      "DUNE_MODE=%s: %s\n%s", cases[i].mode, status_str(status), out);
	}
	return finish();
}
