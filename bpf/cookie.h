/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SYN cookies for the stateless 403 responder.
 *
 * The responder keeps no state, so everything it must know about a flow after
 * the SYN travels in the sequence number it chose, and comes back in every
 * acknowledgement.  Our ISN (the cookie) is laid out as:
 *
 *   31                     15   14   13   12 11   10              0
 *  +-------------------------+----+----+------+------------------+
 *  | MAC: 17 bits of         | P  | T  | MSS  |  0: room for the |
 *  | SipHash-2-4 over flow,  |    |    | class|  stream offset   |
 *  | P, its generation, T, MSS    |    |      |                  |
 *  +-------------------------+----+----+------+------------------+
 *
 * - The low 11 bits are zero so that every sequence number we later use,
 *   cookie + 1 + offset with offset <= response length + 1 (the FIN), stays
 *   inside them: (ack - 1) splits back into the cookie and the offset the
 *   client has acknowledged, without a search.
 * - MSS class (2 bits): the largest of COOKIE_MSS_0..3 not above the MSS of
 *   the SYN (536 when it has no option).  Reply segments never exceed it.
 *   48 is Linux's own floor (TCP_MIN_SND_MSS); 1220 (the IPv6 minimum MTU's
 *   MSS) already carries the whole response (GEOFW_HTTP403_MAX) in one segment.
 * - T: parity of the time slot (2^36 ns, about 68.7 s, of CLOCK_BOOTTIME) the
 *   cookie was made in.  A cookie is accepted in its own slot and the next,
 *   so it lives between 68.7 and 137 s: long enough to pull a response in
 *   small segments, short enough that a cookie seen once cannot be replayed
 *   later.  The parity picks which of the two slots to check, and the MAC
 *   covers the full slot number.
 * - P: the 403 page slot in force at the SYN (gfw_responder pages.slot).
 *   Every segment of the response is cut from that slot's pages, and the MAC
 *   covers the slot's generation: a reload that rewrites the slot meanwhile
 *   makes the cookie fail (the segment is dropped) instead of mixing two
 *   pages in one response.
 * - MAC: SipHash-2-4 under the 128-bit key geofwd draws at load time, over
 *   client and server address and port, address family, MSS class, page
 *   slot and its generation, and time slot.
 *   The client's ISN is deliberately left out: a segment sent after the
 *   request carries seq = ISN + 1 + request length, and we cannot know the
 *   request length without state.
 *
 * Forgery odds, as cookie_check() decides: the low 11 bits are accepted
 * for any offset up to the response length + 1, and T and the MSS class may
 * take any value (the MAC is recomputed for whatever they say), so only the
 * 17 MAC bits are a secret.  A forger picks a valid offset and any P, T and
 * MSS class, and guesses the MAC: each forged ACK is accepted with
 * probability 2^-17, 1 in 131,072 (a uniformly random ack number does better only by
 * the share of valid offsets, (length + 2) / 2^11).  An accepted ACK buys one
 * response segment sent to the address it spoofed, never a socket.
 *
 * A cookie is not a one-time token: whoever saw a SYN-ACK (the client
 * itself) can replay ACKs with it for its whole lifetime, each worth up to
 * a full response segment (1,253 bytes for a 54-byte ACK).  The responder
 * therefore limits the response segments it sends per flow (gfw_resp_flow,
 * responder.h), whatever the cookie says.
 */
#ifndef GEOFW_COOKIE_H
#define GEOFW_COOKIE_H

#include "geofw.h"
#include "siphash.h"

#define COOKIE_OFF_BITS		11
#define COOKIE_OFF_MASK		((1u << COOKIE_OFF_BITS) - 1)
#define COOKIE_MSS_SHIFT	11
#define COOKIE_SLOT_SHIFT	13
#define COOKIE_PAGE_SHIFT	14
#define COOKIE_MAC_MASK		0xffff8000u
#define COOKIE_SLOT_NS_SHIFT	36	/* 2^36 ns = 68.7 s per slot */

