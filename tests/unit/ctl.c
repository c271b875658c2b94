// SPDX-License-Identifier: GPL-2.0-only
/* fwctl <-> geofwd protocol (user/lib/ctl.c): messages, fds, sockets, auth. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "test.h"

#define NOBODY		65534
#define TEST_GID	4242

static char tmpdir[64];

static bool make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/geofw-ctl-XXXXXX");
	return ASSERT_TRUE(mkdtemp(tmpdir) != NULL, "mkdtemp");
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ASSERT_OK(system(cmd), "rm -rf tmpdir");
	tmpdir[0] = '\0';
}

static bool seqpacket_pair(int sv[2])
{
	return ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ? -errno : 0,
			 "socketpair");
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A request message assembled by hand, for the malformed cases. */
static size_t raw_request(char *buf, __u32 magic, int version, int type, int flags,
			  const char *body, size_t blen)
{
	struct geofw_ctl_hdr h = {
		.magic = magic, .version = version, .type = type, .flags = flags,
	};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), body, blen);
	return sizeof(h) + blen;
}

/* ---- requests ----------------------------------------------------------------------- */

static const char *const args_list[] = { "list" };
static const char *const args_add[] = { "add-block", "203.0.113.0/24", "--ttl", "2h" };
static const char *const args_empty[] = { "x", "", "", "y", "" };
static const char *const args_text[] = { "block", "--comment", "Zürich \"q\" \\ \t end" };

static const struct {
	const char *name;
	int argc;
	const char *const *argv;
	unsigned int flags;
} req_rows[] = {
	{ "one word", 1, args_list, 0 },
	{ "add-block", 4, args_add, 0 },
	{ "empty strings", 5, args_empty, 0 },
	{ "any bytes", 3, args_text, GEOFW_CTL_F_JSON },
};

