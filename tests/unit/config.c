// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration file parser (user/lib/config.c): the shipped default file
 * and the man page against the code, every key with good values, every error
 * with its exact FILE:LINE, and random input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ports.h"
#include "test.h"

#include "config.h"
#include "importlist.h"
#include "countries.h"
#include "log.h"
#include "maps.h"

/* Relative to the source tree, where tests/run.sh runs the suites. */
#define DEFAULT_CONF	"packaging/geofw.conf"
#define MAN_PAGE	"packaging/man/geofw.conf.5"
#define NAME		"/etc/geofw/geofw.conf"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int parse_len(const char *text, size_t len, struct geofw_conf *c, char *err)
{
	return geofw_conf_parse_buf(text, len, NAME, c, err, GEOFW_CONF_ERRLEN);
}

static int parse(const char *text, struct geofw_conf *c, char *err)
{
	return parse_len(text, strlen(text), c, err);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* ---- the shipped file, the man page and the kernel defaults ----------------- */

void test_conf_default_file(void)
{
	struct geofw_conf def, c;
	char err[GEOFW_CONF_ERRLEN] = "", needle[64];
	const char *key;
	unsigned int i;
	char *text;

	text = slurp(DEFAULT_CONF, NULL);
	if (!ASSERT_TRUE(text != NULL, DEFAULT_CONF " (run from the source tree)"))
		return;
	geofw_conf_defaults(&def);
	memset(&c, 0xa5, sizeof(c));
	SUBTEST("parses") {
		ASSERT_OK(geofw_conf_load(DEFAULT_CONF, &c, err, sizeof(err)), err);
		ASSERT_STREQ(err, "", "no message");
	}
	SUBTEST("equals the built-in defaults") {
		ASSERT_MEMEQ(&c, &def, sizeof(c), "geofw_conf_defaults()");
	}
	/* Every key set explicitly, so that the file really is the list of
	 * defaults and not just comments that could say anything. */
	for (i = 0; (key = geofw_conf_key(i)); i++) {
		SUBTEST("sets %s", key) {
			snprintf(needle, sizeof(needle), "\n%s =", key);
			ASSERT_TRUE(strstr(text, needle) != NULL, needle);
		}
	}
	free(text);
}

void test_conf_man_page(void)
{
	char needle[64];
	const char *key;
	unsigned int i;
	char *text;

	text = slurp(MAN_PAGE, NULL);
	if (!ASSERT_TRUE(text != NULL, MAN_PAGE " (run from the source tree)"))
		return;
	for (i = 0; (key = geofw_conf_key(i)); i++) {
		SUBTEST("documents %s", key) {
			snprintf(needle, sizeof(needle), "\n.BI \"%s = \"", key);
			ASSERT_TRUE(strstr(text, needle) != NULL, needle);
		}
	}
	free(text);
}

void test_conf_keys(void)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const char *key;
	unsigned int i, j;

	for (i = 0; (key = geofw_conf_key(i)); i++) {
		ASSERT_TRUE(strspn(key, alnum) == strlen(key), key);
		for (j = 0; j < i; j++)
			ASSERT_TRUE(strcmp(key, geofw_conf_key(j)) != 0, key);
	}
	ASSERT_EQ(i, 54, "number of keys");
}

void test_conf_to_kernel(void)
{
	struct geofw_config want, got;
	struct geofw_conf c;
	char err[GEOFW_CONF_ERRLEN] = "";
	int i;

	SUBTEST("defaults agree with geofw_config_defaults") {
		geofw_conf_defaults(&c);
		geofw_config_defaults(&want);
		memset(&got, 0, sizeof(got));
		geofw_conf_to_kernel(&c, &got);
		ASSERT_MEMEQ(&got, &want, sizeof(got), "struct geofw_config");
	}
	SUBTEST("policy copied, runtime state kept") {
		if (!ASSERT_OK(parse("CountryMode = allow\nCountryAction = http403\n"
				     "UnknownCountry = log\nMalformed = pass\n"
				     "MalformedRunt = drop\n", &c, err), err))
			continue;
		memset(&got, 0, sizeof(got));
		got.responder_enabled = 1;
		got.geo_generation = 42;
		geofw_conf_to_kernel(&c, &got);
		ASSERT_EQ(got.country_mode, GEOFW_MODE_ALLOW_LISTED, "country_mode");
		ASSERT_EQ(got.country_block_action, GEOFW_ACT_HTTP403, "country_block_action");
		ASSERT_EQ(got.unknown_country_action, GEOFW_ACT_LOG, "unknown_country_action");
		ASSERT_EQ(got.malformed_action[GEOFW_MF_RUNT], GEOFW_ACT_DROP, "runt");
		for (i = 1; i < GEOFW_MF_MAX; i++)
			ASSERT_EQ(got.malformed_action[i], GEOFW_ACT_PASS, "malformed class");
		ASSERT_EQ(got.responder_enabled, 1, "responder_enabled kept");
		ASSERT_EQ(got.geo_generation, 42, "geo_generation kept");
	}
}

void test_conf_names(void)
{
	ASSERT_STREQ(geofw_xdp_mode_name(GEOFW_XDP_AUTO), "auto", "auto");
	ASSERT_STREQ(geofw_xdp_mode_name(GEOFW_XDP_NATIVE), "native", "native");
	ASSERT_STREQ(geofw_xdp_mode_name(GEOFW_XDP_GENERIC), "generic", "generic");
	ASSERT_STREQ(geofw_xdp_mode_name(99), "?", "out of range");
	ASSERT_TRUE(geofw_conf_key(1000) == NULL, "key out of range");
}

/* ---- good files -------------------------------------------------------------- */

/* Each row's expectation turns the defaults into the configuration the text
 * must produce; the whole struct is then compared, so a key that touches
 * more than its own field is caught too. */
#define EXPECT(fn)	static void fn(struct geofw_conf *c)

static void set(char *dst, size_t size, const char *src)
{
	memset(dst, 0, size);
	memcpy(dst, src, strnlen(src, size - 1));
}

#define SET(field, s)	set(field, sizeof(field), s)

static void set_countries(struct geofw_conf *c, const char *codes)
{
	char cc[3] = "";

	c->n_countries = 0;
	for (; codes[0] && codes[1]; codes += codes[2] ? 3 : 2) {
		cc[0] = codes[0];
		cc[1] = codes[1];
		c->countries[c->n_countries++] = (__u8)geofw_country_id(cc);
	}
}

static void set_metrics(struct geofw_conf *c, int family, const char *addr, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->metrics_addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->metrics_addr;

	c->metrics_enabled = true;
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, addr, &sin->sin_addr);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
	}
}

