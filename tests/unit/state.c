// SPDX-License-Identifier: GPL-2.0-only
/* Persistent rule state (user/lib/state.c): rules, undo, file format, saves. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "state.h"
#include "test.h"

#define HDR	GEOFW_STATE_HEADER "\n"

static char tmpdir[64];

static bool make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/geofw-state-XXXXXX");
	return ASSERT_TRUE(mkdtemp(tmpdir) != NULL, "mkdtemp");
}

/* rm -r of the temp dir, which holds files and at most one level of dirs. */
static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ASSERT_OK(system(cmd), "rm -rf tmpdir");
	tmpdir[0] = '\0';
}

static struct geofw_cidr P(const char *text)
{
	struct geofw_cidr c;
	char err[GEOFW_ERRLEN];

	memset(&c, 0, sizeof(c));
	if (geofw_cidr_parse(text, GEOFW_CIDR_ALLOW_ZERO, &c, err, sizeof(err)))
		test__fail(__FILE__, __LINE__, "bad test prefix %s: %s", text, err);
	return c;
}

static struct geofw_state_block B(const char *prefix, int action, __u64 expires,
				  const char *source, const char *comment)
{
	struct geofw_state_block b = {
		.prefix = P(prefix),
		.action = action,
		.expires = expires,
		.source = source,
		.comment = comment,
	};
	return b;
}

/* The file text of st (caller frees), "" on failure. */
static char *text_of(const struct geofw_state *st)
{
	size_t len;
	char *buf;

	if (!ASSERT_OK(geofw_state_format(st, &buf, &len), "format"))
		return strdup("");
	buf = realloc(buf, len + 1);
	buf[len] = '\0';
	return buf;
}

static struct geofw_state *parse(const char *text, char *err, size_t errlen)
{
	struct geofw_state *st = NULL;

	geofw_state_parse_buf(text, strlen(text), "t", &st, err, errlen);
	return st;
}

static bool read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return false;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return false;
	buf[r] = '\0';
	return true;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!ASSERT_TRUE(f != NULL, path))
		return false;
	ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	return ASSERT_TRUE(ok, "write");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every listed entry is found by its prefix, with the same fields. */
static int check_findable(const struct geofw_state_block *r, void *ctx)
{
	struct geofw_state_block f;
	const struct geofw_state *st = ctx;

	if (geofw_state_find_block(st, &r->prefix, &f) || f.rule_id != r->rule_id ||
	    f.expires != r->expires || strcmp(f.comment, r->comment))
		return -1;
	return 0;
}

/* ---- round trip --------------------------------------------------------------- */

static const char full_text[] =
	HDR
	"next-rule-id 9\n"
	"country-policy allow reject\n"
	"country DE drop\n"
	"country RU log\n"
	"allow 192.0.2.0/24 id=1 comment=\"office VPN \\\"west\\\"\"\n"
	"allow 2001:db8:1::/48 id=2\n"
	"block 203.0.113.0/24 drop id=3 expires=1718275653 source=\"cli\" comment=\"ssh scanner\"\n"
	"block 198.51.100.7/32 reject id=4 source=\"import:my list.txt\" comment=\"back\\\\slash\"\n"
	"block 2001:db8::/32 http403 id=5 source=\"cli\" comment=\"Zürich – 東京 🔥\"\n"
	"block 2001:db8:ffff::1/128 log id=0 expires=18446744073 source=\"\"\n"
	"block 0.0.0.0/0 drop id=8 source=\"cli\"\n"
	"list id=4 source=\"import:my list.txt\"\n";