static void check_roundtrip(int sv[2], int argc, const char *const *argv, unsigned int flags)
{
	struct geofw_ctl_request req;
	char *buf = malloc(GEOFW_CTL_MSG_MAX), err[256] = "";
	size_t len;
	int i;

	if (!ASSERT_OK(geofw_ctl_build_request(argc, argv, flags, buf, GEOFW_CTL_MSG_MAX, &len,
					       err, sizeof(err)), err))
		goto out;
	if (!ASSERT_OK(geofw_ctl_send_msg(sv[0], buf, len, -1), "send"))
		goto out;
	if (!ASSERT_OK(geofw_ctl_recv_request(sv[1], &req, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(req.argc, argc, "argc");
	ASSERT_EQ(req.flags, flags, "flags");
	ASSERT_EQ(req.fd, -1, "no fd");
	ASSERT_TRUE(req.argv[req.argc] == NULL, "argv ends with NULL");
	for (i = 0; i < argc && i < req.argc; i++)
		if (strcmp(req.argv[i], argv[i]))
			test__fail(__FILE__, __LINE__, "argv[%d] differs", i);
	geofw_ctl_request_free(&req);
out:
	free(buf);
}

void test_ctl_request(void)
{
	const char **many = calloc(GEOFW_CTL_ARGS_MAX + 1, sizeof(*many));
	char *big = malloc(GEOFW_CTL_MSG_MAX + 1), *msg = malloc(GEOFW_CTL_MSG_MAX + 1);
	char err[256];
	struct geofw_ctl_request req;
	size_t i, len, longest;
	int sv[2];

	if (!many || !big || !msg || !seqpacket_pair(sv))
		goto out;
	for (i = 0; i < sizeof(req_rows) / sizeof(req_rows[0]); i++)
		SUBTEST("%s", req_rows[i].name)
			check_roundtrip(sv, req_rows[i].argc, req_rows[i].argv, req_rows[i].flags);

	SUBTEST("most arguments") {
		many[0] = "cmd";
		for (i = 1; i <= GEOFW_CTL_ARGS_MAX; i++)
			many[i] = "";
		check_roundtrip(sv, GEOFW_CTL_ARGS_MAX, many, 0);
		ASSERT_EQ(geofw_ctl_build_request(GEOFW_CTL_ARGS_MAX + 1, many, 0, msg,
						  GEOFW_CTL_MSG_MAX, &len, err, sizeof(err)),
			  -E2BIG, "one more");
		ASSERT_STREQ(err, "too many arguments: 4097 (at most 4096)", "message");
	}

	SUBTEST("largest message") {
		/* header + "cmd\0" + the argument + its NUL = 64 KiB */
		longest = GEOFW_CTL_MSG_MAX - sizeof(struct geofw_ctl_hdr) - 4 - 1;
		memset(big, 'a', longest);
		big[longest] = '\0';
		many[0] = "cmd";
		many[1] = big;
		check_roundtrip(sv, 2, many, 0);
		big[longest] = 'a';
		big[longest + 1] = '\0';
		ASSERT_EQ(geofw_ctl_build_request(2, many, 0, msg, GEOFW_CTL_MSG_MAX, &len, err,
						  sizeof(err)), -E2BIG, "one byte more");
		ASSERT_TRUE(strstr(err, "request too large") != NULL, err);
	}

	SUBTEST("oversize on the wire") {
		/* A peer that ignores the limit: the rest of the message is lost
		 * and the request refused. */
		len = raw_request(msg, GEOFW_CTL_MAGIC, GEOFW_CTL_VERSION, GEOFW_CTL_REQUEST, 0,
				  "x", 1);
		memset(msg + len, 0, GEOFW_CTL_MSG_MAX + 1 - len);
		ASSERT_OK(geofw_ctl_send_msg(sv[0], msg, GEOFW_CTL_MSG_MAX + 1, -1), "send");
		ASSERT_EQ(geofw_ctl_recv_request(sv[1], &req, err, sizeof(err)), -EMSGSIZE, "recv");
		ASSERT_STREQ(err, "request larger than 65536 bytes", "message");
		/* The connection still works for the next message. */
		check_roundtrip(sv, 1, args_list, 0);
	}

	SUBTEST("client gone") {
		int pair[2];

		if (seqpacket_pair(pair)) {
			close(pair[0]);
			ASSERT_EQ(geofw_ctl_recv_request(pair[1], &req, err, sizeof(err)),
				  -ECONNRESET, "EOF");
			close(pair[1]);
		}
	}

	SUBTEST("bad build arguments") {
		const char *const none[] = { "" };

		ASSERT_EQ(geofw_ctl_build_request(0, args_list, 0, msg, GEOFW_CTL_MSG_MAX, &len,
						  err, sizeof(err)), -EINVAL, "argc 0");
		ASSERT_EQ(geofw_ctl_build_request(1, none, 0, msg, GEOFW_CTL_MSG_MAX, &len,
						  err, sizeof(err)), -EINVAL, "empty command");
		ASSERT_EQ(geofw_ctl_build_request(1, args_list, 0x80, msg, GEOFW_CTL_MSG_MAX, &len,
						  err, sizeof(err)), -EINVAL, "flags");
		ASSERT_EQ(geofw_ctl_build_request(4, args_add, 0, msg, 20, &len,
						  err, sizeof(err)), -E2BIG, "small buffer");
	}
	close_pair(sv);
out:
	free(many);
	free(big);
	free(msg);
}

static const struct {
	const char *name;
	__u32 magic;
	int version, type, flags;
	const char *body;
	size_t blen;
	const char *err;
} bad_req_rows[] = {
	{ "bad magic", 0x12345678, 1, 1, 0, "list", 5, "not a geofw request (bad magic 0x12345678)" },
	{ "version 2", GEOFW_CTL_MAGIC, 2, 1, 0, "list", 5, "request of protocol version 2, expected 1" },
	{ "version 0", GEOFW_CTL_MAGIC, 0, 1, 0, "list", 5, "protocol version 0" },
	{ "data type", GEOFW_CTL_MAGIC, 1, GEOFW_CTL_DATA, 0, "list", 5, "message type 2 is not a request" },
	{ "end type", GEOFW_CTL_MAGIC, 1, GEOFW_CTL_END, 0, "list", 5, "message type 3 is not a request" },
	{ "unknown flag", GEOFW_CTL_MAGIC, 1, 1, 0x100, "list", 5, "unknown request flags 0x100" },
	{ "no body", GEOFW_CTL_MAGIC, 1, 1, 0, "", 0, "empty request: no command" },
	{ "no final NUL", GEOFW_CTL_MAGIC, 1, 1, 0, "list", 4, "arguments not NUL-terminated" },
	{ "no final NUL 2", GEOFW_CTL_MAGIC, 1, 1, 0, "list\0x", 6, "not NUL-terminated" },
	{ "empty command", GEOFW_CTL_MAGIC, 1, 1, 0, "\0list", 6, "empty command" },
	{ "only NUL", GEOFW_CTL_MAGIC, 1, 1, 0, "", 1, "empty command" },
};

void test_ctl_request_malformed(void)
{
	char *buf = malloc(GEOFW_CTL_MSG_MAX + 16), err[256];
	struct geofw_ctl_request req;
	unsigned int seed = 3, i, k;
	size_t len;
	int ret;

	if (!ASSERT_TRUE(buf != NULL, "malloc"))
		return;
	SUBTEST("truncated header") {
		len = raw_request(buf, GEOFW_CTL_MAGIC, 1, 1, 0, "list", 5);
		for (i = 0; i < sizeof(struct geofw_ctl_hdr); i++) {
			ret = geofw_ctl_parse_request(buf, i, &req, err, sizeof(err));
			ASSERT_EQ(ret, -EINVAL, "truncated");
		}
		ASSERT_STREQ(err, "request truncated: 7 bytes, the header alone is 8", "message");
		ASSERT_OK(geofw_ctl_parse_request(buf, len, &req, err, sizeof(err)), "whole");
		geofw_ctl_request_free(&req);
	}
	for (i = 0; i < sizeof(bad_req_rows) / sizeof(bad_req_rows[0]); i++) {
		SUBTEST("%s", bad_req_rows[i].name) {
			len = raw_request(buf, bad_req_rows[i].magic, bad_req_rows[i].version,
					  bad_req_rows[i].type, bad_req_rows[i].flags,
					  bad_req_rows[i].body, bad_req_rows[i].blen);
			err[0] = '\0';
			ret = geofw_ctl_parse_request(buf, len, &req, err, sizeof(err));
			ASSERT_EQ(ret, -EINVAL, "rejected");
			ASSERT_TRUE(req.argv == NULL && req.buf == NULL && req.fd == -1, "req empty");
			if (!strstr(err, bad_req_rows[i].err))
				test__fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"",
					   err, bad_req_rows[i].err);
		}
	}
	SUBTEST("too many arguments") {
		char body[2 + GEOFW_CTL_ARGS_MAX];

		memset(body, 0, sizeof(body));
		body[0] = 'c';
		/* "c\0" and 4096 empty ones: 4097 arguments */
		len = raw_request(buf, GEOFW_CTL_MAGIC, 1, 1, 0, body, sizeof(body));
		ASSERT_EQ(geofw_ctl_parse_request(buf, len, &req, err, sizeof(err)), -EINVAL, "4097");
		ASSERT_STREQ(err, "more than 4096 arguments", "message");
		len--;
		ASSERT_OK(geofw_ctl_parse_request(buf, len, &req, err, sizeof(err)), "4096");
		ASSERT_EQ(req.argc, GEOFW_CTL_ARGS_MAX, "argc");
		geofw_ctl_request_free(&req);
	}
	SUBTEST("too long") {
		/* One long argument, NUL-terminated at either length. */
		len = raw_request(buf, GEOFW_CTL_MAGIC, 1, 1, 0, "x", 1);
		memset(buf + len, 'a', GEOFW_CTL_MSG_MAX + 1 - len);
		buf[GEOFW_CTL_MSG_MAX - 1] = '\0';
		buf[GEOFW_CTL_MSG_MAX] = '\0';
		ASSERT_EQ(geofw_ctl_parse_request(buf, GEOFW_CTL_MSG_MAX + 1, &req, err,
						  sizeof(err)), -EINVAL, "65537");
		ASSERT_OK(geofw_ctl_parse_request(buf, GEOFW_CTL_MSG_MAX, &req, err,
						  sizeof(err)), "65536");
		geofw_ctl_request_free(&req);
	}
	SUBTEST("garbage") {
		/* Fuzz-style: any bytes, a valid header half of the time. */
		for (i = 0; i < 50000; i++) {
			len = rand_r(&seed) % 64;
			for (k = 0; k < len; k++)
				buf[k] = rand_r(&seed) % 4 ? rand_r(&seed) % 3 ? 'a' : 0 : rand_r(&seed);
			if (i % 2 && len >= 8)
				raw_request(buf, GEOFW_CTL_MAGIC, 1, 1, rand_r(&seed) % 4, "", 0);
			ret = geofw_ctl_parse_request(buf, len, &req, err, sizeof(err));
			if (ret) {
				if (!ASSERT_EQ(ret, -EINVAL, "code"))
					break;
				continue;
			}
			/* Accepted: argv must cover the body exactly. */
			for (k = 0, len -= 8; (int)k < req.argc; k++)
				len -= strlen(req.argv[k]) + 1;
			if (!ASSERT_EQ(len, 0, "argv covers the body") ||
			    !ASSERT_TRUE(req.argc >= 1 && req.argv[0][0], "command"))
				break;
			geofw_ctl_request_free(&req);
		}
	}
	free(buf);
}

void test_ctl_response_malformed(void)
{
	char buf[64], err[256];
	const char *text;
	size_t len, tlen;
	int type, status;

	len = raw_request(buf, GEOFW_CTL_MAGIC, 1, GEOFW_CTL_END, 1, "nope\n", 5);
	ASSERT_OK(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), "END");
	ASSERT_EQ(type, GEOFW_CTL_END, "type");
	ASSERT_EQ(status, GEOFW_CTL_REJECTED, "status");
	ASSERT_EQ(tlen, 5, "text");
	len = raw_request(buf, GEOFW_CTL_MAGIC, 1, GEOFW_CTL_END, GEOFW_CTL_DEGRADED, "", 0);
	ASSERT_OK(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), "END degraded");
	ASSERT_EQ(status, GEOFW_CTL_DEGRADED, "status degraded");
	len = raw_request(buf, GEOFW_CTL_MAGIC, 1, GEOFW_CTL_END, 4, "", 0);
	ASSERT_EQ(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), -EINVAL, "status 4");
	ASSERT_STREQ(err, "unknown response status 4", "message");
	len = raw_request(buf, GEOFW_CTL_MAGIC, 1, GEOFW_CTL_DATA, 1, "", 0);
	ASSERT_EQ(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), -EINVAL, "data flags");
	len = raw_request(buf, GEOFW_CTL_MAGIC, 1, GEOFW_CTL_REQUEST, 0, "x", 2);
	ASSERT_EQ(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), -EINVAL, "request");
	ASSERT_EQ(geofw_ctl_parse_response(buf, 5, &type, &status, &text, &tlen, err,
					   sizeof(err)), -EINVAL, "truncated");
	len = raw_request(buf, GEOFW_CTL_MAGIC, 9, GEOFW_CTL_END, 0, "", 0);
	ASSERT_EQ(geofw_ctl_parse_response(buf, len, &type, &status, &text, &tlen, err,
					   sizeof(err)), -EINVAL, "version");
	ASSERT_TRUE(strstr(err, "different releases") != NULL, err);
}

