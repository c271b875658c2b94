/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * geofwd's configuration file (/etc/geofw/geofw.conf, see geofw.conf(5)).
 *
 * Line-based "Key = Value" with '#' comments.  Validation is strict: an
 * unknown key, a key given twice or a bad value is an error reported as
 * "FILE:LINE: Key: what is wrong", because a firewall that guesses what its
 * operator meant is worse than one that refuses to start.  The parser stops
 * at the first error.
 *
 * Like the other parsers of this library, it never logs: the daemon prints
 * the message at start-up and sends it back over its socket on a reload.
 */
#ifndef GEOFW_CONFIG_H
#define GEOFW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "geofw.h"
#include "ports.h"
#include "ratelimit.h"

#define GEOFW_CONF_PATH		"/etc/geofw/geofw.conf"

#define GEOFW_CONF_MAX_IFACES	32
#define GEOFW_CONF_IFNAMSIZ	16	/* IFNAMSIZ: 15 characters + NUL */
#define GEOFW_CONF_MAX_FIELD	8	/* components of GeoIPField */
#define GEOFW_CONF_MAX_GEOIP_DB	4	/* files of GeoIPDatabase */
#define GEOFW_CONF_FIELD_LEN	32	/* 31 characters + NUL each */
#define GEOFW_CONF_MAX_ASN	GEOFW_ASN_CLASS_MAX_ID	/* BlockASN + AllowASN */
#define GEOFW_CONF_SUN_PATH	108	/* sizeof(sockaddr_un.sun_path) */
#define GEOFW_CONF_GROUP_LEN	33	/* 32 characters + NUL */
#define GEOFW_CONF_LINE_MAX	4096	/* bytes per line, newline excluded */
#define GEOFW_CONF_FILE_MAX	(1 << 20) /* geofw_conf_load() refuses more */
/* An error buffer of this size never truncates a message, unless the file
 * name itself is very long. */
#define GEOFW_CONF_ERRLEN	512
#define GEOFW_CONF_MAX_FLEET_SERVERS	8	/* URLs of FleetServers */
#define GEOFW_CONF_FLEET_URL_LEN	256	/* 255 bytes + NUL each */
#define GEOFW_CONF_FLEET_BUCKET_LEN	64	/* 63 characters + NUL */
#define GEOFW_CONF_FLEET_USER_LEN	128	/* 127 bytes + NUL */
#define GEOFW_CONF_MAX_FEEDS		16	/* Feed lines */
#define GEOFW_CONF_FEED_NAME_LEN	48	/* 47 characters + NUL */
#define GEOFW_CONF_FEED_URL_LEN		1024	/* URL or path: 1023 bytes + NUL */
#define GEOFW_CONF_FEED_MAX_ENTRIES	2000000	/* FeedMaxEntries' upper bound */
#define GEOFW_CONF_URL_LEN		512	/* CrowdSecURL: 511 bytes + NUL */
#define GEOFW_CONF_MAX_CS_ACTIONS	8	/* decision types of CrowdSecAction */
#define GEOFW_CONF_CS_TYPE_LEN		32	/* 31 characters + NUL */
#define GEOFW_CONF_MAX_PAGES	(GEOFW_RESP_MAX_PAGES - 1)	/* Http403Page lines */
#define GEOFW_CONF_PAGE_PATH	512	/* 511 bytes + NUL */
#define GEOFW_CONF_REF_RETENTION_MAX	(45ull * 86400)	/* the code's minute wraps in 45.5 d */

/* One Http403Page line: which clients get the page at path. */
struct geofw_conf_page {
	int cls;			/* enum geofw_resp_class, -1: any reason */
	int country;			/* country id, -1: any country */
	unsigned int line;		/* of the config file, for messages */
	char path[GEOFW_CONF_PAGE_PATH];
};
#define GEOFW_CONF_MAX_PORT_RULES	256	/* PortAllow/PortBlock/... targets */

enum geofw_xdp_mode {
	GEOFW_XDP_AUTO		= 0,	/* native, falling back to generic */
	GEOFW_XDP_NATIVE	= 1,	/* driver mode only: fail if unsupported */
	GEOFW_XDP_GENERIC	= 2,	/* skb mode */
};

/*
 * The parsed file.  Every byte the parser does not set is zero (unused array
 * slots and string tails included), so two configurations compare equal with
 * memcmp() exactly when they mean the same thing.  Strings are NUL-terminated.
 */
