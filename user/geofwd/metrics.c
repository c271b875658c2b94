// SPDX-License-Identifier: GPL-2.0-only
/*
 * MetricsListen: GET /metrics in the Prometheus text format, and nothing
 * else.
 *
 * The firewall daemon must never wait on a scraper, so the listener lives in
 * geofwd's epoll loop with non-blocking sockets: at most HTTP_MAX_CONNS
 * connections, a request of at most HTTP_REQ_MAX bytes, HTTP_TIMEOUT_MS from
 * accept to the last byte of the answer, one request per connection
 * (HTTP/1.0 style, "Connection: close").  When every slot is taken a new
 * connection takes the slot of the oldest one (an answered one first, then
 * one still without a whole request): a scraper sends its request as soon
 * as it connects, so idle connections cannot keep scrapes out.
 *
 * Reading every per-CPU counter costs milliseconds (more with many rule
 * ids and CPUs): the rendered text is reused for METRICS_REUSE_MS, as long
 * as nothing but the kernel counters changed (rules, reloads, database,
 * interfaces: those are compared on every scrape, which is cheap), so many
 * scrapers or a scrape loop cost one read per second.  The answer is rendered whole
 * before the first byte goes out (at most GEOFW_METRICS_MAX), then written
 * as the socket takes it.  After the answer the connection is half-closed
 * and drained briefly, so that unread request bytes do not turn the close
 * into a reset that could destroy the answer in flight.
 */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "fetcher.h"
#include "fleet.h"
#include "geofwd.h"
#include "log.h"
#include "metrics.h"

#define HTTP_MAX_CONNS		8
#define HTTP_REQ_MAX		4096	/* request line + headers */
#define HTTP_TIMEOUT_MS		5000	/* accept → answer written */
#define HTTP_LINGER_MS		1000	/* draining after the answer */
#define HTTP_BACKLOG		16
#define HTTP_HEAD_ROOM		256	/* status line and headers */
#define HTTP_ACCEPTS_PER_WAKE	16
#define METRICS_REUSE_MS	1000	/* a rendered text serves this long */

enum conn_state {
	C_FREE = 0,
	C_READ,		/* reading the request */
	C_WRITE,	/* writing the answer */
	C_DRAIN,	/* answer sent, write side shut, discarding input */
};

struct http_conn {
	int fd;
	enum conn_state state;
	__u64 since_ms;			/* accepted, CLOCK_MONOTONIC */
	__u64 deadline_ms;		/* CLOCK_MONOTONIC */
	size_t req_len;
	char req[HTTP_REQ_MAX];
	char *out;			/* answer buffer (malloc'd) */
	size_t out_off, out_end;	/* bytes still to write: out[out_off..out_end) */
};

struct gfwd_metrics {
	int listen_fd;			/* -1: not listening */
	int timer_fd;			/* earliest connection deadline */
	bool enabled;			/* what the listener was opened for */
	struct sockaddr_storage addr;
	unsigned long reloads;		/* reload count at the last attempt */
	int evt_limit_fd;		/* gfw_evt_limit, borrowed from the object */
	struct geofw_counters counters;	/* scratch for one render */
	struct http_conn conns[HTTP_MAX_CONNS];
	/* The last rendered text and what it was rendered from. */
	char *text;			/* GEOFW_METRICS_MAX, NULL until the first */
	size_t text_len;
	__u64 text_ms;			/* when its counters were read */
	struct geofw_metrics_info text_info;
	struct geofw_metrics_iface text_ifs[GEOFW_METRICS_MAX_IFACES];
	struct geofw_metrics_source text_src[GEOFW_METRICS_MAX_SOURCES];
};

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
	return buf;
}

static int ep_ctl(struct gfwd *d, int op, int fd, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(d->epfd, op, fd, &ev) ? -errno : 0;
}

/* The timer fires at the earliest deadline of the open connections. */
static void arm_timer(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	struct itimerspec its = {};
	__u64 first = 0, now = mono_ms();
	int i;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (m->conns[i].state != C_FREE &&
		    (!first || m->conns[i].deadline_ms < first))
			first = m->conns[i].deadline_ms;
	if (first) {
		__u64 in = first > now ? first - now : 1;

		its.it_value.tv_sec = (time_t)(in / 1000);
		its.it_value.tv_nsec = (long)(in % 1000) * 1000000;
	}
	timerfd_settime(m->timer_fd, 0, &its, NULL);
}

static void conn_close(struct gfwd *d, struct http_conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = C_FREE;
	c->req_len = 0;
}

