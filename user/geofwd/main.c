// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofwd: owns the configuration and the rules, keeps the XDP and TC
 * programs on the configured interfaces, reloads GeoIP data atomically and
 * answers fwctl.  Single-threaded around one epoll loop.
 */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "feeds.h"
#include "fetcher.h"
#include "fleet.h"
#include "geofwd.h"
#include "log.h"

static const char usage[] =
"Usage: geofwd [OPTIONS]\n"
"\n"
"The geofw daemon: attaches the XDP firewall and its TC responder to the\n"
"interfaces of the configuration, loads GeoIP data into the kernel, keeps the\n"
"rules added with fwctl(8) and answers fwctl over a unix socket.\n"
"Enforcement lives in pinned BPF objects (" GEOFW_PIN_DIR ") and continues\n"
"while geofwd is stopped or restarting.\n"
"\n"
"Options:\n"
"  -c, --config FILE     configuration file (default " GEOFW_CONF_PATH ")\n"
"  -p, --pin-dir DIR     where maps and links are pinned (default " GEOFW_PIN_DIR ");\n"
"                        fwctl needs the same --pin-dir\n"
"  -t, --check-config    validate the configuration and exit\n"
"  -d, --debug           log at debug level (overrides LogLevel)\n"
"      --detach-on-exit  remove the programs and pins when stopping\n"
"      --cleanup         remove every geofw program, link, filter and pin, then exit\n"
"  -V, --version         print the version and exit\n"
"  -h, --help            print this help and exit\n"
"\n"
"Signals: SIGHUP reloads the configuration and the GeoIP database (as does\n"
"`fwctl reload` or replacing the database file); SIGTERM and SIGINT stop.\n"
"\n"
"Exit status: 0 on a clean stop, 1 on a configuration, state or load error,\n"
"2 on a usage error.\n"
"\n"
"See geofwd(8), geofw.conf(5), fwctl(8).\n";

/* systemd readiness: a datagram to $NOTIFY_SOCKET ('@' = abstract). */
static void sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	strcpy(sa.sun_path, path);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		log_debug("sd_notify: %s", strerror(errno));
	close(fd);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, mode) && errno != EEXIST ? -errno : 0;
}

