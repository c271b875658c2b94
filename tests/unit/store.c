// SPDX-License-Identifier: GPL-2.0-only
/* The rule store (user/lib/store.c) on real SQLite files in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "kdiff.h"
#include "msg.h"
#include "ports.h"
#include "store.h"
#include "test.h"

static char tmpdir[64];

static bool make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/geofw-store-XXXXXX");
	return ASSERT_TRUE(mkdtemp(tmpdir) != NULL, "mkdtemp");
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ASSERT_OK(system(cmd), "rm -rf tmpdir");
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

static struct geofw_rule B(const char *prefix, int action, __u64 expires, const char *source)
{
	return (struct geofw_rule){ .kind = GEOFW_RULE_BLOCK, .prefix = P(prefix),
				    .action = (__u8)action, .expires = expires, .source = source,
				    .comment = "c", .uid = 7, .pid = 42 };
}

static struct geofw_store *open_store(void)
{
	struct geofw_store *st = NULL;
	char err[GEOFW_ERRLEN] = "";

	ASSERT_OK(geofw_store_open(tmpdir, &st, err, sizeof(err)), err);
	return st;
}

/* One committed change: rows and the diff's entries back. */
static int change_add(struct geofw_store *st, const struct geofw_rule *r, size_t n,
		      unsigned int flags, struct geofw_kdiff *diff)
{
	char err[GEOFW_ERRLEN] = "";
	int ret = geofw_store_begin(st, err, sizeof(err));

	if (!ret)
		ret = geofw_store_add(st, r, n, flags, diff, err, sizeof(err));
	if (!ret)
		ret = geofw_store_commit(st, err, sizeof(err));
	if (ret) {
		geofw_store_rollback(st);
		fprintf(stderr, "# change: %s\n", err);
	}
	return ret;
}

struct collect {
	struct geofw_kentry v[16];
	size_t n;
};

static int collect_entry(const struct geofw_kentry *e, void *ctx)
{
	struct collect *c = ctx;

	if (c->n < 16)
		c->v[c->n] = *e;
	c->n++;
	return 0;
}

static int count_rule(const struct geofw_rule *r, void *ctx)
{
	(void)r;
	(*(size_t *)ctx)++;
	return 0;
}

void test_store_schema_wal(void)
{
	struct geofw_store *st;
	sqlite3 *db;
	sqlite3_stmt *s;
	char path[128];

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		struct geofw_rule r = B("203.0.113.0/24", GEOFW_ACT_DROP, 0, "cli");
		struct geofw_kdiff d = {};

		ASSERT_OK(change_add(st, &r, 1, 0, &d), "add");
		geofw_kdiff_free(&d);
		snprintf(path, sizeof(path), "%s/rules.db", tmpdir);
		/* A second reader while geofwd holds it, as sqlite3 -readonly. */
		if (ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
			      "open read-only")) {
			sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL);
			if (ASSERT_EQ(sqlite3_step(s), SQLITE_ROW, "journal_mode"))
				ASSERT_STREQ((const char *)sqlite3_column_text(s, 0), "wal", "WAL");
			sqlite3_finalize(s);
			sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, NULL);
			if (ASSERT_EQ(sqlite3_step(s), SQLITE_ROW, "schema row"))
				ASSERT_EQ(sqlite3_column_int(s, 0), GEOFW_STORE_SCHEMA, "version");
			sqlite3_finalize(s);
			sqlite3_prepare_v2(db, "SELECT prefix,source,action,uid,pid,created>0 FROM rules",
					   -1, &s, NULL);
			if (ASSERT_EQ(sqlite3_step(s), SQLITE_ROW, "rule row")) {
				ASSERT_STREQ((const char *)sqlite3_column_text(s, 0), "203.0.113.0/24",
					     "prefix text");
				ASSERT_STREQ((const char *)sqlite3_column_text(s, 1), "cli", "source");
				ASSERT_EQ(sqlite3_column_int(s, 2), GEOFW_ACT_DROP, "action");
				ASSERT_EQ(sqlite3_column_int(s, 3), 7, "uid");
				ASSERT_EQ(sqlite3_column_int(s, 4), 42, "pid");
				ASSERT_EQ(sqlite3_column_int(s, 5), 1, "created");
			}
			sqlite3_finalize(s);
			sqlite3_close(db);
		}
		geofw_store_close(st);
	}
	remove_tmpdir();
}

void test_store_precedence(void)
{
	struct geofw_store *st;
	struct geofw_kdiff d = {};
	char err[GEOFW_ERRLEN] = "";

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		struct geofw_rule imp = B("198.51.100.0/24", GEOFW_ACT_LOG, 0, "import:a");
		struct geofw_rule cli = B("198.51.100.0/24", GEOFW_ACT_REJECT, 2000000000, "cli");
		struct geofw_rule drop = B("198.51.100.0/24", GEOFW_ACT_DROP, 0, "feed:x");
		struct geofw_cidr p = P("198.51.100.0/24");
		struct collect c = {};

		ASSERT_OK(change_add(st, &imp, 1, GEOFW_STORE_ONE_ID, &d), "import row");
		ASSERT_EQ(d.n, 1, "one entry");
		ASSERT_EQ(d.v[0].action, GEOFW_ACT_LOG, "only row wins");
		geofw_kdiff_reset(&d);
		ASSERT_OK(change_add(st, &cli, 1, 0, &d), "cli row");
		ASSERT_EQ(d.v[0].action, GEOFW_ACT_REJECT, "stricter action wins");
		ASSERT_EQ(d.v[0].expires, 2000000000, "its expiry");
		geofw_kdiff_reset(&d);
		ASSERT_OK(change_add(st, &drop, 1, 0, &d), "feed row");
		ASSERT_EQ(d.v[0].action, GEOFW_ACT_DROP, "drop wins");
		ASSERT_EQ(d.v[0].expires, 0, "never expires");
		geofw_kdiff_reset(&d);
		/* Remove one source's row: the next one takes over. */
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_del(st, GEOFW_RULE_BLOCK, &p, 1, "feed:x", &d, err,
					  sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 1 && d.v[0].present && d.v[0].action == GEOFW_ACT_REJECT,
			    "reject back in force");
		geofw_kdiff_reset(&d);
		ASSERT_OK(geofw_store_for_each_entry(st, collect_entry, &c), "entries");
		ASSERT_EQ(c.n, 1, "one kernel entry for three rows");
		/* del without a source: every row of the prefix. */
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_del(st, GEOFW_RULE_BLOCK, &p, 1, NULL, &d, err, sizeof(err)),
			  err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 1 && !d.v[0].present, "entry deleted");
		geofw_kdiff_reset(&d);
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_EQ(geofw_store_del(st, GEOFW_RULE_BLOCK, &p, 1, NULL, &d, err, sizeof(err)),
			  -ENOENT, "absent prefix refused");
		ASSERT_TRUE(strstr(err, "198.51.100.0/24 is not blocked") != NULL, err);
		geofw_store_rollback(st);
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}

