// SPDX-License-Identifier: GPL-2.0-only
#include "responder.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_FMT	"HTTP/1.1 403 Forbidden\r\n"			\
		"Content-Type: text/html; charset=utf-8\r\n"	\
		"Content-Length: %zu\r\n"			\
		"Connection: close\r\n"				\
		"Cache-Control: no-store\r\n"			\
		"\r\n"

static int fail(int ret, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static size_t header_len(size_t body_len)
{
	return (size_t)snprintf(NULL, 0, HDR_FMT, body_len);
}

size_t geofw_http403_body_max(void)
{
	size_t body = GEOFW_HTTP403_MAX;

	/* Shrinking the body can only shorten Content-Length, so walk down. */
	while (body && header_len(body) + body > GEOFW_HTTP403_MAX)
		body--;
	return body;
}

int geofw_http403_build(const void *body, size_t body_len, __u8 *out, size_t cap,
			char *err, size_t errlen)
{
	size_t hlen = header_len(body_len), total = hlen + body_len;
	char hdr[160];

	if (total > GEOFW_HTTP403_MAX)
		return fail(-EMSGSIZE, err, errlen,
			    "403 page: the response would be %zu bytes (%zu of headers + %zu of "
			    "body), the limit is %d bytes: keep the body within %zu bytes",
			    total, hlen, body_len, GEOFW_HTTP403_MAX, geofw_http403_body_max());
	if (total > cap)
		return fail(-EMSGSIZE, err, errlen, "403 page: %zu bytes do not fit in %zu",
			    total, cap);
	snprintf(hdr, sizeof(hdr), HDR_FMT, body_len);
	memcpy(out, hdr, hlen);
	if (body_len)
		memcpy(out + hlen, body, body_len);
	return (int)total;
}

int geofw_http403_body_read(const char *path, char **buf, size_t *len,
			    char *err, size_t errlen)
{
	size_t max = geofw_http403_body_max(), got = 0;
	struct stat st;
	char *data;
	ssize_t n;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(-errno, err, errlen, "403 page: %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = fail(-errno, err, errlen, "403 page: %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = fail(-EINVAL, err, errlen, "403 page: %s: not a regular file", path);
		goto out;
	}
	/* One byte more than allowed tells "too long" from "exactly full". */
	data = malloc(max + 1);
	if (!data) {
		ret = fail(-ENOMEM, err, errlen, "403 page: out of memory");
		goto out;
	}
	while (got < max + 1 && (n = read(fd, data + got, max + 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = fail(-errno, err, errlen, "403 page: %s: %s", path, strerror(errno));
			free(data);
			goto out;
		}
		got += (size_t)n;
	}
	if (got > max) {
		size_t size = st.st_size > (off_t)got ? (size_t)st.st_size : got;

		ret = fail(-EMSGSIZE, err, errlen,
			   "403 page: %s: %zu bytes of HTML, but the whole response (HTTP headers "
			   "included) is limited to %d bytes: keep the body within %zu bytes",
			   path, size, GEOFW_HTTP403_MAX, max);
		free(data);
		goto out;
	}
	*buf = data;
	*len = got;
	ret = 0;
out:
	close(fd);
	return ret;
}

int geofw_responder_value(struct geofw_responder *val, const __u16 *ports, size_t n_ports,
			  const void *body, size_t body_len, char *err, size_t errlen)
{
	size_t i;
	int len;

	memset(val, 0, sizeof(*val));
	if (n_ports > GEOFW_MAX_HTTP_PORTS)
		return fail(-EINVAL, err, errlen, "403 page: %zu HTTP ports, at most %d",
			    n_ports, GEOFW_MAX_HTTP_PORTS);
	for (i = 0; i < n_ports; i++) {
		if (!ports[i])
			return fail(-EINVAL, err, errlen, "403 page: port 0 is not a TCP port");
		val->http_ports[i] = ports[i];
	}
	len = geofw_http403_build(body, body_len, val->response, sizeof(val->response),
				  err, errlen);
	if (len < 0)
		return len;
	val->response_len = (__u16)len;
	return 0;
}

int geofw_responder_write(int map_fd, const struct geofw_responder *val)
{
	__u32 zero = 0;

	return bpf_map_update_elem(map_fd, &zero, val, BPF_ANY) ? -errno : 0;
}

int geofw_responder_read(int map_fd, struct geofw_responder *val)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(map_fd, &zero, val) ? -errno : 0;
}

int geofw_cookie_key_random(__u64 key[2])
{
	size_t got = 0;
	ssize_t n;

	do {
		got = 0;
		while (got < 2 * sizeof(__u64)) {
			n = getrandom((char *)key + got, 2 * sizeof(__u64) - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			got += (size_t)n;
		}
	} while (!key[0] && !key[1]);
	return 0;
}