static int ep_add(struct gfwd *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

_Static_assert(GEOFW_CONF_MAX_GEOIP_DB == 4, "gfwd.ino_wd initializer in main()");

/* ASNDatabase's directory, beside the GeoIP ones (watch_db). */
static void watch_asn_db(struct gfwd *d)
{
	char dir[PATH_MAX];
	int i;
	bool shared = false;

	for (i = 0; i < GEOFW_CONF_MAX_GEOIP_DB; i++)
		shared |= d->asn_wd >= 0 && d->ino_wd[i] == d->asn_wd;
	if (d->asn_wd >= 0 && !shared)
		inotify_rm_watch(d->inofd, d->asn_wd);
	d->asn_wd = -1;
	if (!d->conf.asn_db[0])
		return;
	snprintf(dir, sizeof(dir), "%s", d->conf.asn_db);
	d->asn_wd = inotify_add_watch(d->inofd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	if (d->asn_wd < 0)
		log_warn("asn: cannot watch %s for updates: %s (SIGHUP or fwctl reload still work)",
			 dir, strerror(errno));
}

/* Watch each database's directory: geoipupdate renames a new file into
 * place.  Two files in one directory share a watch (the same wd). */
static void watch_db(struct gfwd *d)
{
	char dir[PATH_MAX];
	int i, j;

	for (i = 0; i < GEOFW_CONF_MAX_GEOIP_DB; i++) {
		bool removed = false;

		for (j = 0; j < i; j++)
			removed |= d->ino_wd[j] == d->ino_wd[i];
		if (d->ino_wd[i] >= 0 && !removed)
			inotify_rm_watch(d->inofd, d->ino_wd[i]);
	}
	for (i = 0; i < GEOFW_CONF_MAX_GEOIP_DB; i++)
		d->ino_wd[i] = -1;
	watch_asn_db(d);
	if (!d->conf.geoip_enabled)
		return;
	for (i = 0; i < d->conf.n_geoip_db; i++) {
		snprintf(dir, sizeof(dir), "%s", d->conf.geoip_db[i]);
		d->ino_wd[i] = inotify_add_watch(d->inofd, dirname(dir),
						 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
		if (d->ino_wd[i] < 0)
			log_warn("geoip: cannot watch %s for updates: %s (SIGHUP or fwctl reload "
				 "still work)", dir, strerror(errno));
	}
}

/* A database replaced: all of them are read again (the merge needs each). */
static void on_inotify(struct gfwd *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX];
	ssize_t n;
	bool hit = false;
	int i;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		char *p;

		for (p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			for (i = 0; ev->len && i < d->conf.n_geoip_db; i++) {
				snprintf(path, sizeof(path), "%s", d->conf.geoip_db[i]);
				if (ev->wd == d->ino_wd[i] && !strcmp(ev->name, basename(path)))
					hit = d->db_pending_geo = true;
			}
			snprintf(path, sizeof(path), "%s", d->conf.asn_db);
			if (ev->len && d->asn_wd >= 0 && ev->wd == d->asn_wd &&
			    !strcmp(ev->name, basename(path)))
				hit = d->db_pending_asn = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (hit) {
		/* Settle first: a copy in progress fires several events. */
		struct itimerspec its = { .it_value.tv_nsec = 300 * 1000000L };

		timerfd_settime(d->db_timerfd, 0, &its, NULL);
	}
}

static void on_signal(struct gfwd *d)
{
	struct signalfd_siginfo si;
	char err[GEOFW_ERRLEN];

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading");
			sd_notify("RELOADING=1");
			gfwd_reload(d, "SIGHUP", err, sizeof(err));
			watch_db(d);
			sd_notify("READY=1");
		} else {
			log_info("%s: stopping", strsignal((int)si.ssi_signo));
			d->stop = true;
		}
	}
}

static void on_control(struct gfwd *d)
{
	gfwd_control_ready(d);
}

static void drain_timer(int fd)
{
	__u64 n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("timer: %s", strerror(errno));
}

static int open_control(struct gfwd *d)
{
	struct group *gr = getgrnam(d->conf.socket_group);
	char dir[PATH_MAX], err[GEOFW_ERRLEN];

	if (!gr)
		log_warn("control: group %s does not exist; only root can use fwctl",
			 d->conf.socket_group);
	snprintf(dir, sizeof(dir), "%s", d->conf.socket_path);
	mkdir_p(dirname(dir), 0755);
	d->ctlfd = geofw_ctl_listen(d->conf.socket_path, gr ? gr->gr_gid : (gid_t)-1, 0660,
				    err, sizeof(err));
	if (d->ctlfd < 0)
		return log_err(d->ctlfd, "control: %s", err);
	return 0;
}

static int setup_events(struct gfwd *d)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	d->db_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->sigfd < 0 || d->epfd < 0 || d->timerfd < 0 || d->db_timerfd < 0 || d->inofd < 0)
		return log_err(-errno, "cannot set up the event loop: %s", strerror(errno));
	ep_add(d, d->sigfd);
	ep_add(d, d->ctlfd);
	ep_add(d, d->timerfd);
	ep_add(d, d->db_timerfd);
	ep_add(d, d->inofd);
	/* The TC responder watch (attach.c): a deleted filter is back within
	 * one period; XDP itself fails closed after 250 ms. */
	d->resp_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->resp_timerfd >= 0) {
		struct itimerspec its = {
			.it_interval = { 0, GFWD_RESP_CHECK_MS * 1000000L },
			.it_value = { 0, GFWD_RESP_CHECK_MS * 1000000L },
		};

		timerfd_settime(d->resp_timerfd, 0, &its, NULL);
		ep_add(d, d->resp_timerfd);
	} else {
		log_warn("cannot watch the TC responder: %s (XDP still drops without it)",
			 strerror(errno));
	}
	if (d->nl)
		ep_add(d, d->nlfd);
	watch_db(d);
	if (!gfwd_rl_open(d))
		ep_add(d, d->rl_rb_fd);
	return 0;
}