void test_store_rule_ids_and_replace(void)
{
	struct geofw_store *st;
	struct geofw_kdiff d = {};
	char err[GEOFW_ERRLEN] = "";

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		struct geofw_rule l1[] = {
			B("192.0.2.1/32", GEOFW_ACT_DROP, 0, "import:l"),
			B("192.0.2.2/32", GEOFW_ACT_DROP, 0, "import:l"),
			B("192.0.2.3/32", GEOFW_ACT_DROP, 0, "import:l"),
		};
		struct geofw_rule l2[] = {
			B("192.0.2.2/32", GEOFW_ACT_DROP, 0, "import:l"),
			B("192.0.2.4/32", GEOFW_ACT_DROP, 0, "import:l"),
		};
		struct geofw_rule a = B("203.0.113.9/32", GEOFW_ACT_DROP, 0, "cli");
		size_t removed = 0, n = 0, i;
		__u32 list_id, cli_id;

		ASSERT_OK(change_add(st, l1, 3, GEOFW_STORE_ONE_ID, &d), "import");
		list_id = d.v[0].rule_id;
		ASSERT_TRUE(list_id && d.v[1].rule_id == list_id && d.v[2].rule_id == list_id,
			    "one id per list");
		geofw_kdiff_reset(&d);
		ASSERT_OK(change_add(st, &a, 1, 0, &d), "cli");
		cli_id = d.v[0].rule_id;
		ASSERT_TRUE(cli_id && cli_id != list_id, "own id");
		geofw_kdiff_reset(&d);
		a.action = GEOFW_ACT_REJECT;
		ASSERT_OK(change_add(st, &a, 1, 0, &d), "re-add");
		ASSERT_EQ(d.v[0].rule_id, cli_id, "re-adding keeps the id");
		ASSERT_EQ(d.v[0].action, GEOFW_ACT_REJECT, "and replaces the action");
		geofw_kdiff_reset(&d);

		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_replace_source(st, "import:l", l2, 2, &removed, &d, err,
						     sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_EQ(removed, 2, "two rows left the list");
		for (i = 0; i < d.n; i++) {
			char b[64];

			geofw_cidr_format(&d.v[i].prefix, b, sizeof(b));
			if (!strcmp(b, "192.0.2.1/32") || !strcmp(b, "192.0.2.3/32"))
				ASSERT_TRUE(!d.v[i].present, "removed from the kernel");
			else
				ASSERT_TRUE(d.v[i].present && d.v[i].rule_id == list_id,
					    "kept with the list's id");
		}
		ASSERT_EQ(d.n, 4, "one diff: 2 removed + 2 put");
		geofw_kdiff_reset(&d);
		ASSERT_OK(geofw_store_for_each_rule(st, 0, "import:l", count_rule, &n), "list");
		ASSERT_EQ(n, 2, "list --source");

		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_EQ(geofw_store_del_source(st, "import:l", &d, err, sizeof(err)), 2,
			  "del-source");
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 2 && !d.v[0].present && !d.v[1].present, "both gone");
		geofw_kdiff_reset(&d);
		n = 0;
		ASSERT_OK(geofw_store_for_each_rule(st, 0, NULL, count_rule, &n), "all");
		ASSERT_EQ(n, 1, "cli rule stays");
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}

