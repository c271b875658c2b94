// SPDX-License-Identifier: GPL-2.0-only
#include "state.h"
#include "msg.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "countries.h"
#include "maps.h"

/*
 * Memory layout.  Rules live in dense arrays of 40-byte entries (imports of a
 * million prefixes are the point); a chained hash over the same arrays finds
 * a prefix, the chain link being part of the entry.  Comments and sources are
 * interned with reference counts: an import shares one copy of its source
 * tag.  Removal swaps the last entry into the hole, so the arrays stay dense.
 *
 * Undo.  While recording, each change appends a journal record; replaying the
 * records backwards restores the arrays exactly (positions included), which
 * is what makes swap-removal reversible.  Records of removed or replaced
 * entries hold the entry's references, so an undo never meets a freed string.
 * The arrays and hash tables never shrink while recording, hence undo never
 * allocates and cannot fail.
 */

struct entry {
	struct geofw_cidr prefix;
	__u8  action;
	__u8  pad;
	__u16 rule_id;
	__u16 source;		/* index in st->sources */
	__u64 expires;
	__u32 comment;		/* index in st->comments */
	__u32 next;		/* hash chain: index + 1 of the next entry, 0 ends */
};
_Static_assert(sizeof(struct entry) == 40, "entry size");
_Static_assert(GEOFW_MAX_RULE_IDS <= 65536, "rule ids must fit in 16 bits");

struct table {
	struct entry *v;
	__u32 n, cap;
	__u32 *bucket;		/* index + 1 of a chain's first entry, 0 = empty */
	__u32 mask;		/* number of buckets - 1 */
};

struct pslot {
	char *s;		/* NULL: the slot is free */
	__u32 refs;
	__u32 hash;
	__u32 next;		/* hash chain or free list: index + 1, 0 ends */
	__u16 import_id;	/* sources: rule id of GEOFW_STATE_ONE_ID batches */
};

/* Interned strings; slot 0 is the empty string and is never counted. */
struct pool {
	struct pslot *v;
	__u32 n, cap, used, limit;
	__u32 free;		/* index + 1 of a free slot, 0 = none */
	__u32 *bucket;
	__u32 mask;
};

enum { T_BLOCK, T_ALLOW, T_MAX };

enum {
	C_BLOCK_IP4, C_BLOCK_IP6, C_BLOCK_NET4, C_BLOCK_NET6, C_ALLOW4, C_ALLOW6, C_MAX
};

static const struct {
	size_t limit;
	const char *what;
} class_info[C_MAX] = {
	[C_BLOCK_IP4]	= { GEOFW_MAX_BLOCK_IP, "exact IPv4 blocks" },
	[C_BLOCK_IP6]	= { GEOFW_MAX_BLOCK_IP, "exact IPv6 blocks" },
	[C_BLOCK_NET4]	= { GEOFW_MAX_BLOCK_NET, "IPv4 prefix blocks" },
	[C_BLOCK_NET6]	= { GEOFW_MAX_BLOCK_NET, "IPv6 prefix blocks" },
	[C_ALLOW4]	= { GEOFW_MAX_ALLOW, "IPv4 allow entries" },
	[C_ALLOW6]	= { GEOFW_MAX_ALLOW, "IPv6 allow entries" },
};

enum { J_ADD, J_REMOVE, J_CHANGE, J_COUNTRIES };

struct jrec {
	__u8  type;
	__u8  tab;
	__u32 idx;		/* REMOVE, CHANGE: position; ADD: entries appended */
	union {
		struct entry old;	/* REMOVE, CHANGE: owns its references */
		struct geofw_state_countries *countries;
	};
};

struct geofw_state {
	struct table tab[T_MAX];
	struct pool comments, sources;
	struct geofw_state_countries countries;
	size_t count[C_MAX];
	__u64 min_expiry;
	__u32 next_id;
	__u32 ids_used;

	struct jrec *j;
	size_t jn, jcap;
	bool recording;		/* changes are journaled */
	bool txn;		/* geofw_state_begin() is in force */
	size_t op_mark;		/* first record of the running call */
	__u32 op_next_id, txn_next_id;

	__u32 id_refs[GEOFW_MAX_RULE_IDS];
	/* Source that got the id for a ONE_ID batch, so a later import of the
	 * same list reuses it only while no one else was given it. */
	__u16 id_owner[GEOFW_MAX_RULE_IDS];
};

#define SAVE_BUF	(256 * 1024)
#define LOAD_MAX	(1ULL << 30)
/* Journal capacity kept after a commit; a bigger one goes back to libc. */
#define JOURNAL_KEEP	4096



static const char *prefix_str(const struct geofw_cidr *c, char buf[GEOFW_CIDR_STRLEN])
{
	if (geofw_cidr_format(c, buf, GEOFW_CIDR_STRLEN))
		strcpy(buf, "(invalid prefix)");
	return buf;
}

/* ---- interned strings ------------------------------------------------------ */

