// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's requests: the socket loop.  Every change is all-or-nothing and
 * durable before the answer: the rule store writes the rows (a savepoint in
 * the transaction of its group), the kernel diff follows, and "ok" is sent
 * after the COMMIT; any failure rolls the rows back, puts the maps back as
 * the rows say, and fwctl is told why.  What each command does is bound to
 * its id in commands.c; the handlers are in control_rules.c,
 * control_policy.c and control_read.c.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "readfile.h"
#include "geofwd.h"
#include "jsonlib.h"
#include "log.h"

/* ---- output helpers ---------------------------------------------------------- */

/* jansson's dump callback into the answer (jsonlib.h). */
int put_ctl(const char *buf, size_t size, void *w)
{
	return geofw_ctl_write(w, buf, size) ? -1 : 0;
}

/* Text that is not our own (names, paths, comments): "" when absent, as
 * the answers have always had it. */
json_t *answer_text(const char *s)
{
	return geofw_json_text(s ? s : "");
}

/* Send doc (jansson; NULL: building it ran out of memory) as one line. */
static char *json_answer(json_t *doc)
{
	char *line = doc ? geofw_json_line(doc) : NULL;

	json_decref(doc);
	return line;
}

int reply_error(struct request *r, int status, const char *msg)
{
	char *line;

	if (!r->json) {
		geofw_ctl_writef(r->w, "%s\n", msg);
		return status;
	}
	/* The message may name files: foreign text. */
	line = json_answer(json_pack("{s:o}", "error", answer_text(msg)));
	/* Out of memory, the one answer that needs no allocation. */
	geofw_ctl_writef(r->w, "%s", line ? line : "{\"error\":\"out of memory\"}\n");
	free(line);
	return status;
}

/* A JSON answer; status, or an error when it could not be built. */
int reply_json(struct request *r, int status, json_t *doc)
{
	char *line = json_answer(doc);

	if (!line)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	geofw_ctl_write(r->w, line, strlen(line));
	free(line);
	return status;
}

int reply_ok(struct request *r, const char *what, size_t n, size_t changed)
{
	if (r->json)
		return reply_json(r, GEOFW_CTL_OK, json_pack("{s:b, s:s, s:I, s:I}", "ok", 1,
					"what", what, "count", (json_int_t)n,
					"changed", (json_int_t)changed));
	if (changed == n)
		geofw_ctl_writef(r->w, "ok: %s %zu\n", what, n);
	else	/* "unblock-country FR" of a country not listed */
		geofw_ctl_writef(r->w, "ok: %s %zu (%zu changed)\n", what, n, changed);
	return GEOFW_CTL_OK;
}

/* ---- dispatch: one group of clients, one transaction ----------------------------- */

/* One client connection, from the request to the answer. */
struct conn {
	struct gfwd *d;
	int sock;
	struct geofw_ctl_writer w;
	struct geofw_ctl_request req;
	struct geofw_cmd cmd;
	struct request r;
	char refused[GEOFW_CMD_ERRLEN];	/* not authorized: why */
};

static void conn_free(struct conn *c)
{
	bool big = c->r.diff.cap > 65536;

	geofw_cmd_free(&c->cmd);
	geofw_ctl_request_free(&c->req);
	geofw_kdiff_free(&c->r.diff);
	free(c->r.input);
	close(c->sock);
	free(c);
	/* An import's diff and list copies are tens of MB: give them back. */
	if (big)
		malloc_trim(0);
}

/*
 * Requests whose input is complete wait in the round until the event loop
 * has handled everything epoll reported (gfwd_control_flush): the changes of
 * one round share one COMMIT, i.e. one fsync (group commit).
 */
#define GROUP_MAX	64	/* requests per round (and per COMMIT) */

static struct conn *round_q[GROUP_MAX];
static int round_n;

static void conn_run(struct conn *c)
{
	if (round_n == GROUP_MAX)
		gfwd_control_flush(c->d);
	round_q[round_n++] = c;
}

