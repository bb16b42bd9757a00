/* SPDX-License-Identifier: MIT */
/*
 * File system calls from inside dune: create, write, read, stat, rename,
 * readdir, unlink, ... in a fresh directory under /tmp.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "check.h"

#define BIG_SIZE (300 * 1024 + 17)	/* several pages, not page aligned */

static char dir[] = "/tmp/dune-files.XXXXXX";

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static unsigned char pattern_byte(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 9));
}

/* Write a big file in odd-sized chunks and read it back in other chunks. */
static void check_big_file(void)
{
	static unsigned char buf[BIG_SIZE];
	char path[256];
	struct stat st;
	size_t off, i;
	ssize_t n;
	int fd;

	path_of(path, sizeof(path), "big");
	fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	if (fd < 0)
		return;
	for (i = 0; i < BIG_SIZE; i++)
		buf[i] = pattern_byte(i);
	for (off = 0; off < BIG_SIZE; off += n) {
		size_t chunk = BIG_SIZE - off < 10007 ? BIG_SIZE - off : 10007;

		n = write(fd, buf + off, chunk);
		CHECK(n == (ssize_t)chunk, "write at %zu: %zd (%s)", off, n,
		      strerror(errno));
		if (n <= 0)
			break;
	}
	CHECK(fstat(fd, &st) == 0 && st.st_size == BIG_SIZE,
	      "fstat size %lld, expected %d", (long long)st.st_size, BIG_SIZE);
	CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600,
	      "mode 0%o", st.st_mode);

	memset(buf, 0, sizeof(buf));
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek: %s", strerror(errno));
	for (off = 0; off < BIG_SIZE; off += n) {
		n = read(fd, buf + off, 4093);
		if (n <= 0)
			break;
	}
	CHECK(off == BIG_SIZE, "read back %zu bytes, expected %d", off, BIG_SIZE);
	CHECK(read(fd, buf, 1) == 0, "no EOF at end of file");
	for (i = 0; i < BIG_SIZE; i++)
		if (buf[i] != pattern_byte(i))
			break;
	CHECK(i == BIG_SIZE, "content differs at byte %zu", i);

	/* pwrite/pread do not move the offset */
	CHECK(pwrite(fd, "XYZ", 3, 5000) == 3, "pwrite: %s", strerror(errno));
	CHECK(pread(fd, buf, 5, 4999) == 5 && buf[0] == pattern_byte(4999) &&
	      memcmp(buf + 1, "XYZ", 3) == 0 && buf[4] == pattern_byte(5003),
	      "pread did not see pwrite");
	CHECK(lseek(fd, 0, SEEK_CUR) == BIG_SIZE, "offset moved");

	CHECK(ftruncate(fd, 1000) == 0, "ftruncate: %s", strerror(errno));
	CHECK(fstat(fd, &st) == 0 && st.st_size == 1000,
	      "size after ftruncate %lld", (long long)st.st_size);
	CHECK(fsync(fd) == 0, "fsync: %s", strerror(errno));
	CHECK(close(fd) == 0, "close: %s", strerror(errno));
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	if (fd < 0)
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "write %s: %s", path, strerror(errno));
	close(fd);
}

/* stat of name gives size, or -1 with errno */
static long long size_of(const char *name)
{
	char path[256];
	struct stat st;

	path_of(path, sizeof(path), name);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

/* The names in dir, sorted and joined by spaces ("." and ".." omitted). */
static void list_dir(char *out, size_t size)
{
	struct dirent **names;
	int n, i;

	out[0] = '\0';
	n = scandir(dir, &names, NULL, alphasort);
	CHECK(n >= 0, "scandir %s: %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", size - strlen(out) - 1);
			strncat(out, names[i]->d_name, size - strlen(out) - 1);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static void check_names(void)
{
	char path[256], path2[256], list[512], link[256];
	ssize_t n;
	FILE *f;

	write_file("a", "hello");
	write_file("b", "hello, world");
	CHECK(size_of("a") == 5, "size of a: %lld", size_of("a"));
	CHECK(size_of("b") == 12, "size of b: %lld", size_of("b"));

	path_of(path, sizeof(path), "a");
	path_of(path2, sizeof(path2), "c");
	CHECK(rename(path, path2) == 0, "rename: %s", strerror(errno));
	errno = 0;
	CHECK(size_of("a") == -1 && errno == ENOENT,
	      "a still there after rename (errno %d)", errno);
	CHECK(size_of("c") == 5, "size of c: %lld", size_of("c"));

	path_of(path, sizeof(path), "sub");
	CHECK(mkdir(path, 0700) == 0, "mkdir: %s", strerror(errno));
	path_of(path, sizeof(path), "d");
	CHECK(symlink("c", path) == 0, "symlink: %s", strerror(errno));
	n = readlink(path, link, sizeof(link));
	CHECK(n == 1 && link[0] == 'c', "readlink gave %zd", n);

	list_dir(list, sizeof(list));
	CHECK(strcmp(list, "b big c d sub") == 0, "directory holds \"%s\"", list);

	/* stdio on top of the same calls; reading through the symlink */
	f = fopen(path, "r");
	CHECK(f != NULL, "fopen %s: %s", path, strerror(errno));
	if (f) {
		CHECK(fgets(link, sizeof(link), f) && strcmp(link, "hello") == 0,
		      "read \"%s\" through symlink", link);
		fclose(f);
	}
}

static void remove_all(void)
{
	static const char *const names[] = { "b", "big", "c", "d" };
	char path[256], list[512];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(path, sizeof(path), names[i]);
		CHECK(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
	}
	path_of(path, sizeof(path), "sub");
	CHECK(rmdir(path) == 0, "rmdir %s: %s", path, strerror(errno));
	errno = 0;
	CHECK(unlink(path) == -1 && errno == ENOENT, "unlink twice: errno %d",
	      errno);
	list_dir(list, sizeof(list));
	CHECK(list[0] == '\0', "left over: %s", list);
	CHECK(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
}

int main(void)
{
	enter_dune();
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return finish();
	}
	check_big_file();
	check_names();
	remove_all();
	return finish();
}
