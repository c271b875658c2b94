// SPDX-License-Identifier: GPL-2.0-only
#include "timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "msg.h"

/* Largest first: the order durations are written and parsed in. */
static const struct {
	char unit;
	__u64 secs;
} units[] = { { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

#define N_UNITS	(sizeof(units) / sizeof(units[0]))

__u64 geofw_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

double geofw_clock_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__u64 geofw_boot_left(__u64 expires_ns)
{
	__u64 now = geofw_clock_ns(CLOCK_BOOTTIME);

	return expires_ns > now ? (expires_ns - now + 999999999ull) / 1000000000ull : 0;
}

__u64 geofw_boot_to_unix(__u64 boot_ns)
{
	__u64 boot = geofw_clock_ns(CLOCK_BOOTTIME), real = geofw_clock_ns(CLOCK_REALTIME);

	return (real + boot_ns - boot) / 1000000000ull;
}

void geofw_duration_format(__u64 secs, unsigned int flags, char *buf, size_t len)
{
	size_t i, used = 0, shown = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < N_UNITS; i++) {
		__u64 n = secs / units[i].secs;

		if (!(flags & GEOFW_DURATION_EXACT) && shown && (shown == 2 || !n))
			break;	/* "1h" rather than "1h0m", never "1h5s" */
		if (!n)
			continue;
		secs %= units[i].secs;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%llu%c",
					 (unsigned long long)n, units[i].unit);
		shown++;
	}
	if (!shown)
		snprintf(buf, len, "0s");
}

void geofw_ago_format(time_t t, time_t now, char *buf, size_t len)
{
	long long s = (long long)(t - now);
	bool ahead = s > 0;
	const char *unit = "s";

	if (!t) {
		snprintf(buf, len, "never");
		return;
	}
	if (s < 0)
		s = -s;
	if (s >= 7200) {
		s /= 3600;
		unit = "h";
	} else if (s >= 120) {
		s /= 60;
		unit = "m";
	}
	snprintf(buf, len, "%s%lld%s%s", ahead ? "in " : "", s, unit, ahead ? "" : " ago");
}

/* The rank of a unit (5 for w … 1 for s, 0: not a unit) and its seconds. */
static int unit_seconds(char u, __u64 *mult)
{
	size_t i;

	for (i = 0; i < N_UNITS; i++) {
		if (units[i].unit == u) {
			*mult = units[i].secs;
			return (int)(N_UNITS - i);
		}
	}
	return 0;
}

int geofw_duration_parse(const char *text, __u64 *seconds, char *err, size_t errlen)
{
	static const char syntax[] =
		"a duration is a number with a unit s, m, h, d or w, e.g. 30m or 1h30m";
	char eb[GEOFW_ECHO_BUFLEN];
	const char *p = text;
	int last_rank = 6;
	__u64 total = 0;
	bool overflow = false;

	if (!text || !*text)
		return geofw_errf(err, errlen, -EINVAL, "empty duration: %s", syntax);
	if (*text == '-')
		return geofw_errf(err, errlen, -EINVAL, "%s: a duration cannot be negative",
				  geofw_echo(text, eb));

	while (*p) {
		__u64 n = 0, mult;
		int rank;

		if (*p < '0' || *p > '9')
			return geofw_errf(err, errlen, -EINVAL, "%s: %s", geofw_echo(text, eb), syntax);
		for (; *p >= '0' && *p <= '9'; p++) {
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, (__u64)(*p - '0'), &n))
				overflow = true;
		}
		if (!*p && last_rank == 6) {
			/* The whole text is one bare number: seconds. */
			mult = 1;
		} else {
			rank = unit_seconds(*p, &mult);
			if (!rank)
				return geofw_errf(err, errlen, -EINVAL, "%s: %s", geofw_echo(text, eb), syntax);
			if (rank >= last_rank)
				return geofw_errf(err, errlen, -EINVAL,
						  "%s: units go from largest to smallest, each once (e.g. 1h30m)",
						  geofw_echo(text, eb));
			last_rank = rank;
			p++;
		}
		if (__builtin_mul_overflow(n, mult, &n) ||
		    __builtin_add_overflow(total, n, &total))
			overflow = true;
	}
	/* Keep reading after an overflow so junk is reported as junk. */
	if (overflow || total > GEOFW_DURATION_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: duration too long (at most %llu seconds)",
				  geofw_echo(text, eb), (unsigned long long)GEOFW_DURATION_MAX);
	if (!total)
		return geofw_errf(err, errlen, -EINVAL, "%s: a duration must be greater than zero",
				  geofw_echo(text, eb));
	*seconds = total;
	return 0;
}