EXPECT(nothing) { (void)c; }
EXPECT(if_eth0) { SET(c->ifaces[0], "eth0"); c->n_ifaces = 1; }
EXPECT(if_three)
{
	SET(c->ifaces[0], "eth0");
	SET(c->ifaces[1], "eth1");
	SET(c->ifaces[2], "ens3");
	c->n_ifaces = 3;
}
EXPECT(if_15) { SET(c->ifaces[0], "abcdefghijklmno"); c->n_ifaces = 1; }
EXPECT(if_hash) { SET(c->ifaces[0], "eth#0"); c->n_ifaces = 1; }
EXPECT(if_odd)
{
	SET(c->ifaces[0], "...");
	SET(c->ifaces[1], "a.b");
	SET(c->ifaces[2], "veth-x_1@");
	c->n_ifaces = 3;
}
EXPECT(if_32)
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(c->ifaces[i], sizeof(c->ifaces[i]), "i%d", i);
	c->n_ifaces = 32;
}
EXPECT(xdp_native) { c->xdp_mode = GEOFW_XDP_NATIVE; }
EXPECT(xdp_generic) { c->xdp_mode = GEOFW_XDP_GENERIC; }
EXPECT(db_other) { SET(c->geoip_db[0], "/srv/geo/db.mmdb"); }
EXPECT(db_none)
{
	memset(c->geoip_db, 0, sizeof(c->geoip_db));
	c->n_geoip_db = 0;
	c->geoip_enabled = false;
}
EXPECT(db_two)
{
	SET(c->geoip_db[0], "/srv/geo/country-ipv4.mmdb");
	SET(c->geoip_db[1], "/srv/geo/country-ipv6.mmdb");
	c->n_geoip_db = 2;
}
EXPECT(db_four)
{
	int i;

	memset(c->geoip_db, 0, sizeof(c->geoip_db));
	for (i = 0; i < 4; i++)
		snprintf(c->geoip_db[i], sizeof(c->geoip_db[i]), "/g/%d.mmdb", i);
	c->n_geoip_db = 4;
}
EXPECT(field_maxmind)
{
	SET(c->geoip_field[0], "country");
	SET(c->geoip_field[1], "iso_code");
	c->n_geoip_field = 2;
}
EXPECT(field_flat) { SET(c->geoip_field[0], "country_code"); c->n_geoip_field = 1; }
EXPECT(field_8)
{
	int i;

	for (i = 0; i < 8; i++)
		snprintf(c->geoip_field[i], sizeof(c->geoip_field[i]), "f%d", i);
	c->n_geoip_field = 8;
}
EXPECT(field_31)
{
	SET(c->geoip_field[0], "A123456789012345678901234567890");
	SET(c->geoip_field[1], "0");
	c->n_geoip_field = 2;
}
EXPECT(mode_allow) { c->country_mode = GEOFW_MODE_ALLOW_LISTED; }
EXPECT(cc_mixed) { set_countries(c, "RU KP CN"); }
EXPECT(cc_special) { set_countries(c, "EU AP XK"); }
EXPECT(cc_allow) { c->country_mode = GEOFW_MODE_ALLOW_LISTED; set_countries(c, "DE FR"); }
EXPECT(ca_reject) { c->country_action = GEOFW_ACT_REJECT; }
EXPECT(ca_http403) { c->country_action = GEOFW_ACT_HTTP403; }
EXPECT(ca_log) { c->country_action = GEOFW_ACT_LOG; }
EXPECT(uc_drop) { c->unknown_action = GEOFW_ACT_DROP; }
EXPECT(uc_reject) { c->unknown_action = GEOFW_ACT_REJECT; }
EXPECT(uc_http403) { c->unknown_action = GEOFW_ACT_HTTP403; }
EXPECT(uc_log) { c->unknown_action = GEOFW_ACT_LOG; }
EXPECT(mf_pass) { c->malformed_action = GEOFW_ACT_PASS; }
EXPECT(runt_drop) { c->runt_action = GEOFW_ACT_DROP; }
EXPECT(ports_443)
{
	memset(c->http_ports, 0, sizeof(c->http_ports));
	c->http_ports[0] = 443;
	c->n_http_ports = 1;
}
EXPECT(ports_edges)
{
	memset(c->http_ports, 0, sizeof(c->http_ports));
	c->http_ports[0] = 65535;
	c->http_ports[1] = 1;
	c->n_http_ports = 2;
}
EXPECT(ports_8)
{
	static const __u16 p[8] = { 80, 81, 82, 83, 8080, 8081, 8000, 3000 };

	memcpy(c->http_ports, p, sizeof(p));
	c->n_http_ports = 8;
}
EXPECT(body_other) { SET(c->http403_body, "/srv/www/blocked.html"); }
EXPECT(nat64_two)
{
	static const __u8 a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x64 };
	static const __u8 b[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x48 };

	memcpy(c->nat64[0].addr, a, 16);
	c->nat64[0].prefixlen = 96;
	memcpy(c->nat64[1].addr, b, 16);
	c->nat64[1].prefixlen = 48;
	c->n_nat64 = 2;
}
EXPECT(state_other) { SET(c->state_dir, "/var/lib/geofw-test"); }
EXPECT(sock_other) { SET(c->socket_path, "/tmp/g.sock"); }
EXPECT(sock_107)
{
	memset(c->socket_path, 0, sizeof(c->socket_path));
	c->socket_path[0] = '/';
	memset(c->socket_path + 1, 's', 106);
}
EXPECT(grp_underscore) { SET(c->socket_group, "_geofw"); }
EXPECT(grp_dash) { SET(c->socket_group, "www-data"); }
EXPECT(grp_dollar) { SET(c->socket_group, "host1$"); }
EXPECT(grp_32) { SET(c->socket_group, "abcdefghijklmnopqrstuvwxyz012345"); }
EXPECT(ll_err) { c->log_level = GEOFW_LOG_ERR; }
EXPECT(ll_warn) { c->log_level = GEOFW_LOG_WARN; }
EXPECT(ll_debug) { c->log_level = GEOFW_LOG_DEBUG; }
EXPECT(metrics_v4) { set_metrics(c, AF_INET, "127.0.0.1", 9100); }
EXPECT(metrics_on) { set_metrics(c, AF_INET, "127.0.0.1", 9745); }
EXPECT(metrics_any) { set_metrics(c, AF_INET, "0.0.0.0", 1); }
EXPECT(metrics_v6) { set_metrics(c, AF_INET6, "::1", 9100); }
EXPECT(metrics_v6_full) { set_metrics(c, AF_INET6, "2001:db8::7", 65535); }
EXPECT(droplog_on) { c->drop_log = true; }
EXPECT(rate_1) { c->drop_log_rate = 1; }
EXPECT(rate_max) { c->drop_log_rate = 100000; }
EXPECT(fleet_three)
{
	SET(c->fleet_servers[0], "nats://192.0.2.10:4222");
	SET(c->fleet_servers[1], "tls://nats1.example.net:4222");
	SET(c->fleet_servers[2], "nats://[2001:db8::7]:4223");
	c->n_fleet_servers = 3;
}
EXPECT(fleet_user)
{
	SET(c->fleet_user, "edge1");
	SET(c->fleet_password_file, "/etc/geofw/fleet.password");
}
EXPECT(fleet_creds) { SET(c->fleet_creds, "/etc/geofw/fleet.creds"); }
EXPECT(fleet_ca) { SET(c->fleet_tls_ca, "/etc/geofw/ca.pem"); }
EXPECT(fleet_local) { c->fleet_scope = GEOFW_FLEET_SCOPE_LOCAL; }
EXPECT(fleet_bucket) { SET(c->fleet_bucket, "edge_rules-2"); }
EXPECT(fleet_r1) { c->fleet_replicas = 1; }
EXPECT(cs_on)
{
	strcpy(c->crowdsec_url, "http://127.0.0.1:8080/");
	strcpy(c->crowdsec_key_file, "/etc/geofw/crowdsec.key");
}
EXPECT(cs_tuned)
{
	strcpy(c->crowdsec_url, "https://lapi.example.net:8443");
	strcpy(c->crowdsec_key_file, "/k");
	strcpy(c->crowdsec_tls_ca, "/etc/ssl/lapi-ca.pem");
	c->crowdsec_interval = 90;
	c->crowdsec_scopes = GEOFW_CS_SCOPE_IP | GEOFW_CS_SCOPE_COUNTRY;
	c->crowdsec_actions[0].action = GEOFW_ACT_REJECT;
	strcpy(c->crowdsec_actions[2].type, "throttle");
	c->crowdsec_actions[2].action = GEOFW_ACT_LOG;
	c->n_crowdsec_actions = 3;
}
EXPECT(asn_db) { strcpy(c->asn_db, "/var/lib/GeoIP/GeoLite2-ASN.mmdb"); }
EXPECT(asn_lists)
{
	c->block_asn[0] = 64500;
	c->block_asn[1] = 4294967295u;
	c->n_block_asn = 2;
	c->allow_asn[0] = 15169;
	c->n_allow_asn = 1;
	c->asn_action = GEOFW_ACT_HTTP403;
}
EXPECT(everything)
{
	SET(c->ifaces[0], "eth0");
	SET(c->ifaces[1], "eth1");
	c->n_ifaces = 2;
	c->xdp_mode = GEOFW_XDP_NATIVE;
	SET(c->geoip_db[0], "/var/lib/GeoIP/dbip-country.mmdb");
	field_flat(c);
	cc_allow(c);
	c->country_action = GEOFW_ACT_HTTP403;
	c->unknown_action = GEOFW_ACT_LOG;
	c->malformed_action = GEOFW_ACT_PASS;
	c->runt_action = GEOFW_ACT_DROP;
	ports_443(c);
	SET(c->http403_body, "/etc/geofw/blocked.html");
	SET(c->state_dir, "/srv/geofw");
	SET(c->socket_path, "/run/geofwd.sock");
	SET(c->socket_group, "adm");
	c->log_level = GEOFW_LOG_DEBUG;
	metrics_v6(c);
	c->drop_log = true;
	c->drop_log_rate = 5;
}

static void feed_defaults(struct geofw_conf *c)
{
	SET(c->feeds[0].name, "drop");
	SET(c->feeds[0].url, "https://www.spamhaus.org/drop/drop.txt");
	c->feeds[0].every = 3600;
	c->feeds[0].action = GEOFW_ACT_DROP;
	c->feeds[0].format = GEOFW_FORMAT_PLAIN;
	c->n_feeds = 1;
}

static void feeds_three(struct geofw_conf *c)
{
	feed_defaults(c);
	c->feeds[0].every = 12 * 3600;
	c->feeds[0].format = GEOFW_FORMAT_SPAMHAUS;
	SET(c->feeds[1].name, "fh.1");
	SET(c->feeds[1].url, "/var/lib/geofw/level1.netset");
	c->feeds[1].every = 5400;
	c->feeds[1].action = GEOFW_ACT_LOG;
	c->feeds[1].format = GEOFW_FORMAT_NETSET;
	SET(c->feeds[2].name, "c_sv");
	SET(c->feeds[2].url, "http://192.0.2.9:8080/x.csv");
	c->feeds[2].every = 3600;
	c->feeds[2].action = GEOFW_ACT_DROP;
	c->feeds[2].format = GEOFW_FORMAT_CSV;
	c->feeds[2].column = 3;
	c->n_feeds = 3;
}

static void feed_guards(struct geofw_conf *c)
{
	c->feed_min_prefix4 = 1;
	c->feed_min_prefix6 = 128;
	c->feed_max_entries = 2000000;
	c->feed_max_drop_share = 100;
}

#define IF32	"i0 i1 i2 i3 i4 i5 i6 i7 i8 i9 i10 i11 i12 i13 i14 i15 i16 i17 " \
		"i18 i19 i20 i21 i22 i23 i24 i25 i26 i27 i28 i29 i30 i31"
#define S106	"ssssssssssssssssssssssssssssssssssssssssssssssssssssssssss" \
		"ssssssssssssssssssssssssssssssssssssssssssssssss"

