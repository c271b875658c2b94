/* SPDX-License-Identifier: GPL-2.0-only */
/* geofwd internals: one daemon state, shared by its files. */
#ifndef GEOFWD_H
#define GEOFWD_H

#include <net/if.h>
#include <stdbool.h>
#include <time.h>

#include "asntable.h"
#include "config.h"
#include "geoip.h"
#include "geotable.h"
#include "loader.h"
#include "ports.h"
#include "refcode.h"
#include "responder.h"
#include "store.h"

#define GFWD_MAX_IFACES		32
#define GFWD_TC_HANDLE		0x67f		/* "gf": our filter, found again on start */
#define GFWD_TC_PRIO		0x67
#define GFWD_RESP_CHECK_MS	200		/* responder check period; XDP's own bound is 250 ms */

struct gfwd_iface {
	char name[IF_NAMESIZE];
	int ifindex;			/* 0 while the interface does not exist */
	int xdp_link;			/* pinned bpf_link fd, -1 when not attached */
	int xdp_mode;			/* GEOFW_XDP_NATIVE / GEOFW_XDP_GENERIC in force */
	bool tc;			/* TC responder filter attached */
	int link_type;			/* ARPHRD_* read at attach time */
	bool l3;			/* no Ethernet header: geofw_xdp_l3, no responder */
	bool resp_stalled;		/* filter there, but it sees no marked packets */
	bool program_refused;		/* the new XDP program failed its canary frames */
	bool mode_refused;		/* XdpMode could not be applied: the old mode stays */
	bool mode_changed;		/* a reload changed XdpMode: auto moves too */
	unsigned int tc_retry;		/* responder checks until the next attach retry */
	char error[384];		/* why the last attach failed, for status */
};

/* The GeoIP data in force: every file of GeoIPDatabase, merged. */
struct gfwd_db_info {
	bool loaded;
	char path[GEOFW_CONF_MAX_GEOIP_DB * 1024];	/* the files, space-separated */
	__u64 build_epoch;			/* the oldest file's */
	char database_type[GEOFW_CONF_MAX_GEOIP_DB * 64]; /* each file's, " + " between */
	size_t n_v4, n_v6, countries;
	time_t loaded_at;
	double load_seconds;
	size_t kernel_bytes;
	char error[4400];		/* last failed load, kept for status */
};

/* One AS rule as resolved from geofw.conf and the store (policy.c). */
struct gfwd_asn_want {
	__u32 asn;
	__u8 kind;			/* GEOFW_ASN_ALLOW or GEOFW_ASN_BLOCK */
	__u8 action;			/* block: enum geofw_action */
	__u8 pad[2];
	__u64 expires;			/* UNIX seconds, 0 = never */
};

/* The ASN data in force: ASNDatabase with the AS rules of the config and
 * of the store. */
struct gfwd_asn_info {
	bool loaded;			/* an ASN table is in force */
	char path[PATH_MAX];
	size_t ases, n_v4, n_v6;	/* ASes with rules, their prefixes */
	time_t loaded_at;
	double load_seconds;
	unsigned long loads_ok, loads_failed;
	char error[1200];		/* last failed load, kept for status */
	struct gfwd_asn_want *applied;	/* the rules in the tables in force, by AS */
	size_t n_applied;
};

struct gfwd_metrics;
struct gfwd_droplog;
struct gfwd_fleet;
struct gfwd_fetcher;

struct ring_buffer;

struct gfwd {
	/* Rate limits in force, by kernel index: the config's, then fwctl's
	 * (gfwd_apply_ports); ban requests arrive on rl_rb. */
	struct geofw_ratelimit rl[GEOFW_MAX_RATELIMITS];
	int n_rl;
	bool rl_from_store[GEOFW_MAX_RATELIMITS];
	struct ring_buffer *rl_rb;
	int rl_rb_fd;
	unsigned long rl_bans;		/* ban rules added since start */
	const char *conf_path;
	const char *pin_dir;		/* GEOFW_PIN_DIR unless --pin-dir */
	char link_dir[4096];		/* pin_dir/links: one pinned XDP link per interface */
	struct geofw_conf conf;
	struct geofw_store *store;	/* the rules: StateDirectory/rules.db */
	struct geofw_loaded fw;
	struct gfwd_iface ifaces[GFWD_MAX_IFACES];
	int n_ifaces;
	struct gfwd_db_info db;
	bool detach_on_exit;
	bool debug;			/* -d: debug logging, whatever LogLevel says */
	int pin_lock;			/* flock on pin_dir: one geofwd per pin dir, -1 */
	bool responder_ok;		/* TC attached wherever XDP is */
	unsigned long reloads_ok, reloads_failed;
	unsigned long db_loads_ok, db_loads_failed;	/* any trigger, inotify too */
	time_t last_reload;
	time_t started;

