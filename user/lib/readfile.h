/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading a whole file, or what a descriptor has so far, into memory, never
 * past a cap: geofw.conf, 403 pages, /proc/PID/status, the old state file,
 * import lists streamed over the control socket.  Read to end of file rather
 * than trusting st_size (the path may be a pipe or grow while it is read); one
 * byte more than the cap is read so that "too large" is told apart from
 * "exactly the cap".
 */
#ifndef GEOFW_READFILE_H
#define GEOFW_READFILE_H

#include <stddef.h>

/*
 * Append what fd has to *buf (length *len, allocated *cap), at most budget
 * bytes in this call (SIZE_MAX: no limit), growing *buf by doubling but never
 * past max + 1 bytes.  EINTR is retried.
 * 1: end of file; 0: budget spent or fd would block (EAGAIN); -EFBIG: more than
 * max bytes (the buffer holds max + 1); -ENOMEM; -errno of read().  *buf stays
 * the caller's to free() in every case.  Not NUL-terminated.
 */
int geofw_read_some(int fd, char **buf, size_t *len, size_t *cap, size_t max, size_t budget);

enum {
	GEOFW_READ_REGULAR	= 1u << 0,	/* refuse anything but a regular file */
	GEOFW_READ_NOFOLLOW	= 1u << 1,	/* refuse a symbolic link (O_NOFOLLOW) */
};

/*
 * The whole file at path, at most max bytes, into a malloc()ed *buf of *len
 * bytes followed by a NUL (so text can be read as a string).  0, or -errno
 * with "PATH: what" in err: -EFBIG "larger than MAX bytes", -EINVAL "not a
 * regular file", -ENOENT and the others of open()/read() as strerror().
 */
int geofw_read_file(const char *path, size_t max, unsigned int flags, char **buf, size_t *len,
		    char *err, size_t errlen);

#endif