/*
 * Imports: the passed descriptor is read by the event loop, a chunk per
 * wakeup, so a client that writes slowly (or never) holds up nobody else.
 * The whole input must arrive within GFWD_IMPORT_DEADLINE_SEC and hold at
 * most GFWD_IMPORT_MAX_BYTES; at most GFWD_IMPORTS_MAX are read at once,
 * which bounds the memory clients can make geofwd hold.
 */
#define GFWD_IMPORT_MAX_BYTES	((size_t)64 << 20)	/* geofwd(8), fwctl(8) */
#define GFWD_IMPORT_DEADLINE_SEC 20			/* below fwctl's 30 s timeout */
#define GFWD_IMPORTS_MAX	2
#define GFWD_IMPORT_CHUNK	((size_t)1 << 20)	/* bytes read per wakeup */

/*
 * Requests, too: a connection joins the epoll set until its request is
 * there (fwctl sends it right after connecting), for GFWD_REQUEST_WAIT_MS at
 * most; GFWD_WAITING_MAX may wait at once, and when more come the one that
 * has waited longest is dropped, so connections that never send anything
 * cannot keep others out.
 */
#define GFWD_REQUEST_WAIT_MS	5000
#define GFWD_WAITING_MAX	16

enum pending_kind {
	P_REQUEST,		/* connected, request not read yet */
	P_INPUT,		/* import: reading the passed descriptor */
};

struct gfwd_import {
	struct conn *c;
	enum pending_kind kind;
	int timer_fd;		/* the deadline, one shot */
	bool polled;		/* P_INPUT: the descriptor is in the epoll set */
	size_t cap;
	struct gfwd_import *next;	/* newest first */
};

static struct gfwd_import *imports;	/* waiting connections and imports being read */

static int n_pending(enum pending_kind kind)
{
	struct gfwd_import *im;
	int n = 0;

	for (im = imports; im; im = im->next)
		n += im->kind == kind;
	return n;
}

/* A pending entry with its deadline in ms; NULL when out of resources. */
static struct gfwd_import *pending_new(struct conn *c, enum pending_kind kind, long ms)
{
	struct itimerspec its = { .it_value.tv_sec = ms / 1000,
				  .it_value.tv_nsec = (ms % 1000) * 1000000 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct gfwd_import *im = calloc(1, sizeof(*im));

	if (!im)
		return NULL;
	im->c = c;
	im->kind = kind;
	im->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = im->timer_fd;
	if (im->timer_fd < 0 || timerfd_settime(im->timer_fd, 0, &its, NULL) ||
	    epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, im->timer_fd, &ev)) {
		if (im->timer_fd >= 0)
			close(im->timer_fd);
		free(im);
		return NULL;
	}
	im->next = imports;
	imports = im;
	return im;
}

/* Out of the list and the epoll set; the connection stays. */
static struct conn *pending_take(struct gfwd_import *im)
{
	struct gfwd_import **pp;
	struct conn *c = im->c;

	for (pp = &imports; *pp; pp = &(*pp)->next)
		if (*pp == im) {
			*pp = im->next;
			break;
		}
	if (im->polled)
		epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->r.fd, NULL);
	epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, im->timer_fd, NULL);
	close(im->timer_fd);
	free(im);
	return c;
}

static void import_end(struct gfwd_import *im)
{
	conn_free(pending_take(im));
}