	struct gfwd_metrics *metrics;	/* MetricsListen: HTTP listener (metrics.c) */
	struct gfwd_droplog *droplog;	/* DropLog: ring buffer reader (droplog.c) */
	__u32 droplog_rate_set;		/* config.events_rate geofwd stored, 0 = none */
	struct gfwd_fleet *fleet;	/* FleetServers: NATS worker (fleet.c), NULL = none */
	struct gfwd_fetcher *fetcher;	/* fetched sources and their status (fetcher.c) */

	/* event sources */
	int epfd, sigfd, ctlfd, nlfd, inofd, timerfd, db_timerfd;
	int ino_wd[GEOFW_CONF_MAX_GEOIP_DB];	/* directory of each database, -1: none */
	bool db_rewatch;			/* GeoIPDatabase changed: watch again */
	int resp_timerfd;		/* GFWD_RESP_CHECK_MS: is every TC responder still there? */
	struct nl_sock *nl;
	bool stop;

	/* ASN rules (policy.c): ASNDatabase, BlockASN, AllowASN */
	struct gfwd_asn_info asn;
	int asn_wd;			/* ASNDatabase's directory, -1: none */
	bool db_pending_geo, db_pending_asn;	/* replaced files, loaded when db_timerfd fires */
	/* Countries sources block (CrowdSec), as last laid over the policy:
	 * by id, the action, 0 = none. */
	__u8 country_blocks[GEOFW_MAX_COUNTRIES];

	/* 403 pages (policy.c): geofwd is gfw_responder[0]'s only writer and
	 * keeps its copy here; reference-code keys from StateDirectory. */
	struct geofw_responder resp;
	struct geofw_refkeys refkeys;
	time_t resp_clock_at;		/* last clock offset / key rotation check */
};

/* attach.c */
int gfwd_iface_attach(struct gfwd *d, struct gfwd_iface *ifc);
void gfwd_iface_detach(struct gfwd *d, struct gfwd_iface *ifc);
void gfwd_ifaces_sync(struct gfwd *d);
int gfwd_cleanup_pins(const char *pin_dir);
void gfwd_responder_check(struct gfwd *d);	/* every GFWD_RESP_CHECK_MS */
void gfwd_responder_rearm(struct gfwd *d);	/* reload: retry a stalled responder */
bool gfwd_iface_protected(const struct gfwd_iface *ifc);
/* An XDP link detached from outside: attached again (the responder timer). */
void gfwd_xdp_check(struct gfwd *d);
const char *gfwd_link_type_name(int link_type);

/* reload.c: geofw.conf read again and put in force (calls attach.c and
 * policy.c, which do not call each other).  0 or -errno, err says why. */
int gfwd_reload(struct gfwd *d, const char *why, char *err, size_t errlen);

/* policy.c; databases.c: GeoIP and ASN (gfwd_load_geoip through gfwd_check_asn) */
int gfwd_apply_kernel_config(struct gfwd *d);
int gfwd_apply_countries(struct gfwd *d);
/* The countries sources block changed (a change, a sweep): apply again. */
void gfwd_country_blocks_sync(struct gfwd *d);
/* The country policy in force: this host's (the store's runtime policy, or
 * geofw.conf's) combined with the fleet's (fleetval.h says how). */
struct geofw_store_countries;
void gfwd_countries_in_force(const struct gfwd *d, struct geofw_store_countries *out);
/* The 403 pages of the config in force (pages: built by gfwd_pages_build()
 * already, or NULL to build them now), ports, key and clock offset.  -errno,
 * logged. */
int gfwd_apply_responder(struct gfwd *d, const struct geofw_pages *pages);
/* Read and check every page of conf; a malloc'd set or NULL with err. */
struct geofw_pages *gfwd_pages_build(const struct gfwd *d, const struct geofw_conf *conf,
				     char *err, size_t errlen);
/* Once a minute: CLOCK_REALTIME - CLOCK_BOOTTIME for {{time}} and codes,
 * and the reference-code key rotation. */
void gfwd_responder_clock(struct gfwd *d, bool force);
int gfwd_apply_nat64(struct gfwd *d);
/* Port-scoped rules of the config and the store → the port tables (built
 * whole, switched by slot).  0 or -errno with the reason in err (may be NULL;
 * logged either way). */
int gfwd_apply_ports(struct gfwd *d, char *err, size_t errlen);
/* The same in two steps (a reload checks before it changes anything): the
 * tables of conf's rules and the store's built, nothing written (0 or
 * -errno with msg), then installed, the rate limits taken into d (the plan
 * is freed either way). */
