// SPDX-License-Identifier: MIT
/*
 * dune_enter() inside dune enters a VM one level deeper (its KVM ioctls are
 * forwarded by the outer level); system calls pass through both levels and
 * dune_escape() leaves one level at a time.
 */
#include <fcntl.h>

#include "check.h"

static void check_file_io(const char *level)
{
	char path[] = "/tmp/dune-nested.XXXXXX", buf[64];
	const char msg[] = "through two levels of dune";
	int fd = mkstemp(path);

	CHECK(fd >= 0, "%s: mkstemp: %s", level, strerror(errno));
	if (fd < 0)
		return;
	CHECK(write(fd, msg, sizeof(msg)) == sizeof(msg), "%s: write: %s", level, strerror(errno));
	CHECK(pread(fd, buf, sizeof(buf), 0) == sizeof(msg) && !memcmp(buf, msg, sizeof(msg)),
	      "%s: read back wrong", level);
	close(fd);
	CHECK(unlink(path) == 0, "%s: unlink: %s", level, strerror(errno));
	errno = 0;
	CHECK(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT, "%s: errno %d", level,
	      errno);
}

int main(void)
{
	struct dune_stats outer = { .size = sizeof(outer) }, inner = { .size = sizeof(inner) };
	int ret;

	enter_dune();
	dune_get_stats(&outer);
	ret = dune_enter();
	CHECK(ret == 0, "nested dune_enter() = %d: %s", ret, dune_last_error());
	CHECK(dune_is_inside(), "not inside at depth 2");
	check_file_io("depth 2");
	CHECK(dune_get_stats(&inner) == 0 && inner.syscalls > 0, "depth 2 counts no syscalls");
	printf("# depth 2 forwarded %lu syscalls so far\n", (unsigned long)inner.syscalls);
	CHECK(dune_escape() == 0, "escape from depth 2");
	CHECK(dune_is_inside(), "escaping depth 2 should leave us at depth 1");
	check_file_io("depth 1");
	CHECK(dune_escape() == 0 && !dune_is_inside(), "escape from depth 1");
	check_file_io("native");
	return finish();
}
