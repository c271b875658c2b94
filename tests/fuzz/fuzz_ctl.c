// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket (user/lib/ctl.h, user/lib/cmd.h): what geofwd does with
 * a message from a client — geofw_ctl_parse_request(), then geofw_cmd_parse()
 * on the argv of an accepted request — and what fwctl does with a message
 * from the daemon, geofw_ctl_parse_response().
 *
 * Input: byte 0 selects the framing.  Even: the rest is a whole message, as
 * it comes off the socket.  Odd: the rest is a request body and the target
 * puts a valid header in front (flags from bits 1-2), so the fuzzer spends
 * its time on the argv rather than on finding the magic number.
 *
 * An accepted request must encode back (geofw_ctl_build_request) to the very
 * same bytes; a parsed command must be consistent with the table.
 */
#include <errno.h>

#include "cmd.h"
#include "ctl.h"
#include "fuzz.h"

static void check_cmd(const struct geofw_cmd *cmd)
{
	size_t i;

	FUZZ_CHECK(cmd->id > GEOFW_CMD_NONE && cmd->id < GEOFW_CMD_MAX, "command id %d", cmd->id);
	FUZZ_CHECK(cmd->desc && cmd->desc->id == cmd->id, "descriptor of command %d", cmd->id);
	FUZZ_CHECK(geofw_cmd_by_id(cmd->id) == cmd->desc, "table lookup of %s",
		   cmd->desc->name);
	FUZZ_CHECK(!cmd->n_cidrs || cmd->cidrs, "%zu prefixes, no array", cmd->n_cidrs);
	for (i = 0; i < cmd->n_cidrs; i++) {
		const struct geofw_cidr *c = &cmd->cidrs[i];

		FUZZ_CHECK((c->family == 4 && c->prefixlen <= 32) ||
			   (c->family == 6 && c->prefixlen <= 128),
			   "prefix %zu: family %u, /%u", i, c->family, c->prefixlen);
		FUZZ_CHECK(!geofw_cidr_has_host_bits(c), "prefix %zu has host bits", i);
		FUZZ_CHECK(c->prefixlen || cmd->force || cmd->id == GEOFW_CMD_DEL_BLOCK ||
			   cmd->id == GEOFW_CMD_DEL_ALLOW, "/0 without --force");
	}
	FUZZ_CHECK(!cmd->n_countries || cmd->countries, "%zu countries, no array",
		   cmd->n_countries);
	for (i = 0; i < cmd->n_countries; i++) {
		size_t k;

		FUZZ_CHECK(cmd->countries[i] >= 1 && cmd->countries[i] <= GEOFW_COUNTRY_MAX_ID,
			   "country id %u", cmd->countries[i]);
		for (k = 0; k < i; k++)
			FUZZ_CHECK(cmd->countries[k] != cmd->countries[i], "country %u twice",
				   cmd->countries[i]);
	}
	FUZZ_CHECK(cmd->ttl <= GEOFW_DURATION_MAX, "ttl %llu", (unsigned long long)cmd->ttl);
	FUZZ_CHECK(cmd->action == GEOFW_CMD_ACTION_DEFAULT ||
		   (cmd->action >= 0 && cmd->action < GEOFW_ACT_MAX), "action %d", cmd->action);
	FUZZ_CHECK(cmd->samples <= GEOFW_CMD_SAMPLES_MAX, "samples %zu", cmd->samples);
	FUZZ_CHECK(cmd->interval <= GEOFW_CMD_INTERVAL_MAX, "interval %u", cmd->interval);

	/* fwctl prints the help of an accepted topic. */
	if (cmd->id == GEOFW_CMD_HELP) {
		char err[GEOFW_CMD_ERRLEN], *text = NULL;
		int r = geofw_cmd_help(cmd->topic, &text, err, sizeof(err));

		FUZZ_CHECK(!r, "help for an accepted topic failed: %s", err);
		FUZZ_CHECK(text && *text, "empty help");
		free(text);
	}
}

