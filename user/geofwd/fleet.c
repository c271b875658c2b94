// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet: the rules every edge host shares, in a NATS JetStream
 * key-value bucket (FleetServers, FleetBucket; docs/design-notes.md).
 *
 * Threads.  libnats' KV watcher is synchronous, so one worker thread owns
 * everything NATS: the connection (reconnecting forever), the bucket, the
 * watcher and the publishing of this host's fleet-scope changes.  It never
 * touches the store or the maps: it hands what it learns to the event loop
 * through a mailbox (mailbox.h: a locked list and an eventfd), and the main
 * thread does every write (rows, revision, kernel diff) in its own transactions.
 *
 * Keys and values: user/lib/fleetval.h.  Block and allow keys, of prefixes
 * and of ASes, become rows of source "fleet"; every key (country policy, kinds a later geofw
 * applies) is also kept with its revision in the store's fleet_keys table,
 * the bucket as this host applied it.
 *
 * Revisions.  Every entry carries its bucket revision; an entry at or below
 * the last applied one (kept in the store, setting "fleet_revision") is
 * skipped, so a replay is harmless.  On each (re)connect the watcher starts
 * over: its initial values are gathered and the fleet rows are made equal
 * to them with geofw_store_replace_source() and
 * geofw_store_replace_source_asn() in one transaction (never a flush
 * first).
 *
 * AS rules.  After each applied burst (and catch-up) that changed AS rows
 * the AS tables are rebuilt once, after COMMIT (gfwd_asn_sync); a rebuild
 * that fails leaves the rows (they are the bucket's) and the tables in
 * force, which `fwctl status` reports as AS rules not enforced.  An AS
 * entry that would give this host more than GEOFW_ASN_CLASS_MAX_ID ASes
 * with rules (geofw.conf and other sources count too) is refused here
 * alone: logged, counted (fleet status), kept in fleet_keys, tried again
 * at the next catch-up; the rest of the burst applies and the revision
 * moves on.
 *
 * Outgoing changes go to the store's outbox in the transaction of the fwctl
 * request, are handed to the worker after COMMIT and published pipelined
 * (up to FLEET_INFLIGHT awaiting the bucket's ack); a row leaves the outbox
 * once acknowledged.  A row that may already be in the bucket (found at
 * start: a crash after the ack; or sent without an answer) is published
 * only if its key is as it was when the change was made, with JetStream's
 * expected-last-subject-sequence check: it never overwrites a newer change.
 * The change reaches this host's maps when the watcher delivers it back,
 * like on every other host.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"
#include "grow.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"

#include "fleet_int.h"

/* ---- main thread: the outbox ----------------------------------------------------------- */

static struct fleet_row *find_row(struct gfwd_fleet *f, long long id)
{
	size_t lo = 0, hi = f->n_rows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->rows[mid].id == id)
			return f->rows[mid].key ? &f->rows[mid] : NULL;
		if (f->rows[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void row_forget(struct gfwd_fleet *f, struct fleet_row *r)
{
	free(r->key);
	free(r->value);
	r->key = r->value = NULL;
	f->dead_rows++;
}

static void rows_compact(struct gfwd_fleet *f)
{
	size_t i, j;

	if (f->dead_rows * 2 < f->n_rows && f->dead_rows < 4096)
		return;
	for (i = j = 0; i < f->n_rows; i++)
		if (f->rows[i].key)
			f->rows[j++] = f->rows[i];
	f->n_rows = j;
	f->dead_rows = 0;
}

static void count_pending(struct gfwd_fleet *f)
{
	size_t i;

	f->pending = f->refused = 0;
	for (i = 0; i < f->n_rows; i++) {
		if (!f->rows[i].key)
			continue;
		f->pending++;
		/* Connected read-only: none of them can be published. */
		f->refused += f->rows[i].refused || (f->connected && !f->writable);
	}
}

struct load_ctx {
	struct gfwd_fleet *f;
	bool unsure;
};

static int load_row(long long id, const char *key, const char *value, long long base, void *arg)
{
	struct load_ctx *lc = arg;
	struct gfwd_fleet *f = lc->f;
	struct fleet_row *v, *r;

	if (!(v = geofw_grow(f->rows, &f->cap_rows, f->n_rows, sizeof(*v), 64)))
		return -ENOMEM;
	f->rows = v;
	r = &v[f->n_rows];
	memset(r, 0, sizeof(*r));
	r->id = id;
	r->base = base;
	r->key = strdup(key ? key : "");
	r->value = value ? strdup(value) : NULL;
	if (!r->key || (value && !r->value)) {
		free(r->key);
		free(r->value);
		return -ENOMEM;
	}
	r->unsure = lc->unsure;
	f->n_rows++;
	f->loaded = id;
	return 0;
}

/* Rows committed since the last look: made by this geofwd (unsure: found
 * at start, maybe published before a crash). */
static void load_rows(struct gfwd_fleet *f, bool unsure)
{
	struct load_ctx lc = { f, unsure };
	int ret = geofw_store_outbox_for_each(f->d->store, f->loaded, load_row, &lc);

	if (ret)
		log_err(ret, "fleet: reading the outbox: %s", strerror(-ret));
}

static int cmp_row_key(const void *a, const void *b)
{
	const struct fleet_row *x = *(const struct fleet_row *const *)a;
	const struct fleet_row *y = *(const struct fleet_row *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->id > y->id) - (x->id < y->id);
}

static bool same_value(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static void hand(struct fleet_row *r, long long expect, struct fleet_out ***tail)
{
	struct fleet_out *o = calloc(1, sizeof(*o));

	if (!o || !(o->key = strdup(r->key)) || (r->value && !(o->value = strdup(r->value)))) {
		if (o)
			fleet_out_free(o);
		log_err(-ENOMEM, "fleet: out of memory");
		return;
	}
	o->id = r->id;
	o->expect = expect;
	r->with_worker = true;
	**tail = o;
	*tail = &o->next;
}

/*
 * Rows that may be in the bucket already, per key (their ids in order):
 * the key's revision and value this host has applied (after the snapshot
 * of this connection) tell what became of them.
 *  - unchanged since the first change was made: the last one is published
 *    conditionally (the rest are our own, superseded by it);
 *  - the bucket holds one of our values: that one landed; the rows after
 *    it are published conditionally on the revision it has;
 *  - anything else: another change came after ours, which stands.
 * Rows that go leave the outbox (done is set, the caller deletes them).
 */
static void resolve_unsure(struct gfwd_fleet *f, struct fleet_row **g, size_t m,
			   struct fleet_out ***tail, bool *done)
{
	long long rev = 0;
	char *value = NULL;
	size_t i, landed = m;
	int ret;

	ret = geofw_store_fleet_get(f->d->store, g[0]->key, &rev, &value);
	if (ret && ret != -ENOENT) {
		log_err(ret, "fleet: key %s: %s; kept pending", g[0]->key, strerror(-ret));
		return;
	}
	if (ret == -ENOENT)
		rev = 0;
	if (rev != g[0]->base)
		for (i = m; i-- > 0;)
			if (same_value(value, g[i]->value)) {
				landed = i;
				break;
			}
	free(value);
	for (i = 0; i + 1 < m; i++)
		done[i] = true;
	if (rev == g[0]->base || landed < m - 1) {
		hand(g[m - 1], rev, tail);
		return;
	}
	done[m - 1] = true;
	if (landed == m)
		log_warn("fleet: a change of %s made here before a restart was not published: "
			 "the bucket has a newer one (revision %lld), which stands", g[0]->key,
			 rev);
	if (landed == m)
		f->superseded++;
}

static void delete_rows(struct gfwd_fleet *f, struct fleet_row **v, size_t n)
{
	struct gfwd *d = f->d;
	char msg[GEOFW_ERRLEN];
	bool own = !geofw_store_in_txn(d->store);
	int err = 0;
	size_t i;

	if (!n)
		return;
	if (own)
		err = geofw_store_begin(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++)
		err = geofw_store_outbox_del(d->store, v[i]->id, msg, sizeof(msg));
	if (own && !err)
		err = geofw_store_commit(d->store, msg, sizeof(msg));
	if (err) {
		if (own)
			geofw_store_rollback(d->store);
		log_err(err, "fleet: removing published changes from the outbox: %s", msg);
		return;
	}
	for (i = 0; i < n; i++)
		row_forget(f, v[i]);
}

/* Hand the rows nobody holds to the worker (connected, in step, writable). */
static void hand_rows(struct gfwd_fleet *f)
{
	struct fleet_out *head = NULL, **tail = &head;
	struct fleet_row **unsure = NULL, **gone = NULL;
	size_t i, j, nu = 0, ng = 0;
	bool *done = NULL;

	if (!f->connected || !f->writable || !f->in_step)
		return;
	for (i = 0; i < f->n_rows; i++)
		nu += f->rows[i].key && !f->rows[i].with_worker && f->rows[i].unsure;
	if (nu) {
		unsure = calloc(nu, sizeof(*unsure));
		gone = calloc(nu, sizeof(*gone));
		done = calloc(nu, sizeof(*done));
		if (!unsure || !gone || !done) {
			log_err(-ENOMEM, "fleet: out of memory");
			goto out;
		}
		for (i = 0, nu = 0; i < f->n_rows; i++)
			if (f->rows[i].key && !f->rows[i].with_worker && f->rows[i].unsure)
				unsure[nu++] = &f->rows[i];
		qsort(unsure, nu, sizeof(*unsure), cmp_row_key);
		for (i = 0; i < nu; i = j) {
			for (j = i + 1; j < nu && !strcmp(unsure[j]->key, unsure[i]->key); j++)
				;
			resolve_unsure(f, unsure + i, j - i, &tail, done + i);
		}
		for (i = 0; i < nu; i++)
			if (done[i])
				gone[ng++] = unsure[i];
		delete_rows(f, gone, ng);
	}
	for (i = 0; i < f->n_rows; i++)
		if (f->rows[i].key && !f->rows[i].with_worker && !f->rows[i].unsure)
			hand(&f->rows[i], -1, &tail);
	if (head) {
		pthread_mutex_lock(&f->lock);
		*f->out_tail = head;
		f->out_tail = tail;
		pthread_cond_broadcast(&f->wake);
		pthread_mutex_unlock(&f->lock);
	}
out:
	free(unsure);
	free(gone);
	free(done);
}

/* The worker's answers about handed rows, in one outbox transaction. */
static void take_results(struct gfwd_fleet *f, struct fleet_ev **res, size_t n)
{
	struct fleet_row **gone = calloc(n ? n : 1, sizeof(*gone));
	size_t i, ng = 0;
	bool resync = false;

	for (i = 0; i < n; i++) {
		struct fleet_row *r = find_row(f, res[i]->id);

		if (!r)
			continue;
		r->with_worker = false;
		switch (res[i]->result) {
		case PUB_OK:
			/* Tests force the crash this design survives: acked by
			 * the bucket, still in the outbox (tests/e2e/fleet.sh). */
			if (f->crash_after_ack)
				raise(SIGKILL);
			f->published++;
			if (gone)
				gone[ng++] = r;
			break;
		case PUB_CONFLICT:
			log_warn("fleet: a change of %s was not published: the bucket has a newer "
				 "one, which stands", r->key);
			f->superseded++;
			if (gone)
				gone[ng++] = r;
			break;
		case PUB_REFUSED:
			if (!r->refused)
				log_err(-EPERM, "fleet: bucket %s refused a change of %s from this "
					"host (credentials without write permission); kept pending "
					"until they allow writing", f->d->conf.fleet_bucket, r->key);
			r->refused = true;
			f->writable = false;
			f->known_writable = 0;
			break;
		case PUB_UNANSWERED:
			/* Maybe in the bucket: decided after the next snapshot. */
			r->unsure = true;
			resync = true;
			break;
		case PUB_UNSENT:
			break;
		}
	}
	delete_rows(f, gone, ng);
	free(gone);
	if (resync && f->connected) {
		f->in_step = false;
		__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
	}
}

static void set_state(struct gfwd_fleet *f, const struct fleet_ev *ev)
{
	struct gfwd *d = f->d;
	char msg[GEOFW_ERRLEN];
	size_t i;

	if (ev->connected && !f->connected)
		log_info("fleet: connected to %s, bucket %s%s", ev->url, d->conf.fleet_bucket,
			 ev->writable ? "" : " (read-only: fleet changes refused)");
	else if (!ev->connected && (f->connected || strcmp(f->error, ev->error)))
		log_warn("fleet: %s; enforcing the rules held, changes kept until the bucket is "
			 "back", ev->error);
	f->connected = ev->connected;
	if (!ev->connected) {
		f->in_step = false;
		f->behind_since = 0;
	}
	if (ev->connected) {
		f->writable = ev->writable;
		if (f->known_writable != ev->writable && !geofw_store_in_txn(d->store) &&
		    geofw_store_set_setting(d->store, FLEET_WRITABLE_KEY, ev->writable, msg,
					    sizeof(msg)))
			log_err(-EIO, "fleet: %s", msg);
		f->known_writable = ev->writable;
		if (!ev->writable && f->pending)
			log_err(-EPERM, "fleet: %zu change(s) made here stay pending: this host's "
				"credentials only allow reading bucket %s (published once they "
				"allow writing)", f->pending, d->conf.fleet_bucket);
		/* Refused rows get another try when the credentials allow it. */
		for (i = 0; ev->writable && i < f->n_rows; i++)
			f->rows[i].refused = false;
	}
	snprintf(f->url, sizeof(f->url), "%s", ev->connected ? ev->url : "");
	snprintf(f->error, sizeof(f->error), "%s", ev->error);
}

/*
 * The watcher's health, at each answer to ask_head() (every FLEET_HEAD_MS):
 * the bucket's last revision is past what this host applied, and nothing
 * was applied for FLEET_STALL_MS.  The connection is fine but the consumer
 * the watcher reads from is gone on the server (deleted, or its node died):
 * libnats notices only after missed heartbeats, the server replaces it only
 * after an election (19 s seen with one of three nodes killed), and
 * meanwhile every change of the fleet waits.  The worker reads the bucket
 * again (a snapshot and a new watcher).  Once per head: a last revision
 * that even a new snapshot does not bring (a message gone from the stream)
 * is not read again and again, only a later one is.
 */
static void fleet_head(struct gfwd_fleet *f, long long head)
{
	long long now = (long long)(geofw_clock_s(CLOCK_MONOTONIC) * 1000);

	f->head = head;
	if (head <= f->revision || !f->connected) {
		f->behind_since = 0;
		return;
	}
	if (!f->behind_since || f->revision != f->behind_rev) {
		f->behind_since = now;	/* behind, or behind still after some progress */
		f->behind_rev = f->revision;
		return;
	}
	if (now - f->behind_since < FLEET_STALL_MS || head == f->stall_head)
		return;
	log_warn("fleet: bucket %s is at revision %lld, this host at %lld, and its watcher "
		 "brought nothing for %lld s: reading the bucket again", f->d->conf.fleet_bucket,
		 head, f->revision, (now - f->behind_since) / 1000);
	f->behind_since = 0;
	f->stall_head = head;
	f->stalls++;
	__atomic_store_n(&f->resync, FLEET_RESYNC_NOW, __ATOMIC_RELEASE);
}

/* Apply the entries of the EV_ENTRY events in list (in order), free them. */
static void apply_list(struct gfwd_fleet *f, struct fleet_ev **list)
{
	struct fleet_entry **v = NULL, **nv;
	struct fleet_ev *ev, *next;
	size_t n = 0, cap = 0, i;

	for (ev = *list; ev; ev = ev->next)
		for (i = 0; i < ev->n; i++) {
			if (!(nv = geofw_grow(v, &cap, n, sizeof(*v), 64))) {
				log_err(-ENOMEM, "fleet: out of memory (reading the bucket again)");
				__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
				goto out;
			}
			v = nv;
			v[n++] = &ev->e[i];
		}
	if (n)
		fleet_apply_entries(f, v, n);
out:
	free(v);
	for (ev = *list; ev; ev = next) {
		next = ev->next;
		fleet_free_entries(ev->e, ev->n);
		free(ev);
	}
	*list = NULL;
}

void gfwd_fleet_event_fd(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;
	struct fleet_ev *ev, **res = NULL, **nres, *entries = NULL, **etail = &entries;
	struct gfwd_mail *m, *next;
	size_t nr = 0, rcap = 0, i;

	for (m = gfwd_mailbox_take(&f->mb); m; m = next) {
		next = m->next;
		ev = (struct fleet_ev *)m;
		ev->next = NULL;
		if (ev->type == EV_ENTRY) {
			*etail = ev;
			etail = &ev->next;
			continue;
		}
		if (ev->type == EV_RESULT) {
			if ((nres = geofw_grow(res, &rcap, nr, sizeof(*res), 64))) {
				res = nres;
				res[nr++] = ev;
			} else {
				free(ev);
			}
			continue;
		}
		/* Keep the order: entries before this event go first. */
		apply_list(f, &entries);
		etail = &entries;
		if (ev->type == EV_SNAPSHOT) {
			fleet_apply_snapshot(f, ev->e, ev->n);
			f->behind_since = 0;
			fleet_free_entries(ev->e, ev->n);
		} else if (ev->type == EV_STATE) {
			set_state(f, ev);
		} else if (ev->type == EV_HEAD) {
			fleet_head(f, (long long)ev->rev);
		}
		free(ev);
	}
	apply_list(f, &entries);
	take_results(f, res, nr);
	for (i = 0; i < nr; i++)
		free(res[i]);
	free(res);
	rows_compact(f);
	count_pending(f);
	gfwd_fleet_flush(d);
}

bool gfwd_fleet_event(struct gfwd *d, int fd)
{
	if (!d->fleet || fd != d->fleet->mb.evfd)
		return false;
	gfwd_fleet_event_fd(d);
	return true;
}

void gfwd_fleet_flush(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;

	if (!f || geofw_store_in_txn(d->store))
		return;
	load_rows(f, false);
	hand_rows(f);
	count_pending(f);
}

/* ---- main thread: fwctl's changes --------------------------------------------------------- */

static int writable_or_refuse(struct gfwd *d, char *err, size_t errlen)
{
	struct gfwd_fleet *f = d->fleet;

	if (!f)
		return geofw_errf(err, errlen, -ENOTCONN, "no fleet is configured (FleetServers "
				  "is empty in %s): use --local", d->conf_path);
	if ((f->connected && !f->writable) || (!f->connected && f->known_writable == 0))
		return geofw_errf(err, errlen, -EPERM, "fleet: this host's NATS credentials only "
				  "allow reading bucket %s%s: fleet changes refused (--local changes "
				  "this host only)", d->conf.fleet_bucket,
				  f->connected ? "" : " (found at the last connection)");
	return 0;
}

int gfwd_fleet_queue_key(struct gfwd *d, const char *key, const char *value, char *err,
			 size_t errlen)
{
	long long base = 0;
	char *old = NULL;
	int ret;

	if ((ret = writable_or_refuse(d, err, errlen)))
		return ret;
	/* The revision this change is based on: what this host has applied. */
	ret = geofw_store_fleet_get(d->store, key, &base, &old);
	free(old);
	if (ret == -ENOENT)
		base = 0;
	else if (ret)
		return geofw_errf(err, errlen, ret, "fleet: reading key %s: %s", key,
				  strerror(-ret));
	return geofw_store_outbox_add(d->store, key, value, base, err, errlen);
}

int gfwd_fleet_queue(struct gfwd *d, const struct geofw_rule *rules, size_t n, bool del,
		     char *err, size_t errlen)
{
	char key[GEOFW_FLEET_KEY_MAX];
	size_t i;
	int ret;

	if ((ret = writable_or_refuse(d, err, errlen)))
		return ret;
	for (i = 0; i < n; i++) {
		char *v = NULL;

		if ((ret = geofw_fleet_key(&rules[i], key, sizeof(key))))
			return geofw_errf(err, errlen, ret, "fleet: this rule cannot be a fleet "
					  "rule: use --local");
		if (!del && !(v = geofw_fleet_value_format(&rules[i], d->fleet->host)))
			return geofw_errf(err, errlen, -ENOMEM, "out of memory");
		ret = gfwd_fleet_queue_key(d, key, v, err, errlen);
		free(v);
		if (ret)
			return ret;
	}
	return 0;
}

const char *gfwd_fleet_host(const struct gfwd *d)
{
	return d->fleet ? d->fleet->host : "";
}

const struct geofw_store_countries *gfwd_fleet_countries(const struct gfwd *d)
{
	return d->fleet && d->fleet->has_countries ? &d->fleet->countries : NULL;
}

int gfwd_fleet_origin(const struct gfwd *d, const struct geofw_rule *r, char *buf, size_t len)
{
	struct geofw_fleet_value v;
	char key[GEOFW_FLEET_KEY_MAX], *value = NULL;
	long long rev;
	int ret;

	buf[0] = '\0';
	if ((ret = geofw_fleet_key(r, key, sizeof(key))) ||
	    (ret = geofw_store_fleet_get(d->store, key, &rev, &value)))
		return ret;
	if (!value)
		return -ENOENT;
	if (!geofw_fleet_value_parse(value, &v))
		snprintf(buf, len, "%s", v.origin);
	free(value);
	return buf[0] ? 0 : -EINVAL;
}

/* ---- the rest ------------------------------------------------------------------------- */

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
	out->writable = f->connected ? f->writable : f->known_writable != 0;
	out->writable_known = f->connected || f->known_writable >= 0;
	out->synced = f->synced;
	out->url = f->url;
	out->error = f->error;
	out->revision = f->revision;
	out->head = f->head > f->revision ? f->head : f->revision;
	out->last_update = f->last_update;
	out->pending = f->pending;
	out->refused = f->refused;
	out->published = f->published;
	out->superseded = f->superseded;
	out->asn_refused = f->asn_refused;
	out->stalls = f->stalls;
	out->host = f->host;
	out->countries = f->has_countries;
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
	long long rev = 0, w = -1;
	int ret;

	if (!d->conf.n_fleet_servers)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return log_err(-ENOMEM, "fleet: out of memory");
	f->d = d;
	snprintf(f->bucket, sizeof(f->bucket), "%s", d->conf.fleet_bucket);
	snprintf(f->subject_prefix, sizeof(f->subject_prefix), "$KV.%s.", d->conf.fleet_bucket);
	f->replicas = d->conf.fleet_replicas;
	f->mb.evfd = -1;
	f->out_tail = &f->out_head;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	if (gethostname(f->host, sizeof(f->host) - 1) || !f->host[0])
		snprintf(f->host, sizeof(f->host), "unknown");
	f->host[strcspn(f->host, " \t\n")] = '\0';
	if (!geofw_store_get_setting(d->store, FLEET_REV_KEY, &rev))
		f->revision = rev;
	f->crash_after_ack = getenv("GEOFW_TEST_FLEET_CRASH_AFTER_ACK") != NULL;
	f->known_writable = geofw_store_get_setting(d->store, FLEET_WRITABLE_KEY, &w) ? -1
											 : w != 0;
	if ((ret = gfwd_mailbox_init(&f->mb, "fleet")))
		goto fail;
	if ((ret = fleet_setup_options(f, err, sizeof(err)))) {
		log_err(ret, "%s", err);
		goto fail;
	}
	d->fleet = f;
	/* What the outbox holds now may have reached the bucket before a
	 * crash: decided against the bucket once in step with it. */
	load_rows(f, true);
	count_pending(f);
	fleet_load_countries(f, false);
	ev.data.fd = f->mb.evfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, f->mb.evfd, &ev);
	ret = pthread_create(&f->thread, NULL, fleet_worker, f);
	if (ret) {
		d->fleet = NULL;
		ret = log_err(-ret, "fleet: cannot start its thread: %s", strerror(ret));
		goto fail;
	}
	f->thread_started = true;
	log_info("fleet: servers %s%s, bucket %s, revision %lld applied, %zu change(s) pending%s",
		 d->conf.fleet_servers[0], d->conf.n_fleet_servers > 1 ? " ..." : "",
		 d->conf.fleet_bucket, f->revision, f->pending,
		 f->known_writable == 0 ? " (read-only at the last connection)" : "");
	return 0;
fail:
	gfwd_mailbox_destroy(&f->mb);
	if (f->opts)
		natsOptions_Destroy(f->opts);
	free(f->rows);
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
		struct pollfd p = { .fd = f->mb.evfd, .events = POLLIN };
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
	struct gfwd_mail *m, *next;
	size_t i;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
	if (f->thread_started)
		pthread_join(f->thread, NULL);
	/* No ack handler runs once the connection is closed. */
	if (f->nc)
		natsConnection_Close(f->nc);
	fleet_drop_bucket(f);
	if (f->nc)
		natsConnection_Destroy(f->nc);
	natsOptions_Destroy(f->opts);
	for (m = gfwd_mailbox_take(&f->mb); m; m = next) {
		struct fleet_ev *ev = (struct fleet_ev *)m;

		next = m->next;
		fleet_free_entries(ev->e, ev->n);
		free(ev);
	}
	for (i = 0; i < f->n_rows; i++) {
		free(f->rows[i].key);
		free(f->rows[i].value);
	}
	free(f->rows);
	gfwd_mailbox_destroy(&f->mb);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->wake);
	free(f);
	d->fleet = NULL;
}
