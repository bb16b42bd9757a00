/* SPDX-License-Identifier: MIT */
/*
 * Assorted system calls inside dune give what they give natively: ids,
 * uname, cwd, argv and environment, /proc/self, getrandom, sockets with
 * descriptor passing, ioctl, readv/writev, select, eventfd, prctl; calls
 * only a single-threaded process may make (unshare(CLONE_NEWUSER), setns).
 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include "check.h"

extern char **environ;

/* What the process looks like natively, before entering. */
struct snapshot {
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	struct utsname uts;
	char cwd[PATH_MAX];
	char exe[PATH_MAX];
	char **environ;
	char *path_env;
};

static void take_snapshot(struct snapshot *s)
{
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->pid = getpid();
	s->ppid = getppid();
	s->uid = getuid();
	s->gid = getgid();
	uname(&s->uts);
	if (!getcwd(s->cwd, sizeof(s->cwd)))
		s->cwd[0] = '\0';
	n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	s->exe[n > 0 ? n : 0] = '\0';
	s->environ = environ;
	s->path_env = getenv("PATH");
	if (s->path_env)
		s->path_env = strdup(s->path_env);
}

static void check_same_as_native(const struct snapshot *native, int argc,
				 char **argv, const char *argv0)
{
	struct snapshot now;
	const char *path;

	take_snapshot(&now);
	CHECK(now.pid == native->pid && now.ppid == native->ppid,
	      "pid %d/%d inside, %d/%d native", now.pid, now.ppid, native->pid,
	      native->ppid);
	CHECK(now.uid == native->uid && now.gid == native->gid,
	      "uid/gid differ inside");
	CHECK(!memcmp(&now.uts, &native->uts, sizeof(now.uts)),
	      "uname inside: %s %s", now.uts.sysname, now.uts.release);
	CHECK(now.cwd[0] && !strcmp(now.cwd, native->cwd),
	      "cwd \"%s\" inside, \"%s\" native", now.cwd, native->cwd);
	CHECK(now.exe[0] && !strcmp(now.exe, native->exe),
	      "/proc/self/exe \"%s\" inside, \"%s\" native", now.exe,
	      native->exe);
	CHECK(now.environ == native->environ, "environ moved");
	path = getenv("PATH");
	CHECK(!native->path_env || (path && !strcmp(path, native->path_env)),
	      "PATH changed");
	CHECK(argc == 1 && !strcmp(argv[0], argv0), "argv changed: %d, %s",
	      argc, argv[0]);
	CHECK(getenv("DUNE_MISC_VAR") && !strcmp(getenv("DUNE_MISC_VAR"), "x=y"),
	      "environment variable set natively lost");
	free(now.path_env);
}

static void check_cwd(const char *home)
{
	char buf[PATH_MAX] = "", tmp[PATH_MAX] = "";
	int fd = open(".", O_RDONLY | O_DIRECTORY);

	CHECK(realpath("/tmp", tmp) != NULL, "realpath: %s", strerror(errno));
	CHECK(chdir("/tmp") == 0, "chdir: %s", strerror(errno));
	CHECK(getcwd(buf, sizeof(buf)) && !strcmp(buf, tmp),
	      "getcwd after chdir(/tmp): \"%s\"", buf);
	CHECK(fd >= 0 && fchdir(fd) == 0, "fchdir back: %s", strerror(errno));
	CHECK(getcwd(buf, sizeof(buf)) && !strcmp(buf, home),
	      "getcwd after fchdir: \"%s\"", buf);
	close(fd);
}