void test_state_roundtrip(void)
{
	struct geofw_state *st, *st2 = NULL;
	const struct geofw_state_countries *c;
	struct geofw_state_block b;
	struct geofw_state_allow a;
	struct geofw_state_counts n;
	char err[GEOFW_ERRLEN] = "", path[128], disk[4096];
	char *text;

	st = parse(full_text, err, sizeof(err));
	if (!ASSERT_TRUE(st != NULL, err))
		return;

	SUBTEST("text") {
		text = text_of(st);
		ASSERT_STREQ(text, full_text, "format(parse(x)) == x");
		free(text);
	}

	SUBTEST("fields") {
		b.prefix = P("203.0.113.0/25");
		ASSERT_EQ(geofw_state_find_block(st, &b.prefix, NULL), -ENOENT, "absent prefix");
		if (ASSERT_OK(geofw_state_find_block(st, &(struct geofw_cidr){
				.family = 4, .prefixlen = 24, .addr = { 203, 0, 113 } }, &b), "find")) {
			ASSERT_EQ(b.action, GEOFW_ACT_DROP, "action");
			ASSERT_EQ(b.rule_id, 3, "rule id");
			ASSERT_EQ(b.expires, 1718275653, "expires");
			ASSERT_STREQ(b.comment, "ssh scanner", "comment with a space");
			ASSERT_STREQ(b.source, "cli", "source");
		}
		b.prefix = P("198.51.100.7");
		if (ASSERT_OK(geofw_state_find_block(st, &b.prefix, &b), "find /32")) {
			ASSERT_EQ(b.action, GEOFW_ACT_REJECT, "action");
			ASSERT_STREQ(b.comment, "back\\slash", "backslash");
			ASSERT_STREQ(b.source, "import:my list.txt", "source with a space");
			ASSERT_EQ(b.expires, 0, "never expires");
		}
		b.prefix = P("2001:db8::/32");
		if (ASSERT_OK(geofw_state_find_block(st, &b.prefix, &b), "find v6"))
			ASSERT_STREQ(b.comment, "Zürich – 東京 🔥", "UTF-8");
		a.prefix = P("192.0.2.0/24");
		if (ASSERT_OK(geofw_state_find_allow(st, &a.prefix, &a), "find allow")) {
			ASSERT_STREQ(a.comment, "office VPN \"west\"", "quotes");
			ASSERT_EQ(a.rule_id, 1, "allow id");
		}
		a.prefix = P("2001:db8:1::/48");
		if (ASSERT_OK(geofw_state_find_allow(st, &a.prefix, &a), "find allow v6"))
			ASSERT_STREQ(a.comment, "", "no comment");
		c = geofw_state_countries(st);
		ASSERT_TRUE(c->override, "override");
		ASSERT_EQ(c->mode, GEOFW_MODE_ALLOW_LISTED, "mode");
		ASSERT_EQ(c->action, GEOFW_ACT_REJECT, "country action");
		ASSERT_TRUE(c->listed[geofw_country_id("RU")], "RU listed");
		ASSERT_EQ(c->country_action[geofw_country_id("RU")], GEOFW_ACT_LOG, "RU action");
		ASSERT_TRUE(!c->listed[geofw_country_id("CN")], "CN not listed");
		geofw_state_counts(st, &n);
		ASSERT_EQ(n.block_ip4, 1, "exact v4");
		ASSERT_EQ(n.block_net4, 2, "v4 nets");
		ASSERT_EQ(n.block_ip6, 1, "exact v6");
		ASSERT_EQ(n.block_net6, 1, "v6 nets");
		ASSERT_EQ(n.allow4, 1, "allow v4");
		ASSERT_EQ(n.allow6, 1, "allow v6");
		ASSERT_EQ(n.rule_ids, 6, "ids in use (0 is none)");
		ASSERT_EQ(geofw_state_next_rule_id(st), 9, "next id");
		ASSERT_EQ(geofw_state_next_expiry(st), 1718275653, "earliest expiry");
	}

	SUBTEST("file") if (make_tmpdir()) {
		snprintf(path, sizeof(path), "%s/state", tmpdir);
		ASSERT_OK(geofw_state_save(st, path, err, sizeof(err)), err);
		if (ASSERT_TRUE(read_file(path, disk, sizeof(disk)), "read back"))
			ASSERT_STREQ(disk, full_text, "file content");
		ASSERT_OK(geofw_state_load(path, &st2, err, sizeof(err)), err);
		if (st2) {
			text = text_of(st2);
			ASSERT_STREQ(text, full_text, "load(save(x)) == x");
			free(text);
		}
		strcat(path, ".tmp");
		ASSERT_EQ(access(path, F_OK), -1, "no temp file left");
		remove_tmpdir();
	}

	SUBTEST("api") {
		/* Built through the API, every odd string survives a save. */
		struct geofw_state *s = geofw_state_new(), *back = NULL;
		struct geofw_state_block r[] = {
			B("203.0.113.64/26", GEOFW_ACT_DROP, 5, "cli", "two  spaces and a tab-free \"quote\""),
			B("203.0.113.128/25", GEOFW_ACT_LOG, 0, "import:a\\b", "\\\"\\"),
			B("203.0.113.1", GEOFW_ACT_HTTP403, 0, NULL, NULL),
			B("2001:db8::5", GEOFW_ACT_REJECT, 7, "x", "ÿ ü 😀 \u00a0"),
		};
		struct geofw_state_allow al = { .prefix = P("198.51.100.0/24"), .comment = " lead" };
		char *t1, *t2;

		ASSERT_OK(geofw_state_add_blocks(s, r, 4, 0, err, sizeof(err)), err);
		ASSERT_OK(geofw_state_add_allows(s, &al, 1, err, sizeof(err)), err);
		t1 = text_of(s);
		back = parse(t1, err, sizeof(err));
		if (ASSERT_TRUE(back != NULL, err)) {
			t2 = text_of(back);
			ASSERT_STREQ(t2, t1, "round trip");
			free(t2);
			ASSERT_OK(geofw_state_for_each_block(back, check_findable, back), "all findable");
			b.prefix = r[0].prefix;
			if (ASSERT_OK(geofw_state_find_block(back, &b.prefix, &b), "find"))
				ASSERT_STREQ(b.comment, r[0].comment, "comment");
			b.prefix = r[3].prefix;
			if (ASSERT_OK(geofw_state_find_block(back, &b.prefix, &b), "find"))
				ASSERT_STREQ(b.comment, r[3].comment, "comment");
			b.prefix = r[1].prefix;
			if (ASSERT_OK(geofw_state_find_block(back, &b.prefix, &b), "find")) {
				ASSERT_STREQ(b.comment, r[1].comment, "comment");
				ASSERT_STREQ(b.source, r[1].source, "source");
			}
		}
		free(t1);
		geofw_state_free(back);
		geofw_state_free(s);
	}

	geofw_state_free(st2);
	geofw_state_free(st);
}

/* ---- strict parser ----------------------------------------------------------------- */

#define BLK	"block 203.0.113.0/24 drop id=1 source=\"cli\""