static void check_request(const void *msg, size_t len)
{
	const size_t hdr_len = sizeof(struct geofw_ctl_hdr);
	char err[GEOFW_CMD_ERRLEN], *enc;
	struct geofw_ctl_request req;
	struct geofw_cmd cmd;
	size_t enc_len = 0;
	int r;

	memset(err, 0, sizeof(err));
	r = geofw_ctl_parse_request(msg, len, &req, err, sizeof(err));
	FUZZ_SAY("request: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "ctl_parse_request returned %d: %s", r, err);
		fuzz_check_msg("ctl_parse_request", err, sizeof(err));
		FUZZ_CHECK(!req.argv && !req.buf && req.fd == -1, "request not empty after error");
		return;
	}
	FUZZ_CHECK(req.argc >= 1 && req.argc <= GEOFW_CTL_ARGS_MAX, "argc %d", req.argc);
	FUZZ_CHECK(!req.argv[req.argc], "argv not NULL-terminated");
	FUZZ_CHECK(req.argv[0][0], "empty command word");
	FUZZ_CHECK(!(req.flags & ~GEOFW_CTL_F_ALL), "flags 0x%x", req.flags);
	FUZZ_CHECK(req.fd == -1, "descriptor %d from parsing", req.fd);

	enc = malloc(GEOFW_CTL_MSG_MAX);
	FUZZ_CHECK(enc, "out of memory");
	r = geofw_ctl_build_request(req.argc, (const char *const *)req.argv, req.flags, enc,
				    GEOFW_CTL_MSG_MAX, &enc_len, err, sizeof(err));
	FUZZ_CHECK(!r, "an accepted request does not encode: %s", err);
	FUZZ_CHECK(enc_len == len && !memcmp(enc, msg, len),
		   "request re-encodes to %zu different bytes (was %zu)", enc_len, len);

	/* What geofwd runs next on socket input. */
	memset(err, 0, sizeof(err));
	r = geofw_cmd_parse(req.argc, req.argv, &cmd, err, sizeof(err));
	FUZZ_SAY("command: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "cmd_parse returned %d: %s", r, err);
		fuzz_check_msg("cmd_parse", err, sizeof(err));
		FUZZ_CHECK(err[0], "cmd_parse failed without a message");
		FUZZ_CHECK(!cmd.cidrs && !cmd.countries && !cmd.comment && !cmd.file &&
			   !cmd.n_db && !cmd.topic, "command not empty after an error");
	} else {
		check_cmd(&cmd);
	}
	geofw_cmd_free(&cmd);
	/* The words are the request's: parsing must leave them alone. */
	FUZZ_CHECK(!memcmp(req.buf, enc + hdr_len, len - hdr_len), "cmd_parse changed its argv");
	free(enc);
	geofw_ctl_request_free(&req);
}

static void check_response(const void *msg, size_t len)
{
	char err[GEOFW_CMD_ERRLEN];
	const char *text = NULL;
	size_t textlen = 0;
	int r, type = -1, status = -1;

	memset(err, 0, sizeof(err));
	r = geofw_ctl_parse_response(msg, len, &type, &status, &text, &textlen, err, sizeof(err));
	FUZZ_SAY("response: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "ctl_parse_response returned %d", r);
		fuzz_check_msg("ctl_parse_response", err, sizeof(err));
		return;
	}
	FUZZ_CHECK(type == GEOFW_CTL_DATA || type == GEOFW_CTL_END, "type %d", type);
	FUZZ_CHECK(status >= 0 && status <= GEOFW_CTL_STATUS_MAX, "status %d", status);
	FUZZ_CHECK(type == GEOFW_CTL_END || !status, "status %d on DATA", status);
	FUZZ_CHECK(text == (const char *)msg + sizeof(struct geofw_ctl_hdr) &&
		   textlen == len - sizeof(struct geofw_ctl_hdr), "text span");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geofw_ctl_hdr hdr = {
		.magic = GEOFW_CTL_MAGIC,
		.version = GEOFW_CTL_VERSION,
		.type = GEOFW_CTL_REQUEST,
	};
	size_t len;
	__u8 *msg;

	if (!size)
		return 0;
	if (data[0] & 1) {
		hdr.flags = (data[0] >> 1) & GEOFW_CTL_F_ALL;
		len = sizeof(hdr) + size - 1;
		msg = malloc(len);
		FUZZ_CHECK(msg, "out of memory");
		memcpy(msg, &hdr, sizeof(hdr));
		memcpy(msg + sizeof(hdr), data + 1, size - 1);
	} else {
		len = size - 1;
		msg = fuzz_memdup(data + 1, len);
	}
	check_request(msg, len);
	check_response(msg, len);
	free(msg);
	return 0;
}