void test_store_transactions(void)
{
	struct geofw_store *st;
	struct geofw_kdiff d = {};
	char err[GEOFW_ERRLEN] = "";

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		struct geofw_rule a = B("192.0.2.0/24", GEOFW_ACT_DROP, 0, "cli");
		struct geofw_rule b = B("2001:db8::/32", GEOFW_ACT_DROP, 0, "cli");
		struct geofw_rule bad = B("192.0.2.0/24", GEOFW_ACT_PASS, 0, "cli");
		size_t n = 0;

		ASSERT_EQ(geofw_store_add(st, &a, 1, 0, &d, err, sizeof(err)), -EINVAL,
			  "outside a transaction");
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_savepoint(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_add(st, &a, 1, 0, &d, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_release(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_savepoint(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_add(st, &b, 1, 0, &d, err, sizeof(err)), err);
		geofw_store_rollback_to(st);	/* the second change alone */
		ASSERT_EQ(geofw_store_add(st, &bad, 1, 0, &d, err, sizeof(err)), -EINVAL,
			  "pass is no block action");
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_for_each_rule(st, 0, NULL, count_rule, &n), "rows");
		ASSERT_EQ(n, 1, "first change committed, second undone");
		/* resolve after a rollback: the diff tells what the rows say */
		geofw_kdiff_reset(&d);
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_add(st, &b, 1, 0, &d, err, sizeof(err)), err);
		geofw_store_rollback(st);
		ASSERT_OK(geofw_store_resolve(st, &d), "resolve");
		ASSERT_TRUE(d.n == 1 && !d.v[0].present, "rolled back: not in the kernel");
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}

/* A process killed right after COMMIT (no close, no checkpoint): the WAL
 * brings every committed row back at the next open. */
void test_store_survives_kill(void)
{
	struct geofw_store *st;
	pid_t pid;
	int status;

	if (!make_tmpdir())
		return;
	pid = fork();
	if (pid == 0) {
		struct geofw_kdiff d = {};
		char err[GEOFW_ERRLEN];
		int i;

		if (geofw_store_open(tmpdir, &st, err, sizeof(err)))
			_exit(1);
		for (i = 0; i < 50; i++) {
			struct geofw_rule r = { .kind = GEOFW_RULE_BLOCK, .action = GEOFW_ACT_DROP,
						.source = "cli", .prefix = { .family = 4,
						.prefixlen = 32, .addr = { 198, 51, 100, (__u8)i } } };

			if (change_add(st, &r, 1, 0, &d))
				_exit(2);
		}
		kill(getpid(), SIGKILL);
		_exit(3);
	}
	ASSERT_TRUE(pid > 0, "fork");
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child killed");
	st = open_store();
	if (st) {
		size_t n = 0;

		ASSERT_OK(geofw_store_for_each_rule(st, 0, NULL, count_rule, &n), "rows");
		ASSERT_EQ(n, 50, "every committed row is back");
		geofw_store_close(st);
	}
	remove_tmpdir();
}

void test_store_sweep_and_countries(void)
{
	struct geofw_store *st;
	struct geofw_kdiff d = {};
	char err[GEOFW_ERRLEN] = "";
	int ru = geofw_country_id("RU");

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		struct geofw_rule r[] = {
			B("192.0.2.1/32", GEOFW_ACT_DROP, 1000, "cli"),
			B("192.0.2.2/32", GEOFW_ACT_DROP, 5000, "cli"),
			B("192.0.2.3/32", GEOFW_ACT_DROP, 0, "cli"),
		};
		struct geofw_store_countries c = { .override = true,
						   .mode = GEOFW_MODE_BLOCK_LISTED,
						   .action = GEOFW_ACT_HTTP403 };
		ASSERT_OK(change_add(st, r, 3, 0, &d), "add");
		geofw_kdiff_reset(&d);
		ASSERT_EQ(geofw_store_next_expiry(st), 1000, "earliest expiry");
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_EQ(geofw_store_sweep(st, 2000, &d, err, sizeof(err)), 1, "one expired");
		c.listed[ru] = true;
		c.country_action[ru] = GEOFW_ACT_DROP;
		ASSERT_OK(geofw_store_set_countries(st, &c, 0, 1, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 1 && !d.v[0].present, "expired entry removed");
		ASSERT_EQ(geofw_store_next_expiry(st), 5000, "next one");
		geofw_store_close(st);
		st = open_store();
	}
	if (st) {
		const struct geofw_store_countries *k = geofw_store_countries(st);

		ASSERT_TRUE(k->override && k->mode == GEOFW_MODE_BLOCK_LISTED &&
			    k->action == GEOFW_ACT_HTTP403, "policy kept");
		ASSERT_TRUE(k->listed[ru] && k->country_action[ru] == GEOFW_ACT_DROP, "RU kept");
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}

static void write_file(const char *name, const char *text, size_t len)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (ASSERT_TRUE(fd >= 0, "create file")) {
		ASSERT_EQ(write(fd, text, len), (ssize_t)len, "write");
		close(fd);
	}
}

static bool exists(const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return access(path, F_OK) == 0;
}

void test_store_refuses_damaged(void)
{
	struct geofw_store *st = NULL;
	char err[GEOFW_ERRLEN] = "", path[160];
	struct stat sb;
	int i;

	if (!make_tmpdir())
		return;
	write_file("rules.db", "this is not a database, just bytes ........................"
		   "...........................................................", 120);
	ASSERT_EQ(geofw_store_open(tmpdir, &st, err, sizeof(err)), -EUCLEAN, "garbage refused");
	ASSERT_TRUE(strstr(err, "rules.db") && strstr(err, "Restore the file"), err);
	ASSERT_TRUE(exists("rules.db"), "the file is left alone");

	/* A real database cut in half. */
	snprintf(path, sizeof(path), "%s/rules.db", tmpdir);
	unlink(path);
	st = open_store();
	if (st) {
		struct geofw_kdiff d = {};
		struct geofw_rule *r = calloc(5000, sizeof(*r));

		for (i = 0; r && i < 5000; i++)
			r[i] = (struct geofw_rule){ .kind = GEOFW_RULE_BLOCK,
				.action = GEOFW_ACT_DROP, .source = "import:x",
				.comment = "a comment long enough to fill pages",
				.prefix = { .family = 6, .prefixlen = 128,
					    .addr = { 0x20, 0x01, 0x0d, 0xb8, [14] = (__u8)(i >> 8),
						      [15] = (__u8)i } } };
		ASSERT_OK(change_add(st, r, 5000, GEOFW_STORE_ONE_ID, &d), "fill");
		free(r);
		geofw_kdiff_free(&d);
		geofw_store_close(st);
	}
	if (ASSERT_OK(stat(path, &sb), "stat"))
		ASSERT_OK(truncate(path, sb.st_size / 2), "truncate");
	st = NULL;
	ASSERT_TRUE(geofw_store_open(tmpdir, &st, err, sizeof(err)) < 0, "truncated refused");
	ASSERT_TRUE(strstr(err, "rules.db") != NULL, err);
	geofw_store_close(st);
	remove_tmpdir();
}

void test_store_migrates_v1(void)
{
	static const char v1[] =
		"# geofw state v1\n"
		"next-rule-id 7\n"
		"country-policy block drop\n"
		"country RU reject\n"
		"allow 192.0.2.0/24 id=1 comment=\"office VPN\"\n"
		"block 203.0.113.0/24 drop id=2 expires=1718275653 source=\"cli\" comment=\"a \\\"b\\\"\"\n"
		"block 198.51.100.7/32 reject id=3 source=\"import:drop.txt\"\n"
		"block 198.51.100.8/32 reject id=3 source=\"import:drop.txt\"\n"
		"block 2001:db8::/32 log id=4 source=\"cli\"\n"
		"list id=3 source=\"import:drop.txt\"\n";
	struct geofw_store *st = NULL;
	char err[GEOFW_ERRLEN] = "";

	if (!make_tmpdir())
		return;
	/* A cut file is refused and stays. */
	write_file("rules", v1, sizeof(v1) - 3);
	ASSERT_EQ(geofw_store_open(tmpdir, &st, err, sizeof(err)), -EINVAL, "cut v1 refused");
	ASSERT_TRUE(strstr(err, "cut short") != NULL, err);
	ASSERT_TRUE(exists("rules") && !exists("rules.v1.bak"), "v1 file kept");
	unlink(strcat(strcpy((char[160]){0}, tmpdir), "/rules.db"));

	write_file("rules", v1, sizeof(v1) - 1);
	st = open_store();
	ASSERT_TRUE(!exists("rules") && exists("rules.v1.bak"), "v1 file kept as rules.v1.bak");
	if (st) {
		struct geofw_store_counts n;
		struct collect c = {};
		const struct geofw_store_countries *k = geofw_store_countries(st);
		size_t i, found = 0;

		geofw_store_counts(st, &n);
		ASSERT_EQ(n.block_net4, 1, "v4 net");
		ASSERT_EQ(n.block_ip4, 2, "v4 hosts");
		ASSERT_EQ(n.block_net6, 1, "v6 net");
		ASSERT_EQ(n.allow4, 1, "allow");
		ASSERT_TRUE(k->override && k->listed[geofw_country_id("RU")] &&
			    k->country_action[geofw_country_id("RU")] == GEOFW_ACT_REJECT,
			    "country policy");
		ASSERT_OK(geofw_store_for_each_entry(st, collect_entry, &c), "entries");
		for (i = 0; i < c.n; i++) {
			char b[64];

			geofw_cidr_format(&c.v[i].prefix, b, sizeof(b));
			if (!strcmp(b, "203.0.113.0/24"))
				found += c.v[i].expires == 1718275653;
			if (!strcmp(b, "198.51.100.7/32") || !strcmp(b, "198.51.100.8/32"))
				found += c.v[i].action == GEOFW_ACT_REJECT;
		}
		ASSERT_EQ(found, 3, "expiry and actions migrated");
		geofw_store_close(st);
	}
	/* Next start: the database is in charge, the backup stays. */
	st = open_store();
	geofw_store_close(st);
	ASSERT_TRUE(exists("rules.v1.bak"), "backup kept");
	remove_tmpdir();
}

/* The kernel value of a wall-clock expiry follows the boot clock it is
 * applied against: after a reboot (boot clock near zero) the same stored
 * expiry still leaves the same time to run. */
void test_store_expiry_across_reboot(void)
{
	struct geofw_clock before = { .wall = 1800000000, .boot_ns = 900000ull * 1000000000 };
	struct geofw_clock after = { .wall = 1800000600, .boot_ns = 30ull * 1000000000 };
	__u64 expires = 1800003600;

	ASSERT_EQ(geofw_expiry_to_boot_ns(expires, &before), before.boot_ns + 3600ull * 1000000000,
		  "an hour left");
	ASSERT_EQ(geofw_expiry_to_boot_ns(expires, &after), after.boot_ns + 3000ull * 1000000000,
		  "50 minutes left after the reboot");
	ASSERT_EQ(geofw_expiry_to_boot_ns(0, &after), 0, "never");
	ASSERT_EQ(geofw_expiry_to_boot_ns(1700000000, &after), 1, "past: expired");
}

static int find_entry(struct geofw_store *st, const char *prefix, struct geofw_kentry *out)
{
	struct collect c = {};
	struct geofw_cidr p = P(prefix);
	size_t i;

	geofw_store_for_each_entry(st, collect_entry, &c);
	for (i = 0; i < c.n && i < 16; i++)
		if (!geofw_cidr_cmp(&c.v[i].prefix, &p)) {
			*out = c.v[i];
			return 0;
		}
	return -ENOENT;
}

/* An imported list is one row: precedence against rows, removal of one
 * prefix, --replace, expiry as a whole, and all of it after a reopen. */
void test_store_lists(void)
{
	struct geofw_cidr v1[] = { P("192.0.2.1/32"), P("192.0.2.2/32"), P("198.51.100.0/24") };
	struct geofw_cidr v2[] = { P("192.0.2.2/32"), P("203.0.113.0/24") };
	struct geofw_rule attrs = { .action = GEOFW_ACT_LOG, .comment = "feed", .uid = 1 };
	struct geofw_rule cli = B("192.0.2.2/32", GEOFW_ACT_REJECT, 0, "cli");
	struct geofw_kdiff d = {};
	struct geofw_kentry e;
	struct geofw_store *st;
	char err[GEOFW_ERRLEN] = "";
	size_t removed = 0, n;

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_import(st, "import:l", v1, 3, &attrs, false, &removed, &d, err,
					     sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_EQ(d.n, 3, "three entries");
		ASSERT_TRUE(d.v[0].present && d.v[0].action == GEOFW_ACT_LOG && d.v[0].rule_id,
			    "list action and id");
		geofw_kdiff_reset(&d);
		ASSERT_OK(change_add(st, &cli, 1, 0, &d), "cli row on a listed prefix");
		ASSERT_EQ(d.v[0].action, GEOFW_ACT_REJECT, "reject beats log");
		geofw_kdiff_reset(&d);

		/* --replace: 192.0.2.1 and 198.51.100.0/24 leave, 203.0.113.0/24 comes. */
		attrs.action = GEOFW_ACT_DROP;
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_import(st, "import:l", v2, 2, &attrs, true, &removed, &d, err,
					     sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_EQ(removed, 2, "two left the list");
		ASSERT_EQ(d.n, 4, "every prefix of old and new (the action changed)");
		geofw_kdiff_reset(&d);
		if (ASSERT_OK(find_entry(st, "192.0.2.2/32", &e), "entry"))
			ASSERT_EQ(e.action, GEOFW_ACT_DROP, "drop (list) beats reject (cli) now");
		ASSERT_EQ(find_entry(st, "192.0.2.1/32", &e), -ENOENT, "gone from the kernel view");

		/* del-block of every source takes the prefix out of the list too. */
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_del(st, GEOFW_RULE_BLOCK, &v2[0], 1, NULL, &d, err, sizeof(err)),
			  err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 1 && !d.v[0].present, "no source blocks it now");
		geofw_kdiff_reset(&d);
		n = 0;
		ASSERT_OK(geofw_store_for_each_rule(st, 0, "import:l", count_rule, &n), "list rows");
		ASSERT_EQ(n, 1, "one prefix left in the list");
		geofw_store_close(st);
		st = open_store();
	}
	if (st) {
		struct geofw_store_counts c;

		geofw_store_counts(st, &c);
		ASSERT_EQ(c.block_net4, 1, "the list after a reopen");
		ASSERT_EQ(c.block_ip4, 0, "cli row deleted with the prefix");
		/* A list with a TTL expires as a whole. */
		attrs.expires = 1000;
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_import(st, "import:t", v1, 3, &attrs, true, &removed, &d, err,
					     sizeof(err)), err);
		geofw_kdiff_reset(&d);
		ASSERT_EQ(geofw_store_next_expiry(st), 1000, "list expiry");
		ASSERT_EQ(geofw_store_sweep(st, 2000, &d, err, sizeof(err)), 3, "swept as a whole");
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_EQ(d.n, 3, "three entries resolved");
		geofw_kdiff_reset(&d);
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_EQ(geofw_store_del_source(st, "import:l", &d, err, sizeof(err)), 1, "del-source");
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		geofw_store_counts(st, &c);
		ASSERT_EQ(c.rows, 0, "nothing left");
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}

/* ---- AS rules ---------------------------------------------------------------- */

static struct geofw_rule AS(int kind, __u32 asn, int action, __u64 expires, const char *source)
{
	return (struct geofw_rule){ .kind = kind, .asn = asn, .action = (__u8)action,
				    .expires = expires, .source = source, .comment = "as",
				    .uid = 7, .pid = 42 };
}

struct asn_seen {
	struct geofw_rule v[8];
	char source[8][32];
	size_t n;
};

static int collect_asn(const struct geofw_rule *r, void *ctx)
{
	struct asn_seen *a = ctx;

	if (a->n < 8) {
		a->v[a->n] = *r;
		snprintf(a->source[a->n], sizeof(a->source[0]), "%s", r->source);
		a->v[a->n].source = a->source[a->n];
		a->v[a->n].comment = NULL;
	}
	a->n++;
	return 0;
}

static int asn_change(struct geofw_store *st, const struct geofw_rule *r, size_t n)
{
	struct geofw_kdiff d = {};
	int ret = change_add(st, r, n, 0, &d);

	/* AS rows never touch the prefix maps. */
	ASSERT_EQ(d.n, 0, "no kernel diff for AS rows");
	geofw_kdiff_free(&d);
	return ret;
}

/* Precedence as for prefixes: an allow of any source wins, then the
 * strictest action, then the longest expiry; expired rows are left out. */
void test_store_asn_precedence(void)
{
	__u64 now = (__u64)time(NULL);
	struct geofw_rule r[] = {
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_LOG, 0, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, now + 100, "crowdsec"),
		AS(GEOFW_RULE_BLOCK_ASN, 64501, GEOFW_ACT_REJECT, now + 100, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 64501, GEOFW_ACT_REJECT, 0, "fleet"),
		AS(GEOFW_RULE_BLOCK_ASN, 64502, GEOFW_ACT_DROP, 0, "cli"),
		AS(GEOFW_RULE_ALLOW_ASN, 64502, 0, 0, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 4200000000u, GEOFW_ACT_HTTP403, now + 100, "cli"),
	};
	struct geofw_store_counts n;
	struct asn_seen a = {};
	struct geofw_store *st;

	if (!make_tmpdir())
		return;
	st = open_store();
	if (!st)
		goto out;
	ASSERT_OK(asn_change(st, r, sizeof(r) / sizeof(r[0])), "add AS rules");
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "for_each_asn");
	if (ASSERT_EQ(a.n, 4, "one rule per AS")) {
		ASSERT_TRUE(a.v[0].asn == 64500 && a.v[0].action == GEOFW_ACT_DROP &&
			    !strcmp(a.v[0].source, "crowdsec"), "64500: drop beats log");
		ASSERT_TRUE(a.v[1].asn == 64501 && a.v[1].expires == 0 &&
			    !strcmp(a.v[1].source, "fleet"), "64501: never beats later");
		ASSERT_TRUE(a.v[2].asn == 64502 && a.v[2].kind == GEOFW_RULE_ALLOW_ASN,
			    "64502: allow wins");
		ASSERT_TRUE(a.v[3].asn == 4200000000u && a.v[3].action == GEOFW_ACT_HTTP403,
			    "32-bit AS, numeric order");
	}
	/* At the drop's expiry the log rule of 64500 takes over. */
	memset(&a, 0, sizeof(a));
	ASSERT_OK(geofw_store_for_each_asn(st, now + 100, collect_asn, &a), "later");
	ASSERT_TRUE(a.n == 3 && a.v[0].asn == 64500 && a.v[0].action == GEOFW_ACT_LOG &&
		    a.v[1].asn == 64501 && a.v[2].asn == 64502, "expired rows left out");
	geofw_store_counts(st, &n);
	ASSERT_EQ(n.block_asn, 4, "ASes blocked");
	ASSERT_EQ(n.allow_asn, 1, "ASes allowed");
	ASSERT_EQ(n.block_ip4 + n.block_net4 + n.allow4, 0, "no prefix counted");
	/* Replacing a row of the same AS and source keeps one row. */
	r[0].action = GEOFW_ACT_REJECT;
	ASSERT_OK(asn_change(st, r, 1), "replace");
	{
		size_t rows = 0;

		ASSERT_OK(geofw_store_for_each_rule(st, GEOFW_RULE_BLOCK_ASN, "cli", count_rule,
						    &rows), "rows");
		ASSERT_EQ(rows, 4, "cli's AS block rows (64500 replaced, not added)");
	}
	geofw_store_close(st);
