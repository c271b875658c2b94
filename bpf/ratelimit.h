/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-source rate limits on the packets the policy lets through (BPF only:
 * the host build of the decision, fwctl lookup, must not spend tokens).
 *
 * GCRA: each (rule, source prefix) keeps the theoretical arrival time of its
 * next packet; a packet may pass while that time is at most tau ahead of
 * now, and moves it by its cost.  One 64-bit word per source (its tag and
 * that time), advanced with compare-and-exchange in a set-associative array
 * all CPUs share (gfw_rl_sets), so the limit is the same whether a flood
 * lands on one CPU or on all of them (docs/design-notes.md "Rate limits"
 * has the alternatives measured).
 */
#ifndef GEOFW_RATELIMIT_H
#define GEOFW_RATELIMIT_H

#include "geofw.h"
#include "parse.h"
#include "decide.h"

#define GEOFW_RL_CAS_TRIES	4
/* How far two CPUs' clocks may disagree: a word up to this much beyond its
 * rule's window is a state moved by another CPU, not a stale one. */
#define GEOFW_RL_SKEW_NS	1000000ull
#define GEOFW_RL_BAN_GAP_NS	1000000000ull	/* one ban request per source per second */

static __always_inline void rl_count(__u32 idx, int limited, int ban)
{
	struct geofw_rl_stats *st = bpf_map_lookup_elem(&gfw_cnt_rl, &idx);

	if (!st)
		return;
	if (limited)
		st->limited++;
	else
		st->passed++;
	if (ban)
		st->bans++;
}

/* Ask geofwd to ban the source, once per GEOFW_RL_BAN_GAP_NS whatever the
 * CPU (the way's ban time; a way taken over by another source keeps it, which
 * delays the newcomer's first request by less than the gap). */
static __always_inline int rl_ban(__u64 *ban_ns, __u64 khi, __u64 klo, __u32 rule,
				  __u32 family, __u8 prefixlen, __u64 now)
{
	struct geofw_rl_event *ev;
	__u64 last = *ban_ns;

	if (last && now - last < GEOFW_RL_BAN_GAP_NS)
		return 0;
	if (__sync_val_compare_and_swap(ban_ns, last, now) != last)
		return 0;	/* another CPU sent it */
	ev = bpf_ringbuf_reserve(&gfw_rl_events, sizeof(*ev), 0);
	if (!ev)
		return 0;	/* full: asked again in a second */
	ev->ts_ns = now;
	ev->rule = (__u8)rule;
	ev->family = (__u8)family;
	ev->prefixlen = prefixlen;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	__builtin_memcpy(ev->addr, &khi, 8);
	__builtin_memcpy(ev->addr + 8, &klo, 8);
	bpf_ringbuf_submit(ev, 0);
	return 1;
}

/* How far a way's arrival time is ahead of now (negative: behind), from
 * its low 48 bits: exact while the time is within 2^47 ns of now, which
 * a live state always is (tau and a packet's cost are at most
 * GEOFW_RL_WINDOW_MAX_NS each). */
static __always_inline __s64 rl_ahead(__u64 word, __u64 now)
{
	return (__s64)(((word - now) & GEOFW_RL_TAT_MASK) << (64 - GEOFW_RL_TAT_BITS)) >>
	       (64 - GEOFW_RL_TAT_BITS);
}

/* The source masked to its key prefix, word by word (addresses are in
 * network order: the prefix is the high bits of each big-endian word). */
static __always_inline void rl_key_addr(__u64 hi, __u64 lo, __u32 family, __u32 bits,
					__u64 *khi, __u64 *klo)
{
	__u64 h = bpf_be64_to_cpu(hi), l = bpf_be64_to_cpu(lo);

	if (family == 4) {
		/* IPv4 in the first 4 bytes: bits 1..32 of the high word */
		bits = bits > 32 ? 32 : bits;
		h = bits ? h & (~0ull << (64 - bits)) : 0;
		l = 0;
	} else if (bits <= 64) {
		h = bits ? h & (~0ull << (64 - bits)) : 0;
		l = 0;
	} else if (bits < 128) {
		l &= ~0ull << (128 - bits);
	}
	*khi = bpf_cpu_to_be64(h);
	*klo = bpf_cpu_to_be64(l);
}

