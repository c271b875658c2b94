/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * geofw ABI: the keys, values, limits and names the BPF programs and user
 * space share.  Not the only header both sides compile: user space also
 * builds bpf/decide.h with bpf/parse.h and bpf/geo.h (`fwctl lookup`,
 * user/lib/explain.c) and bpf/refcode.h with bpf/siphash.h (reference codes,
 * user/lib/refcode.c) for the host; docs/design-notes.md.
 *
 * Every map key and value is a fixed-width struct with explicit padding and a
 * size assertion, so the kernel and user space agree byte for byte and
 * `bpftool map dump` prints named fields.  Addresses are kept in network byte
 * order (fields named *_be or byte arrays); everything else is host order.
 *
 * Bump GEOFW_ABI_VERSION whenever a key, value, map type or map size changes:
 * geofwd refuses to adopt pins whose meta record carries another version.
 */
#ifndef GEOFW_H
#define GEOFW_H

#ifdef __bpf__
/* BPF side: vmlinux.h provides __u8 … __u64. */
#else
#include <linux/types.h>
#endif

#define GEOFW_VERSION "0.1.0"		/* release of geofwd and fwctl */
#define GEOFW_ABI_VERSION 9		/* 9: IPv4 geo and ASN class rows and chunks as run lines (gfw_geo4_flat/gfw_asn4_flat: 64-byte values of geofw_geo4_rowval, a /16 of at most 21 runs in one line, else a full row of 8 values; gfw_geo4_more/gfw_asn4_more: 32-byte values of geofw_geo4_chunkval, a /24 of at most 16 runs in one line, else a full chunk of 8 values; references GEOFW_GEO4_REF + line, GEOFW_GEO4_FULL + block of 8 values; inner arrays BPF_F_MMAPABLE so that values are page-aligned); 8: gfw_port_asn is an array addressed by a hash of the AS number with a bounded linear probe (struct geofw_port_asn: the AS in the entry), not a hash map; 7: IPv6 geo and ASN class tables under a first level (gfw_geo6_top/gfw_asn6_top: an entry per /19 of 2000::/3 and per other /3, per slot; gfw_geo6_tree/gfw_asn6_tree: a subtree per bucket, keys as offsets from the bucket start, inner nodes point at their first child, no header node), exact IPv6 block prefilter (gfw_block6_bits), IPv4 allow and block prefilter bits per /16 at the end of gfw_block4_bits (GEOFW_B4_*), rate-limit state in a set-associative array of GCRA words (gfw_rl_sets, gfw_rl_bans replace the LRU hash gfw_rl_state; geofw_rl_rule.seed); 6: IPv4 geo and ASN class tables in three levels (gfw_geo4_top/gfw_asn4_top: /16 entries per slot; gfw_geo4_flat/gfw_asn4_flat: arrays of geofw_geo4_row; gfw_geo4_more/gfw_asn4_more: arrays of chunks), rate-limit per-CPU batches (geofw_rl_rule.front, gfw_rl_front), port prefilter (gfw_port_bits), port-scoped AS rules (gfw_port_asn, config GEOFW_PORTS_ASN); 5: port-scoped policy (gfw_port*, port reasons, config ports_present), rate limits (gfw_rl_*, gfw_cnt_rl, reason ratelimit, config rl_count); 4: 403 pages (gfw_responder, gfw_resp_pages, gfw_resp_select, 16-byte XDP metadata); 3: ASN class tables, gfw_asn_class, gfw_cnt_asn, asn reasons, config asn_slot; 2: L3 entry, NAT64, responder watch, 403 flow limit, lost events, geo maps sized per database, mmapable gfw_config */
#define GEOFW_META_MAGIC 0x67656f66u /* "geof" */

/* ---- pins ---------------------------------------------------------------- */

#define GEOFW_PIN_DIR "/sys/fs/bpf/geofw"

/* Map names: the BTF map name, the kernel's name and the pin file name are
 * the same string (at most 15 characters, the kernel's limit). */
#define GEOFW_MAP_META		"gfw_meta"
#define GEOFW_MAP_CONFIG	"gfw_config"
#define GEOFW_MAP_ALLOW4	"gfw_allow4"
#define GEOFW_MAP_ALLOW6	"gfw_allow6"
#define GEOFW_MAP_BLOCK_IP4	"gfw_block_ip4"
#define GEOFW_MAP_BLOCK_IP6	"gfw_block_ip6"
#define GEOFW_MAP_BLOCK_NET4	"gfw_block_net4"
#define GEOFW_MAP_BLOCK_NET6	"gfw_block_net6"
#define GEOFW_MAP_COUNTRY	"gfw_country"
#define GEOFW_MAP_GEO4_TOP	"gfw_geo4_top"
#define GEOFW_MAP_GEO4_FLAT	"gfw_geo4_flat"
#define GEOFW_MAP_GEO4_MORE	"gfw_geo4_more"
#define GEOFW_MAP_GEO6_TOP	"gfw_geo6_top"
#define GEOFW_MAP_GEO6_TREE	"gfw_geo6_tree"
#define GEOFW_MAP_GEO6_MORE	"gfw_geo6_more"
#define GEOFW_MAP_CNT_REASON	"gfw_cnt_reason"
#define GEOFW_MAP_CNT_COUNTRY	"gfw_cnt_country"
#define GEOFW_MAP_CNT_RULE	"gfw_cnt_rule"
#define GEOFW_MAP_CNT_ACTION	"gfw_cnt_action"
#define GEOFW_MAP_BLOCK4_BITS	"gfw_block4_bits"
#define GEOFW_MAP_BLOCK6_BITS	"gfw_block6_bits"
#define GEOFW_MAP_EVENTS	"gfw_events"
#define GEOFW_MAP_EVENT_LIMIT	"gfw_evt_limit"
#define GEOFW_MAP_RESPONDER	"gfw_responder"
#define GEOFW_MAP_CNT_RESP	"gfw_cnt_resp"
#define GEOFW_MAP_NAT64		"gfw_nat64"
#define GEOFW_MAP_RESP_WATCH	"gfw_resp_watch"
#define GEOFW_MAP_RESP_FLOW	"gfw_resp_flow"
#define GEOFW_MAP_ASN4_TOP	"gfw_asn4_top"
#define GEOFW_MAP_ASN4_FLAT	"gfw_asn4_flat"
#define GEOFW_MAP_ASN4_MORE	"gfw_asn4_more"
#define GEOFW_MAP_ASN6_TOP	"gfw_asn6_top"
#define GEOFW_MAP_ASN6_TREE	"gfw_asn6_tree"
#define GEOFW_MAP_ASN6_MORE	"gfw_asn6_more"
#define GEOFW_MAP_ASN_CLASS	"gfw_asn_class"
#define GEOFW_MAP_CNT_ASN	"gfw_cnt_asn"
/* port-scoped policy (ABI 5) */
#define GEOFW_MAP_PORT		"gfw_port"
#define GEOFW_MAP_PORT_SET	"gfw_port_set"
#define GEOFW_MAP_PORT_NET4	"gfw_port_net4"
#define GEOFW_MAP_PORT_NET6	"gfw_port_net6"
#define GEOFW_MAP_PORT_CC	"gfw_port_cc"
#define GEOFW_MAP_PORT_BITS	"gfw_port_bits"
#define GEOFW_MAP_PORT_ASN	"gfw_port_asn"
/* rate limits (ABI 5) */
#define GEOFW_MAP_RL_RULE	"gfw_rl_rule"
#define GEOFW_MAP_RL_SETS	"gfw_rl_sets"
#define GEOFW_MAP_RL_BANS	"gfw_rl_bans"
#define GEOFW_MAP_RL_EVENTS	"gfw_rl_events"
#define GEOFW_MAP_CNT_RL	"gfw_cnt_rl"

/* ---- limits -------------------------------------------------------------- */

