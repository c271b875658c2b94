// SPDX-License-Identifier: GPL-2.0-only
#include "events.h"
#include "jsonlib.h"
#include "log.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "countries.h"
#include "maps.h"
#include "msg.h"
#include "timeutil.h"

struct geofw_event_reader {
	struct ring_buffer *rb;
	geofw_event_fn fn;
	void *ctx;
	bool warned;	/* about a record of another size */
	long left;	/* records this poll may still hand over; <0: no bound */
};

/* libbpf's ring_buffer__poll() consumes for as long as the producer keeps
 * producing: under a flood one call never returned, and fwctl log --follow
 * stayed in it minutes after SIGTERM.  A poll hands over at most this many
 * records, so the caller's loop sees its stop flag between batches; what is
 * left stays queued and the next poll returns at once (level-triggered). */

static int on_sample(void *ctx, void *data, size_t size)
{
	struct geofw_event_reader *r = ctx;
	struct geofw_event ev;
	int err;

	/* Records of another size come from a build with another ABI: the
	 * pins would have been refused, but a reader must not misread. */
	if (size != sizeof(ev)) {
		if (!r->warned)
			log_warn("events: skipping records of %zu bytes (this build reads %zu)",
				 size, sizeof(ev));
		r->warned = true;
		return 0;
	}
	/* A copy: the record lives in shared memory the kernel may reuse
	 * once the consumer position moves on. */
	memcpy(&ev, data, sizeof(ev));
	err = r->fn(&ev, r->ctx);
	/* This record is consumed either way: a negative return stops libbpf
	 * after moving the consumer position past it. */
	if (!err && r->left > 0 && !--r->left)
		return -EAGAIN;
	return err;
}

int geofw_events_open(int map_fd, geofw_event_fn fn, void *ctx,
		      struct geofw_event_reader **out)
{
	struct geofw_event_reader *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->ctx = ctx;
	r->left = -1;
	r->rb = ring_buffer__new(map_fd, on_sample, r, NULL);
	if (!r->rb) {
		err = -errno;
		free(r);
		return err ? err : -EINVAL;
	}
	*out = r;
	return 0;
}

void geofw_events_close(struct geofw_event_reader *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

int geofw_events_fd(const struct geofw_event_reader *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

int geofw_events_consume(struct geofw_event_reader *r)
{
	return ring_buffer__consume(r->rb);
}

int geofw_events_poll(struct geofw_event_reader *r, int timeout_ms)
{
	int n;

	r->left = GEOFW_EVENTS_POLL_BATCH;
	n = ring_buffer__poll(r->rb, timeout_ms);
	if (n == -EAGAIN && !r->left)
		n = GEOFW_EVENTS_POLL_BATCH;
	r->left = -1;
	return n;
}

/* ---- formatting ------------------------------------------------------------- */

const char *geofw_l4proto_name(unsigned int proto)
{
	switch (proto) {
	case IPPROTO_ICMP:	return "icmp";
	case IPPROTO_IGMP:	return "igmp";
	case IPPROTO_TCP:	return "tcp";
	case IPPROTO_UDP:	return "udp";
	case IPPROTO_GRE:	return "gre";
	case IPPROTO_ESP:	return "esp";
	case IPPROTO_AH:	return "ah";
	case IPPROTO_ICMPV6:	return "icmpv6";
	case IPPROTO_SCTP:	return "sctp";
	case IPPROTO_UDPLITE:	return "udplite";
	default:		return NULL;
	}
}

static bool has_ports(unsigned int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

const char *geofw_event_addr(const struct geofw_event *ev, bool source, char *buf,
			     size_t len)
{
	const __u8 *a = source ? ev->saddr : ev->daddr;

	if (!inet_ntop(ev->family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

double geofw_event_unix_time(const struct geofw_event *ev)
{
	return geofw_clock_s(CLOCK_REALTIME) -
	       (geofw_clock_s(CLOCK_BOOTTIME) - (double)ev->ts_ns / 1e9);
}

static int done(struct geofw_text *o)
{
	if (o->used >= o->len)
		return -ENOSPC;
	return (int)o->used;
}

int geofw_event_format(const struct geofw_event *ev, const char *ifname, char *buf,
		       size_t len)
{
	struct geofw_text o = { buf, len, 0 };
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const char *proto = geofw_l4proto_name(ev->l4proto);
	const char *cc = geofw_country_code(ev->country_id);

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	geofw_text_put(&o, "src=%s dst=%s", geofw_event_addr(ev, true, src, sizeof(src)),
		       geofw_event_addr(ev, false, dst, sizeof(dst)));
	if (proto)
		geofw_text_put(&o, " proto=%s", proto);
	else
		geofw_text_put(&o, " proto=%u", ev->l4proto);
	if (has_ports(ev->l4proto))
		geofw_text_put(&o, " sport=%u dport=%u", ntohs(ev->sport_be), ntohs(ev->dport_be));
	geofw_text_put(&o, " reason=%s action=%s country=%s", geofw_reason_name(ev->reason),
		       geofw_action_name(ev->action), cc ? cc : "-");
	if (ifname && *ifname)
		geofw_text_put(&o, " iface=%s", ifname);
	else
		geofw_text_put(&o, " iface=if%u", ev->ifindex);
	if (ev->rule_id)
		geofw_text_put(&o, " rule=%u", ev->rule_id);
	return done(&o);
}

int geofw_event_format_json(const struct geofw_event *ev, const char *ifname,
			    double unix_time, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ifn[32], num[8];
	const char *proto = geofw_l4proto_name(ev->l4proto);
	bool ports = has_ports(ev->l4proto);
	json_t *doc;
	size_t n;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!proto) {
		snprintf(num, sizeof(num), "%u", ev->l4proto);
		proto = num;
	}
	if (!ifname || !*ifname) {
		snprintf(ifn, sizeof(ifn), "if%u", ev->ifindex);
		ifname = ifn;
	}
	/* Interface names are the only text here not made by us (jsonlib.h). */
	doc = json_pack("{s:o, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s?, s:o, s:I, s:I}",
			"time", geofw_json_real3(unix_time),
			"src", geofw_event_addr(ev, true, src, sizeof(src)),
			"dst", geofw_event_addr(ev, false, dst, sizeof(dst)), "proto", proto,
			"sport", ports ? json_integer(ntohs(ev->sport_be)) : json_null(),
			"dport", ports ? json_integer(ntohs(ev->dport_be)) : json_null(),
			"reason", geofw_reason_name(ev->reason),
			"action", geofw_action_name(ev->action),
			"country", geofw_country_code(ev->country_id),
			"interface", geofw_json_text(ifname),
			"ifindex", (json_int_t)ev->ifindex, "rule_id", (json_int_t)ev->rule_id);
	if (!doc)
		return -ENOMEM;
	n = json_dumpb(doc, buf, len - 1, GEOFW_JSON_DUMP);
	json_decref(doc);
	if (!n)
		return -ENOMEM;
	if (n > len - 1) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	buf[n] = '\0';
	return (int)n;
}