/* What the limiter needs of a packet, packed in scalars: a global BPF
 * function takes at most five, and is verified once (not once per parser
 * path, which put the program past the verifier's 1M instructions). */
#define RL_INFO(family, l4proto, has_l4, flags, sets, slot, n)				\
	((__u64)(family) | (__u64)(l4proto) << 8 | (__u64)(has_l4) << 16 |		\
	 (__u64)(flags) << 24 | (__u64)(sets) << 32 | (__u64)(slot) << 48 | (__u64)(n) << 56)

/* The front slot of a key: a multiplicative hash (an attacker who makes
 * sources collide only sends their owners to the shared state, which is
 * exact; the batch of a source evicted between its packets stays one). */
static __always_inline __u32 rl_front_slot(__u64 khi, __u64 klo, __u32 i)
{
	__u64 h = khi ^ (klo * 0xc2b2ae3d27d4eb4full) ^ i;

	h ^= h >> 32;	/* the address's later bytes are the word's high bits */
	h *= 0x9e3779b97f4a7c15ull;
	return (__u32)(h >> (64 - GEOFW_RL_FRONT_BITS));
}

/* Allowance taken beyond this packet, kept by the front slot: whole
 * packets for a pps rule, ns for a bps rule. */
static __always_inline void rl_credit(struct geofw_rl_front *f, const struct geofw_rl_rule *r,
				      __u64 extra, __u64 inc)
{
	if (r->bps)
		f->credit += (__u32)extra;
	else if (inc)
		f->credit += (__u32)(extra / inc);
}

/* What a rule asks of a packet: RL_SKIP (not concerned), or its key. */
#define RL_SKIP	(-1)

static __always_inline int rl_rule_key(__u64 hi, __u64 lo, __u64 info, __u32 i,
				       struct geofw_rl_rule **rp, __u64 *khi, __u64 *klo)
{
	__u32 family = info & 0xff, l4proto = (info >> 8) & 0xff, has_l4 = (info >> 16) & 1;
	__u32 flags = (info >> 24) & 0xff, sets = (info >> 32) & 0xffff;
	__u32 key = GEOFW_RL_RULE_KEY((info >> 48) & 1, i);
	struct geofw_rl_rule *r = bpf_map_lookup_elem(&gfw_rl_rule, &key);

	if (!r)
		return RL_SKIP;
	if (r->port_sets && !(r->port_sets & sets))
		return RL_SKIP;
	if (r->syn_only && (l4proto != GEOFW_IPPROTO_TCP || !has_l4 || (flags & 0x12) != 0x02))
		return RL_SKIP;
	rl_key_addr(hi, lo, family, family == 4 ? r->v4_prefix : r->v6_prefix, khi, klo);
	*rp = r;
	return 0;
}

static __always_inline __u8 rl_front_tag(__u64 info, __u32 i)
{
	return (__u8)(0x80 | ((info & 0xff) == 6 ? 0x40 : 0) | (i & 7));
}

/*
 * The way of a set whose word has the tag (the last one, should an insert
 * race have left two), or GEOFW_RL_WAYS.  Without a branch per way (masks,
 * hidden from the compiler so that it does not turn them back into jumps):
 * the verifier would walk each way's branches on every path after it.
 */
static __always_inline __u64 rl_find(struct geofw_rl_set *set, __u64 tag)
{
	__u64 sel = GEOFW_RL_WAYS, w;

	for (w = 0; w < GEOFW_RL_WAYS; w++) {
		__u64 m = ((((*(volatile __u64 *)&set->way[w] ^ tag) >> GEOFW_RL_TAT_BITS) - 1) >> 63);

		barrier_var(m);
		m = -m;
		sel = (w & m) | (sel & ~m);
	}
	return sel;
}