static void import_fail(struct gfwd_import *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void import_fail(struct gfwd_import *im, const char *fmt, ...)
{
	struct request *r = &im->c->r;
	char msg[GEOFW_CMD_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("uid %u pid %d: import %s refused: %s", r->who.uid, r->who.pid,
		 im->c->cmd.file, msg);
	geofw_ctl_writer_end(&im->c->w, reply_error(r, GEOFW_CTL_REJECTED, msg));
	import_end(im);
}

/*
 * Read what is there, at most `budget` bytes.  1: the input is complete
 * (end of file), 0: more to come, -1: the import was ended (refused).
 */
static int import_read(struct gfwd_import *im, size_t budget)
{
	struct request *r = &im->c->r;
	int ret;

	ret = geofw_read_some(r->fd, &r->input, &r->input_len, &im->cap, GFWD_IMPORT_MAX_BYTES,
			      budget);
	if (ret >= 0)
		return ret;
	if (ret == -EFBIG)
		import_fail(im, "import: %s is larger than %zu MiB, the most geofwd "
			    "reads from one import; split the list", im->c->cmd.file,
			    GFWD_IMPORT_MAX_BYTES >> 20);
	else if (ret == -ENOMEM)
		import_fail(im, "import: %s: out of memory after %zu bytes",
			    im->c->cmd.file, r->input_len);
	else
		import_fail(im, "import: reading %s: %s", im->c->cmd.file, strerror(-ret));
	return -1;
}

/* The whole input is in: the import itself, then the answer. */
static void import_done(struct gfwd_import *im)
{
	conn_run(pending_take(im));
}

/* Start reading the descriptor of an import; the connection is ours now. */
static void import_start(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct gfwd_import *im;
	struct stat st;
	int r;

	if (n_pending(P_INPUT) >= GFWD_IMPORTS_MAX) {
		char msg[128];

		snprintf(msg, sizeof(msg), "import: geofwd is already reading %d imports; try "
			 "again when they are done", GFWD_IMPORTS_MAX);
		geofw_ctl_writer_end(&c->w, reply_error(&c->r, GEOFW_CTL_REJECTED, msg));
		conn_free(c);
		return;
	}
	im = pending_new(c, P_INPUT, GFWD_IMPORT_DEADLINE_SEC * 1000L);
	if (!im) {
		geofw_ctl_writer_end(&c->w, reply_error(&c->r, GEOFW_CTL_INTERNAL,
							"import: out of resources"));
		conn_free(c);
		return;
	}
	if (!fstat(c->r.fd, &st) && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > GFWD_IMPORT_MAX_BYTES) {
		import_fail(im, "import: %s is larger than %zu MiB, the most geofwd reads from "
			    "one import; split the list", c->cmd.file, GFWD_IMPORT_MAX_BYTES >> 20);
		return;
	}
	fcntl(c->r.fd, F_SETFL, fcntl(c->r.fd, F_GETFL) | O_NONBLOCK);
	ev.data.fd = c->r.fd;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->r.fd, &ev)) {
		if (errno != EPERM) {
			import_fail(im, "import: cannot wait for %s: %s", c->cmd.file,
				    strerror(errno));
			return;
		}
		/* Files and devices that cannot be polled never wait: read
		 * them now, the size cap bounds how long that takes. */
		r = import_read(im, GFWD_IMPORT_MAX_BYTES + 1);
		if (r > 0)
			import_done(im);
		else if (!r)
			import_fail(im, "import: %s: no end of input", c->cmd.file);
		return;
	}
	im->polled = true;
	/* The client's socket: readable only when the client goes away. */
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = c->sock;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->sock, &ev))
		import_fail(im, "import: cannot wait for %s: %s", c->cmd.file, strerror(errno));
}

static void conn_request(struct conn *c);

static bool request_waiting(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

bool gfwd_control_event(struct gfwd *d, int fd)
{
	struct gfwd_import *im;
	int r;

	(void)d;
	for (im = imports; im; im = im->next) {
		struct conn *c = im->c;

		if (im->kind == P_REQUEST) {
			if (fd == c->sock) {
				conn_request(pending_take(im));
				return true;
			}
			if (fd == im->timer_fd) {
				log_warn("control: no request from pid %d within %d ms; closed",
					 c->r.who.pid, GFWD_REQUEST_WAIT_MS);
				conn_free(pending_take(im));
				return true;
			}
			continue;
		}
		if (fd == c->r.fd) {
			r = import_read(im, GFWD_IMPORT_CHUNK);
			if (r > 0)
				import_done(im);
			return true;
		}
		if (fd == im->timer_fd) {
			import_fail(im, "import: %s: the whole input did not arrive within %d s "
				    "(%zu bytes read); geofwd does not wait longer for one import",
				    c->cmd.file, GFWD_IMPORT_DEADLINE_SEC, c->r.input_len);
			return true;
		}
		if (fd == c->sock) {
			log_warn("uid %u pid %d: import %s: the client left before the end of "
				 "its input; nothing imported", c->r.who.uid, c->r.who.pid,
				 c->cmd.file);
			import_end(im);
			return true;
		}
	}
	return false;
}

void gfwd_control_close(struct gfwd *d)
{
	gfwd_control_flush(d);
	while (imports) {
		if (imports->kind == P_REQUEST)
			conn_free(pending_take(imports));
		else
			import_fail(imports, "import: geofwd is stopping; nothing imported");
	}
}

/* Wait in the event loop for the request; false: could not, c is the
 * caller's to free. */
static bool wait_request(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c->sock };
	struct gfwd_import *im, *oldest = NULL;

	if (n_pending(P_REQUEST) >= GFWD_WAITING_MAX) {
		for (im = imports; im; im = im->next)
			if (im->kind == P_REQUEST)
				oldest = im;	/* newest first: the last is the oldest */
		if (oldest) {
			log_warn("control: %d connections without a request; closing the one "
				 "of pid %d", GFWD_WAITING_MAX, oldest->c->r.who.pid);
			conn_free(pending_take(oldest));
		}
	}
	im = pending_new(c, P_REQUEST, GFWD_REQUEST_WAIT_MS);
	if (!im)
		return false;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->sock, &ev)) {
		pending_take(im);
		return false;
	}
	return true;
}

