/* SPDX-License-Identifier: MIT */
/*
 * A bigger libc workload inside dune: 100k lines through a stdio file,
 * qsort of a million ints, and float formatting and parsing.
 */
#include <float.h>
#include <stdint.h>

#include "check.h"

#define LINES 100000
#define INTS 1000000


static void check_lines(void)
{
	char path[] = "/tmp/dune-stdio.XXXXXX", line[128], expect[128];
	int fd = mkstemp(path), i;
	FILE *f;

	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	f = fdopen(fd, "w+");
	CHECK(f != NULL, "fdopen: %s", strerror(errno));
	if (!f)
		return;
	for (i = 0; i < LINES; i++)
		fprintf(f, "line %06d: %x %s\n", i, i * 2654435761U,
			i % 3 ? "fizz" : "buzz");
	CHECK(fflush(f) == 0, "fflush: %s", strerror(errno));
	CHECK(ftell(f) > LINES * 20, "file only %ld bytes", ftell(f));
	rewind(f);
	for (i = 0; fgets(line, sizeof(line), f); i++) {
		snprintf(expect, sizeof(expect), "line %06d: %x %s\n", i,
			 i * 2654435761U, i % 3 ? "fizz" : "buzz");
		if (strcmp(line, expect)) {
			CHECK(0, "line %d reads \"%s\"", i, line);
			break;
		}
	}
	CHECK(i == LINES, "read %d lines, wrote %d", i, LINES);
	CHECK(!ferror(f), "read error");
	fclose(f);
	unlink(path);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static void check_qsort(void)
{
	int *v = malloc(INTS * sizeof(*v)), i;
	uint64_t sum = 0, xor = 0, sum2 = 0, xor2 = 0;

	CHECK(v != NULL, "malloc failed");
	if (!v)
		return;
	for (i = 0; i < INTS; i++) {
		v[i] = (int)rng();
		sum += (unsigned)v[i];
		xor ^= (unsigned)v[i] * 0x9e3779b1U;
	}
	qsort(v, INTS, sizeof(*v), cmp_int);
	for (i = 0; i < INTS; i++) {
		sum2 += (unsigned)v[i];
		xor2 ^= (unsigned)v[i] * 0x9e3779b1U;
		if (i && v[i - 1] > v[i]) {
			CHECK(0, "not sorted at %d: %d > %d", i, v[i - 1], v[i]);
			break;
		}
	}
	CHECK(sum == sum2 && xor == xor2, "qsort lost or changed elements");
	free(v);
}

static void check_format(const char *fmt, double x, const char *expect)
{
	char buf[128];

	snprintf(buf, sizeof(buf), fmt, x);
	CHECK(!strcmp(buf, expect), "\"%s\" of %a gave \"%s\", expected \"%s\"",
	      fmt, x, buf, expect);
}

static void check_floats(void)
{
	char buf[64];
	int i, bad = 0;

	check_format("%.6f", 3.14159265358979, "3.141593");
	check_format("%g", 1e-300, "1e-300");
	check_format("%.3e", -6.02214076e23, "-6.022e+23");
	check_format("%a", 1.0, "0x1p+0");
	check_format("%.17g", 0.1, "0.10000000000000001");
	check_format("%.0f", 2.5, "2");		/* round half to even */
	check_format("%g", DBL_MAX, "1.79769e+308");
	check_format("%.1f", 1e15 + 0.5, "1000000000000000.5");
	snprintf(buf, sizeof(buf), "%Lf", 1.0L / 3);
	CHECK(!strcmp(buf, "0.333333"), "%%Lf of 1/3 gave %s", buf);

	/* %.17g then strtod gives back the same double */
	for (i = 0; i < 100000 && !bad; i++) {
		uint64_t bits = rng();
		double x, y;

		memcpy(&x, &bits, sizeof(x));
		if (x != x || x - x != 0)	/* NaN or infinity */
			continue;
		snprintf(buf, sizeof(buf), "%.17g", x);
		y = strtod(buf, NULL);
		bad = memcmp(&x, &y, sizeof(x)) != 0;
	}
	CHECK(!bad, "%s did not read back exactly", buf);
}

int main(void)
{
	rng_state = 0xdeadbeefcafef00dULL;

	enter_dune();
	check_lines();
	check_qsort();
	check_floats();
	return finish();
}
