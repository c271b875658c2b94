// SPDX-License-Identifier: GPL-2.0-only
/* Rate limit lines (ratelimit.h). */
#include "ratelimit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "cidr.h"
#include "msg.h"

/* "1000pps", "20kpps", "10Mbps": value and unit. */
static int parse_rate(const char *w, __u64 *rate, bool *bps)
{
	const char *p = w;
	__u64 v = 0, mult = 1;

	if (*p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > 1000000000000ull)
			return -EINVAL;
		v = v * 10 + (__u64)(*p - '0');
	}
	if (*p == 'k')
		mult = 1000, p++;
	else if (*p == 'M')
		mult = 1000000, p++;
	else if (*p == 'G')
		mult = 1000000000, p++;
	if (!strcmp(p, "pps"))
		*bps = false;
	else if (!strcmp(p, "bps"))
		*bps = true;
	else
		return -EINVAL;
	v *= mult;
	/* At most 100 Gbit/s or 1G packets/s: the kernel's cost per unit is
	 * kept in picoseconds. */
	if (v > (*bps ? 100000000000ull : 1000000000ull))
		return -EINVAL;
	*rate = v;
	return 0;
}

static int parse_plen(const char *w, unsigned int max, __u8 *out)
{
	char *end;
	unsigned long v;

	if (w[0] != '/' || w[1] < '1' || w[1] > '9')
		return -EINVAL;
	v = strtoul(w + 1, &end, 10);
	if (*end || v < 1 || v > max)
		return -EINVAL;
	*out = (__u8)v;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= GEOFW_RL_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int geofw_ratelimit_parse(const char *text, struct geofw_ratelimit *out,
			  char *err, size_t errlen)
{
	char buf[GEOFW_RL_STRLEN], msg[GEOFW_ERRLEN], eb[GEOFW_ECHO_BUFLEN], *save = NULL, *w;
	const char *usage = "NAME RATE burst N per /V4LEN [/V6LEN] [ports PORTS] [syn-only] "
			    "then drop|ban DURATION";
	char *end;

	memset(out, 0, sizeof(*out));
	if (!text || strlen(text) >= sizeof(buf))
		return geofw_errf(err, errlen, -EINVAL, "rate limit too long");
	snprintf(buf, sizeof(buf), "%s", text);

	w = strtok_r(buf, " \t", &save);
	if (!w)
		return geofw_errf(err, errlen, -EINVAL, "empty rate limit (%s)", usage);
	if (!name_ok(w))
		return geofw_errf(err, errlen, -EINVAL, "rate limit name '%s': 1 to %d "
				  "characters A-Z a-z 0-9 _ . -", geofw_echo(w, eb), GEOFW_RL_NAME_MAX - 1);
	snprintf(out->name, sizeof(out->name), "%s", w);
	w = strtok_r(NULL, " \t", &save);
	if (!w || parse_rate(w, &out->rate, &out->bps))
		return geofw_errf(err, errlen, -EINVAL, "%s: rate '%s': a number with pps or "
				  "bps (1000pps, 20kpps, 10Mbps)", out->name, geofw_echo(w ? w : "", eb));
	w = strtok_r(NULL, " \t", &save);
	if (!w || strcmp(w, "burst"))
		return geofw_errf(err, errlen, -EINVAL, "%s: expected 'burst N' after the rate",
				  out->name);
	w = strtok_r(NULL, " \t", &save);
	if (!w || *w < '1' || *w > '9' || (out->burst = strtoull(w, &end, 10), *end) ||
	    out->burst > 1000000000ull)
		return geofw_errf(err, errlen, -EINVAL, "%s: burst '%s': a number 1-1000000000 "
				  "(%s)", out->name, geofw_echo(w ? w : "", eb), out->bps ? "bytes" : "packets");
	w = strtok_r(NULL, " \t", &save);
	if (!w || strcmp(w, "per"))
		return geofw_errf(err, errlen, -EINVAL, "%s: expected 'per /32' (the source "
				  "prefix) after the burst", out->name);
	w = strtok_r(NULL, " \t", &save);
	if (!w || parse_plen(w, 32, &out->v4_prefix))
		return geofw_errf(err, errlen, -EINVAL, "%s: per '%s': an IPv4 prefix length "
				  "/1 to /32", out->name, geofw_echo(w ? w : "", eb));
	w = strtok_r(NULL, " \t", &save);
	if (w && w[0] == '/') {
		if (parse_plen(w, 128, &out->v6_prefix))
			return geofw_errf(err, errlen, -EINVAL, "%s: per: '%s': an IPv6 prefix "
					  "length /1 to /128", out->name, geofw_echo(w, eb));
		w = strtok_r(NULL, " \t", &save);
	}
	if (w && !strcmp(w, "ports")) {
		w = strtok_r(NULL, " \t", &save);
		if (!w || geofw_ports_parse(w, &out->ports, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: ports: %s", out->name,
					  w ? msg : "missing the port list");
		out->has_ports = true;
		w = strtok_r(NULL, " \t", &save);
	}
	if (w && !strcmp(w, "syn-only")) {
		out->syn_only = true;
		w = strtok_r(NULL, " \t", &save);
	}
	if (!w || strcmp(w, "then"))
		return geofw_errf(err, errlen, -EINVAL, "%s: expected 'then drop' or 'then ban "
				  "DURATION'%s%s%s", out->name, w ? ", got '" : "",
				  w ? geofw_echo(w, eb) : "", w ? "'" : "");
	w = strtok_r(NULL, " \t", &save);
	if (w && !strcmp(w, "drop")) {
		out->ban = false;
	} else if (w && !strcmp(w, "ban")) {
		w = strtok_r(NULL, " \t", &save);
		if (!w)
			return geofw_errf(err, errlen, -EINVAL, "%s: ban: missing the duration "
					  "(30s, 10m, 1h)", out->name);
		/* The parser's own message for a malformed duration; a zero
		 * one parses but bans nobody. */
		if (geofw_duration_parse(w, &out->ban_secs, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: ban: %s", out->name, msg);
		if (!out->ban_secs)
			return geofw_errf(err, errlen, -EINVAL, "%s: ban: a duration greater "
					  "than zero", out->name);
		out->ban = true;
	} else {
		return geofw_errf(err, errlen, -EINVAL, "%s: then: expected drop or ban DURATION",
				  out->name);
	}
	w = strtok_r(NULL, " \t", &save);
	if (w)
		return geofw_errf(err, errlen, -EINVAL, "%s: unexpected '%s' at the end (%s)",
				  out->name, geofw_echo(w, eb), usage);
	if (out->syn_only && out->bps)
		return geofw_errf(err, errlen, -EINVAL, "%s: syn-only counts packets: use pps",
				  out->name);
	{
		/* The kernel keeps each source's arrival time in 48 bits of ns
		 * (geofw_rl_set): the burst's time and one packet's cost (a
		 * 64 KiB frame for bps) stay within GEOFW_RL_WINDOW_MAX_NS. */
		__u64 ps = 1000000000000ull / out->rate;
		__u64 units = out->bps ? out->burst * 8 : out->burst;
		__u64 max_s = GEOFW_RL_WINDOW_MAX_NS / 1000000000ull;

		if (units - 1 > GEOFW_RL_WINDOW_MAX_NS * 1000 / ps)
			return geofw_errf(err, errlen, -EINVAL, "%s: burst %llu at %llu%s takes "
					  "longer than %llu h: raise the rate or lower the burst",
					  out->name, (unsigned long long)out->burst,
					  (unsigned long long)out->rate, out->bps ? "bps" : "pps",
					  (unsigned long long)max_s / 3600);
		if (out->bps && 65536ull * 8 > max_s * out->rate)
			return geofw_errf(err, errlen, -EINVAL, "%s: a bps rate is at least %llubps "
					  "(one 64 KiB packet's cost within %llu h)", out->name,
					  (unsigned long long)(65536ull * 8 + max_s - 1) / max_s,
					  (unsigned long long)max_s / 3600);
	}
	if (out->syn_only && out->has_ports) {
		size_t i;

		for (i = 0; i < out->ports.n; i++)
			if (out->ports.r[i].proto != GEOFW_PORT_PROTO_TCP)
				return geofw_errf(err, errlen, -EINVAL, "%s: syn-only with UDP ports",
						  out->name);
	}
	return 0;
}

static void rate_text(__u64 v, bool bps, char *buf, size_t len)
{
	const char *suffix = "";

	if (v % 1000000000ull == 0 && v)
		v /= 1000000000ull, suffix = "G";
	else if (v % 1000000ull == 0 && v)
		v /= 1000000ull, suffix = "M";
	else if (v % 1000ull == 0 && v)
		v /= 1000ull, suffix = "k";
	snprintf(buf, len, "%llu%s%s", (unsigned long long)v, suffix, bps ? "bps" : "pps");
}

int geofw_ratelimit_format(const struct geofw_ratelimit *r, char *buf, size_t len)
{
	char rate[32], v6[8] = "", ports[GEOFW_PORTS_STRLEN] = "", then[48];
	int n;

	rate_text(r->rate, r->bps, rate, sizeof(rate));
	if (r->v6_prefix)
		snprintf(v6, sizeof(v6), " /%u", r->v6_prefix);
	if (r->has_ports && geofw_ports_format(&r->ports, ports, sizeof(ports)))
		return -ENOSPC;
	if (r->ban)
		snprintf(then, sizeof(then), "ban %llus", (unsigned long long)r->ban_secs);
	else
		snprintf(then, sizeof(then), "drop");
	n = snprintf(buf, len, "%s %s burst %llu per /%u%s%s%s%s then %s", r->name, rate,
		     (unsigned long long)r->burst, r->v4_prefix, v6, r->has_ports ? " ports " : "",
		     ports, r->syn_only ? " syn-only" : "", then);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void geofw_ratelimit_kernel(const struct geofw_ratelimit *r, __u8 v6_default, __u16 port_sets,
			    struct geofw_rl_rule *out)
{
	__u64 ps = 1000000000000ull / (r->rate ? r->rate : 1);
	__u64 burst_units = r->bps ? r->burst * 8 : r->burst;

	memset(out, 0, sizeof(*out));
	out->ps_per_unit = ps ? ps : 1;
	/* The first packet of a burst moves the clock by its own cost: the
	 * rest of the burst is how far it may run ahead. */
	out->tau_ns = burst_units > 1 ? (burst_units - 1) * out->ps_per_unit / 1000 : 0;
	out->port_sets = port_sets;
	out->bps = r->bps;
	out->syn_only = r->syn_only;
	out->ban = r->ban;
	out->v4_prefix = r->v4_prefix;
	out->v6_prefix = r->v6_prefix ? r->v6_prefix : v6_default;
	out->front = geofw_ratelimit_front(get_nprocs_conf());
}

/*
 * Per-CPU batches: each CPU may hold up to tau >> (front - 1) of unspent
 * allowance, so all N CPUs together hold at most half the burst (2^(front-1)
 * >= 2N).  That is the most a flood can pass beyond the GCRA bound in any
 * window, and the most of its burst a client can find held by CPUs its
 * packets no longer reach (docs/design-notes.md "Rate limits: per-CPU
 * batches").
 */
__u8 geofw_ratelimit_front(int ncpus)
{
	unsigned int s = 1;

	if (ncpus < 1)
		ncpus = 1;
	while ((1ull << s) < 2ull * (unsigned int)ncpus && s < 62)
		s++;
	return (__u8)(s + 1);
}
