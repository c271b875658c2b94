/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stateless TCP responder behind the reject and http403 actions.
 *
 * The XDP program decides; this code only answers, for packets it is handed
 * with an action (through XDP metadata in production, through skb->cb in the
 * BPF_PROG_RUN tests — both entries call geofw_responder_run()).  Nothing it
 * handles reaches the stack: every packet is either turned into a reply and
 * redirected, or dropped.
 *
 * http403 to a port of gfw_responder[0].http_ports: a tiny TCP server with
 * SYN cookies (cookie.h) serving the page chosen for the verdict's reason
 * class and country, placeholders filled (page.h):
 *	SYN			→ SYN-ACK, seq = cookie, MSS option
 *	ACK, cookie verifies	→ response bytes from offset ack - cookie - 1, at
 *				  most the MSS class and the client's window,
 *				  never ending inside a placeholder field,
 *				  FIN on the segment carrying the last byte (a
 *				  bare FIN when only our FIN is unacknowledged);
 *				  ack covers the client's payload (and FIN)
 *	  … except the bare handshake ACK (offset 0, no payload, no FIN): the
 *	  request follows and gets the answer, sending it twice is waste; and a
 *	  zero window, which waits for the client's window update
 *	request (offset 0) that does not start like HTTP ("METHOD ") → RST
 *	request "HEAD …"	→ the headers only, with FIN, when they fit in one
 *				  segment (else the whole response, as for GET);
 *				  its FIN acknowledged is offset head_len + 1,
 *				  where no GET segment ever ends
 *	FIN after our FIN is acked → ACK
 *	RST, stray segments, the final ACK, data after our FIN → dropped (DROPPED)
 *	ACK that does not verify → dropped (BAD_COOKIE)
 *	response segment over the flow's budget → dropped (LIMITED): at most
 *	  GEOFW_RESP_FLOW_BURST, then GEOFW_RESP_FLOW_RATE per second per flow
 * Every answer is a pure function of the segment and the key, so a
 * retransmitted SYN or request gets the same bytes again, and a client with a
 * small MSS pulls the rest of the response by acknowledging what it has.
 * reject, or http403 to any other port → RST as RFC 9293 §3.10.7.1 has a
 * closed port answer.  http403 also falls back to RST while no response is
 * configured or the cookie key is all zero (an unset key would make cookies
 * predictable).
 *
 * Fragments (the first fragment of a TCP segment; later ones have no ports
 * and never get here) are dropped as ERROR: their lengths describe the
 * fragment, not the segment, so no correct ack can be computed.
 */
#ifndef GEOFW_RESPONDER_H
#define GEOFW_RESPONDER_H

#include "geofw.h"
#include "parse.h"
#include "cookie.h"
#include "reply.h"
#include "page.h"

/* SYN cookie key, drawn by geofwd at load time (skeleton rodata). */
const volatile __u64 cookie_key[2] = { 0, 0 };

static __always_inline void count_resp(__u32 event)
{
	struct geofw_resp_stats *st = bpf_map_lookup_elem(&gfw_cnt_resp, &event);

	if (st)
		st->packets++;
}

static __always_inline int resp_drop(__u32 event)
{
	count_resp(event);
	return TC_ACT_SHOT;
}

static __always_inline int resp_send(struct __sk_buff *skb, const struct geofw_seg *seg,
				     const struct geofw_reply *r, void *response, __u32 event)
{
	int ret = reply_send(skb, seg, r, response);

	if (ret < 0)
		return resp_drop(GEOFW_RESP_ERROR);
	count_resp(event);
	return ret;
}

/*
 * Per-flow token bucket on 403 response segments (gfw_resp_flow): a cookie
 * is valid for minutes and each ACK that carries it is worth a full segment,
 * so without a bound one client could pull 1,253 bytes per 54-byte ACK for
 * as long as it liked.  Shared by all CPUs without a lock: concurrent
 * updates may lose a token either way, which a limit of this kind tolerates.
 */
