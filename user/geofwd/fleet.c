// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet: one blocklist for every edge host, in a NATS JetStream
 * key-value bucket (FleetServers, FleetBucket; docs/design-notes.md).
 *
 * Threads.  libnats' KV watcher is synchronous, so one worker thread owns
 * everything NATS: the connection (reconnecting forever), the bucket, the
 * watcher and the publishing of this host's fleet-scope changes.  It never
 * touches the store or the maps: it hands what it learns to the event loop
 * through a locked queue and an eventfd, and the main thread does every
 * write (rows, revision, kernel diff) in its own transactions.
 *
 * Keys and values.  A key is "block.ADDR/LEN" (IPv6 ':' written '_', the
 * only character of a prefix that a KV key cannot hold).  A value is one
 * line of compact text (version, action, absolute expiry, creation time,
 * origin host), a newline, then the comment:
 *
 *	1 drop 1764892800 1764889200 edge-a.example\nscanner from the honeypot
 *
 * Revisions.  Every entry carries its bucket revision; an entry at or below
 * the last applied one (kept in the store, setting "fleet_revision") is
 * skipped, so a replay is harmless.  On each (re)connect the watcher starts
 * over: its initial values are gathered and the fleet rows are made equal
 * to them with one geofw_store_replace_source() (never a flush first).
 *
 * Outgoing changes go to the store's outbox in the transaction of the fwctl
 * request, are handed to the worker after COMMIT, and leave the outbox once
 * the bucket acknowledged them; the change reaches this host's maps when the
 * watcher delivers it back, like on every other host.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"

#define FLEET_SOURCE		"fleet"
#define FLEET_REV_KEY		"fleet_revision"
#define FLEET_POLL_MS		100	/* watcher wait between outbox checks */
#define FLEET_BACKOFF_MIN_MS	250
#define FLEET_BACKOFF_MAX_MS	5000

enum ev_type { EV_STATE, EV_SNAPSHOT, EV_ENTRY, EV_PUBLISHED };

struct fleet_entry {
	char *key, *value;	/* value NULL: deleted */
	__u64 rev;
};

struct fleet_ev {
	struct fleet_ev *next;
	int type;
	/* EV_STATE */
	bool connected, writable;
	char url[GEOFW_CONF_FLEET_URL_LEN];
	char error[256];
	/* EV_ENTRY (one), EV_SNAPSHOT (n) */
	struct fleet_entry *e;
	size_t n;
	/* EV_PUBLISHED */
	long long id;
	bool refused;
};

struct fleet_out {
	struct fleet_out *next;
	long long id;
	char *key, *value;
};

struct gfwd_fleet {
	struct gfwd *d;
	pthread_t thread;
	bool thread_started;
	int evfd;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	struct fleet_ev *ev_head, **ev_tail;
	struct fleet_out *out_head, **out_tail;
	bool stop;

	/* copies of the config: the main thread may replace d->conf */
	char bucket[GEOFW_CONF_FLEET_BUCKET_LEN];
	int replicas;

	/* worker's own */
	natsConnection *nc;
	natsOptions *opts;
	jsCtx *js;
	kvStore *kv;
	kvWatcher *w;
	volatile int not_permitted;	/* error handler saw a permissions violation */
	volatile int generation;	/* reconnects seen: the watcher restarts */
	int resync;			/* main asks for a new snapshot (atomic) */

	/* main thread's own */
	bool connected, writable, synced;
	char url[GEOFW_CONF_FLEET_URL_LEN];
	char error[256];
	long long revision;		/* last applied */
	time_t last_update;		/* last entry applied (or snapshot) */
	long long handed;		/* outbox ids up to this one are with the worker */
	size_t pending;
	char host[256];
};

/* ---- worker -> main -------------------------------------------------------------- */