static const struct {
	const char *name;
	const char *text;
	const char *err;	/* expected message, "t:LINE: ..." */
} bad_rows[] = {
	{ "empty", "", "t:1: empty file" },
	{ "no header", BLK "\n", "t:1: not a geofw state file" },
	{ "v2", "# geofw state v2\n", "t:1: unsupported state file version 'v2'" },
	{ "header CRLF", "# geofw state v1\r\n", "t:1: carriage return" },
	{ "cut", HDR BLK, "t:2: no newline at the end of the file" },
	{ "cut header", "# geofw sta", "t:1: no newline" },
	{ "CRLF", HDR BLK "\r\n", "t:2: carriage return" },
	{ "unknown", HDR "blocks 203.0.113.0/24\n", "t:2: unknown line 'blocks 203.0.113.0/24'" },
	{ "leading space", HDR " " BLK "\n", "t:2: unknown line" },
	{ "no prefix", HDR "block\n", "t:2: missing prefix" },
	{ "bad prefix", HDR "block 203.0.113.0/33 drop id=1 source=\"cli\"\n", "t:2: 203.0.113.0/33: prefix length" },
	{ "host bits", HDR "block 203.0.113.1/24 drop id=1 source=\"cli\"\n", "host bits set" },
	{ "long prefix", HDR "block 2001:0db8:2001:0db8:2001:0db8:2001:0db8:2001:0db8:2001:0db8/128 drop\n",
	  "not a prefix" },
	{ "no action", HDR "block 203.0.113.0/24\n", "t:2: missing action" },
	{ "pass", HDR "block 203.0.113.0/24 pass id=1 source=\"cli\"\n", "invalid action 'pass'" },
	{ "bad action", HDR "block 203.0.113.0/24 DROP id=1 source=\"cli\"\n", "invalid action 'DROP'" },
	{ "no id", HDR "block 203.0.113.0/24 drop source=\"cli\"\n", "t:2: missing id=" },
	{ "id range", HDR "block 203.0.113.0/24 drop id=65536 source=\"cli\"\n", "id 65536 out of range" },
	{ "id zero-led", HDR "block 203.0.113.0/24 drop id=01 source=\"cli\"\n", "id must be a decimal number, not '01'" },
	{ "id sign", HDR "block 203.0.113.0/24 drop id=+1 source=\"cli\"\n", "decimal number" },
	{ "id empty", HDR "block 203.0.113.0/24 drop id= source=\"cli\"\n", "decimal number" },
	{ "expires 0", HDR "block 203.0.113.0/24 drop id=1 expires=0 source=\"cli\"\n", "expires=0" },
	{ "expires huge", HDR "block 203.0.113.0/24 drop id=1 expires=99999999999999999999 source=\"cli\"\n", "out of range" },
	{ "expires text", HDR "block 203.0.113.0/24 drop id=1 expires=2h source=\"cli\"\n", "decimal number" },
	{ "no source", HDR "block 203.0.113.0/24 drop id=1\n", "t:2: missing source=" },
	{ "unquoted", HDR "block 203.0.113.0/24 drop id=1 source=cli\n", "source must be a double-quoted string" },
	{ "open quote", HDR "block 203.0.113.0/24 drop id=1 source=\"cli\n", "source: missing closing quote" },
	{ "after quote", HDR "block 203.0.113.0/24 drop id=1 source=\"cli\"x\n", "text after the closing quote" },
	{ "bad escape", HDR BLK " comment=\"a\\nb\"\n", "only \\\" and \\\\ may be escaped" },
	{ "tab", HDR BLK " comment=\"a\tb\"\n", "comment contains a control character" },
	{ "DEL", HDR BLK " comment=\"a\x7f\"\n", "control character" },
	{ "C1", HDR BLK " comment=\"a\xc2\x85\"\n", "control character" },
	{ "NUL", HDR BLK " comment=\"a\0b\"\n", "control character" },
	{ "bad UTF-8", HDR BLK " comment=\"\xc3\x28\"\n", "comment is not valid UTF-8 (byte 1)" },
	{ "overlong", HDR BLK " comment=\"\xc0\xaf\"\n", "not valid UTF-8" },
	{ "overlong 3", HDR BLK " comment=\"\xe0\x80\xaf\"\n", "not valid UTF-8" },
	{ "surrogate", HDR BLK " comment=\"\xed\xa0\x80\"\n", "not valid UTF-8" },
	{ "beyond U+10FFFF", HDR BLK " comment=\"\xf4\x90\x80\x80\"\n", "not valid UTF-8" },
	{ "cut UTF-8", HDR BLK " comment=\"\xe6\x9d\"\n", "not valid UTF-8" },
	{ "long comment", HDR BLK " comment=\""
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "01234567890123456789012345678901234567890123456789012345678901234\"\n",
	  "comment longer than 128 bytes" },
	{ "order", HDR "block 203.0.113.0/24 drop id=1 comment=\"x\" source=\"cli\"\n", "t:2: missing source=" },
	{ "twice", HDR BLK " comment=\"x\" comment=\"y\"\n", "unexpected ' comment=\"y\"'" },
	{ "unknown key", HDR BLK " ttl=5\n", "unexpected ' ttl=5'" },
	{ "trailing space", HDR BLK " \n", "unexpected ' '" },
	{ "double space", HDR "block  203.0.113.0/24 drop id=1 source=\"cli\"\n", "missing prefix" },
	{ "duplicate", HDR BLK "\n" "# same again, other spelling\n"
	  "block ::ffff:203.0.113.0/120 log id=2 source=\"x\"\n", "t:4: duplicate block 203.0.113.0/24" },
	{ "allow action", HDR "allow 192.0.2.0/24 drop id=1\n", "t:2: missing id=" },
	{ "allow source", HDR "allow 192.0.2.0/24 id=1 source=\"cli\"\n", "unexpected ' source=" },
	{ "allow dup", HDR "allow 192.0.2.0/24 id=1\nallow 192.0.2.0/24 id=2\n", "t:3: duplicate allow" },
	{ "next twice", HDR "next-rule-id 3\nnext-rule-id 4\n", "t:3: next-rule-id given twice" },
	{ "next 0", HDR "next-rule-id 0\n", "at least 1" },
	{ "next big", HDR "next-rule-id 65536\n", "out of range" },
	{ "next none", HDR "next-rule-id\n", "missing number" },
	{ "country first", HDR "country RU drop\n", "t:2: country before country-policy" },
	{ "country case", HDR "country-policy block drop\ncountry ru drop\n", "t:3: unknown country 'ru'" },
	{ "country unknown", HDR "country-policy block drop\ncountry QQ drop\n", "unknown country 'QQ'" },
	{ "country dup", HDR "country-policy block drop\ncountry RU drop\ncountry RU log\n", "t:4: duplicate country RU" },
	{ "country pass", HDR "country-policy block drop\ncountry RU pass\n", "invalid action" },
	{ "policy mode", HDR "country-policy deny drop\n", "invalid mode 'deny'" },
	{ "policy twice", HDR "country-policy block drop\ncountry-policy allow drop\n", "given twice" },
	{ "policy extra", HDR "country-policy block drop RU\n", "unexpected ' RU'" },
	{ "list id 0", HDR "list id=0 source=\"import:a\"\n", "t:2: a list's id must be at least 1" },
	{ "list order", HDR "list source=\"import:a\" id=1\n", "t:2: missing id=" },
	{ "list no source", HDR "list id=1\n", "t:2: missing source=" },
	{ "list dup", HDR "list id=1 source=\"a\"\nlist id=2 source=\"a\"\n",
	  "t:3: duplicate list for source \"a\"" },
};

void test_state_parse_bad(void)
{
	char err[GEOFW_ERRLEN], line[2048];
	struct geofw_state *st;
	size_t i, len;
	int ret;

	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		SUBTEST("%s", bad_rows[i].name) {
			/* Rows with a NUL byte: take the length from the literal. */
			len = strlen(bad_rows[i].text);
			if (!strcmp(bad_rows[i].name, "NUL"))
				len = strlen(bad_rows[i].text) + 1 + strlen(bad_rows[i].text + len + 1);
			err[0] = '\0';
			st = (void *)1;
			ret = geofw_state_parse_buf(bad_rows[i].text, len, "t", &st, err, sizeof(err));
			ASSERT_EQ(ret, -EINVAL, "rejected");
			ASSERT_TRUE(st == NULL, "no state");
			if (!strstr(err, bad_rows[i].err))
				test__fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"",
					   err, bad_rows[i].err);
			geofw_state_free(st);
		}
	}

	SUBTEST("line too long") {
		len = snprintf(line, sizeof(line), HDR "# %01100d\n", 0);
		ret = geofw_state_parse_buf(line, len, "t", &st, err, sizeof(err));
		ASSERT_EQ(ret, -EINVAL, "rejected");
		ASSERT_TRUE(strstr(err, "t:2: line longer than 1024 bytes") != NULL, err);
	}

	SUBTEST("accepted extras") {
		/* Comments and blank lines are not malformed. */
		st = parse(HDR "# hand-made\n\n" BLK "\n", err, sizeof(err));
		if (ASSERT_TRUE(st != NULL, err))
			ASSERT_OK(geofw_state_find_block(st, &(struct geofw_cidr){
				.family = 4, .prefixlen = 24, .addr = { 203, 0, 113 } }, NULL), "entry");
		geofw_state_free(st);
		st = parse(HDR, err, sizeof(err));
		ASSERT_TRUE(st != NULL, "header only");
		geofw_state_free(st);
	}
}