static void loop(struct gfwd *d)
{
	while (!d->stop) {
		struct epoll_event ev[64];
		int n = epoll_wait(d->epfd, ev, 64, -1), i;

		if (n < 0 && errno != EINTR) {
			log_err(-errno, "epoll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == d->rl_rb_fd) {
				gfwd_rl_read(d);
				continue;
			}
			if (fd == d->sigfd) {
				on_signal(d);
			} else if (fd == d->ctlfd) {
				on_control(d);
			} else if (fd == d->nlfd) {
				gfwd_netwatch_event(d);
			} else if (fd == d->timerfd) {
				drain_timer(fd);
				gfwd_sweep(d);
			} else if (fd == d->inofd) {
				on_inotify(d);
			} else if (fd == d->resp_timerfd) {
				drain_timer(fd);
				gfwd_xdp_check(d);
				gfwd_responder_check(d);
				gfwd_responder_clock(d, false);
			} else if (fd == d->db_timerfd) {
				drain_timer(fd);
				if (d->db_pending_geo)
					gfwd_load_geoip(d, "database file replaced");
				if (d->db_pending_asn)
					gfwd_load_asn(d, "ASN database file replaced");
				d->db_pending_geo = d->db_pending_asn = false;
			} else if (gfwd_fleet_event(d, fd)) {
				/* bucket entries, connection state */
			} else if (gfwd_fetch_event(d, fd)) {
				/* a source's fetch is done: applied here */
			} else if (gfwd_control_event(d, fd)) {
				/* an import's descriptor, deadline or client */
			} else if (!gfwd_droplog_event(d, fd)) {
				gfwd_metrics_event(d, fd, ev[i].events);
			}
		}
		/* The requests of this round, their changes in one COMMIT. */
		gfwd_control_flush(d);
		/* ... and the fleet-scope ones go to the bucket. */
		gfwd_fleet_flush(d);
		/* A reload (SIGHUP or fwctl) may have changed MetricsListen or
		 * DropLog; both calls are cheap when nothing changed. */
		gfwd_metrics_sync(d);
		gfwd_droplog_sync(d);
		/* ... or GeoIPDatabase: watch the new files' directories. */
		if (d->db_rewatch) {
			watch_db(d);
			d->db_rewatch = false;
		}
	}
}

/*
 * One geofwd per pin directory: a second one (a unit started twice, a
 * manual run beside the service) would replace the programs and rewrite the
 * maps the first enforces before it noticed anything.  An flock on the
 * directory (bpffs has them), held for the process's life.
 */