static const struct {
	const char *name;
	const char *text;
	void (*expect)(struct geofw_conf *c);
} good_rows[] = {
	/* syntax */
	{ "empty file", "", nothing },
	{ "blank lines and comments", "\n\n   \n\t\n# comment\n   # indented\n#XdpMode = x\n", nothing },
	{ "no final newline", "Interfaces = eth0", if_eth0 },
	{ "no spaces", "Interfaces=eth0\n", if_eth0 },
	{ "tabs", "\tInterfaces\t=\teth0\t\n", if_eth0 },
	{ "CRLF", "# c\r\nInterfaces = eth0\r\n\r\n", if_eth0 },
	{ "comment after value", "Interfaces = eth0 # uplink\n", if_eth0 },
	{ "comment after tab", "Interfaces = eth0\t#uplink\n", if_eth0 },
	{ "hash inside a word", "Interfaces = eth#0\n", if_hash },
	{ "line of 4096 bytes", NULL, nothing },	/* built in the test */
	/* Interfaces */
	{ "Interfaces empty", "Interfaces =\n", nothing },
	{ "Interfaces empty with comment", "Interfaces = # none yet\n", nothing },
	{ "Interfaces three", "Interfaces = eth0  eth1\tens3\n", if_three },
	{ "Interfaces 15 chars", "Interfaces = abcdefghijklmno\n", if_15 },
	{ "Interfaces odd but valid", "Interfaces = ... a.b veth-x_1@\n", if_odd },
	{ "Interfaces 32", "Interfaces = " IF32 "\n", if_32 },
	/* XdpMode */
	{ "XdpMode native", "XdpMode = native\n", xdp_native },
	{ "XdpMode generic", "XdpMode = generic\n", xdp_generic },
	{ "XdpMode auto", "XdpMode = auto\n", nothing },
	/* GeoIP */
	{ "GeoIPDatabase path", "GeoIPDatabase = /srv/geo/db.mmdb\n", db_other },
	{ "GeoIPDatabase none", "GeoIPDatabase = none\n", db_none },
	{ "GeoIPDatabase two", "GeoIPDatabase = /srv/geo/country-ipv4.mmdb  /srv/geo/country-ipv6.mmdb\n",
	  db_two },
	{ "GeoIPDatabase four", "GeoIPDatabase = /g/0.mmdb /g/1.mmdb /g/2.mmdb /g/3.mmdb\n", db_four },
	{ "GeoIPField maxmind", "GeoIPField = country iso_code\n", field_maxmind },
	{ "GeoIPField flat", "GeoIPField = country_code\n", field_flat },
	{ "GeoIPField 8", "GeoIPField = f0 f1 f2 f3 f4 f5 f6 f7\n", field_8 },
	{ "GeoIPField 31 chars", "GeoIPField = A123456789012345678901234567890 0\n", field_31 },
	{ "GeoIPField empty", "GeoIPField =\n", nothing },
	/* countries */
	{ "CountryMode allow", "CountryMode = allow\n", mode_allow },
	{ "CountryMode block", "CountryMode = block\n", nothing },
	{ "Countries any case", "Countries = ru kP Cn\n", cc_mixed },
	{ "Countries special", "Countries = EU AP XK\n", cc_special },
	{ "Countries empty", "Countries =\n", nothing },
	{ "allow list", "CountryMode = allow\nCountries = DE FR\n", cc_allow },
	{ "Countries before CountryMode", "Countries = DE FR\nCountryMode = allow\n", cc_allow },
	{ "CountryAction drop", "CountryAction = drop\n", nothing },
	{ "CountryAction reject", "CountryAction = reject\n", ca_reject },
	{ "CountryAction http403", "CountryAction = http403\n", ca_http403 },
	{ "CountryAction log", "CountryAction = log\n", ca_log },
	{ "UnknownCountry pass", "UnknownCountry = pass\n", nothing },
	{ "UnknownCountry drop", "UnknownCountry = drop\n", uc_drop },
	{ "UnknownCountry reject", "UnknownCountry = reject\n", uc_reject },
	{ "UnknownCountry http403", "UnknownCountry = http403\n", uc_http403 },
	{ "UnknownCountry log", "UnknownCountry = log\n", uc_log },
	/* malformed */
	{ "Malformed pass", "Malformed = pass\n", mf_pass },
	{ "Malformed drop", "Malformed = drop\n", nothing },
	{ "MalformedRunt drop", "MalformedRunt = drop\n", runt_drop },
	{ "MalformedRunt pass", "MalformedRunt = pass\n", nothing },
	/* 403 */
	{ "HttpPorts one", "HttpPorts = 443\n", ports_443 },
	{ "HttpPorts edges", "HttpPorts = 65535 1\n", ports_edges },
	{ "HttpPorts 8", "HttpPorts = 80 81 82 83 8080 8081 8000 3000\n", ports_8 },
	{ "HttpPorts default", "HttpPorts = 80 8080\n", nothing },
	{ "Http403Body", "Http403Body = /srv/www/blocked.html\n", body_other },
	{ "NAT64Prefix two", "NAT64Prefix = 2001:db8:64::/96 2001:db8:48::/48\n", nat64_two },
	{ "NAT64Prefix empty", "NAT64Prefix =\n", nothing },
	/* daemon */
	{ "StateDirectory", "StateDirectory = /var/lib/geofw-test\n", state_other },
	{ "Socket", "Socket = /tmp/g.sock\n", sock_other },
	{ "Socket 107 chars", "Socket = /" S106 "\n", sock_107 },
	{ "SocketGroup underscore", "SocketGroup = _geofw\n", grp_underscore },
	{ "SocketGroup dash", "SocketGroup = www-data\n", grp_dash },
	{ "SocketGroup dollar", "SocketGroup = host1$\n", grp_dollar },
	{ "SocketGroup 32 chars", "SocketGroup = abcdefghijklmnopqrstuvwxyz012345\n", grp_32 },
	{ "LogLevel err", "LogLevel = err\n", ll_err },
	{ "LogLevel error", "LogLevel = error\n", ll_err },
	{ "LogLevel warning", "LogLevel = warning\n", ll_warn },
	{ "LogLevel info", "LogLevel = info\n", nothing },
	{ "LogLevel debug", "LogLevel = debug\n", ll_debug },
	{ "MetricsListen off", "MetricsListen = off\n", nothing },
	{ "MetricsListen v4", "MetricsListen = 127.0.0.1:9100\n", metrics_v4 },
	{ "MetricsListen on", "MetricsListen = on\n", metrics_on },
	{ "MetricsListen any", "MetricsListen = 0.0.0.0:1\n", metrics_any },
	{ "MetricsListen v6", "MetricsListen = [::1]:9100\n", metrics_v6 },
	{ "MetricsListen v6 full", "MetricsListen = [2001:db8:0::7]:65535\n", metrics_v6_full },
	{ "DropLog on", "DropLog = on\n", droplog_on },
	{ "DropLog off", "DropLog = off\n", nothing },
	{ "DropLogRate 1", "DropLogRate = 1\n", rate_1 },
	{ "DropLogRate max", "DropLogRate = 100000\n", rate_max },
	{ "DropLogRate default", "DropLogRate = 100\n", nothing },
	/* fleet */
	{ "FleetServers empty", "FleetServers =\n", nothing },
	{ "FleetServers three", "FleetServers = nats://192.0.2.10:4222 "
		"tls://nats1.example.net:4222 nats://[2001:db8::7]:4223\n", fleet_three },
	{ "FleetUser", "FleetUser = edge1\nFleetPasswordFile = /etc/geofw/fleet.password\n",
		fleet_user },
	{ "FleetCredentials", "FleetCredentials = /etc/geofw/fleet.creds\nFleetUser =\n",
		fleet_creds },
	{ "FleetTLSCA", "FleetTLSCA = /etc/geofw/ca.pem\n", fleet_ca },
	{ "FleetScope local", "FleetScope = local\n", fleet_local },
	{ "FleetScope fleet", "FleetScope = fleet\n", nothing },
	{ "FleetBucket", "FleetBucket = edge_rules-2\n", fleet_bucket },
	{ "FleetReplicas 1", "FleetReplicas = 1\n", fleet_r1 },
	{ "ASNDatabase", "ASNDatabase = /var/lib/GeoIP/GeoLite2-ASN.mmdb\n", asn_db },
	{ "ASNDatabase none", "ASNDatabase = none\n", nothing },
	{ "BlockASN AllowASN ASNAction", "BlockASN = AS64500 4294967295\nAllowASN = as15169\n"
	  "ASNAction = http403\n", asn_lists },
	{ "BlockASN empty", "BlockASN =\n", nothing },
	{ "CrowdSec", "CrowdSecURL = http://127.0.0.1:8080/\n"
	  "CrowdSecAPIKeyFile = /etc/geofw/crowdsec.key\n", cs_on },
	{ "CrowdSec tuned", "CrowdSecURL = https://lapi.example.net:8443\nCrowdSecAPIKeyFile = /k\n"
	  "CrowdSecTLSCA = /etc/ssl/lapi-ca.pem\nCrowdSecInterval = 1m30s\n"
	  "CrowdSecScopes = country ip\nCrowdSecAction = throttle:log ban:reject\n", cs_tuned },
	{ "CrowdSecURL empty", "CrowdSecURL =\n", nothing },
	{ "CrowdSecAction default", "CrowdSecAction = captcha:http403 ban:drop\n", nothing },
	{ "CrowdSecScopes default", "CrowdSecScopes = ip range country as\n", nothing },
	/* threat feeds */
	{ "Feed empty", "Feed =\n", nothing },
	{ "Feed defaults", "Feed = drop https://www.spamhaus.org/drop/drop.txt\n", feed_defaults },
	{ "Feeds", "Feed = drop https://www.spamhaus.org/drop/drop.txt format spamhaus "
	  "every 12h\nFeed =\nFeed = fh.1 /var/lib/geofw/level1.netset action log format "
	  "netset every 1h30m\nFeed = c_sv http://192.0.2.9:8080/x.csv format csv column 3\n",
	  feeds_three },
	{ "Feed guards", "FeedMinPrefixV4 = 1\nFeedMinPrefixV6 = 128\nFeedMaxEntries = 2000000\n"
	  "FeedMaxDropShare = 100%\n", feed_guards },
	{ "FeedMaxDropShare without %", "FeedMaxDropShare = 50\n", nothing },
	/* a whole file, in the man page's order */
	{ "everything", "# edge host\n"
		"Interfaces = eth0 eth1\nXdpMode = native\n"
		"GeoIPDatabase = /var/lib/GeoIP/dbip-country.mmdb\nGeoIPField = country_code\n"
		"CountryMode = allow\nCountries = de fr\nCountryAction = http403\n"
		"UnknownCountry = log\nMalformed = pass\nMalformedRunt = drop\n"
		"HttpPorts = 443\nHttp403Body = /etc/geofw/blocked.html\n"
		"StateDirectory = /srv/geofw\nSocket = /run/geofwd.sock\nSocketGroup = adm\n"
		"LogLevel = debug\nMetricsListen = [::1]:9100\nDropLog = on\nDropLogRate = 5\n",
		everything },
};

/* Port-scoped keys: several lines add up, one rule per target. */
void test_conf_port_rules(void)
{
	char err[GEOFW_CONF_ERRLEN], ports[GEOFW_PORTS_STRLEN], t[GEOFW_CIDR_STRLEN];
	struct geofw_conf *c = malloc(sizeof(*c));
	static const char *const want[] = {
		"allow 22/tcp 198.51.100.0/24 pass", "allow 22/tcp 2001:db8:2::/48 pass",
		"allow 80/tcp 192.0.2.7/32 pass", "block 5353/udp 192.0.2.0/24 drop",
		"block-country 80,443/tcp CN http403", "allow-only 22/tcp DE reject",
		"allow-only 22/tcp 198.51.100.0/24 reject",
		"allow 443/tcp AS64500 pass", "block 22/tcp AS64501 log",
		"block 22/tcp AS64502 log", "allow-only 8000-8100/tcp AS64503 drop",
		"allow-only 8000-8100/tcp DE drop",
	};
	int i;

	if (!ASSERT_TRUE(c != NULL, "malloc"))
		return;
	if (ASSERT_OK(parse("PortAllow = 22/tcp 198.51.100.0/24 2001:db8:2::/48\n"
			    "PortAllow = 80/tcp 192.0.2.7\n"
			    "PortBlock = 5353/udp 192.0.2.0/24\n"
			    "PortBlockCountry = 443,80/tcp http403 cn\n"
			    "PortPolicy = 22/tcp allow-only reject DE 198.51.100.0/24\n"
			    "PortBlock =\n"
			    "PortAllowASN = 443/tcp AS64500\n"
			    "PortBlockASN = 22/tcp log 64501 as64502\n"
			    "PortPolicy = 8000-8100/tcp allow-only AS64503 DE\n", c, err), err) &&
	    ASSERT_EQ(c->n_port_rules, 12, "rules")) {
		for (i = 0; i < 12; i++) {
			char line[GEOFW_PORTS_STRLEN + 128];
			const struct geofw_prule *r = &c->port_rules[i];

			geofw_ports_format(&r->ports, ports, sizeof(ports));
			geofw_prule_target(r, t, sizeof(t));
			snprintf(line, sizeof(line), "%s %s %s %s", geofw_prule_kind_name(r->kind),
				 ports, t, geofw_action_name(r->action));
			ASSERT_STREQ(line, want[i], "rule");
		}
	}
	free(c);
}