/* Fuzz-style: mutations of a valid file never crash; they are accepted or
 * rejected with a FILE:LINE message, and what is accepted formats again. */
void test_state_parse_garbage(void)
{
	char buf[sizeof(full_text) + 64], err[GEOFW_ERRLEN];
	unsigned int seed = 1, i, k, accepted = 0;
	struct geofw_state *st;
	size_t len;
	int ret;

	for (i = 0; i < 30000; i++) {
		len = sizeof(full_text) - 1;
		memcpy(buf, full_text, len);
		for (k = 0; k < 1 + (unsigned int)rand_r(&seed) % 4; k++) {
			size_t at = rand_r(&seed) % len;

			switch (rand_r(&seed) % 4) {
			case 0: buf[at] = rand_r(&seed); break;
			case 1: buf[at] ^= 1u << (rand_r(&seed) % 8); break;
			case 2: len = at; break;
			case 3: buf[at] = "\"\\ =\n#/:"[rand_r(&seed) % 8]; break;
			}
			if (!len)
				break;
		}
		err[0] = '\0';
		ret = geofw_state_parse_buf(buf, len, "f", &st, err, sizeof(err));
		if (ret) {
			if (!ASSERT_EQ(ret, -EINVAL, "rejection code") ||
			    !ASSERT_TRUE(!strncmp(err, "f:", 2), err))
				break;
			continue;
		}
		accepted++;
		free(text_of(st));
		geofw_state_free(st);
	}
	printf("# %u of 30000 mutations accepted\n", accepted);

	/* Pure noise. */
	for (i = 0; i < 2000; i++) {
		len = rand_r(&seed) % sizeof(buf);
		for (k = 0; k < len; k++)
			buf[k] = rand_r(&seed);
		if (len > 17 && i % 2)
			memcpy(buf, HDR, 17);
		ret = geofw_state_parse_buf(buf, len, "f", &st, err, sizeof(err));
		if (!ret)
			geofw_state_free(st);
	}
}

/* ---- changes, batches, undo ------------------------------------------------------- */

void test_state_batch(void)
{
	struct geofw_state *st = geofw_state_new();
	char err[GEOFW_ERRLEN], *before, *after;
	struct geofw_state_block b, rules[3];
	struct geofw_state_counts n;
	struct geofw_cidr del[2];

	if (!ASSERT_TRUE(st != NULL, "new"))
		return;
	rules[0] = B("203.0.113.0/24", GEOFW_ACT_DROP, 0, "cli", "a");
	rules[1] = B("198.51.100.0/24", GEOFW_ACT_REJECT, 100, "cli", "b");
	rules[2] = B("2001:db8::/32", GEOFW_ACT_LOG, 0, "cli", NULL);
	ASSERT_OK(geofw_state_add_blocks(st, rules, 3, 0, err, sizeof(err)), err);
	before = text_of(st);

	SUBTEST("invalid entry: nothing added") {
		struct geofw_state_block bad[] = {
			B("192.0.2.0/24", GEOFW_ACT_DROP, 0, "cli", NULL),
			B("192.0.2.128/25", GEOFW_ACT_PASS, 0, "cli", NULL),
		};

		ASSERT_EQ(geofw_state_add_blocks(st, bad, 2, 0, err, sizeof(err)), -EINVAL, "pass");
		ASSERT_STREQ(err, "192.0.2.128/25: invalid block action 0", "message");
		bad[1] = B("192.0.2.128/25", GEOFW_ACT_DROP, 0, "cli", "bell\a");
		ASSERT_EQ(geofw_state_add_blocks(st, bad, 2, 0, err, sizeof(err)), -EINVAL, "ctl");
		ASSERT_STREQ(err, "192.0.2.128/25: comment contains a control character", "message");
		bad[1] = B("192.0.2.128/25", GEOFW_ACT_DROP, 0, "\xff", NULL);
		ASSERT_EQ(geofw_state_add_blocks(st, bad, 2, 0, err, sizeof(err)), -EINVAL, "utf8");
		bad[1] = B("192.0.2.128/25", GEOFW_ACT_DROP, 0, "cli", NULL);
		bad[1].prefix.addr[3] = 1;	/* host bits */
		ASSERT_EQ(geofw_state_add_blocks(st, bad, 2, 0, err, sizeof(err)), -EINVAL, "host");
		bad[1] = B("192.0.2.128/25", GEOFW_ACT_DROP, GEOFW_DURATION_MAX + 1, "cli", NULL);
		ASSERT_EQ(geofw_state_add_blocks(st, bad, 2, 0, err, sizeof(err)), -EINVAL, "expiry");
		after = text_of(st);
		ASSERT_STREQ(after, before, "unchanged");
		free(after);
	}

	SUBTEST("delete: absent fails the batch") {
		del[0] = P("203.0.113.0/24");
		del[1] = P("192.0.2.0/24");
		ASSERT_EQ(geofw_state_del_blocks(st, del, 2, err, sizeof(err)), -ENOENT, "absent");
		ASSERT_STREQ(err, "192.0.2.0/24 is not blocked", "message names the prefix");
		after = text_of(st);
		ASSERT_STREQ(after, before, "unchanged");
		free(after);
		ASSERT_EQ(geofw_state_del_allows(st, del, 1, err, sizeof(err)), -ENOENT, "allow");
		ASSERT_STREQ(err, "203.0.113.0/24 is not in the allowlist", "message");
	}

	SUBTEST("re-add keeps the id") {
		struct geofw_state_block again = B("198.51.100.0/24", GEOFW_ACT_HTTP403, 0,
						   "import:x", "new");

		ASSERT_OK(geofw_state_add_blocks(st, &again, 1, 0, err, sizeof(err)), err);
		if (ASSERT_OK(geofw_state_find_block(st, &again.prefix, &b), "find")) {
			ASSERT_EQ(b.rule_id, 2, "same id");
			ASSERT_EQ(b.action, GEOFW_ACT_HTTP403, "new action");
			ASSERT_EQ(b.expires, 0, "ttl removed");
			ASSERT_STREQ(b.comment, "new", "new comment");
			ASSERT_STREQ(b.source, "import:x", "new source");
		}
		geofw_state_counts(st, &n);
		ASSERT_EQ(n.block_net4 + n.block_net6, 3, "no new entry");
		ASSERT_EQ(geofw_state_next_rule_id(st), 4, "no id used");
	}

	SUBTEST("rollback") {
		struct geofw_state_countries c = *geofw_state_countries(st);
		struct geofw_state_allow al = { .prefix = P("192.0.2.7"), .comment = "x" };
		struct geofw_state_block more[] = {
			B("192.0.2.0/24", GEOFW_ACT_DROP, 50, "cli", "added"),
			B("203.0.113.0/24", GEOFW_ACT_LOG, 0, "other", "changed"),
		};

		free(before);
		before = text_of(st);
		ASSERT_OK(geofw_state_begin(st), "begin");
		ASSERT_EQ(geofw_state_begin(st), -EBUSY, "no nesting");
		ASSERT_OK(geofw_state_add_blocks(st, more, 2, 0, err, sizeof(err)), err);
		del[0] = P("2001:db8::/32");
		del[1] = P("198.51.100.0/24");
		ASSERT_OK(geofw_state_del_blocks(st, del, 2, err, sizeof(err)), err);
		ASSERT_OK(geofw_state_add_allows(st, &al, 1, err, sizeof(err)), err);
		c.override = true;
		c.mode = GEOFW_MODE_BLOCK_LISTED;
		c.action = GEOFW_ACT_DROP;
		c.listed[geofw_country_id("CN")] = true;
		c.country_action[geofw_country_id("CN")] = GEOFW_ACT_REJECT;
		ASSERT_OK(geofw_state_set_countries(st, &c, err, sizeof(err)), err);
		ASSERT_EQ(geofw_state_sweep(st, 1000, NULL, NULL), 1, "sweep in a txn");
		after = text_of(st);
		ASSERT_TRUE(strcmp(after, before) != 0, "changed");
		free(after);
		geofw_state_rollback(st);
		after = text_of(st);
		ASSERT_STREQ(after, before, "rolled back, next-rule-id included");
		free(after);
		ASSERT_TRUE(!geofw_state_countries(st)->override, "country override undone");
		ASSERT_OK(geofw_state_for_each_block(st, check_findable, st), "hash consistent");
		ASSERT_EQ(geofw_state_next_expiry(st) <= 100, 1, "expiry bound kept");
	}

	SUBTEST("commit") {
		struct geofw_state_block one = B("192.0.2.0/24", GEOFW_ACT_DROP, 0, "cli", NULL);

		ASSERT_OK(geofw_state_begin(st), "begin");
		ASSERT_OK(geofw_state_add_blocks(st, &one, 1, 0, err, sizeof(err)), err);
		geofw_state_commit(st);
		geofw_state_rollback(st);	/* no transaction: nothing to undo */
		ASSERT_OK(geofw_state_find_block(st, &one.prefix, NULL), "kept");
		ASSERT_OK(geofw_state_begin(st), "begin again");
		geofw_state_commit(st);
	}

	SUBTEST("map capacity") {
		/* GEOFW_MAX_ALLOW + 1 IPv6 allows: refused as a whole. */
		size_t i, count = GEOFW_MAX_ALLOW + 1;
		struct geofw_state_allow *al = calloc(count, sizeof(*al));

		for (i = 0; al && i < count; i++) {
			al[i].prefix = P("2001:db8::");
			al[i].prefix.addr[12] = i >> 16;
			al[i].prefix.addr[13] = i >> 8;
			al[i].prefix.addr[14] = i;
		}
		if (!ASSERT_TRUE(al != NULL, "calloc"))
			al = calloc(1, sizeof(*al)), count = 0;
		free(before);
		before = text_of(st);
		ASSERT_EQ(geofw_state_add_allows(st, al, count, err, sizeof(err)), -ENOSPC, "full");
		ASSERT_STREQ(err, "too many IPv6 allow entries: 65537 (the map holds 65536)", "msg");
		after = text_of(st);
		ASSERT_STREQ(after, before, "unchanged");
		free(after);
		ASSERT_OK(geofw_state_add_allows(st, al, count - 1, err, sizeof(err)), err);
		geofw_state_counts(st, &n);
		ASSERT_EQ(n.allow6, GEOFW_MAX_ALLOW, "exactly full");
		ASSERT_EQ(n.rule_ids, GEOFW_MAX_RULE_IDS - 1, "every id in use");
		free(al);
	}

	free(before);
	geofw_state_free(st);
}