/*
 * For a new source: the way least ahead of now (its word in *vold).  A free
 * way, and a time more than two windows ahead (a word read modulo 2^48,
 * untouched for days), are past.  Branch-free like rl_find (2^8 paths otherwise), and with
 * few registers: the program's three frames share 512 bytes of stack.
 */
static __always_inline __u64 rl_victim(struct geofw_rl_set *set, __u64 now, __u64 *vold)
{
	__u64 sel = 0, least = 0x3fffffffffffffffull, v = 0, w;

	for (w = 0; w < GEOFW_RL_WAYS; w++) {
		__u64 word = *(volatile __u64 *)&set->way[w], m, a;

		a = (__u64)rl_ahead(word, now);
		/* unsigned: the compiler must not read a difference's sign
		 * as a compare and jump; a free way (0) is past whatever now
		 * reads modulo 2^48 */
		m = ((2 * GEOFW_RL_WINDOW_MAX_NS - a) >> 63) | (((word | -word) >> 63) ^ 1);
		barrier_var(m);
		a |= -m;
		m = (a - least) >> 63;
		barrier_var(m);
		m = -m;
		least = (a & m) | (least & ~m);
		sel = (w & m) | (sel & ~m);
		v = (word & m) | (v & ~m);
	}
	*vold = v;
	return sel;
}

/*
 * The shared state, for a packet its CPU's front slot could not decide: the
 * source's GCRA word is advanced by the packet's cost plus a batch for the
 * next ones (up to 1 << level packets' cost, at most tau >> (front - 1),
 * never more than the word allows), so a source that stays on a CPU touches
 * the shared word once per batch.  A global function: verified once (inlined
 * in the rules' loop it took the program +80k instructions).
 *
 * The word is found in its set by tag; one compare-and-exchange of the whole
 * word both checks that the way still belongs to the source and moves its
 * clock, so two CPUs can never both spend the same allowance, and a way
 * taken over meanwhile makes the exchange fail and the set be read again.
 * A source without a way takes the one least ahead of now (the most past
 * arrival time: a way behind now is a fresh state, nothing is lost), with
 * this packet's cost only, no batch: two CPUs inserting the same source at
 * once into two ways pass one packet each, and the second way, never found
 * again, is past after one packet's cost.
 */