#define GEOFW_MAX_ALLOW		65536	/* allowlist CIDRs per family */
#define GEOFW_MAX_BLOCK_IP	1048576	/* exact /32 or /128 blocks per family */
#define GEOFW_MAX_BLOCK_NET	262144	/* shorter CIDR blocks per family */
#define GEOFW_MAX_RULE_IDS	65536	/* rule ids (hit counters); 0 = none */
#define GEOFW_MAX_COUNTRIES	256	/* country id space, see below */
/*
 * Geo capacities, sized from real country databases with >= 4x headroom
 * (docs/design-notes.md "Geo capacity" has the figures and the memory).
 * The largest seen: GeoLite2-Country 601,246 IPv4 + 651,130 IPv6 prefixes;
 * ip-location-db geo-whois-asn-country 209,499 IPv4 prefixes longer than
 * /24 (in 15,876 /24s) and 41,293 IPv6 prefixes longer than /64 (in 828
 * /64s).  Every inner map is created per database at the size it needs,
 * so a limit costs no kernel memory until a database uses it.
 */
#define GEOFW_MAX_GEO_V4	4194304	/* IPv4 geo prefixes (after merging) */
#define GEOFW_MAX_GEO_V6	4194304	/* IPv6 geo prefixes (after merging) */
#define GEOFW_GEO_SLOTS		2	/* table generations: in force + being built */
#define GEOFW_GEO4_REF		256	/* an entry >= this refers on: a line (see below) */
#define GEOFW_GEO4_FULL		0x8000	/* an entry >= this refers to a full row or chunk */
#define GEOFW_GEO4_ROW_RUNS	21	/* runs of /24 entries in a row line */
#define GEOFW_GEO4_CHUNK_RUNS	16	/* runs of ids in a chunk line */
#define GEOFW_GEO4_FULL_VALUES	8	/* values of a full row or chunk (32 entries each) */
/*
 * What a 16-bit entry can refer to, per level (rows in gfw_geo4_flat,
 * chunks in gfw_geo4_more): lines are the first values of the inner array
 * (GEOFW_GEO4_REF + index, at most GEOFW_MAX_GEO4_LINES), full rows and
 * chunks are blocks of 8 values after them (GEOFW_GEO4_FULL + block, the
 * value index is 8 * block, at most GEOFW_MAX_GEO4_BLOCKS blocks of which
 * the lines take one per 8).  A database with more lines than that stores
 * the rest as full rows or chunks.  The most /16s of more than one id
 * (rows) or /24s holding longer prefixes (chunks) a level holds is then
 * GEOFW_MAX_GEO4_ROWS / _MORE (all lines that fit, the rest full); 32,768
 * when none of them fits in a line.  GeoLite2-Country: 12,019 rows (8,354
 * lines), 21,955 chunks (20,503 lines): 5.1x and 2.8x (1.5x if none were
 * lines), below the 4x of the rest for a walk of 3.4 MB instead of 11.8
 * (docs/design-notes.md "Run lines in the tables (ABI 9)").
 */
#define GEOFW_MAX_GEO4_LINES	(GEOFW_GEO4_FULL - GEOFW_GEO4_REF)	/* 32,512 */
#define GEOFW_MAX_GEO4_BLOCKS	(65536 - GEOFW_GEO4_FULL)		/* 32,768 */
#define GEOFW_MAX_GEO4_ROWS	(GEOFW_MAX_GEO4_LINES + GEOFW_MAX_GEO4_BLOCKS - \
				 GEOFW_MAX_GEO4_LINES / GEOFW_GEO4_FULL_VALUES)	/* 61,216 */
#define GEOFW_MAX_GEO4_MORE	GEOFW_MAX_GEO4_ROWS
#define GEOFW_GEO6_FANOUT	16	/* keys per search-tree node */
#define GEOFW_GEO6_MAX_DEPTH	6	/* 16^6 = 16M intervals per subtree */
/* The IPv6 first level (gfw_geo6_top): an entry per /19 of 2000::/3
 * (2^16 of them, where every allocated unicast address lives), then one
 * per /3 of the rest of the address space (8, the one of 2000::/3 unused). */
#define GEOFW_GEO6_TOP_BITS	16
#define GEOFW_GEO6_TOP_ENTRIES	((1 << GEOFW_GEO6_TOP_BITS) + 8)
/* A first-level entry >= this is a subtree: depth << 24 | its root node. */
#define GEOFW_GEO6_KEY_NONE	(1ull << 62)	/* an unused key: above every offset */
#define GEOFW_GEO6_SUB		(1u << 24)
#define GEOFW_GEO6_ROOT_MASK	(GEOFW_GEO6_SUB - 1)
/* Tree nodes: every prefix adds at most two interval starts, 16 per leaf,
 * plus the upper levels (1/15 of the leaves), and each first-level bucket
 * at most one partly filled node per level on top (2 per bucket are far
 * more than real shapes need: GeoLite2 splits 413 of 65,544 buckets). */
#define GEOFW_MAX_GEO6_NODES	((GEOFW_MAX_GEO_V6 * 2 + 1) / 15 + 2 * GEOFW_GEO6_TOP_ENTRIES)
/* gfw_geo6_more entries: the prefixes longer than /64, plus one per /64
 * that holds them (the cover of the rest of that /64). */
#define GEOFW_MAX_GEO6_MORE	2097152
#define GEOFW_MAX_VLAN_DEPTH	2	/* 802.1Q / 802.1ad tags parsed */
#define GEOFW_MAX_IPV6_EXTHDRS	8	/* extension headers walked to find L4 */
#define GEOFW_MAX_HTTP_PORTS	8	/* ports answered with the 403 page */
#define GEOFW_HTTP403_MAX	1200	/* whole HTTP response (headers + body) */

/*
 * Country ids: 0 means "no country" (address not in the database); 1..254
 * index a fixed table of ISO 3166-1 alpha-2 codes plus the database special
 * codes (user/lib/countries.c), identical on both sides and stable across
 * database reloads, so a policy never silently changes meaning.
 */
#define GEOFW_COUNTRY_NONE	0
#define GEOFW_COUNTRY_MAX_ID	254
#define GEOFW_COUNTRY_MORE	255	/* geo tables: look in the longer-prefix table */

/* ---- actions and reasons -------------------------------------------------- */

enum geofw_action {
	GEOFW_ACT_PASS		= 0,
	GEOFW_ACT_DROP		= 1,
	GEOFW_ACT_REJECT	= 2,	/* TCP: RST; other protocols: drop */
	GEOFW_ACT_HTTP403	= 3,	/* HTTP ports: 403 page; other TCP: reject */
	GEOFW_ACT_LOG		= 4,	/* shadow mode: counted as would-block, passed */
	GEOFW_ACT_MAX
};

/*
 * One reason per verdict path.  Counters are indexed by reason; user space
 * prints them by name (geofw_reason_name()).  Append only: the numbers are ABI.
 */
enum geofw_reason {
	GEOFW_R_NON_IP		= 0,	/* ARP, LLDP, …: passed to the stack */
	GEOFW_R_ALLOWLIST	= 1,	/* source in the allowlist: passed */
	GEOFW_R_BLOCK_IP	= 2,	/* source in the IP/CIDR blocklist: blocked */
	GEOFW_R_LOG_IP		= 3,	/* IP/CIDR rule with the log action: passed */
	GEOFW_R_COUNTRY_BLOCK	= 4,	/* country blocked by the policy */
	GEOFW_R_COUNTRY_LOG	= 5,	/* country would be blocked (log): passed */
	GEOFW_R_COUNTRY_PASS	= 6,	/* country allowed by the policy: passed */
	GEOFW_R_NOCOUNTRY_BLOCK	= 7,	/* no country, default action blocks */
	GEOFW_R_NOCOUNTRY_LOG	= 8,	/* no country, default action logs: passed */
	GEOFW_R_NOCOUNTRY_PASS	= 9,	/* no country, default action passes */
	GEOFW_R_RUNT		= 10,	/* frame shorter than its L2 headers */
	GEOFW_R_VLAN_DEPTH	= 11,	/* more VLAN tags than GEOFW_MAX_VLAN_DEPTH */
	GEOFW_R_IPV4_TRUNC	= 12,	/* IPv4 header cut short */
	GEOFW_R_IPV4_IHL	= 13,	/* IPv4 IHL < 5 or version != 4 */
	GEOFW_R_IPV4_TOTLEN	= 14,	/* IPv4 total length < header length */
	GEOFW_R_IPV6_TRUNC	= 15,	/* IPv6 header cut short or version != 6 */
	GEOFW_R_ICMP6_ND	= 16,	/* IPv6 neighbour discovery: passed */
	GEOFW_R_ALLOW_ASN	= 17,	/* source in an allowed AS: passed */
	GEOFW_R_BLOCK_ASN	= 18,	/* source in a blocked AS: blocked */
	GEOFW_R_LOG_ASN		= 19,	/* AS rule with the log action: passed */
	/* port-scoped policy (ABI 5) */
	GEOFW_R_PORT_ALLOW	= 20,	/* source allowed on this port: passed */
	GEOFW_R_PORT_BLOCK	= 21,	/* source blocked on this port */
	GEOFW_R_PORT_LOG	= 22,	/* port-scoped block rule with the log action: passed */
	GEOFW_R_PORT_COUNTRY_BLOCK = 23, /* country blocked on this port */
	GEOFW_R_PORT_COUNTRY_LOG = 24,	/* country would be blocked on this port (log): passed */
	GEOFW_R_PORT_POLICY_PASS = 25,	/* listed by the port's allow-only policy: passed */
	GEOFW_R_PORT_POLICY_BLOCK = 26,	/* not listed by the port's allow-only policy */
	GEOFW_R_PORT_POLICY_LOG	= 27,	/* the same with the log action: passed */
	GEOFW_R_PORT_NO_L4	= 28,	/* port rules in force, ports unreadable (tiny first
					 * fragment, cut L4 header, IPv6 chain too long) */
	/* rate limits (ABI 5) */
	GEOFW_R_RATELIMIT	= 29,	/* passed the policy but over a rate limit: dropped */
	GEOFW_R_MAX
};