/* /proc/self/maps covers our code, heap and stack. */
static void check_proc_maps(void)
{
	static char maps[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY), local = 0;
	void *heap = malloc(16);
	uintptr_t want[3] = { (uintptr_t)check_proc_maps, (uintptr_t)heap,
			      (uintptr_t)&local };
	unsigned found = 0, i;
	size_t len = 0;
	ssize_t n;
	char *line, *save;

	CHECK(fd >= 0, "open /proc/self/maps: %s", strerror(errno));
	if (fd < 0)
		return;
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += n;
	maps[len] = '\0';
	close(fd);
	CHECK(strstr(maps, "[stack]") != NULL, "no [stack] in /proc/self/maps");
	for (line = strtok_r(maps, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		for (i = 0; i < 3; i++)
			if (want[i] >= lo && want[i] < hi)
				found |= 1u << i;
	}
	CHECK(found == 7, "code/heap/stack found in /proc/self/maps: %#x", found);
	free(heap);
}

static void check_getrandom(void)
{
	unsigned char a[64], b[64];
	unsigned i, nonzero = 0;

	CHECK(getrandom(a, sizeof(a), 0) == sizeof(a), "getrandom: %s",
	      strerror(errno));
	CHECK(getrandom(b, sizeof(b), 0) == sizeof(b), "getrandom: %s",
	      strerror(errno));
	for (i = 0; i < sizeof(a); i++)
		nonzero += a[i] != 0;
	CHECK(nonzero > 0 && memcmp(a, b, sizeof(a)), "getrandom not random");
}

/* Send a descriptor over a socket pair: it arrives as a new number. */
static void check_sockets(void)
{
	char data[8] = "", cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { data, 5 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct stat st1, st2;
	int sv[2], ds[2], fd = -1, lowest;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s",
	      strerror(errno));
	CHECK(send(sv[0], "hello", 5, 0) == 5, "send: %s", strerror(errno));
	CHECK(recv(sv[1], data, sizeof(data), 0) == 5 && !memcmp(data, "hello", 5),
	      "recv got \"%.5s\"", data);

	/* datagrams keep their boundaries */
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, ds) == 0, "socketpair: %s",
	      strerror(errno));
	CHECK(send(ds[0], "ab", 2, 0) == 2 && send(ds[0], "cde", 3, 0) == 3,
	      "send dgram: %s", strerror(errno));
	CHECK(recv(ds[1], data, sizeof(data), 0) == 2 &&
	      recv(ds[1], data, sizeof(data), 0) == 3 && !memcmp(data, "cde", 3),
	      "datagram boundaries lost");
	close(ds[0]);
	close(ds[1]);

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[0], sizeof(int));
	memcpy(data, "fdmsg", 5);
	CHECK(sendmsg(sv[0], &msg, 0) == 5, "sendmsg: %s", strerror(errno));
	memset(data, 0, sizeof(data));
	memset(cbuf, 0, sizeof(cbuf));
	lowest = dup(0);
	close(lowest);
	CHECK(recvmsg(sv[1], &msg, 0) == 5 && !memcmp(data, "fdmsg", 5),
	      "recvmsg: %s", strerror(errno));
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	CHECK(fd == lowest, "received descriptor %d, expected %d", fd, lowest);
	CHECK(fstat(fd, &st1) == 0 && fstat(sv[0], &st2) == 0 &&
	      st1.st_ino == st2.st_ino, "received descriptor is another file");
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* Calls whose arguments point to guest memory in several places. */
static void check_pointer_args(void)
{
	struct iovec out[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	char x[3] = "", y[3] = "";
	struct iovec in[2] = { { x, 3 }, { y, 3 } };
	struct timeval tv = { 0, 10000 };
	uint64_t count = 0;
	fd_set rfds;
	int p[2], avail = -1, efd;

	CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
	FD_ZERO(&rfds);
	FD_SET(p[0], &rfds);
	CHECK(select(p[0] + 1, &rfds, NULL, NULL, &tv) == 0 &&
	      !FD_ISSET(p[0], &rfds), "select on empty pipe did not time out");
	CHECK(writev(p[1], out, 3) == 6, "writev: %s", strerror(errno));
	CHECK(ioctl(p[0], FIONREAD, &avail) == 0 && avail == 6,
	      "FIONREAD gave %d", avail);
	CHECK(readv(p[0], in, 2) == 6 && !memcmp(x, "abc", 3) &&
	      !memcmp(y, "def", 3), "readv got \"%.3s\" \"%.3s\"", x, y);
	close(p[0]);
	close(p[1]);

	efd = eventfd(0, 0);
	CHECK(efd >= 0, "eventfd: %s", strerror(errno));
	count = 5;
	CHECK(write(efd, &count, 8) == 8 && write(efd, &count, 8) == 8,
	      "eventfd write: %s", strerror(errno));
	CHECK(read(efd, &count, 8) == 8 && count == 10, "eventfd read %llu",
	      (unsigned long long)count);
	close(efd);
}

static void check_process_calls(void)
{
	char name[16] = "";
	cpu_set_t cpus;

	CHECK(prctl(PR_SET_NAME, "dune-misc") == 0 &&
	      prctl(PR_GET_NAME, name) == 0 && !strcmp(name, "dune-misc"),
	      "PR_GET_NAME gave \"%s\"", name);
	CHECK(sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
	      CPU_COUNT(&cpus) > 0, "sched_getaffinity: %s", strerror(errno));
	CHECK(sched_yield() == 0, "sched_yield: %s", strerror(errno));
}

/*
 * A core dump holds the program's memory, not dune's: inside, no mapping
 * of 64 MiB or more (this test has none of its own) is left dumpable.
 */
static void check_core_dump_size(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long size_kb = 0, big_dumpable = 0;
	char line[512];

	CHECK(f != NULL, "open /proc/self/smaps: %s", strerror(errno));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %lu kB", &size_kb) == 1)
			continue;
		if (!strncmp(line, "VmFlags:", 8) && size_kb >= (64UL << 10) &&
		    !strstr(line, " dd"))
			big_dumpable += size_kb;
	}
	fclose(f);
	CHECK(big_dumpable == 0, "%lu KiB in big mappings would go into a core dump",
	      big_dumpable);
}

