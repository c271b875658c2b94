/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fwctl <-> geofwd protocol, over a unix SOCK_SEQPACKET socket (message
 * boundaries kept by the kernel, so no framing of our own).
 *
 * Every message starts with struct geofw_ctl_hdr (8 bytes, host byte order:
 * both ends are on one host):
 *
 *	magic	u32	GEOFW_CTL_MAGIC
 *	version	u8	GEOFW_CTL_VERSION; bumped on any incompatible change
 *	type	u8	enum geofw_ctl_type
 *	flags	u16	REQUEST: GEOFW_CTL_F_*; DATA: 0; END: the status
 *
 * Request, client -> daemon, one message of type REQUEST: the header, then
 * the command's argv as NUL-terminated strings back to back,
 *
 *	hdr "add-block\0" "203.0.113.0/24\0" "--ttl\0" "2h\0"
 *
 * at least one argument (a non-empty command), at most GEOFW_CTL_ARGS_MAX,
 * GEOFW_CTL_MSG_MAX bytes in all, header included.  Empty arguments are
 * fine.  Flags: GEOFW_CTL_F_JSON asks for JSON text; GEOFW_CTL_F_FD says the
 * message carries exactly one file descriptor (SCM_RIGHTS).  Large input
 * (`fwctl import FILE`) travels that way: fwctl opens the file with the
 * caller's rights and geofwd reads the descriptor, since geofwd's sandbox
 * may not see, or may not be allowed to read, the caller's path.
 *
 * Response, daemon -> client: zero or more DATA messages (header + text),
 * then one END message (header with the status in flags + optional text).
 * The client reads until END: that marker, not the connection closing, says
 * the answer is complete.  Status: GEOFW_CTL_OK, GEOFW_CTL_REJECTED (bad
 * request, refused change: the text says why), GEOFW_CTL_INTERNAL,
 * GEOFW_CTL_DEGRADED (a complete answer about a firewall not enforcing all
 * of its configuration).
 *
 * Messages from the peer are untrusted: every parser here takes any bytes
 * and rejects what does not match exactly (they are fuzzed).  Functions
 * return 0 or a count, or -errno; user-facing messages go to err.
 */
#ifndef GEOFW_CTL_H
#define GEOFW_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/types.h>

#define GEOFW_CTL_PATH		"/run/geofw/geofwd.sock"
#define GEOFW_CTL_GROUP		"geofw"		/* may use fwctl besides root */
#define GEOFW_CTL_MAGIC		0x67667763u	/* "gfwc" */
#define GEOFW_CTL_VERSION	1
#define GEOFW_CTL_MSG_MAX	65536		/* any message, header included */
#define GEOFW_CTL_ARGS_MAX	4096
#define GEOFW_CTL_TIMEOUT_MS	30000		/* fwctl's default */

struct geofw_ctl_hdr {
	__u32 magic;
	__u8  version;
	__u8  type;
	__u16 flags;
};
_Static_assert(sizeof(struct geofw_ctl_hdr) == 8, "geofw_ctl_hdr size");

#define GEOFW_CTL_TEXT_MAX	(GEOFW_CTL_MSG_MAX - sizeof(struct geofw_ctl_hdr))

enum geofw_ctl_type {
	GEOFW_CTL_REQUEST	= 1,
	GEOFW_CTL_DATA		= 2,
	GEOFW_CTL_END		= 3,
};

enum {
	GEOFW_CTL_F_JSON	= 1u << 0,
	GEOFW_CTL_F_FD		= 1u << 1,
	GEOFW_CTL_F_ALL		= GEOFW_CTL_F_JSON | GEOFW_CTL_F_FD,
};

enum geofw_ctl_status {
	GEOFW_CTL_OK		= 0,
	GEOFW_CTL_REJECTED	= 1,
	GEOFW_CTL_INTERNAL	= 2,
	/* The answer is complete, and says the firewall does not enforce all
	 * it is configured to (status): shown like OK, fwctl exits 1. */
	GEOFW_CTL_DEGRADED	= 3,
	GEOFW_CTL_STATUS_MAX	= 3,
};

/* ---- messages -------------------------------------------------------------- */

/* Send one message, with passfd (>= 0) attached by SCM_RIGHTS.  The caller
 * keeps passfd open.  -EPIPE when the peer is gone, -EAGAIN when a send
 * timeout (SO_SNDTIMEO) expired. */
int geofw_ctl_send_msg(int sock, const void *buf, size_t len, int passfd);
/*
 * Receive one message into buf: its length (0: the peer closed), -EMSGSIZE
 * when it did not fit in cap (the rest is lost), -EPROTO when it carried more
 * than one descriptor or something else than descriptors (all closed), or
 * -errno.  *passfd gets the descriptor sent along (close-on-exec) or -1;
 * passfd may be NULL to refuse descriptors (any is closed, -EPROTO).
 */
ssize_t geofw_ctl_recv_msg(int sock, void *buf, size_t cap, int *passfd);

/* ---- daemon side ------------------------------------------------------------ */

struct geofw_ctl_request {
	unsigned int flags;	/* GEOFW_CTL_F_* */
	int argc;		/* >= 1 */
	char **argv;		/* argv[argc] == NULL; strings inside buf */
	int fd;			/* descriptor passed along, or -1 */
	char *buf;
};

/*
 * Listening socket at path: a stale socket file (nobody listening) is
 * removed, a live one is -EADDRINUSE, anything else at path is -EEXIST and
 * left alone.  The file gets group gid ((gid_t)-1: unchanged) and mode; it
 * is created 0600 and opened up only after the chown, so the group never
 * sees a half-configured socket.  Changes the umask for a moment: call it
 * before starting threads.  A close-on-exec fd, or -errno with err.
 */