/* Malformed-packet classes, each with its own configurable verdict; class c
 * is counted under reason GEOFW_R_RUNT + c. */
enum geofw_malformed {
	GEOFW_MF_RUNT		= 0,
	GEOFW_MF_VLAN_DEPTH	= 1,
	GEOFW_MF_IPV4_TRUNC	= 2,
	GEOFW_MF_IPV4_IHL	= 3,
	GEOFW_MF_IPV4_TOTLEN	= 4,
	GEOFW_MF_IPV6_TRUNC	= 5,
	GEOFW_MF_MAX		= 8	/* array size, room to grow */
};

/* Country policy modes. */
enum geofw_country_mode {
	GEOFW_MODE_BLOCK_LISTED	= 0,	/* listed countries blocked, others pass */
	GEOFW_MODE_ALLOW_LISTED	= 1,	/* only listed countries pass */
};

/* ---- keys and values ------------------------------------------------------ */

/* geofw_meta[0]: what the pinned maps were built for. */
struct geofw_meta {
	__u32 magic;		/* GEOFW_META_MAGIC */
	__u32 abi_version;	/* GEOFW_ABI_VERSION */
	__u8  country_mode;	/* enum geofw_country_mode in force */
	__u8  pad[7];
	__u64 created_unix;	/* when the pins were created (seconds) */
};
_Static_assert(sizeof(struct geofw_meta) == 24, "geofw_meta size");

/*
 * geofw_config[0]: runtime knobs, read once per packet.  The map is
 * BPF_F_MMAPABLE and every field has one writer, which stores only that
 * field through the mapping (user/lib/maps.h setters, docs/maps.md): no
 * writer ever rewrites the record, so a stale copy cannot undo another's
 * change.  Writer of each field after the colon.
 */
struct geofw_config {
	__u8  country_mode;		/* enum geofw_country_mode: geofwd policy */
	__u8  country_block_action;	/* unlisted countries in allow mode: geofwd policy */
	__u8  unknown_country_action;	/* source without a country: geofwd policy */
	__u8  responder_enabled;	/* TC responder attached: geofwd attach */
	__u8  malformed_action[GEOFW_MF_MAX]; /* per enum geofw_malformed: geofwd policy */
	__u8  geo_slot;			/* geo slot in force (0 or 1): geo install */
	__u8  rules_present;		/* GEOFW_HAVE_*: rule writer, atomic OR/AND */
	__u8  asn_slot;			/* ASN class slot in force (0 or 1): ASN install */
	__u8  asn_present;		/* 1 when an ASN class table is in force: ASN install */
	__u32 geo_generation;		/* bumped on each switch: geo install */
	__u32 events_rate;		/* drop-log samples/s per CPU, 0 = off: lease of
					 * the drop-log reader, compare-and-exchange */
	/* port-scoped policy and rate limits (ABI 5): written together by the
	 * port table install, as one 16-bit store */
	__u8  ports_present;		/* GEOFW_PORTS_*: port rules install */
	__u8  rl_count;			/* rate limits of the slot in force, 0 = none */
	__u8  pad_ports[6];
};
_Static_assert(sizeof(struct geofw_config) == 32, "geofw_config size");

/*
 * config.rules_present: which rule maps may hold entries.  An empty hash or
 * trie still costs a lookup (a 1M-bucket hash costs a cache miss), so the
 * data plane skips maps whose bit is clear.  Set before the first entry goes
 * in, cleared once a map is empty again.
 */
enum {
	GEOFW_HAVE_ALLOW4	= 1u << 0,
	GEOFW_HAVE_ALLOW6	= 1u << 1,
	GEOFW_HAVE_BLOCK_IP4	= 1u << 2,
	GEOFW_HAVE_BLOCK_IP6	= 1u << 3,
	GEOFW_HAVE_BLOCK_NET4	= 1u << 4,
	GEOFW_HAVE_BLOCK_NET6	= 1u << 5,
	GEOFW_HAVE_ALL		= (1u << 6) - 1,
};

/*
 * gfw_block4_bits: the IPv4 rule prefilters, bits by index (word = bit >>
 * 6).  Bit GEOFW_B4_BLOCK24(/24): some block rule (exact or CIDR) covers
 * an address of that /24 — a clear bit skips both block lookups, so allowed
 * traffic pays one access to this 2 MiB bitmap instead of a hash miss.
 * ABI 7 adds a bit per /16 for block rules and one for allow rules, 8 KiB
 * each, small enough to stay in cache: a packet whose /16 holds no rule
 * skips the allowlist trie and the 2 MiB /24 bitmap.  Bits are set before
 * a rule is inserted and may stay set after deletes (a false positive only
 * costs the lookups); geofwd rebuilds them exactly on start and after each
 * kernel diff.
 */
#define GEOFW_B4_BLOCK24(s24)	(s24)				/* s24 = addr >> 8 */
#define GEOFW_B4_BLOCK16(s16)	((1u << 24) + (s16))		/* s16 = addr >> 16 */
#define GEOFW_B4_ALLOW16(s16)	((1u << 24) + 65536u + (s16))
#define GEOFW_BLOCK4_BITS_WORDS	(((1u << 24) + 2 * 65536u) / 64)

/*
 * gfw_block6_bits: 2^21 bits (256 KiB, stays in cache), one set for every
 * exact IPv6 block (/128) at GEOFW_BLOCK6_BIT of its address.  A clear bit
 * skips the gfw_block_ip6 probe, a random access into its 16 MiB of
 * buckets (140 ns measured, docs/design-notes.md "Per-packet cost").
 * hi, lo: the address's two halves as memcpy reads them (the same on both
 * sides of one machine).  Bits may stay set after deletes; geofwd rebuilds
 * them exactly on start and after each rule sync.
 */
#define GEOFW_BLOCK6_BITS_WORDS	((1u << 21) / 64)
#define GEOFW_BLOCK6_BIT(hi, lo) ((__u32)((((hi) ^ (lo)) * 0x9E3779B97F4A7C15ull) >> 43))

/* LPM trie keys (allowlist, CIDR blocklist, geo). */
struct geofw_lpm_v4 {
	__u32 prefixlen;
	__u8  addr[4];
};
_Static_assert(sizeof(struct geofw_lpm_v4) == 8, "geofw_lpm_v4 size");

struct geofw_lpm_v6 {
	__u32 prefixlen;
	__u8  addr[16];
};
_Static_assert(sizeof(struct geofw_lpm_v6) == 20, "geofw_lpm_v6 size");

/* Exact-address keys for /32 and /128 blocks (hash maps). */
struct geofw_ip4 {
	__u8 addr[4];
};
_Static_assert(sizeof(struct geofw_ip4) == 4, "geofw_ip4 size");

struct geofw_ip6 {
	__u8 addr[16];
};
_Static_assert(sizeof(struct geofw_ip6) == 16, "geofw_ip6 size");