/* ---- responses through geofw_ctl_call --------------------------------------------- */

struct collect {
	char *buf;
	size_t len, cap;
	int pieces;
	int stop_after;		/* > 0: return -ECANCELED at that piece */
};

static int collect_text(const char *text, size_t len, void *ctx)
{
	struct collect *c = ctx;

	if (c->len + len + 1 > c->cap) {
		c->cap = (c->len + len + 1) * 2;
		c->buf = realloc(c->buf, c->cap);
		if (!c->buf)
			return -ENOMEM;
	}
	memcpy(c->buf + c->len, text, len);
	c->len += len;
	c->buf[c->len] = '\0';
	if (++c->pieces == c->stop_after)
		return -ECANCELED;
	return 0;
}

#define BIG_TEXT	200000

static char *pattern(size_t n)
{
	char *p = malloc(n + 1);
	size_t i;

	for (i = 0; p && i < n; i++)
		p[i] = 'a' + i % 26;
	if (p)
		p[n] = '\0';
	return p;
}

/* The daemon's side of one exchange, in a child: answer by command name. */
static int serve_one(int sock)
{
	static struct geofw_ctl_writer w;
	struct geofw_ctl_request req;
	char err[256], *text;
	int i, ret;

	if (geofw_ctl_recv_request(sock, &req, err, sizeof(err)))
		return 10;
	if (!strcmp(req.argv[0], "big")) {
		text = pattern(BIG_TEXT);
		ret = geofw_ctl_send_response(sock, GEOFW_CTL_OK, text, BIG_TEXT);
		free(text);
	} else if (!strcmp(req.argv[0], "stream")) {
		geofw_ctl_writer_init(&w, sock);
		for (i = 0; i < 20000; i++)
			geofw_ctl_writef(&w, "line %d\n", i);
		text = pattern(70000);
		geofw_ctl_writef(&w, "%s\n", text);
		free(text);
		geofw_ctl_write(&w, "end\n", 4);
		ret = geofw_ctl_writer_end(&w, GEOFW_CTL_OK);
	} else if (!strcmp(req.argv[0], "fail")) {
		ret = geofw_ctl_send_response(sock, GEOFW_CTL_REJECTED,
					      "203.0.113.0/24 is not blocked\n", 30);
	} else if (!strcmp(req.argv[0], "internal")) {
		ret = geofw_ctl_send_response(sock, GEOFW_CTL_INTERNAL, "", 0);
	} else if (!strcmp(req.argv[0], "echo-json")) {
		ret = geofw_ctl_send_response(sock, GEOFW_CTL_OK,
					      req.flags & GEOFW_CTL_F_JSON ? "{}" : "text", 2);
	} else if (!strcmp(req.argv[0], "silent")) {
		ret = 0;
	} else if (!strcmp(req.argv[0], "garbage")) {
		ret = geofw_ctl_send_msg(sock, "garbage!!", 9, -1);
	} else if (!strcmp(req.argv[0], "fd-back")) {
		/* A daemon must not send descriptors: the client refuses. */
		struct geofw_ctl_hdr h = { GEOFW_CTL_MAGIC, 1, GEOFW_CTL_END, 0 };

		ret = geofw_ctl_send_msg(sock, &h, sizeof(h), 0);
	} else {
		ret = geofw_ctl_send_response(sock, GEOFW_CTL_REJECTED, "?", 1);
	}
	geofw_ctl_request_free(&req);
	/* A client that stopped listening is not the server's fault. */
	return ret && ret != -EPIPE && ret != -ECONNRESET ? 11 : 0;
}