void test_conf_good(void)
{
	char err[GEOFW_CONF_ERRLEN], *longline;
	struct geofw_conf want, got;
	size_t i;

	/* A comment line of exactly GEOFW_CONF_LINE_MAX bytes. */
	longline = malloc(GEOFW_CONF_LINE_MAX + 2);
	if (!ASSERT_TRUE(longline != NULL, "malloc"))
		return;
	memset(longline, 'x', GEOFW_CONF_LINE_MAX);
	longline[0] = '#';
	longline[GEOFW_CONF_LINE_MAX] = '\n';
	longline[GEOFW_CONF_LINE_MAX + 1] = '\0';

	for (i = 0; i < ARRAY_SIZE(good_rows); i++) {
		const typeof(good_rows[0]) *row = &good_rows[i];

		SUBTEST("%s", row->name) {
			geofw_conf_defaults(&want);
			row->expect(&want);
			memset(&got, 0xa5, sizeof(got));
			strcpy(err, "unchanged");
			if (!ASSERT_OK(parse(row->text ? row->text : longline, &got, err), err))
				continue;
			ASSERT_STREQ(err, "", "message cleared");
			ASSERT_MEMEQ(&got, &want, sizeof(got), "parsed configuration");
		}
	}
	free(longline);
}

/* ---- bad files --------------------------------------------------------------- */

/*
 * Each row: the text, the line the error must name, and the message after
 * "FILE:LINE: " (the whole message when it ends the row's string; otherwise
 * a phrase of it, marked with a leading '~').
 */