/* ---- answers --------------------------------------------------------------------- */

static void fill_info(const struct gfwd *d, struct geofw_metrics_info *in,
		      struct geofw_metrics_iface *ifs)
{
	struct geofw_store_countries sc;
	struct geofw_store_counts n;
	size_t i;

	memset(in, 0, sizeof(*in));
	memset(ifs, 0, sizeof(*ifs) * GEOFW_METRICS_MAX_IFACES);
	in->start_time = d->started;
	geofw_store_counts(d->store, &n);
	in->block_ip4 = n.block_ip4;
	in->block_ip6 = n.block_ip6;
	in->block_net4 = n.block_net4;
	in->block_net6 = n.block_net6;
	in->allow4 = n.allow4;
	in->allow6 = n.allow6;
	/* The runtime policy replaces the file's once fwctl changed it; the
	 * fleet's joins it. */
	gfwd_countries_in_force(d, &sc);
	in->country_mode = sc.mode;
	for (i = 0; i < GEOFW_MAX_COUNTRIES; i++)
		in->countries_listed += sc.listed[i];
	in->geoip_loaded = d->db.loaded;
	in->geoip_build_epoch = d->db.build_epoch;
	in->geoip_loaded_at = d->db.loaded_at;
	in->geoip_load_seconds = d->db.load_seconds;
	in->geoip_prefixes_v4 = d->db.n_v4;
	in->geoip_prefixes_v6 = d->db.n_v6;
	in->country_policy_enforced = gfwd_country_policy_enforced(d, NULL, 0);
	in->asn_rules_enforced = gfwd_asn_rules_enforced(d, NULL, NULL, 0);
	gfwd_asn_counts(d, &in->asn_blocked, &in->asn_allowed);
	in->reloads_ok = d->reloads_ok;
	in->reloads_failed = d->reloads_failed;
	in->last_reload_ok = d->last_reload;
	for (i = 0; i < (size_t)d->n_ifaces && i < GEOFW_METRICS_MAX_IFACES; i++) {
		const struct gfwd_iface *f = &d->ifaces[i];

		snprintf(ifs[i].name, sizeof(ifs[i].name), "%s", f->name);
		ifs[i].present = f->ifindex != 0;
		ifs[i].attached = f->xdp_link >= 0;
		ifs[i].xdp_mode = f->xdp_mode;
		ifs[i].responder = f->tc;
	}
	in->ifaces = ifs;
	in->n_ifaces = i;
	in->drop_log_samples = gfwd_droplog_samples(d);
	for (i = 0; i < (size_t)d->n_rl && i < GEOFW_MAX_RATELIMITS; i++)
		snprintf(in->rl_name[i], sizeof(in->rl_name[i]), "%s", d->rl[i].name);
	in->n_rl = i;
	gfwd_fleet_metrics(d, in);
	gfwd_sources_metrics(d, in);
}

/* Headers go right in front of the body, which was rendered at
 * HTTP_HEAD_ROOM: no copy of the body. */
static int answer(struct http_conn *c, int code, const char *reason, const char *type,
		  const char *extra, size_t body_len, bool head_only)
{
	char hdr[HTTP_HEAD_ROOM];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
		     code, reason, type, body_len, extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -ENOSPC;
	memcpy(c->out + HTTP_HEAD_ROOM - n, hdr, (size_t)n);
	c->out_off = HTTP_HEAD_ROOM - (size_t)n;
	c->out_end = HTTP_HEAD_ROOM + (head_only ? 0 : body_len);
	return 0;
}

static int answer_error(struct http_conn *c, int code, const char *reason,
			const char *extra, bool head_only)
{
	int n;

	free(c->out);
	c->out = malloc(HTTP_HEAD_ROOM + 128);
	if (!c->out)
		return -ENOMEM;
	n = snprintf(c->out + HTTP_HEAD_ROOM, 128, "%d %s\n", code, reason);
	return answer(c, code, reason, "text/plain; charset=utf-8", extra, (size_t)n, head_only);
}

/* Is the last text still good for this scrape?  The counters may be up to
 * METRICS_REUSE_MS old; everything else must be as it is now. */