struct geofw_conf {
	/* Interfaces: none means the daemon protects nothing. */
	char ifaces[GEOFW_CONF_MAX_IFACES][GEOFW_CONF_IFNAMSIZ];
	int n_ifaces;
	int xdp_mode;				/* enum geofw_xdp_mode */

	/* GeoIPDatabase: n_geoip_db files, merged in this order (for an address
	 * two of them cover, the first listed decides; geoip.h).  "none":
	 * geoip_enabled false, n_geoip_db 0, geoip_db all zero. */
	char geoip_db[GEOFW_CONF_MAX_GEOIP_DB][PATH_MAX];
	int n_geoip_db;
	bool geoip_enabled;
	/* GeoIPField; n_geoip_field == 0: autodetect. */
	char geoip_field[GEOFW_CONF_MAX_FIELD][GEOFW_CONF_FIELD_LEN];
	int n_geoip_field;

	int country_mode;			/* enum geofw_country_mode */
	/* Countries, as ids of countries.h, in the order of the file. */
	__u8 countries[GEOFW_COUNTRY_MAX_ID];
	int n_countries;
	/* enum geofw_action each */
	int country_action;			/* drop, reject, http403, log */
	int unknown_action;			/* any action */
	int malformed_action;			/* drop or pass */
	int runt_action;			/* drop or pass */

	__u16 http_ports[GEOFW_MAX_HTTP_PORTS];	/* host order, in file order */
	int n_http_ports;
	/* NAT64Prefix: sources inside are judged as the IPv4 address they carry */
	struct geofw_nat64_prefix nat64[GEOFW_MAX_NAT64];
	int n_nat64;
	char http403_body[PATH_MAX];
	/* Http403Page, in file order, each selector once */
	struct geofw_conf_page http403_pages[GEOFW_CONF_MAX_PAGES];
	int n_http403_pages;
	bool http403_ref_header;		/* Http403RefHeader: X-Geofw-Ref */
	__u64 http403_ref_retention;		/* Http403RefRetention, seconds */

	char state_dir[PATH_MAX];
	char socket_path[GEOFW_CONF_SUN_PATH];
	char socket_group[GEOFW_CONF_GROUP_LEN];
	int log_level;				/* enum geofw_log_level */

	/* MetricsListen: sockaddr_in or sockaddr_in6, port in network order. */
	bool metrics_enabled;
	struct sockaddr_storage metrics_addr;

	bool drop_log;
	__u32 drop_log_rate;			/* samples per second per CPU */

	/* ASNDatabase: "none" (the default) leaves asn_db empty. */
	char asn_db[PATH_MAX];
	/* BlockASN / AllowASN: AS numbers in file order, no AS in both lists,
	 * at most GEOFW_CONF_MAX_ASN together. */
	__u32 block_asn[GEOFW_CONF_MAX_ASN];
	int n_block_asn;
	__u32 allow_asn[GEOFW_CONF_MAX_ASN];
	int n_allow_asn;
	int asn_action;				/* BlockASN's action: drop, reject, http403, log */
	/* Fleet (NATS JetStream KV, see fleet.h).  n_fleet_servers == 0: no
	 * fleet.  Credentials: fleet_creds (a .creds file), or fleet_user with
	 * fleet_password_file, or neither; never both. */
	char fleet_servers[GEOFW_CONF_MAX_FLEET_SERVERS][GEOFW_CONF_FLEET_URL_LEN];
	int n_fleet_servers;
	char fleet_bucket[GEOFW_CONF_FLEET_BUCKET_LEN];
	char fleet_creds[PATH_MAX];
	char fleet_user[GEOFW_CONF_FLEET_USER_LEN];
	char fleet_password_file[PATH_MAX];
	char fleet_tls_ca[PATH_MAX];
	int fleet_scope;			/* enum geofw_fleet_scope */
	int fleet_replicas;			/* 1-5 */
	/* PortAllow, PortBlock, PortBlockCountry, PortPolicy (each may be
	 * given several times): one rule per target, in file order, source
	 * "config" (comment and source pointers NULL), rule id 0. */
	struct geofw_prule port_rules[GEOFW_CONF_MAX_PORT_RULES];
	int n_port_rules;
	/* RateLimit (several lines), in file order, names unique */
	struct geofw_ratelimit ratelimits[GEOFW_MAX_RATELIMITS];
	int n_ratelimits;
	int rl_v6_prefix;			/* RateLimitIPv6Prefix: 1-128, default 64 */
	/* Threat feeds (geofwd's feeds.c), in file order; their rules are of
	 * source "feed:NAME". */
	struct geofw_conf_feed {
		char name[GEOFW_CONF_FEED_NAME_LEN];	/* letters, digits, . _ - */
		char url[GEOFW_CONF_FEED_URL_LEN];	/* http(s):// URL or absolute path */
		__u32 every;				/* seconds between fetches */
		int action;				/* drop, reject, http403, log */
		int format;				/* enum geofw_list_format */
		unsigned int column;			/* csv: from 1 */
	} feeds[GEOFW_CONF_MAX_FEEDS];
	int n_feeds;
	/* Guards every feed passes: prefixes shorter than these are refused
	 * per entry; more entries than feed_max_entries fail the fetch; a
	 * set that would remove more than feed_max_drop_share percent of the
	 * one in force waits (fwctl feed confirm, or the next fetch agrees). */
	unsigned int feed_min_prefix4, feed_min_prefix6;
	unsigned int feed_max_entries;
	unsigned int feed_max_drop_share;	/* percent, 1-100 */
	/* CrowdSec bouncer (crowdsec.c): crowdsec_url "" = off.  The key
	 * file is required with the URL (read at each start and reload). */
	char crowdsec_url[GEOFW_CONF_URL_LEN];
	char crowdsec_key_file[PATH_MAX];
	char crowdsec_tls_ca[PATH_MAX];		/* "" = the system's CA store */
	__u32 crowdsec_interval;		/* seconds between pulls, 1-3600 */
	unsigned int crowdsec_scopes;		/* GEOFW_CS_SCOPE_* bits */
	/* CrowdSecAction: the action of each decision type ("ban" and
	 * "captcha" always there, the file's own in its order after them);
	 * a decision of any other type is refused. */
	struct {
		char type[GEOFW_CONF_CS_TYPE_LEN];
		int action;			/* drop, reject, http403, log */
	} crowdsec_actions[GEOFW_CONF_MAX_CS_ACTIONS];
	int n_crowdsec_actions;
};