/* Allowlist value. */
struct geofw_allow {
	__u32 rule_id;		/* hit counter index, 0 = not counted */
};
_Static_assert(sizeof(struct geofw_allow) == 4, "geofw_allow size");

/* Blocklist value. */
struct geofw_block {
	__u8  action;		/* enum geofw_action, never PASS */
	__u8  src_class;	/* enum geofw_resp_class of the rule's source (feed,
				 * crowdsec, ratelimit; else ip), for the 403 page;
				 * 0 (entries of older versions) = the reason's class */
	__u8  prefixlen;	/* the entry's own prefix length, so a log entry can
				 * be passed over to the CIDR that covers it;
				 * 0 (older versions, or /0) = not known */
	__u8  pad;
	__u32 rule_id;		/* hit counter index, 0 = not counted */
	__u64 expires_ns;	/* CLOCK_BOOTTIME ns; 0 = never */
};
_Static_assert(sizeof(struct geofw_block) == 16, "geofw_block size");

/*
 * ASN classes.  The ASN tables (gfw_asn4_flat … gfw_asn6_more) have the
 * layout of the geo tables, but their byte is an AS class id: 1..254 for an
 * AS that has a rule, 0 for every other address.  Only ASes with rules get a
 * class, so 100 blocked ASes with tens of thousands of prefixes cost one
 * array access per IPv4 packet, like the country lookup
 * (docs/design-notes.md).  gfw_asn_class[class id] says what the class is.
 */
#define GEOFW_MAX_ASN_CLASSES	256	/* class ids per slot 0..255; 1..254 used */
/* gfw_asn_class is keyed by slot << 8 | class id: each generation of the
 * tables has its own classes, so a switch never pairs a table with the
 * classes of another generation. */
#define GEOFW_ASN_CLASS_KEY(slot, id)	((((slot) & 1u) << 8) | ((id) & 0xffu))
#define GEOFW_ASN_CLASS_MAX_ID	GEOFW_COUNTRY_MAX_ID

enum geofw_asn_kind {
	GEOFW_ASN_NONE	= 0,
	GEOFW_ASN_ALLOW	= 1,	/* passes, before the IP/CIDR blocklist */
	GEOFW_ASN_BLOCK	= 2,	/* blocked with action, after the IP/CIDR blocklist */
};

struct geofw_asn_class {
	__u32 asn;		/* AS number */
	__u8  kind;		/* enum geofw_asn_kind */
	__u8  action;		/* GEOFW_ASN_BLOCK: enum geofw_action, never PASS */
	__u8  pad[2];
	__u32 rule_id;		/* gfw_cnt_rule index, 0 = not counted */
	__u64 expires_ns;	/* CLOCK_BOOTTIME ns; 0 = never */
};
_Static_assert(sizeof(struct geofw_asn_class) == 24, "geofw_asn_class size");

/* geofw_country[country id]: policy per country. */
struct geofw_country {
	__u8 listed;		/* named in the policy list */
	__u8 action;		/* block action when listed in block mode */
};
_Static_assert(sizeof(struct geofw_country) == 2, "geofw_country size");

/*
 * Geo tables.  One lookup per packet costs about one memory access for IPv4
 * and a handful for IPv6 (docs/maps.md, docs/design-notes.md):
 *
 * IPv4: three levels of strides 16/8/8 in arrays, at most three array
 * accesses and no hashing.  gfw_geo4_top[slot] (a plain array the verifier
 * inlines, no outer map) holds an entry per /16 (addr >> 16): a country id
 * when the whole /16 has one (entry < GEOFW_GEO4_REF), else a reference to
 * its row in gfw_geo4_flat[slot]: 256 entries, one per /24 ((addr >> 8) &
 * 255), each a country id or a reference to the /24's chunk in
 * gfw_geo4_more[slot]: 256 ids by the last address byte.  Rows and chunks
 * are stored as runs of equal entries: a reference GEOFW_GEO4_REF <= e <
 * GEOFW_GEO4_FULL is a line, value e - GEOFW_GEO4_REF, that lists the
 * runs (geofw_geo4_rowval, geofw_geo4_chunkval); e >= GEOFW_GEO4_FULL is
 * a full row or chunk, the 8 values from 8 * (e - GEOFW_GEO4_FULL), entry
 * or id b in value + (b >> 5), slot b & 31.  Either way a level is one
 * value lookup.  128 KiB of /16 entries stay in cache; only the /16s that
 * are not one country have a row (12,019 of GeoLite2's 65,536, 8,354 of
 * them lines), and GeoLite2's rows and chunks take 3.4 MB.  The inner
 * arrays are BPF_F_MMAPABLE: their values then start on a page, so that
 * each line is one cache line (an array's values otherwise start 312
 * bytes into it, and every 64-byte line would straddle two).
 *
 * IPv6: gfw_geo6_top[slot] (a plain array the verifier inlines, no outer
 * map) holds an entry per bucket of the upper 64 address bits: the /19s of
 * 2000::/3, then the other /3s (GEOFW_GEO6_BUCKET()).  An entry below
 * GEOFW_GEO6_SUB is the id of the whole bucket; else it is depth << 24 |
 * the index of the root of the bucket's own static B+-tree in
 * gfw_geo6_tree[slot] (sized per database).  Each node holds
 * GEOFW_GEO6_FANOUT sorted keys, the interval starts as offsets from the
 * bucket's start (below 2^61, so key <= x is the sign bit of key - (x + 1);
 * a subtree's first key is 0), and in leaves the id of the interval
 * starting at each key; an inner node keeps the index of its first child
 * (its children are consecutive; unused keys GEOFW_GEO6_KEY_NONE).  Intervals of prefixes longer
 * than /64 have the id GEOFW_COUNTRY_MORE and are resolved in the LPM trie
 * gfw_geo6_more[slot].
 *
 * config.geo_slot says which slot is in force; a database switch fills the
 * other slot and flips that one byte, so no packet sees a partial table.
 */
struct geofw_geo4_top {
	__u16 e[65536];		/* by addr >> 16: country id, or GEOFW_GEO4_REF + row index */
};
_Static_assert(sizeof(struct geofw_geo4_top) == 131072, "geofw_geo4_top size");

/* A value of gfw_geo4_flat[slot]: one 64-byte line. */
struct geofw_geo4_rowval {
	union {
		/* A /16 of at most 21 runs of equal /24 entries (a chunk
		 * reference is a run of its own): the first /24 of each run
		 * ((addr >> 8) & 255), increasing, and its entry; unused
		 * runs repeat the last one. */
		struct {
			__u8 start[GEOFW_GEO4_ROW_RUNS];
			__u8 pad;
			__u16 e[GEOFW_GEO4_ROW_RUNS];
		} line;
		/* Value i of a full row: the entries of /24s 32 * i .. 32 * i + 31. */
		__u16 e[32];
	};
};
_Static_assert(sizeof(struct geofw_geo4_rowval) == 64, "geofw_geo4_rowval size");

/* A value of gfw_geo4_more[slot]: one 32-byte line. */
struct geofw_geo4_chunkval {
	union {
		/* A /24 of at most 16 runs of equal ids: the last address
		 * byte each run starts at, increasing, and its id; unused
		 * runs repeat the last one. */
		struct {
			__u8 start[GEOFW_GEO4_CHUNK_RUNS];
			__u8 id[GEOFW_GEO4_CHUNK_RUNS];
		} line;
		/* Value i of a full chunk: the ids of addresses 32 * i .. 32 * i + 31. */
		__u8 id[32];
	};
};
_Static_assert(sizeof(struct geofw_geo4_chunkval) == 32, "geofw_geo4_chunkval size");

/* The ids of a /24 holding longer prefixes: the builder's unit
 * (user/lib/geotable.h), stored in the kernel as a chunk line or as a
 * full chunk of 8 geofw_geo4_chunkval. */
struct geofw_geo4_chunk {
	__u8 country[256];	/* by the last address byte */
};
_Static_assert(sizeof(struct geofw_geo4_chunk) == 256, "geofw_geo4_chunk size");

struct geofw_geo6_top {
	__u32 e[GEOFW_GEO6_TOP_ENTRIES];	/* by GEOFW_GEO6_BUCKET(): id, or depth << 24 | root */
};
_Static_assert(sizeof(struct geofw_geo6_top) == 262176, "geofw_geo6_top size");