struct gfwd_ports_plan {
	struct geofw_ports_image img;
	bool built;
	struct geofw_ratelimit rl[GEOFW_MAX_RATELIMITS];
	bool rl_from_store[GEOFW_MAX_RATELIMITS];
	int n_rl;
};
int gfwd_ports_plan(const struct gfwd *d, const struct geofw_conf *conf,
		    struct gfwd_ports_plan *p, char *msg, size_t msglen);
int gfwd_ports_commit(struct gfwd *d, struct gfwd_ports_plan *p, char *msg, size_t msglen);
void gfwd_ports_plan_free(struct gfwd_ports_plan *p);
/* Rate limit ban requests: open the ring (start), read what is waiting. */
int gfwd_rl_open(struct gfwd *d);
void gfwd_rl_read(struct gfwd *d);
void gfwd_rl_close(struct gfwd *d);
int gfwd_sync_rules(struct gfwd *d);
int gfwd_load_geoip(struct gfwd *d, const char *why);
/*
 * gfwd_load_geoip() in two steps, for a reload that checks everything before
 * it changes anything: the databases of conf read and built (nothing
 * written; on error p holds nothing), then switched in.  A commit frees the
 * plan, installed or not; a failed plan or commit is reported with
 * gfwd_geoip_failed() (status, the log; what is in force stays).
 */
struct gfwd_geo_plan {
	bool enabled;			/* false: GeoIPDatabase = none, the tables go */
	struct geofw_geo_image img;
	struct gfwd_db_info *info;
	struct timespec t0;
};
int gfwd_geoip_plan(const struct geofw_conf *conf, struct gfwd_geo_plan *p);
int gfwd_geoip_commit(struct gfwd *d, struct gfwd_geo_plan *p, const char *why);
void gfwd_geoip_plan_free(struct gfwd_geo_plan *p);
int gfwd_geoip_failed(struct gfwd *d, int err, const char *why);
/* A country policy is configured (listed countries or allow mode, from
 * the config or set with fwctl). */
bool gfwd_country_policy_wanted(const struct gfwd *d);
/* false when a country policy is configured and no country data is in
 * force; why (may be NULL) then says what the operator must fix. */
bool gfwd_country_policy_enforced(const struct gfwd *d, char *why, size_t len);
/* --check-config: the databases a country policy needs load and build
 * (no kernel).  0, or -errno with the reason in err. */
int gfwd_check_geoip(const struct gfwd *d, char *err, size_t errlen);
/* The AS rules of the config and of the store in force with ASNDatabase
 * (start, reload, a replaced database file): built beside the tables in
 * force and switched in; on error the tables in force stay.  0 or -errno
 * (logged, kept in d->asn.error). */
int gfwd_load_asn(struct gfwd *d, const char *why);
/*
 * The same in two steps: the AS rules of conf and the store, with conf's
 * ASNDatabase read and built (nothing written; 0 or -errno with err), then
 * switched in by gfwd_asn_loaded() (frees the plan; a failure is kept in
 * d->asn.error).  gfwd_asn_failed() reports a failed plan the same way.
 */
struct gfwd_asn_plan {
	struct gfwd_asn_want *want;	/* the rules, by AS */
	size_t n_want;
	bool keep;			/* rules without ASNDatabase: kept, not enforced */
	struct geofw_asn_plan tables;
	char path[PATH_MAX];
};
int gfwd_asn_plan(const struct gfwd *d, const struct geofw_conf *conf,
		  struct gfwd_asn_plan *p, char *err, size_t errlen);
int gfwd_asn_loaded(struct gfwd *d, struct gfwd_asn_plan *p, const char *why);
int gfwd_asn_failed(struct gfwd *d, int ret, const char *why, const char *err);
void gfwd_asn_plan_free(struct gfwd_asn_plan *p);
/* conf's ASNDatabase or AS rules differ from those of the config in force. */
bool gfwd_asn_conf_changed(const struct gfwd *d, const struct geofw_conf *conf);
/*
 * After a change of the store's AS rules (fwctl, the sweep; inside the
 * change's transaction): rebuild and switch the tables when the rules
 * wanted differ from those applied (always with force).  -E2BIG when more
 * than GEOFW_ASN_CLASS_MAX_ID ASes would have rules, a load or kernel
 * error otherwise: the tables in force stay, err says why (not logged).
 * Without ASNDatabase the rules are only kept: 0, and
 * gfwd_asn_rules_enforced() is false.
 */
int gfwd_asn_sync(struct gfwd *d, bool force, const char *why, char *err, size_t errlen);
/* gfwd_asn_sync() after a change already committed (the sweep, a CrowdSec
 * answer): a failure is logged, kept in d->asn.error (status: the AS rules
 * are not enforced) and retried in a minute by the sweep timer. */
