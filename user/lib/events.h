/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The drop log: samples of blocked (and logged) packets that the XDP program
 * writes into the ring buffer gfw_events while config.events_rate is set.
 * geofwd (DropLog = on) and `fwctl log` / `fwctl top` read them with this
 * reader and print them with the formatters below, so both show the same
 * line for the same packet.
 *
 * A BPF ring buffer has a single consumer position, kept in the map itself:
 * every reader of the pinned map advances the same position.  Two readers at
 * once therefore share the samples (each sample goes to one of them, now and
 * then to both); they never each get a full copy.
 */
#ifndef GEOFW_EVENTS_H
#define GEOFW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"

/* Room for one text line or one JSON object, NUL included. */
#define GEOFW_EVENT_STRLEN	320

struct geofw_event_reader;

/* Called for each sample, in ring order.  A non-zero return stops the
 * current consume/poll call and is returned by it. */
typedef int (*geofw_event_fn)(const struct geofw_event *ev, void *ctx);

/*
 * Read the ring buffer map_fd (gfw_events: from a loaded object or the pin).
 * The fd is not taken over: keep it open while the reader lives.
 * 0 or -errno.
 */
int geofw_events_open(int map_fd, geofw_event_fn fn, void *ctx,
		      struct geofw_event_reader **out);
void geofw_events_close(struct geofw_event_reader *r);

/* A descriptor that becomes readable when samples are queued: put it in an
 * epoll set or poll() it, then call geofw_events_consume(). */
int geofw_events_fd(const struct geofw_event_reader *r);

/* Hand every queued sample to fn without waiting: the number of samples,
 * or -errno (or fn's non-zero return). */
int geofw_events_consume(struct geofw_event_reader *r);

/* Wait up to timeout_ms for samples, then consume at most a batch of them
 * (GEOFW_EVENTS_POLL_BATCH; more stay queued for the next call, which then does not wait): the
 * number of samples (0 on timeout) or -errno (-EINTR when a signal came).
 * A bounded call, so that a loop around it sees its stop flag under a flood. */
int geofw_events_poll(struct geofw_event_reader *r, int timeout_ms);
#define GEOFW_EVENTS_POLL_BATCH	1024	/* the ring holds about 3,600 */

/*
 * Formatting.  ifname names ev->ifindex (NULL or "": printed as "if<N>");
 * the caller resolves it, in the network namespace it cares about.  Both
 * return the length written, or -ENOSPC when len is too short (buf then
 * holds a truncated, NUL-terminated string).
 *
 * Text, key=value words so that a log line greps and parses alike:
 *
 *	src=203.0.113.2 dst=203.0.113.1 proto=udp sport=40000 dport=9
 *	reason=country_block action=drop country=RU iface=eth0
 *
 * (one line; "rule=N" follows when a rule decided, ports only for TCP, UDP
 * and SCTP, country=- when the address has none).
 */
int geofw_event_format(const struct geofw_event *ev, const char *ifname, char *buf,
		       size_t len);

/*
 * One JSON object, no newline:
 *	{"time":1718268513.123,"src":"203.0.113.2","dst":"203.0.113.1",
 *	 "proto":"udp","sport":40000,"dport":9,"reason":"country_block",
 *	 "action":"drop","country":"RU","interface":"eth0","ifindex":3,
 *	 "rule_id":0}
 * unix_time is the wall-clock time of the sample (geofw_event_unix_time());
 * proto is a string, the number ("47") when it has no name here; ports
 * are null when the protocol has none, country null when unknown.
 */
int geofw_event_format_json(const struct geofw_event *ev, const char *ifname,
			    double unix_time, char *buf, size_t len);

/* The wall-clock time (UNIX seconds) of a sample's CLOCK_BOOTTIME stamp. */
double geofw_event_unix_time(const struct geofw_event *ev);

/* "tcp", "udp", "icmp", "icmpv6", "sctp", "gre", "esp", ...; NULL when the
 * protocol has no name here (print the number). */
const char *geofw_l4proto_name(unsigned int proto);

/* The source (or destination) as text, the way geofw_event_format()
 * prints it: buf needs 46 bytes (INET6_ADDRSTRLEN). */
const char *geofw_event_addr(const struct geofw_event *ev, bool source, char *buf,
			     size_t len);

#endif