__attribute__((noinline)) int geofw_rl_slow(__u64 khi, __u64 klo, __u64 info, __u32 i,
					    __u64 bytes)
{
	struct geofw_rl_front *f = NULL;
	struct geofw_rl_set *set;
	struct geofw_rl_rule *r;
	__u32 family = info & 0xff, key = GEOFW_RL_RULE_KEY((info >> 48) & 1, i);
	__u64 inc, base, next, want, got, room, now, h, tag, old, vold, sel;
	__s64 ahead;
	int t;
	__u8 ftag;

	r = bpf_map_lookup_elem(&gfw_rl_rule, &key);
	if (!r)
		return 0;
	inc = (r->bps ? bytes * 8 : 1) * r->ps_per_unit / 1000;
	want = inc;
	if (r->front) {
		key = rl_front_slot(khi, klo, i);
		f = bpf_map_lookup_elem(&gfw_rl_front, &key);
	}
	if (f) {
		ftag = rl_front_tag(info, i);
		if (f->tag == ftag && f->hi == khi && f->lo == klo) {
			if (f->level < GEOFW_RL_FRONT_LEVELS)
				f->level++;
		} else {
			/* Another source's slot: its unspent allowance is
			 * forgotten (at most one batch, and a source evicted
			 * between its packets takes batches of one). */
			f->tag = ftag;
			f->hi = khi;
			f->lo = klo;
			f->credit = 0;
			f->level = 0;
			f->deny_ns = 0;
		}
		/* This packet and a batch: 1 << level packets' cost, within
		 * the rule's cap and what the 32-bit credit holds; a pps
		 * batch is whole packets. */
		room = r->tau_ns >> ((r->front - 1) & 63);
		want = inc << f->level;
		if (want > room)
			want = room > inc ? room : inc;
		if (want - inc > 0xffffffffull)
			want = inc + 0xffffffffull;
		if (!r->bps && inc)
			want = want / inc * inc;
	}

	h = geofw_rl_hash(khi, klo, i, family, r->seed);
	key = (__u32)h & (GEOFW_RL_SETS - 1);
	tag = h >> GEOFW_RL_TAT_BITS << GEOFW_RL_TAT_BITS;
	set = bpf_map_lookup_elem(&gfw_rl_sets, &key);
	if (!set)
		return 0;
	/*
	 * The precise clock: the coarse one is cheaper (-20..-60 ns here)
	 * but its 4 ms ticks jitter on a loaded machine, and a burst shorter
	 * than a late tick loses allowance (78% of the rate passed with a
	 * 10 ms burst, docs/design-notes.md).
	 *
	 * Read after the word, once a try: another CPU writes at most its
	 * own now + tau + inc, and its now precedes our read of the word, so
	 * the word is never further ahead of our now than the window.  Read
	 * before the set, a word another CPU moved meanwhile could be up to
	 * its whole window plus the time between the two reads ahead, looked
	 * like a stale state and was taken as fresh: a full burst passed
	 * again (two CPUs flooding one source, burst 100, beside busy
	 * loops: 68 and 180 packets over burst + rate x time in 2 of 40
	 * runs; none in 46 since).
	 */
	for (t = 0; t < GEOFW_RL_CAS_TRIES; t++) {
		sel = rl_find(set, tag);
		/* The source's word, read again (a way taken meanwhile fails
		 * the exchange below whatever was read; without a way, way 0
		 * of the same line, unused), then the clock. */
		old = *(volatile __u64 *)&set->way[sel & (GEOFW_RL_WAYS - 1)];
		now = bpf_ktime_get_ns();
		if (sel >= GEOFW_RL_WAYS) {
			/* A new source (or one whose way was taken): this
			 * packet's cost only, in the way least ahead. */
			sel = rl_victim(set, now, &vold);
			next = now + inc;
			if (__sync_val_compare_and_swap(&set->way[sel & (GEOFW_RL_WAYS - 1)],
							vold, tag | (next & GEOFW_RL_TAT_MASK)) != vold)
				continue;	/* taken meanwhile: read the set again */
			rl_count(i, 0, 0);
			return 0;
		}
		if ((old ^ tag) >> GEOFW_RL_TAT_BITS)
			continue;	/* taken by another source meanwhile */
		ahead = rl_ahead(old, now);
		/* Behind now: a fresh state.  Further ahead than this rule's
		 * window and the CPUs' clock skew: another state's time read
		 * modulo 2^48 (a way untouched for days), or a state of a
		 * rule with a longer window before a change, past too.  One
		 * unsigned test. */
		if ((__u64)ahead - 1 >= r->tau_ns + inc + GEOFW_RL_SKEW_NS)
			ahead = 0;
		base = now + (__u64)ahead;
		/* The packet may pass while base is at most tau ahead of now;
		 * the batch takes what is left of that, up to want. */
		if ((__u64)ahead > r->tau_ns) {
			int ban = 0;

			if (f)
				f->deny_ns = base - r->tau_ns;
			if (r->ban) {
				__u64 *b = NULL;
				struct geofw_rl_bans *bs = bpf_map_lookup_elem(&gfw_rl_bans, &key);

				if (bs) {
					b = &bs->ban_ns[sel & (GEOFW_RL_WAYS - 1)];
					ban = rl_ban(b, khi, klo, i, info & 0xff,
						     (info & 0xff) == 4 ? r->v4_prefix :
									  r->v6_prefix, now);
				}
			}
			rl_count(i, 1, ban);
			return 1;
		}
		room = now + r->tau_ns + inc - base;
		got = want;
		if (got > room)
			got = !r->bps && inc ? room / inc * inc : room;
		next = base + got;
		if (__sync_val_compare_and_swap(&set->way[sel & (GEOFW_RL_WAYS - 1)], old,
						tag | (next & GEOFW_RL_TAT_MASK)) == old) {
			if (f)
				rl_credit(f, r, got - inc, inc);
			rl_count(i, 0, 0);
			return 0;
		}
	}
	/* Other CPUs moved this set four times meanwhile: a flood. */
	rl_count(i, 1, 0);
	return 1;
}