#define COOKIE_MSS_0		48
#define COOKIE_MSS_1		128
#define COOKIE_MSS_2		536
#define COOKIE_MSS_3		1220

#define TCP_DEFAULT_MSS		536	/* RFC 9293: no MSS option */

_Static_assert(GEOFW_HTTP403_MAX + 2 <= COOKIE_OFF_MASK + 1,
	       "the response and our FIN must fit in the cookie's offset bits");

/*
 * What the MAC covers, as six little-endian words (48 bytes): client address,
 * server address (IPv4 in the first 4 bytes, the rest zero), client port and
 * server port in network order, family (4 or 6), MSS class, page slot, a
 * zero byte, time slot, the page slot's generation.  Always in the client →
 * server direction.
 */
struct cookie_input {
	union {
		struct {
			__u8  saddr[16];
			__u8  daddr[16];
			__u16 sport_be;
			__u16 dport_be;
			__u8  family;
			__u8  mss_class;
			__u8  page_slot;
			__u8  zero;
			__u32 slot;
			__u32 page_gen;
		};
		__u64 words[6];
	};
};
_Static_assert(sizeof(struct cookie_input) == 48, "cookie_input size");

static __always_inline __u32 cookie_slot(__u64 boot_ns)
{
	return (__u32)(boot_ns >> COOKIE_SLOT_NS_SHIFT);
}

static __always_inline __u32 cookie_mss_class(__u32 mss)
{
	if (mss >= COOKIE_MSS_3)
		return 3;
	if (mss >= COOKIE_MSS_2)
		return 2;
	if (mss >= COOKIE_MSS_1)
		return 1;
	return 0;
}

static __always_inline __u32 cookie_mss_value(__u32 mss_class)
{
	switch (mss_class & 3) {
	case 3:
		return COOKIE_MSS_3;
	case 2:
		return COOKIE_MSS_2;
	case 1:
		return COOKIE_MSS_1;
	default:
		return COOKIE_MSS_0;
	}
}

/* The cookie for in->mss_class and in->slot. */
static __always_inline __u32 cookie_make(__u64 k0, __u64 k1, struct cookie_input *in)
{
	__u32 mac = (__u32)siphash24(k0, k1, in->words, 6);

	return (mac & COOKIE_MAC_MASK) | (__u32)(in->page_slot & 1) << COOKIE_PAGE_SHIFT |
	       (in->slot & 1) << COOKIE_SLOT_SHIFT |
	       (__u32)(in->mss_class & 3) << COOKIE_MSS_SHIFT;
}

/*
 * Check an acknowledgement number against the flow in `in` (its mss_class,
 * page slot, generation and time slot are filled in here; gen[] are the
 * page slots' generations now).  On success returns 0 with *cookie and
 * *offset (ack - cookie - 1, at most max_offset); -1 when the ack does not
 * verify.
 */
static __always_inline int cookie_check(__u64 k0, __u64 k1, struct cookie_input *in,
					__u32 ack, __u32 now_slot, __u32 max_offset,
					const __u32 *gen, __u32 *cookie, __u32 *offset)
{
	__u32 pos = ack - 1;
	__u32 base = pos & ~COOKIE_OFF_MASK;
	__u32 parity = (base >> COOKIE_SLOT_SHIFT) & 1;

	if ((pos & COOKIE_OFF_MASK) > max_offset)
		return -1;
	in->mss_class = (__u8)((base >> COOKIE_MSS_SHIFT) & 3);
	in->page_slot = (__u8)((base >> COOKIE_PAGE_SHIFT) & 1);
	in->page_gen = gen[in->page_slot & 1];
	/* The current slot if the parity matches, else the one before. */
	in->slot = now_slot - ((now_slot ^ parity) & 1);
	if (cookie_make(k0, k1, in) != base)
		return -1;
	*cookie = base;
	*offset = pos & COOKIE_OFF_MASK;
	return 0;
}

#endif