/* Random changes inside a transaction, then rollback: the state is back
 * byte for byte, and every entry is still found through the hash. */
void test_state_undo_random(void)
{
	struct geofw_state *st = geofw_state_new();
	struct geofw_state_block r[64];
	char err[GEOFW_ERRLEN], *before, *after;
	unsigned int seed = 7, round, i, k;

	if (!ASSERT_TRUE(st != NULL, "new"))
		return;
	for (round = 0; round < 200 && !test__failing(); round++) {
		before = text_of(st);
		ASSERT_OK(geofw_state_begin(st), "begin");
		for (i = 0; i < 40; i++) {
			unsigned int n = 1 + rand_r(&seed) % 64;
			struct geofw_cidr d[64];
			size_t nd = 0;

			for (k = 0; k < n; k++) {
				r[k] = B("10.0.0.0/32", 1 + rand_r(&seed) % 4,
					 rand_r(&seed) % 3 ? 0 : 1 + rand_r(&seed) % 1000,
					 rand_r(&seed) % 2 ? "cli" : "import:l",
					 rand_r(&seed) % 2 ? "c" : NULL);
				r[k].prefix.addr[3] = rand_r(&seed) % 200;
				if (geofw_state_find_block(st, &r[k].prefix, NULL) == 0 &&
				    rand_r(&seed) % 2)
					d[nd++] = r[k].prefix;
			}
			switch (rand_r(&seed) % 4) {
			case 0:
			case 1:
				geofw_state_add_blocks(st, r, n, rand_r(&seed) % 2, err, sizeof(err));
				break;
			case 2:
				geofw_state_del_blocks(st, d, nd, err, sizeof(err));
				break;
			case 3:
				geofw_state_sweep(st, rand_r(&seed) % 1000, NULL, NULL);
				break;
			}
		}
		if (round % 2) {
			geofw_state_rollback(st);
			after = text_of(st);
			ASSERT_STREQ(after, before, "rollback");
			free(after);
		} else {
			geofw_state_commit(st);
		}
		ASSERT_OK(geofw_state_for_each_block(st, check_findable, st), "consistent");
		free(before);
	}
	geofw_state_free(st);
}

struct removed {
	int n;
	char last[GEOFW_CIDR_STRLEN];
	char source[32];
};

static void on_removed(const struct geofw_state_block *r, void *ctx)
{
	struct removed *rm = ctx;

	rm->n++;
	geofw_cidr_format(&r->prefix, rm->last, sizeof(rm->last));
	snprintf(rm->source, sizeof(rm->source), "%s", r->source);
}

