// SPDX-License-Identifier: GPL-2.0-only
/*
 * Blocklist files (user/lib/importlist.h): plain lists, Spamhaus DROP and
 * its JSON lines, from any source an operator downloads.
 *
 * Input: byte 0 = GEOFW_IMPORT_* flags (low 2 bits), the rest = the file.
 * geofw_importlist_parse_buf() must return a sorted, duplicate-free vector of
 * canonical prefixes, and the streaming reader geofwd uses for `fwctl import`
 * (geofw_importlist_read() on a file) must agree with it exactly: same
 * result, same message.  The same bytes as a threat feed
 * (geofw_importlist_parse_opts(), per entry; bits 2-7 of byte 0 pick the
 * format and CSV column): never a failure, only canonical entries no wider
 * than the minimum, and the first refusal named when there was one.
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

static void check_feed(const char *buf, size_t len, unsigned int sel)
{
	struct geofw_importlist_opts o = {
		.format = GEOFW_FORMAT_PLAIN + (int)(sel % 4),
		.column = 1 + (sel / 4) % 4,
		.min_prefix4 = 8,
		.min_prefix6 = 16,
		.per_entry = true,
	};
	char err[GEOFW_ERRLEN] = "";
	struct geofw_importlist l;
	size_t i;
	int r;

	r = geofw_importlist_parse_opts(buf, len, "feed", &o, &l, err, sizeof(err));
	FUZZ_CHECK(!r, "feed (format %d): %d: %s", o.format, r, err);
	check_list(&l, 0);
	for (i = 0; i < l.n; i++)
		FUZZ_CHECK(l.v[i].prefixlen >= (l.v[i].family == 4 ? 8 : 16),
			   "entry %zu: /%u is wider than the minimum", i, l.v[i].prefixlen);
	FUZZ_CHECK(!(l.refused || l.too_wide) == !l.first_refused[0],
		   "%zu refused, %zu too wide, first \"%s\"", l.refused, l.too_wide,
		   l.first_refused);
	FUZZ_CHECK(!strncmp(l.first_refused, "feed:", 5) || !l.first_refused[0],
		   "first refused \"%s\"", l.first_refused);
	geofw_importlist_free(&l);
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
	check_feed(buf, size - 1, data[0] >> 2);
	free(buf);
	return 0;
}
