// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reload: geofw.conf read again and put in force.  Above attach.c (the
 * interfaces) and policy.c (the maps), which do not call each other: a
 * reload detaches what is no longer configured, then lets policy.c make the
 * maps say the new config and attach.c attach what is new.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "feeds.h"
#include "geofwd.h"
#include "log.h"
#include "msg.h"

/* What a reload puts in force, read and checked before anything changes. */
struct reload_plan {
	struct geofw_conf conf;
	struct geofw_pages *pages;
	struct gfwd_ports_plan ports;
	struct gfwd_geo_plan geo;
	struct gfwd_asn_plan asn;
	/* A database the reload does not change that could not be read
	 * again: the rest applies, its tables in force stay (the answer says
	 * so).  One the reload changes must load, or nothing applies. */
	bool geo_kept, asn_kept;
};

/* GeoIPDatabase, GeoIPField or their use changed. */
static bool geo_conf_changed(const struct geofw_conf *a, const struct geofw_conf *b)
{
	return memcmp(a->geoip_db, b->geoip_db, sizeof(a->geoip_db)) ||
	       a->geoip_enabled != b->geoip_enabled || a->n_geoip_field != b->n_geoip_field ||
	       memcmp(a->geoip_field, b->geoip_field, sizeof(a->geoip_field));
}

/*
 * The new config, its pages, port tables, GeoIP and ASN tables: all read and
 * built, nothing written.  0, or -errno with the reason in errbuf.
 */
static int reload_prepare(struct gfwd *d, struct reload_plan *p, const char *why,
			  char *errbuf, size_t errlen)
{
	int err;

	if ((err = geofw_conf_load(d->conf_path, &p->conf, errbuf, errlen)))
		return err;
	/* Every page is read and checked, */
	if (!(p->pages = gfwd_pages_build(d, &p->conf, errbuf, errlen)))
		return -EINVAL;
	/* the port tables and rate limits built with the store's, */
	if ((err = gfwd_ports_plan(d, &p->conf, &p->ports, errbuf, errlen)))
		return err;
	/* the databases read again (geoipupdate may have replaced them), */
	if ((err = gfwd_geoip_plan(&p->conf, &p->geo))) {
		gfwd_geoip_failed(d, err, why);
		if (geo_conf_changed(&p->conf, &d->conf)) {
			snprintf(errbuf, errlen, "%s", d->db.error);
			return err;
		}
		p->geo_kept = true;
	}
	/* and the AS tables of the new config and the store. */
	{
		char aerr[sizeof(d->asn.error) - 64];

		if ((err = gfwd_asn_plan(d, &p->conf, &p->asn, aerr, sizeof(aerr)))) {
			gfwd_asn_failed(d, err, why, aerr);
			if (gfwd_asn_conf_changed(d, &p->conf)) {
				snprintf(errbuf, errlen, "%s", d->asn.error);
				return err;
			}
			p->asn_kept = true;
		}
	}
	return 0;
}

static void reload_plan_free(struct reload_plan *p)
{
	free(p->pages);
	gfwd_ports_plan_free(&p->ports);
	gfwd_geoip_plan_free(&p->geo);
	gfwd_asn_plan_free(&p->asn);
	free(p);
}

/*
 * All or nothing: everything the new config needs is read and built first
 * (reload_prepare); any error there refuses the reload and nothing in force
 * changes.  Only then are the interfaces, maps and tables switched over.
 */