static __always_inline int flow_may_send(const struct geofw_seg *seg)
{
	struct geofw_resp_flow_key key = { .sport_be = seg->sport_be, .dport_be = seg->dport_be };
	struct geofw_resp_flow *b, fresh = {};
	__u64 now = bpf_ktime_get_coarse_ns(), t;

	if (seg->ipv6) {
		__builtin_memcpy(key.saddr, seg->saddr, 16);
	} else {
		key.saddr[10] = key.saddr[11] = 0xff;
		__builtin_memcpy(key.saddr + 12, seg->saddr, 4);
	}
	b = bpf_map_lookup_elem(&gfw_resp_flow, &key);
	if (!b) {
		fresh.last_ns = now;
		fresh.tokens_milli = (GEOFW_RESP_FLOW_BURST - 1) * 1000;
		bpf_map_update_elem(&gfw_resp_flow, &key, &fresh, BPF_ANY);
		return 1;
	}
	/* RATE per second = RATE / 1e6 thousandths per ns */
	t = b->tokens_milli + (now - b->last_ns) * GEOFW_RESP_FLOW_RATE / 1000000;
	if (t > GEOFW_RESP_FLOW_BURST * 1000)
		t = GEOFW_RESP_FLOW_BURST * 1000;
	b->last_ns = now;
	if (t < 1000) {
		b->tokens_milli = (__u32)t;
		return 0;
	}
	b->tokens_milli = (__u32)(t - 1000);
	return 1;
}

static __always_inline int is_http_port(const struct geofw_responder *resp, __u16 port_be)
{
	__u16 port = bpf_ntohs(port_be);
	int i;

#pragma unroll
	for (i = 0; i < GEOFW_MAX_HTTP_PORTS; i++)
		if (resp->http_ports[i] && resp->http_ports[i] == port)
			return 1;
	return 0;
}

/* RFC 9293: take seq from the ACK we got, or acknowledge what it occupied. */
static __always_inline int respond_rst(struct __sk_buff *skb, const struct geofw_seg *seg)
{
	struct geofw_reply r = {};

	if (seg->flags & TCP_FLAG_RST)
		return resp_drop(GEOFW_RESP_DROPPED);
	if (seg->flags & TCP_FLAG_ACK) {
		r.seq = seg->ack;
		r.flags = TCP_FLAG_RST;
	} else {
		r.ack = seg->seq + seg->payload + !!(seg->flags & TCP_FLAG_SYN) +
			!!(seg->flags & TCP_FLAG_FIN);
		r.flags = TCP_FLAG_RST | TCP_FLAG_ACK;
	}
	return resp_send(skb, seg, &r, NULL, GEOFW_RESP_RST);
}

/*
 * The first bytes of a request: 1 when they start like an HTTP request line
 * (3 to 7 upper-case letters and a space, or only letters so far), with
 * *head set for HEAD; 0 for anything else (TLS, SSH, binary).
 */
static __always_inline int request_is_http(struct __sk_buff *skb, const struct geofw_seg *seg,
					   int *head)
{
	__u8 b[8] = {};
	__u64 n;
	__u32 i;

	*head = 0;
	if (!seg->payload)
		return 0;
	n = helper_size((__u64)seg->payload - 1, sizeof(b));
	if (bpf_skb_load_bytes(skb, seg->l4_off + seg->doff, b, n))
		return 0;
#pragma unroll
	for (i = 0; i < 8; i++) {
		if (i >= n)
			return 1;	/* letters only so far */
		if (b[i] == ' ') {
			*head = i == 4 && b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D';
			return i >= 3;
		}
		if (b[i] < 'A' || b[i] > 'Z')
			return 0;
	}
	return 0;
}

/* Shorten a segment [off, off + n) that would end inside a field. */
static __always_inline __u32 seg_align(const struct geofw_resp_page *page, __u32 off, __u32 n)
{
	__u32 i, end = off + n;

	for (i = 0; i < GEOFW_RESP_MAX_FIELDS; i++) {
		__u32 fo, fe;

		if (i >= page->n_fields)
			break;
		fo = page->field[i].off;
		fe = fo + page->field[i].width;
		if (fo > off && fo < end && end < fe)
			end = fo;
	}
	return end - off;
}

