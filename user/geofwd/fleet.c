// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet: the rules every edge host shares, in a NATS JetStream
 * key-value bucket (FleetServers, FleetBucket; docs/design-notes.md).
 *
 * Threads.  libnats' KV watcher is synchronous, so one worker thread owns
 * everything NATS: the connection (reconnecting forever), the bucket, the
 * watcher and the publishing of this host's fleet-scope changes.  It never
 * touches the store or the maps: it hands what it learns to the event loop
 * through a locked queue and an eventfd, and the main thread does every
 * write (rows, revision, kernel diff) in its own transactions.
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
#include <sys/eventfd.h>
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

#define FLEET_SOURCE		"fleet"
#define FLEET_REV_KEY		"fleet_revision"
#define FLEET_WRITABLE_KEY	"fleet_writable"	/* the last connection's answer */
#define FLEET_PROBE_KEY		"geofw-write-probe"
#define FLEET_POLL_MS		20	/* watcher wait between outbox checks: the
					 * most a change waits before it is sent */
#define FLEET_BUSY_POLL_MS	5	/* ... while changes wait to be sent */
#define FLEET_INFLIGHT		256	/* published, ack not yet received */
#define FLEET_BURST_MAX		4096	/* entries applied in one transaction */
#define FLEET_ACK_WAIT_MS	5000
#define FLEET_BACKOFF_MIN_MS	250
#define FLEET_BACKOFF_MAX_MS	5000
#define FLEET_HDR_EXPECT	"Nats-Expected-Last-Subject-Sequence"
#define FLEET_HEAD_MS		2000	/* how often the bucket's last revision is asked */

enum ev_type { EV_STATE, EV_SNAPSHOT, EV_ENTRY, EV_RESULT, EV_HEAD };

/* What became of a change handed to the worker. */
enum pub_result {
	PUB_OK,		/* in the bucket at rev */
	PUB_CONFLICT,	/* conditional: the key had changed; not written */
	PUB_REFUSED,	/* no permission; not written */
	PUB_UNANSWERED,	/* sent, no answer: it may be in the bucket */
	PUB_UNSENT,	/* never sent (the connection went first) */
};

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
	/* EV_RESULT; EV_HEAD: rev is the bucket's last revision */
	long long id;
	int result;
	__u64 rev;
};

/* A change with the worker: queued, then in flight. */
struct fleet_out {
	struct fleet_out *next;
	long long id;
	char *key, *value;
	long long expect;	/* -1: unconditional; else the key's revision now */
	natsMsg *msg;		/* in flight: the message awaiting its ack */
};

/* An outbox row, as the main thread tracks it. */
struct fleet_row {
	long long id, base;
	char *key, *value;
	bool unsure;		/* may be in the bucket already */
	bool with_worker;
	bool refused;		/* the bucket refused it (read-only): kept */
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
	struct fleet_out *inflight;
	size_t n_inflight;
	bool stop;

	/* copies of the config: the main thread may replace d->conf */
	char bucket[GEOFW_CONF_FLEET_BUCKET_LEN];
	char subject_prefix[GEOFW_CONF_FLEET_BUCKET_LEN + 8];
	int replicas;

	/* worker's own */
	natsConnection *nc;
	natsOptions *opts;
	jsCtx *js;
	kvStore *kv;
	kvWatcher *w;
	volatile int not_permitted;	/* error handler saw a permissions violation */
	volatile int generation;	/* reconnects seen: the watcher restarts */
	long long head_asked;		/* ms (monotonic) of the last ask_head() */
	int resync;			/* main asks for a new snapshot (atomic) */