void test_state_sweep(void)
{
	struct geofw_state *st = geofw_state_new();
	struct geofw_state_block r[] = {
		B("203.0.113.1", GEOFW_ACT_DROP, 100, "cli", NULL),
		B("203.0.113.2", GEOFW_ACT_DROP, 200, "cli", NULL),
		B("203.0.113.3", GEOFW_ACT_DROP, 0, "cli", NULL),
		B("203.0.113.4", GEOFW_ACT_DROP, 0, "import:l", NULL),
		B("203.0.113.5", GEOFW_ACT_DROP, 300, "import:l", NULL),
	};
	struct removed rm = { 0 };
	char err[GEOFW_ERRLEN];

	if (!ASSERT_TRUE(st != NULL, "new"))
		return;
	ASSERT_OK(geofw_state_add_blocks(st, r, 5, 0, err, sizeof(err)), err);
	ASSERT_EQ(geofw_state_next_expiry(st), 100, "next expiry");
	ASSERT_EQ(geofw_state_sweep(st, 99, on_removed, &rm), 0, "nothing due");
	ASSERT_EQ(geofw_state_sweep(st, 100, on_removed, &rm), 1, "expiry == now goes");
	ASSERT_EQ(rm.n, 1, "reported");
	ASSERT_STREQ(rm.last, "203.0.113.1/32", "which");
	ASSERT_EQ(geofw_state_next_expiry(st), 200, "next expiry");
	ASSERT_EQ(geofw_state_find_block(st, &r[0].prefix, NULL), -ENOENT, "gone");
	ASSERT_EQ(geofw_state_sweep(st, 150, on_removed, &rm), 0, "not due");

	rm.n = 0;
	ASSERT_EQ(geofw_state_del_source(st, "import:l", on_removed, &rm), 2, "source removed");
	ASSERT_EQ(rm.n, 2, "both reported");
	ASSERT_STREQ(rm.source, "import:l", "source string valid in the callback");
	ASSERT_EQ(geofw_state_del_source(st, "import:none", on_removed, &rm), 0, "unknown");
	ASSERT_EQ(geofw_state_sweep(st, ~0ULL, on_removed, &rm), 1, "rest of the expiring");
	ASSERT_EQ(geofw_state_next_expiry(st), 0, "nothing expires");
	ASSERT_OK(geofw_state_find_block(st, &r[2].prefix, NULL), "permanent kept");
	geofw_state_free(st);
}

void test_state_rule_ids(void)
{
	struct geofw_state *st = geofw_state_new(), *w = NULL;
	struct geofw_state_block b, r[3];
	struct geofw_cidr del;
	char err[GEOFW_ERRLEN], *t;
	__u32 import_id;

	if (!ASSERT_TRUE(st != NULL, "new"))
		return;
	SUBTEST("one per cli rule") {
		r[0] = B("203.0.113.1", GEOFW_ACT_DROP, 0, "cli", NULL);
		r[1] = B("203.0.113.2", GEOFW_ACT_DROP, 0, "cli", NULL);
		r[2] = B("203.0.113.3", GEOFW_ACT_DROP, 0, "cli", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, r, 3, 0, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[2].prefix, &b);
		ASSERT_EQ(b.rule_id, 3, "third");
		del = r[1].prefix;
		ASSERT_OK(geofw_state_del_blocks(st, &del, 1, err, sizeof(err)), err);
		r[1] = B("203.0.113.9", GEOFW_ACT_DROP, 0, "cli", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, &r[1], 1, 0, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[1].prefix, &b);
		ASSERT_EQ(b.rule_id, 4, "a deleted id is not reused at once");
	}
	SUBTEST("one per import source") {
		r[0] = B("198.51.100.1", GEOFW_ACT_DROP, 0, "import:a", NULL);
		r[1] = B("198.51.100.2", GEOFW_ACT_DROP, 0, "import:a", NULL);
		r[2] = B("203.0.113.1", GEOFW_ACT_DROP, 0, "import:a", NULL);	/* exists */
		ASSERT_OK(geofw_state_add_blocks(st, r, 3, GEOFW_STATE_ONE_ID, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[0].prefix, &b);
		import_id = b.rule_id;
		ASSERT_EQ(import_id, 5, "import id");
		geofw_state_find_block(st, &r[1].prefix, &b);
		ASSERT_EQ(b.rule_id, import_id, "shared");
		geofw_state_find_block(st, &r[2].prefix, &b);
		ASSERT_EQ(b.rule_id, 1, "existing keeps its id");
		/* The list again with a new entry: same id. */
		r[0] = B("198.51.100.3", GEOFW_ACT_DROP, 0, "import:a", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, r, 1, GEOFW_STATE_ONE_ID, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[0].prefix, &b);
		ASSERT_EQ(b.rule_id, import_id, "reused by the same source");
		r[0] = B("198.51.100.4", GEOFW_ACT_DROP, 0, "import:b", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, r, 1, GEOFW_STATE_ONE_ID, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[0].prefix, &b);
		ASSERT_EQ(b.rule_id, 6, "another source, another id");
		/* Survives a reload: the first id seen for the source. */
		t = text_of(st);
		w = parse(t, err, sizeof(err));
		free(t);
		if (ASSERT_TRUE(w != NULL, err)) {
			r[0] = B("198.51.100.5", GEOFW_ACT_DROP, 0, "import:a", NULL);
			ASSERT_OK(geofw_state_add_blocks(w, r, 1, GEOFW_STATE_ONE_ID, err, sizeof(err)), err);
			geofw_state_find_block(w, &r[0].prefix, &b);
			ASSERT_EQ(b.rule_id, import_id, "after reload");
			ASSERT_EQ(geofw_state_next_rule_id(w), 7, "next id persisted");
		}
		geofw_state_free(w);
		/* A removed list frees its id; the next import gets a new one. */
		/* 203.0.113.1 was re-added by the import: it moved to it. */
		ASSERT_EQ(geofw_state_del_source(st, "import:a", NULL, NULL), 4, "del source");
		r[0] = B("198.51.100.1", GEOFW_ACT_DROP, 0, "import:a", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, r, 1, GEOFW_STATE_ONE_ID, err, sizeof(err)), err);
		geofw_state_find_block(st, &r[0].prefix, &b);
		ASSERT_EQ(b.rule_id, 7, "fresh id");
	}
	SUBTEST("rollback restores the counter") {
		ASSERT_OK(geofw_state_begin(st), "begin");
		r[0] = B("192.0.2.1", GEOFW_ACT_DROP, 0, "cli", NULL);
		ASSERT_OK(geofw_state_add_blocks(st, r, 1, 0, err, sizeof(err)), err);
		ASSERT_EQ(geofw_state_next_rule_id(st), 9, "advanced");
		geofw_state_rollback(st);
		ASSERT_EQ(geofw_state_next_rule_id(st), 8, "restored");
	}
	SUBTEST("wrap to the lowest free id") {
		w = parse(HDR "next-rule-id 65535\n"
			  "allow 192.0.2.0/24 id=1\n"
			  "block 203.0.113.0/24 drop id=2 source=\"cli\"\n"
			  "block 203.0.113.1/32 drop id=65535 source=\"cli\"\n", err, sizeof(err));
		if (!ASSERT_TRUE(w != NULL, err))
			w = geofw_state_new();
		r[0] = B("198.51.100.1", GEOFW_ACT_DROP, 0, "cli", NULL);
		r[1] = B("198.51.100.2", GEOFW_ACT_DROP, 0, "cli", NULL);
		ASSERT_OK(geofw_state_add_blocks(w, r, 2, 0, err, sizeof(err)), err);
		geofw_state_find_block(w, &r[0].prefix, &b);
		ASSERT_EQ(b.rule_id, 3, "65535 in use, wrapped past 1 and 2");
		geofw_state_find_block(w, &r[1].prefix, &b);
		ASSERT_EQ(b.rule_id, 4, "then on");
		geofw_state_free(w);
	}
	geofw_state_free(st);
}