static void post(struct gfwd_fleet *f, struct fleet_ev *ev)
{
	__u64 one = 1;

	pthread_mutex_lock(&f->lock);
	*f->ev_tail = ev;
	f->ev_tail = &ev->next;
	pthread_mutex_unlock(&f->lock);
	/* EAGAIN: the counter is saturated, the loop wakes up anyway. */
	if (write(f->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("fleet: eventfd: %s", strerror(errno));
}

static void post_state(struct gfwd_fleet *f, bool connected, bool writable, const char *error)
{
	struct fleet_ev *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return;
	ev->type = EV_STATE;
	ev->connected = connected;
	ev->writable = writable;
	if (connected && f->nc)
		natsConnection_GetConnectedUrl(f->nc, ev->url, sizeof(ev->url));
	snprintf(ev->error, sizeof(ev->error), "%s", error ? error : "");
	post(f, ev);
}

static bool stopping(struct gfwd_fleet *f)
{
	bool s;

	pthread_mutex_lock(&f->lock);
	s = f->stop;
	pthread_mutex_unlock(&f->lock);
	return s;
}

static void nap(struct gfwd_fleet *f, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	if (!f->stop)
		pthread_cond_timedwait(&f->wake, &f->lock, &ts);
	pthread_mutex_unlock(&f->lock);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *arg)
{
	struct gfwd_fleet *f = arg;

	(void)nc;
	(void)sub;
	if (s == NATS_NOT_PERMITTED)
		f->not_permitted = 1;
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	struct gfwd_fleet *f = arg;

	(void)nc;
	f->generation++;
}

static int setup_options(struct gfwd_fleet *f, char *err, size_t errlen)
{
	const struct geofw_conf *c = &f->d->conf;
	const char *servers[GEOFW_CONF_MAX_FLEET_SERVERS];
	char password[512] = "";
	natsStatus s;
	int i;

	for (i = 0; i < c->n_fleet_servers; i++)
		servers[i] = c->fleet_servers[i];
	if (c->fleet_password_file[0]) {
		FILE *pf = fopen(c->fleet_password_file, "re");

		if (!pf)
			return geofw_errf(err, errlen, -errno, "FleetPasswordFile %s: %s",
					  c->fleet_password_file, strerror(errno));
		if (!fgets(password, sizeof(password), pf))
			password[0] = '\0';
		fclose(pf);
		password[strcspn(password, "\r\n")] = '\0';
		if (!password[0])
			return geofw_errf(err, errlen, -EINVAL, "FleetPasswordFile %s: empty",
					  c->fleet_password_file);
	}
	s = natsOptions_Create(&f->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(f->opts, servers, c->n_fleet_servers);
	if (s == NATS_OK)
		s = natsOptions_SetName(f->opts, "geofwd");
	/* Forever, with a capped back-off between rounds over the servers. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(f->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(f->opts, 500);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(f->opts, 250, 500);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(f->opts, true, NULL, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(f->opts, 2000);
	/* A dead server is noticed within ~2 s, not the default 4 minutes. */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(f->opts, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(f->opts, 2);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(f->opts, on_error, f);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(f->opts, on_reconnected, f);
	if (s == NATS_OK && c->fleet_creds[0])
		s = natsOptions_SetUserCredentialsFromFiles(f->opts, c->fleet_creds, NULL);
	if (s == NATS_OK && c->fleet_user[0])
		s = natsOptions_SetUserInfo(f->opts, c->fleet_user, password);
	if (s == NATS_OK && c->fleet_tls_ca[0]) {
		s = natsOptions_SetSecure(f->opts, true);
		if (s == NATS_OK)
			s = natsOptions_LoadCATrustedCertificates(f->opts, c->fleet_tls_ca);
	}
	memset(password, 0, sizeof(password));
	if (s != NATS_OK)
		return geofw_errf(err, errlen, -EINVAL, "fleet: %s", nats_GetLastError(&s));
	return 0;
}

static void drop_bucket(struct gfwd_fleet *f)
{
	if (f->w) {
		kvWatcher_Stop(f->w);
		kvWatcher_Destroy(f->w);
		f->w = NULL;
	}
	if (f->kv) {
		kvStore_Destroy(f->kv);
		f->kv = NULL;
	}
	if (f->js) {
		jsCtx_Destroy(f->js);
		f->js = NULL;
	}
}

/* Bind to the bucket, creating it when it does not exist. */
static natsStatus bind_bucket(struct gfwd_fleet *f)
{
	jsOptions jo;
	kvConfig kc;
	natsStatus s;

	jsOptions_Init(&jo);
	jo.Wait = 3000;
	s = natsConnection_JetStream(&f->js, f->nc, &jo);
	if (s != NATS_OK)
		return s;
	s = js_KeyValue(&f->kv, f->js, f->bucket);
	if (s == NATS_NOT_FOUND) {
		kvConfig_Init(&kc);
		kc.Bucket = f->bucket;
		kc.Description = "geofw fleet rules";
		kc.History = 1;
		kc.Replicas = f->replicas;
		kc.StorageType = js_FileStorage;
		s = js_CreateKeyValue(&f->kv, f->js, &kc);
	}
	return s;
}

/*
 * May this host write?  An update that expects a revision no key has is
 * refused by JetStream without writing anything ("wrong last sequence");
 * credentials without publish permission never get that far.
 */
static bool probe_writable(struct gfwd_fleet *f)
{
	uint64_t rev = 0;
	natsStatus s;

	f->not_permitted = 0;
	s = kvStore_Update(&rev, f->kv, "geofw-write-probe", "", 0, UINT64_MAX / 2);
	nats_GetLastError(&s);
	return !f->not_permitted && s != NATS_TIMEOUT && s != NATS_NOT_PERMITTED;
}

static void free_entries(struct fleet_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].key);
		free(e[i].value);
	}
	free(e);
}

static int take_entry(kvEntry *ke, struct fleet_entry *out)
{
	kvOperation op = kvEntry_Operation(ke);

	memset(out, 0, sizeof(*out));
	out->key = strdup(kvEntry_Key(ke));
	out->rev = kvEntry_Revision(ke);
	if (op == kvOp_Put) {
		out->value = strndup(kvEntry_Value(ke) ? kvEntry_Value(ke) : "",
				     (size_t)kvEntry_ValueLen(ke));
		if (!out->value) {
			free(out->key);
			return -ENOMEM;
		}
	}
	return out->key ? 0 : -ENOMEM;
}

/* The watcher's initial values, until its end marker; -errno when the
 * connection went away before. */
static int snapshot(struct gfwd_fleet *f)
{
	struct fleet_entry *e = NULL, *ne;
	size_t n = 0, cap = 0;
	struct fleet_ev *ev;
	kvWatchOptions wo;
	kvEntry *ke;
	natsStatus s;
	int waited;

	kvWatchOptions_Init(&wo);
	s = kvStore_WatchAll(&f->w, f->kv, &wo);
	if (s != NATS_OK)
		return -EIO;
	for (waited = 0;;) {
		if (stopping(f))
			goto fail;
		/* Short waits, so that a stop is not held up; 5 s in all. */
		s = kvWatcher_Next(&ke, f->w, 250);
		if (s == NATS_TIMEOUT && (waited += 250) < 5000)
			continue;
		if (s != NATS_OK)
			goto fail;
		waited = 0;
		if (!ke)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			ne = realloc(e, cap * sizeof(*e));
			if (!ne) {
				kvEntry_Destroy(ke);
				goto fail;
			}
			e = ne;
		}
		if (take_entry(ke, &e[n]) == 0)
			n++;
		kvEntry_Destroy(ke);
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		goto fail;
	ev->type = EV_SNAPSHOT;
	ev->e = e;
	ev->n = n;
	post(f, ev);
	return 0;
fail:
	free_entries(e, n);
	return -EIO;
}

/* Publish what the main thread handed over; false: connection trouble,
 * the rest waits for the next connection. */
static bool publish(struct gfwd_fleet *f)
{
	for (;;) {
		struct fleet_out *o;
		struct fleet_ev *ev;
		uint64_t rev = 0;
		natsStatus s;

		pthread_mutex_lock(&f->lock);
		o = f->out_head;
		pthread_mutex_unlock(&f->lock);
		if (!o)
			return true;
		f->not_permitted = 0;
		if (o->value)
			s = kvStore_PutString(&rev, f->kv, o->key, o->value);
		else
			s = kvStore_Delete(f->kv, o->key);
		if (s != NATS_OK && !f->not_permitted && s != NATS_NOT_PERMITTED)
			return false;
		pthread_mutex_lock(&f->lock);
		f->out_head = o->next;
		if (!f->out_head)
			f->out_tail = &f->out_head;
		pthread_mutex_unlock(&f->lock);
		ev = calloc(1, sizeof(*ev));
		if (ev) {
			ev->type = EV_PUBLISHED;
			ev->id = o->id;
			ev->refused = s != NATS_OK;
			post(f, ev);
		}
		free(o->key);
		free(o->value);
		free(o);
	}
}

static void *worker(void *arg)
{
	struct gfwd_fleet *f = arg;
	int backoff = FLEET_BACKOFF_MIN_MS;
	char msg[256];
	natsStatus s;

	s = natsConnection_Connect(&f->nc, f->opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		snprintf(msg, sizeof(msg), "cannot connect: %s", nats_GetLastError(&s));
		post_state(f, false, false, msg);
		return NULL;
	}
	while (!stopping(f)) {
		int gen;
		bool writable;

		if (natsConnection_Status(f->nc) != NATS_CONN_STATUS_CONNECTED) {
			nap(f, FLEET_POLL_MS);
			continue;
		}
		gen = f->generation;
		s = bind_bucket(f);
		if (s != NATS_OK) {
			snprintf(msg, sizeof(msg), "bucket %s: %s", f->bucket,
				 nats_GetLastError(&s));
			post_state(f, false, false, msg);
			drop_bucket(f);
			nap(f, backoff);
			backoff = backoff * 2 > FLEET_BACKOFF_MAX_MS ? FLEET_BACKOFF_MAX_MS
								     : backoff * 2;
			continue;
		}
		writable = probe_writable(f);
		if (snapshot(f)) {
			drop_bucket(f);
			nap(f, backoff);
			continue;
		}
		backoff = FLEET_BACKOFF_MIN_MS;
		post_state(f, true, writable, NULL);
		while (!stopping(f) && gen == f->generation &&
		       !__atomic_load_n(&f->resync, __ATOMIC_ACQUIRE) &&
		       natsConnection_Status(f->nc) == NATS_CONN_STATUS_CONNECTED) {
			kvEntry *ke = NULL;

			if (!publish(f))
				break;
			s = kvWatcher_Next(&ke, f->w, FLEET_POLL_MS);
			if (s == NATS_TIMEOUT)
				continue;
			if (s != NATS_OK)
				break;
			if (ke) {
				struct fleet_ev *ev = calloc(1, sizeof(*ev));
				struct fleet_entry *e = calloc(1, sizeof(*e));

				if (ev && e && !take_entry(ke, e)) {
					ev->type = EV_ENTRY;
					ev->e = e;
					ev->n = 1;
					post(f, ev);
				} else {
					free(ev);
					free(e);
				}
				kvEntry_Destroy(ke);
			}
		}
		drop_bucket(f);
		if (__atomic_exchange_n(&f->resync, 0, __ATOMIC_ACQ_REL)) {
			/* Applying failed here: read the bucket again, in a while. */
			nap(f, 2000);
			continue;
		}
		if (!stopping(f))
			post_state(f, false, false, "connection lost; reconnecting");
	}
	return NULL;
}

/* ---- main thread ------------------------------------------------------------------ */

static int cmp_rule(const void *a, const void *b)
{
	const struct geofw_rule *x = a, *y = b;

	return geofw_cidr_cmp(&x->prefix, &y->prefix);
}

/* Fill r from one entry; 1: the entry is a live rule, 0: a delete (or an
 * expired rule), -EINVAL: not ours. */
static int entry_rule(const struct fleet_entry *e, struct geofw_rule *r, char **buf)
{
	const char *origin;
	int kind;

	memset(r, 0, sizeof(*r));
	*buf = NULL;
	if (geofw_fleet_key_parse(e->key, &kind, &r->prefix))
		return -EINVAL;
	r->kind = kind;
	r->source = FLEET_SOURCE;
	if (!e->value)
		return 0;
	*buf = strdup(e->value);
	if (!*buf || geofw_fleet_value_parse(*buf, r, &origin))
		return -EINVAL;
	if (r->expires && r->expires <= (__u64)time(NULL))
		return 0;
	return 1;
}

static void apply_snapshot(struct gfwd_fleet *f, struct fleet_entry *e, size_t n)
{
	struct gfwd *d = f->d;
	struct geofw_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	char **bufs = calloc(n ? n : 1, sizeof(*bufs));
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	size_t i, m = 0, removed = 0, bad = 0;
	__u64 maxrev = 0;
	int err;

	if (!rules || !bufs) {
		log_err(-ENOMEM, "fleet: out of memory for %zu entries", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		int r = entry_rule(&e[i], &rules[m], &bufs[i]);

		if (e[i].rev > maxrev)
			maxrev = e[i].rev;
		if (r < 0 && strcmp(e[i].key, "geofw-write-probe"))
			bad++;
		if (r == 1)
			m++;
	}
	qsort(rules, m, sizeof(*rules), cmp_rule);
	err = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!err)
		err = geofw_store_replace_source(d->store, FLEET_SOURCE, rules, m, &removed, &diff,
						 msg, sizeof(msg));
	/* The snapshot is the truth, also below the revision recorded (a
	 * bucket deleted and made again starts counting at 1). */
	if (!err)
		err = geofw_store_set_setting(d->store, FLEET_REV_KEY, (long long)maxrev, msg,
					      sizeof(msg));
	err = gfwd_commit_or_undo(d, &diff, err, msg, sizeof(msg));
	if (err) {
		log_err(err, "fleet: catching up with bucket %s: %s (trying again)",
			d->conf.fleet_bucket, msg);
		__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
		goto out;
	}
	f->revision = (long long)maxrev;
	f->synced = true;
	f->last_update = time(NULL);
	gfwd_arm_sweep(d);
	log_info("fleet: in step with bucket %s at revision %lld: %zu rules (%zu removed)%s",
		 d->conf.fleet_bucket, f->revision, m, removed,
		 bad ? ", some entries not understood were skipped" : "");
out:
	for (i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(rules);
	geofw_kdiff_free(&diff);
}

/* Updates after the snapshot, in one transaction per wake-up. */
static void apply_entries(struct gfwd_fleet *f, struct fleet_entry **v, size_t n)
{
	struct gfwd *d = f->d;
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	long long rev = f->revision;
	size_t i;
	int err;

	err = geofw_store_begin(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++) {
		struct geofw_rule r;
		char *buf;
		int live;

		if ((long long)v[i]->rev <= rev)
			continue;	/* seen: a replay after a reconnect */
		live = entry_rule(v[i], &r, &buf);
		if (live == 1) {
			err = geofw_store_add(d->store, &r, 1, 0, &diff, msg, sizeof(msg));
		} else if (live == 0) {
			err = geofw_store_del(d->store, r.kind, &r.prefix, 1, FLEET_SOURCE, &diff,
					      msg, sizeof(msg));
			if (err == -ENOENT)
				err = 0;
		} else if (strcmp(v[i]->key, "geofw-write-probe")) {
			log_warn("fleet: key %s at revision %llu not understood; skipped",
				 v[i]->key, (unsigned long long)v[i]->rev);
		}
		free(buf);
		rev = (long long)v[i]->rev;
	}
	if (!err && rev > f->revision)
		err = geofw_store_set_setting(d->store, FLEET_REV_KEY, rev, msg, sizeof(msg));
	err = gfwd_commit_or_undo(d, &diff, err, msg, sizeof(msg));
	if (err) {
		/* Nothing of it is in force: a new snapshot puts it right. */
		log_err(err, "fleet: applying revision %lld: %s (reading the bucket again)", rev,
			msg);
		__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
	} else if (rev > f->revision) {
		f->revision = rev;
		f->last_update = time(NULL);
		gfwd_arm_sweep(d);
	}
	geofw_kdiff_free(&diff);
}

static int count_outbox(long long id, const char *key, const char *value, void *ctx)
{
	(void)id;
	(void)key;
	(void)value;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t outbox_size(struct gfwd *d)
{
	size_t n = 0;

	geofw_store_outbox_for_each(d->store, count_outbox, &n);
	return n;
}

void gfwd_fleet_event_fd(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;
	struct fleet_entry **batch = NULL;
	struct fleet_ev *ev, *next;
	size_t nb = 0, cap = 0;
	char msg[GEOFW_ERRLEN];
	__u64 cnt;

	if (read(f->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_debug("fleet: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&f->lock);
	ev = f->ev_head;
	f->ev_head = NULL;
	f->ev_tail = &f->ev_head;
	pthread_mutex_unlock(&f->lock);

	for (; ev; ev = next) {
		next = ev->next;
		if (ev->type == EV_ENTRY) {
			if (nb == cap) {
				struct fleet_entry **nbv;

				cap = cap ? cap * 2 : 64;
				nbv = realloc(batch, cap * sizeof(*batch));
				if (!nbv) {
					log_err(-ENOMEM, "fleet: out of memory");
					free_entries(ev->e, ev->n);
					free(ev);
					continue;
				}
				batch = nbv;
			}
			batch[nb++] = ev->e;
			free(ev);
			continue;
		}
		/* Keep the order: entries before this event go first. */
		if (nb) {
			apply_entries(f, batch, nb);
			while (nb)
				free_entries(batch[--nb], 1);
		}
		if (ev->type == EV_SNAPSHOT) {
			apply_snapshot(f, ev->e, ev->n);
			free_entries(ev->e, ev->n);
		} else if (ev->type == EV_STATE) {
			if (ev->connected && !f->connected)
				log_info("fleet: connected to %s, bucket %s%s", ev->url,
					 d->conf.fleet_bucket,
					 ev->writable ? "" : " (read-only: fleet changes refused)");
			else if (!ev->connected && (f->connected || strcmp(f->error, ev->error)))
				log_warn("fleet: %s; enforcing the rules held, changes kept "
					 "until the bucket is back", ev->error);
			f->connected = ev->connected;
			if (ev->connected)
				f->writable = ev->writable;
			snprintf(f->url, sizeof(f->url), "%s", ev->connected ? ev->url : "");
			snprintf(f->error, sizeof(f->error), "%s", ev->error);
		} else if (ev->type == EV_PUBLISHED) {
			if (ev->refused) {
				log_err(-EPERM, "fleet: bucket %s refused a change from this host "
					"(credentials without write permission); dropped",
					d->conf.fleet_bucket);
				f->writable = false;
			}
			if (geofw_store_outbox_del(d->store, ev->id, msg, sizeof(msg)))
				log_err(-EIO, "fleet: %s", msg);
		}
		free(ev);
	}
	if (nb) {
		apply_entries(f, batch, nb);
		while (nb)
			free_entries(batch[--nb], 1);
	}
	free(batch);
	f->pending = outbox_size(d);
	gfwd_fleet_flush(d);
}

bool gfwd_fleet_event(struct gfwd *d, int fd)
{
	if (!d->fleet || fd != d->fleet->evfd)
		return false;
	gfwd_fleet_event_fd(d);
	return true;
}

static int hand_one(long long id, const char *key, const char *value, void *ctx)
{
	struct gfwd_fleet *f = ctx;
	struct fleet_out *o;

	if (id <= f->handed)
		return 0;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->id = id;
	o->key = strdup(key ? key : "");
	o->value = value ? strdup(value) : NULL;
	pthread_mutex_lock(&f->lock);
	*f->out_tail = o;
	f->out_tail = &o->next;
	pthread_mutex_unlock(&f->lock);
	f->handed = id;
	return 0;
}

void gfwd_fleet_flush(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;

	if (!f || geofw_store_in_txn(d->store))
		return;
	f->pending = outbox_size(d);
	/* The worker keeps what it holds across reconnects and drops an item
	 * only once the bucket answered it: each id is handed over once. */
	geofw_store_outbox_for_each(d->store, hand_one, f);
}

int gfwd_fleet_queue(struct gfwd *d, const struct geofw_rule *rules, size_t n, bool del,
		     char *err, size_t errlen)
{
	struct gfwd_fleet *f = d->fleet;
	char key[GEOFW_CIDR_STRLEN + 16];
	size_t i;
	int ret;

	if (!f)
		return geofw_errf(err, errlen, -ENOTCONN, "no fleet is configured (FleetServers "
				  "is empty in %s): use --local", d->conf_path);
	if (f->connected && !f->writable)
		return geofw_errf(err, errlen, -EPERM, "fleet: this host's NATS credentials only "
				  "allow reading bucket %s: fleet changes refused (--local changes "
				  "this host only)", d->conf.fleet_bucket);
	for (i = 0; i < n; i++) {
		char *v = NULL;

		if ((ret = geofw_fleet_key_format(rules[i].kind, &rules[i].prefix, key, sizeof(key))))
			return geofw_errf(err, errlen, ret, "fleet: only blocks are fleet rules "
					  "so far: use --local");
		if (!del && !(v = geofw_fleet_value_format(&rules[i], f->host)))
			return geofw_errf(err, errlen, -ENOMEM, "out of memory");
		ret = geofw_store_outbox_add(d->store, key, v, err, errlen);
		free(v);
		if (ret)
			return ret;
	}
	return 0;
}

bool gfwd_fleet_conf_changed(const struct geofw_conf *a, const struct geofw_conf *b)
{
	size_t from = offsetof(struct geofw_conf, fleet_servers);
	size_t to = offsetof(struct geofw_conf, fleet_replicas) + sizeof(a->fleet_replicas);

	return memcmp((const char *)a + from, (const char *)b + from, to - from) != 0;
}

bool gfwd_fleet_configured(const struct gfwd *d)
{
	return d->fleet != NULL;
}

bool gfwd_fleet_connected(const struct gfwd *d)
{
	return d->fleet && d->fleet->connected;
}

void gfwd_fleet_info(const struct gfwd *d, struct gfwd_fleet_info *out)
{
	const struct gfwd_fleet *f = d->fleet;

	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	out->configured = true;
	out->connected = f->connected;
	out->writable = f->writable;
	out->synced = f->synced;
	out->url = f->url;
	out->error = f->error;
	out->revision = f->revision;
	out->last_update = f->last_update;
	out->pending = f->pending;
}

void gfwd_fleet_metrics(const struct gfwd *d, struct geofw_metrics_info *in)
{
	const struct gfwd_fleet *f = d->fleet;

	if (!f)
		return;
	in->fleet_configured = true;
	in->fleet_connected = f->connected;
	in->fleet_revision = f->revision;
	in->fleet_seconds_since_update = f->last_update ? (long long)(time(NULL) - f->last_update)
							: -1;
	in->fleet_pending = f->pending;
}

int gfwd_fleet_start(struct gfwd *d)
{
	struct gfwd_fleet *f;
	struct epoll_event ev = { .events = EPOLLIN };
	char err[GEOFW_ERRLEN];
	long long rev = 0;
	int ret;

	if (!d->conf.n_fleet_servers)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return log_err(-ENOMEM, "fleet: out of memory");
	f->d = d;
	snprintf(f->bucket, sizeof(f->bucket), "%s", d->conf.fleet_bucket);
	f->replicas = d->conf.fleet_replicas;
	f->ev_tail = &f->ev_head;
	f->out_tail = &f->out_head;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	if (gethostname(f->host, sizeof(f->host) - 1) || !f->host[0])
		snprintf(f->host, sizeof(f->host), "unknown");
	f->host[strcspn(f->host, " \t\n")] = '\0';
	if (!geofw_store_get_setting(d->store, FLEET_REV_KEY, &rev))
		f->revision = rev;
	f->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->evfd < 0) {
		ret = log_err(-errno, "fleet: eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((ret = setup_options(f, err, sizeof(err)))) {
		log_err(ret, "%s", err);
		goto fail;
	}
	d->fleet = f;
	f->pending = outbox_size(d);
	ev.data.fd = f->evfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, f->evfd, &ev);
	ret = pthread_create(&f->thread, NULL, worker, f);
	if (ret) {
		d->fleet = NULL;
		ret = log_err(-ret, "fleet: cannot start its thread: %s", strerror(ret));
		goto fail;
	}
	f->thread_started = true;
	log_info("fleet: servers %s%s, bucket %s, revision %lld applied, %zu change(s) pending",
		 d->conf.fleet_servers[0], d->conf.n_fleet_servers > 1 ? " ..." : "",
		 d->conf.fleet_bucket, f->revision, f->pending);
	return 0;
fail:
	if (f->evfd >= 0)
		close(f->evfd);
	if (f->opts)
		natsOptions_Destroy(f->opts);
	free(f);
	return ret;
}

void gfwd_fleet_wait_synced(struct gfwd *d, int timeout_ms)
{
	struct gfwd_fleet *f = d->fleet;
	struct timespec t0, t;

	if (!f)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!f->synced) {
		struct pollfd p = { .fd = f->evfd, .events = POLLIN };
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
				     (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			log_warn("fleet: not in step with bucket %s after %d ms (%s); starting "
				 "with the rules held, catching up when it answers",
				 d->conf.fleet_bucket, timeout_ms,
				 f->error[0] ? f->error : "no server answered");
			return;
		}
		if (poll(&p, 1, (int)left) > 0)
			gfwd_fleet_event_fd(d);
	}
}

void gfwd_fleet_stop(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;
	struct fleet_out *o, *next;
	struct fleet_ev *ev, *nev;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
	if (f->thread_started)
		pthread_join(f->thread, NULL);
	drop_bucket(f);
	if (f->nc) {
		natsConnection_Close(f->nc);
		natsConnection_Destroy(f->nc);
	}
	natsOptions_Destroy(f->opts);
	for (o = f->out_head; o; o = next) {
		next = o->next;
		free(o->key);
		free(o->value);
		free(o);
	}
	for (ev = f->ev_head; ev; ev = nev) {
		nev = ev->next;
		free_entries(ev->e, ev->n);
		free(ev);
	}
	close(f->evfd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->wake);
	free(f);
	d->fleet = NULL;
}