int gfwd_reload(struct gfwd *d, const char *why, char *errbuf, size_t errlen)
{
	struct reload_plan *p = calloc(1, sizeof(*p));
	struct geofw_conf *conf;
	bool db_changed, fleet_changed;
	char msg[GEOFW_ERRLEN];
	int err, ret, i, j;

	if (!p)
		return -ENOMEM;
	err = reload_prepare(d, p, why, errbuf, errlen);
	if (err) {
		log_err(err, "reload (%s): %s; nothing changed, the configuration in force stays",
			why, errbuf);
		d->reloads_failed++;
		reload_plan_free(p);
		return err;
	}
	conf = &p->conf;
	if (strcmp(conf->state_dir, d->conf.state_dir) || strcmp(conf->socket_path, d->conf.socket_path) ||
	    strcmp(conf->socket_group, d->conf.socket_group))
		log_warn("reload: StateDirectory, Socket and SocketGroup changes take effect on restart");
	db_changed = strcmp(conf->asn_db, d->conf.asn_db) || geo_conf_changed(conf, &d->conf);

	/* Interfaces no longer configured lose the programs. */
	for (i = 0; i < d->n_ifaces; i++) {
		bool kept = false;

		for (j = 0; j < conf->n_ifaces; j++)
			kept |= !strcmp(conf->ifaces[j], d->ifaces[i].name);
		if (!kept) {
			log_info("%s: no longer configured, detaching", d->ifaces[i].name);
			gfwd_iface_detach(d, &d->ifaces[i]);
			d->ifaces[i] = d->ifaces[--d->n_ifaces];
			i--;
		}
	}
	for (j = 0; j < conf->n_ifaces && d->n_ifaces < GFWD_MAX_IFACES; j++) {
		bool have = false;

		for (i = 0; i < d->n_ifaces; i++)
			have |= !strcmp(conf->ifaces[j], d->ifaces[i].name);
		if (!have) {
			struct gfwd_iface *ifc = &d->ifaces[d->n_ifaces++];

			memset(ifc, 0, sizeof(*ifc));
			snprintf(ifc->name, sizeof(ifc->name), "%s", conf->ifaces[j]);
			ifc->xdp_link = -1;
		}
	}
	if (conf->xdp_mode != d->conf.xdp_mode)
		for (i = 0; i < d->n_ifaces; i++)
			if (d->ifaces[i].xdp_link >= 0) {
				/* Attached again below in the new mode (the
				 * pinned link keeps enforcing until then). */
				close(d->ifaces[i].xdp_link);
				d->ifaces[i].xdp_link = -1;
				d->ifaces[i].mode_changed = true;
			}

	fleet_changed = gfwd_fleet_conf_changed(conf, &d->conf);
	if (fleet_changed)
		gfwd_fleet_stop(d);
	d->conf = *conf;
	if (fleet_changed) {
		log_info("reload: Fleet settings changed: fleet restarted");
		gfwd_fleet_start(d);
	}
	gfwd_crowdsec_reload(d);
	gfwd_feeds_sync(d);
	d->db_rewatch |= db_changed;
	geofw_log_set_level(d->debug ? GEOFW_LOG_DEBUG : d->conf.log_level);
	gfwd_apply_kernel_config(d);
	gfwd_apply_countries(d);
	gfwd_apply_responder(d, p->pages);
	gfwd_apply_nat64(d);
	/* A kernel error from here on keeps that part's tables in force; the
	 * first one is the reload's answer. */
	err = gfwd_ports_commit(d, &p->ports, msg, sizeof(msg));
	if (err) {
		log_err(err, "reload (%s): %s", why, msg);
		snprintf(errbuf, errlen, "%s", msg);
	}
	gfwd_ifaces_sync(d);
	gfwd_responder_rearm(d);
	/* An interface the reload left unprotected, with its old program or in
	 * its old mode is the reload's answer too (status says the same). */
	for (i = 0; i < d->n_ifaces && !err; i++) {
		const struct gfwd_iface *ifc = &d->ifaces[i];

		if (ifc->ifindex && (ifc->xdp_link < 0 || ifc->program_refused || ifc->mode_refused))
			err = geofw_errf(errbuf, errlen, -EIO, "interface %s: %s", ifc->name,
					 ifc->error[0] ? ifc->error : "NOT protected");
	}
	ret = p->geo_kept ? 0 : gfwd_geoip_commit(d, &p->geo, db_changed ? "database path changed" :
									    why);
	if (ret && !err)
		err = geofw_errf(errbuf, errlen, ret, "%s", d->db.error);
	ret = p->asn_kept ? 0 : gfwd_asn_loaded(d, &p->asn, why);
	if (ret && !err)
		err = geofw_errf(errbuf, errlen, ret, "%s", d->asn.error);
	err ? d->reloads_failed++ : d->reloads_ok++;
	if (!err)
		d->last_reload = time(NULL);
	if (!err && (p->geo_kept || p->asn_kept)) {
		/* Done, but the operator must hear that a file is bad (its
		 * error, kept for status, is the one reload_prepare met). */
		log_warn("reload (%s): configuration applied; a database it does not change could "
			 "not be read again, its tables in force stay", why);
		err = geofw_errf(errbuf, errlen, -EIO, "configuration applied, but %s",
				 p->geo_kept ? d->db.error : d->asn.error);
	}
	reload_plan_free(p);
	return err;
}