/* Run serve_one() in a child on sv[1]; the parent is the client on sv[0]. */
static int call_child(const char *cmd, unsigned int flags, int timeout_ms, struct collect *c,
		      char *err, size_t errlen)
{
	const char *argv[] = { cmd };
	int sv[2], status, ret;
	pid_t pid;

	if (!seqpacket_pair(sv))
		return -EIO;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(serve_one(sv[1]));
	}
	close(sv[1]);
	ret = geofw_ctl_call(sv[0], 1, argv, flags, -1, timeout_ms, collect_text, c, err, errlen);
	close(sv[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		test__fail(__FILE__, __LINE__, "server child: status 0x%x", status);
	return ret;
}

void test_ctl_response(void)
{
	struct collect c = { 0 };
	char err[256] = "", *expect;
	size_t off;
	int i, ret;

	SUBTEST("one message") {
		ret = call_child("fail", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, GEOFW_CTL_REJECTED, "status");
		ASSERT_STREQ(c.buf, "203.0.113.0/24 is not blocked\n", "text");
		ASSERT_EQ(c.pieces, 1, "one piece");
	}
	c.len = c.pieces = 0;
	SUBTEST("no text") {
		ret = call_child("internal", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, GEOFW_CTL_INTERNAL, "status");
		ASSERT_EQ(c.pieces, 0, "no callback for empty text");
	}
	c.len = c.pieces = 0;
	SUBTEST("split in chunks") {
		ret = call_child("big", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, GEOFW_CTL_OK, "status");
		expect = pattern(BIG_TEXT);
		ASSERT_EQ(c.len, BIG_TEXT, "length");
		ASSERT_TRUE(c.buf && expect && !memcmp(c.buf, expect, BIG_TEXT), "text");
		ASSERT_EQ(c.pieces, 4, "3 DATA + END");
		free(expect);
	}
	c.len = c.pieces = 0;
	SUBTEST("streamed writer") {
		ret = call_child("stream", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, GEOFW_CTL_OK, "status");
		for (i = 0, off = 0; i < 20000 && c.buf; i++) {
			char line[32];
			int n = snprintf(line, sizeof(line), "line %d\n", i);

			if (strncmp(c.buf + off, line, n)) {
				test__fail(__FILE__, __LINE__, "line %d differs", i);
				break;
			}
			off += n;
		}
		expect = pattern(70000);
		ASSERT_TRUE(c.buf && !memcmp(c.buf + off, expect, 70000), "long piece");
		ASSERT_STREQ(c.buf + off + 70000, "\nend\n", "tail");
		free(expect);
	}
	c.len = c.pieces = 0;
	SUBTEST("json flag") {
		ret = call_child("echo-json", GEOFW_CTL_F_JSON, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, GEOFW_CTL_OK, "status");
		ASSERT_STREQ(c.buf, "{}", "JSON asked for");
	}
	c.len = c.pieces = 0;
	SUBTEST("callback stops") {
		c.stop_after = 2;
		ret = call_child("big", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, -ECANCELED, "callback's value");
		c.stop_after = 0;
	}
	c.len = c.pieces = 0;
	SUBTEST("server hangs up") {
		ret = call_child("silent", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, -ECONNRESET, "no END");
		ASSERT_STREQ(err, "geofwd closed the connection before answering in full", "msg");
	}
	SUBTEST("server speaks garbage") {
		ret = call_child("garbage", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, -EPROTO, "garbage");
		ASSERT_TRUE(strstr(err, "bad magic") != NULL, err);
	}
	SUBTEST("server sends a descriptor") {
		ret = call_child("fd-back", 0, 5000, &c, err, sizeof(err));
		ASSERT_EQ(ret, -EPROTO, "refused");
		ASSERT_STREQ(err, "malformed answer from geofwd", "message");
	}
	free(c.buf);
}

void test_ctl_timeout(void)
{
	const char *argv[] = { "status" };
	struct geofw_ctl_request req;
	char err[256] = "";
	double t0, dt;
	int sv[2], ret;

	SUBTEST("stuck daemon") if (seqpacket_pair(sv)) {
		/* The other end exists but never reads nor answers. */
		t0 = now_s();
		ret = geofw_ctl_call(sv[0], 1, argv, 0, -1, 200, NULL, NULL, err, sizeof(err));
		dt = now_s() - t0;
		ASSERT_EQ(ret, -ETIMEDOUT, "timed out");
		ASSERT_STREQ(err, "no answer from geofwd within 0.2 s", "message");
		ASSERT_TRUE(dt >= 0.19 && dt < 2.0, "about 200 ms");
		printf("# gave up after %.3f s\n", dt);
		close_pair(sv);
	}
	SUBTEST("stalled client") if (seqpacket_pair(sv)) {
		/* geofwd's side: a client that connects and sends nothing. */
		struct timeval tv = { .tv_usec = 200000 };

		setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		t0 = now_s();
		ret = geofw_ctl_recv_request(sv[1], &req, err, sizeof(err));
		ASSERT_EQ(ret, -ETIMEDOUT, "timed out");
		ASSERT_STREQ(err, "no request within the time limit", "message");
		ASSERT_TRUE(now_s() - t0 < 2.0, "bounded");
		close_pair(sv);
	}
}

/* ---- descriptors ---------------------------------------------------------------------- */

/* sendmsg with any number of descriptors, as a hostile client could. */
static int send_fds(int sock, const void *buf, size_t len, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(&ctl, 0, sizeof(ctl));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

void test_ctl_fd_passing(void)
{
	const char *argv[] = { "import", "--source", "drop.txt" };
	char path[128], buf[4096], err[256], data[64];
	struct geofw_ctl_request req;
	int sv[2], fd, fds[2], before, ret;
	ssize_t n;
	size_t len;

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/drop.txt", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!ASSERT_TRUE(fd >= 0, "open") || !seqpacket_pair(sv))
		goto out;
	ASSERT_EQ(write(fd, "203.0.113.0/24\n", 15), 15, "write");
	lseek(fd, 0, SEEK_SET);

	SUBTEST("passed") {
		geofw_ctl_build_request(3, argv, GEOFW_CTL_F_FD, buf, sizeof(buf), &len, err,
					sizeof(err));
		ASSERT_OK(geofw_ctl_send_msg(sv[0], buf, len, fd), "send");
		ret = geofw_ctl_recv_request(sv[1], &req, err, sizeof(err));
		if (ASSERT_OK(ret, err) && ASSERT_TRUE(req.fd >= 0, "fd received")) {
			ASSERT_TRUE(req.fd != fd, "a new descriptor");
			ASSERT_TRUE(fcntl(req.fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");
			n = read(req.fd, data, sizeof(data) - 1);
			data[n > 0 ? n : 0] = '\0';
			ASSERT_STREQ(data, "203.0.113.0/24\n", "the daemon reads the file");
			ASSERT_STREQ(req.argv[2], "drop.txt", "argv too");
		}
		before = count_fds();
		geofw_ctl_request_free(&req);
		ASSERT_EQ(count_fds(), before - 1, "free closes it");
	}

	SUBTEST("flag without descriptor") {
		geofw_ctl_build_request(3, argv, GEOFW_CTL_F_FD, buf, sizeof(buf), &len, err,
					sizeof(err));
		ASSERT_OK(geofw_ctl_send_msg(sv[0], buf, len, -1), "send");
		ASSERT_EQ(geofw_ctl_recv_request(sv[1], &req, err, sizeof(err)), -EPROTO, "refused");
		ASSERT_STREQ(err, "request announces a file descriptor but carries none", "msg");
	}

	SUBTEST("descriptor without flag") {
		before = count_fds();
		geofw_ctl_build_request(3, argv, 0, buf, sizeof(buf), &len, err, sizeof(err));
		ASSERT_OK(geofw_ctl_send_msg(sv[0], buf, len, fd), "send");
		ASSERT_EQ(geofw_ctl_recv_request(sv[1], &req, err, sizeof(err)), -EPROTO, "refused");
		ASSERT_STREQ(err, "request carries a file descriptor it does not announce", "msg");
		ASSERT_EQ(count_fds(), before, "nothing leaked");
	}

	SUBTEST("two descriptors") {
		before = count_fds();
		fds[0] = fd;
		fds[1] = sv[0];
		geofw_ctl_build_request(3, argv, GEOFW_CTL_F_FD, buf, sizeof(buf), &len, err,
					sizeof(err));
		ASSERT_OK(send_fds(sv[0], buf, len, fds, 2), "send");
		ASSERT_EQ(geofw_ctl_recv_request(sv[1], &req, err, sizeof(err)), -EPROTO, "refused");
		ASSERT_TRUE(strstr(err, "at most one file descriptor") != NULL, err);
		ASSERT_EQ(count_fds(), before, "both closed");
	}

	SUBTEST("descriptor refused by recv_msg") {
		before = count_fds();
		ASSERT_OK(geofw_ctl_send_msg(sv[0], "x", 1, fd), "send");
		ASSERT_EQ(geofw_ctl_recv_msg(sv[1], buf, sizeof(buf), NULL), -EPROTO, "refused");
		ASSERT_EQ(count_fds(), before, "closed");
	}
	close_pair(sv);
	close(fd);
out:
	remove_tmpdir();
}

/* ---- sockets, credentials, authorisation ---------------------------------------------- */

void test_ctl_listen(void)
{
	char path[128], other[128], err[256] = "", buf[16];
	struct ucred cred;
	struct stat sb;
	int l, l2, c, s;

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/geofwd.sock", tmpdir);
	l = geofw_ctl_listen(path, TEST_GID, 0660, err, sizeof(err));
	if (!ASSERT_TRUE(l >= 0, err))
		goto out;

	SUBTEST("file") {
		ASSERT_OK(stat(path, &sb) ? -errno : 0, "stat");
		ASSERT_TRUE(S_ISSOCK(sb.st_mode), "a socket");
		ASSERT_EQ(sb.st_mode & 07777, 0660, "mode");
		ASSERT_EQ(sb.st_gid, TEST_GID, "group");
		ASSERT_EQ(sb.st_uid, 0, "owner");
	}

	SUBTEST("peer credentials") {
		c = geofw_ctl_connect(path, 1000, err, sizeof(err));
		s = ASSERT_TRUE(c >= 0, err) ? geofw_ctl_accept(l, 1000) : -1;
		if (ASSERT_TRUE(s >= 0, "accept")) {
			ASSERT_OK(geofw_ctl_peer_cred(s, &cred), "SO_PEERCRED");
			ASSERT_EQ(cred.pid, getpid(), "pid");
			ASSERT_EQ(cred.uid, 0, "uid");
			ASSERT_EQ(cred.gid, 0, "gid");
			ASSERT_OK(geofw_ctl_authorize(s, TEST_GID, NULL, err, sizeof(err)), "root");
			close(s);
		}
		if (c >= 0)
			close(c);
	}

	SUBTEST("in use") {
		l2 = geofw_ctl_listen(path, TEST_GID, 0660, err, sizeof(err));
		ASSERT_EQ(l2, -EADDRINUSE, "second daemon");
		ASSERT_TRUE(strstr(err, "another geofwd is listening there") != NULL, err);
	}

	SUBTEST("stale socket") {
		close(l);
		l = -1;
		ASSERT_OK(access(path, F_OK), "file left behind");
		ASSERT_EQ(geofw_ctl_connect(path, 1000, err, sizeof(err)), -ECONNREFUSED, "refused");
		ASSERT_TRUE(strstr(err, "geofwd is not running (no socket at ") != NULL, err);
		l = geofw_ctl_listen(path, (gid_t)-1, 0600, err, sizeof(err));
		ASSERT_TRUE(l >= 0, err);
	}

	SUBTEST("not a socket") {
		snprintf(other, sizeof(other), "%s/file", tmpdir);
		s = open(other, O_WRONLY | O_CREAT, 0600);
		ASSERT_EQ(write(s, "keep", 4), 4, "write");
		close(s);
		ASSERT_EQ(geofw_ctl_listen(other, (gid_t)-1, 0660, err, sizeof(err)), -EEXIST, "file");
		ASSERT_TRUE(strstr(err, "exists and is not a socket") != NULL, err);
		s = open(other, O_RDONLY);
		ASSERT_EQ(read(s, buf, sizeof(buf)), 4, "file intact");
		close(s);
	}

	SUBTEST("client errors") {
		snprintf(other, sizeof(other), "%s/none.sock", tmpdir);
		ASSERT_EQ(geofw_ctl_connect(other, 1000, err, sizeof(err)), -ENOENT, "ENOENT");
		if (!strstr(err, "geofwd is not running (no socket at /tmp/geofw-ctl-"))
			test__fail(__FILE__, __LINE__, "message: %s", err);
		memset(other, 'x', sizeof(other) - 1);
		other[sizeof(other) - 1] = '\0';
		ASSERT_EQ(geofw_ctl_connect(other, 1000, err, sizeof(err)), -ENAMETOOLONG, "long");
	}
	if (l >= 0)
		close(l);
out:
	remove_tmpdir();
}

/* A client process with other credentials: connects, asks, exits with the
 * answer's status (100 + errno on failure).  Messages on "# " lines. */
static int client_as(const char *path, uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	const char *argv[] = { "status" };
	char err[256] = "";
	int s, ret;

	if (setgroups(ngroups, groups) || setgid(gid) || setuid(uid))
		return 99;
	s = geofw_ctl_connect(path, 2000, err, sizeof(err));
	if (s < 0) {
		printf("# child: %s\n", err);
		return 100 - s;
	}
	ret = geofw_ctl_call(s, 1, argv, 0, -1, 2000, NULL, NULL, err, sizeof(err));
	close(s);
	return ret < 0 ? 100 - ret : ret;
}

static const gid_t groups_test[] = { 27, TEST_GID };

static const struct {
	const char *name;
	gid_t gid;
	const gid_t *groups;
	int ngroups;
	const char *proc_root;	/* NULL: SO_PEERGROUPS */
	bool allowed;
} auth_rows[] = {
	{ "primary group", TEST_GID, NULL, 0, NULL, true },
	{ "supplementary group", NOBODY, groups_test, 2, NULL, true },
	{ "supplementary via /proc", NOBODY, groups_test, 2, "/proc", true },
	{ "stranger", NOBODY, NULL, 0, NULL, false },
	{ "stranger via /proc", NOBODY, groups_test, 1, "/proc", false },
};

void test_ctl_authorize(void)
{
	char path[128], err[256];
	int l, s, status, i, ret;
	pid_t pid;

	if (!make_tmpdir())
		return;
	/* The children run as nobody: they need the way in. */
	chmod(tmpdir, 0755);
	snprintf(path, sizeof(path), "%s/geofwd.sock", tmpdir);
	l = geofw_ctl_listen(path, (gid_t)-1, 0666, err, sizeof(err));
	if (!ASSERT_TRUE(l >= 0, err))
		goto out;
	for (i = 0; i < (int)(sizeof(auth_rows) / sizeof(auth_rows[0])); i++) {
		SUBTEST("%s", auth_rows[i].name) {
			fflush(stdout);
			pid = fork();
			if (pid == 0)
				_exit(client_as(path, NOBODY, auth_rows[i].gid, auth_rows[i].groups,
						auth_rows[i].ngroups));
			s = geofw_ctl_accept(l, 2000);
			if (ASSERT_TRUE(s >= 0, "accept")) {
				struct geofw_ctl_request req;

				err[0] = '\0';
				ret = geofw_ctl_authorize(s, TEST_GID, auth_rows[i].proc_root, err,
							  sizeof(err));
				if (auth_rows[i].allowed) {
					ASSERT_OK(ret, err);
				} else {
					ASSERT_EQ(ret, -EACCES, "denied");
					ASSERT_TRUE(strstr(err, "uid 65534") &&
						    strstr(err, "neither root nor in group geofw"), err);
				}
				if (!geofw_ctl_recv_request(s, &req, err, sizeof(err)))
					geofw_ctl_request_free(&req);
				geofw_ctl_send_response(s, ret ? GEOFW_CTL_REJECTED : GEOFW_CTL_OK,
							"", 0);
				close(s);
			}
			waitpid(pid, &status, 0);
			ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1,
				  auth_rows[i].allowed ? GEOFW_CTL_OK : GEOFW_CTL_REJECTED,
				  "the client saw the verdict");
		}
	}
	close(l);

	SUBTEST("socket permissions") {
		/* 0660 root:root: nobody's connect fails with a clear message. */
		unlink(path);
		l = geofw_ctl_listen(path, (gid_t)-1, 0660, err, sizeof(err));
		if (ASSERT_TRUE(l >= 0, err)) {
			fflush(stdout);
			pid = fork();
			if (pid == 0)
				_exit(client_as(path, NOBODY, NOBODY, NULL, 0));
			waitpid(pid, &status, 0);
			ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 100 + EACCES,
				  "EACCES");
			close(l);
		}
	}
out:
	remove_tmpdir();
}

static const char status_text[] =
	"Name:\tfwctl\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Tgid:\t4242\n"
	"Uid:\t1000\t1001\t1000\t1000\n"
	"Gid:\t1000\t2000\t1000\t1000\n"
	"FDSize:\t64\n"
	"Groups:\t4 24 27 4242 \n"
	"NStgid:\t4242\n";

static const struct {
	const char *name;
	const char *text;	/* NULL: status_text */
	uid_t uid;
	gid_t gid;
	int expect;
} groups_rows[] = {
	{ "supplementary", NULL, 1001, 4242, 1 },
	{ "first of the list", NULL, 1001, 4, 1 },
	{ "effective gid", NULL, 1001, 2000, 1 },
	{ "real gid is not enough", NULL, 1001, 1000, 0 },
	{ "not a member", NULL, 1001, 5000, 0 },
	{ "uid changed (pid reused)", NULL, 1000, 4242, 0 },
	{ "no groups", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t\n", 1, 4242, 0 },
	{ "no Groups line", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\n", 1, 1, -EINVAL },
	{ "no Uid line", "Gid:\t1 1 1 1\nGroups:\t1\n", 1, 1, -EINVAL },
	{ "short Uid", "Uid:\t1\nGid:\t1 1 1 1\nGroups:\t1\n", 1, 1, -EINVAL },
	{ "letters", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t12a\n", 1, 12, -EINVAL },
	{ "negative", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t-5\n", 1, 5, -EINVAL },
	{ "overflow", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t99999999999\n", 1, 1, -EINVAL },
	{ "no final newline", "Uid:\t1 1 1 1\nGid:\t1 1 1 1\nGroups:\t7 8", 1, 8, 1 },
	{ "look-alike keys", "XUid:\t0 0 0 0\nUidx:\t0\nUid:\t5 5 5 5\nGid:\t5 5 5 5\n"
	  "NGroups:\t7\nGroups:\t8\n", 5, 7, 0 },
	{ "empty", "", 0, 0, -EINVAL },
};

void test_ctl_status_groups(void)
{
	char buf[256], self[8192];
	unsigned int seed = 9;
	int i, k, fd, ret;
	ssize_t n;

	for (i = 0; i < (int)(sizeof(groups_rows) / sizeof(groups_rows[0])); i++) {
		SUBTEST("%s", groups_rows[i].name) {
			const char *t = groups_rows[i].text ? groups_rows[i].text : status_text;

			ASSERT_EQ(geofw_ctl_status_in_group(t, strlen(t), groups_rows[i].uid,
							    groups_rows[i].gid),
				  groups_rows[i].expect, "verdict");
		}
	}
	SUBTEST("real /proc/self/status") {
		fd = open("/proc/self/status", O_RDONLY);
		n = fd >= 0 ? read(fd, self, sizeof(self)) : -1;
		if (fd >= 0)
			close(fd);
		if (ASSERT_TRUE(n > 0, "read"))
			ASSERT_EQ(geofw_ctl_status_in_group(self, n, getuid(), getegid()), 1, "self");
	}
	SUBTEST("garbage") {
		for (i = 0; i < 20000; i++) {
			size_t len = rand_r(&seed) % sizeof(buf);

			memcpy(buf, status_text, len < sizeof(status_text) ? len : sizeof(status_text));
			for (k = 0; k < 1 + rand_r(&seed) % 3; k++)
				buf[rand_r(&seed) % sizeof(buf)] = "\n\t 0:9aG"[rand_r(&seed) % 8];
			ret = geofw_ctl_status_in_group(buf, len, 1001, 4242);
			if (!ASSERT_TRUE(ret == 0 || ret == 1 || ret == -EINVAL, "result"))
				break;
		}
	}
}