struct geofw_geo6_inner {
	__u32 child;		/* index of the first child; child j is child + j */
	__u32 pad[3];
};

struct geofw_geo6_node {
	__u64 key[GEOFW_GEO6_FANOUT];	/* above the bucket's start; unused: GEOFW_GEO6_KEY_NONE */
	union {
		__u8  country[GEOFW_GEO6_FANOUT];	/* leaves */
		struct geofw_geo6_inner in;		/* inner nodes */
	};
};
_Static_assert(sizeof(struct geofw_geo6_node) == 144, "geofw_geo6_node size");

/* The first-level entry of hi, the upper 64 bits of an IPv6 address (host order). */
/* hi's offset from the start of its bucket. */
#define GEOFW_GEO6_OFFSET(hi)							\
	((((hi) >> 61) == 1) ? (hi) & ((1ull << (61 - GEOFW_GEO6_TOP_BITS)) - 1) :	\
	 (hi) & ((1ull << 61) - 1))
#define GEOFW_GEO6_BUCKET(hi)							\
	((((hi) >> 61) == 1) ?							\
	 (__u32)((hi) >> (61 - GEOFW_GEO6_TOP_BITS)) & ((1u << GEOFW_GEO6_TOP_BITS) - 1) :	\
	 (1u << GEOFW_GEO6_TOP_BITS) + (__u32)((hi) >> 61))

/* gfw_geo6_more value: the country id of a prefix longer than /64. */
struct geofw_geo {
	__u8 country_id;
};
_Static_assert(sizeof(struct geofw_geo) == 1, "geofw_geo size");

/* Per-CPU counters. */
struct geofw_reason_stats {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct geofw_reason_stats) == 16, "geofw_reason_stats size");

/* gfw_cnt_action[enum geofw_action] uses struct geofw_reason_stats too:
 * the action actually taken (reject/http403 count as drop while no TC
 * responder is attached). */

struct geofw_country_stats {
	__u64 blocked;		/* dropped, rejected or answered with 403 */
	__u64 passed;
	__u64 logged;		/* would have been blocked (log action) */
};
_Static_assert(sizeof(struct geofw_country_stats) == 24, "geofw_country_stats size");

struct geofw_rule_stats {
	__u64 hits;
};
_Static_assert(sizeof(struct geofw_rule_stats) == 8, "geofw_rule_stats size");

/* gfw_cnt_asn[AS number]: packets an AS rule decided (entries made by user
 * space for every AS with a rule; the data plane never inserts). */
struct geofw_asn_stats {
	__u64 blocked;		/* dropped, rejected or answered with 403 */
	__u64 passed;		/* allow-asn */
	__u64 logged;		/* would have been blocked (log action) */
};
_Static_assert(sizeof(struct geofw_asn_stats) == 24, "geofw_asn_stats size");


/* Responder events, counted in gfw_cnt_resp[enum geofw_resp_event]. */
enum geofw_resp_event {
	GEOFW_RESP_SYNACK	= 0,	/* SYN answered with a cookie SYN-ACK */
	GEOFW_RESP_HTTP403	= 1,	/* 403 page segment sent */
	GEOFW_RESP_RST		= 2,	/* RST sent (reject) */
	GEOFW_RESP_FINACK	= 3,	/* client FIN acknowledged */
	GEOFW_RESP_BAD_COOKIE	= 4,	/* ACK that does not verify: dropped */
	GEOFW_RESP_DROPPED	= 5,	/* other segment of a blocked flow: dropped */
	GEOFW_RESP_ERROR	= 6,	/* could not build a reply: dropped */
	GEOFW_RESP_MISSING	= 7,	/* XDP: responder not acknowledging, dropped there */
	GEOFW_RESP_LIMITED	= 8,	/* 403 segment over the per-source limit: dropped */
	GEOFW_RESP_MAX
};

struct geofw_resp_stats {
	__u64 packets;
};
_Static_assert(sizeof(struct geofw_resp_stats) == 8, "geofw_resp_stats size");

/*
 * Drop log: a sample of blocked (and logged) packets, rate-limited per CPU to
 * config.events_rate per second, in the ring buffer gfw_events.
 */
#define GEOFW_EVENTS_BYTES	(256 * 1024)

struct geofw_event {
	__u64 ts_ns;		/* CLOCK_BOOTTIME */
	__u32 ifindex;
	__u8  family;		/* 4 or 6 */
	__u8  l4proto;
	__u8  reason;		/* enum geofw_reason */
	__u8  action;		/* enum geofw_action taken */
	__u8  country_id;
	__u8  pad[3];
	__u16 sport_be, dport_be;	/* 0 when not parsed */
	__u32 rule_id;
	__u8  saddr[16];	/* IPv4 in the first 4 bytes */
	__u8  daddr[16];
};
_Static_assert(sizeof(struct geofw_event) == 64, "geofw_event size");

/* Per-CPU limiter state of the drop log.  An event is counted in `sent`
 * before ring space is reserved, so a full ring costs at most events_rate
 * reservation attempts per second per CPU, never one per blocked packet. */
struct geofw_event_limit {
	__u64 window_ns;	/* start of the current one-second window (coarse clock) */
	__u32 sent;		/* events in it (ring space asked for) */
	__u32 suppressed;	/* over the limit, not sent (lifetime) */
	__u64 lost;		/* within the limit but the ring was full (lifetime) */
};
_Static_assert(sizeof(struct geofw_event_limit) == 24, "geofw_event_limit size");


/*
 * gfw_nat64[0]: NAT64 prefixes of the config (NAT64Prefix=).  A source
 * inside one is judged as the IPv4 address it carries (RFC 6052 §2.2: the
 * address follows the prefix, skipping bits 64-71).  6to4 (2002::/16), the
 * well-known prefix 64:ff9b::/96 and IPv4-compatible ::a.b.c.d need no entry.
 */
#define GEOFW_MAX_NAT64		8

struct geofw_nat64_prefix {
	__u8  addr[16];		/* the prefix, bits past prefixlen zero */
	__u8  prefixlen;	/* 32, 40, 48, 56, 64 or 96 */
	__u8  pad[3];
};
_Static_assert(sizeof(struct geofw_nat64_prefix) == 20, "geofw_nat64_prefix size");

struct geofw_nat64 {
	__u32 count;		/* prefixes in use, 0..GEOFW_MAX_NAT64 */
	struct geofw_nat64_prefix prefix[GEOFW_MAX_NAT64];
};
_Static_assert(sizeof(struct geofw_nat64) == 4 + 20 * GEOFW_MAX_NAT64, "geofw_nat64 size");

/*
 * gfw_resp_watch[ifindex]: is the TC responder behind this interface alive?
 * XDP hands reject/http403 packets to TC only while it is: the record holds
 * when XDP first handed a packet over after the last acknowledgement
 * (handoff_ns) and when TC last acknowledged a pending hand-off (ack_ns;
 * acknowledged when ack_ns >= handoff_ns).  A hand-off left unacknowledged
 * for GEOFW_RESP_WATCH_BOUND_NS means the filter is gone or another TC
 * program ran first: XDP then drops these packets itself
 * (GEOFW_RESP_MISSING) until geofwd re-attaches the filter and writes a
 * fresh record.  No record: no responder on that interface, drop.  Times are
 * CLOCK_MONOTONIC_COARSE ns.
 */
#define GEOFW_MAX_RESP_WATCH		256
#define GEOFW_RESP_WATCH_BOUND_NS	250000000ull	/* 250 ms */

struct geofw_resp_watch {
	__u64 ack_ns;		/* TC: when it answered the last pending hand-off */
	__u64 handoff_ns;	/* XDP: first hand-off after ack_ns, 0 = none */
};
_Static_assert(sizeof(struct geofw_resp_watch) == 16, "geofw_resp_watch size");

/*
 * gfw_resp_flow: per-flow token bucket on 403 response segments, the only
 * replies larger than the segment that asks for them.  ACKs replaying one
 * valid cookie get GEOFW_RESP_FLOW_BURST segments, then GEOFW_RESP_FLOW_RATE
 * per second; the rest are dropped (GEOFW_RESP_LIMITED).  An LRU keyed by
 * the client address and both ports: each budget costs a SYN and its
 * SYN-ACK, and a busy client (or many behind one NAT) opening new
 * connections is not limited.
 */