static const struct {
	const char *name;
	const char *text;
	size_t len;		/* 0: strlen(text) */
	unsigned int line;
	const char *msg;
} bad_rows[] = {
	/* syntax */
	{ "no equals", "XdpMode native\n", 0, 1,
	  "XdpMode: missing \"=\" between the key and its value" },
	{ "no equals, no key", "\n\nhello world\n", 0, 3,
	  "expected \"Key = Value\", got \"hello world\"" },
	{ "no key", "= eth0\n", 0, 1, "missing key before \"=\"" },
	{ "unknown key", "# c\nXdpModes = auto\n", 0, 2, "XdpModes: unknown key" },
	{ "key in wrong case", "xdpmode = auto\n", 0, 1,
	  "xdpmode: unknown key (did you mean XdpMode?)" },
	{ "key with a space", "Xdp Mode = auto\n", 0, 1, "Xdp Mode: unknown key" },
	{ "key given twice", "XdpMode = auto\n\nXdpMode = native\n", 0, 3,
	  "XdpMode: given twice (first on line 1)" },
	{ "same value twice", "LogLevel = info\nLogLevel = info\n", 0, 2,
	  "LogLevel: given twice (first on line 1)" },
	{ "empty value", "XdpMode =\n", 0, 1,
	  "XdpMode: missing value; expected one of native, generic, auto" },
	{ "value only a comment", "LogLevel = # later\n", 0, 1,
	  "LogLevel: missing value; expected one of err, warning, info, debug" },
	{ "hash right after equals", "XdpMode =#auto\n", 0, 1,
	  "XdpMode: \"#auto\" is not one of native, generic, auto" },
	{ "NUL byte", "# a\nXdpMode = auto\0\n", 20, 2, "NUL byte" },
	{ "NUL in a comment", "# a\0b\n", 6, 1, "NUL byte" },
	{ "control character", "\n\nXdpMode = au\x1bto\n", 0, 3, "control character 0x1b" },
	{ "DEL", "XdpMode = auto\x7f\n", 0, 1, "control character 0x7f" },
	{ "lone CR", "XdpMode = auto\rLogLevel = info\n", 0, 1, "control character 0x0d" },
	{ "line too long", NULL, 0, 2, "line longer than 4096 bytes" },	/* built */
	{ "error stops at the first", "XdpMode = fast\nLogLevel = loud\n", 0, 1,
	  "XdpMode: \"fast\" is not one of native, generic, auto" },
	{ "quoted value", "XdpMode = \"native\"\n", 0, 1,
	  "XdpMode: \"\"native\"\" is not one of native, generic, auto" },
	{ "binary echoed safely", "XdpMode = \xff\xfe\n", 0, 1,
	  "XdpMode: \"??\" is not one of native, generic, auto" },
	{ "long value echo bounded", "XdpMode = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 0, 1,
	  "XdpMode: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not one of native, generic, auto" },
	/* Interfaces */
	{ "Interfaces 16 chars", "Interfaces = eth0 abcdefghijklmnop\n", 0, 1,
	  "Interfaces: \"abcdefghijklmnop\" is longer than 15 characters" },
	{ "Interfaces slash", "Interfaces = eth/0\n", 0, 1,
	  "~Interfaces: \"eth/0\" is not an interface name" },
	{ "Interfaces colon", "Interfaces = eth0:1\n", 0, 1,
	  "~Interfaces: \"eth0:1\" is not an interface name" },
	{ "Interfaces dot", "Interfaces = .\n", 0, 1, "~Interfaces: \".\" is not an interface name" },
	{ "Interfaces dotdot", "Interfaces = ..\n", 0, 1, "~Interfaces: \"..\" is not an interface name" },
	{ "Interfaces duplicate", "Interfaces = eth0 eth1 eth0\n", 0, 1,
	  "Interfaces: \"eth0\" is listed twice" },
	{ "Interfaces 33", "Interfaces = " IF32 " i32\n", 0, 1, "Interfaces: more than 32 interfaces" },
	/* XdpMode */
	{ "XdpMode fast", "XdpMode = fast\n", 0, 1,
	  "XdpMode: \"fast\" is not one of native, generic, auto" },
	{ "XdpMode case", "XdpMode = Native\n", 0, 1, "~\"Native\" is not one of" },
	{ "XdpMode two words", "XdpMode = native generic\n", 0, 1,
	  "~\"native generic\" is not one of" },
	{ "XdpMode skb", "XdpMode = skb\n", 0, 1, "~\"skb\" is not one of" },
	/* GeoIPDatabase */
	{ "GeoIPDatabase relative", "GeoIPDatabase = GeoLite2-Country.mmdb\n", 0, 1,
	  "GeoIPDatabase: \"GeoLite2-Country.mmdb\" is not an absolute path" },
	{ "GeoIPDatabase spaces", "GeoIPDatabase = /var/lib/Geo IP/x.mmdb\n", 0, 1,
	  "GeoIPDatabase: \"IP/x.mmdb\" is not an absolute path (databases are separated by "
	  "spaces; a path cannot contain one)" },
	{ "GeoIPDatabase empty", "GeoIPDatabase =\n", 0, 1,
	  "GeoIPDatabase: missing value; expected absolute paths or none" },
	{ "GeoIPDatabase twice", "GeoIPDatabase = /a.mmdb /b.mmdb /a.mmdb\n", 0, 1,
	  "GeoIPDatabase: \"/a.mmdb\" is listed twice" },
	{ "GeoIPDatabase five", "GeoIPDatabase = /a /b /c /d /e\n", 0, 1,
	  "GeoIPDatabase: more than 4 databases" },
	{ "GeoIPDatabase none and a file", "GeoIPDatabase = /a.mmdb none\n", 0, 1,
	  "GeoIPDatabase: \"none\" cannot be listed with databases" },
	{ "GeoIPDatabase None", "GeoIPDatabase = None\n", 0, 1, "~is not an absolute path" },
	/* GeoIPField */
	{ "GeoIPField dash", "GeoIPField = country iso-code\n", 0, 1,
	  "GeoIPField: \"iso-code\" is not a field name (letters, digits, \"_\")" },
	{ "GeoIPField dot", "GeoIPField = country.iso_code\n", 0, 1,
	  "~\"country.iso_code\" is not a field name" },
	{ "GeoIPField 32 chars", "GeoIPField = A1234567890123456789012345678901\n", 0, 1,
	  "GeoIPField: \"A1234567890123456789012345678901\" is longer than 31 characters" },
	{ "GeoIPField 9", "GeoIPField = a b c d e f g h i\n", 0, 1,
	  "GeoIPField: more than 8 components" },
	/* CountryMode */
	{ "CountryMode deny", "CountryMode = deny\n", 0, 1,
	  "CountryMode: \"deny\" is not one of block, allow" },
	{ "CountryMode empty", "CountryMode =\n", 0, 1,
	  "CountryMode: missing value; expected one of block, allow" },
	/* Countries */
	{ "Countries unknown", "Countries = RU XX\n", 0, 1,
	  "Countries: \"XX\" is not a known country code" },
	{ "Countries unknown lower", "Countries = zz\n", 0, 1,
	  "Countries: \"zz\" is not a known country code" },
	{ "Countries three letters", "Countries = RUS\n", 0, 1,
	  "Countries: \"RUS\" is not a two-letter country code (ISO 3166-1 alpha-2)" },
	{ "Countries digit", "Countries = A1\n", 0, 1, "~\"A1\" is not a two-letter country code" },
	{ "Countries comma", "Countries = RU,KP\n", 0, 1, "~\"RU,KP\" is not a two-letter" },
	{ "Countries duplicate", "Countries = RU KP ru\n", 0, 1,
	  "Countries: \"ru\" is listed twice" },
	/* actions */
	{ "CountryAction pass", "CountryAction = pass\n", 0, 1,
	  "CountryAction: \"pass\" is not one of drop, reject, http403, log" },
	{ "CountryAction block", "CountryAction = block\n", 0, 1,
	  "CountryAction: \"block\" is not one of drop, reject, http403, log" },
	{ "CountryAction upper", "CountryAction = DROP\n", 0, 1, "~\"DROP\" is not one of" },
	{ "UnknownCountry bad", "UnknownCountry = allow\n", 0, 1,
	  "UnknownCountry: \"allow\" is not one of pass, drop, reject, http403, log" },
	{ "Malformed reject", "Malformed = reject\n", 0, 1,
	  "Malformed: \"reject\" is not one of pass, drop" },
	{ "MalformedRunt log", "MalformedRunt = log\n", 0, 1,
	  "MalformedRunt: \"log\" is not one of pass, drop" },
	/* NAT64Prefix */
	{ "NAT64Prefix v4", "NAT64Prefix = 192.0.2.0/24\n", 0, 1,
	  "NAT64Prefix: \"192.0.2.0/24\" is not an IPv6 prefix (ADDR/LEN)" },
	{ "NAT64Prefix no length", "NAT64Prefix = 2001:db8::\n", 0, 1,
	  "NAT64Prefix: \"2001:db8::\" is not an IPv6 prefix (ADDR/LEN)" },
	{ "NAT64Prefix /80", "NAT64Prefix = 2001:db8::/80\n", 0, 1,
	  "NAT64Prefix: \"2001:db8::/80\": a NAT64 prefix is /32, /40, /48, /56, /64 or /96 (RFC 6052)" },
	{ "NAT64Prefix u octet", "NAT64Prefix = 2001:db8:0:0:ff00::/96\n", 0, 1,
	  "NAT64Prefix: \"2001:db8:0:0:ff00::/96\": bits 64-71 of a /96 NAT64 prefix must be zero (RFC 6052)" },
	{ "NAT64Prefix host bits", "NAT64Prefix = 2001:db8::1/96\n", 0, 1, "~NAT64Prefix: \"2001:db8::1/96\": " },
	{ "NAT64Prefix twice", "NAT64Prefix = 2001:db8:64::/96 2001:db8:64::/96\n", 0, 1,
	  "NAT64Prefix: \"2001:db8:64::/96\" is listed twice" },
	{ "NAT64Prefix 9", "NAT64Prefix = 2001:db8:1::/96 2001:db8:2::/96 2001:db8:3::/96 "
	  "2001:db8:4::/96 2001:db8:5::/96 2001:db8:6::/96 2001:db8:7::/96 2001:db8:8::/96 "
	  "2001:db8:9::/96\n", 0, 1, "NAT64Prefix: more than 8 prefixes" },
	/* HttpPorts */
	{ "HttpPorts zero", "HttpPorts = 80 0\n", 0, 1, "HttpPorts: \"0\" is out of range 1-65535" },
	{ "HttpPorts too big", "HttpPorts = 65536\n", 0, 1,
	  "HttpPorts: \"65536\" is out of range 1-65535" },
	{ "HttpPorts huge", "HttpPorts = 99999999999999999999999\n", 0, 1,
	  "~is out of range 1-65535" },
	{ "HttpPorts leading zero", "HttpPorts = 080\n", 0, 1,
	  "HttpPorts: \"080\" has a leading zero" },
	{ "HttpPorts sign", "HttpPorts = +80\n", 0, 1, "HttpPorts: \"+80\" is not a decimal number" },
	{ "HttpPorts negative", "HttpPorts = -1\n", 0, 1, "HttpPorts: \"-1\" is not a decimal number" },
	{ "HttpPorts hex", "HttpPorts = 0x50\n", 0, 1, "HttpPorts: \"0x50\" is not a decimal number" },
	{ "HttpPorts comma", "HttpPorts = 80,8080\n", 0, 1, "~\"80,8080\" is not a decimal number" },
	{ "HttpPorts duplicate", "HttpPorts = 80 8080 80\n", 0, 1,
	  "HttpPorts: \"80\" is listed twice" },
	{ "HttpPorts 9", "HttpPorts = 1 2 3 4 5 6 7 8 9\n", 0, 1, "HttpPorts: more than 8 ports" },
	{ "HttpPorts empty", "HttpPorts =\n", 0, 1,
	  "HttpPorts: missing value; expected TCP ports 1-65535" },
	/* ASN */
	{ "BlockASN zero", "BlockASN = AS0\n", 0, 1,
	  "BlockASN: \"AS0\" is not an AS number (AS64500 or 64500, 1-4294967295)" },
	{ "BlockASN too big", "BlockASN = 4294967296\n", 0, 1,
	  "~\"4294967296\" is not an AS number" },
	{ "BlockASN asdot", "BlockASN = 1.10\n", 0, 1, "~\"1.10\" is not an AS number" },
	{ "BlockASN comma", "BlockASN = 64500,64501\n", 0, 1, "~\"64500,64501\" is not an AS number" },
	{ "BlockASN twice", "BlockASN = AS64500 64500\n", 0, 1, "BlockASN: AS64500 is listed twice" },
	{ "AllowASN in BlockASN", "BlockASN = 64500\nAllowASN = 64501 AS64500\n", 0, 2,
	  "AllowASN: AS64500 is in both BlockASN and AllowASN" },
	{ "ASNDatabase relative", "ASNDatabase = GeoLite2-ASN.mmdb\n", 0, 1,
	  "ASNDatabase: \"GeoLite2-ASN.mmdb\" is not an absolute path" },
	{ "ASNAction pass", "ASNAction = pass\n", 0, 1, "~ASNAction: \"pass\"" },
	/* port-scoped rules */
	{ "PortBlock no protocol", "PortBlock = 22 192.0.2.0/24\n", 0, 1,
	  "PortBlock: port list '22': no protocol for the last port(s): add /tcp or /udp" },
	{ "PortBlock port 0", "PortBlock = 0/tcp 192.0.2.0/24\n", 0, 1, "~is not a port" },
	{ "PortPolicy without allow-only", "PortPolicy = 22/tcp DE\n", 0, 1,
	  "PortPolicy: expected allow-only after the ports, got \"DE\"" },
	{ "PortPolicy empty list", "PortPolicy = 22/tcp allow-only\n", 0, 1,
	  "PortPolicy: missing the countries, prefixes and ASes allowed" },
	{ "PortBlockCountry prefix", "PortBlockCountry = 80/tcp 192.0.2.0/24\n", 0, 1,
	  "PortBlockCountry: \"192.0.2.0/24\": expected country codes" },
	{ "PortBlock country", "PortBlock = 80/tcp CN\n", 0, 1,
	  "PortBlock: \"CN\": expected prefixes" },
	{ "PortAllow no prefixes", "PortAllow = 22/tcp\n", 0, 1, "PortAllow: missing the prefixes" },
	{ "PortBlock AS", "PortBlock = 22/tcp AS64500\n", 0, 1,
	  "PortBlock: \"AS64500\": expected prefixes (AS rules: PortAllowASN, PortBlockASN)" },
	{ "PortBlockASN prefix", "PortBlockASN = 22/tcp 192.0.2.0/24\n", 0, 1,
	  "PortBlockASN: \"192.0.2.0/24\": expected AS numbers (AS64500 or 64500)" },
	{ "PortAllowASN action", "PortAllowASN = 22/tcp drop AS64500\n", 0, 1,
	  "PortAllowASN: \"drop\": expected AS numbers (AS64500 or 64500)" },
	{ "PortBlockASN none", "PortBlockASN = 22/tcp drop\n", 0, 1,
	  "PortBlockASN: missing the AS numbers" },
	{ "PortPolicy AS0", "PortPolicy = 22/tcp allow-only AS0\n", 0, 1,
	  "~not an AS number" },
	{ "PortBlock pass", "PortBlock = 22/tcp pass 192.0.2.0/24\n", 0, 1,
	  "PortBlock: pass is not a blocking action (drop, reject, http403 or log)" },
	{ "RateLimit bad rate", "RateLimit = a 10 burst 1 per /32 then drop\n", 0, 1,
	  "~RateLimit: a: rate '10'" },
	{ "RateLimit twice", "RateLimit = a 10pps burst 1 per /32 then drop\n"
	  "RateLimit = a 20pps burst 1 per /32 then drop\n", 0, 2,
	  "RateLimit: a: a rate limit of this name exists" },
	{ "RateLimitIPv6Prefix 0", "RateLimitIPv6Prefix = 0\n", 0, 1, "~RateLimitIPv6Prefix" },
	{ "PortAllow second line bad", "PortAllow = 22/tcp 192.0.2.0/24\nPortAllow = 22/tcp bogus\n",
	  0, 2, "~PortAllow: \"bogus\"" },
	/* paths */
	{ "Http403Body relative", "Http403Body = 403.html\n", 0, 1,
	  "Http403Body: \"403.html\" is not an absolute path" },
	{ "Http403Page one word", "Http403Page = DE\n", 0, 1, "~expected SELECTOR FILE" },
	{ "Http403Page bad selector", "Http403Page = spam /x.html\n", 0, 1,
	  "~\"spam\" is neither a reason" },
	{ "Http403Page unknown code", "Http403Page = QQ /x.html\n", 0, 1,
	  "~\"QQ\" is not a known country code" },
	{ "Http403Page bad reason", "Http403Page = spam:DE /x.html\n", 0, 1,
	  "~\"spam\" is neither a reason" },
	{ "Http403Page unknown country", "Http403Page = ip:QQ /x.html\n", 0, 1,
	  "~\"QQ\" is not a known country code" },
	{ "Http403Page twice", "Http403Page = DE /a.html\nHttp403Page = DE /b.html\n", 0, 2,
	  "Http403Page: a page for these clients is already given on line 1" },
	{ "Http403Page relative", "Http403Page = ip 403.html\n", 0, 1,
	  "~is not an absolute path" },
	{ "Http403RefHeader yes", "Http403RefHeader = yes\n", 0, 1, "~Http403RefHeader: \"yes\"" },
	{ "Http403RefRetention 46d", "Http403RefRetention = 46d\n", 0, 1,
	  "~between 1h and 45d" },
	{ "Http403RefRetention 10m", "Http403RefRetention = 10m\n", 0, 1,
	  "~between 1h and 45d" },
	{ "StateDirectory relative", "StateDirectory = var/lib/geofw\n", 0, 1,
	  "StateDirectory: \"var/lib/geofw\" is not an absolute path" },
	{ "StateDirectory tilde", "StateDirectory = ~/geofw\n", 0, 1, "~is not an absolute path" },
	{ "Socket relative", "Socket = geofwd.sock\n", 0, 1,
	  "Socket: \"geofwd.sock\" is not an absolute path" },
	{ "Socket 108 chars", "Socket = /s" S106 "\n", 0, 1, "Socket: path longer than 107 bytes" },
	{ "Socket empty", "Socket =\n", 0, 1, "Socket: missing value; expected an absolute path" },
	/* SocketGroup */
	{ "SocketGroup upper", "SocketGroup = Geofw\n", 0, 1,
	  "SocketGroup: \"Geofw\" is not a group name ([a-z_][a-z0-9_-]*, at most 32 characters)" },
	{ "SocketGroup digit first", "SocketGroup = 1geofw\n", 0, 1, "~\"1geofw\" is not a group name" },
	{ "SocketGroup dash first", "SocketGroup = -geofw\n", 0, 1, "~\"-geofw\" is not a group name" },
	{ "SocketGroup dollar inside", "SocketGroup = a$b\n", 0, 1, "~\"a$b\" is not a group name" },
	{ "SocketGroup only dollar", "SocketGroup = $\n", 0, 1, "~\"$\" is not a group name" },
	{ "SocketGroup gid", "SocketGroup = 1000\n", 0, 1, "~\"1000\" is not a group name" },
	{ "SocketGroup 33 chars", "SocketGroup = abcdefghijklmnopqrstuvwxyz0123456\n", 0, 1,
	  "~is not a group name" },
	/* LogLevel */
	{ "LogLevel bad", "LogLevel = verbose\n", 0, 1,
	  "LogLevel: \"verbose\" is not one of err, warning, info, debug" },
	{ "LogLevel number", "LogLevel = 7\n", 0, 1, "~\"7\" is not one of" },
	/* MetricsListen */
	{ "MetricsListen name", "MetricsListen = localhost:9100\n", 0, 1,
	  "MetricsListen: \"localhost\" is not an IPv4 address" },
	{ "MetricsListen no port", "MetricsListen = 127.0.0.1\n", 0, 1,
	  "MetricsListen: \"127.0.0.1\" is not ADDR:PORT, [V6ADDR]:PORT, on or off" },
	{ "MetricsListen empty port", "MetricsListen = 127.0.0.1:\n", 0, 1,
	  "MetricsListen: missing port after \"127.0.0.1:\"" },
	{ "MetricsListen port 0", "MetricsListen = 127.0.0.1:0\n", 0, 1,
	  "MetricsListen: \"0\" is out of range 1-65535" },
	{ "MetricsListen port big", "MetricsListen = 127.0.0.1:65536\n", 0, 1,
	  "MetricsListen: \"65536\" is out of range 1-65535" },
	{ "MetricsListen port zero-led", "MetricsListen = 127.0.0.1:09100\n", 0, 1,
	  "MetricsListen: \"09100\" has a leading zero" },
	{ "MetricsListen v6 bare", "MetricsListen = ::1:9100\n", 0, 1,
	  "MetricsListen: \"::1:9100\": an IPv6 address goes in brackets, e.g. [::1]:9745" },
	{ "MetricsListen v6 no port", "MetricsListen = [::1]\n", 0, 1,
	  "MetricsListen: \"[::1]\" is not ADDR:PORT, [V6ADDR]:PORT, on or off" },
	{ "MetricsListen v6 no colon", "MetricsListen = [::1]9100\n", 0, 1,
	  "~\"[::1]9100\" is not ADDR:PORT" },
	{ "MetricsListen v6 unclosed", "MetricsListen = [::1:9100\n", 0, 1,
	  "~\"[::1:9100\" is not ADDR:PORT" },
	{ "MetricsListen v4 in brackets", "MetricsListen = [127.0.0.1]:9100\n", 0, 1,
	  "MetricsListen: \"127.0.0.1\" is not an IPv6 address" },
	{ "MetricsListen zone", "MetricsListen = [fe80::1%eth0]:9100\n", 0, 1,
	  "MetricsListen: \"fe80::1%eth0\" is not an IPv6 address" },
	{ "MetricsListen v4 short", "MetricsListen = 127.1:9100\n", 0, 1,
	  "MetricsListen: \"127.1\" is not an IPv4 address" },
	{ "MetricsListen no address", "MetricsListen = :9100\n", 0, 1,
	  "MetricsListen: \"\" is not an IPv4 address" },
	/* DropLog */
	{ "DropLog yes", "DropLog = yes\n", 0, 1, "DropLog: \"yes\" is not one of off, on" },
	{ "DropLog 1", "DropLog = 1\n", 0, 1, "DropLog: \"1\" is not one of off, on" },
	{ "DropLogRate 0", "DropLogRate = 0\n", 0, 1, "DropLogRate: \"0\" is out of range 1-100000" },
	{ "DropLogRate big", "DropLogRate = 100001\n", 0, 1,
	  "DropLogRate: \"100001\" is out of range 1-100000" },
	{ "DropLogRate float", "DropLogRate = 1.5\n", 0, 1,
	  "DropLogRate: \"1.5\" is not a decimal number" },
	{ "DropLogRate two", "DropLogRate = 1 2\n", 0, 1,
	  "DropLogRate: \"1 2\" is not a decimal number" },
	{ "DropLogRate empty", "DropLogRate =\n", 0, 1,
	  "DropLogRate: missing value; expected a number 1-100000" },
	/* fleet */
	{ "FleetServers scheme", "FleetServers = http://192.0.2.1:4222\n", 0, 1,
	  "FleetServers: \"http://192.0.2.1:4222\" is not nats://HOST:PORT or tls://HOST:PORT" },
	{ "FleetServers no port", "FleetServers = nats://192.0.2.1\n", 0, 1,
	  "FleetServers: \"nats://192.0.2.1\": missing HOST:PORT" },
	{ "FleetServers empty port", "FleetServers = nats://192.0.2.1:\n", 0, 1,
	  "FleetServers: \"nats://192.0.2.1:\": missing port" },
	{ "FleetServers port 0", "FleetServers = nats://192.0.2.1:0\n", 0, 1,
	  "FleetServers: \"0\" is out of range 1-65535" },
	{ "FleetServers user in URL", "FleetServers = nats://u:p@192.0.2.1:4222\n", 0, 1,
	  "~credentials do not go in the URL" },
	{ "FleetServers v6 no brackets", "FleetServers = nats://[2001:db8::1:4222\n", 0, 1,
	  "~expected [V6ADDR]:PORT" },
	{ "FleetServers twice", "FleetServers = nats://192.0.2.1:1 nats://192.0.2.1:1\n", 0, 1,
	  "FleetServers: nats://192.0.2.1:1 listed twice" },
	{ "FleetServers nine", "FleetServers = nats://a:1 nats://b:1 nats://c:1 nats://d:1 "
	  "nats://e:1 nats://f:1 nats://g:1 nats://h:1 nats://i:1\n", 0, 1,
	  "FleetServers: more than 8 servers" },
	{ "CrowdSecURL scheme", "CrowdSecURL = ftp://192.0.2.1/\n", 0, 1,
	  "CrowdSecURL: \"ftp://192.0.2.1/\" is not an http:// or https:// URL" },
	{ "CrowdSecURL key in URL", "CrowdSecURL = http://bouncer:k@192.0.2.1/\n", 0, 1,
	  "~the API key goes in CrowdSecAPIKeyFile" },
	{ "CrowdSecURL no host", "CrowdSecURL = http:///v1\n", 0, 1, "~missing host" },
	{ "CrowdSecURL query", "CrowdSecURL = http://192.0.2.1/?x=1\n", 0, 1,
	  "~without blanks, query or fragment" },
	{ "CrowdSecAPIKeyFile relative", "CrowdSecAPIKeyFile = crowdsec.key\n", 0, 1,
	  "CrowdSecAPIKeyFile: \"crowdsec.key\" is not an absolute path" },
	{ "CrowdSecInterval 0", "CrowdSecInterval = 0\n", 0, 1, "~CrowdSecInterval: " },
	{ "CrowdSecInterval 2h", "CrowdSecInterval = 2h\n", 0, 1, "~is more than 1h" },
	{ "CrowdSecInterval word", "CrowdSecInterval = often\n", 0, 1, "~CrowdSecInterval: " },
	{ "CrowdSecScopes unknown", "CrowdSecScopes = ip user\n", 0, 1,
	  "CrowdSecScopes: \"user\" is not one of ip, range, country, as" },
	{ "CrowdSecScopes twice", "CrowdSecScopes = ip ip\n", 0, 1,
	  "CrowdSecScopes: ip listed twice" },
	{ "CrowdSecScopes case", "CrowdSecScopes = Ip\n", 0, 1, "~is not one of" },
	{ "CrowdSecAction no colon", "CrowdSecAction = ban\n", 0, 1,
	  "CrowdSecAction: \"ban\" is not TYPE:ACTION (e.g. ban:drop)" },
	{ "CrowdSecAction pass", "CrowdSecAction = ban:pass\n", 0, 1,
	  "CrowdSecAction: ban: \"pass\" is not one of drop, reject, http403, log" },
	{ "CrowdSecAction bad type", "CrowdSecAction = Ban:drop\n", 0, 1,
	  "~is not a decision type" },
	{ "CrowdSecAction twice", "CrowdSecAction = ban:drop ban:log\n", 0, 1,
	  "CrowdSecAction: ban listed twice" },
	{ "CrowdSecAction nine", "CrowdSecAction = a:drop b:drop c:drop d:drop e:drop f:drop "
	  "g:drop\n", 0, 1, "CrowdSecAction: more than 8 decision types" },
	{ "FleetBucket dot", "FleetBucket = geo.fw\n", 0, 1,
	  "~is not a bucket name" },
	{ "FleetBucket empty", "FleetBucket =\n", 0, 1,
	  "FleetBucket: missing value; expected a bucket name" },
	{ "FleetScope both", "FleetScope = both\n", 0, 1,
	  "FleetScope: \"both\" is not one of fleet, local" },
	{ "FleetReplicas 6", "FleetReplicas = 6\n", 0, 1,
	  "FleetReplicas: \"6\" is out of range 1-5" },
	{ "FleetCredentials relative", "FleetCredentials = fleet.creds\n", 0, 1,
	  "FleetCredentials: \"fleet.creds\" is not an absolute path" },
	{ "FleetUser blank", "FleetUser = a b\n", 0, 1,
	  "FleetUser: \"a b\": a user name cannot contain blanks" },
	{ "Feed without URL", "Feed = x\n", 0, 1, "Feed: x: missing URL or file" },
	{ "Feed bad name", "Feed = a/b http://x/\n", 0, 1,
	  "Feed: \"a/b\" is not a feed name (letters, digits, ., _ and -)" },
	{ "Feed twice", "Feed = a http://x/\nFeed = b http://y/\nFeed = a http://z/\n", 0, 3,
	  "Feed: feed a is defined twice" },
	{ "Feed ftp", "Feed = a ftp://x/y\n", 0, 1,
	  "Feed: \"ftp://x/y\" is not an http:// or https:// URL or an absolute path" },
	{ "Feed relative file", "Feed = a drop.txt\n", 0, 1,
	  "~is not an http:// or https:// URL or an absolute path" },
	{ "Feed no host", "Feed = a http:///x\n", 0, 1, "Feed: \"http:///x\": missing host" },
	{ "Feed unknown option", "Feed = a http://x/ evry 1h\n", 0, 1,
	  "Feed: a: \"evry\" is not one of every, action, format, column" },
	{ "Feed option twice", "Feed = a http://x/ every 1h every 2h\n", 0, 1,
	  "Feed: a: every given twice" },
	{ "Feed option without value", "Feed = a http://x/ every\n", 0, 1,
	  "Feed: a: every needs a value" },
	{ "Feed bad every", "Feed = a http://x/ every soon\n", 0, 1, "~Feed: a: every: " },
	{ "Feed action pass", "Feed = a http://x/ action pass\n", 0, 1,
	  "Feed: a: action \"pass\" is not one of drop, reject, http403, log" },
	{ "Feed format json", "Feed = a http://x/ format json\n", 0, 1,
	  "Feed: a: format \"json\" is not one of plain, spamhaus, netset, csv" },
	{ "Feed format any", "Feed = a http://x/ format any\n", 0, 1, "~format \"any\" is not" },
	{ "Feed column without csv", "Feed = a http://x/ column 2\n", 0, 1,
	  "Feed: a: column is for format csv" },
	{ "Feed column 0", "Feed = a http://x/ format csv column 0\n", 0, 1,
	  "Feed: \"0\" is out of range 1-64" },
	{ "Feed 17", "Feed = a0 http://x/\nFeed = a1 http://x/\nFeed = a2 http://x/\n"
	  "Feed = a3 http://x/\nFeed = a4 http://x/\nFeed = a5 http://x/\nFeed = a6 http://x/\n"
	  "Feed = a7 http://x/\nFeed = a8 http://x/\nFeed = a9 http://x/\nFeed = b0 http://x/\n"
	  "Feed = b1 http://x/\nFeed = b2 http://x/\nFeed = b3 http://x/\nFeed = b4 http://x/\n"
	  "Feed = b5 http://x/\nFeed = b6 http://x/\n", 0, 17, "Feed: more than 16 feeds" },
	{ "FeedMinPrefixV4 0", "FeedMinPrefixV4 = 0\n", 0, 1,
	  "FeedMinPrefixV4: \"0\" is out of range 1-32" },
	{ "FeedMinPrefixV6 129", "FeedMinPrefixV6 = 129\n", 0, 1,
	  "FeedMinPrefixV6: \"129\" is out of range 1-128" },
	{ "FeedMaxEntries 0", "FeedMaxEntries = 0\n", 0, 1,
	  "FeedMaxEntries: \"0\" is out of range 1-2000000" },
	{ "FeedMaxDropShare 0%", "FeedMaxDropShare = 0%\n", 0, 1,
	  "FeedMaxDropShare: \"0\" is out of range 1-100" },
	{ "FeedMaxDropShare 101", "FeedMaxDropShare = 101\n", 0, 1,
	  "FeedMaxDropShare: \"101\" is out of range 1-100" },
	{ "FeedMaxDropShare twice", "FeedMaxDropShare = 50%\nFeedMaxDropShare = 60%\n", 0, 2,
	  "FeedMaxDropShare: given twice (first on line 1)" },
};