static void control_handle(struct gfwd *d, int sock)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct request *r;
	struct group *gr = getgrnam(d->conf.socket_group);
	char err[GEOFW_CMD_ERRLEN];

	if (!c) {
		close(sock);
		return;
	}
	c->d = d;
	c->sock = sock;
	c->req.fd = -1;
	r = &c->r;
	*r = (struct request){ .d = d, .w = &c->w, .cmd = &c->cmd, .fd = -1 };
	geofw_ctl_writer_init(&c->w, sock);
	/* A refusal is answered once the request is read, in JSON if it
	 * asks for JSON; nothing of the request is acted on. */
	if (geofw_ctl_authorize(sock, gr ? gr->gr_gid : (gid_t)-1, NULL, err, sizeof(err)))
		snprintf(c->refused, sizeof(c->refused), "%s", err);
	geofw_ctl_peer_cred(sock, &r->who);
	/* fwctl sends its request right after connecting: usually it is
	 * there already, and waiting for it would cost a loop round. */
	if (request_waiting(sock) || !wait_request(c))
		conn_request(c);	/* (or out of resources: read it now) */
}

/* The request is there: read it, then answer or start reading an import. */
static void conn_request(struct conn *c)
{
	struct request *r = &c->r;
	char err[GEOFW_CMD_ERRLEN];

	if (geofw_ctl_recv_request(c->sock, &c->req, err, sizeof(err))) {
		log_warn("control: bad request from pid %d: %s", r->who.pid, err);
		geofw_ctl_writef(&c->w, "%s\n", err);
		geofw_ctl_writer_end(&c->w, GEOFW_CTL_REJECTED);
		goto out;
	}
	r->json = c->req.flags & GEOFW_CTL_F_JSON;
	if (c->refused[0]) {
		log_warn("control: refused: %s", c->refused);
		geofw_ctl_writer_end(&c->w, reply_error(r, GEOFW_CTL_REJECTED, c->refused));
		goto out;
	}
	r->fd = c->req.fd;
	if (geofw_cmd_parse(c->req.argc, c->req.argv, &c->cmd, err, sizeof(err))) {
		geofw_ctl_writer_end(&c->w, reply_error(r, GEOFW_CTL_REJECTED, err));
		goto out;
	}
	r->json |= c->cmd.json;
	if (c->cmd.id == GEOFW_CMD_IMPORT && r->fd >= 0) {
		import_start(c);
		return;
	}
	conn_run(c);
	return;
out:
	conn_free(c);
}

/* The command's handler (commands.c), or the refusal of a command that
 * fwctl answers itself. */
static int execute(struct request *r)
{
	const struct gfwd_cmd *h = &gfwd_cmds[r->cmd->id];

	if (!h->run)
		return reply_error(r, GEOFW_CTL_REJECTED,
				   "this command is answered by fwctl itself, not by geofwd");
	return h->run(r);
}

/*
 * COMMIT the group's changes, then answer them: "ok" only now that their
 * rows are on disk.  A failed COMMIT undoes every change of the group, the
 * maps included, and each of them hears why.
 */
