// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet's worker thread (fleet.c says why there is one): everything
 * NATS — the connection, the bucket, the watcher, publishing — handed to
 * the main thread as events through a mailbox (mailbox.h).
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

#include "grow.h"
#include "log.h"
#include "msg.h"
#include "fleet_int.h"

/* ---- worker -> main -------------------------------------------------------------- */

static void post(struct gfwd_fleet *f, struct fleet_ev *ev)
{
	gfwd_mailbox_post(&f->mb, &ev->mail);
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

void fleet_out_free(struct fleet_out *o)
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
	fleet_out_free(o);
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

int fleet_setup_options(struct gfwd_fleet *f, char *err, size_t errlen)
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

void fleet_drop_bucket(struct gfwd_fleet *f)
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

void fleet_free_entries(struct fleet_entry *e, size_t n)
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
	fleet_free_entries(e, n);
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
		fleet_free_entries(e, n);
		return;
	}
	ev->type = EV_ENTRY;
	ev->e = e;
	ev->n = n;
	post(f, ev);
}

/*
 * libnats closes a connection for good when a server refuses its
 * credentials twice in a row, and tries no server again: a refusal that
 * ends (an account or its keys being replaced on the server, a resolver not
 * ready yet) would cut this host off the fleet until a restart.  So a
 * closed connection is replaced by a new one after *wait ms (doubling up to
 * FLEET_REOPEN_MAX_MS); the status keeps the reason meanwhile.
 */
static void reopen(struct gfwd_fleet *f, int *wait)
{
	const char *why = NULL;
	char msg[256];
	natsStatus s;

	/* The refusal, not the "no server" left once the pool is given up. */
	if (natsConnection_GetLastError(f->nc, &why) != NATS_NO_SERVER && why && *why) {
		snprintf(msg, sizeof(msg), "cannot connect: %s", why);
		post_state(f, false, false, msg);
	}
	nap(f, *wait);
	if (stopping(f))
		return;
	*wait = *wait * 2 > FLEET_REOPEN_MAX_MS ? FLEET_REOPEN_MAX_MS : *wait * 2;
	natsConnection_Destroy(f->nc);
	f->nc = NULL;
	s = natsConnection_Connect(&f->nc, f->opts);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		snprintf(msg, sizeof(msg), "cannot connect: %s", nats_GetLastError(&s));
		post_state(f, false, false, msg);
	}
}

void *fleet_worker(void *arg)
{
	struct gfwd_fleet *f = arg;
	int backoff = FLEET_BACKOFF_MIN_MS, waiting = 0, reopen_ms = FLEET_REOPEN_MIN_MS;
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

		if (natsConnection_Status(f->nc) == NATS_CONN_STATUS_CLOSED) {
			reopen(f, &reopen_ms);
			waiting = 0;
			continue;
		}
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
		reopen_ms = FLEET_REOPEN_MIN_MS;
		gen = f->generation;
		s = bind_bucket(f);
		if (s != NATS_OK) {
			snprintf(msg, sizeof(msg), "bucket %s: %s", f->bucket,
				 nats_GetLastError(&s));
			post_state(f, false, false, msg);
			fleet_drop_bucket(f);
			nap(f, backoff);
			backoff = backoff * 2 > FLEET_BACKOFF_MAX_MS ? FLEET_BACKOFF_MAX_MS
								     : backoff * 2;
			continue;
		}
		writable = probe_writable(f);
		if (snapshot(f)) {
			fleet_drop_bucket(f);
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
		fleet_drop_bucket(f);
		switch (__atomic_exchange_n(&f->resync, 0, __ATOMIC_ACQ_REL)) {
		case FLEET_RESYNC_NOW:
			continue;	/* a silent watcher: at once */
		case 0:
			break;
		default:
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
