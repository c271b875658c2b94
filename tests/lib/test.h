/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal test harness in the style of the kernel's BPF selftests.
 *
 * A test is any function `void test_<name>(void)` in a file under tests/unit
 * or tests/prog; the build finds them, no registration.  A test may split
 * itself into subtests (one per table row); each subtest is reported and
 * counted on its own.  Output is one line per result:
 *
 *	ok <suite>/<test>[/<subtest>]
 *	not ok <suite>/<test>[/<subtest>]
 *	ok <suite>/<test> # SKIP <reason>
 *
 * tests/run.sh adds the lines of every suite into the final summary.
 */
#ifndef GEOFW_TEST_H
#define GEOFW_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void test__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool test__start_subtest(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test__end_subtest(void);
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test__failing(void);

/* A subtest runs the block that follows and reports it:
 *	SUBTEST("%s", row->name) { ... }  */
#define SUBTEST(...) \
	for (bool _once = test__start_subtest(__VA_ARGS__); _once; \
	     _once = false, test__end_subtest())

#define ASSERT_TRUE(cond, name) ({						\
	bool ___ok = (cond);							\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: %s is false", (name), #cond); \
	___ok;									\
})

#define ASSERT_EQ(actual, expected, name) ({					\
	long long ___a = (long long)(actual), ___e = (long long)(expected);	\
	bool ___ok = ___a == ___e;						\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: got %lld, expected %lld",	\
			   (name), ___a, ___e);					\
	___ok;									\
})

#define ASSERT_NEQ(actual, unexpected, name) ({					\
	long long ___a = (long long)(actual), ___e = (long long)(unexpected);	\
	bool ___ok = ___a != ___e;						\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: got %lld, must differ",	\
			   (name), ___a);					\
	___ok;									\
})

#define ASSERT_OK(err, name) ({							\
	long long ___e = (long long)(err);					\
	bool ___ok = ___e == 0;							\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: failed with %lld (%s)",	\
			   (name), ___e, strerror(___e < 0 ? (int)-___e : (int)___e)); \
	___ok;									\
})

#define ASSERT_ERR(err, name) ({						\
	long long ___e = (long long)(err);					\
	bool ___ok = ___e != 0;							\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: succeeded, expected an error", (name)); \
	___ok;									\
})

#define ASSERT_STREQ(actual, expected, name) ({					\
	const char *___a = (actual), *___e = (expected);			\
	bool ___ok = ___a && ___e && strcmp(___a, ___e) == 0;			\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: got \"%s\", expected \"%s\"", \
			   (name), ___a ? ___a : "(null)", ___e ? ___e : "(null)"); \
	___ok;									\
})

#define ASSERT_MEMEQ(actual, expected, len, name) ({				\
	bool ___ok = memcmp((actual), (expected), (len)) == 0;			\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "%s: %zu bytes differ", (name), (size_t)(len)); \
	___ok;									\
})

#endif