int geofw_ctl_listen(const char *path, gid_t gid, mode_t mode, char *err, size_t errlen);
/* Accept a client; timeout_ms > 0 bounds each later send and receive, so a
 * client that connects and stalls cannot hold geofwd.  fd or -errno. */
int geofw_ctl_accept(int lsock, int timeout_ms);

/* A message header of this protocol version (the wire format, ctl_wire.c). */
struct geofw_ctl_hdr geofw_ctl_hdr_make(int type, unsigned int flags);

/* Validate a request message (any bytes) into req, which owns copies; free
 * with geofw_ctl_request_free().  0 or -EINVAL with err.  req->fd is -1: the
 * descriptor is the socket layer's business. */
int geofw_ctl_parse_request(const void *buf, size_t len, struct geofw_ctl_request *req,
			    char *err, size_t errlen);
/* Receive and validate one request, descriptor included (its presence must
 * match GEOFW_CTL_F_FD).  0, -ECONNRESET when the client left, -ETIMEDOUT,
 * -EMSGSIZE, -EINVAL or -EPROTO with err. */
int geofw_ctl_recv_request(int sock, struct geofw_ctl_request *req, char *err, size_t errlen);
/* Free the copies and close the descriptor; req is left empty. */
void geofw_ctl_request_free(struct geofw_ctl_request *req);

/* The peer's pid, uid and gid at connect() time (SO_PEERCRED). */
int geofw_ctl_peer_cred(int sock, struct ucred *cred);
/*
 * Allow root, the group's members by primary or supplementary group, nobody
 * else.  Supplementary groups come from SO_PEERGROUPS (as at connect time),
 * or, where that is unsupported or proc_root is given (tests), from
 * PROC_ROOT/PID/status.  0 when allowed, -EACCES with err when not, other
 * -errno when the peer cannot be checked (treat as denied).
 */
int geofw_ctl_authorize(int sock, gid_t group, const char *proc_root, char *err, size_t errlen);
/*
 * Given the text of /proc/PID/status: 1 when its effective gid or one of its
 * Groups is gid, 0 when not, or when its effective uid is not uid (the pid
 * was reused by another process since connect()), -EINVAL when the Uid:,
 * Gid: or Groups: line is missing or malformed.
 */
int geofw_ctl_status_in_group(const char *status, size_t len, uid_t uid, gid_t gid);

/* A whole response: text cut into DATA messages as needed, then END. */
int geofw_ctl_send_response(int sock, int status, const char *text, size_t len);

/*
 * Streamed response, for long output (fwctl list): text is buffered and sent
 * as DATA messages of up to GEOFW_CTL_TEXT_MAX bytes; end() sends the rest
 * with the END marker and the status.  The first error sticks: later calls
 * do nothing and end() returns it.  The struct is big (64 KiB): not on a
 * small stack.
 */
struct geofw_ctl_writer {
	int sock;
	int err;
	size_t len;
	char text[GEOFW_CTL_TEXT_MAX];
};

void geofw_ctl_writer_init(struct geofw_ctl_writer *w, int sock);
int geofw_ctl_write(struct geofw_ctl_writer *w, const void *text, size_t len);
int geofw_ctl_writef(struct geofw_ctl_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int geofw_ctl_writer_end(struct geofw_ctl_writer *w, int status);

/* ---- fwctl side -------------------------------------------------------------- */

/*
 * Connect to geofwd.  timeout_ms > 0 bounds connect (queue full) and every
 * later send.  Messages: "geofwd is not running (no socket at PATH)" for
 * ENOENT or ECONNREFUSED, "permission denied: PATH (root or group geofw
 * needed)" for EACCES or EPERM.  fd or -errno.
 */
int geofw_ctl_connect(const char *path, int timeout_ms, char *err, size_t errlen);

/* Encode a request into buf (GEOFW_CTL_MSG_MAX bytes are always enough).
 * -EINVAL (no command, NULL or empty argv[0], bad flags) or -E2BIG. */
int geofw_ctl_build_request(int argc, const char *const *argv, unsigned int flags,
			    void *buf, size_t cap, size_t *len, char *err, size_t errlen);
/* Validate a response message (any bytes): type DATA or END, the status
 * of an END, and the text that follows the header. */
int geofw_ctl_parse_response(const void *buf, size_t len, int *type, int *status,
			     const char **text, size_t *textlen, char *err, size_t errlen);

/* Receives response text as it comes; a non-zero return ends the call,
 * which returns that value. */
typedef int (*geofw_ctl_text_fn)(const char *text, size_t len, void *ctx);

/*
 * One exchange: send argv (with passfd >= 0 attached, GEOFW_CTL_F_FD set for
 * it), hand each piece of response text to fn, return the END status (>= 0).
 * timeout_ms > 0 limits each wait for the next message, so a stuck geofwd
 * cannot hang fwctl while a busy one streaming output is fine.  -ETIMEDOUT,
 * -ECONNRESET (geofwd went away before END), -EPROTO, -E2BIG... with err.
 * -ETIMEDOUT always comes after the request was sent: geofwd has it and may
 * still carry it out; -EAGAIN: geofwd did not take it (nothing delivered).
 */
int geofw_ctl_call(int sock, int argc, const char *const *argv, unsigned int flags,
		   int passfd, int timeout_ms, geofw_ctl_text_fn fn, void *ctx,
		   char *err, size_t errlen);

#endif