static __always_inline int respond_http(struct __sk_buff *skb, const struct geofw_seg *seg,
					struct geofw_resp_pages_state *ps,
					const struct geofw_xdp_meta *meta)
{
	__u64 k0 = cookie_key[0], k1 = cookie_key[1];
	struct geofw_resp_select *sel;
	struct geofw_resp_page *page;
	struct page_input pin = {};
	struct cookie_input in = {};
	struct geofw_reply r = {};
	__u32 now, len, head_len, cookie, off, n, fin, key, cls;
	int head = 0;

	if (seg->flags & TCP_FLAG_RST)
		return resp_drop(GEOFW_RESP_DROPPED);

	__builtin_memcpy(in.saddr, seg->saddr, 16);
	__builtin_memcpy(in.daddr, seg->daddr, 16);
	in.sport_be = seg->sport_be;
	in.dport_be = seg->dport_be;
	in.family = seg->ipv6 ? 6 : 4;
	now = cookie_slot(bpf_ktime_get_boot_ns());

	if (seg->flags & TCP_FLAG_SYN) {
		if (seg->flags & (TCP_FLAG_ACK | TCP_FLAG_FIN))
			return resp_drop(GEOFW_RESP_DROPPED);
		in.mss_class = (__u8)cookie_mss_class(seg_mss(skb, seg));
		in.slot = now;
		in.page_slot = ps->slot & 1;
		in.page_gen = ps->gen[in.page_slot & 1];
		r.seq = cookie_make(k0, k1, &in);
		r.ack = seg->seq + 1;
		r.flags = TCP_FLAG_SYN | TCP_FLAG_ACK;
		r.mss_opt = 1;
		return resp_send(skb, seg, &r, NULL, GEOFW_RESP_SYNACK);
	}
	if (!(seg->flags & TCP_FLAG_ACK))
		return resp_drop(GEOFW_RESP_DROPPED);

	if (cookie_check(k0, k1, &in, seg->ack, now, GEOFW_HTTP403_MAX + 1, ps->gen,
			 &cookie, &off))
		return resp_drop(GEOFW_RESP_BAD_COOKIE);

	/* The page of the verdict, from the slot of the SYN: the class of
	 * the block entry's source when XDP passed one, else the reason's,
	 * both read from reason_class[] (a map value: what is read from it
	 * is not tracked back to the metadata, which keeps states prunable). */
	key = (meta->flags & GEOFW_META_CLASS_MASK) >> GEOFW_META_CLASS_SHIFT;
	cls = 0u - ((key + 7) >> 3);		/* all ones when a source class */
	asm volatile("" : "+r"(cls));		/* no branch: one would fork states */
	key = (meta->reason & ~cls) | (GEOFW_RESP_SRC_REASON(key) & cls);
	/* The mask bounds the index register itself: without the barrier the
	 * compiler moves it into one operand of the OR, which Linux 6.1's
	 * verifier (Debian 12's) cannot bound. */
	barrier_var(key);
	cls = ps->reason_class[key & (GEOFW_RESP_MAX_REASONS - 1)] & 7;
	key = in.page_slot & 1;
	sel = bpf_map_lookup_elem(&gfw_resp_select, &key);
	if (!sel)
		return resp_drop(GEOFW_RESP_ERROR);
	key = (in.page_slot & 1) * GEOFW_RESP_MAX_PAGES +
	      (sel->page[cls][meta->country_id] & (GEOFW_RESP_MAX_PAGES - 1));
	page = bpf_map_lookup_elem(&gfw_resp_pages, &key);
	if (!page || !page->len)
		return respond_rst(skb, seg);	/* no page in that slot (yet) */
	len = page->len;
	if (len > GEOFW_HTTP403_MAX)
		len = GEOFW_HTTP403_MAX;
	head_len = page->head_len;
	if (off > len + 1)
		return resp_drop(GEOFW_RESP_BAD_COOKIE);

	fin = seg->flags & TCP_FLAG_FIN ? 1 : 0;
	r.ack = seg->seq + seg->payload + fin;
	r.flags = TCP_FLAG_ACK;

	if (off > len || (off == head_len + 1 && !seg->payload)) {
		/* Everything, our FIN included, is acknowledged (of the whole
		 * response, or of a HEAD answer). */
		if (!fin)
			return resp_drop(GEOFW_RESP_DROPPED);
		r.seq = cookie + 1 + off;
		return resp_send(skb, seg, &r, NULL, GEOFW_RESP_FINACK);
	}
	if (off == 0 && !seg->payload && !fin)
		return resp_drop(GEOFW_RESP_DROPPED);
	if (off == 0 && seg->payload && !request_is_http(skb, seg, &head)) {
		r.seq = cookie + 1;
		r.ack = 0;
		r.flags = TCP_FLAG_RST;
		return resp_send(skb, seg, &r, NULL, GEOFW_RESP_RST);
	}

	n = len - off;
	if (n > cookie_mss_value(in.mss_class))
		n = cookie_mss_value(in.mss_class);
	if (n > seg->window)
		n = seg->window;
	if (!n && off < len)
		return resp_drop(GEOFW_RESP_DROPPED);	/* zero window: wait for an update */
	if (head && head_len <= n) {
		n = head_len;
		len = head_len;
	} else if (n && off + n < len) {
		/* A field whole in one segment, and no GET segment ending where
		 * a HEAD answer's FIN is acknowledged. */
		__u32 m = seg_align(page, off, n);

		if (m)
			n = m;
		if (off + n == head_len + 1 && n > 1)
			n--;
	}
	if (n && !flow_may_send(seg))
		return resp_drop(GEOFW_RESP_LIMITED);
	r.seq = cookie + 1 + off;
	r.data_off = (__u16)off;
	r.data_len = (__u16)n;
	if (n)
		r.flags |= TCP_FLAG_PSH;
	if (off + n == len)
		r.flags |= TCP_FLAG_FIN;
	if (!n)
		return resp_send(skb, seg, &r, NULL, GEOFW_RESP_HTTP403);
	pin.cls = (__u8)cls;
	pin.country_id = meta->country_id;
	pin.subject = cls == GEOFW_RC_ASN ? meta->asn : meta->rule_id;
	return resp_send(skb, seg, &r, page_render(page, ps, seg, &pin),
			 GEOFW_RESP_HTTP403);
}