void gfwd_asn_rebuild(struct gfwd *d, const char *why);
/* The ASes with a rule now (geofw.conf's, the store's rows not expired,
 * inside the caller's transaction), leaving out the rows of except_source
 * (may be NULL): sorted, each once, in *asns (free it).  0 or -errno.  For
 * a source that must stay within GEOFW_ASN_CLASS_MAX_ID ASes. */
int gfwd_asn_ruled(struct gfwd *d, const char *except_source, __u32 **asns, size_t *n);
/* false when AS rules exist (geofw.conf or the store) and the tables in
 * force do not hold them (no ASNDatabase, a failed load); why (may be
 * NULL) then says what to fix.  *wanted (may be NULL): ASes with rules. */
bool gfwd_asn_rules_enforced(const struct gfwd *d, size_t *wanted, char *why, size_t len);
/* ASes with rules now (geofw.conf and the store, rows of the open
 * transaction included, expired ones not): what gfwd_asn_sync() checks
 * against GEOFW_ASN_CLASS_MAX_ID.  0 or -errno. */
int gfwd_asn_wanted_count(const struct gfwd *d, size_t *n);
/* ASes blocked and allowed in the tables in force. */
void gfwd_asn_counts(const struct gfwd *d, size_t *blocked, size_t *allowed);
/* --check-config: AS rules need ASNDatabase, which must load.  0, or
 * -errno with the reason in err. */
int gfwd_check_asn(const struct gfwd *d, char *err, size_t errlen);
void gfwd_arm_sweep(struct gfwd *d);
void gfwd_sweep(struct gfwd *d);
/* A change's kernel diff; after a failure and a rollback, put the maps
 * back as the rows say (logs when even that fails). */
int gfwd_rules_apply(struct gfwd *d, const struct geofw_kdiff *diff, char *err, size_t errlen);
void gfwd_rules_restore(struct gfwd *d, struct geofw_kdiff *diff);
/* A source's change in its own transaction (fleet, feeds, crowdsec): err 0 applies
 * diff to the kernel and commits; on any error both are undone.  Returns
 * the error, msg saying why. */
int gfwd_commit_or_undo(struct gfwd *d, struct geofw_kdiff *diff, int err, char *msg,
			size_t len);

/* ref.c: fwctl ref CODE, as text or one JSON line (*out malloc'd); -errno
 * with err when the code does not verify. */
int gfwd_ref_explain(struct gfwd *d, const char *code, bool json, char **out,
		     char *err, size_t errlen);

/* control.c */
/* The listening socket is readable: accept every client waiting and read
 * their requests (or wait for them in the loop). */
void gfwd_control_ready(struct gfwd *d);
/* After each loop round: run the requests that are complete, their changes
 * in one transaction (group commit), then answer them. */
void gfwd_control_flush(struct gfwd *d);
bool gfwd_control_event(struct gfwd *d, int fd);	/* false: not ours */
void gfwd_control_close(struct gfwd *d);		/* answers and pending imports */

/* metrics.c: GET /metrics on MetricsListen, non-blocking, in the epoll loop */
void gfwd_metrics_sync(struct gfwd *d);		/* (re)open or close per d->conf */
bool gfwd_metrics_event(struct gfwd *d, int fd, __u32 events); /* false: not ours */
void gfwd_metrics_close(struct gfwd *d);

/* droplog.c: DropLog = on writes the drop-log samples to the log */
__u32 gfwd_droplog_rate(const struct gfwd *d);	/* config.events_rate geofwd wants */
void gfwd_droplog_sync(struct gfwd *d);		/* start or stop reading per d->conf */
void gfwd_droplog_rate_sync(struct gfwd *d);	/* take or give back config.events_rate */
bool gfwd_droplog_event(struct gfwd *d, int fd);	/* false: not ours */
unsigned long gfwd_droplog_samples(const struct gfwd *d);	/* samples read */
void gfwd_droplog_close(struct gfwd *d);

/* crowdsec.c: CrowdSecURL set: the bouncer's job (fetcher.h) pulls LAPI */
int gfwd_crowdsec_start(struct gfwd *d);	/* after the event loop is set up */
void gfwd_crowdsec_stop(struct gfwd *d);
/* After a reload: started again (key file read again, whole set pulled),
 * or, when CrowdSecURL was removed, stopped with its rules removed. */
void gfwd_crowdsec_reload(struct gfwd *d);
/* Rows of source were removed by hand (fwctl del-source, del-block,
 * unblock-asn): when it is "crowdsec", the next pull asks for the whole set,
 * which brings back what LAPI still holds. */
void gfwd_crowdsec_rows_removed(struct gfwd *d, const char *source);

/* netwatch.c */
int gfwd_netwatch_open(struct gfwd *d);
void gfwd_netwatch_event(struct gfwd *d);
void gfwd_netwatch_close(struct gfwd *d);

#endif
