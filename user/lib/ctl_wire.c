// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's wire format (include/geofw.h, struct geofw_ctl_hdr):
 * building and validating requests and responses as bytes, no socket in
 * sight, so that the fuzzer and the unit tests reach every check.
 */
#include "ctl.h"
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HDR_LEN		sizeof(struct geofw_ctl_hdr)

struct geofw_ctl_hdr geofw_ctl_hdr_make(int type, unsigned int flags)
{
	return (struct geofw_ctl_hdr){
		.magic = GEOFW_CTL_MAGIC,
		.version = GEOFW_CTL_VERSION,
		.type = type,
		.flags = flags,
	};
}

int geofw_ctl_build_request(int argc, const char *const *argv, unsigned int flags,
			    void *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
	struct geofw_ctl_hdr hdr = geofw_ctl_hdr_make(GEOFW_CTL_REQUEST, flags);
	char *out = buf;
	size_t total = HDR_LEN, n;
	int i;

	if (argc < 1 || !argv || !argv[0] || !argv[0][0])
		return geofw_errf(err, errlen, -EINVAL, "no command");
	if (flags & ~GEOFW_CTL_F_ALL)
		return geofw_errf(err, errlen, -EINVAL, "unknown request flags 0x%x", flags);
	if (argc > GEOFW_CTL_ARGS_MAX)
		return geofw_errf(err, errlen, -E2BIG, "too many arguments: %d (at most %d)",
			    argc, GEOFW_CTL_ARGS_MAX);
	for (i = 0; i < argc; i++) {
		if (!argv[i])
			return geofw_errf(err, errlen, -EINVAL, "argument %d is NULL", i);
		n = strnlen(argv[i], GEOFW_CTL_MSG_MAX) + 1;
		if (n > GEOFW_CTL_MSG_MAX - total)
			return geofw_errf(err, errlen, -E2BIG,
				    "request too large (over %d bytes): pass large input as a file",
				    GEOFW_CTL_MSG_MAX);
		total += n;
	}
	if (total > cap)
		return geofw_errf(err, errlen, -E2BIG, "request buffer too small");
	memcpy(out, &hdr, HDR_LEN);
	out += HDR_LEN;
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(out, argv[i], n);
		out += n;
	}
	*len = total;
	return 0;
}

/* The header checks shared by both directions. */
static int check_hdr(const void *buf, size_t len, struct geofw_ctl_hdr *hdr, const char *what,
		     char *err, size_t errlen)
{
	if (len < HDR_LEN)
		return geofw_errf(err, errlen, -EINVAL, "%s truncated: %zu bytes, the header alone is %zu",
			    what, len, HDR_LEN);
	if (len > GEOFW_CTL_MSG_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s larger than %d bytes", what,
			    GEOFW_CTL_MSG_MAX);
	memcpy(hdr, buf, HDR_LEN);
	if (hdr->magic != GEOFW_CTL_MAGIC)
		return geofw_errf(err, errlen, -EINVAL, "not a geofw %s (bad magic 0x%08x)", what,
			    hdr->magic);
	if (hdr->version != GEOFW_CTL_VERSION)
		return geofw_errf(err, errlen, -EINVAL,
			    "%s of protocol version %u, expected %u: fwctl and geofwd are "
			    "from different releases", what, hdr->version, GEOFW_CTL_VERSION);
	return 0;
}

int geofw_ctl_parse_request(const void *buf, size_t len, struct geofw_ctl_request *req,
			    char *err, size_t errlen)
{
	struct geofw_ctl_hdr hdr;
	const char *body = (const char *)buf + HDR_LEN;
	size_t blen, i;
	int argc = 0, ret;
	char *p;

	memset(req, 0, sizeof(*req));
	req->fd = -1;
	ret = check_hdr(buf, len, &hdr, "request", err, errlen);
	if (ret)
		return ret;
	if (hdr.type != GEOFW_CTL_REQUEST)
		return geofw_errf(err, errlen, -EINVAL, "message type %u is not a request", hdr.type);
	if (hdr.flags & ~GEOFW_CTL_F_ALL)
		return geofw_errf(err, errlen, -EINVAL, "unknown request flags 0x%x",
			    hdr.flags & ~GEOFW_CTL_F_ALL);
	blen = len - HDR_LEN;
	if (!blen)
		return geofw_errf(err, errlen, -EINVAL, "empty request: no command");
	if (body[blen - 1] != '\0')
		return geofw_errf(err, errlen, -EINVAL, "arguments not NUL-terminated");
	if (body[0] == '\0')
		return geofw_errf(err, errlen, -EINVAL, "empty command");
	for (i = 0; i < blen; i++)
		if (!body[i] && ++argc > GEOFW_CTL_ARGS_MAX)
			return geofw_errf(err, errlen, -EINVAL, "more than %d arguments",
				    GEOFW_CTL_ARGS_MAX);

	req->buf = malloc(blen);
	req->argv = calloc(argc + 1, sizeof(*req->argv));
	if (!req->buf || !req->argv) {
		geofw_ctl_request_free(req);
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(req->buf, body, blen);
	for (p = req->buf; req->argc < argc; p += strlen(p) + 1)
		req->argv[req->argc++] = p;
	req->flags = hdr.flags;
	return 0;
}

void geofw_ctl_request_free(struct geofw_ctl_request *req)
{
	if (req->fd >= 0)
		close(req->fd);
	free(req->argv);
	free(req->buf);
	memset(req, 0, sizeof(*req));
	req->fd = -1;
}

int geofw_ctl_parse_response(const void *buf, size_t len, int *type, int *status,
			     const char **text, size_t *textlen, char *err, size_t errlen)
{
	struct geofw_ctl_hdr hdr;
	int ret;

	ret = check_hdr(buf, len, &hdr, "response", err, errlen);
	if (ret)
		return ret;
	switch (hdr.type) {
	case GEOFW_CTL_DATA:
		if (hdr.flags)
			return geofw_errf(err, errlen, -EINVAL, "response data with flags 0x%x",
				    hdr.flags);
		break;
	case GEOFW_CTL_END:
		if (hdr.flags > GEOFW_CTL_STATUS_MAX)
			return geofw_errf(err, errlen, -EINVAL, "unknown response status %u",
				    hdr.flags);
		break;
	default:
		return geofw_errf(err, errlen, -EINVAL, "message type %u is not a response", hdr.type);
	}
	*type = hdr.type;
	*status = hdr.type == GEOFW_CTL_END ? hdr.flags : 0;
	*text = (const char *)buf + HDR_LEN;
	*textlen = len - HDR_LEN;
	return 0;
}
