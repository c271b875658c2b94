// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blocklist files (user/lib/importlist.h): plain lists, Spamhaus DROP and
 * its JSON lines, from any source an operator downloads.
 *
 * Input: byte 0 = GEOFW_IMPORT_* flags (low 2 bits), the rest = the file.
 * geofw_importlist_parse_buf() must return a sorted, duplicate-free vector of
 * canonical prefixes, and the streaming reader geofwd uses for `fwctl import`
 * (geofw_importlist_read() on a file) must agree with it exactly: same
 * result, same message.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "importlist.h"

static void check_list(const struct geofw_importlist *l, unsigned int flags)
{
	size_t i;

	FUZZ_CHECK(l->n <= l->cap, "n %zu > cap %zu", l->n, l->cap);
	for (i = 0; i < l->n; i++) {
		const struct geofw_cidr *c = &l->v[i];

		FUZZ_CHECK((c->family == 4 && c->prefixlen <= 32) ||
			   (c->family == 6 && c->prefixlen <= 128),
			   "entry %zu: family %u, /%u", i, c->family, c->prefixlen);
		FUZZ_CHECK(!geofw_cidr_has_host_bits(c), "entry %zu has host bits", i);
		FUZZ_CHECK(c->prefixlen || (flags & GEOFW_IMPORT_FORCE),
			   "entry %zu is a /0 without GEOFW_IMPORT_FORCE", i);
		if (i)
			FUZZ_CHECK(geofw_cidr_cmp(&l->v[i - 1], c) < 0,
				   "entries %zu and %zu out of order or repeated", i - 1, i);
	}
}

/* The same bytes through the file reader. */
static void check_reader(const char *buf, size_t len, unsigned int flags, int r,
			 const struct geofw_importlist *l, const char *err)
{
	char path[64], err2[GEOFW_ERRLEN];
	struct geofw_importlist l2;
	size_t off = 0;
	int fd, r2;

	fd = memfd_create("fuzz-import", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create failed");
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		FUZZ_CHECK(n > 0, "write to memfd failed");
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(err2, 0, sizeof(err2));
	r2 = geofw_importlist_read(path, flags, &l2, err2, sizeof(err2));
	close(fd);

	FUZZ_CHECK(r2 == r, "parse_buf returned %d (%s), read %d (%s)", r, err, r2, err2);
	if (r) {
		/* Messages name the file: compare what follows it. */
		const char *m1 = strchr(err, ':'), *m2 = strchr(err2, ':');

		FUZZ_CHECK(m1 && m2 && !strcmp(m1, m2), "messages differ: \"%s\" / \"%s\"", err,
			   err2);
		FUZZ_CHECK(!l2.v && !l2.n, "a failed read left entries");
		return;
	}
	FUZZ_CHECK(l2.n == l->n && l2.duplicates == l->duplicates && l2.lines == l->lines,
		   "parse_buf: %zu entries, %zu duplicates, %zu lines; read: %zu, %zu, %zu",
		   l->n, l->duplicates, l->lines, l2.n, l2.duplicates, l2.lines);
	FUZZ_CHECK(!l->n || !memcmp(l->v, l2.v, l->n * sizeof(*l->v)), "entries differ");
	geofw_importlist_free(&l2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN], *buf;
	unsigned int flags;
	int r;

	if (!size)
		return 0;
	flags = data[0] & (GEOFW_IMPORT_FORCE | GEOFW_IMPORT_MASK_HOST_BITS);
	buf = fuzz_memdup(data + 1, size - 1);
	memset(err, 0, sizeof(err));
	r = geofw_importlist_parse_buf(buf, size - 1, NULL, flags, &l, err, sizeof(err));
	FUZZ_SAY("importlist (flags %u): %s (%zu entries)\n", flags, r ? err : "accepted", l.n);
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "importlist_parse_buf returned %d: %s", r, err);
		fuzz_check_msg("importlist_parse_buf", err, sizeof(err));
		FUZZ_CHECK(!strncmp(err, "<input>:", 8), "message \"%s\"", err);
		FUZZ_CHECK(!l.v && !l.n, "a failed parse left entries");
	} else {
		check_list(&l, flags);
	}
	check_reader(buf, size - 1, flags, r, &l, err);
	geofw_importlist_free(&l);
	free(buf);
	return 0;
}