#define GEOFW_MAX_RESP_FLOW	65536
#define GEOFW_RESP_FLOW_BURST	32	/* segments: a page pulled in 48-byte segments needs 26 */
#define GEOFW_RESP_FLOW_RATE	2	/* segments per second after that (retransmissions) */

struct geofw_resp_flow_key {
	__u8  saddr[16];	/* client; IPv4 as ::ffff:a.b.c.d */
	__u16 sport_be;		/* client port */
	__u16 dport_be;		/* server port */
};
_Static_assert(sizeof(struct geofw_resp_flow_key) == 20, "geofw_resp_flow_key size");

struct geofw_resp_flow {
	__u64 last_ns;		/* CLOCK_MONOTONIC_COARSE of the last refill */
	__u32 tokens_milli;	/* segments left, in thousandths */
	__u32 pad;
};
_Static_assert(sizeof(struct geofw_resp_flow) == 16, "geofw_resp_flow size");

/* ==== 403 pages, placeholders, reference codes (issue #20) =================
 *
 * Everything the TC responder needs to choose a page and fill its
 * placeholders per response; kept in one block so other ABI changes merge
 * around it.  docs/design-notes.md "403 pages" has the why and the costs.
 */
#define GEOFW_MAP_RESP_PAGES	"gfw_resp_pages"
#define GEOFW_MAP_RESP_SELECT	"gfw_resp_select"

#define GEOFW_RESP_SLOTS	2	/* page generations: in force + being written */
#define GEOFW_RESP_MAX_PAGES	16	/* pages per slot; page 0 is Http403Body */
#define GEOFW_RESP_MAX_FIELDS	12	/* placeholders per page, headers included */
#define GEOFW_RESP_FIELD_MAX	40	/* widest placeholder: an IPv6 address (39) */
#define GEOFW_RESP_MAX_REASONS	64	/* enum geofw_reason values reason_class covers */
/* reason_class[] rows 56..63 are no reason: row 56 + c holds class c, for
 * verdicts whose block entry has a source class (GEOFW_META_CLASS_*). */
#define GEOFW_RESP_SRC_REASON(c)	(GEOFW_RESP_MAX_REASONS - 8 + ((c) & 7))
_Static_assert(GEOFW_R_MAX <= GEOFW_RESP_MAX_REASONS - 8, "reasons overlap source-class rows");

/*
 * Reason classes: the REASON of `Http403Page = REASON FILE`, the {{reason}}
 * placeholder and the reason field of a reference code (3 bits).  The XDP
 * reason maps to a class through gfw_responder's reason_class[] (user space
 * fills it, so a new XDP reason needs no change here).  feed, crowdsec and
 * ratelimit rules are block rules of a source: their entries carry the
 * source's class (geofw_block.src_class), XDP passes it on in the metadata
 * flags (GEOFW_META_CLASS_*) and TC takes the class from reason_class[]
 * row GEOFW_RESP_SRC_REASON(class) instead of the reason's row.
 */
enum geofw_resp_class {
	GEOFW_RC_OTHER		= 0,
	GEOFW_RC_COUNTRY	= 1,	/* country policy, or no country (UnknownCountry) */
	GEOFW_RC_ASN		= 2,
	GEOFW_RC_IP		= 3,	/* IP/CIDR block rule */
	GEOFW_RC_RATELIMIT	= 4,
	GEOFW_RC_FEED		= 5,
	GEOFW_RC_CROWDSEC	= 6,
	GEOFW_RC_MAX		= 8
};

/* Placeholders, each a fixed-width field (padded with spaces) so that
 * Content-Length is known before the values are. */
enum geofw_resp_field_kind {
	GEOFW_FIELD_NONE	= 0,
	GEOFW_FIELD_ADDR	= 1,	/* {{addr}}: client address, 39 wide */
	GEOFW_FIELD_COUNTRY	= 2,	/* {{country}}: ISO code, "--" for none, 2 wide */
	GEOFW_FIELD_REASON	= 3,	/* {{reason}}: class name, 9 wide */
	GEOFW_FIELD_TIME	= 4,	/* {{time}}: "YYYY-MM-DD HH:MM UTC", 20 wide */
	GEOFW_FIELD_REF		= 5,	/* {{ref}}: reference code, 12 wide */
	GEOFW_FIELD_MAX
};
#define GEOFW_FIELD_W_ADDR	39
#define GEOFW_FIELD_W_COUNTRY	2
#define GEOFW_FIELD_W_REASON	9
#define GEOFW_FIELD_W_TIME	20
#define GEOFW_FIELD_W_REF	12

struct geofw_resp_field {
	__u16 off;		/* in data[] */
	__u8  kind;		/* enum geofw_resp_field_kind */
	__u8  width;
};
_Static_assert(sizeof(struct geofw_resp_field) == 4, "geofw_resp_field size");

/* gfw_resp_pages[slot * GEOFW_RESP_MAX_PAGES + page]: one complete
 * response, placeholders as runs of spaces at field[].off. */
struct geofw_resp_page {
	__u16 len;		/* bytes of data[]: the whole response */
	__u16 head_len;		/* status line and headers with the blank line (HEAD) */
	__u8  n_fields;
	__u8  field_kinds;	/* bit per kind present: what to compute */
	__u8  pad[2];
	struct geofw_resp_field field[GEOFW_RESP_MAX_FIELDS];
	__u8  data[GEOFW_HTTP403_MAX];
};
_Static_assert(sizeof(struct geofw_resp_page) == 8 + 4 * GEOFW_RESP_MAX_FIELDS + GEOFW_HTTP403_MAX,
	       "geofw_resp_page size");

/* gfw_resp_select[slot]: the page for a reason class and a country id. */
struct geofw_resp_select {
	__u8 page[GEOFW_RC_MAX][GEOFW_MAX_COUNTRIES];
};
_Static_assert(sizeof(struct geofw_resp_select) == GEOFW_RC_MAX * GEOFW_MAX_COUNTRIES,
	       "geofw_resp_select size");

/*
 * Page state inside gfw_responder[0].  A reload writes the slot not in force
 * (pages, then selection), then flips slot.  A SYN cookie carries the slot
 * of its SYN and its MAC covers that slot's generation, so a response pulled
 * in several segments comes from one page generation: a slot rewritten
 * meanwhile (gen bumped before the write) fails the cookie instead of
 * serving half of each page.
 */
struct geofw_resp_pages_state {
	__u8  slot;				/* slot in force, 0 or 1 */
	__u8  ready;				/* pages written: else http403 → RST */
	__u8  pad[2];
	__u32 gen[GEOFW_RESP_SLOTS];		/* bumped before a slot is rewritten */
	__u32 pad2;
	__s64 utc_offset_ns;			/* CLOCK_REALTIME - CLOCK_BOOTTIME (geofwd) */
	__u64 ref_key[2];			/* SipHash key of reference codes; 0: none */
	__u8  reason_class[GEOFW_RESP_MAX_REASONS]; /* enum geofw_reason → class */
	char  country_code[GEOFW_MAX_COUNTRIES][2]; /* id → ISO code, "--" for 0 */
	char  class_name[GEOFW_RC_MAX][GEOFW_FIELD_W_REASON]; /* space-padded */
};
_Static_assert(sizeof(struct geofw_resp_pages_state) ==
	       40 + GEOFW_RESP_MAX_REASONS + 2 * GEOFW_MAX_COUNTRIES +
	       GEOFW_RC_MAX * GEOFW_FIELD_W_REASON, "geofw_resp_pages_state size");

/*
 * XDP → TC metadata (in front of the packet) for reject/http403 verdicts, so
 * the TC responder acts without a second set of lookups: the verdict, and
 * for the page what decided it.
 */
#define GEOFW_META_COUNTRY	0x01	/* country_id is the source's (looked up) */
#define GEOFW_META_CLASS_SHIFT	1	/* bits 1-3: the block entry's src_class */
#define GEOFW_META_CLASS_MASK	0x0e	/* (0: none, the reason's class) */

struct geofw_xdp_meta {
	__u32 magic;		/* GEOFW_META_MAGIC */
	__u8  action;		/* enum geofw_action */
	__u8  reason;		/* enum geofw_reason */
	__u8  country_id;
	__u8  flags;		/* GEOFW_META_* */
	__u32 rule_id;		/* rule that decided, 0 = none */
	__u32 asn;		/* AS of the AS rule that decided, else 0 */
};
_Static_assert(sizeof(struct geofw_xdp_meta) == 16, "geofw_xdp_meta size");