/* The row whose text is too long to write out: a comment line one byte
 * longer than allowed.  (A path of PATH_MAX bytes cannot fit in a line, so
 * the path length checks are tested through Socket.) */
static char *build_bad(void)
{
	char *t = malloc(GEOFW_CONF_LINE_MAX + 64);
	size_t n;

	if (!t)
		return NULL;
	n = (size_t)sprintf(t, "XdpMode = auto\n#");
	memset(t + n, 'x', GEOFW_CONF_LINE_MAX);
	strcpy(t + n + GEOFW_CONF_LINE_MAX, "\n");
	return t;
}

void test_conf_bad(void)
{
	struct geofw_conf got, before;
	char err[GEOFW_CONF_ERRLEN], prefix[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		const typeof(bad_rows[0]) *row = &bad_rows[i];

		SUBTEST("%s", row->name) {
			char *built = row->text ? NULL : build_bad();
			const char *text = row->text ? row->text : built;
			const char *msg = row->msg;
			int r;

			if (!ASSERT_TRUE(text != NULL, "text"))
				continue;
			memset(&got, 0xa5, sizeof(got));
			before = got;
			err[0] = '\0';
			r = parse_len(text, row->len ? row->len : strlen(text), &got, err);
			free(built);
			ASSERT_EQ(r, -EINVAL, "rejected");
			snprintf(prefix, sizeof(prefix), NAME ":%u: ", row->line);
			ASSERT_TRUE(!strncmp(err, prefix, strlen(prefix)), err);
			if (msg[0] == '~')
				ASSERT_TRUE(strstr(err + strlen(prefix), msg + 1) != NULL, err);
			else
				ASSERT_STREQ(err + strlen(prefix), msg, "message");
			ASSERT_TRUE(!strchr(err, '\n'), "one line");
			ASSERT_MEMEQ(&got, &before, sizeof(got), "configuration untouched");
		}
	}
}