/* Answer pkt (already parsed from skb) for the XDP verdict in meta. */
static __always_inline int geofw_respond(struct __sk_buff *skb, const struct geofw_xdp_meta *meta,
					 const struct geofw_pkt *pkt)
{
	struct geofw_responder *resp;
	struct geofw_seg seg = {};
	__u8 action = meta->action;
	__u32 zero = 0;

	if (pkt->l4proto != GEOFW_IPPROTO_TCP || !pkt->has_l4)
		return resp_drop(GEOFW_RESP_DROPPED);
	if (action != GEOFW_ACT_REJECT && action != GEOFW_ACT_HTTP403)
		return resp_drop(GEOFW_RESP_DROPPED);
	resp = bpf_map_lookup_elem(&gfw_responder, &zero);
	if (!resp || pkt->fragment || seg_read(skb, pkt, &seg))
		return resp_drop(GEOFW_RESP_ERROR);

	if (action == GEOFW_ACT_HTTP403 && resp->pages.ready && (cookie_key[0] | cookie_key[1]) &&
	    is_http_port(resp, seg.dport_be))
		return respond_http(skb, &seg, &resp->pages, meta);
	return respond_rst(skb, &seg);
}

/* Entry point for both programs: make the headers readable, parse, answer. */
static __always_inline int geofw_responder_run(struct __sk_buff *skb,
						const struct geofw_xdp_meta *meta)
{
	struct geofw_pkt pkt = {};
	__u32 pull = skb->len < 256 ? skb->len : 256;

	/* Headers in the linear area for the parser; also makes skb writable. */
	if (bpf_skb_pull_data(skb, pull))
		return resp_drop(GEOFW_RESP_ERROR);
	if (geofw_parse((void *)(long)skb->data, (void *)(long)skb->data_end, &pkt) !=
	    GEOFW_PARSE_IP)
		return resp_drop(GEOFW_RESP_ERROR);
	return geofw_respond(skb, meta, &pkt);
}

#endif