static bool text_reusable(const struct gfwd_metrics *m, const struct geofw_metrics_info *info,
			  const struct geofw_metrics_iface *ifs, __u64 now)
{
	struct geofw_metrics_info a = *info, b = m->text_info;

	if (!m->text || now - m->text_ms >= METRICS_REUSE_MS)
		return false;
	/* A counter too (samples read), and pointers to our own arrays. */
	a.drop_log_samples = b.drop_log_samples = 0;
	a.ifaces = b.ifaces = NULL;
	a.sources = b.sources = NULL;
	return !memcmp(&a, &b, sizeof(a)) &&
	       !memcmp(ifs, m->text_ifs, sizeof(*ifs) * GEOFW_METRICS_MAX_IFACES) &&
	       (!info->n_sources ||
		!memcmp(info->sources, m->text_src, sizeof(*info->sources) * info->n_sources));
}

static int render(struct gfwd *d, const struct geofw_metrics_info *info,
		  const struct geofw_metrics_iface *ifs, __u64 now)
{
	struct gfwd_metrics *m = d->metrics;
	struct geofw_store_counts sc;
	int err, n;

	if (!m->text && !(m->text = malloc(GEOFW_METRICS_MAX)))
		return -ENOMEM;
	m->text_len = 0;
	m->text_ms = 0;
	/* Ranking the rules reads GEOFW_MAX_RULE_IDS per-CPU counters (about
	 * 20 ms with 2 CPUs, more with more): skipped while no rule has an id. */
	geofw_store_counts(d->store, &sc);
	err = geofw_counters_read(&d->fw.maps, m->evt_limit_fd,
				  sc.rows ? GEOFW_COUNTERS_RULES : 0, &m->counters);
	if (err) {
		log_warn("metrics: cannot read the counters: %s", strerror(-err));
		return err;
	}
	n = geofw_metrics_render(&m->counters, info, m->text, GEOFW_METRICS_MAX);
	if (n < 0) {
		log_warn("metrics: the text outgrew %d bytes", GEOFW_METRICS_MAX);
		return n;
	}
	m->text_len = (size_t)n;
	m->text_ms = now;
	m->text_info = *info;
	memcpy(m->text_ifs, ifs, sizeof(m->text_ifs));
	if (info->n_sources)
		memcpy(m->text_src, info->sources, sizeof(*info->sources) * info->n_sources);
	return 0;
}

static int answer_metrics(struct gfwd *d, struct http_conn *c, bool head_only)
{
	struct geofw_metrics_iface ifs[GEOFW_METRICS_MAX_IFACES];
	struct gfwd_metrics *m = d->metrics;
	struct geofw_metrics_info info;
	__u64 now = mono_ms();

	fill_info(d, &info, ifs);
	if (!text_reusable(m, &info, ifs, now) && render(d, &info, ifs, now))
		return answer_error(c, 500, "Internal Server Error", NULL, head_only);
	c->out = malloc(HTTP_HEAD_ROOM + m->text_len);
	if (!c->out)
		return answer_error(c, 500, "Internal Server Error", NULL, head_only);
	memcpy(c->out + HTTP_HEAD_ROOM, m->text, m->text_len);
	return answer(c, 200, "OK", GEOFW_METRICS_CONTENT_TYPE, NULL, m->text_len, head_only);
}