/* The example of the brief, byte for byte. */
void test_conf_bad_example(void)
{
	struct geofw_conf c;
	char err[GEOFW_CONF_ERRLEN];
	const char *text = "# geofw\n\nInterfaces = eth0\n\n# mode\n\nXdpMode = fast\n";

	ASSERT_EQ(parse(text, &c, err), -EINVAL, "rejected");
	ASSERT_STREQ(err,
		     "/etc/geofw/geofw.conf:7: XdpMode: \"fast\" is not one of native, generic, auto",
		     "message");
}

/* ---- buffers, names and files -------------------------------------------------- */

void test_conf_err_buffer(void)
{
	struct geofw_conf c;
	char tiny[12];

	SUBTEST("NULL err") {
		ASSERT_EQ(geofw_conf_parse_buf("XdpMode = x\n", 12, NAME, &c, NULL, 0),
			  -EINVAL, "r");
		ASSERT_OK(geofw_conf_parse_buf("XdpMode = auto\n", 15, NAME, &c, NULL, 0), "ok");
	}
	SUBTEST("truncated") {
		memset(tiny, 'z', sizeof(tiny));
		ASSERT_EQ(geofw_conf_parse_buf("XdpMode = x\n", 12, NAME, &c, tiny, 8),
			  -EINVAL, "r");
		ASSERT_STREQ(tiny, "/etc/ge", "truncated message");
		ASSERT_EQ(tiny[8], 'z', "no overrun");
	}
	SUBTEST("NULL name") {
		char err[GEOFW_CONF_ERRLEN];

		ASSERT_EQ(geofw_conf_parse_buf("Foo = 1\n", 8, NULL, &c, err, sizeof(err)),
			  -EINVAL, "r");
		ASSERT_STREQ(err, "<config>:1: Foo: unknown key", "message");
	}
	SUBTEST("length honoured") {
		char err[GEOFW_CONF_ERRLEN];

		/* The bytes beyond len ("x") are not part of the file. */
		ASSERT_OK(geofw_conf_parse_buf("XdpMode = nativex", 16, NAME, &c, err,
					       sizeof(err)), err);
		ASSERT_EQ(c.xdp_mode, GEOFW_XDP_NATIVE, "xdp_mode");
		ASSERT_OK(geofw_conf_parse_buf(NULL, 0, NAME, &c, err, sizeof(err)), err);
	}
}

static char tmp_dir[64];

static const char *tmp_file(const char *base, const char *text, size_t len)
{
	static char path[128];
	FILE *f;

	if (!tmp_dir[0]) {
		strcpy(tmp_dir, "/tmp/geofw-conf-XXXXXX");
		if (!mkdtemp(tmp_dir)) {
			tmp_dir[0] = '\0';
			return NULL;
		}
	}
	snprintf(path, sizeof(path), "%s/%s", tmp_dir, base);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	if (len && fwrite(text, 1, len, f) != len) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return path;
}