/*
 * Reference codes: 12 characters of Crockford base32 (no I L O U), 60 bits,
 * most significant first:
 *	reason class 3 | country id 8 | UTC minute mod 2^16 16 |
 *	subject 16 (rule id; AS number mod 2^16 for asn) | MAC 17
 * MAC: the low 17 bits of SipHash-2-4 under ref_key over two words: the 60
 * bits with the MAC zero, and the full minute | full subject << 32.  The
 * 16-bit minute repeats every 45.5 days, which bounds Http403RefRetention.
 */
#define GEOFW_REF_LEN		12
#define GEOFW_REF_MAC_BITS	17
#define GEOFW_REF_MINUTE_BITS	16

/* gfw_responder[0]: what the TC responder answers with. */
struct geofw_responder {
	__u16 http_ports[GEOFW_MAX_HTTP_PORTS];	/* host order; 0 = unused slot */
	struct geofw_resp_pages_state pages;
};
_Static_assert(sizeof(struct geofw_responder) == 16 + sizeof(struct geofw_resp_pages_state),
	       "geofw_responder size");
/* ==== end of the 403 pages block ========================================== */

/*
 * ---- port-scoped policy (ABI 5) ---------------------------------------------
 *
 * Rules limited to ports (docs/design-notes.md "Port-scoped policy").  Every
 * distinct port list a rule names ("22/tcp", "80,443/tcp", "8000-8100/tcp")
 * is a *port set*, id 0..GEOFW_MAX_PORT_SETS-1.  gfw_port says, for a
 * protocol and destination port, which sets hold it (a bit mask), so a
 * packet costs one array access to know whether any port rule concerns it.
 * Rules carry per-set bits:
 *
 *   gfw_port[slot, proto, port]   sets holding the port; of those, the sets
 *                                 with an allow-only port policy
 *   gfw_port_set[slot, set]       the allow-only policy of a set (action, id)
 *   gfw_port_net4/6[slot, prefix] port-scoped allow/block rules and the
 *                                 prefixes an allow-only policy lists, each
 *                                 entry merged with every shorter prefix
 *                                 covering it (so the longest match is whole)
 *   gfw_port_asn[slot, AS number] port-scoped AS allow/block rules and the
 *                                 sets whose allow-only policies list the AS
 *                                 (ABI 6, an array probed by a hash of the AS
 *                                 since ABI 8; the AS comes from the AS class of
 *                                 the source, so every AS named here has a
 *                                 class in the ASN tables)
 *   gfw_port_cc[slot, country]    port-scoped country blocks, and the
 *                                 countries an allow-only policy lists
 *
 * All keys carry the generation slot (config.ports_present & GEOFW_PORTS_SLOT):
 * a change is built in the other slot and switched with one byte store.
 */
#define GEOFW_MAX_PORT_SETS	16
#define GEOFW_MAX_PORT_NETS	8192	/* port-scoped prefixes per family and slot */
#define GEOFW_PORT_PROTO_TCP	0
#define GEOFW_PORT_PROTO_UDP	1
#define GEOFW_PORT_KEY(slot, proto, port) \
	((((slot) & 1u) << 17) | (((proto) & 1u) << 16) | ((port) & 0xffffu))
#define GEOFW_PORT_ENTRIES	(2u << 17)
#define GEOFW_PORT_SET_KEY(slot, set)	((((slot) & 1u) << 4) | ((set) & 15u))
#define GEOFW_PORT_CC_KEY(slot, cc)	((((slot) & 1u) << 8) | ((cc) & 0xffu))

/* config.ports_present */
enum {
	GEOFW_PORTS_ON		= 1u << 0,	/* some port set exists: read gfw_port */
	GEOFW_PORTS_NET4	= 1u << 1,	/* gfw_port_net4 holds entries of the slot */
	GEOFW_PORTS_NET6	= 1u << 2,
	GEOFW_PORTS_CC		= 1u << 3,	/* gfw_port_cc holds entries of the slot */
	GEOFW_PORTS_NET6_SHORT	= 1u << 4,	/* an IPv6 port prefix shorter than /32:
						 * gfw_port_bits cannot say no for IPv6 */
	GEOFW_PORTS_ASN		= 1u << 5,	/* gfw_port_asn holds entries of the slot
						 * (ABI 6) */
	GEOFW_PORTS_SLOT	= 1u << 7,	/* the slot in force */
};

/*
 * gfw_port_bits (ABI 6): the prefilter of the port prefix tries, bits set
 * where a port-scoped prefix of either slot may match (a clear bit skips
 * the trie walk): one per IPv4 /16 and one per 16-bit hash of an IPv6 /32
 * (8 KiB each, stays in cache), then one per IPv4 /24 (2 MiB, read only
 * when the /16's bit is set).  Set before a slot is switched in, cleared
 * after (a stale bit only costs the walk).
 */
#define GEOFW_PORT_BITS16(a16)	((__u32)(a16) & 0xffffu)
#define GEOFW_PORT_BITS6(a32)	(((((__u32)(a32)) * 0x9e3779b1u) >> 16) + (1u << 16))
#define GEOFW_PORT_BITS24(a24)	(((__u32)(a24) & 0xffffffu) + (2u << 16))
#define GEOFW_PORT_BITS_WORDS	(((2u << 16) + (1u << 24)) / 64)

struct geofw_port {
	__u16 sets;		/* port sets holding this port */
	__u16 only_sets;	/* of them, those with an allow-only policy */
	__u16 net_sets;		/* sets some prefix rule names: the prefix trie is
				 * read only for a port in one of them */
	__u16 pad;		/* 8 bytes: the array's element stride, so the
				 * mapped table is a plain C array */
};
_Static_assert(sizeof(struct geofw_port) == 8, "geofw_port size");

struct geofw_port_set {
	__u8  only_action;	/* allow-only policy: action for unlisted sources */
	__u8  pad[3];
	__u32 only_rule_id;	/* its hit counter, 0 = none */
};
_Static_assert(sizeof(struct geofw_port_set) == 8, "geofw_port_set size");

/* LPM keys with the slot as their first byte (prefixlen counts it). */
struct geofw_port_lpm_v4 {
	__u32 prefixlen;	/* 8 + address bits */
	__u8  slot;
	__u8  addr[4];
	__u8  pad[3];
};
_Static_assert(sizeof(struct geofw_port_lpm_v4) == 12, "geofw_port_lpm_v4 size");

struct geofw_port_lpm_v6 {
	__u32 prefixlen;
	__u8  slot;
	__u8  addr[16];
	__u8  pad[3];
};
_Static_assert(sizeof(struct geofw_port_lpm_v6) == 24, "geofw_port_lpm_v6 size");

struct geofw_port_net {
	__u16 allow_sets;	/* allowed on these sets */
	__u16 block_sets;	/* blocked on these sets (action[set]) */
	__u16 only_sets;	/* listed by these sets' allow-only policies */
	__u16 pad;
	__u8  action[GEOFW_MAX_PORT_SETS];	/* block action per set */
	__u32 rule_id[GEOFW_MAX_PORT_SETS];	/* allow or block rule per set */
};
_Static_assert(sizeof(struct geofw_port_net) == 88, "geofw_port_net size");

/*
 * gfw_port_asn (ABI 8): per slot an open-addressed table of
 * GEOFW_PORT_ASN_ENTRIES entries (a BPF array, so the verifier inlines each
 * access: no jhash, no bucket list, no call), entry i of slot s at
 * GEOFW_PORT_ASN_KEY(s, i).  An AS lives at GEOFW_PORT_ASN_HASH(asn) or one
 * of the GEOFW_PORT_ASN_PROBE - 1 entries after it (wrapping inside the
 * slot); the data plane stops at the entry holding the AS or at the first
 * empty one (asn 0: AS 0 is reserved, RFC 7607, and never a rule).  At most
 * GEOFW_MAX_PORT_ASNS ASes per slot, a load of 1/4: user space refuses a set
 * of ASes one of which lies further than the probe bound (-E2BIG, naming the
 * AS; no random set of 254 ASes did in 3,000 trials, docs/design-notes.md).
 * The value is a struct geofw_port_net (allow, block and allow-only bits,
 * action and rule id per set).
 */