out:
	remove_tmpdir();
}

void test_store_asn_del_sweep_source(void)
{
	__u64 now = (__u64)time(NULL);
	struct geofw_rule r[] = {
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, 0, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, 0, "crowdsec"),
		AS(GEOFW_RULE_BLOCK_ASN, 64501, GEOFW_ACT_DROP, now + 2, "crowdsec"),
		AS(GEOFW_RULE_ALLOW_ASN, 64503, 0, 0, "cli"),
	};
	struct geofw_rule bad[] = {
		AS(GEOFW_RULE_BLOCK_ASN, 0, GEOFW_ACT_DROP, 0, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_PASS, 0, "cli"),
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, 0, "config"),
	};
	char err[GEOFW_ERRLEN] = "";
	struct geofw_kdiff d = {};
	struct geofw_store *st;
	struct asn_seen a = {};
	__u32 asn;
	size_t i;
	long n;

	if (!make_tmpdir())
		return;
	st = open_store();
	if (!st)
		goto out;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(change_add(st, &bad[i], 1, 0, &d), -EINVAL, "invalid AS row refused");
	ASSERT_OK(asn_change(st, r, 4), "add");
	ASSERT_EQ(geofw_store_next_expiry(st), now + 2, "AS rows expire");

	/* del of one source leaves the other's row; del of a missing AS
	 * undoes the whole batch (the caller rolls back) and names it. */
	geofw_store_begin(st, err, sizeof(err));
	asn = 64500;
	ASSERT_OK(geofw_store_del_asn(st, GEOFW_RULE_BLOCK_ASN, &asn, 1, "cli", err, sizeof(err)),
		  err);
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	ASSERT_TRUE(a.n == 3 && !strcmp(a.v[0].source, "crowdsec"), "crowdsec's row stays");
	asn = 64599;
	ASSERT_EQ(geofw_store_del_asn(st, GEOFW_RULE_BLOCK_ASN, &asn, 1, NULL, err, sizeof(err)),
		  -ENOENT, "missing AS");
	ASSERT_TRUE(strstr(err, "AS64599 is not blocked") != NULL, err);
	asn = 64503;
	ASSERT_EQ(geofw_store_del_asn(st, GEOFW_RULE_BLOCK_ASN, &asn, 1, NULL, err, sizeof(err)),
		  -ENOENT, "an allowed AS is not blocked");
	ASSERT_OK(geofw_store_del_asn(st, GEOFW_RULE_ALLOW_ASN, &asn, 1, NULL, err, sizeof(err)),
		  err);
	geofw_store_rollback(st);
	memset(&a, 0, sizeof(a));
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	ASSERT_EQ(a.n, 3, "rollback restores every AS row");

	/* The sweep removes an expired AS row (no prefix diff). */
	geofw_store_begin(st, err, sizeof(err));
	n = geofw_store_sweep(st, now + 2, &d, err, sizeof(err));
	ASSERT_EQ(n, 0, "AS rows are not prefix entries");
	ASSERT_EQ(d.n, 0, "no diff");
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	ASSERT_EQ(geofw_store_next_expiry(st), 0, "expired AS row swept");
	{
		size_t rows = 0;

		ASSERT_OK(geofw_store_for_each_rule(st, GEOFW_RULE_BLOCK_ASN, NULL, count_rule,
						    &rows), "rows");
		ASSERT_EQ(rows, 2, "64501's row gone, 64500's two stay");
	}

	/* del-source takes the source's AS rows too, and keeps the country
	 * policy of cli. */
	{
		struct geofw_store_countries c = { .override = true,
						   .mode = GEOFW_MODE_BLOCK_LISTED,
						   .action = GEOFW_ACT_DROP };

		c.listed[geofw_country_id("RU")] = true;
		geofw_store_begin(st, err, sizeof(err));
		ASSERT_OK(geofw_store_set_countries(st, &c, 0, 0, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	}
	geofw_store_begin(st, err, sizeof(err));
	n = geofw_store_del_source(st, "cli", &d, err, sizeof(err));
	ASSERT_EQ(n, 2, err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	memset(&a, 0, sizeof(a));
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	ASSERT_TRUE(a.n == 1 && a.v[0].asn == 64500 && !strcmp(a.v[0].source, "crowdsec"),
		    "crowdsec's rule is the one left");
	ASSERT_TRUE(geofw_store_countries(st)->override, "country policy kept");
	geofw_kdiff_free(&d);
	geofw_store_close(st);

	/* Reopened: the rows are on disk. */
	st = open_store();
	memset(&a, 0, sizeof(a));
	if (st)
		ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	ASSERT_EQ(a.n, 1, "AS rule survives a reopen");
	geofw_store_close(st);
out:
	remove_tmpdir();
}

/* A rules.db of schema 1, made by the store before AS rules
 * (tests/fixtures/rules-schema1.sql), opens: its rules are all there, the
 * version is 2, AS rules can be added. */
void test_store_migrates_schema1(void)
{
	struct geofw_store *st = NULL;
	struct geofw_store_counts n;
	struct collect c = {};
	struct asn_seen a = {};
	struct geofw_rule r = AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, 0, "cli");
	char path[160], cmd[400], err[GEOFW_ERRLEN] = "";
	sqlite3 *db;
	sqlite3_stmt *s;
	size_t rows = 0;

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/rules.db", tmpdir);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' < tests/fixtures/rules-schema1.sql", path);
	if (!ASSERT_OK(system(cmd), "sqlite3 < rules-schema1.sql"))
		goto out;
	ASSERT_OK(geofw_store_open(tmpdir, &st, err, sizeof(err)), err);
	if (!st)
		goto out;
	geofw_store_counts(st, &n);
	ASSERT_EQ(n.block_net4, 3, "198.51.100.0/24 and the list's two /25s");
	ASSERT_EQ(n.block_net6, 1, "crowdsec's /48");
	ASSERT_EQ(n.allow4, 1, "allow");
	ASSERT_TRUE(geofw_store_countries(st)->override &&
		    geofw_store_countries(st)->listed[geofw_country_id("RU")], "countries");
	ASSERT_OK(geofw_store_for_each_entry(st, collect_entry, &c), "entries");
	ASSERT_OK(geofw_store_for_each_rule(st, 0, NULL, count_rule, &rows), "rows");
	ASSERT_EQ(rows, 6, "every row and list entry (country rows too)");
	ASSERT_OK(asn_change(st, &r, 1), "an AS rule in the migrated file");
	geofw_store_close(st);

	if (ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK, "open")) {
		sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, NULL);
		if (ASSERT_EQ(sqlite3_step(s), SQLITE_ROW, "version row"))
			ASSERT_EQ(sqlite3_column_int(s, 0), GEOFW_STORE_SCHEMA, "schema migrated to the latest");
		ASSERT_EQ(sqlite3_step(s), SQLITE_DONE, "one version row");
		sqlite3_finalize(s);
		sqlite3_prepare_v2(db, "SELECT prefix,hex(addr),family FROM rules WHERE kind=4",
				   -1, &s, NULL);
		if (ASSERT_EQ(sqlite3_step(s), SQLITE_ROW, "AS row")) {
			ASSERT_STREQ((const char *)sqlite3_column_text(s, 0), "AS64500", "text");
			ASSERT_STREQ((const char *)sqlite3_column_text(s, 1), "0000FBF4", "key");
		}
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
	st = open_store();
	if (st)
		ASSERT_OK(geofw_store_for_each_asn(st, 0, collect_asn, &a), "walk");
	ASSERT_EQ(a.n, 1, "AS rule read back");
	geofw_store_close(st);

	/* A newer schema than this store knows is refused, untouched. */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'UPDATE schema_version SET version=4'", path);
	ASSERT_OK(system(cmd), "version 4");
	ASSERT_EQ(geofw_store_open(tmpdir, &st, err, sizeof(err)), -EPROTO, "newer refused");
	ASSERT_TRUE(strstr(err, "schema version 4") != NULL, err);