void test_conf_load(void)
{
	struct geofw_conf c, before;
	char err[GEOFW_CONF_ERRLEN], want[256], *big;
	const char *path;

	memset(&c, 0xa5, sizeof(c));
	before = c;

	SUBTEST("good file") {
		path = tmp_file("good.conf", "XdpMode = generic\n", 18);
		if (!ASSERT_TRUE(path != NULL, "tmp file"))
			continue;
		ASSERT_OK(geofw_conf_load(path, &c, err, sizeof(err)), err);
		ASSERT_EQ(c.xdp_mode, GEOFW_XDP_GENERIC, "xdp_mode");
		memset(&c, 0xa5, sizeof(c));
	}
	SUBTEST("bad file names the path") {
		path = tmp_file("bad.conf", "\nCountries = RU QQ\n", 19);
		if (!ASSERT_TRUE(path != NULL, "tmp file"))
			continue;
		ASSERT_EQ(geofw_conf_load(path, &c, err, sizeof(err)), -EINVAL, "rejected");
		snprintf(want, sizeof(want), "%s:2: Countries: \"QQ\" is not a known country code",
			 path);
		ASSERT_STREQ(err, want, "message");
		ASSERT_MEMEQ(&c, &before, sizeof(c), "untouched");
	}
	SUBTEST("empty file") {
		path = tmp_file("empty.conf", "", 0);
		if (!ASSERT_TRUE(path != NULL, "tmp file"))
			continue;
		ASSERT_OK(geofw_conf_load(path, &c, err, sizeof(err)), err);
		geofw_conf_defaults(&before);
		ASSERT_MEMEQ(&c, &before, sizeof(c), "defaults");
		memset(&c, 0xa5, sizeof(c));
		before = c;
	}
	SUBTEST("missing file") {
		ASSERT_EQ(geofw_conf_load("/nonexistent/geofw.conf", &c, err, sizeof(err)),
			  -ENOENT, "ENOENT");
		ASSERT_STREQ(err, "/nonexistent/geofw.conf: No such file or directory", "message");
		ASSERT_MEMEQ(&c, &before, sizeof(c), "untouched");
	}
	SUBTEST("directory") {
		ASSERT_EQ(geofw_conf_load("/", &c, err, sizeof(err)), -EISDIR, "EISDIR");
		ASSERT_STREQ(err, "/: Is a directory", "message");
		ASSERT_MEMEQ(&c, &before, sizeof(c), "untouched");
	}
	SUBTEST("too big") {
		/* Comments only, so only the size can be wrong with it. */
		big = malloc(GEOFW_CONF_FILE_MAX + 1);
		if (!ASSERT_TRUE(big != NULL, "malloc"))
			continue;
		memset(big, '\n', GEOFW_CONF_FILE_MAX + 1);
		path = tmp_file("big.conf", big, GEOFW_CONF_FILE_MAX + 1);
		if (ASSERT_TRUE(path != NULL, "tmp file")) {
			ASSERT_EQ(geofw_conf_load(path, &c, err, sizeof(err)), -EFBIG, "EFBIG");
			snprintf(want, sizeof(want), "%s: larger than %d bytes", path,
				 GEOFW_CONF_FILE_MAX);
			ASSERT_STREQ(err, want, "message");
			ASSERT_MEMEQ(&c, &before, sizeof(c), "untouched");
		}
		path = tmp_file("max.conf", big, GEOFW_CONF_FILE_MAX);
		if (ASSERT_TRUE(path != NULL, "tmp file"))
			ASSERT_OK(geofw_conf_load(path, &c, err, sizeof(err)), err);
		free(big);
	}

	if (tmp_dir[0]) {
		const char *names[] = { "good.conf", "bad.conf", "empty.conf", "big.conf",
					"max.conf" };
		char p[128];
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++) {
			snprintf(p, sizeof(p), "%s/%s", tmp_dir, names[i]);
			unlink(p);
		}
		rmdir(tmp_dir);
		tmp_dir[0] = '\0';
	}
}

/* ---- random input -------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Pieces that make a random buffer look enough like a config to reach deep
 * into the value parsers. */
static const char *const pieces[] = {
	"Interfaces", "XdpMode", "GeoIPDatabase", "GeoIPField", "CountryMode", "Countries",
	"CountryAction", "UnknownCountry", "Malformed", "MalformedRunt", "HttpPorts",
	"Http403Body", "Http403Page", "Http403RefHeader", "Http403RefRetention", "ip:DE",
	"ratelimit", "30d", "45d", "StateDirectory", "Socket", "SocketGroup", "LogLevel",
	"MetricsListen", "DropLog", "DropLogRate", " = ", "=", " ", "\t", "\n", "\r\n", "#",
	" # ", "eth0", "native", "none", "/var/lib/x", "country", "iso_code", "allow",
	"RU", "zz", "drop", "pass", "http403", "80", "0", "65536", "[", "]", ":", "::1",
	"127.0.0.1", "[::1]:9100", "off", "on", "100000", "geofw", "$", "\0", "\xff",
	"99999999999999999999",
};

static void check_random(const char *buf, size_t len, unsigned int round)
{
	struct geofw_conf c, before;
	char err[GEOFW_CONF_ERRLEN];
	int r;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	err[0] = '\0';
	r = parse_len(buf, len, &c, err);
	if (r) {
		if (!ASSERT_EQ(r, -EINVAL, "error code") ||
		    !ASSERT_TRUE(!strncmp(err, NAME ":", strlen(NAME) + 1), err) ||
		    !ASSERT_TRUE(!strchr(err, '\n'), "one line") ||
		    !ASSERT_MEMEQ(&c, &before, sizeof(c), "untouched"))
			printf("#   round %u\n", round);
	} else {
		if (!ASSERT_TRUE(c.n_ifaces >= 0 && c.n_ifaces <= GEOFW_CONF_MAX_IFACES,
				 "n_ifaces") ||
		    !ASSERT_TRUE(c.n_http_ports >= 1 && c.n_http_ports <= GEOFW_MAX_HTTP_PORTS,
				 "n_http_ports") ||
		    !ASSERT_TRUE(c.n_countries >= 0 && c.n_countries <= GEOFW_COUNTRY_MAX_ID,
				 "n_countries"))
			printf("#   round %u\n", round);
	}
}

void test_conf_random(void)
{
	char *buf, *def;
	size_t deflen = 0, len, n, i, p, pl;
	unsigned int round;

	buf = malloc(3 * GEOFW_CONF_LINE_MAX);
	def = slurp(DEFAULT_CONF, &deflen);
	if (!ASSERT_TRUE(buf != NULL, "malloc")) {
		free(def);
		return;
	}

	SUBTEST("random bytes") {
		for (round = 0; round < 3000 && !test__failing(); round++) {
			len = rnd() % 512;
			for (i = 0; i < len; i++)
				buf[i] = (char)rnd();
			check_random(buf, len, round);
		}
	}
	SUBTEST("random printable lines") {
		for (round = 0; round < 3000 && !test__failing(); round++) {
			len = rnd() % 512;
			for (i = 0; i < len; i++) {
				unsigned int v = rnd() % 100;

				buf[i] = v < 8 ? '\n' : v < 16 ? ' ' : v < 20 ? '=' : v < 22 ? '#' :
					 (char)(0x21 + rnd() % 94);
			}
			check_random(buf, len, round);
		}
	}
	SUBTEST("random pieces") {
		for (round = 0; round < 5000 && !test__failing(); round++) {
			n = 1 + rnd() % 40;
			for (len = 0, i = 0; i < n; i++) {
				p = rnd() % ARRAY_SIZE(pieces);
				/* "\0" is one byte long, not zero. */
				pl = pieces[p][0] ? strlen(pieces[p]) : 1;
				memcpy(buf + len, pieces[p], pl);
				len += pl;
			}
			check_random(buf, len, round);
		}
	}
	SUBTEST("mutated default file") {
		if (!ASSERT_TRUE(def != NULL && deflen < 3 * GEOFW_CONF_LINE_MAX, DEFAULT_CONF))
			continue;
		for (round = 0; round < 3000 && !test__failing(); round++) {
			memcpy(buf, def, deflen);
			len = deflen;
			for (n = 1 + rnd() % 4; n; n--) {
				i = rnd() % len;
				switch (rnd() % 3) {
				case 0:		/* flip a byte */
					buf[i] = (char)rnd();
					break;
				case 1:		/* cut the file */
					len = i;
					break;
				default:	/* a printable byte */
					buf[i] = (char)(0x20 + rnd() % 95);
				}
				if (!len)
					break;
			}
			check_random(buf, len, round);
		}
	}
	SUBTEST("long lines") {
		for (round = 0; round < 200 && !test__failing(); round++) {
			len = GEOFW_CONF_LINE_MAX - 8 + rnd() % 16;
			for (i = 0; i < len; i++)
				buf[i] = (char)(0x20 + rnd() % 95);
			memcpy(buf, "Interfaces = ", 13);
			check_random(buf, len, round);
		}
	}
	free(def);
	free(buf);
}

/* Keys that only mean something together: "FILE:LINE: message", the line
 * of the key to fix. */
void test_conf_fleet_pairs(void)
{
	static const struct {
		const char *text, *msg;
	} rows[] = {
		{ "FleetCredentials = /a.creds\nFleetUser = u\nFleetPasswordFile = /p\n",
		  NAME ":2: FleetCredentials and FleetUser are exclusive: give one" },
		{ "# fleet\nFleetUser = u\n", NAME ":2: FleetUser needs FleetPasswordFile" },
		{ "FleetPasswordFile = /p\n", NAME ":1: FleetPasswordFile needs FleetUser" },
		{ "CrowdSecURL = http://127.0.0.1:8080/\n",
		  NAME ":1: CrowdSecURL needs CrowdSecAPIKeyFile (the key of `cscli bouncers add`)" },
		{ "CrowdSecURL = http://127.0.0.1:8080/\nCrowdSecAPIKeyFile = /k\nCrowdSecScopes =\n",
		  NAME ":3: CrowdSecScopes is empty: no decision would be asked for" },
	};
	struct geofw_conf got, before;
	char err[GEOFW_CONF_ERRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		SUBTEST("%s", rows[i].msg) {
			memset(&got, 0xa5, sizeof(got));
			before = got;
			ASSERT_EQ(parse(rows[i].text, &got, err), -EINVAL, "rejected");
			ASSERT_STREQ(err, rows[i].msg, "message");
			ASSERT_MEMEQ(&got, &before, sizeof(got), "configuration untouched");
		}
	}
}

/* Http403Page lines: selectors, order, the repeatable key. */
void test_conf_http403_pages(void)
{
	static const char text[] = "Http403Page = DE /p/de.html\n"
				   "Http403Page = ip /p/ip.html\n"
				   "Http403Page = ratelimit:FR /p/fr.html\n"
				   "Http403Page =\n"
				   "Http403RefHeader = on\nHttp403RefRetention = 7d\n";
	struct geofw_conf *c = malloc(sizeof(*c));
	char err[GEOFW_CONF_ERRLEN];

	if (!c)
		return;
	if (ASSERT_OK(geofw_conf_parse_buf(text, strlen(text), "t", c, err, sizeof(err)), err)) {
		ASSERT_EQ(c->n_http403_pages, 3, "three pages");
		ASSERT_EQ(c->http403_pages[0].cls, -1, "DE: any reason");
		ASSERT_EQ(c->http403_pages[0].country, geofw_country_id("DE"), "DE");
		ASSERT_EQ(c->http403_pages[1].cls, GEOFW_RC_IP, "ip");
		ASSERT_EQ(c->http403_pages[1].country, -1, "ip: any country");
		ASSERT_EQ(c->http403_pages[2].cls, GEOFW_RC_RATELIMIT, "ratelimit:FR");
		ASSERT_EQ(c->http403_pages[2].country, geofw_country_id("FR"), "FR");
		ASSERT_EQ(c->http403_pages[2].line, 3, "line");
		ASSERT_STREQ(c->http403_pages[1].path, "/p/ip.html", "path");
		ASSERT_TRUE(c->http403_ref_header, "ref header");
		ASSERT_EQ(c->http403_ref_retention, 7 * 86400, "retention");
	}
	free(c);
}