static __u32 str_hash(const char *s, size_t len)
{
	__u32 h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static const char *pool_str(const struct pool *p, __u32 idx)
{
	return idx ? p->v[idx].s : "";
}

static void pool_link(struct pool *p, __u32 i)
{
	__u32 b = p->v[i].hash & p->mask;

	p->v[i].next = p->bucket[b];
	p->bucket[b] = i + 1;
}

static int pool_init(struct pool *p, __u32 limit)
{
	p->v = calloc(16, sizeof(*p->v));
	if (!p->v)
		return -ENOMEM;
	p->cap = 16;
	p->n = 1;		/* slot 0: "" */
	p->limit = limit;
	return 0;
}

static void pool_free(struct pool *p)
{
	__u32 i;

	for (i = 1; i < p->n; i++)
		free(p->v[i].s);
	free(p->v);
	free(p->bucket);
	memset(p, 0, sizeof(*p));
}

static int pool_rehash(struct pool *p, __u32 nbuckets)
{
	__u32 *b = calloc(nbuckets, sizeof(*b)), i;

	if (!b)
		return -ENOMEM;
	free(p->bucket);
	p->bucket = b;
	p->mask = nbuckets - 1;
	for (i = 1; i < p->n; i++)
		if (p->v[i].s)
			pool_link(p, i);
	return 0;
}

/* Index of s without taking a reference; false when absent. */
static bool pool_find(const struct pool *p, const char *s, __u32 *out)
{
	size_t len = strlen(s);
	__u32 h, i;

	if (!len) {
		*out = 0;
		return true;
	}
	if (!p->bucket)
		return false;
	h = str_hash(s, len);
	for (i = p->bucket[h & p->mask]; i; i = p->v[i - 1].next) {
		if (p->v[i - 1].hash == h && !strcmp(p->v[i - 1].s, s)) {
			*out = i - 1;
			return true;
		}
	}
	return false;
}

/* Index of s with a reference taken, adding it when new. */
static int pool_get(struct pool *p, const char *s, __u32 *out)
{
	struct pslot *slot;
	char *copy;
	__u32 idx;
	int err;

	if (pool_find(p, s, out)) {
		if (*out)
			p->v[*out].refs++;
		return 0;
	}
	if (p->free) {
		idx = p->free - 1;
	} else {
		if (p->n >= p->limit)
			return -ENOSPC;
		if (p->n == p->cap) {
			struct pslot *v = reallocarray(p->v, p->cap * 2, sizeof(*v));

			if (!v)
				return -ENOMEM;
			p->v = v;
			p->cap *= 2;
		}
		idx = p->n;
	}
	if (!p->bucket || p->used + 1 > p->mask + 1) {
		err = pool_rehash(p, p->bucket ? (p->mask + 1) * 2 : 16);
		if (err)
			return err;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	if (p->free)
		p->free = p->v[idx].next;
	else
		p->n++;
	slot = &p->v[idx];
	memset(slot, 0, sizeof(*slot));
	slot->s = copy;
	slot->refs = 1;
	slot->hash = str_hash(s, strlen(s));
	pool_link(p, idx);
	p->used++;
	*out = idx;
	return 0;
}

static void pool_ref(struct pool *p, __u32 idx)
{
	if (idx)
		p->v[idx].refs++;
}

static void pool_unref(struct pool *p, __u32 idx)
{
	struct pslot *slot = &p->v[idx];
	__u32 *link;

	if (!idx || --slot->refs)
		return;
	for (link = &p->bucket[slot->hash & p->mask]; *link != idx + 1;
	     link = &p->v[*link - 1].next)
		;
	*link = slot->next;
	free(slot->s);
	memset(slot, 0, sizeof(*slot));
	slot->next = p->free;
	p->free = idx + 1;
	p->used--;
}

/*
 * Interning a batch: the entries of an import point at the same comment and
 * source, so remember the last pointer instead of hashing a million times.
 * The cached slot cannot be freed meanwhile: the entry just added holds it,
 * and a replaced entry's record in the journal holds it too.
 */
struct icache {
	const char *ptr;
	__u32 idx;
};

static int intern(struct pool *p, struct icache *c, const char *s, __u32 *out)
{
	int err;

	if (!s)
		s = "";
	if (c->ptr == s) {
		pool_ref(p, c->idx);
		*out = c->idx;
		return 0;
	}
	err = pool_get(p, s, out);
	if (err)
		return err;
	c->ptr = s;
	c->idx = *out;
	return 0;
}

/* ---- rule ids and references ---------------------------------------------- */

static void id_ref(struct geofw_state *st, __u32 id)
{
	if (id && st->id_refs[id]++ == 0)
		st->ids_used++;
}

static void id_unref(struct geofw_state *st, __u32 id)
{
	if (id && --st->id_refs[id] == 0) {
		st->ids_used--;
		st->id_owner[id] = 0;
	}
}

/*
 * The counter moves on from the last id given (so a deleted rule's id, and
 * its hit counter, is not handed out again at once), wraps to the lowest free
 * id past the end, and gives 0 (rule not counted) when every id is in use:
 * blocking matters more than counting.
 */
static __u32 id_alloc(struct geofw_state *st)
{
	__u32 id;

	if (st->ids_used >= GEOFW_MAX_RULE_IDS - 1)
		return 0;
	for (;;) {
		id = st->next_id;
		st->next_id = id + 1 < GEOFW_MAX_RULE_IDS ? id + 1 : 1;
		if (!st->id_refs[id]) {
			st->id_owner[id] = 0;
			return id;
		}
	}
}

static void entry_unref(struct geofw_state *st, const struct entry *e)
{
	pool_unref(&st->comments, e->comment);
	pool_unref(&st->sources, e->source);
	id_unref(st, e->rule_id);
}

/* ---- hash tables of entries -------------------------------------------------- */

static __u32 prefix_hash(const struct geofw_cidr *p)
{
	__u64 a, b, h;

	memcpy(&a, p->addr, 8);
	memcpy(&b, p->addr + 8, 8);
	h = a * 0x9e3779b97f4a7c15ULL;
	h ^= (b ^ ((__u64)p->family << 8 | p->prefixlen)) * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (__u32)h;
}

static bool prefix_eq(const struct geofw_cidr *a, const struct geofw_cidr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Index + 1 of the entry for prefix, 0 when absent. */
static __u32 tab_find(const struct table *t, const struct geofw_cidr *p)
{
	__u32 i;

	if (!t->bucket)
		return 0;
	for (i = t->bucket[prefix_hash(p) & t->mask]; i; i = t->v[i - 1].next)
		if (prefix_eq(&t->v[i - 1].prefix, p))
			return i;
	return 0;
}

static void tab_link(struct table *t, __u32 i)
{
	__u32 b = prefix_hash(&t->v[i].prefix) & t->mask;

	t->v[i].next = t->bucket[b];
	t->bucket[b] = i + 1;
}

static void tab_unlink(struct table *t, __u32 i)
{
	__u32 *link = &t->bucket[prefix_hash(&t->v[i].prefix) & t->mask];

	while (*link != i + 1)
		link = &t->v[*link - 1].next;
	*link = t->v[i].next;
}

/* Room for one more entry, so that the change that follows cannot fail. */
static int tab_reserve(struct table *t)
{
	if (t->n == UINT32_MAX - 1)
		return -ENOSPC;
	if (t->n == t->cap) {
		__u32 cap = t->cap ? (t->cap > UINT32_MAX / 2 ? UINT32_MAX - 1 : t->cap * 2) : 64;
		struct entry *v = reallocarray(t->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (!t->bucket || t->n + 1 > t->mask + 1) {
		__u32 nb = t->bucket ? (t->mask + 1) * 2 : 64, i;
		__u32 *b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		free(t->bucket);
		t->bucket = b;
		t->mask = nb - 1;
		for (i = 0; i < t->n; i++)
			tab_link(t, i);
	}
	return 0;
}

static void tab_append(struct table *t, const struct entry *e)
{
	t->v[t->n] = *e;
	tab_link(t, t->n);
	t->n++;
}

/* Remove entry i, moving the last one into its place. */
static void tab_take(struct table *t, __u32 i, struct entry *out)
{
	__u32 last = t->n - 1;

	tab_unlink(t, i);
	*out = t->v[i];
	if (i != last) {
		tab_unlink(t, last);
		t->v[i] = t->v[last];
		tab_link(t, i);
	}
	t->n--;
}

static void tab_swap(struct table *t, __u32 i, __u32 k)
{
	struct entry tmp;

	tab_unlink(t, i);
	tab_unlink(t, k);
	tmp = t->v[i];
	t->v[i] = t->v[k];
	t->v[k] = tmp;
	tab_link(t, i);
	tab_link(t, k);
}

static void tab_free(struct table *t)
{
	free(t->v);
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

/* ---- state-level primitives ------------------------------------------------- */

static int entry_class(int tab, const struct geofw_cidr *p)
{
	if (tab == T_ALLOW)
		return p->family == 4 ? C_ALLOW4 : C_ALLOW6;
	if (p->family == 4)
		return p->prefixlen == 32 ? C_BLOCK_IP4 : C_BLOCK_NET4;
	return p->prefixlen == 128 ? C_BLOCK_IP6 : C_BLOCK_NET6;
}

static void note_expiry(struct geofw_state *st, __u64 expires)
{
	if (expires && (!st->min_expiry || expires < st->min_expiry))
		st->min_expiry = expires;
}

static void st_insert(struct geofw_state *st, int tab, const struct entry *e)
{
	tab_append(&st->tab[tab], e);
	st->count[entry_class(tab, &e->prefix)]++;
	note_expiry(st, e->expires);
}

static void st_take(struct geofw_state *st, int tab, __u32 i, struct entry *out)
{
	tab_take(&st->tab[tab], i, out);
	st->count[entry_class(tab, &out->prefix)]--;
}

static int j_reserve(struct geofw_state *st)
{
	if (!st->recording || st->jn < st->jcap)
		return 0;
	{
		size_t cap = st->jcap ? st->jcap * 2 : 64;
		struct jrec *j = reallocarray(st->j, cap, sizeof(*j));

		if (!j)
			return -ENOMEM;
		st->j = j;
		st->jcap = cap;
	}
	return 0;
}

/* Append e, which brings its own references. */
static int do_add(struct geofw_state *st, int tab, const struct entry *e)
{
	struct jrec *last;
	int err;

	err = tab_reserve(&st->tab[tab]);
	if (!err)
		err = j_reserve(st);
	if (err)
		return err;
	st_insert(st, tab, e);
	if (!st->recording)
		return 0;
	last = st->jn > st->op_mark ? &st->j[st->jn - 1] : NULL;
	/* Appends undo by popping, so a run of them is one record: an import
	 * of a million new prefixes costs no journal memory. */
	if (last && last->type == J_ADD && last->tab == tab) {
		last->idx++;
	} else {
		st->j[st->jn++] = (struct jrec){ .type = J_ADD, .tab = tab, .idx = 1 };
	}
	return 0;
}

static int do_remove(struct geofw_state *st, int tab, __u32 i)
{
	struct entry old;
	int err;

	err = j_reserve(st);
	if (err)
		return err;
	st_take(st, tab, i, &old);
	if (st->recording)
		st->j[st->jn++] = (struct jrec){ .type = J_REMOVE, .tab = tab, .idx = i, .old = old };
	else
		entry_unref(st, &old);
	return 0;
}

/* Put e (with its own references) in place of entry i, same prefix. */
static int do_replace(struct geofw_state *st, int tab, __u32 i, struct entry *e)
{
	struct entry *slot = &st->tab[tab].v[i], old;
	int err;

	err = j_reserve(st);
	if (err)
		return err;
	old = *slot;
	e->next = old.next;
	*slot = *e;
	note_expiry(st, e->expires);
	if (st->recording)
		st->j[st->jn++] = (struct jrec){ .type = J_CHANGE, .tab = tab, .idx = i, .old = old };
	else
		entry_unref(st, &old);
	return 0;
}

static void j_undo(struct geofw_state *st, struct jrec *r)
{
	struct table *t = &st->tab[r->tab];
	struct entry e;
	__u32 k;

	switch (r->type) {
	case J_ADD:
		for (k = 0; k < r->idx; k++) {
			st_take(st, r->tab, t->n - 1, &e);
			entry_unref(st, &e);
		}
		break;
	case J_REMOVE:
		/* The removal left capacity behind: this cannot allocate. */
		st_insert(st, r->tab, &r->old);
		if (r->idx != t->n - 1)
			tab_swap(t, r->idx, t->n - 1);
		break;
	case J_CHANGE:
		e = t->v[r->idx];
		r->old.next = e.next;
		t->v[r->idx] = r->old;
		note_expiry(st, r->old.expires);
		entry_unref(st, &e);
		break;
	case J_COUNTRIES:
		st->countries = *r->countries;
		free(r->countries);
		break;
	}
}

static void j_release(struct geofw_state *st, struct jrec *r)
{
	switch (r->type) {
	case J_REMOVE:
	case J_CHANGE:
		entry_unref(st, &r->old);
		break;
	case J_COUNTRIES:
		free(r->countries);
		break;
	}
}

static void rollback_to(struct geofw_state *st, size_t mark)
{
	while (st->jn > mark)
		j_undo(st, &st->j[--st->jn]);
}

static void release_from(struct geofw_state *st, size_t mark)
{
	size_t i;

	for (i = mark; i < st->jn; i++)
		j_release(st, &st->j[i]);
	st->jn = mark;
	if (!mark && st->jcap > JOURNAL_KEEP) {
		free(st->j);
		st->j = NULL;
		st->jcap = 0;
	}
}

/* Every public change runs between op_begin and op_end, recorded, so that
 * it is all-or-nothing even outside a transaction. */
static void op_begin(struct geofw_state *st)
{
	st->op_mark = st->jn;
	st->op_next_id = st->next_id;
	st->recording = true;
}

static void op_end(struct geofw_state *st, int err)
{
	if (err) {
		rollback_to(st, st->op_mark);
		st->next_id = st->op_next_id;
	} else if (!st->txn) {
		release_from(st, st->op_mark);
	}
	st->recording = st->txn;
	st->op_mark = st->jn;
}

static int check_limits(const struct geofw_state *st, char *err, size_t errlen)
{
	int c;

	for (c = 0; c < C_MAX; c++)
		if (st->count[c] > class_info[c].limit)
			return geofw_errf(err, errlen, -ENOSPC, "too many %s: %zu (the map holds %zu)",
				    class_info[c].what, st->count[c], class_info[c].limit);
	return 0;
}

/* ---- life cycle, transactions ----------------------------------------------- */

struct geofw_state *geofw_state_new(void)
{
	struct geofw_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->next_id = 1;
	st->countries.mode = GEOFW_MODE_BLOCK_LISTED;
	st->countries.action = GEOFW_ACT_DROP;
	if (pool_init(&st->comments, UINT32_MAX - 1) ||
	    pool_init(&st->sources, UINT16_MAX)) {
		geofw_state_free(st);
		return NULL;
	}
	return st;
}

void geofw_state_free(struct geofw_state *st)
{
	int t;

	if (!st)
		return;
	release_from(st, 0);
	free(st->j);
	for (t = 0; t < T_MAX; t++)
		tab_free(&st->tab[t]);
	pool_free(&st->comments);
	pool_free(&st->sources);
	free(st);
}

int geofw_state_begin(struct geofw_state *st)
{
	if (st->txn)
		return -EBUSY;
	st->txn = true;
	st->recording = true;
	st->op_mark = st->jn;
	st->txn_next_id = st->next_id;
	return 0;
}

void geofw_state_commit(struct geofw_state *st)
{
	release_from(st, 0);
	st->txn = false;
	st->recording = false;
	st->op_mark = 0;
}

void geofw_state_rollback(struct geofw_state *st)
{
	if (!st->txn)
		return;
	rollback_to(st, 0);
	st->next_id = st->txn_next_id;
	release_from(st, 0);
	st->txn = false;
	st->recording = false;
	st->op_mark = 0;
}

/* ---- validation ---------------------------------------------------------------- */

int geofw_state_check_text(const char *s, size_t len, size_t max, const char *what,
			   char *err, size_t errlen)
{
	size_t i = 0;

	if (len > max)
		return geofw_errf(err, errlen, -EINVAL, "%s longer than %zu bytes", what, max);
	while (i < len) {
		unsigned char c = s[i];
		__u32 cp, min;
		size_t k, n;

		if (c < 0x20 || c == 0x7f)
			return geofw_errf(err, errlen, -EINVAL, "%s contains a control character", what);
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			goto bad;
		}
		if (len - i <= n)
			goto bad;
		for (k = 1; k <= n; k++) {
			unsigned char cc = s[i + k];

			if ((cc & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (cc & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		/* C1 controls move terminals around just like C0 ones. */
		if (cp <= 0x9f)
			return geofw_errf(err, errlen, -EINVAL, "%s contains a control character", what);
		i += n + 1;
	}
	return 0;
bad:
	return geofw_errf(err, errlen, -EINVAL, "%s is not valid UTF-8 (byte %zu)", what, i + 1);
}

static int check_prefix(const struct geofw_cidr *p, char *err, size_t errlen)
{
	if ((p->family != 4 && p->family != 6) ||
	    p->prefixlen > (p->family == 4 ? 32 : 128) || geofw_cidr_has_host_bits(p))
		return geofw_errf(err, errlen, -EINVAL, "invalid prefix (family %u, length %u)",
			    p->family, p->prefixlen);
	return 0;
}

static bool block_action_ok(unsigned int a)
{
	return a != GEOFW_ACT_PASS && a < GEOFW_ACT_MAX;
}

/* The prefix is formatted only for a message: batches are large. */
static int check_str(const char *s, size_t max, const char *what,
		     const struct geofw_cidr *pfx, char *err, size_t errlen)
{
	char msg[GEOFW_ERRLEN], pb[GEOFW_CIDR_STRLEN];

	if (!s)
		return 0;
	if (geofw_state_check_text(s, strnlen(s, max + 1), max, what, msg, sizeof(msg)))
		return geofw_errf(err, errlen, -EINVAL, "%s: %s", prefix_str(pfx, pb), msg);
	return 0;
}

static int check_block(const struct geofw_state_block *r, char *err, size_t errlen)
{
	char pb[GEOFW_CIDR_STRLEN];
	int ret;

	ret = check_prefix(&r->prefix, err, errlen);
	if (ret)
		return ret;
	if (!block_action_ok(r->action))
		return geofw_errf(err, errlen, -EINVAL, "%s: invalid block action %u",
			    prefix_str(&r->prefix, pb), r->action);
	if (r->expires > GEOFW_DURATION_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: expiry time %llu out of range",
			    prefix_str(&r->prefix, pb), (unsigned long long)r->expires);
	ret = check_str(r->comment, GEOFW_STATE_COMMENT_MAX, "comment", &r->prefix, err, errlen);
	if (!ret)
		ret = check_str(r->source, GEOFW_STATE_SOURCE_MAX, "source", &r->prefix, err, errlen);
	return ret;
}

static int oom(char *err, size_t errlen, int ret)
{
	if (ret == -ENOMEM)
		return geofw_errf(err, errlen, ret, "out of memory");
	if (ret == -ENOSPC)
		return geofw_errf(err, errlen, ret, "too many distinct rule sources or rules");
	return ret;
}

/* ---- blocks ------------------------------------------------------------------------ */

/* The rule id of a ONE_ID batch of source src. */
static __u32 batch_id(struct geofw_state *st, __u32 src)
{
	struct pslot *slot = src ? &st->sources.v[src] : NULL;
	__u32 id = slot ? slot->import_id : 0;

	if (id && st->id_refs[id] && st->id_owner[id] == src)
		return id;
	id = id_alloc(st);
	if (id && slot) {
		slot->import_id = id;
		st->id_owner[id] = src;
	}
	return id;
}

int geofw_state_add_blocks(struct geofw_state *st, const struct geofw_state_block *rules,
			   size_t n, unsigned int flags, char *err, size_t errlen)
{
	struct icache cc = { 0 }, sc = { 0 };
	struct table *t = &st->tab[T_BLOCK];
	bool have_batch_id = false;
	__u32 bid = 0;
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		ret = check_block(&rules[i], err, errlen);
		if (ret)
			return ret;
	}

	op_begin(st);
	for (i = 0; i < n && !ret; i++) {
		const struct geofw_state_block *r = &rules[i];
		struct entry e = {
			.prefix = r->prefix,
			.action = r->action,
			.expires = r->expires,
		};
		__u32 found, src;

		ret = intern(&st->comments, &cc, r->comment, &e.comment);
		if (ret)
			break;
		ret = intern(&st->sources, &sc, r->source, &src);
		if (ret) {
			pool_unref(&st->comments, e.comment);
			break;
		}
		e.source = src;
		found = tab_find(t, &r->prefix);
		if (found) {
			e.rule_id = t->v[found - 1].rule_id;
		} else if (flags & GEOFW_STATE_ONE_ID) {
			if (!have_batch_id)
				bid = batch_id(st, src);
			have_batch_id = true;
			e.rule_id = bid;
		} else {
			e.rule_id = id_alloc(st);
		}
		id_ref(st, e.rule_id);
		ret = found ? do_replace(st, T_BLOCK, found - 1, &e) : do_add(st, T_BLOCK, &e);
		if (ret)
			entry_unref(st, &e);
	}
	if (ret)
		oom(err, errlen, ret);
	else
		ret = check_limits(st, err, errlen);
	op_end(st, ret);
	return ret;
}

/* Remove a batch of prefixes from one table, all or nothing: a prefix that
 * is absent fails the batch before anything changes. */
static int del_entries(struct geofw_state *st, int tab, const struct geofw_cidr *prefixes,
		       size_t n, const char *absent, char *err, size_t errlen)
{
	struct table *t = &st->tab[tab];
	char pb[GEOFW_CIDR_STRLEN];
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++)
		if (!tab_find(t, &prefixes[i]))
			return geofw_errf(err, errlen, -ENOENT, "%s %s",
					  prefix_str(&prefixes[i], pb), absent);
	op_begin(st);
	for (i = 0; i < n && !ret; i++) {
		__u32 found = tab_find(t, &prefixes[i]);

		/* Absent here only when listed twice in the batch. */
		if (found)
			ret = do_remove(st, tab, found - 1);
	}
	if (ret)
		oom(err, errlen, ret);
	op_end(st, ret);
	return ret;
}

int geofw_state_del_blocks(struct geofw_state *st, const struct geofw_cidr *prefixes,
			   size_t n, char *err, size_t errlen)
{
	return del_entries(st, T_BLOCK, prefixes, n, "is not blocked", err, errlen);
}

static void block_view(const struct geofw_state *st, const struct entry *e,
		       struct geofw_state_block *out)
{
	out->prefix = e->prefix;
	out->action = e->action;
	out->rule_id = e->rule_id;
	out->expires = e->expires;
	out->comment = pool_str(&st->comments, e->comment);
	out->source = pool_str(&st->sources, e->source);
}

/*
 * Remove the block entries match() selects.  Callbacks come only once every
 * removal has succeeded (the journal still holds the removed entries and
 * their strings), so a failure reports nothing and changes nothing.
 */
static long remove_matching(struct geofw_state *st,
			    bool (*match)(struct geofw_state *st, const struct entry *e,
					  const void *arg),
			    const void *arg, geofw_state_removed_fn fn, void *ctx)
{
	struct table *t = &st->tab[T_BLOCK];
	size_t mark, r;
	long removed = 0;
	__u32 i;
	int ret = 0;

	op_begin(st);
	mark = st->jn;
	/* Walking down, the entry swapped into a hole was already seen. */
	for (i = t->n; i-- > 0 && !ret;) {
		if (!match(st, &t->v[i], arg))
			continue;
		ret = do_remove(st, T_BLOCK, i);
		removed++;
	}
	if (!ret && fn) {
		for (r = mark; r < st->jn; r++) {
			struct geofw_state_block view;

			block_view(st, &st->j[r].old, &view);
			fn(&view, ctx);
		}
	}
	op_end(st, ret);
	return ret ? ret : removed;
}

static bool match_source(struct geofw_state *st, const struct entry *e, const void *arg)
{
	(void)st;
	return e->source == *(const __u32 *)arg;
}

long geofw_state_del_source(struct geofw_state *st, const char *source,
			    geofw_state_removed_fn fn, void *ctx)
{
	__u32 src;

	if (!source)
		source = "";
	if (!pool_find(&st->sources, source, &src))
		return 0;
	return remove_matching(st, match_source, &src, fn, ctx);
}

struct sweep_arg {
	__u64 now;
	__u64 next;	/* earliest expiry among the survivors */
};

static bool match_expired(struct geofw_state *st, const struct entry *e, const void *arg)
{
	struct sweep_arg *sa = (struct sweep_arg *)arg;

	(void)st;
	if (!e->expires)
		return false;
	if (e->expires <= sa->now)
		return true;
	if (!sa->next || e->expires < sa->next)
		sa->next = e->expires;
	return false;
}

long geofw_state_sweep(struct geofw_state *st, __u64 now, geofw_state_removed_fn fn, void *ctx)
{
	struct sweep_arg sa = { .now = now };
	long ret;

	/* Called every second or so: skip the walk until something is due. */
	if (!st->min_expiry || now < st->min_expiry)
		return 0;
	ret = remove_matching(st, match_expired, &sa, fn, ctx);
	if (ret >= 0)
		st->min_expiry = sa.next;
	return ret;
}

__u64 geofw_state_next_expiry(const struct geofw_state *st)
{
	return st->min_expiry;
}

/* ---- allows ---------------------------------------------------------------------- */

int geofw_state_add_allows(struct geofw_state *st, const struct geofw_state_allow *rules,
			   size_t n, char *err, size_t errlen)
{
	struct table *t = &st->tab[T_ALLOW];
	struct icache cc = { 0 };
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		ret = check_prefix(&rules[i].prefix, err, errlen);
		if (!ret)
			ret = check_str(rules[i].comment, GEOFW_STATE_COMMENT_MAX, "comment",
					&rules[i].prefix, err, errlen);
		if (ret)
			return ret;
	}

	op_begin(st);
	for (i = 0; i < n && !ret; i++) {
		struct entry e = { .prefix = rules[i].prefix };
		__u32 found;

		ret = intern(&st->comments, &cc, rules[i].comment, &e.comment);
		if (ret)
			break;
		found = tab_find(t, &e.prefix);
		e.rule_id = found ? t->v[found - 1].rule_id : id_alloc(st);
		id_ref(st, e.rule_id);
		ret = found ? do_replace(st, T_ALLOW, found - 1, &e) : do_add(st, T_ALLOW, &e);
		if (ret)
			entry_unref(st, &e);
	}
	if (ret)
		oom(err, errlen, ret);
	else
		ret = check_limits(st, err, errlen);
	op_end(st, ret);
	return ret;
}

int geofw_state_del_allows(struct geofw_state *st, const struct geofw_cidr *prefixes,
			   size_t n, char *err, size_t errlen)
{
	return del_entries(st, T_ALLOW, prefixes, n, "is not in the allowlist", err, errlen);
}

/* ---- countries -------------------------------------------------------------------- */

const struct geofw_state_countries *geofw_state_countries(const struct geofw_state *st)
{
	return &st->countries;
}

static int check_countries(const struct geofw_state_countries *c, char *err, size_t errlen)
{
	unsigned int id, known = geofw_country_count();

	if (!c->override)
		return 0;
	if (c->mode != GEOFW_MODE_BLOCK_LISTED && c->mode != GEOFW_MODE_ALLOW_LISTED)
		return geofw_errf(err, errlen, -EINVAL, "invalid country mode %u", c->mode);
	if (!block_action_ok(c->action))
		return geofw_errf(err, errlen, -EINVAL, "invalid country action %u", c->action);
	for (id = 0; id < GEOFW_MAX_COUNTRIES; id++) {
		if (!c->listed[id])
			continue;
		if (id == GEOFW_COUNTRY_NONE || id > known || id > GEOFW_COUNTRY_MAX_ID)
			return geofw_errf(err, errlen, -EINVAL, "invalid country id %u", id);
		if (!block_action_ok(c->country_action[id]))
			return geofw_errf(err, errlen, -EINVAL, "%s: invalid action %u",
				    geofw_country_code(id), c->country_action[id]);
	}
	return 0;
}

int geofw_state_set_countries(struct geofw_state *st, const struct geofw_state_countries *c,
			      char *err, size_t errlen)
{
	struct geofw_state_countries *snap;
	int ret;

	ret = check_countries(c, err, errlen);
	if (ret)
		return ret;
	op_begin(st);
	ret = j_reserve(st);
	snap = ret ? NULL : malloc(sizeof(*snap));
	if (!snap) {
		op_end(st, -ENOMEM);
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}
	*snap = st->countries;
	st->j[st->jn++] = (struct jrec){ .type = J_COUNTRIES, .countries = snap };
	if (c->override) {
		st->countries = *c;
	} else {
		/* Back to the config's policy: keep nothing that could be
		 * mistaken for an override. */
		memset(&st->countries, 0, sizeof(st->countries));
		st->countries.action = GEOFW_ACT_DROP;
	}
	op_end(st, 0);
	return 0;
}

/* ---- lookups and walks ------------------------------------------------------------- */

int geofw_state_find_block(const struct geofw_state *st, const struct geofw_cidr *prefix,
			   struct geofw_state_block *out)
{
	__u32 found = tab_find(&st->tab[T_BLOCK], prefix);

	if (!found)
		return -ENOENT;
	if (out)
		block_view(st, &st->tab[T_BLOCK].v[found - 1], out);
	return 0;
}

static void allow_view(const struct geofw_state *st, const struct entry *e,
		       struct geofw_state_allow *out)
{
	out->prefix = e->prefix;
	out->rule_id = e->rule_id;
	out->comment = pool_str(&st->comments, e->comment);
}

int geofw_state_find_allow(const struct geofw_state *st, const struct geofw_cidr *prefix,
			   struct geofw_state_allow *out)
{
	__u32 found = tab_find(&st->tab[T_ALLOW], prefix);

	if (!found)
		return -ENOENT;
	if (out)
		allow_view(st, &st->tab[T_ALLOW].v[found - 1], out);
	return 0;
}

int geofw_state_for_each_block(const struct geofw_state *st,
			       int (*fn)(const struct geofw_state_block *rule, void *ctx),
			       void *ctx)
{
	const struct table *t = &st->tab[T_BLOCK];
	struct geofw_state_block view;
	__u32 i;
	int ret;

	for (i = 0; i < t->n; i++) {
		block_view(st, &t->v[i], &view);
		ret = fn(&view, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int geofw_state_for_each_allow(const struct geofw_state *st,
			       int (*fn)(const struct geofw_state_allow *rule, void *ctx),
			       void *ctx)
{
	const struct table *t = &st->tab[T_ALLOW];
	struct geofw_state_allow view;
	__u32 i;
	int ret;

	for (i = 0; i < t->n; i++) {
		allow_view(st, &t->v[i], &view);
		ret = fn(&view, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

void geofw_state_counts(const struct geofw_state *st, struct geofw_state_counts *out)
{
	out->block_ip4 = st->count[C_BLOCK_IP4];
	out->block_ip6 = st->count[C_BLOCK_IP6];
	out->block_net4 = st->count[C_BLOCK_NET4];
	out->block_net6 = st->count[C_BLOCK_NET6];
	out->allow4 = st->count[C_ALLOW4];
	out->allow6 = st->count[C_ALLOW6];
	out->rule_ids = st->ids_used;
}

__u32 geofw_state_next_rule_id(const struct geofw_state *st)
{
	return st->next_id;
}

/* ---- writing --------------------------------------------------------------------- */

/* Output to a file descriptor (flushed as it fills) or to a growing buffer
 * (fd < 0).  The first error sticks and later output is dropped. */
struct out {
	int fd;
	int err;
	char *buf;
	size_t len, cap;
};

static void out_flush(struct out *o)
{
	size_t off = 0;

	while (!o->err && off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			o->err = w < 0 ? -errno : -EIO;
		else
			off += w;
	}
	o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t len)
{
	if (o->err)
		return;
	if (o->cap - o->len < len) {
		if (o->fd >= 0) {
			out_flush(o);
		} else {
			size_t cap = o->cap;
			char *b;

			while (cap - o->len < len)
				cap *= 2;
			b = realloc(o->buf, cap);
			if (!b) {
				o->err = -ENOMEM;
				return;
			}
			o->buf = b;
			o->cap = cap;
		}
		/* Lines are far shorter than the buffer. */
		if (o->err || o->cap - o->len < len) {
			o->err = o->err ? o->err : -EOVERFLOW;
			return;
		}
	}
	memcpy(o->buf + o->len, s, len);
	o->len += len;
}

static void out_s(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_u64(struct out *o, __u64 v)
{
	char b[24], *p = b + sizeof(b);

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	out_put(o, p, b + sizeof(b) - p);
}

static void out_quoted(struct out *o, const char *s)
{
	const char *run = s;

	out_put(o, "\"", 1);
	for (; *s; s++) {
		if (*s != '"' && *s != '\\')
			continue;
		out_put(o, run, s - run);
		out_put(o, "\\", 1);
		run = s;
	}
	out_put(o, run, s - run);
	out_put(o, "\"", 1);
}

/* IPv4 by hand: snprintf dominated the time of saving a million entries. */
static void out_prefix(struct out *o, const struct geofw_cidr *c)
{
	char pb[GEOFW_CIDR_STRLEN];
	int i;

	if (c->family != 4) {
		out_s(o, prefix_str(c, pb));
		return;
	}
	for (i = 0; i < 4; i++) {
		out_u64(o, c->addr[i]);
		out_put(o, i < 3 ? "." : "/", 1);
	}
	out_u64(o, c->prefixlen);
}

static void write_state(const struct geofw_state *st, struct out *o)
{
	const struct geofw_state_countries *c = &st->countries;
	const struct table *t;
	unsigned int id;
	__u32 i;

	out_s(o, GEOFW_STATE_HEADER "\nnext-rule-id ");
	out_u64(o, st->next_id);
	out_s(o, "\n");
	if (c->override) {
		out_s(o, "country-policy ");
		out_s(o, c->mode == GEOFW_MODE_ALLOW_LISTED ? "allow " : "block ");
		out_s(o, geofw_action_name(c->action));
		out_s(o, "\n");
		for (id = 0; id < GEOFW_MAX_COUNTRIES; id++) {
			if (!c->listed[id])
				continue;
			out_s(o, "country ");
			out_s(o, geofw_country_code(id));
			out_s(o, " ");
			out_s(o, geofw_action_name(c->country_action[id]));
			out_s(o, "\n");
		}
	}
	t = &st->tab[T_ALLOW];
	for (i = 0; i < t->n && !o->err; i++) {
		const struct entry *e = &t->v[i];

		out_s(o, "allow ");
		out_prefix(o, &e->prefix);
		out_s(o, " id=");
		out_u64(o, e->rule_id);
		if (e->comment) {
			out_s(o, " comment=");
			out_quoted(o, pool_str(&st->comments, e->comment));
		}
		out_s(o, "\n");
	}
	t = &st->tab[T_BLOCK];
	for (i = 0; i < t->n && !o->err; i++) {
		const struct entry *e = &t->v[i];

		out_s(o, "block ");
		out_prefix(o, &e->prefix);
		out_s(o, " ");
		out_s(o, geofw_action_name(e->action));
		out_s(o, " id=");
		out_u64(o, e->rule_id);
		if (e->expires) {
			out_s(o, " expires=");
			out_u64(o, e->expires);
		}
		out_s(o, " source=");
		out_quoted(o, pool_str(&st->sources, e->source));
		if (e->comment) {
			out_s(o, " comment=");
			out_quoted(o, pool_str(&st->comments, e->comment));
		}
		out_s(o, "\n");
	}
	/* The id each imported list counts its hits under, so that the next
	 * import of the list after a restart goes on counting there. */
	for (i = 1; i < st->sources.n; i++) {
		const struct pslot *slot = &st->sources.v[i];

		if (!slot->s || !slot->import_id || !st->id_refs[slot->import_id] ||
		    st->id_owner[slot->import_id] != i)
			continue;
		out_s(o, "list id=");
		out_u64(o, slot->import_id);
		out_s(o, " source=");
		out_quoted(o, slot->s);
		out_s(o, "\n");
	}
}

int geofw_state_format(const struct geofw_state *st, char **buf, size_t *len)
{
	struct out o = { .fd = -1, .cap = 4096 };

	o.buf = malloc(o.cap);
	if (!o.buf)
		return -ENOMEM;
	write_state(st, &o);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*buf = o.buf;
	*len = o.len;
	return 0;
}

/* The directory holding path, for its fsync after the rename. */
static void parent_dir(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int geofw_state_save(const struct geofw_state *st, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	struct out o = { .fd = -1, .cap = SAVE_BUF };
	bool renamed = false;
	int fd = -1, dfd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return geofw_errf(err, errlen, -ENAMETOOLONG, "%s: path too long", path);
	o.buf = malloc(o.cap);
	if (!o.buf)
		return geofw_errf(err, errlen, -ENOMEM, "save %s: out of memory", path);

	/* O_NOFOLLOW: never write through a planted link. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot create %s: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	o.fd = fd;
	write_state(st, &o);
	out_flush(&o);
	if (o.err) {
		ret = o.err;
		geofw_errf(err, errlen, ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	if (fsync(fd)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot sync %s: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	ret = close(fd);
	fd = -1;
	if (ret) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto cleanup;
	}
	if (rename(tmp, path)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot rename %s to %s: %s", tmp, path, strerror(-ret));
		goto cleanup;
	}
	renamed = true;
	/* The rename is durable only once the directory is.  But the new file
	 * is in place now: failing here would make the caller roll back a
	 * change that a restart would still find.  Warn and report success. */
	parent_dir(path, dir, sizeof(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		log_warn("state: %s saved, but syncing directory %s failed (%s): a power "
			 "cut now could lose the last change", path, dir, strerror(errno));
	if (dfd >= 0)
		close(dfd);
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (ret && !renamed)
		unlink(tmp);
	free(o.buf);
	return ret;
}

/* ---- reading ---------------------------------------------------------------------- */

struct lparser {
	const char *name;
	size_t line;
	char *err;
	size_t errlen;
	struct geofw_state *st;
	const char *p, *end;	/* the rest of the current line */
	bool have_next_id, have_policy;
	struct icache sc;
	/* list lines, applied once every block is known */
	struct list_line {
		__u32 id;
		char *source;
	} *lists;
	size_t nlists;
	char comment[GEOFW_STATE_COMMENT_MAX + 1];
	char source[GEOFW_STATE_SOURCE_MAX + 1];
};

__attribute__((format(printf, 2, 3)))
static int lerr(struct lparser *lp, const char *fmt, ...)
{
	char msg[GEOFW_ERRLEN];
	va_list ap;

	if (!lp->err || !lp->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(lp->err, lp->errlen, "%s:%zu: %s", lp->name, lp->line, msg);
	return -EINVAL;
}

/* " WORD": one space, then a non-empty run of anything but spaces. */
static bool sep_word(struct lparser *lp, const char **s, size_t *len)
{
	const char *q;

	if (lp->end - lp->p < 2 || lp->p[0] != ' ' || lp->p[1] == ' ')
		return false;
	q = ++lp->p;
	while (q < lp->end && *q != ' ')
		q++;
	*s = lp->p;
	*len = q - lp->p;
	lp->p = q;
	return true;
}

/* Does " KEY=" follow?  Consumes it when it does. */
static bool at_key(struct lparser *lp, const char *key)
{
	size_t klen = strlen(key);

	if ((size_t)(lp->end - lp->p) < klen + 2 || lp->p[0] != ' ' ||
	    memcmp(lp->p + 1, key, klen) || lp->p[klen + 1] != '=')
		return false;
	lp->p += klen + 2;
	return true;
}

static int parse_num(struct lparser *lp, const char *s, size_t len, __u64 max,
		     const char *what, __u64 *out)
{
	char eb[GEOFW_ECHO_BUFLEN];
	__u64 v = 0;
	size_t i;

	if (!len || (s[0] == '0' && len > 1))
		goto bad;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		if (v > (max - (s[i] - '0')) / 10)
			return lerr(lp, "%s %s out of range (at most %llu)", what,
				    geofw_echo_n(s, len, eb), (unsigned long long)max);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
bad:
	return lerr(lp, "%s must be a decimal number, not '%s'", what, geofw_echo_n(s, len, eb));
}

/* A number up to the next space. */
static int num_value(struct lparser *lp, __u64 max, const char *what, __u64 *out)
{
	const char *s = lp->p;

	while (lp->p < lp->end && *lp->p != ' ')
		lp->p++;
	return parse_num(lp, s, lp->p - s, max, what, out);
}

/* A double-quoted string into buf (max bytes + NUL), validated. */
static int str_value(struct lparser *lp, char *buf, size_t max, const char *what)
{
	char msg[GEOFW_ERRLEN];
	size_t n = 0;

	if (lp->p == lp->end || *lp->p != '"')
		return lerr(lp, "%s must be a double-quoted string", what);
	lp->p++;
	for (;;) {
		char ch;

		if (lp->p == lp->end)
			return lerr(lp, "%s: missing closing quote", what);
		ch = *lp->p++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (lp->p == lp->end || (*lp->p != '"' && *lp->p != '\\'))
				return lerr(lp, "%s: only \\\" and \\\\ may be escaped", what);
			ch = *lp->p++;
		}
		if (n == max)
			return lerr(lp, "%s longer than %zu bytes", what, max);
		buf[n++] = ch;
	}
	if (lp->p != lp->end && *lp->p != ' ')
		return lerr(lp, "%s: text after the closing quote", what);
	buf[n] = '\0';
	if (geofw_state_check_text(buf, n, max, what, msg, sizeof(msg)))
		return lerr(lp, "%s", msg);
	return 0;
}

static int line_end(struct lparser *lp)
{
	char eb[GEOFW_ECHO_BUFLEN];

	if (lp->p == lp->end)
		return 0;
	return lerr(lp, "unexpected '%s'", geofw_echo_n(lp->p, lp->end - lp->p, eb));
}

static int field_prefix(struct lparser *lp, struct geofw_cidr *out)
{
	char tok[GEOFW_CIDR_STRLEN + 8], msg[GEOFW_ERRLEN], eb[GEOFW_ECHO_BUFLEN];
	const char *s;
	size_t len;

	if (!sep_word(lp, &s, &len))
		return lerr(lp, "missing prefix");
	if (len >= sizeof(tok) || memchr(s, '\0', len))
		return lerr(lp, "not a prefix: '%s'", geofw_echo_n(s, len, eb));
	memcpy(tok, s, len);
	tok[len] = '\0';
	if (geofw_cidr_parse(tok, GEOFW_CIDR_ALLOW_ZERO, out, msg, sizeof(msg)))
		return lerr(lp, "%s", msg);
	return 0;
}

/* A block action word: drop, reject, http403 or log. */
static int field_action(struct lparser *lp, __u8 *out)
{
	char tok[16], eb[GEOFW_ECHO_BUFLEN];
	const char *s;
	size_t len;
	int a;

	if (!sep_word(lp, &s, &len))
		return lerr(lp, "missing action");
	if (len >= sizeof(tok) || memchr(s, '\0', len))
		goto bad;
	memcpy(tok, s, len);
	tok[len] = '\0';
	a = geofw_action_parse(tok);
	if (a < 0 || !block_action_ok(a))
		goto bad;
	*out = a;
	return 0;
bad:
	return lerr(lp, "invalid action '%s' (drop, reject, http403 or log)", geofw_echo_n(s, len, eb));
}

static int parse_block(struct lparser *lp)
{
	struct geofw_state *st = lp->st;
	char pb[GEOFW_CIDR_STRLEN];
	struct entry e = { 0 };
	__u64 id, expires = 0;
	__u32 idx;
	int ret;

	ret = field_prefix(lp, &e.prefix);
	if (!ret)
		ret = field_action(lp, &e.action);
	if (ret)
		return ret;
	if (!at_key(lp, "id"))
		return lerr(lp, "missing id=");
	ret = num_value(lp, GEOFW_MAX_RULE_IDS - 1, "id", &id);
	if (!ret && at_key(lp, "expires")) {
		ret = num_value(lp, GEOFW_DURATION_MAX, "expires", &expires);
		if (!ret && !expires)
			ret = lerr(lp, "expires=0: leave it out for a rule that never expires");
	}
	if (ret)
		return ret;
	if (!at_key(lp, "source"))
		return lerr(lp, "missing source=");
	ret = str_value(lp, lp->source, GEOFW_STATE_SOURCE_MAX, "source");
	lp->comment[0] = '\0';
	if (!ret && at_key(lp, "comment"))
		ret = str_value(lp, lp->comment, GEOFW_STATE_COMMENT_MAX, "comment");
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	if (tab_find(&st->tab[T_BLOCK], &e.prefix))
		return lerr(lp, "duplicate block %s", prefix_str(&e.prefix, pb));

	e.rule_id = id;
	e.expires = expires;
	/* The parser's buffers change per line: cache by content, not by
	 * pointer, so only an unchanged source skips the hash. */
	if (lp->sc.ptr && !strcmp(pool_str(&st->sources, lp->sc.idx), lp->source)) {
		pool_ref(&st->sources, lp->sc.idx);
		idx = lp->sc.idx;
		ret = 0;
	} else {
		ret = pool_get(&st->sources, lp->source, &idx);
		if (!ret) {
			lp->sc.ptr = lp->source;
			lp->sc.idx = idx;
		}
	}
	if (ret)
		return ret == -ENOSPC ? lerr(lp, "too many distinct sources") : -ENOMEM;
	e.source = idx;
	ret = pool_get(&st->comments, lp->comment, &e.comment);
	if (ret) {
		pool_unref(&st->sources, e.source);
		return -ENOMEM;
	}
	id_ref(st, e.rule_id);
	ret = do_add(st, T_BLOCK, &e);
	if (ret)
		entry_unref(st, &e);
	return ret;
}

static int parse_allow(struct lparser *lp)
{
	struct geofw_state *st = lp->st;
	char pb[GEOFW_CIDR_STRLEN];
	struct entry e = { 0 };
	__u64 id;
	int ret;

	ret = field_prefix(lp, &e.prefix);
	if (ret)
		return ret;
	if (!at_key(lp, "id"))
		return lerr(lp, "missing id=");
	ret = num_value(lp, GEOFW_MAX_RULE_IDS - 1, "id", &id);
	lp->comment[0] = '\0';
	if (!ret && at_key(lp, "comment"))
		ret = str_value(lp, lp->comment, GEOFW_STATE_COMMENT_MAX, "comment");
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	if (tab_find(&st->tab[T_ALLOW], &e.prefix))
		return lerr(lp, "duplicate allow %s", prefix_str(&e.prefix, pb));
	e.rule_id = id;
	ret = pool_get(&st->comments, lp->comment, &e.comment);
	if (ret)
		return -ENOMEM;
	id_ref(st, e.rule_id);
	ret = do_add(st, T_ALLOW, &e);
	if (ret)
		entry_unref(st, &e);
	return ret;
}

static int parse_list(struct lparser *lp)
{
	struct list_line *l;
	__u64 id;
	size_t i;
	int ret;

	if (!at_key(lp, "id"))
		return lerr(lp, "missing id=");
	ret = num_value(lp, GEOFW_MAX_RULE_IDS - 1, "id", &id);
	if (!ret && !id)
		ret = lerr(lp, "a list's id must be at least 1");
	if (!ret && !at_key(lp, "source"))
		ret = lerr(lp, "missing source=");
	if (!ret)
		ret = str_value(lp, lp->source, GEOFW_STATE_SOURCE_MAX, "source");
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	for (i = 0; i < lp->nlists; i++)
		if (!strcmp(lp->lists[i].source, lp->source))
			return lerr(lp, "duplicate list for source \"%s\"", lp->source);
	l = reallocarray(lp->lists, lp->nlists + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	lp->lists = l;
	l[lp->nlists].id = id;
	l[lp->nlists].source = strdup(lp->source);
	if (!l[lp->nlists].source)
		return -ENOMEM;
	lp->nlists++;
	return 0;
}

/* A list whose rules are gone, or whose id went to another rule, is
 * forgotten: its next import gets a new id, as it would have anyway. */
static void apply_lists(struct lparser *lp)
{
	struct geofw_state *st = lp->st;
	__u32 src;
	size_t i;

	for (i = 0; i < lp->nlists; i++) {
		__u32 id = lp->lists[i].id;

		if (!pool_find(&st->sources, lp->lists[i].source, &src) || !src ||
		    !st->id_refs[id] || st->id_owner[id])
			continue;
		st->sources.v[src].import_id = id;
		st->id_owner[id] = src;
	}
}

static int parse_next_id(struct lparser *lp)
{
	__u64 v;
	int ret;

	if (lp->have_next_id)
		return lerr(lp, "next-rule-id given twice");
	if (lp->p == lp->end || *lp->p != ' ')
		return lerr(lp, "missing number");
	lp->p++;
	ret = num_value(lp, GEOFW_MAX_RULE_IDS - 1, "next-rule-id", &v);
	if (!ret && !v)
		ret = lerr(lp, "next-rule-id must be at least 1");
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	lp->st->next_id = v;
	lp->have_next_id = true;
	return 0;
}

static int parse_policy(struct lparser *lp)
{
	struct geofw_state_countries *c = &lp->st->countries;
	char eb[GEOFW_ECHO_BUFLEN];
	const char *s;
	size_t len;
	int ret;

	if (lp->have_policy)
		return lerr(lp, "country-policy given twice");
	if (!sep_word(lp, &s, &len))
		return lerr(lp, "missing mode (block or allow)");
	if (len == 5 && !memcmp(s, "block", 5))
		c->mode = GEOFW_MODE_BLOCK_LISTED;
	else if (len == 5 && !memcmp(s, "allow", 5))
		c->mode = GEOFW_MODE_ALLOW_LISTED;
	else
		return lerr(lp, "invalid mode '%s' (block or allow)", geofw_echo_n(s, len, eb));
	ret = field_action(lp, &c->action);
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	c->override = true;
	lp->have_policy = true;
	return 0;
}

static int parse_country(struct lparser *lp)
{
	struct geofw_state_countries *c = &lp->st->countries;
	char eb[GEOFW_ECHO_BUFLEN];
	const char *s;
	size_t len;
	__u8 action;
	int id, ret;

	if (!lp->have_policy)
		return lerr(lp, "country before country-policy");
	if (!sep_word(lp, &s, &len))
		return lerr(lp, "missing country code");
	id = len == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' ?
	     geofw_country_id2(s[0], s[1]) : 0;
	if (id <= 0 || id >= GEOFW_MAX_COUNTRIES)
		return lerr(lp, "unknown country '%s'", geofw_echo_n(s, len, eb));
	ret = field_action(lp, &action);
	if (!ret)
		ret = line_end(lp);
	if (ret)
		return ret;
	if (c->listed[id])
		return lerr(lp, "duplicate country %s", geofw_country_code(id));
	c->listed[id] = true;
	c->country_action[id] = action;
	return 0;
}

static const char *keyword(struct lparser *lp, size_t *len)
{
	const char *s = lp->p;

	while (lp->p < lp->end && *lp->p != ' ')
		lp->p++;
	*len = lp->p - s;
	return s;
}

static int parse_line(struct lparser *lp)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *kw;
	size_t len;

	if (lp->p == lp->end || *lp->p == '#')
		return 0;
	if (lp->end[-1] == '\r')
		return lerr(lp, "carriage return at end of line (DOS line ends?)");
	kw = keyword(lp, &len);
#define IS(word) (len == sizeof(word) - 1 && !memcmp(kw, word, len))
	if (IS("block"))
		return parse_block(lp);
	if (IS("allow"))
		return parse_allow(lp);
	if (IS("list"))
		return parse_list(lp);
	if (IS("country"))
		return parse_country(lp);
	if (IS("country-policy"))
		return parse_policy(lp);
	if (IS("next-rule-id"))
		return parse_next_id(lp);
#undef IS
	return lerr(lp, "unknown line '%s'", geofw_echo_n(kw, lp->end - kw, eb));
}

static int check_header(struct lparser *lp)
{
	static const char hdr[] = GEOFW_STATE_HEADER;
	static const char stem[] = "# geofw state v";
	size_t len = lp->end - lp->p, stem_len = sizeof(stem) - 1;
	char eb[GEOFW_ECHO_BUFLEN];

	if (len == sizeof(hdr) - 1 && !memcmp(lp->p, hdr, len))
		return 0;
	if (len && lp->end[-1] == '\r')
		return lerr(lp, "carriage return at end of line (DOS line ends?)");
	if (len > stem_len && !memcmp(lp->p, stem, stem_len))
		return lerr(lp, "unsupported state file version '%s' (this geofwd reads v1)",
			    geofw_echo_n(lp->p + stem_len - 1, len - stem_len + 1, eb));
	return lerr(lp, "not a geofw state file (the first line must be '%s')", hdr);
}

int geofw_state_parse_buf(const void *buf, size_t len, const char *name,
			  struct geofw_state **out, char *err, size_t errlen)
{
	struct lparser lp = { .name = name ? name : "<state>", .err = err, .errlen = errlen };
	const char *text = buf, *nl;
	size_t pos = 0;
	int ret = 0;

	*out = NULL;
	lp.st = geofw_state_new();
	if (!lp.st)
		return geofw_errf(err, errlen, -ENOMEM, "%s: out of memory", lp.name);
	if (!len) {
		lp.line = 1;
		ret = lerr(&lp, "empty file (the first line must be '%s')", GEOFW_STATE_HEADER);
		goto cleanup;
	}
	while (pos < len && !ret) {
		lp.line++;
		nl = memchr(text + pos, '\n', len - pos);
		lp.p = text + pos;
		lp.end = nl ? nl : text + len;
		if (lp.end - lp.p > GEOFW_STATE_LINE_MAX) {
			ret = lerr(&lp, "line longer than %d bytes", GEOFW_STATE_LINE_MAX);
			break;
		}
		if (!nl) {
			/* Saves are atomic, so a cut line means the file was
			 * damaged after the fact: do not guess. */
			ret = lerr(&lp, "no newline at the end of the file (cut short?)");
			break;
		}
		ret = lp.line == 1 ? check_header(&lp) : parse_line(&lp);
		if (ret == -ENOMEM)
			geofw_errf(err, errlen, ret, "%s:%zu: out of memory", lp.name, lp.line);
		pos = nl - text + 1;
	}
	if (!ret) {
		char msg[GEOFW_ERRLEN];

		apply_lists(&lp);
		ret = check_limits(lp.st, msg, sizeof(msg));
		if (ret)
			geofw_errf(err, errlen, -EINVAL, "%s: %s", lp.name, msg);
	}
cleanup:
	while (lp.nlists)
		free(lp.lists[--lp.nlists].source);
	free(lp.lists);
	if (ret) {
		geofw_state_free(lp.st);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	*out = lp.st;
	return 0;
}

int geofw_state_load(const char *path, struct geofw_state **out, char *err, size_t errlen)
{
	struct stat sb;
	size_t got = 0;
	char *buf = NULL;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT) {
			/* First start: no rules added yet. */
			*out = geofw_state_new();
			return *out ? 0 : geofw_errf(err, errlen, -ENOMEM, "out of memory");
		}
		return geofw_errf(err, errlen, ret, "cannot open %s: %s", path, strerror(-ret));
	}
	if (fstat(fd, &sb)) {
		ret = -errno;
		geofw_errf(err, errlen, ret, "cannot stat %s: %s", path, strerror(-ret));
		goto cleanup;
	}
	if (!S_ISREG(sb.st_mode)) {
		ret = geofw_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((unsigned long long)sb.st_size > LOAD_MAX) {
		ret = geofw_errf(err, errlen, -EFBIG, "%s: larger than %llu bytes", path, LOAD_MAX);
		goto cleanup;
	}
	buf = malloc(sb.st_size ? sb.st_size : 1);
	if (!buf) {
		ret = geofw_errf(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			geofw_errf(err, errlen, ret, "cannot read %s: %s", path, strerror(-ret));
			goto cleanup;
		}
		if (!r)
			break;
		got += r;
	}
	ret = geofw_state_parse_buf(buf, got, path, out, err, errlen);
cleanup:
	free(buf);
	close(fd);
	return ret;
}