static void flush(struct gfwd *d, struct conn **q, int n)
{
	char err[GEOFW_ERRLEN];
	bool countries = false, asn = false, ports = false;
	int i, ret = 0;

	if (geofw_store_in_txn(d->store) && (ret = geofw_store_commit(d->store, err, sizeof(err)))) {
		log_err(ret, "rules: %s", err);
		geofw_store_rollback(d->store);
	}
	for (i = 0; i < n; i++) {
		struct request *r;

		if (!q[i])
			continue;
		r = &q[i]->r;
		if (r->pending && ret) {
			gfwd_rules_restore(d, &r->diff);
			countries |= r->countries;
			asn |= r->asn;
			ports |= r->ports;
			r->w->len = 0;
			/* Its change was logged when it ran: the log says
			 * it did not stay. */
			log_warn("uid %u pid %d: %s: not saved (the commit failed), undone",
				 r->who.uid, r->who.pid, r->cmd->desc->name);
			snprintf(r->err, sizeof(r->err), "not saved, nothing changed: %s", err);
			r->status = reply_error(r, GEOFW_CTL_REJECTED, r->err);
		}
		geofw_ctl_writer_end(r->w, r->status);
		conn_free(q[i]);
		q[i] = NULL;
	}
	if (countries) {
		gfwd_apply_countries(d);
		gfwd_apply_kernel_config(d);
	}
	if (asn)
		asn_restore(d);
	if (ports)
		gfwd_apply_ports(d, NULL, 0);
	if (!ret)
		gfwd_arm_sweep(d);
}

/* One change inside the group's transaction, in a savepoint of its own. */
static void run_change(struct request *r)
{
	char err[GEOFW_ERRLEN];
	int ret = 0;

	if (!geofw_store_in_txn(r->d->store))
		ret = geofw_store_begin(r->d->store, err, sizeof(err));
	if (!ret)
		ret = geofw_store_savepoint(r->d->store, err, sizeof(err));
	if (ret) {
		snprintf(r->err, sizeof(r->err), "%s", err);
		r->status = reply_error(r, GEOFW_CTL_REJECTED, r->err);
		return;
	}
	r->status = execute(r);
	/* Degraded: done and stored, but not all enforced (AS rules without
	 * ASNDatabase). */
	if (r->status != GEOFW_CTL_OK && r->status != GEOFW_CTL_DEGRADED) {
		/* A refusal that did not go through change_failed() (which
		 * already did this) must not leave its savepoint open: the
		 * group's COMMIT would fail for every change in it. */
		geofw_store_rollback_to(r->d->store);
	} else {
		if (geofw_store_release(r->d->store, err, sizeof(err))) {
			geofw_store_rollback_to(r->d->store);
			gfwd_rules_restore(r->d, &r->diff);
			if (r->asn)
				asn_restore(r->d);
			if (r->ports)
				gfwd_apply_ports(r->d, NULL, 0);
			r->w->len = 0;
			r->status = reply_error(r, GEOFW_CTL_REJECTED, err);
			return;
		}
		r->pending = true;
	}
}

static bool more_waiting(int lsock)
{
	struct pollfd p = { .fd = lsock, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void gfwd_control_ready(struct gfwd *d)
{
	int sock, n = 0;

	/* Everyone already waiting is accepted now, so that their changes
	 * can join the same round. */
	do {
		sock = geofw_ctl_accept(d->ctlfd, 5000);
		if (sock < 0)
			break;
		control_handle(d, sock);
	} while (++n < GROUP_MAX && more_waiting(d->ctlfd));
}

void gfwd_control_flush(struct gfwd *d)
{
	struct conn **q = round_q;
	int n = round_n, i;

	if (!n)
		return;
	round_n = 0;
	for (i = 0; i < n; i++) {
		struct request *r = &q[i]->r;

		if (gfwd_cmds[r->cmd->id].change) {
			run_change(r);
			continue;
		}
		/* Reads and reloads see only committed rules. */
		flush(d, q, i);
		r->status = execute(r);
	}
	flush(d, q, n);
	/* The WAL is copied into rules.db once nobody waits for an answer. */
	geofw_store_checkpoint(d->store);
}
