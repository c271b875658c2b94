// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw.conf (user/lib/config.h): geofw_conf_parse_buf() on any bytes.
 *
 * Besides surviving, the parser keeps its contract: a failed parse leaves
 * the caller's struct untouched, a successful one sets every byte the same
 * way whatever was in the struct before (so memcmp() compares meaning), the
 * values are in range and the strings terminated.
 */
#include <errno.h>

#include "config.h"
#include "countries.h"
#include "fuzz.h"
#include "maps.h"

static bool str_ok(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	if (len == size)
		return false;
	/* The tail is zero, so memcmp() of two configurations works. */
	for (; len < size; len++)
		if (s[len])
			return false;
	return true;
}

static void check_conf(const struct geofw_conf *c)
{
	struct geofw_config k;
	int i;

	FUZZ_CHECK(c->n_ifaces >= 0 && c->n_ifaces <= GEOFW_CONF_MAX_IFACES, "%d interfaces",
		   c->n_ifaces);
	for (i = 0; i < GEOFW_CONF_MAX_IFACES; i++) {
		FUZZ_CHECK(str_ok(c->ifaces[i], sizeof(c->ifaces[i])), "interface %d", i);
		FUZZ_CHECK((i < c->n_ifaces) == (c->ifaces[i][0] != 0), "interface slot %d", i);
	}
	FUZZ_CHECK(c->xdp_mode >= GEOFW_XDP_AUTO && c->xdp_mode <= GEOFW_XDP_GENERIC,
		   "xdp mode %d", c->xdp_mode);
	FUZZ_CHECK(c->n_geoip_db >= 0 && c->n_geoip_db <= GEOFW_CONF_MAX_GEOIP_DB,
		   "%d databases", c->n_geoip_db);
	FUZZ_CHECK(c->geoip_enabled == (c->n_geoip_db > 0), "geoip_enabled vs %d databases",
		   c->n_geoip_db);
	for (i = 0; i < GEOFW_CONF_MAX_GEOIP_DB; i++) {
		FUZZ_CHECK(str_ok(c->geoip_db[i], sizeof(c->geoip_db[i])), "geoip_db %d", i);
		FUZZ_CHECK((i < c->n_geoip_db) == (c->geoip_db[i][0] == '/'), "geoip_db slot %d: \"%s\"",
			   i, c->geoip_db[i]);
	}
	FUZZ_CHECK(c->n_geoip_field >= 0 && c->n_geoip_field <= GEOFW_CONF_MAX_FIELD,
		   "%d field components", c->n_geoip_field);
	for (i = 0; i < GEOFW_CONF_MAX_FIELD; i++)
		FUZZ_CHECK(str_ok(c->geoip_field[i], sizeof(c->geoip_field[i])), "field %d", i);
	FUZZ_CHECK(c->country_mode == GEOFW_MODE_BLOCK_LISTED ||
		   c->country_mode == GEOFW_MODE_ALLOW_LISTED, "country mode %d", c->country_mode);
	FUZZ_CHECK(c->n_countries >= 0 && c->n_countries <= GEOFW_COUNTRY_MAX_ID,
		   "%d countries", c->n_countries);
	for (i = 0; i < c->n_countries; i++)
		FUZZ_CHECK(geofw_country_code(c->countries[i]), "country id %u",
			   c->countries[i]);
	FUZZ_CHECK(c->country_action > GEOFW_ACT_PASS && c->country_action < GEOFW_ACT_MAX,
		   "CountryAction %d", c->country_action);
	FUZZ_CHECK(c->unknown_action >= 0 && c->unknown_action < GEOFW_ACT_MAX,
		   "UnknownCountry %d", c->unknown_action);
	FUZZ_CHECK(c->malformed_action == GEOFW_ACT_DROP || c->malformed_action == GEOFW_ACT_PASS,
		   "Malformed %d", c->malformed_action);
	FUZZ_CHECK(c->runt_action == GEOFW_ACT_DROP || c->runt_action == GEOFW_ACT_PASS,
		   "MalformedRunt %d", c->runt_action);
	FUZZ_CHECK(c->n_http_ports >= 0 && c->n_http_ports <= GEOFW_MAX_HTTP_PORTS,
		   "%d ports", c->n_http_ports);
	for (i = 0; i < GEOFW_MAX_HTTP_PORTS; i++)
		FUZZ_CHECK((i < c->n_http_ports) == (c->http_ports[i] != 0), "port slot %d", i);
	FUZZ_CHECK(str_ok(c->http403_body, sizeof(c->http403_body)), "http403_body");
	FUZZ_CHECK(str_ok(c->state_dir, sizeof(c->state_dir)), "state_dir");
	FUZZ_CHECK(str_ok(c->socket_path, sizeof(c->socket_path)), "socket_path");
	FUZZ_CHECK(str_ok(c->socket_group, sizeof(c->socket_group)), "socket_group");
	FUZZ_CHECK(c->log_level >= 0 && c->log_level <= 3, "log level %d", c->log_level);
	FUZZ_CHECK(c->drop_log_rate >= 1 && c->drop_log_rate <= 100000, "drop log rate %u",
		   c->drop_log_rate);

	memset(&k, 0, sizeof(k));
	geofw_conf_to_kernel(c, &k);
	for (i = 0; i < GEOFW_MF_MAX; i++)
		FUZZ_CHECK(k.malformed_action[i] < GEOFW_ACT_MAX, "malformed class %d", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct geofw_conf a, b;
	char err[GEOFW_CONF_ERRLEN], err2[GEOFW_CONF_ERRLEN];
	const char *buf = fuzz_memdup(data, size);
	int r, r2;

	/* Two runs into structs that start out different. */
	memset(&a, 0x00, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	memset(err, 0, sizeof(err));
	r = geofw_conf_parse_buf(buf, size, NULL, &a, err, sizeof(err));
	r2 = geofw_conf_parse_buf(buf, size, "fuzz.conf", &b, err2, sizeof(err2));
	FUZZ_SAY("config: %s\n", r ? err : "accepted");
	FUZZ_CHECK(r == r2, "two parses returned %d and %d", r, r2);
	if (r) {
		static struct geofw_conf untouched;

		FUZZ_CHECK(r == -EINVAL, "conf_parse_buf returned %d", r);
		fuzz_check_msg("conf_parse_buf", err, sizeof(err));
		FUZZ_CHECK(!strncmp(err, "<config>:", 9), "message \"%s\"", err);
		FUZZ_CHECK(!memcmp(&a, &untouched, sizeof(a)), "a failed parse changed the struct");
		memset(&untouched, 0xa5, sizeof(untouched));
		FUZZ_CHECK(!memcmp(&b, &untouched, sizeof(b)), "a failed parse changed the struct");
		memset(&untouched, 0, sizeof(untouched));
	} else {
		check_conf(&a);
		FUZZ_CHECK(!memcmp(&a, &b, sizeof(a)),
			   "the same file gave different bytes (padding or unset fields)");
	}
	/* A small error buffer is cut, never overrun. */
	r2 = geofw_conf_parse_buf(buf, size, NULL, &b, err2, 8);
	FUZZ_CHECK(r2 == r, "result changed with a small error buffer");
	if (r2)
		fuzz_check_msg("conf_parse_buf (8 bytes)", err2, 8);
	free((void *)buf);
	return 0;
}