/* CrowdSecScopes, in the order LAPI's scopes= parameter takes them. */
enum {
	GEOFW_CS_SCOPE_IP	= 1u << 0,
	GEOFW_CS_SCOPE_RANGE	= 1u << 1,
	GEOFW_CS_SCOPE_COUNTRY	= 1u << 2,
	GEOFW_CS_SCOPE_AS	= 1u << 3,
};

enum geofw_fleet_scope {
	GEOFW_FLEET_SCOPE_FLEET	= 0,	/* fwctl's changes go to the bucket */
	GEOFW_FLEET_SCOPE_LOCAL	= 1,	/* ... stay on this host */
};

/* The built-in defaults, which packaging/geofw.conf spells out. */
void geofw_conf_defaults(struct geofw_conf *c);

/*
 * Read and parse a file.  On success *c holds the defaults overridden by the
 * file; on error *c is untouched and err holds "PATH: reason" (cannot read)
 * or "PATH:LINE: Key: reason".  Returns 0, -EINVAL for a bad file, -EFBIG
 * beyond GEOFW_CONF_FILE_MAX, or the -errno of open/read (-ENOENT: the caller
 * decides whether a missing file means the defaults).
 */
int geofw_conf_load(const char *path, struct geofw_conf *c, char *err, size_t errlen);

/*
 * Parse len bytes (any bytes: NULs, no final newline...).  name is the file
 * name used in messages ("<config>" when NULL); buf may be NULL when len
 * is 0.  Same contract as geofw_conf_load(); returns 0, -EINVAL or -ENOMEM.
 */
int geofw_conf_parse_buf(const char *buf, size_t len, const char *name,
			 struct geofw_conf *c, char *err, size_t errlen);

/*
 * Copy the policy into the kernel's runtime knobs: country mode, the country
 * block action, the unknown-country action and every malformed class.  The
 * other fields (responder_enabled, the geo table generation...) are the
 * daemon's runtime state and are left as they are, so start from
 * geofw_config_defaults() or from the map's current value.  Per-country
 * entries (gfw_country) are the caller's: every listed country takes
 * country_action.
 */
void geofw_conf_to_kernel(const struct geofw_conf *c, struct geofw_config *kcfg);

/* Names of the keys, i = 0, 1, ... until NULL (docs and tests check that
 * every key is documented). */
const char *geofw_conf_key(unsigned int i);

/* "auto", "native", "generic"; "?" when out of range. */
const char *geofw_xdp_mode_name(int mode);

#endif