#define GEOFW_MAX_PORT_ASNS	GEOFW_ASN_CLASS_MAX_ID	/* per slot: each needs a class */
#define GEOFW_PORT_ASN_BITS	10
#define GEOFW_PORT_ASN_ENTRIES	(1u << GEOFW_PORT_ASN_BITS)	/* per slot */
#define GEOFW_PORT_ASN_PROBE	16
#define GEOFW_PORT_ASN_HASH(asn) \
	((__u32)((__u32)(asn) * 0x9e3779b1u) >> (32 - GEOFW_PORT_ASN_BITS))
#define GEOFW_PORT_ASN_KEY(slot, i) \
	((((slot) & 1u) << GEOFW_PORT_ASN_BITS) | ((__u32)(i) & (GEOFW_PORT_ASN_ENTRIES - 1)))
struct geofw_port_asn {
	__u32 asn;		/* 0 = empty entry */
	__u32 pad;
	struct geofw_port_net net;
};
_Static_assert(sizeof(struct geofw_port_asn) == 96, "geofw_port_asn size");

struct geofw_port_cc {
	__u16 block_sets;	/* country blocked on these sets (action[set]) */
	__u16 only_sets;	/* listed by these sets' allow-only policies */
	__u8  action[GEOFW_MAX_PORT_SETS];
};
_Static_assert(sizeof(struct geofw_port_cc) == 20, "geofw_port_cc size");

/*
 * ---- rate limits (ABI 5, state ABI 7) ---------------------------------------
 *
 * Per-source limits on the packets the policy lets through (the allowlist
 * excepted): gfw_rl_rule[slot * 8 + i] for i < config.rl_count.  The state is
 * shared by all CPUs (GCRA: the theoretical arrival time of the source's next
 * packet, advanced by compare-and-exchange, so the limit holds whatever CPU
 * each packet lands on; docs/design-notes.md "Rate limits").  Over the limit:
 * dropped (GEOFW_R_RATELIMIT), and with ban a request to geofwd through
 * gfw_rl_events, at most one per source per second.
 */
#define GEOFW_MAX_RATELIMITS	8
#define GEOFW_RL_EVENTS_BYTES	(64 * 1024)
#define GEOFW_RL_RULE_KEY(slot, i)	((((slot) & 1u) << 3) | ((i) & 7u))
/* The burst's time (tau) and one packet's cost are at most this long: a
 * state word keeps the arrival time in 48 bits of ns (geofw_rl_set). */
#define GEOFW_RL_WINDOW_MAX_NS	(12ull * 3600 * 1000000000ull)

struct geofw_rl_rule {
	__u64 ps_per_unit;	/* picoseconds per packet (pps) or per bit (bps) */
	__u64 tau_ns;		/* burst: how far the arrival time may run ahead */
	__u16 port_sets;	/* only packets to ports of these sets; 0 = all */
	__u8  bps;		/* cost: the packet's bits (else 1 per packet) */
	__u8  syn_only;		/* only TCP SYN without ACK counts and is limited */
	__u8  ban;		/* over the limit: also ask geofwd for a ban */
	__u8  v4_prefix;	/* key: the source's IPv4 prefix (1..32) */
	__u8  v6_prefix;	/* key: the source's IPv6 prefix (1..128) */
	__u8  front;		/* per-CPU batches (ABI 6): 0 = none, every packet
				 * moves the shared state; else a CPU takes up to
				 * tau_ns >> (front - 1) of allowance at once */
	__u64 seed;		/* keys the state's hash (ABI 7): drawn once, the
				 * same in every entry and kept across installs */
};
_Static_assert(sizeof(struct geofw_rl_rule) == 32, "geofw_rl_rule size");

/*
 * gfw_rl_sets[set] (ABI 7): the state of every (rule, source prefix), a
 * set-associative array shared by all CPUs.  A keyed hash of the key picks
 * the set (one cache line: the map is mmapable, so its values are page
 * aligned) and a 16-bit tag; each way is one word, tag << 48 | the
 * arrival time's low 48 bits (ns, CLOCK_MONOTONIC), so one
 * compare-and-exchange checks the owner and moves its clock.  A new source
 * takes the way whose arrival time is least ahead of now: a time already
 * past carries no information (it equals a fresh state), so spoofed
 * sources' ways are free again after one packet's cost, while a source over
 * its limit is up to tau ahead.  gfw_rl_bans[set].ban_ns[way]: when the way's
 * last ban request went out (touched only over a limit with ban).
 */
#define GEOFW_RL_SET_BITS	15
#define GEOFW_RL_SETS		(1u << GEOFW_RL_SET_BITS)
#define GEOFW_RL_WAYS		8
#define GEOFW_MAX_RL_STATE	(GEOFW_RL_SETS * GEOFW_RL_WAYS)	/* sources tracked */
#define GEOFW_RL_TAT_BITS	48
#define GEOFW_RL_TAT_MASK	((1ull << GEOFW_RL_TAT_BITS) - 1)

struct geofw_rl_set {
	__u64 way[GEOFW_RL_WAYS];	/* tag << 48 | arrival time (ns) & 2^48-1; 0 = free */
};
_Static_assert(sizeof(struct geofw_rl_set) == 64, "geofw_rl_set size");

struct geofw_rl_bans {
	__u64 ban_ns[GEOFW_RL_WAYS];	/* last ban request of the way's source, 0 = none */
};
_Static_assert(sizeof(struct geofw_rl_bans) == 64, "geofw_rl_bans size");

/* The keyed hash of a state's key (rule index, family, source masked to the
 * rule's prefix as two big-endian words): set = h & (GEOFW_RL_SETS - 1), tag
 * = h >> 48.  The seed is secret (drawn by the installer) so that a source
 * cannot be made to share another's state on purpose; the mix is a
 * multiply-xorshift (splitmix64's finaliser), cheap enough for the packet
 * path.  Here because the tests place states where the kernel will. */
static inline __u64 geofw_rl_hash(__u64 khi, __u64 klo, __u32 rule, __u32 family, __u64 seed)
{
	__u64 h = khi ^ seed;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h ^= klo ^ ((__u64)rule << 8 | family);
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= seed >> 17 | seed << 47;
	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/*
 * gfw_rl_front[slot]: per CPU, a direct-mapped cache of the sources this
 * CPU saw last (ABI 6, not pinned: a cache, rebuilt empty at each load).
 * A CPU takes allowance from the shared GCRA word in batches and spends it
 * here without an atomic or a clock read; over the limit it remembers until
 * when, and drops without touching the shared state
 * (docs/design-notes.md "Rate limits: per-CPU batches").
 */
#define GEOFW_RL_FRONT_BITS	11
#define GEOFW_RL_FRONT_SLOTS	(1u << GEOFW_RL_FRONT_BITS)
#define GEOFW_RL_FRONT_LEVELS	6	/* a batch is at most 1 << 6 packets' cost */

struct geofw_rl_front {
	__u64 hi, lo;		/* the source masked to the rule's prefix */
	__u64 deny_ns;		/* over the limit until then (CLOCK_MONOTONIC) */
	__u32 credit;		/* allowance taken from the shared word, unspent:
				 * packets (pps rule) or ns (bps rule) */
	__u8  tag;		/* 0x80 | 0x40 for IPv6 | rule index; 0 = empty */
	__u8  level;		/* the next batch: up to 1 << level packets' cost */
	__u8  pad[2];
};
_Static_assert(sizeof(struct geofw_rl_front) == 32, "geofw_rl_front size");

struct geofw_rl_event {
	__u64 ts_ns;
	__u8  rule;
	__u8  family;
	__u8  prefixlen;
	__u8  pad[5];
	__u8  addr[16];
};
_Static_assert(sizeof(struct geofw_rl_event) == 32, "geofw_rl_event size");

/* gfw_cnt_rl[rule index]: per-CPU. */
struct geofw_rl_stats {
	__u64 passed;		/* counted by the rule and within its limit */
	__u64 limited;		/* over it: dropped */
	__u64 bans;		/* ban requests sent */
};
_Static_assert(sizeof(struct geofw_rl_stats) == 24, "geofw_rl_stats size");

#endif /* GEOFW_H */
