// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's I/O: messages with at most one descriptor, requests
 * received whole, responses sent whole or streamed, the listening socket and
 * the client's call with its deadline.  What the bytes mean is ctl_wire.c's;
 * who may talk to geofwd is ctl_auth.c's.
 */
#include "ctl.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN		sizeof(struct geofw_ctl_hdr)
/* Descriptors one receive can take in: one is allowed, the room for more
 * lets us see (and close) what a misbehaving peer sends. */
#define RECV_FDS_MAX	8

/* ---- messages ------------------------------------------------------------------ */

/* One message from up to two pieces (header and text), without copying. */
static int send_parts(int sock, const void *a, size_t alen, const void *b, size_t blen,
		      int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = (void *)a, .iov_len = alen },
		{ .iov_base = (void *)b, .iov_len = blen },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = blen ? 2 : 1 };
	ssize_t n;

	if (passfd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	do {
		/* MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE. */
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SEQPACKET sends whole messages or nothing. */
	return (size_t)n == alen + blen ? 0 : -EIO;
}

int geofw_ctl_send_msg(int sock, const void *buf, size_t len, int passfd)
{
	return send_parts(sock, buf, len, NULL, 0, passfd);
}

ssize_t geofw_ctl_recv_msg(int sock, void *buf, size_t cap, int *passfd)
{
	union {
		char buf[CMSG_SPACE(RECV_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	int fds[RECV_FDS_MAX], nfds = 0, i;
	bool other = false;
	ssize_t n;

	if (passfd)
		*passfd = -1;
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k, count;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			other = true;
			continue;
		}
		count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < count && nfds < RECV_FDS_MAX; k++)
			memcpy(&fds[nfds++], CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
	}
	/* Descriptors that did not fit were closed by the kernel (CTRUNC). */
	if (other || nfds > 1 || (nfds && !passfd) || (msg.msg_flags & MSG_CTRUNC)) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		if (nfds)
			close(fds[0]);
		return -EMSGSIZE;
	}
	if (nfds)
		*passfd = fds[0];
	return n;
}

/* ---- requests ---------------------------------------------------------------------- */

int geofw_ctl_recv_request(int sock, struct geofw_ctl_request *req, char *err, size_t errlen)
{
	char *buf = malloc(GEOFW_CTL_MSG_MAX);
	int fd = -1, ret;
	ssize_t n;

	memset(req, 0, sizeof(*req));
	req->fd = -1;
	if (!buf)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	n = geofw_ctl_recv_msg(sock, buf, GEOFW_CTL_MSG_MAX, &fd);
	if (n < 0) {
		ret = n;
		switch (ret) {
		case -EAGAIN:
			ret = geofw_errf(err, errlen, -ETIMEDOUT, "no request within the time limit");
			break;
		case -EMSGSIZE:
			geofw_errf(err, errlen, ret, "request larger than %d bytes", GEOFW_CTL_MSG_MAX);
			break;
		case -EPROTO:
			geofw_errf(err, errlen, ret, "request carries unexpected control data "
			     "(at most one file descriptor)");
			break;
		default:
			geofw_errf(err, errlen, ret, "receiving request: %s", strerror(-ret));
		}
		goto cleanup;
	}
	if (n == 0) {
		ret = geofw_errf(err, errlen, -ECONNRESET, "client closed the connection");
		goto cleanup;
	}
	ret = geofw_ctl_parse_request(buf, n, req, err, errlen);
	if (ret)
		goto cleanup;
	if (!(req->flags & GEOFW_CTL_F_FD) != (fd < 0)) {
		geofw_ctl_request_free(req);
		ret = geofw_errf(err, errlen, -EPROTO, fd < 0 ?
			   "request announces a file descriptor but carries none" :
			   "request carries a file descriptor it does not announce");
		goto cleanup;
	}
	req->fd = fd;
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* ---- responses ------------------------------------------------------------------ */

static int send_text(int sock, int type, unsigned int flags, const char *text, size_t len)
{
	struct geofw_ctl_hdr hdr = geofw_ctl_hdr_make(type, flags);

	return send_parts(sock, &hdr, HDR_LEN, text, len, -1);
}

int geofw_ctl_send_response(int sock, int status, const char *text, size_t len)
{
	int ret;

	if (status < 0 || status > GEOFW_CTL_STATUS_MAX)
		return -EINVAL;
	while (len > GEOFW_CTL_TEXT_MAX) {
		ret = send_text(sock, GEOFW_CTL_DATA, 0, text, GEOFW_CTL_TEXT_MAX);
		if (ret)
			return ret;
		text += GEOFW_CTL_TEXT_MAX;
		len -= GEOFW_CTL_TEXT_MAX;
	}
	return send_text(sock, GEOFW_CTL_END, status, text, len);
}

void geofw_ctl_writer_init(struct geofw_ctl_writer *w, int sock)
{
	w->sock = sock;
	w->err = 0;
	w->len = 0;
}

static void writer_flush(struct geofw_ctl_writer *w)
{
	if (!w->err && w->len)
		w->err = send_text(w->sock, GEOFW_CTL_DATA, 0, w->text, w->len);
	w->len = 0;
}

int geofw_ctl_write(struct geofw_ctl_writer *w, const void *text, size_t len)
{
	const char *p = text;

	while (len && !w->err) {
		size_t room = sizeof(w->text) - w->len, n = len < room ? len : room;

		memcpy(w->text + w->len, p, n);
		w->len += n;
		p += n;
		len -= n;
		if (w->len == sizeof(w->text))
			writer_flush(w);
	}
	return w->err;
}

int geofw_ctl_writef(struct geofw_ctl_writer *w, const char *fmt, ...)
{
	size_t room = sizeof(w->text) - w->len;
	va_list ap;
	char *big;
	int n;

	if (w->err)
		return w->err;
	va_start(ap, fmt);
	n = vsnprintf(w->text + w->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return w->err = -EINVAL;
	if ((size_t)n < room) {
		w->len += n;
		return 0;
	}
	/* Did not fit: the slow way through a copy of the right size. */
	big = malloc(n + 1);
	if (!big)
		return w->err = -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, n + 1, fmt, ap);
	va_end(ap);
	geofw_ctl_write(w, big, n);
	free(big);
	return w->err;
}

int geofw_ctl_writer_end(struct geofw_ctl_writer *w, int status)
{
	if (w->err)
		return w->err;
	if (status < 0 || status > GEOFW_CTL_STATUS_MAX)
		return w->err = -EINVAL;
	w->err = send_text(w->sock, GEOFW_CTL_END, status, w->text, w->len);
	w->len = 0;
	return w->err;
}

/* ---- sockets -------------------------------------------------------------------- */

static int set_timeouts(int sock, int timeout_ms, bool rcv)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (timeout_ms <= 0)
		return 0;
	if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	if (rcv && setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

static int make_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path || !*path || strlen(path) >= sizeof(sa->sun_path))
		return geofw_errf(err, errlen, -ENAMETOOLONG, "%s: not a usable socket path "
			    "(empty or longer than %zu bytes)", path ? path : "(null)",
			    sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

/* Is something accepting connections at path? */
static int probe_listener(const struct sockaddr_un *sa)
{
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), ret;

	if (s < 0)
		return -errno;
	ret = connect(s, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(s);
	return ret;
}

int geofw_ctl_listen(const char *path, gid_t gid, mode_t mode, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	bool bound = false;
	struct stat sb;
	mode_t old_mask;
	int s = -1, ret;

	ret = make_addr(path, &sa, err, errlen);
	if (ret)
		return ret;
	if (!lstat(path, &sb)) {
		if (!S_ISSOCK(sb.st_mode))
			return geofw_errf(err, errlen, -EEXIST, "%s exists and is not a socket", path);
		ret = probe_listener(&sa);
		if (!ret)
			return geofw_errf(err, errlen, -EADDRINUSE,
				    "%s: another geofwd is listening there", path);
		if (ret != -ECONNREFUSED)
			return geofw_errf(err, errlen, ret, "%s: cannot tell whether it is in use: %s",
				    path, strerror(-ret));
		/* Left behind by a geofwd that died. */
		if (unlink(path) && errno != ENOENT)
			return geofw_errf(err, errlen, -errno, "cannot remove stale socket %s: %s",
				    path, strerror(errno));
	} else if (errno != ENOENT) {
		return geofw_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	}

	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return geofw_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	/* Owner-only until group and mode are set. */
	old_mask = umask(0177);
	ret = bind(s, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (ret) {
		geofw_errf(err, errlen, ret, "cannot bind %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	bound = true;
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot give %s to group %u: %s", path, (unsigned)gid,
		     strerror(-ret));
		goto cleanup;
	}
	if (chmod(path, mode)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot chmod %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	if (listen(s, 64)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot listen on %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	return s;
cleanup:
	if (bound)
		unlink(path);
	close(s);
	return ret;
}

int geofw_ctl_accept(int lsock, int timeout_ms)
{
	int s, ret;

	do {
		s = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	} while (s < 0 && errno == EINTR);
	if (s < 0)
		return -errno;
	ret = set_timeouts(s, timeout_ms, true);
	if (ret) {
		close(s);
		return ret;
	}
	return s;
}

int geofw_ctl_connect(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int s, ret;

	ret = make_addr(path, &sa, err, errlen);
	if (ret)
		return ret;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return geofw_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	/* The send timeout also bounds connect() while the queue is full. */
	ret = set_timeouts(s, timeout_ms, false);
	if (!ret) {
		do {
			ret = connect(s, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
		} while (ret == -EINTR);
	}
	switch (ret) {
	case 0:
		return s;
	case -ENOENT:
	case -ECONNREFUSED:
		geofw_errf(err, errlen, ret, "geofwd is not running (no socket at %s)", path);
		break;
	case -EACCES:
	case -EPERM:
		geofw_errf(err, errlen, ret, "permission denied: %s (root or group %s needed)",
		     path, GEOFW_CTL_GROUP);
		break;
	case -EAGAIN:
	case -ETIMEDOUT:
		ret = geofw_errf(err, errlen, -ETIMEDOUT, "geofwd is not answering (%s)", path);
		break;
	default:
		geofw_errf(err, errlen, ret, "cannot connect to %s: %s", path, strerror(-ret));
	}
	close(s);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for the next message: 0 when one is there, -ETIMEDOUT, -errno. */
static int wait_readable(int sock, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int n;

	if (timeout_ms <= 0)
		timeout_ms = -1;
	for (;;) {
		n = poll(&pfd, 1, timeout_ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
		if (timeout_ms > 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout_ms = left;
		}
	}
}

int geofw_ctl_call(int sock, int argc, const char *const *argv, unsigned int flags,
		   int passfd, int timeout_ms, geofw_ctl_text_fn fn, void *ctx,
		   char *err, size_t errlen)
{
	char *buf = malloc(GEOFW_CTL_MSG_MAX);
	const char *text;
	size_t len, textlen;
	int ret, type, status;
	ssize_t n;

	if (!buf)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	if (passfd >= 0)
		flags |= GEOFW_CTL_F_FD;
	else
		flags &= ~GEOFW_CTL_F_FD;
	ret = geofw_ctl_build_request(argc, argv, flags, buf, GEOFW_CTL_MSG_MAX, &len,
				      err, errlen);
	if (ret)
		goto cleanup;
	ret = geofw_ctl_send_msg(sock, buf, len, passfd);
	if (ret) {
		/* -EAGAIN, not -ETIMEDOUT: nothing was delivered (ctl.h). */
		if (ret == -EAGAIN)
			ret = geofw_errf(err, errlen, -EAGAIN, "geofwd does not take the request");
		else
			geofw_errf(err, errlen, ret, "sending the request to geofwd: %s",
			     strerror(-ret));
		goto cleanup;
	}
	for (;;) {
		ret = wait_readable(sock, timeout_ms);
		if (ret == -ETIMEDOUT) {
			geofw_errf(err, errlen, ret, "no answer from geofwd within %d.%d s",
			     timeout_ms / 1000, timeout_ms % 1000 / 100);
			goto cleanup;
		}
		if (ret) {
			geofw_errf(err, errlen, ret, "waiting for geofwd: %s", strerror(-ret));
			goto cleanup;
		}
		/* NULL passfd: a descriptor from the daemon is a protocol error. */
		n = geofw_ctl_recv_msg(sock, buf, GEOFW_CTL_MSG_MAX, NULL);
		if (n == 0) {
			ret = geofw_errf(err, errlen, -ECONNRESET,
				   "geofwd closed the connection before answering in full");
			goto cleanup;
		}
		if (n < 0) {
			ret = n;
			if (ret == -EMSGSIZE || ret == -EPROTO)
				geofw_errf(err, errlen, -EPROTO, "malformed answer from geofwd");
			else
				geofw_errf(err, errlen, ret, "reading the answer of geofwd: %s",
				     strerror(-ret));
			ret = ret == -EMSGSIZE ? -EPROTO : ret;
			goto cleanup;
		}
		ret = geofw_ctl_parse_response(buf, n, &type, &status, &text, &textlen,
					       err, errlen);
		if (ret) {
			ret = -EPROTO;
			goto cleanup;
		}
		if (textlen && fn) {
			ret = fn(text, textlen, ctx);
			if (ret)
				goto cleanup;
		}
		if (type == GEOFW_CTL_END) {
			ret = status;
			goto cleanup;
		}
	}
cleanup:
	free(buf);
	return ret;
}
