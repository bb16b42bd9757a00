// SPDX-License-Identifier: MIT
/*
 * Process accounting (acct(2)) of processes that end inside dune: each
 * record names the program and its exit status, as natively.  The last
 * thread of a process to exit gives its record both, and from Linux 6.13
 * KVM's worker (kvm-nx-lpage-recovery) belongs to the thread group of a
 * process owning a VM: it must not be that thread.  Needs CAP_SYS_PACCT.
 */
#include <linux/acct.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "check.h"

#define KIDS		3
#define KID_NAME	"dune-acct-kid"

union record {
	struct acct v2;
	struct acct_v3 v3;
};

/* A record's command name and exit code, in whichever format the kernel writes. */
static void decode(const union record *rec, const char **comm, unsigned int *exitcode)
{
	if ((rec->v3.ac_version & 0x0f) == 3) {
		*comm = rec->v3.ac_comm;
		*exitcode = rec->v3.ac_exitcode;
	} else {
		*comm = rec->v2.ac_comm;
		*exitcode = rec->v2.ac_exitcode;
	}
}

int main(void)
{
	char path[] = "/tmp/dune-acct.XXXXXX";
	union record rec;
	int fd = mkstemp(path), status, named = 0, others = 0;
	ssize_t n;

	_Static_assert(sizeof(struct acct) == sizeof(struct acct_v3), "one record size");
	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (syscall(SYS_acct, path)) {
		unlink(path);
		if (errno == EPERM || errno == ENOSYS)
			skip("no process accounting here (acct: EPERM or ENOSYS)");
		CHECK(0, "acct(%s): %s", path, strerror(errno));
		return finish();
	}
	for (int i = 0; i < KIDS; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_NAME, KID_NAME);
			enter_dune();
			exit(3);
		}
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 3, "child %d: %s", i, status_str(status));
	}
	syscall(SYS_acct, NULL);
	while ((n = read(fd, &rec, sizeof(rec))) == sizeof(rec)) {
		const char *comm;
		unsigned int exitcode;

		decode(&rec, &comm, &exitcode);
		if (!strcmp(comm, KID_NAME))
			named += exitcode == 3 << 8;
		else if (!strncmp(comm, "kvm-", 4))
			others++;
	}
	close(fd);
	unlink(path);
	CHECK(named == KIDS, "%d of %d records name " KID_NAME " with exit status 3 (%d name "
	      "a kvm- thread, maybe of other processes)", named, KIDS, others);
	return finish();
}
