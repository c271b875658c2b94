// SPDX-License-Identifier: GPL-2.0-only
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"

#define FIRST_CHUNK	((size_t)64 << 10)

int geofw_read_some(int fd, char **buf, size_t *len, size_t *cap, size_t max, size_t budget)
{
	/* One byte over the cap tells a file of exactly the cap from a larger one. */
	size_t limit = max < SIZE_MAX ? max + 1 : max;

	while (budget) {
		size_t room, want;
		ssize_t got;

		if (*len == *cap) {
			size_t ncap = *cap ? *cap * 2 : FIRST_CHUNK;
			char *grown;

			if (ncap < *cap || ncap > limit)
				ncap = limit;
			if (ncap <= *cap)
				return -EFBIG;
			grown = realloc(*buf, ncap);
			if (!grown)
				return -ENOMEM;
			*buf = grown;
			*cap = ncap;
		}
		room = *cap - *len;
		want = room < budget ? room : budget;
		got = read(fd, *buf + *len, want);
		if (got > 0) {
			*len += (size_t)got;
			if (budget != SIZE_MAX)
				budget -= (size_t)got;
			if (*len > max)
				return -EFBIG;
			continue;
		}
		if (got == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
	return 0;
}

int geofw_read_file(const char *path, size_t max, unsigned int flags, char **buf, size_t *len,
		    char *err, size_t errlen)
{
	size_t got = 0, cap = 0;
	char *data = NULL, *nul;
	struct stat st;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			(flags & GEOFW_READ_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return geofw_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if ((flags & GEOFW_READ_REGULAR) && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		return geofw_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
	}
	ret = geofw_read_some(fd, &data, &got, &cap, max, SIZE_MAX);
	close(fd);
	if (ret == 1) {
		/* Room for the NUL: the buffer is full only at max + 1. */
		nul = got < cap ? data : realloc(data, got + 1);
		if (nul) {
			nul[got] = '\0';
			*buf = nul;
			*len = got;
			return 0;
		}
		ret = -ENOMEM;
	}
	free(data);
	if (ret == -EFBIG)
		return geofw_errf(err, errlen, ret, "%s: larger than %zu bytes", path, max);
	return geofw_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
}
