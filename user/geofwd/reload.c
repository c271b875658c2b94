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

int gfwd_reload(struct gfwd *d, const char *why, char *errbuf, size_t errlen)
{
	struct geofw_conf *conf = malloc(sizeof(*conf));
	struct geofw_pages *pages;
	bool db_changed, fleet_changed;
	int err, i, j;

	if (!conf)
		return -ENOMEM;
	err = geofw_conf_load(d->conf_path, conf, errbuf, errlen);
	if (err) {
		log_err(err, "reload (%s): %s; the configuration in force stays", why, errbuf);
		d->reloads_failed++;
		free(conf);
		return err;
	}
	/* Every page is read and checked before anything changes. */
	pages = gfwd_pages_build(d, conf, errbuf, errlen);
	if (!pages) {
		log_err(-EINVAL, "reload (%s): %s; the configuration in force stays", why, errbuf);
		d->reloads_failed++;
		free(conf);
		return -EINVAL;
	}
	if (strcmp(conf->state_dir, d->conf.state_dir) || strcmp(conf->socket_path, d->conf.socket_path))
		log_warn("reload: StateDirectory and Socket changes take effect on restart");
	db_changed = strcmp(conf->asn_db, d->conf.asn_db) ||
		     memcmp(conf->geoip_db, d->conf.geoip_db, sizeof(conf->geoip_db)) ||
		     conf->geoip_enabled != d->conf.geoip_enabled ||
		     conf->n_geoip_field != d->conf.n_geoip_field ||
		     memcmp(conf->geoip_field, d->conf.geoip_field, sizeof(conf->geoip_field));

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
				/* Attached again below in the new mode (attach
				 * replaces the link only once the new one is on). */
				close(d->ifaces[i].xdp_link);
				d->ifaces[i].xdp_link = -1;
			}

	fleet_changed = gfwd_fleet_conf_changed(conf, &d->conf);
	if (fleet_changed)
		gfwd_fleet_stop(d);
	d->conf = *conf;
	free(conf);
	if (fleet_changed) {
		log_info("reload: Fleet settings changed: fleet restarted");
		gfwd_fleet_start(d);
	}
	gfwd_crowdsec_reload(d);
	gfwd_feeds_sync(d);
	d->db_rewatch |= db_changed;
	geofw_log_set_level(d->conf.log_level);
	gfwd_apply_kernel_config(d);
	gfwd_apply_countries(d);
	gfwd_apply_responder(d, pages);
	free(pages);
	gfwd_apply_nat64(d);
	gfwd_apply_ports(d, NULL, 0);
	gfwd_ifaces_sync(d);
	gfwd_responder_rearm(d);
	/* The database is read again on every reload: geoipupdate may have
	 * replaced it, and a failed load keeps the tables in force. */
	err = gfwd_load_geoip(d, db_changed ? "database path changed" : why);
	if (err)
		snprintf(errbuf, errlen, "%s", d->db.error);
	/* The ASN database too, and the AS rules of the new config. */
	{
		int aerr = gfwd_load_asn(d, why);

		if (aerr && !err)
			snprintf(errbuf, errlen, "%s", d->asn.error);
		if (!err)
			err = aerr;
	}
	err ? d->reloads_failed++ : d->reloads_ok++;
	if (!err)
		d->last_reload = time(NULL);
	return err;
}