static void *idle(void *arg)
{
	*(pid_t *)arg = gettid();
	return NULL;
}

/* A joined thread lingers a moment, and the kernel still counts it. */
static void wait_thread_gone(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	for (int i = 0; i < 10000 && access(path, F_OK) == 0; i++)
		usleep(100);
}

static void *sleeper(void *arg)
{
	pause();
	return arg;
}

/*
 * unshare(CLONE_NEWUSER) and a time namespace (LTP's clone304, sendto03,
 * setsockopt05, clock_gettime03): the kernel wants a single-threaded
 * process, KVM's worker is a thread of ours; with a second program thread,
 * EINVAL as natively.  Exits 42 if so; inside if arg.
 */
static int single_threaded_calls(void *arg)
{
	pthread_t t;
	pid_t tid;
	int fd, ok;

	if (arg)
		enter_dune();
	if (pthread_create(&t, NULL, idle, &tid))
		return 2;
	pthread_join(t, NULL);
	wait_thread_gone(tid);
	ok = unshare(CLONE_NEWUSER) == 0 && unshare(CLONE_NEWTIME) == 0;
	fd = open("/proc/self/ns/time_for_children", O_RDONLY);
	ok = ok && fd >= 0 && setns(fd, CLONE_NEWTIME) == 0;
	ok = ok && dune_is_inside() == !!arg && getppid() > 0;
	if (pthread_create(&t, NULL, sleeper, NULL))
		return 3;
	ok = ok && unshare(CLONE_NEWUSER) == -1 && errno == EINVAL;
	return ok ? 42 : 1;
}

static void check_single_threaded_calls(void)
{
	for (long mode = 0; mode < 2; mode++) {
		int status = run_child(single_threaded_calls, (void *)mode, NULL, 0);

		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		      "unshare/setns of a single-threaded process %s: %s",
		      mode ? "inside" : "natively", status_str(status));
	}
}

int main(int argc, char **argv)
{
	struct snapshot native;
	char *argv0 = strdup(argv[0]);

	setenv("DUNE_MISC_VAR", "x=y", 1);
	take_snapshot(&native);
	check_single_threaded_calls();
	enter_dune();
	check_same_as_native(&native, argc, argv, argv0);
	check_cwd(native.cwd);
	check_proc_maps();
	check_core_dump_size();
	check_getrandom();
	check_sockets();
	check_pointer_args();
	check_process_calls();
	free(argv0);
	free(native.path_env);
	return finish();
}