	/* main thread's own */
	bool connected, writable, synced, in_step;
	int known_writable;		/* -1: never connected; else last answer */
	char url[GEOFW_CONF_FLEET_URL_LEN];
	char error[256];
	long long revision;		/* last applied */
	long long head;			/* the bucket's last revision, as last asked */
	time_t last_update;		/* last entry applied (or snapshot) */
	struct fleet_row *rows;		/* the outbox, by id */
	size_t n_rows, cap_rows, dead_rows;
	long long loaded;		/* outbox ids up to this one are in rows */
	size_t pending, refused;
	unsigned long published, superseded;
	unsigned long asn_refused;		/* AS entries over the limit, since start */
	bool has_countries;
	struct geofw_store_countries countries;	/* the fleet's policy */
	bool crash_after_ack;		/* GEOFW_TEST_FLEET_CRASH_AFTER_ACK */
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

static void out_free(struct fleet_out *o)
{
	free(o->key);
	free(o->value);
	free(o);
}

/* The result of one change; o is freed. */
static void post_result(struct gfwd_fleet *f, struct fleet_out *o, int result, __u64 rev)
{
	struct fleet_ev *ev = calloc(1, sizeof(*ev));

	if (ev) {
		ev->type = EV_RESULT;
		ev->id = o->id;
		ev->result = result;
		ev->rev = rev;
		post(f, ev);
	}
	out_free(o);
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

/* Given, so that natsConnection_Connect() returns at once when no server
 * answers and libnats keeps trying in the background (without it the call
 * retries in place, forever, and a stop would wait for it). */
static void on_connected(natsConnection *nc, void *arg)
{
	(void)nc;
	(void)arg;
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	struct gfwd_fleet *f = arg;

	(void)nc;
	f->generation++;
}

/* libnats' thread: the bucket answered one publish (or did not in time). */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *arg)
{
	struct gfwd_fleet *f = arg;
	struct fleet_out **pp, *o = NULL;
	int result;

	(void)js;
	pthread_mutex_lock(&f->lock);
	for (pp = &f->inflight; *pp; pp = &(*pp)->next)
		if ((*pp)->msg == msg) {
			o = *pp;
			*pp = o->next;
			f->n_inflight--;
			break;
		}
	pthread_mutex_unlock(&f->lock);
	if (o) {
		if (pa)
			result = PUB_OK;
		else if (pae && pae->ErrCode == JSStreamWrongLastSequenceErr)
			result = PUB_CONFLICT;
		else if (f->not_permitted || (pae && pae->Err == NATS_NOT_PERMITTED))
			result = PUB_REFUSED;
		else
			result = PUB_UNANSWERED;
		post_result(f, o, result, pa ? pa->Sequence : 0);
	}
	natsMsg_Destroy(msg);
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
		s = natsOptions_SetRetryOnFailedConnect(f->opts, true, on_connected, f);
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

/* Everything with the worker goes back to the main thread: what was sent
 * may be in the bucket, what was not is simply not. */
static void return_outs(struct gfwd_fleet *f)
{
	struct fleet_out *sent, *unsent, *o;

	pthread_mutex_lock(&f->lock);
	sent = f->inflight;
	unsent = f->out_head;
	f->inflight = NULL;
	f->n_inflight = 0;
	f->out_head = NULL;
	f->out_tail = &f->out_head;
	pthread_mutex_unlock(&f->lock);
	while ((o = sent)) {
		sent = o->next;
		post_result(f, o, PUB_UNANSWERED, 0);
	}
	while ((o = unsent)) {
		unsent = o->next;
		post_result(f, o, PUB_UNSENT, 0);
	}
}

static void drop_bucket(struct gfwd_fleet *f)
{
	if (f->w) {
		kvWatcher_Stop(f->w);
		kvWatcher_Destroy(f->w);
		f->w = NULL;
	}
	return_outs(f);
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
	jo.PublishAsync.MaxPending = FLEET_INFLIGHT * 2;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = f;
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
 * May this host write?  A put that expects a revision no key has is
 * answered by JetStream without writing anything ("wrong last sequence");
 * credentials without publish permission get a permissions violation from
 * the server at once.  Neither within the wait (a stream leader election):
 * taken as writable, and a refusal later keeps the change pending.
 */
static bool probe_writable(struct gfwd_fleet *f)
{
	char subj[sizeof(f->subject_prefix) + sizeof(FLEET_PROBE_KEY)];
	natsSubscription *sub = NULL;
	natsInbox *inbox = NULL;
	natsMsg *m = NULL, *reply = NULL;
	bool writable = true;
	natsStatus s;
	int waited;

	snprintf(subj, sizeof(subj), "%s%s", f->subject_prefix, FLEET_PROBE_KEY);
	f->not_permitted = 0;
	s = natsInbox_Create(&inbox);
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&sub, f->nc, inbox);
	if (s == NATS_OK)
		s = natsMsg_Create(&m, subj, inbox, "", 0);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, FLEET_HDR_EXPECT, "9223372036854775807");
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(f->nc, m);
	for (waited = 0; s == NATS_OK && waited < 3000; waited += 20) {
		s = natsSubscription_NextMsg(&reply, sub, 20);
		if (s == NATS_OK || f->not_permitted)
			break;
		if (s == NATS_TIMEOUT)
			s = NATS_OK;
	}
	if (f->not_permitted || s == NATS_NOT_PERMITTED)
		writable = false;
	nats_GetLastError(&s);
	natsMsg_Destroy(reply);
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	return writable;
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
		if (!(ne = geofw_grow(e, &cap, n, sizeof(*e), 256))) {
			kvEntry_Destroy(ke);
			goto fail;
		}
		e = ne;
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

/*
 * Send what the main thread handed over, up to FLEET_INFLIGHT awaiting
 * their acks (on_ack).  A put or delete is a message on the key's subject
 * ("$KV.BUCKET.KEY"); a conditional one carries the revision the key must
 * still have.  1: more waits to be sent, 0: all sent, -1: connection
 * trouble (what is left waits for the next connection).
 */
static int publish(struct gfwd_fleet *f)
{
	char subj[sizeof(f->subject_prefix) + GEOFW_FLEET_KEY_MAX + 8], num[24];
	jsPubOptions po;

	jsPubOptions_Init(&po);
	po.MaxWait = FLEET_ACK_WAIT_MS;
	for (;;) {
		struct fleet_out *o;
		natsMsg *m = NULL;
		natsStatus s;

		pthread_mutex_lock(&f->lock);
		o = f->n_inflight < FLEET_INFLIGHT ? f->out_head : NULL;
		if (o) {
			f->out_head = o->next;
			if (!f->out_head)
				f->out_tail = &f->out_head;
		}
		pthread_mutex_unlock(&f->lock);
		if (!o) {
			bool more;

			pthread_mutex_lock(&f->lock);
			more = f->out_head != NULL;
			pthread_mutex_unlock(&f->lock);
			return more;
		}
		snprintf(subj, sizeof(subj), "%s%s", f->subject_prefix, o->key);
		s = natsMsg_Create(&m, subj, NULL, o->value ? o->value : "",
				   o->value ? (int)strlen(o->value) : 0);
		if (s == NATS_OK && !o->value)
			s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
		if (s == NATS_OK && o->expect >= 0) {
			snprintf(num, sizeof(num), "%lld", o->expect);
			s = natsMsgHeader_Set(m, FLEET_HDR_EXPECT, num);
		}
		if (s != NATS_OK) {
			natsMsg_Destroy(m);
			post_result(f, o, PUB_UNSENT, 0);
			return -1;
		}
		/* In the list before the ack can come back. */
		o->msg = m;
		pthread_mutex_lock(&f->lock);
		o->next = f->inflight;
		f->inflight = o;
		f->n_inflight++;
		pthread_mutex_unlock(&f->lock);
		f->not_permitted = 0;
		s = js_PublishMsgAsync(f->js, &m, &po);
		if (s != NATS_OK) {
			/* Not sent: out of the list again, unless an answer took it. */
			struct fleet_out **pp;
			bool mine = false;

			pthread_mutex_lock(&f->lock);
			for (pp = &f->inflight; *pp; pp = &(*pp)->next)
				if (*pp == o) {
					*pp = o->next;
					f->n_inflight--;
					mine = true;
					break;
				}
			pthread_mutex_unlock(&f->lock);
			natsMsg_Destroy(m);
			if (mine)
				post_result(f, o, PUB_UNSENT, 0);
			nats_GetLastError(&s);
			return -1;
		}
	}
}

/* Now and then, the bucket's last revision: how far behind this host is. */
static void ask_head(struct gfwd_fleet *f)
{
	char stream[sizeof(f->bucket) + 4];
	jsStreamInfo *si = NULL;
	struct fleet_ev *ev;
	struct timespec now;
	jsOptions jo;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (ms - f->head_asked < FLEET_HEAD_MS)
		return;
	f->head_asked = ms;
	jsOptions_Init(&jo);
	jo.Wait = 500;
	snprintf(stream, sizeof(stream), "KV_%s", f->bucket);
	if (js_GetStreamInfo(&si, f->js, stream, &jo, NULL) != NATS_OK || !si) {
		natsStatus s = NATS_OK;

		nats_GetLastError(&s);
		return;
	}
	if ((ev = calloc(1, sizeof(*ev)))) {
		ev->type = EV_HEAD;
		ev->rev = si->State.LastSeq;
		post(f, ev);
	}
	jsStreamInfo_Destroy(si);
}

/*
 * An entry, and the ones right behind it (a burst: an import on another
 * host), as one event: the main thread applies them in one transaction,
 * one fsync, instead of one per wake-up.
 */
static void take_burst(struct gfwd_fleet *f, kvEntry *ke)
{
	struct fleet_entry *e = NULL, *ne;
	size_t n = 0, cap = 0;
	struct fleet_ev *ev;

	while (ke) {
		if (!(ne = geofw_grow(e, &cap, n, sizeof(*e), 16))) {
			kvEntry_Destroy(ke);
			break;
		}
		e = ne;
		if (!take_entry(ke, &e[n]))
			n++;
		kvEntry_Destroy(ke);
		ke = NULL;
		if (n >= FLEET_BURST_MAX || kvWatcher_Next(&ke, f->w, 1) != NATS_OK)
			ke = NULL;
	}
	ev = n ? calloc(1, sizeof(*ev)) : NULL;
	if (!ev) {
		free_entries(e, n);
		return;
	}
	ev->type = EV_ENTRY;
	ev->e = e;
	ev->n = n;
	post(f, ev);
}

static void *worker(void *arg)
{
	struct gfwd_fleet *f = arg;
	int backoff = FLEET_BACKOFF_MIN_MS, waiting = 0;
	char msg[256];
	natsStatus s;

	s = natsConnection_Connect(&f->nc, f->opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		snprintf(msg, sizeof(msg), "cannot connect: %s", nats_GetLastError(&s));
		post_state(f, false, false, msg);
		return NULL;
	}
	while (!stopping(f)) {
		int gen, busy = 0;
		bool writable;

		if (natsConnection_Status(f->nc) != NATS_CONN_STATUS_CONNECTED) {
			/* Why not, now and then (a TLS or authorization error is
			 * only in the connection's last error). */
			if (++waiting % (2000 / FLEET_POLL_MS) == 1) {
				const char *why = NULL;

				natsConnection_GetLastError(f->nc, &why);
				snprintf(msg, sizeof(msg), "cannot connect: %s",
					 why && *why ? why : "no server answered");
				post_state(f, false, false, msg);
			}
			nap(f, FLEET_POLL_MS);
			continue;
		}
		waiting = 0;
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

			if ((busy = publish(f)) < 0)
				break;
			ask_head(f);
			s = kvWatcher_Next(&ke, f->w, busy ? FLEET_BUSY_POLL_MS : FLEET_POLL_MS);
			if (s == NATS_TIMEOUT)
				continue;
			if (s != NATS_OK)
				break;
			if (ke)
				take_burst(f, ke);
		}
		drop_bucket(f);
		if (__atomic_exchange_n(&f->resync, 0, __ATOMIC_ACQ_REL)) {
			/* Applying failed here, or a change went unanswered:
			 * read the bucket again, in a while. */
			nap(f, 1000);
			continue;
		}
		if (!stopping(f))
			post_state(f, false, false, "connection lost; reconnecting");
	}
	return NULL;
}

/* ---- main thread: the bucket's entries ---------------------------------------------- */

static int cmp_rule(const void *a, const void *b)
{
	const struct geofw_rule *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return geofw_cidr_cmp(&x->prefix, &y->prefix);
}

/*
 * Fill r from one entry of a block or allow key (prefix or AS); 1: a live
 * rule, 0: a delete (or an expired rule), 2: a key of another kind (kept
 * in fleet_keys only), -EINVAL: not understood.
 */
static int entry_rule(const struct fleet_entry *e, struct geofw_rule *r, char **buf)
{
	const char *origin;
	int kind;

	*buf = NULL;
	kind = geofw_fleet_key_parse(e->key, r);
	if (kind == -EOPNOTSUPP || kind == GEOFW_FLEET_COUNTRY ||
	    kind == GEOFW_FLEET_COUNTRY_MODE || kind == GEOFW_FLEET_COUNTRY_ACTION)
		return 2;
	if (kind < 0)
		return -EINVAL;
	r->source = FLEET_SOURCE;
	if (!e->value)
		return 0;
	*buf = strdup(e->value);
	if (!*buf || geofw_fleet_rule_parse(*buf, r, &origin))
		return -EINVAL;
	if (r->expires && r->expires <= (__u64)time(NULL))
		return 0;
	return 1;
}

static bool is_country_key(const char *key)
{
	return !strncmp(key, "country.", 8);
}

struct country_ctx {
	struct geofw_store_countries c;
	bool any;
};

static int country_key(const char *key, long long rev, const char *value, void *arg)
{
	struct country_ctx *cx = arg;
	struct geofw_fleet_value v;
	struct geofw_rule r;
	char *buf;
	int kind, a;

	(void)rev;
	if (!value)
		return 0;
	kind = geofw_fleet_key_parse(key, &r);
	buf = strdup(value);
	if (!buf)
		return -ENOMEM;
	if (kind < 0 || geofw_fleet_value_parse(buf, &v))
		goto bad;
	if (kind == GEOFW_FLEET_COUNTRY_MODE) {
		if (!strcmp(v.word, "block"))
			cx->c.mode = GEOFW_MODE_BLOCK_LISTED;
		else if (!strcmp(v.word, "allow"))
			cx->c.mode = GEOFW_MODE_ALLOW_LISTED;
		else
			goto bad;
	} else {
		a = strcmp(v.word, "default") || kind != GEOFW_FLEET_COUNTRY
		    ? geofw_action_parse(v.word) : 0;
		if (a < 0 || (a == GEOFW_ACT_PASS && kind != GEOFW_FLEET_COUNTRY) ||
		    a >= GEOFW_ACT_MAX)
			goto bad;
		if (kind == GEOFW_FLEET_COUNTRY_ACTION) {
			cx->c.action = (__u8)a;
		} else {
			cx->c.listed[r.country] = true;
			cx->c.country_action[r.country] = (__u8)a;
		}
	}
	cx->any = true;
	free(buf);
	return 0;
bad:
	log_warn("fleet: key %s: value not understood; skipped", key);
	free(buf);
	return 0;
}

/* The fleet's country policy from fleet_keys; kernel policy when it changed. */
static void load_countries(struct gfwd_fleet *f, bool apply)
{
	struct country_ctx cx = { .c.action = GEOFW_ACT_DROP };

	cx.c.override = true;
	geofw_store_fleet_for_each(f->d->store, "country.", country_key, &cx);
	if (!cx.any && !f->has_countries)
		return;
	f->has_countries = cx.any;
	f->countries = cx.c;
	if (apply) {
		gfwd_apply_countries(f->d);
		gfwd_apply_kernel_config(f->d);
	}
}

/* The AS tables after a COMMIT that changed AS rows of the fleet. */
static void asn_sync(struct gfwd_fleet *f)
{
	char msg[GEOFW_ERRLEN];
	int err = gfwd_asn_sync(f->d, false, "fleet", msg, sizeof(msg));

	if (err)
		log_err(err, "fleet: the AS rules of bucket %s are stored but the AS tables could "
			"not be rebuilt: %s (the tables in force stay)", f->d->conf.fleet_bucket,
			msg);
}

/*
 * Add one AS rule of the bucket (in the burst's transaction) unless it
 * would give this host more ASes with rules than the AS tables can hold:
 * then it alone is refused here, logged and counted.  1: added, 0:
 * refused, -errno: the store failed.
 */
static int add_asn(struct gfwd_fleet *f, const struct geofw_rule *r, const char *key,
		   char *msg, size_t len)
{
	struct geofw_store *st = f->d->store;
	size_t n = 0;
	int err;

	if ((err = geofw_store_savepoint(st, msg, len)))
		return err;
	err = geofw_store_add(st, r, 1, 0, NULL, msg, len);
	if (!err && (err = gfwd_asn_wanted_count(f->d, &n)))
		snprintf(msg, len, "counting the ASes with rules: %s", strerror(-err));
	if (!err && n > GEOFW_ASN_CLASS_MAX_ID) {
		geofw_store_rollback_to(st);
		f->asn_refused++;
		log_warn("fleet: key %s refused on this host: AS%u would be AS number %zu with "
			 "rules here, at most %u (geofw.conf and every source together); the "
			 "other changes apply", key, r->asn, n, GEOFW_ASN_CLASS_MAX_ID);
		return 0;
	}
	if (err) {
		geofw_store_rollback_to(st);
		return err;
	}
	return (err = geofw_store_release(st, msg, len)) ? err : 1;
}

static void apply_snapshot(struct gfwd_fleet *f, struct fleet_entry *e, size_t n)
{
	struct gfwd *d = f->d;
	struct geofw_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	struct geofw_rule *asns = calloc(n ? n : 1, sizeof(*asns));
	const char **asn_keys = calloc(n ? n : 1, sizeof(*asn_keys));
	char **bufs = calloc(n ? n : 1, sizeof(*bufs));
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	size_t i, m = 0, na = 0, removed = 0, removed_asn = 0, bad = 0, refused = 0, wanted = 0;
	__u64 maxrev = 0;
	int err;

	if (!rules || !asns || !asn_keys || !bufs) {
		log_err(-ENOMEM, "fleet: out of memory for %zu entries", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct geofw_rule *to = &rules[m];
		int r = entry_rule(&e[i], to, &bufs[i]);

		if (e[i].rev > maxrev)
			maxrev = e[i].rev;
		if (r < 0 && strcmp(e[i].key, FLEET_PROBE_KEY))
			bad++;
		if (r == 1 && geofw_rule_kind_asn(to->kind)) {
			asn_keys[na] = e[i].key;
			asns[na++] = *to;	/* in revision order: the first come stay */
		} else if (r == 1) {
			m++;
		}
	}
	qsort(rules, m, sizeof(*rules), cmp_rule);
	err = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!err)
		err = geofw_store_replace_source(d->store, FLEET_SOURCE, rules, m, &removed, &diff,
						 msg, sizeof(msg));
	/* The AS rows in the same transaction: all of them when the AS tables
	 * hold them (the usual case, one replace), else one by one in
	 * revision order, each refused that would go over the limit. */
	if (!err)
		err = geofw_store_savepoint(d->store, msg, sizeof(msg));
	if (!err)
		err = geofw_store_replace_source_asn(d->store, FLEET_SOURCE, asns, na,
						     &removed_asn, msg, sizeof(msg));
	if (!err)
		err = gfwd_asn_wanted_count(d, &wanted);
	if (!err && wanted > GEOFW_ASN_CLASS_MAX_ID) {
		size_t all;

		geofw_store_rollback_to(d->store);
		err = geofw_store_replace_source_asn(d->store, FLEET_SOURCE, NULL, 0, &all, msg,
						     sizeof(msg));
		for (i = 0; !err && i < na; i++) {
			int r = add_asn(f, &asns[i], asn_keys[i], msg, sizeof(msg));

			err = r < 0 ? r : 0;
			refused += r == 0;
		}
	} else if (!err) {
		err = geofw_store_release(d->store, msg, sizeof(msg));
	}
	if (!err)
		err = geofw_store_fleet_clear(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++)
		if (strcmp(e[i].key, FLEET_PROBE_KEY))
			err = geofw_store_fleet_put(d->store, e[i].key, (long long)e[i].rev,
						    e[i].value, msg, sizeof(msg));
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
	asn_sync(f);
	f->revision = (long long)maxrev;
	f->synced = true;
	f->in_step = true;
	f->last_update = time(NULL);
	load_countries(f, true);
	gfwd_arm_sweep(d);
	log_info("fleet: in step with bucket %s at revision %lld: %zu rules (%zu removed), "
		 "%zu AS rules (%zu removed%s)%s%s", d->conf.fleet_bucket, f->revision, m, removed,
		 na - refused, removed_asn, refused ? ", some refused: over the AS limit" : "",
		 f->has_countries ? ", a country policy" : "",
		 bad ? ", some entries not understood were skipped" : "");
out:
	for (i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(asn_keys);
	free(asns);
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
	bool countries = false, asn = false;
	size_t i;
	int err;

	err = geofw_store_begin(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++) {
		struct geofw_rule r;
		char *buf;
		int live;

		if ((long long)v[i]->rev <= rev)
			continue;	/* seen: a replay after a reconnect */
		if (!strcmp(v[i]->key, FLEET_PROBE_KEY))
			continue;
		live = entry_rule(v[i], &r, &buf);
		if ((live == 0 || live == 1) && geofw_rule_kind_asn(r.kind)) {
			asn = true;
			if (live == 1)	/* 0: refused here, the burst goes on */
				err = add_asn(f, &r, v[i]->key, msg, sizeof(msg));
			else
				err = geofw_store_del_asn(d->store, r.kind, &r.asn, 1, FLEET_SOURCE,
							  msg, sizeof(msg));
			if (err > 0 || err == -ENOENT)
				err = 0;
		} else if (live == 1) {
			err = geofw_store_add(d->store, &r, 1, 0, &diff, msg, sizeof(msg));
		} else if (live == 0) {
			err = geofw_store_del(d->store, r.kind, &r.prefix, 1, FLEET_SOURCE, &diff,
					      msg, sizeof(msg));
			if (err == -ENOENT)
				err = 0;
		} else if (live < 0) {
			log_warn("fleet: key %s at revision %llu not understood; skipped",
				 v[i]->key, (unsigned long long)v[i]->rev);
		}
		countries |= is_country_key(v[i]->key);
		free(buf);
		if (!err)
			err = geofw_store_fleet_put(d->store, v[i]->key, (long long)v[i]->rev,
						    v[i]->value, msg, sizeof(msg));
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
		if (asn)
			asn_sync(f);	/* once for the burst */
		f->revision = rev;
		f->last_update = time(NULL);
		if (countries)
			load_countries(f, true);
		gfwd_arm_sweep(d);
	}
	geofw_kdiff_free(&diff);
}

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
			out_free(o);
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
	if (!ev->connected)
		f->in_step = false;
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
		apply_entries(f, v, n);
out:
	free(v);
	for (ev = *list; ev; ev = next) {
		next = ev->next;
		free_entries(ev->e, ev->n);
		free(ev);
	}
	*list = NULL;
}

void gfwd_fleet_event_fd(struct gfwd *d)
{
	struct gfwd_fleet *f = d->fleet;
	struct fleet_ev *ev, *next, **res = NULL, **nres, *entries = NULL, **etail = &entries;
	size_t nr = 0, rcap = 0, i;
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
			apply_snapshot(f, ev->e, ev->n);
			free_entries(ev->e, ev->n);
		} else if (ev->type == EV_STATE) {
			set_state(f, ev);
		} else if (ev->type == EV_HEAD) {
			f->head = (long long)ev->rev;
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
	if (!d->fleet || fd != d->fleet->evfd)
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
	f->ev_tail = &f->ev_head;
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
	/* What the outbox holds now may have reached the bucket before a
	 * crash: decided against the bucket once in step with it. */
	load_rows(f, true);
	count_pending(f);
	load_countries(f, false);
	ev.data.fd = f->evfd;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, f->evfd, &ev);
	ret = pthread_create(&f->thread, NULL, worker, f);
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
	if (f->evfd >= 0)
		close(f->evfd);
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
	struct fleet_ev *ev, *nev;
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
	drop_bucket(f);
	if (f->nc)
		natsConnection_Destroy(f->nc);
	natsOptions_Destroy(f->opts);
	for (ev = f->ev_head; ev; ev = nev) {
		nev = ev->next;
		free_entries(ev->e, ev->n);
		free(ev);
	}
	for (i = 0; i < f->n_rows; i++) {
		free(f->rows[i].key);
		free(f->rows[i].value);
	}
	free(f->rows);
	close(f->evfd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->wake);
	free(f);
	d->fleet = NULL;
}