void test_state_countries(void)
{
	struct geofw_state *st = geofw_state_new();
	struct geofw_state_countries c;
	char err[GEOFW_ERRLEN], *t;
	int ru = geofw_country_id("RU");

	if (!ASSERT_TRUE(st != NULL, "new"))
		return;
	memset(&c, 0, sizeof(c));
	c.override = true;
	c.mode = 2;
	c.action = GEOFW_ACT_DROP;
	ASSERT_EQ(geofw_state_set_countries(st, &c, err, sizeof(err)), -EINVAL, "mode");
	c.mode = GEOFW_MODE_BLOCK_LISTED;
	c.action = GEOFW_ACT_PASS;
	ASSERT_EQ(geofw_state_set_countries(st, &c, err, sizeof(err)), -EINVAL, "pass");
	c.action = GEOFW_ACT_DROP;
	c.listed[0] = true;
	ASSERT_EQ(geofw_state_set_countries(st, &c, err, sizeof(err)), -EINVAL, "id 0");
	c.listed[0] = false;
	c.listed[ru] = true;
	ASSERT_EQ(geofw_state_set_countries(st, &c, err, sizeof(err)), -EINVAL, "RU without action");
	ASSERT_STREQ(err, "RU: invalid action 0", "message");
	c.country_action[ru] = GEOFW_ACT_HTTP403;
	ASSERT_OK(geofw_state_set_countries(st, &c, err, sizeof(err)), err);
	t = text_of(st);
	ASSERT_TRUE(strstr(t, "country-policy block drop\ncountry RU http403\n") != NULL, t);
	free(t);
	c.override = false;
	ASSERT_OK(geofw_state_set_countries(st, &c, err, sizeof(err)), err);
	t = text_of(st);
	ASSERT_TRUE(strstr(t, "country") == NULL, "no override: no lines");
	free(t);
	geofw_state_free(st);
}

/* ---- files -------------------------------------------------------------------------- */

static struct geofw_state *big_state(size_t n)
{
	struct geofw_state *st = geofw_state_new();
	struct geofw_state_block *r = calloc(n, sizeof(*r));
	char err[GEOFW_ERRLEN];
	size_t i;

	for (i = 0; r && st && i < n; i++) {
		r[i].prefix.family = 4;
		r[i].prefix.prefixlen = 32;
		r[i].prefix.addr[0] = 10;
		r[i].prefix.addr[1] = i >> 16;
		r[i].prefix.addr[2] = i >> 8;
		r[i].prefix.addr[3] = i;
		r[i].action = GEOFW_ACT_DROP;
		r[i].source = "import:big.txt";
	}
	if (st && r && geofw_state_add_blocks(st, r, n, GEOFW_STATE_ONE_ID, err, sizeof(err)))
		test__fail(__FILE__, __LINE__, "%s", err);
	free(r);
	return st;
}

void test_state_load_missing(void)
{
	struct geofw_state *st = NULL;
	struct geofw_state_counts n;
	char err[GEOFW_ERRLEN] = "", path[128];

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/none", tmpdir);
	ASSERT_OK(geofw_state_load(path, &st, err, sizeof(err)), "missing file is empty state");
	if (ASSERT_TRUE(st != NULL, "state")) {
		geofw_state_counts(st, &n);
		ASSERT_EQ(n.block_ip4 + n.block_net4 + n.allow4, 0, "empty");
		geofw_state_free(st);
	}
	ASSERT_EQ(geofw_state_load(tmpdir, &st, err, sizeof(err)), -EINVAL, "directory");
	ASSERT_TRUE(strstr(err, "not a regular file") != NULL, err);
	snprintf(path, sizeof(path), "%s/bad", tmpdir);
	write_file(path, HDR "block 203.0.113.0/24 drop\n");
	ASSERT_EQ(geofw_state_load(path, &st, err, sizeof(err)), -EINVAL, "corrupt");
	ASSERT_TRUE(strstr(err, "/bad:2: missing id=") != NULL, err);
	ASSERT_TRUE(st == NULL, "no state");
	remove_tmpdir();
}

/* Save must fail cleanly: previous file intact, no temp file left. */
static void expect_failed_save(const struct geofw_state *st, const char *path, int expect,
			       const char *old)
{
	char err[GEOFW_ERRLEN] = "", tmp[160], disk[256];
	int ret = geofw_state_save(st, path, err, sizeof(err));

	ASSERT_EQ(ret, expect, "save fails");
	printf("# %s\n", err);
	ASSERT_TRUE(strstr(err, path) != NULL, "message names the file");
	if (ASSERT_TRUE(read_file(path, disk, sizeof(disk)), "old file readable"))
		ASSERT_STREQ(disk, old, "old file intact");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_EQ(access(tmp, F_OK), -1, "temp file removed");
}

/* In a private mount namespace: the directory read-only (EROFS), then a
 * tiny tmpfs (ENOSPC).  Exit status: 0 ok, 2 no mount permission, else a
 * failed check. */