static bool is_tchar(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/*
 * Judge a complete request head (NUL-terminated, ends with an empty line)
 * and prepare the answer: 200 for GET or HEAD /metrics, 404 for another
 * path, 405 for another method, 400 for anything malformed.
 */
static int handle_request(struct gfwd *d, struct http_conn *c)
{
	char *line = c->req, *eol, *method, *target, *version, *q;
	size_t i;
	bool head;

	eol = strchr(line, '\n');
	if (!eol)
		return answer_error(c, 400, "Bad Request", NULL, false);
	if (eol > line && eol[-1] == '\r')
		eol--;
	*eol = '\0';
	for (i = 0; i < (size_t)(eol - line); i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return answer_error(c, 400, "Bad Request", NULL, false);

	/* method SP request-target SP HTTP-version, single spaces */
	method = line;
	target = strchr(method, ' ');
	if (!target)
		return answer_error(c, 400, "Bad Request", NULL, false);
	*target++ = '\0';
	version = strchr(target, ' ');
	if (!version)
		return answer_error(c, 400, "Bad Request", NULL, false);
	*version++ = '\0';
	if (!*method || !*target || strchr(version, ' ') ||
	    (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1")))
		return answer_error(c, 400, "Bad Request", NULL, false);
	for (q = method; *q; q++)
		if (!is_tchar(*q))
			return answer_error(c, 400, "Bad Request", NULL, false);
	if (target[0] != '/')
		return answer_error(c, 400, "Bad Request", NULL, false);

	head = !strcmp(method, "HEAD");
	/* The query string is ignored, as Prometheus may add parameters. */
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, "/metrics"))
		return answer_error(c, 404, "Not Found", NULL, head);
	if (strcmp(method, "GET") && !head)
		return answer_error(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", false);
	return answer_metrics(d, c, head);
}

/* ---- connection I/O ------------------------------------------------------------------ */

static void conn_drain_start(struct gfwd *d, struct http_conn *c)
{
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
	c->deadline_ms = mono_ms() + HTTP_LINGER_MS;
	ep_ctl(d, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP);
	arm_timer(d);
}

static void conn_write(struct gfwd *d, struct http_conn *c)
{
	while (c->out_off < c->out_end) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_end - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (c->state != C_WRITE) {
				c->state = C_WRITE;
				ep_ctl(d, EPOLL_CTL_MOD, c->fd, EPOLLOUT);
			}
			return;
		}
		if (n <= 0) {
			conn_close(d, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	conn_drain_start(d, c);
}

/* The end of the request head: an empty line (CRLF CRLF, or bare LFs). */
static bool head_complete(const struct http_conn *c)
{
	return strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n");
}

static void conn_read(struct gfwd *d, struct http_conn *c)
{
	char scratch[1024];
	ssize_t n;

	if (c->state == C_DRAIN) {
		do
			n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		while (n > 0);
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_close(d, c);
		return;
	}
	for (;;) {
		size_t room = sizeof(c->req) - 1 - c->req_len;

		if (!room) {
			/* Too long a head for a scrape: refuse rather than wait. */
			if (answer_error(c, 400, "Bad Request", NULL, false))
				conn_close(d, c);
			else
				conn_write(d, c);
			return;
		}
		n = recv(c->fd, c->req + c->req_len, room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/* Closed before a whole request: nothing to answer. */
			conn_close(d, c);
			return;
		}
		/* NUL bytes would hide the rest of the head from strstr. */
		if (memchr(c->req + c->req_len, '\0', (size_t)n)) {
			c->req_len += (size_t)n;
			c->req[c->req_len] = '\0';
			if (answer_error(c, 400, "Bad Request", NULL, false))
				conn_close(d, c);
			else
				conn_write(d, c);
			return;
		}
		c->req_len += (size_t)n;
		c->req[c->req_len] = '\0';
		if (head_complete(c))
			break;
	}
	if (handle_request(d, c)) {
		conn_close(d, c);
		return;
	}
	conn_write(d, c);
}

/* Full: the oldest answered connection, else the oldest still reading its
 * request, else the oldest being written to. */
static struct http_conn *eviction_victim(struct gfwd_metrics *m)
{
	static const enum conn_state order[] = { C_DRAIN, C_READ, C_WRITE };
	struct http_conn *v = NULL;
	size_t k;
	int i;

	for (k = 0; k < sizeof(order) / sizeof(order[0]) && !v; k++)
		for (i = 0; i < HTTP_MAX_CONNS; i++)
			if (m->conns[i].state == order[k] &&
			    (!v || m->conns[i].since_ms < v->since_ms))
				v = &m->conns[i];
	return v ? v : &m->conns[0];
}

static void on_accept(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	int k, i, fd;

	for (k = 0; k < HTTP_ACCEPTS_PER_WAKE; k++) {
		struct http_conn *c = NULL;

		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("metrics: accept: %s", strerror(errno));
			return;
		}
		for (i = 0; i < HTTP_MAX_CONNS && !c; i++)
			if (m->conns[i].state == C_FREE)
				c = &m->conns[i];
		if (!c) {
			c = eviction_victim(m);
			log_debug("metrics: all %d connections taken; closing the oldest",
				  HTTP_MAX_CONNS);
			conn_close(d, c);
		}
		c->fd = fd;
		c->since_ms = mono_ms();
		c->state = C_READ;
		c->req_len = 0;
		c->req[0] = '\0';
		c->deadline_ms = mono_ms() + HTTP_TIMEOUT_MS;
		if (ep_ctl(d, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP)) {
			close(fd);
			c->fd = -1;
			c->state = C_FREE;
			continue;
		}
		arm_timer(d);
	}
}

static void on_timer(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	__u64 now = mono_ms(), n;
	int i;

	if (read(m->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("metrics timer: %s", strerror(errno));
	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &m->conns[i];

		if (c->state != C_FREE && c->deadline_ms <= now) {
			if (c->state != C_DRAIN)
				log_debug("metrics: connection timed out");
			conn_close(d, c);
		}
	}
	arm_timer(d);
}

bool gfwd_metrics_event(struct gfwd *d, int fd, __u32 events)
{
	struct gfwd_metrics *m = d->metrics;
	int i;

	if (!m || fd < 0)
		return false;
	if (fd == m->listen_fd) {
		on_accept(d);
		return true;
	}
	if (fd == m->timer_fd) {
		on_timer(d);
		return true;
	}
	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &m->conns[i];

		if (c->state == C_FREE || c->fd != fd)
			continue;
		if (c->state == C_WRITE) {
			if (events & (EPOLLERR | EPOLLHUP))
				conn_close(d, c);
			else
				conn_write(d, c);
		} else {
			conn_read(d, c);
		}
		if (c->state != C_FREE && (events & EPOLLERR))
			conn_close(d, c);
		arm_timer(d);
		return true;
	}
	return false;
}

/* ---- listener --------------------------------------------------------------------------- */

static void close_all(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	int i;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (m->conns[i].state != C_FREE)
			conn_close(d, &m->conns[i]);
	if (m->listen_fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, m->listen_fd, NULL);
		close(m->listen_fd);
		m->listen_fd = -1;
	}
	arm_timer(d);
}

static int open_listener(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	const struct sockaddr_storage *ss = &d->conf.metrics_addr;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						    sizeof(struct sockaddr_in);
	char where[INET6_ADDRSTRLEN + 16];
	int one = 1, fd, err;

	addr_str(ss, where, sizeof(where));
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err(-errno, "metrics: socket: %s", strerror(errno));
	/* A restart must not wait for the last scrape's TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, HTTP_BACKLOG)) {
		err = -errno;
		close(fd);
		return log_err(err, "metrics: cannot listen on %s: %s (no metrics until a "
			       "reload succeeds)", where, strerror(-err));
	}
	if ((err = ep_ctl(d, EPOLL_CTL_ADD, fd, EPOLLIN))) {
		close(fd);
		return log_err(err, "metrics: epoll: %s", strerror(-err));
	}
	m->listen_fd = fd;
	log_info("metrics: serving http://%s/metrics", where);
	return 0;
}

static int metrics_new(struct gfwd *d)
{
	struct gfwd_metrics *m = calloc(1, sizeof(*m));
	struct bpf_map *lim;
	int i;

	if (!m)
		return log_err(-ENOMEM, "metrics: out of memory");
	m->listen_fd = -1;
	for (i = 0; i < HTTP_MAX_CONNS; i++)
		m->conns[i].fd = -1;
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timer_fd < 0 || ep_ctl(d, EPOLL_CTL_ADD, m->timer_fd, EPOLLIN)) {
		int err = -errno;

		if (m->timer_fd >= 0)
			close(m->timer_fd);
		free(m);
		return log_err(err, "metrics: timer: %s", strerror(-err));
	}
	lim = d->fw.xdp_obj ? bpf_object__find_map_by_name(d->fw.xdp_obj,
							   GEOFW_MAP_EVENT_LIMIT) : NULL;
	m->evt_limit_fd = lim ? bpf_map__fd(lim) : -1;
	d->metrics = m;
	return 0;
}

void gfwd_metrics_sync(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;
	unsigned long reloads = d->reloads_ok + d->reloads_failed;
	bool same;

	if (!m) {
		if (!d->conf.metrics_enabled || metrics_new(d))
			return;
		m = d->metrics;
		m->reloads = reloads;
	} else {
		same = m->enabled == d->conf.metrics_enabled &&
		       (!m->enabled || !memcmp(&m->addr, &d->conf.metrics_addr, sizeof(m->addr)));
		/* Called after every event: a listener that could not be
		 * opened is tried again on the next reload, not in a loop. */
		if (same && (m->listen_fd >= 0 || !m->enabled || m->reloads == reloads))
			return;
	}
	m->reloads = reloads;
	/* Off, or another address: the old listener goes first (the new
	 * address may be the same port on another family). */
	if (m->listen_fd >= 0) {
		close_all(d);
		if (!d->conf.metrics_enabled)
			log_info("metrics: off");
	}
	m->enabled = d->conf.metrics_enabled;
	m->addr = d->conf.metrics_addr;
	if (m->enabled)
		open_listener(d);
}

void gfwd_metrics_close(struct gfwd *d)
{
	struct gfwd_metrics *m = d->metrics;

	if (!m)
		return;
	close_all(d);
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, m->timer_fd, NULL);
	close(m->timer_fd);
	free(m->text);
	free(m);
	d->metrics = NULL;
}