/*
 * One rule on this CPU's front slot for the source: 0 when the allowance it
 * holds pays the packet (no atomic, no clock read), 1 when the source is
 * known to be over its limit until deny_ns (one clock read), RL_SLOW when
 * the shared state must say.
 */
#define RL_SLOW	2

static __always_inline int rl_front(const struct geofw_rl_rule *r, __u64 khi, __u64 klo,
				    __u64 info, __u32 i, __u64 bytes)
{
	struct geofw_rl_front *f;
	__u32 key;
	__u64 inc;

	if (!r->front)
		return RL_SLOW;
	key = rl_front_slot(khi, klo, i);
	f = bpf_map_lookup_elem(&gfw_rl_front, &key);
	if (!f || f->tag != rl_front_tag(info, i) || f->hi != khi || f->lo != klo)
		return RL_SLOW;
	if (!r->bps) {
		/* pps: the credit counts packets (no division here) */
		if (f->credit) {
			f->credit--;
			return 0;
		}
	} else {
		inc = bytes * 8 * r->ps_per_unit / 1000;
		if (f->credit >= inc) {
			f->credit -= (__u32)inc;
			return 0;
		}
	}
	return bpf_ktime_get_ns() < f->deny_ns ? 1 : RL_SLOW;
}

/* Rule i for the packet: 1 when it drops it, 0 when it passes (or does
 * not concern it): the front slot, else the shared state. */
static __always_inline int rl_rule(__u64 hi, __u64 lo, __u64 info, __u32 i, __u64 bytes)
{
	struct geofw_rl_rule *r = NULL;
	__u64 khi = 0, klo = 0;
	int ret;

	if (rl_rule_key(hi, lo, info, i, &r, &khi, &klo) == RL_SKIP || !r)
		return 0;
	ret = rl_front(r, khi, klo, info, i, bytes);
	if (ret == RL_SLOW)
		return geofw_rl_slow(khi, klo, info, i, bytes);
	rl_count(i, ret, 0);
	return ret;
}

__attribute__((noinline)) int geofw_rl_run(__u64 hi, __u64 lo, __u64 info, __u64 bytes)
{
	__u32 i, n = (info >> 56) & 0xff;

	for (i = 0; i < GEOFW_MAX_RATELIMITS && i < n; i++)
		if (rl_rule(hi, lo, info, i, bytes))
			return 1;
	return 0;
}

/* After the decision: 1 when a rate limit drops the packet. */
static __always_inline int geofw_rate_limit(const struct geofw_pkt *pkt,
					    const struct geofw_config *cfg,
					    const struct geofw_verdict *v, __u64 bytes)
{
	__u64 hi, lo, info;

	if (!cfg->rl_count || v->reason == GEOFW_R_ALLOWLIST ||
	    (v->action != GEOFW_ACT_PASS && v->action != GEOFW_ACT_LOG))
		return 0;
	__builtin_memcpy(&hi, pkt->saddr, 8);
	__builtin_memcpy(&lo, pkt->saddr + 8, 8);
	info = RL_INFO(pkt->family, pkt->l4proto, pkt->has_l4, pkt->tcp_flags, v->port_sets,
		       (cfg->ports_present & GEOFW_PORTS_SLOT) ? 1 : 0, cfg->rl_count);
	/*
	 * One rule in force (the common case): inline, without the call of
	 * geofw_rl_run.  A BPF-to-BPF call costs about 10 ns a packet on this
	 * kind of machine (every return goes through the kernel's return
	 * thunk), a quarter of the +40 ns budget; a source whose allowance is
	 * on this CPU then costs no call at all.  Inlining the loop over all
	 * eight passes the verifier's 1M instructions.
	 */
	if (cfg->rl_count == 1)
		return rl_rule(hi, lo, info, 0, bytes);
	return geofw_rl_run(hi, lo, info, bytes);
}

#endif