out:
	remove_tmpdir();
}

/* A source's full set of AS decisions (CrowdSec's start-up stream): rows
 * not in the set go, the others are added or updated, other sources stay. */
void test_store_asn_replace_source(void)
{
	__u64 now = (__u64)time(NULL);
	struct geofw_rule first[] = {
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, now + 3600, "crowdsec"),
		AS(GEOFW_RULE_BLOCK_ASN, 64501, GEOFW_ACT_DROP, now + 3600, "crowdsec"),
		AS(GEOFW_RULE_BLOCK_ASN, 64501, GEOFW_ACT_LOG, 0, "cli"),
	};
	struct geofw_rule second[] = {
		AS(GEOFW_RULE_BLOCK_ASN, 64502, GEOFW_ACT_REJECT, now + 60, "crowdsec"),
		AS(GEOFW_RULE_BLOCK_ASN, 64500, GEOFW_ACT_DROP, now + 7200, "crowdsec"),
	};
	struct geofw_rule wrong = AS(GEOFW_RULE_BLOCK_ASN, 64503, GEOFW_ACT_DROP, 0, "cli");
	char err[GEOFW_ERRLEN] = "";
	struct geofw_store *st;
	struct asn_seen a = {};
	size_t removed = 0;

	if (!make_tmpdir())
		return;
	st = open_store();
	if (!st)
		goto out;
	ASSERT_OK(asn_change(st, first, 3), "first set");
	geofw_store_begin(st, err, sizeof(err));
	ASSERT_EQ(geofw_store_replace_source_asn(st, "crowdsec", &wrong, 1, &removed, err,
						 sizeof(err)), -EINVAL, "another source's row refused");
	ASSERT_OK(geofw_store_replace_source_asn(st, "crowdsec", second, 2, &removed, err,
						 sizeof(err)), err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	ASSERT_EQ(removed, 1, "64501 of crowdsec removed");
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	if (ASSERT_EQ(a.n, 3, "64500, 64501 (cli's), 64502")) {
		ASSERT_TRUE(a.v[0].asn == 64500 && a.v[0].expires == now + 7200, "64500 updated");
		ASSERT_TRUE(a.v[1].asn == 64501 && !strcmp(a.v[1].source, "cli") &&
			    a.v[1].action == GEOFW_ACT_LOG, "cli's rule of 64501 stays");
		ASSERT_TRUE(a.v[2].asn == 64502 && a.v[2].action == GEOFW_ACT_REJECT, "64502 added");
	}
	/* An empty set removes the source's AS rows. */
	geofw_store_begin(st, err, sizeof(err));
	ASSERT_OK(geofw_store_replace_source_asn(st, "crowdsec", NULL, 0, &removed, err,
						 sizeof(err)), err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	ASSERT_EQ(removed, 2, "both crowdsec rows removed");
	memset(&a, 0, sizeof(a));
	ASSERT_OK(geofw_store_for_each_asn(st, now, collect_asn, &a), "walk");
	ASSERT_TRUE(a.n == 1 && a.v[0].asn == 64501, "cli's row left");
	geofw_store_close(st);
out:
	remove_tmpdir();
}

static int collect_prule(const struct geofw_prule *r, void *ctx)
{
	char *out = ctx, ports[GEOFW_PORTS_STRLEN], target[GEOFW_CIDR_STRLEN];
	size_t l = strlen(out);

	geofw_ports_format(&r->ports, ports, sizeof(ports));
	geofw_prule_target(r, target, sizeof(target));
	snprintf(out + l, 1024 - l, "%s %s %s %s %u %s;", geofw_prule_kind_name(r->kind), ports,
		 target, r->source, r->rule_id ? 1u : 0u, r->comment);
	return 0;
}

static struct geofw_prule PR(int kind, const char *ports, const char *target, __u8 action,
			     __u64 expires)
{
	struct geofw_prule r = { .kind = kind, .action = action, .expires = expires,
				 .source = "cli", .comment = "c" };

	ASSERT_OK(geofw_ports_parse(ports, &r.ports, NULL, 0), ports);
	ASSERT_OK(geofw_prule_target_parse(target, &r, NULL, 0), target);
	return r;
}

/* Port-scoped rows: added, replaced in place, listed, removed, swept; a
 * database of schema 2 (before port rules) gets the tables at open and
 * keeps its rules. */
void test_store_port_rules(void)
{
	struct geofw_prule r[3];
	struct geofw_store *st;
	char list[1024] = "", err[GEOFW_ERRLEN] = "", path[128];
	sqlite3 *db;

	if (!make_tmpdir())
		return;
	/* A schema-2 database as geofw wrote it before port rules, with one
	 * block row. */
	snprintf(path, sizeof(path), "%s/rules.db", tmpdir);
	st = open_store();
	if (!st) {
		remove_tmpdir();
		return;
	}
	{
		struct geofw_rule b = B("203.0.113.0/24", GEOFW_ACT_DROP, 0, "cli");
		struct geofw_kdiff d = {};

		ASSERT_OK(change_add(st, &b, 1, 0, &d), "add block");
		geofw_kdiff_free(&d);
	}
	geofw_store_close(st);
	ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK, "open");
	ASSERT_EQ(sqlite3_exec(db, "DROP TABLE port_rules; DROP TABLE ratelimits; "
			       "UPDATE schema_version SET version=2",
			       NULL, NULL, NULL), SQLITE_OK, "make schema 2");
	sqlite3_close(db);

	st = open_store();
	if (!ASSERT_TRUE(st != NULL, "schema 2 migrated")) {
		remove_tmpdir();
		return;
	}
	ASSERT_EQ(geofw_store_next_expiry(st), 0, "nothing expires");
	r[0] = PR(GEOFW_PRULE_ALLOW, "22/tcp", "192.0.2.0/24", GEOFW_ACT_PASS, 0);
	r[1] = PR(GEOFW_PRULE_COUNTRY, "443,80/tcp", "CN", GEOFW_ACT_DROP, 0);
	r[2] = PR(GEOFW_PRULE_ONLY, "22/tcp", "DE", GEOFW_ACT_DROP, (__u64)time(NULL) - 1);
	ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
	ASSERT_OK(geofw_store_port_add(st, r, 3, err, sizeof(err)), err);
	r[0].comment = "again";
	ASSERT_OK(geofw_store_port_add(st, r, 1, err, sizeof(err)), err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	geofw_store_close(st);

	st = open_store();
	if (!st) {
		remove_tmpdir();
		return;
	}
	ASSERT_OK(geofw_store_port_for_each(st, collect_prule, list), "list");
	ASSERT_STREQ(list, "allow 22/tcp 192.0.2.0/24 cli 1 again;"
		     "block-country 80,443/tcp CN cli 1 c;allow-only 22/tcp DE cli 1 c;", "rows");
	ASSERT_TRUE(geofw_store_next_expiry(st) > 0, "the allow-only row expires");
	ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
	ASSERT_EQ(geofw_store_port_sweep(st, (__u64)time(NULL), err, sizeof(err)), 1, "swept");
	ASSERT_EQ(geofw_store_port_del(st, GEOFW_PRULE_COUNTRY, &r[1].ports, "CN", NULL, err,
				       sizeof(err)), 1, "del");
	ASSERT_EQ(geofw_store_port_del(st, GEOFW_PRULE_COUNTRY, &r[1].ports, "CN", NULL, err,
				       sizeof(err)), -ENOENT, "del again");
	ASSERT_TRUE(strstr(err, "80,443/tcp") != NULL, err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	list[0] = 0;
	ASSERT_OK(geofw_store_port_for_each(st, collect_prule, list), "list");
	ASSERT_STREQ(list, "allow 22/tcp 192.0.2.0/24 cli 1 again;", "left");
	/* AS targets: the same table and kinds, target "AS64500" (schema 3
	 * unchanged: port_rules came in this release with them). */
	r[0] = PR(GEOFW_PRULE_BLOCK, "22/tcp", "AS64500", GEOFW_ACT_DROP, 0);
	r[1] = PR(GEOFW_PRULE_ONLY, "443/tcp", "AS64501", GEOFW_ACT_REJECT, 0);
	ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
	ASSERT_OK(geofw_store_port_add(st, r, 2, err, sizeof(err)), err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	list[0] = 0;
	ASSERT_OK(geofw_store_port_for_each(st, collect_prule, list), "list");
	ASSERT_STREQ(list, "allow 22/tcp 192.0.2.0/24 cli 1 again;block 22/tcp AS64500 cli 1 c;"
		     "allow-only 443/tcp AS64501 cli 1 c;", "AS rows");
	ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
	ASSERT_EQ(geofw_store_port_del(st, GEOFW_PRULE_BLOCK, &r[0].ports, "AS64500", NULL, err,
				       sizeof(err)), 1, "del AS");
	ASSERT_EQ(geofw_store_port_del(st, GEOFW_PRULE_BLOCK, &r[0].ports, "AS64500", NULL, err,
				       sizeof(err)), -ENOENT, "del AS again");
	ASSERT_TRUE(strstr(err, "AS64500") != NULL, err);
	ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
	{
		struct geofw_store_counts c;

		geofw_store_counts(st, &c);
		ASSERT_EQ(c.block_net4, 1, "the schema-1 block row kept");
	}
	geofw_store_close(st);
	remove_tmpdir();
}

/* ---- source classes (403 page per source) -------------------------------------- */

void test_store_source_class(void)
{
	struct geofw_rule cli = B("203.0.113.7/32", GEOFW_ACT_REJECT, 0, "cli");
	struct geofw_rule cs = B("203.0.113.7/32", GEOFW_ACT_HTTP403, 0, "crowdsec");
	struct geofw_rule rl = B("192.0.2.9/32", GEOFW_ACT_DROP, 0, "ratelimit");
	struct geofw_rule attrs = { .action = GEOFW_ACT_HTTP403, .comment = "l", .uid = 1 };
	struct geofw_cidr feed[] = { P("198.51.100.0/24"), P("2001:db8:f::/48") };
	struct geofw_cidr imp[] = { P("198.51.100.0/25"), P("2001:db8:e::/48") };
	struct geofw_cidr *big;
	struct geofw_kdiff d = {};
	struct geofw_kentry e;
	struct geofw_store *st;
	char err[GEOFW_ERRLEN] = "", text[64];
	size_t removed = 0, i, n_feed = 0, n_cs = 0;

	ASSERT_EQ(geofw_source_class("feed:firehol"), GEOFW_RC_FEED, "feed:NAME");
	ASSERT_EQ(geofw_source_class("crowdsec"), GEOFW_RC_CROWDSEC, "crowdsec");
	ASSERT_EQ(geofw_source_class("ratelimit"), GEOFW_RC_RATELIMIT, "ratelimit");
	ASSERT_EQ(geofw_source_class("cli"), GEOFW_RC_IP, "cli");
	ASSERT_EQ(geofw_source_class("fleet"), GEOFW_RC_IP, "fleet");
	ASSERT_EQ(geofw_source_class("import:x"), GEOFW_RC_IP, "an imported list");
	ASSERT_EQ(geofw_source_class("feed"), GEOFW_RC_IP, "feed without a name");
	ASSERT_EQ(geofw_source_class("crowdsec2"), GEOFW_RC_IP, "not crowdsec");
	ASSERT_EQ(geofw_source_class(NULL), GEOFW_RC_IP, "no source");

	if (!make_tmpdir())
		return;
	st = open_store();
	if (st) {
		/* Rows: the class of the winning row, in the diff and at start. */
		ASSERT_OK(change_add(st, &cli, 1, 0, &d), "cli row");
		ASSERT_EQ(d.v[0].src_class, GEOFW_RC_IP, "cli: ip");
		geofw_kdiff_reset(&d);
		ASSERT_OK(change_add(st, &cs, 1, 0, &d), "crowdsec row, loses");
		ASSERT_TRUE(d.n == 1 && d.v[0].action == GEOFW_ACT_REJECT &&
			    d.v[0].src_class == GEOFW_RC_IP, "reject (cli) beats http403: ip");
		geofw_kdiff_reset(&d);
		cs.action = GEOFW_ACT_DROP;
		ASSERT_OK(change_add(st, &cs, 1, 0, &d), "crowdsec drop row, wins");
		ASSERT_TRUE(d.n == 1 && d.v[0].action == GEOFW_ACT_DROP &&
			    d.v[0].src_class == GEOFW_RC_CROWDSEC, "drop (crowdsec) wins: crowdsec");
		geofw_kdiff_reset(&d);
		if (ASSERT_OK(find_entry(st, "203.0.113.7/32", &e), "entry at start"))
			ASSERT_EQ(e.src_class, GEOFW_RC_CROWDSEC, "start: crowdsec");
		ASSERT_OK(change_add(st, &rl, 1, 0, &d), "ratelimit row");
		ASSERT_EQ(d.v[0].src_class, GEOFW_RC_RATELIMIT, "ratelimit");
		geofw_kdiff_reset(&d);

		/* Lists: a feed's set is feed, an imported list ip. */
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_import(st, "feed:f", feed, 2, &attrs, true, &removed, &d,
					     err, sizeof(err)), err);
		ASSERT_OK(geofw_store_import(st, "import:l", imp, 2, &attrs, true, &removed, &d,
					     err, sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		for (i = 0; i < d.n; i++)
			ASSERT_EQ(d.v[i].src_class,
				  geofw_cidr_cmp(&d.v[i].prefix, &feed[0]) &&
				  geofw_cidr_cmp(&d.v[i].prefix, &feed[1]) ? GEOFW_RC_IP : GEOFW_RC_FEED,
				  "list class in the diff");
		geofw_kdiff_reset(&d);
		if (ASSERT_OK(find_entry(st, "2001:db8:f::/48", &e), "feed entry at start"))
			ASSERT_EQ(e.src_class, GEOFW_RC_FEED, "start: feed");
		if (ASSERT_OK(find_entry(st, "2001:db8:e::/48", &e), "list entry at start"))
			ASSERT_EQ(e.src_class, GEOFW_RC_IP, "start: imported list ip");

		/* The crowdsec row leaves: the cli row's class is back. */
		ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
		ASSERT_OK(geofw_store_del(st, GEOFW_RULE_BLOCK, &cli.prefix, 1, "crowdsec", &d, err,
					  sizeof(err)), err);
		ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
		ASSERT_TRUE(d.n == 1 && d.v[0].present && d.v[0].action == GEOFW_ACT_REJECT &&
			    d.v[0].src_class == GEOFW_RC_IP, "cli back: ip");
		geofw_kdiff_reset(&d);

		/* A large feed (resolved by one ordered scan) against a crowdsec
		 * row on one of its addresses: the drop row wins with its class. */
		cs.prefix = P("2001:db8:1::7/128");
		ASSERT_OK(change_add(st, &cs, 1, 0, &d), "crowdsec row in the big feed");
		geofw_kdiff_reset(&d);
		big = calloc(5000, sizeof(*big));
		if (ASSERT_TRUE(big != NULL, "calloc")) {
			for (i = 0; i < 5000; i++) {
				/* in order, as an import wants them */
				snprintf(text, sizeof(text), "2001:db8:1::%zx/128", i + 1);
				big[i] = P(text);
			}
			ASSERT_OK(geofw_store_begin(st, err, sizeof(err)), err);
			ASSERT_OK(geofw_store_import(st, "feed:big", big, 5000, &attrs, true,
						     &removed, &d, err, sizeof(err)), err);
			ASSERT_OK(geofw_store_commit(st, err, sizeof(err)), err);
			for (i = 0; i < d.n; i++) {
				n_feed += d.v[i].src_class == GEOFW_RC_FEED;
				n_cs += d.v[i].src_class == GEOFW_RC_CROWDSEC &&
					d.v[i].action == GEOFW_ACT_DROP;
			}
			ASSERT_EQ(d.n, 5000, "entries");
			ASSERT_EQ(n_cs, 1, "the crowdsec row's address: crowdsec");
			ASSERT_EQ(n_feed, 4999, "the others: feed");
			free(big);
		}
		geofw_store_close(st);
	}
	geofw_kdiff_free(&d);
	remove_tmpdir();
}
