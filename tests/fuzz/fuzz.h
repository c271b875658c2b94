/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the libFuzzer targets.  A broken invariant prints what
 * broke and abort()s, which libFuzzer reports as a crash with the input saved.
 */
#ifndef GEOFW_FUZZ_H
#define GEOFW_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...) do {						\
	if (!(cond)) {								\
		fprintf(stderr, "%s:%d: invariant broken: %s\n  ",		\
			__FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);					\
		fprintf(stderr, "\n");						\
		abort();							\
	}									\
} while (0)

/*
 * GEOFW_FUZZ_VERBOSE=1 makes the targets say what they made of each input
 * ("accepted", or the parser's message), to check seeds:
 *	GEOFW_FUZZ_VERBOSE=1 build/fuzz/fuzz_config FILE...
 */
static inline bool fuzz_verbose(void)
{
	static int verbose = -1;

	if (verbose < 0) {
		const char *v = getenv("GEOFW_FUZZ_VERBOSE");

		verbose = v && *v && strcmp(v, "0");
	}
	return verbose;
}

#define FUZZ_SAY(...) do {							\
	if (fuzz_verbose())							\
		fprintf(stderr, __VA_ARGS__);					\
} while (0)

/* An exact-size heap copy with a NUL after it, so ASan sees any read past
 * the end of what the parser was given. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Exactly size bytes (at least one, malloc(0) may be NULL), no terminator. */
static inline void *fuzz_memdup(const uint8_t *data, size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		abort();
	if (size)
		memcpy(p, data, size);
	return p;
}

/*
 * Parser messages end up on terminals and in the journal: they must be
 * NUL-terminated within their buffer and free of control characters (C0,
 * DEL), however binary the input was.
 */
static inline void fuzz_check_msg(const char *what, const char *msg, size_t cap)
{
	size_t i, len = strnlen(msg, cap);

	FUZZ_CHECK(len < cap, "%s: message not NUL-terminated within %zu bytes", what, cap);
	for (i = 0; i < len; i++) {
		unsigned char ch = msg[i];

		FUZZ_CHECK(ch >= 0x20 && ch != 0x7f,
			   "%s: control character 0x%02x at byte %zu of message \"%s\"",
			   what, ch, i, msg);
	}
}

#endif
