/* SPDX-License-Identifier: GPL-2.0-only */
/* geofwd internals: one daemon state, shared by its files. */
#ifndef GEOFWD_H
#define GEOFWD_H

#include <net/if.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "geoip.h"
#include "loader.h"
#include "store.h"

#define GFWD_MAX_IFACES		32
#define GFWD_TC_HANDLE		0x67f		/* "gf": our filter, found again on start */
#define GFWD_TC_PRIO		0x67

struct gfwd_iface {
	char name[IF_NAMESIZE];
	int ifindex;			/* 0 while the interface does not exist */
	int xdp_link;			/* pinned bpf_link fd, -1 when not attached */
	int xdp_mode;			/* GEOFW_XDP_NATIVE / GEOFW_XDP_GENERIC in force */
	bool tc;			/* TC responder filter attached */
	char error[192];		/* why the last attach failed, for status */
};

struct gfwd_db_info {
	bool loaded;
	char path[4096];
	__u64 build_epoch;
	char database_type[64];
	size_t n_v4, n_v6, countries;
	time_t loaded_at;
	double load_seconds;
	size_t kernel_bytes;
	char error[4400];		/* last failed load, kept for status */
};

struct gfwd_metrics;
struct gfwd_droplog;

struct gfwd {
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
	bool responder_ok;		/* TC attached wherever XDP is */
	unsigned long reloads_ok, reloads_failed;
	unsigned long db_loads_ok, db_loads_failed;	/* any trigger, inotify too */
	time_t last_reload;
	time_t started;

	struct gfwd_metrics *metrics;	/* MetricsListen: HTTP listener (metrics.c) */
	struct gfwd_droplog *droplog;	/* DropLog: ring buffer reader (droplog.c) */

	/* event sources */
	int epfd, sigfd, ctlfd, nlfd, inofd, timerfd, db_timerfd;
	int ino_wd;
	struct nl_sock *nl;
	bool stop;
};

/* attach.c */
int gfwd_iface_attach(struct gfwd *d, struct gfwd_iface *ifc);
void gfwd_iface_detach(struct gfwd *d, struct gfwd_iface *ifc);
void gfwd_ifaces_sync(struct gfwd *d);
int gfwd_cleanup_pins(const char *pin_dir);

/* policy.c */
int gfwd_apply_kernel_config(struct gfwd *d);
int gfwd_apply_countries(struct gfwd *d);
int gfwd_apply_responder(struct gfwd *d);
int gfwd_sync_rules(struct gfwd *d);
int gfwd_load_geoip(struct gfwd *d, const char *why);
void gfwd_arm_sweep(struct gfwd *d);
void gfwd_sweep(struct gfwd *d);
int gfwd_reload(struct gfwd *d, const char *why, char *err, size_t errlen);
/* A change's kernel diff; after a failure and a rollback, put the maps
 * back as the rows say (logs when even that fails). */
int gfwd_rules_apply(struct gfwd *d, const struct geofw_kdiff *diff, char *err, size_t errlen);
void gfwd_rules_restore(struct gfwd *d, struct geofw_kdiff *diff);

/* control.c */
/* The listening socket is readable: serve every client waiting, their
 * changes in one transaction (group commit). */
void gfwd_control_ready(struct gfwd *d);

/* metrics.c: GET /metrics on MetricsListen, non-blocking, in the epoll loop */
void gfwd_metrics_sync(struct gfwd *d);		/* (re)open or close per d->conf */
bool gfwd_metrics_event(struct gfwd *d, int fd, __u32 events); /* false: not ours */
void gfwd_metrics_close(struct gfwd *d);

/* droplog.c: DropLog = on writes the drop-log samples to the log */
__u32 gfwd_droplog_rate(const struct gfwd *d);	/* config.events_rate geofwd wants */
void gfwd_droplog_sync(struct gfwd *d);		/* start or stop reading per d->conf */
bool gfwd_droplog_event(struct gfwd *d, int fd);	/* false: not ours */
unsigned long gfwd_droplog_samples(const struct gfwd *d);	/* samples read */
void gfwd_droplog_close(struct gfwd *d);

/* netwatch.c */
int gfwd_netwatch_open(struct gfwd *d);
void gfwd_netwatch_event(struct gfwd *d);
void gfwd_netwatch_close(struct gfwd *d);

#endif
