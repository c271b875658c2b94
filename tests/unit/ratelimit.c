// SPDX-License-Identifier: GPL-2.0-only
/* Rate limit lines (ratelimit.h): canonical form, strict errors, kernel values. */
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "ratelimit.h"
#include "test.h"

static void canon(const char *in, const char *want)
{
	struct geofw_ratelimit r;
	char err[GEOFW_ERRLEN] = "", out[GEOFW_RL_STRLEN] = "";

	if (ASSERT_OK(geofw_ratelimit_parse(in, &r, err, sizeof(err)), err)) {
		ASSERT_OK(geofw_ratelimit_format(&r, out, sizeof(out)), "format");
		ASSERT_STREQ(out, want, in);
	}
}

static void bad(const char *in, const char *part)
{
	struct geofw_ratelimit r;
	char err[GEOFW_ERRLEN] = "";

	ASSERT_EQ(geofw_ratelimit_parse(in, &r, err, sizeof(err)), -EINVAL, in);
	ASSERT_TRUE(strstr(err, part) != NULL, err);
}

void test_ratelimit_parse(void)
{
	canon("dns 1000pps burst 200 per /32 ports 53/udp then drop",
	      "dns 1kpps burst 200 per /32 ports 53/udp then drop");
	canon("syn 50pps burst 100 per /32 /48 syn-only then ban 10m",
	      "syn 50pps burst 100 per /32 /48 syn-only then ban 600s");
	canon("bw 10Mbps burst 150000 per /24 then drop", "bw 10Mbps burst 150000 per /24 then drop");
	canon("x 1500pps burst 1 per /32 ports 80,443/tcp then ban 1h",
	      "x 1500pps burst 1 per /32 ports 80,443/tcp then ban 3600s");
	bad("", "empty");
	bad("bad/name 10pps burst 1 per /32 then drop", "name");
	bad("a 10 burst 1 per /32 then drop", "rate '10'");
	bad("a 0pps burst 1 per /32 then drop", "rate");
	bad("a 10xps burst 1 per /32 then drop", "rate");
	bad("a 10pps per /32 then drop", "burst");
	bad("a 10pps burst 0 per /32 then drop", "burst '0'");
	bad("a 10pps burst 1 /32 then drop", "expected 'per /32'");
	bad("a 10pps burst 1 per /33 then drop", "/1 to /32");
	bad("a 10pps burst 1 per /32 /129 then drop", "/1 to /128");
	bad("a 10pps burst 1 per /32 ports 53 then drop", "no protocol");
	bad("a 10pps burst 1 per /32", "then drop");
	bad("a 10pps burst 1 per /32 then reject", "drop or ban");
	bad("a 10pps burst 1 per /32 then ban", "duration");
	bad("a 10pps burst 1 per /32 then ban 0", "greater than zero");
	/* the duration parser's own reason, not "greater than zero" */
	bad("a 10pps burst 1 per /32 then ban 10x", "ban: 10x: a duration is a number with a unit");
	bad("a 10pps burst 1 per /32 then ban 30m1h", "ban: 30m1h: units go from largest");
	bad("a 10pps burst 1 per /32 then drop now", "unexpected 'now'");
	bad("a 10Mbps burst 1 per /32 syn-only then drop", "syn-only counts packets");
	bad("a 10pps burst 1 per /32 ports 53/udp syn-only then drop", "syn-only with UDP");
	/* the kernel keeps arrival times in 48 bits of ns: bursts up to 12 h */
	canon("slow 1pps burst 43200 per /32 then drop", "slow 1pps burst 43200 per /32 then drop");
	bad("a 1pps burst 43202 per /32 then drop", "longer than 12 h");
	bad("a 1kbps burst 6000000 per /32 then drop", "longer than 12 h");
	bad("a 12bps burst 1 per /32 then drop", "at least 13bps");
	canon("b 13bps burst 1 per /32 then drop", "b 13bps burst 1 per /32 then drop");
}

void test_ratelimit_kernel(void)
{
	struct geofw_ratelimit r;
	struct geofw_rl_rule k;

	if (!ASSERT_OK(geofw_ratelimit_parse("a 1000pps burst 10 per /32 then ban 1m", &r, NULL, 0),
		       "parse"))
		return;
	geofw_ratelimit_kernel(&r, 64, 4, &k);
	ASSERT_EQ(k.ps_per_unit, 1000000000ull, "1 ms per packet");
	ASSERT_EQ(k.tau_ns, 9000000ull, "9 packets ahead after the first");
	ASSERT_EQ(k.v6_prefix, 64, "default IPv6 key");
	ASSERT_EQ(k.port_sets, 4, "port sets");
	ASSERT_EQ(k.ban, 1, "ban");
	ASSERT_OK(geofw_ratelimit_parse("b 8Mbps burst 1500 per /24 /56 then drop", &r, NULL, 0),
		  "parse bps");
	geofw_ratelimit_kernel(&r, 64, 0, &k);
	ASSERT_EQ(k.ps_per_unit, 125000ull, "125 ps per bit");
	ASSERT_EQ(k.bps, 1, "bits");
	ASSERT_EQ(k.v4_prefix, 24, "v4 key");
	ASSERT_EQ(k.v6_prefix, 56, "v6 key");
}