static int mount_child(const char *dir, const char *path, const char *old,
		       const struct geofw_state *st)
{
	char err[GEOFW_ERRLEN], disk[256], tmp[160];
	int ret;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 2;
	if (mount(dir, dir, NULL, MS_BIND, NULL) ||
	    mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL))
		return 2;
	ret = geofw_state_save(st, path, err, sizeof(err));
	printf("# read-only: %s\n", err);
	if (ret != -EROFS || !read_file(path, disk, sizeof(disk)) || strcmp(disk, old))
		return 3;
	umount(dir);
	if (mount("tmpfs", dir, "tmpfs", 0, "size=64k"))
		return 2;
	/* The old file in the small filesystem, then a state too big for it. */
	if (!write_file(path, old))
		return 4;
	ret = geofw_state_save(st, path, err, sizeof(err));
	printf("# tmpfs full: %s\n", err);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (ret != -ENOSPC || !read_file(path, disk, sizeof(disk)) || strcmp(disk, old) ||
	    access(tmp, F_OK) == 0)
		return 5;
	return 0;
}

void test_state_save_failures(void)
{
	struct geofw_state *st = big_state(20000), *small = geofw_state_new();
	char err[GEOFW_ERRLEN], path[128], tmp[160], old[256], disk[256];
	struct rlimit rl, saved;
	int status;
	pid_t pid;

	if (!st || !small || !make_tmpdir())
		goto out;
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ASSERT_OK(geofw_state_save(small, path, err, sizeof(err)), err);
	read_file(path, old, sizeof(old));

	SUBTEST("file size limit") {
		/* Past RLIMIT_FSIZE, write() fails with EFBIG once SIGXFSZ is
		 * ignored: a disk filling up, as seen by the writer. */
		void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);

		getrlimit(RLIMIT_FSIZE, &saved);
		rl = saved;
		rl.rlim_cur = 64 * 1024;
		ASSERT_OK(setrlimit(RLIMIT_FSIZE, &rl), "setrlimit");
		expect_failed_save(st, path, -EFBIG, old);
		setrlimit(RLIMIT_FSIZE, &saved);
		signal(SIGXFSZ, prev);
	}

	SUBTEST("no such directory") {
		char bad[160];
		int ret;

		snprintf(bad, sizeof(bad), "%s/nodir/state", tmpdir);
		ret = geofw_state_save(small, bad, err, sizeof(err));
		ASSERT_EQ(ret, -ENOENT, "ENOENT");
		ASSERT_TRUE(strstr(err, "cannot create") && strstr(err, "nodir/state.tmp"), err);
	}

	SUBTEST("temp path taken by a directory") {
		ASSERT_OK(mkdir(tmp, 0700), "mkdir");
		ASSERT_EQ(geofw_state_save(st, path, err, sizeof(err)), -EISDIR, "EISDIR");
		if (ASSERT_TRUE(read_file(path, disk, sizeof(disk)), "read"))
			ASSERT_STREQ(disk, old, "old file intact");
		rmdir(tmp);
	}

	SUBTEST("temp path is a symlink") {
		char target[160];

		snprintf(target, sizeof(target), "%s/elsewhere", tmpdir);
		ASSERT_OK(symlink(target, tmp), "symlink");
		ASSERT_EQ(geofw_state_save(st, path, err, sizeof(err)), -ELOOP, "not followed");
		ASSERT_EQ(access(target, F_OK), -1, "nothing written through the link");
		unlink(tmp);
	}

	SUBTEST("read-only and full filesystems") {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(mount_child(tmpdir, path, old, st));
		if (ASSERT_TRUE(pid > 0, "fork"))
			waitpid(pid, &status, 0);
		else
			status = 0;
		if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 2)
			test_skip("no permission to mount");
		else
			ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 100, 0, "child checks");
	}

	SUBTEST("then a save works") {
		ASSERT_OK(geofw_state_save(st, path, err, sizeof(err)), err);
		ASSERT_EQ(access(tmp, F_OK), -1, "no temp file");
	}
	remove_tmpdir();
out:
	geofw_state_free(small);
	geofw_state_free(st);
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

void test_state_million(void)
{
	const size_t n = 1000000;
	struct geofw_state *st, *back = NULL;
	struct geofw_state_counts cnt;
	struct geofw_state_block one;
	char err[GEOFW_ERRLEN], path[128];
	double t0, t_add, t_save, t_load, t_one;
	size_t heap0, i;
	struct stat sb;

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	heap0 = heap_used();
	t0 = now_s();
	st = big_state(n);
	t_add = now_s() - t0;
	if (!ASSERT_TRUE(st != NULL, "state"))
		goto out;
	printf("# 1M entries in one batch: %.3f s, %.1f bytes/entry\n", t_add,
	       (double)(heap_used() - heap0) / n);

	t0 = now_s();
	ASSERT_OK(geofw_state_save(st, path, err, sizeof(err)), err);
	t_save = now_s() - t0;
	stat(path, &sb);
	t0 = now_s();
	ASSERT_OK(geofw_state_load(path, &back, err, sizeof(err)), err);
	t_load = now_s() - t0;
	printf("# save %.3f s (%lld MB), load %.3f s\n", t_save,
	       (long long)sb.st_size >> 20, t_load);
	if (back) {
		geofw_state_counts(back, &cnt);
		ASSERT_EQ(cnt.block_ip4, n, "all loaded");
		ASSERT_EQ(cnt.rule_ids, 1, "one id for the import");
	}
	geofw_state_free(back);
	geofw_state_free(st);

	/* One call per entry, as geofwd would for a stream of fwctl adds. */
	st = geofw_state_new();
	one = B("10.0.0.0/32", GEOFW_ACT_DROP, 0, "cli", NULL);
	t0 = now_s();
	for (i = 0; st && i < n; i++) {
		one.prefix.addr[1] = i >> 16;
		one.prefix.addr[2] = i >> 8;
		one.prefix.addr[3] = i;
		if (geofw_state_add_blocks(st, &one, 1, 0, err, sizeof(err))) {
			test__fail(__FILE__, __LINE__, "%s", err);
			break;
		}
	}
	t_one = now_s() - t0;
	printf("# 1M entries one by one: %.3f s\n", t_one);
	geofw_state_counts(st, &cnt);
	ASSERT_EQ(cnt.block_ip4, n, "all added");
	ASSERT_EQ(cnt.rule_ids, GEOFW_MAX_RULE_IDS - 1, "ids exhausted, rest uncounted");
	one.prefix = P("10.0.0.5");
	geofw_state_find_block(st, &one.prefix, &one);
	ASSERT_EQ(one.rule_id, 6, "early ones counted");
	one.prefix = P("10.15.66.63");
	geofw_state_find_block(st, &one.prefix, &one);
	ASSERT_EQ(one.rule_id, 0, "late ones not");
	geofw_state_free(st);
out:
	remove_tmpdir();
}