static int lock_pin_dir(struct gfwd *d)
{
	int fd = open(d->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	if (fd < 0)
		return log_err(-errno, "cannot open %s: %s", d->pin_dir, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		close(fd);
		if (err == -EWOULDBLOCK)
			return log_err(-EBUSY, "another geofwd is running with the pins in %s; "
				       "nothing was changed", d->pin_dir);
		return log_err(err, "cannot lock %s: %s", d->pin_dir, strerror(-err));
	}
	d->pin_lock = fd;
	return 0;
}

/*
 * Start: what can be refused (another geofwd, the control socket, the
 * store, the 403 pages, the port tables) is checked before anything in
 * force changes, so a start that fails leaves the pinned programs and maps
 * enforcing what they did.
 */
static int start(struct gfwd *d)
{
	char err[GEOFW_CONF_ERRLEN];
	struct geofw_pages *pages = NULL;
	struct gfwd_ports_plan *ports = NULL;
	int i, ret;

	if ((ret = geofw_bpffs_ensure()))
		return ret;
	snprintf(d->link_dir, sizeof(d->link_dir), "%.4000s/links", d->pin_dir);
	if ((ret = mkdir_p(d->link_dir, 0700)))
		return log_err(ret, "cannot create %s: %s", d->link_dir, strerror(-ret));
	if ((ret = lock_pin_dir(d)) || (ret = open_control(d)))
		return ret;
	if ((ret = mkdir_p(d->conf.state_dir, 0750)))
		return log_err(ret, "cannot create %s: %s", d->conf.state_dir, strerror(-ret));
	if ((ret = geofw_store_open(d->conf.state_dir, &d->store, err, sizeof(err))))
		return log_err(ret, "rules: %s", err);
	if (geofw_store_read_only(d->store))
		log_warn("rules: %s is on a read-only file system: the rules in it are enforced, "
			 "every change is refused until it is writable and geofwd restarted",
			 geofw_store_path(d->store));
	if (!(pages = gfwd_pages_build(d, &d->conf, err, sizeof(err))))
		return log_err(-EINVAL, "403 page: %s; nothing was changed", err);
	if (!(ports = malloc(sizeof(*ports)))) {
		ret = log_err(-ENOMEM, "out of memory");
		goto out;
	}
	if ((ret = gfwd_ports_plan(d, &d->conf, ports, err, sizeof(err)))) {
		log_err(ret, "%s; nothing was changed", err);
		goto out;
	}

	ret = geofw_load(d->pin_dir, &d->fw);
	if (ret == -EPROTO || ret == -EINVAL) {
		/* Pins of another layout or ABI: fresh maps beside them; the
		 * programs switch over through the pinned links below. */
		log_warn("pins in %s are incompatible with this geofwd; replacing them",
			 d->pin_dir);
		ret = geofw_load_replace(d->pin_dir, &d->fw);
	}
	if (ret) {
		log_err(ret, "cannot load the BPF programs with the pins in %s", d->pin_dir);
		goto out;
	}

	/* Policy before programs: a fresh attach enforces from packet one. */
	if ((ret = gfwd_apply_kernel_config(d)) || (ret = gfwd_apply_countries(d)) ||
	    (ret = gfwd_sync_rules(d)))
		goto out;
	if ((ret = gfwd_ports_commit(d, ports, err, sizeof(err)))) {
		log_err(ret, "%s", err);
		goto out;
	}
	if ((ret = gfwd_apply_responder(d, pages)))
		goto out;
	gfwd_apply_nat64(d);
	gfwd_load_geoip(d, "start");
	gfwd_load_asn(d, "start");

	for (i = 0; i < d->conf.n_ifaces; i++) {
		struct gfwd_iface *ifc = &d->ifaces[d->n_ifaces++];

		memcpy(ifc->name, d->conf.ifaces[i], sizeof(ifc->name));
		ifc->name[sizeof(ifc->name) - 1] = '\0';
		ifc->xdp_link = -1;
	}
	if (!d->n_ifaces)
		log_warn("no Interfaces in %s: nothing is protected", d->conf_path);
	gfwd_netwatch_open(d);
	gfwd_ifaces_sync(d);
	if ((ret = setup_events(d)))
		goto out;
	gfwd_arm_sweep(d);
	/* Observability never stops the firewall: failures are logged only. */
	gfwd_metrics_sync(d);
	gfwd_droplog_sync(d);
out:
	if (ports)
		gfwd_ports_plan_free(ports);
	free(ports);
	free(pages);
	return ret;
}

static void stop(struct gfwd *d)
{
	int i;

	/* Only the geofwd that holds the pin dir may take its programs away
	 * (a second one refused at start must not). */
	if (d->detach_on_exit && d->pin_lock >= 0) {
		for (i = 0; i < d->n_ifaces; i++)
			gfwd_iface_detach(d, &d->ifaces[i]);
		gfwd_cleanup_pins(d->pin_dir);
		log_info("programs detached and pins removed (--detach-on-exit)");
	} else {
		log_info("stopped; enforcement stays in place");
	}
	gfwd_control_close(d);
	gfwd_metrics_close(d);
	gfwd_droplog_close(d);
	for (i = 0; i < d->n_ifaces; i++)
		if (d->ifaces[i].xdp_link >= 0)
			close(d->ifaces[i].xdp_link);
	if (d->ctlfd >= 0) {
		close(d->ctlfd);
		unlink(d->conf.socket_path);
	}
	gfwd_netwatch_close(d);
	gfwd_rl_close(d);
	geofw_unload(&d->fw);
	geofw_store_close(d->store);
}

static void cleanup_iface(struct gfwd *d, const char *name)
{
	struct gfwd_iface ifc = { .xdp_link = -1, .tc = true };

	snprintf(ifc.name, sizeof(ifc.name), "%s", name);
	ifc.ifindex = (int)if_nametoindex(ifc.name);
	if (ifc.ifindex)
		gfwd_iface_detach(d, &ifc);
}

/*
 * --cleanup: the configured interfaces, and every interface with an XDP
 * link pinned in pin_dir/links (xdp-IFNAME: the interfaces this pin dir's
 * geofwd attached to, known without any config file), lose the programs
 * and the TC filter.
 */
static int cleanup(struct gfwd *d)
{
	struct dirent *de;
	DIR *dir;
	int i, err;

	snprintf(d->link_dir, sizeof(d->link_dir), "%.4000s/links", d->pin_dir);
	for (i = 0; i < d->conf.n_ifaces; i++)
		cleanup_iface(d, d->conf.ifaces[i]);
	dir = opendir(d->link_dir);
	while (dir && (de = readdir(dir)))
		if (!strncmp(de->d_name, "xdp-", 4) && de->d_name[4])
			cleanup_iface(d, de->d_name + 4);
	if (dir)
		closedir(dir);
	err = gfwd_cleanup_pins(d->pin_dir);
	if (err)
		return log_err(err, "cleanup: cannot remove %s", d->pin_dir);
	log_info("cleanup: programs detached, %s removed", d->pin_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "check-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "detach-on-exit", no_argument, NULL, 'D' },
		{ "cleanup", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static struct gfwd d = { .conf_path = GEOFW_CONF_PATH, .pin_dir = GEOFW_PIN_DIR,
				 .ctlfd = -1, .nlfd = -1,
				 .ino_wd = { -1, -1, -1, -1 }, .asn_wd = -1, .epfd = -1, .sigfd = -1, .timerfd = -1,
				 .inofd = -1, .db_timerfd = -1, .resp_timerfd = -1, .rl_rb_fd = -1,
				 .pin_lock = -1 };
	bool check = false, debug = false, do_cleanup = false;
	char err[GEOFW_CONF_ERRLEN];
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:p:tdVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.conf_path = optarg; break;
		case 'p': d.pin_dir = optarg; break;
		case 't': check = true; break;
		case 'd': debug = true; break;
		case 'D': d.detach_on_exit = true; break;
		case 'C': do_cleanup = true; break;
		case 'V': printf("geofwd %s\n", GEOFW_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "geofwd: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}

	geofw_log_route_libbpf();
	ret = geofw_conf_load(d.conf_path, &d.conf, err, sizeof(err));
	if (ret == -ENOENT && !strcmp(d.conf_path, GEOFW_CONF_PATH) && do_cleanup) {
		/* --cleanup finds the interfaces through the pinned links. */
		geofw_conf_defaults(&d.conf);
		d.conf.n_ifaces = 0;
	} else if (ret == -ENOENT && !strcmp(d.conf_path, GEOFW_CONF_PATH) && !check) {
		log_warn("%s: no such file; using the built-in defaults", d.conf_path);
		geofw_conf_defaults(&d.conf);
	} else if (ret) {
		log_err(ret, "%s", err);
		return 1;
	}
	if (check) {
		/* A country policy that could not be enforced fails the check:
		 * the databases are loaded and built as a start would. */
		struct geofw_pages *pages = NULL;

		if (gfwd_check_geoip(&d, err, sizeof(err)) || gfwd_check_asn(&d, err, sizeof(err)) ||
		    !(pages = gfwd_pages_build(&d, &d.conf, err, sizeof(err)))) {
			fprintf(stderr, "geofwd: %s\n", err);
			return 1;
		}
		free(pages);
		printf("%s: ok\n", d.conf_path);
		return 0;
	}
	d.debug = debug;
	geofw_log_set_level(debug ? GEOFW_LOG_DEBUG : d.conf.log_level);
	if (do_cleanup)
		return cleanup(&d) ? 1 : 0;

	d.started = time(NULL);
	if (start(&d)) {
		sd_notify("STATUS=failed to start");
		stop(&d);
		return 1;
	}
	/* A host that was down catches up before it says it is ready. */
	if (gfwd_fleet_start(&d)) {
		sd_notify("STATUS=failed to start");
		stop(&d);
		return 1;
	}
	gfwd_fleet_wait_synced(&d, 10000);
	/* Pulls in the background: a LAPI that is down delays nothing. */
	gfwd_crowdsec_start(&d);
	gfwd_feeds_sync(&d);
	log_info("ready: %d interface(s), pins in %s, control socket %s", d.n_ifaces,
		 d.pin_dir, d.conf.socket_path);
	sd_notify("READY=1\nSTATUS=enforcing");
	loop(&d);
	sd_notify("STOPPING=1");
	gfwd_fleet_stop(&d);
	gfwd_crowdsec_stop(&d);
	gfwd_fetch_close(&d);
	stop(&d);
	return 0;
}
