/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Clocks and durations, in one place.
 *
 * Clocks: the kernel stamps rule expiry on CLOCK_BOOTTIME (it keeps counting
 * in suspend and cannot be set), people read CLOCK_REALTIME; the conversions
 * between the two are here.
 *
 * Durations, as geofw prints them (fwctl list, geofwd's log and answers,
 * feed intervals): units w, d, h, m, s, largest first, a unit that is zero
 * left out: "45s", "1m30s", "1h", "1h30m", "2d3h", "1w2d".  A remaining time
 * shows its two largest units ("1h", never "1h0m"; the rest is cut off, so
 * "59m59s" after an hour's TTL has begun); an interval the operator wrote
 * shows every unit, so it reads back to the same number of seconds.
 * geofw_duration_parse() reads every form printed here, and also bare
 * seconds and a zero unit ("1h0m"), since people type those.
 */
#ifndef GEOFW_TIMEUTIL_H
#define GEOFW_TIMEUTIL_H

#include <stddef.h>
#include <time.h>
#include <linux/types.h>

/* Longest duration accepted, so that seconds * 1e9 still fits in a __u64. */
#define GEOFW_DURATION_MAX	(~0ULL / 1000000000ULL)
/* Room for any formatted duration or age ("in 2562047788015h ago" fits). */
#define GEOFW_DURATION_STRLEN	32

/* Now on clk (CLOCK_BOOTTIME, CLOCK_REALTIME, …) in nanoseconds. */
__u64 geofw_clock_ns(clockid_t clk);
/* The same in seconds, for rates and intervals. */
double geofw_clock_s(clockid_t clk);
/* Whole seconds until a CLOCK_BOOTTIME deadline, rounded up; 0 when past. */
__u64 geofw_boot_left(__u64 expires_ns);
/* A CLOCK_BOOTTIME instant as Unix time (seconds), for people and JSON. */
__u64 geofw_boot_to_unix(__u64 boot_ns);

/* "30s", "10m", "2h", "7d", "1w", "1h30m" (units largest first, each once) or
 * plain seconds; must be > 0 and <= GEOFW_DURATION_MAX. */
int geofw_duration_parse(const char *text, __u64 *seconds, char *err, size_t errlen);

enum {
	/* Every non-zero unit ("1d1h1m1s"), not only the two largest. */
	GEOFW_DURATION_EXACT	= 1u << 0,
};

/* secs as above ("0s" for zero). */
void geofw_duration_format(__u64 secs, unsigned int flags, char *buf, size_t len);

/* How long ago t was, or how far ahead, in one rounded unit: "never" (t is 0),
 * "42s ago", "5m ago", "3h ago", "in 10m" (seconds below 2 minutes, minutes
 * below 2 hours, hours beyond). */
void geofw_ago_format(time_t t, time_t now, char *buf, size_t len);

#endif
