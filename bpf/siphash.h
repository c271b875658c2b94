/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SipHash-2-4 (Aumasson & Bernstein): a keyed PRF that is fast on short
 * inputs, which is what a SYN cookie needs — an off-path attacker who does
 * not know the 128-bit key cannot predict the output for a flow.
 *
 * Written for the BPF target but free of helpers and maps, so the host can
 * compile it too.  Messages are whole little-endian 64-bit words (the caller
 * lays its input out in a u64 array); the length byte of the final block is
 * then simply nwords * 8.
 */
#ifndef GEOFW_SIPHASH_H
#define GEOFW_SIPHASH_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define SIP_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

struct sip_state {
	__u64 v0, v1, v2, v3;
};

static __always_inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = SIP_ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = SIP_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = SIP_ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = SIP_ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = SIP_ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = SIP_ROTL(s->v2, 32);
}

/* Two compression rounds per message word. */
static __always_inline void sip_compress(struct sip_state *s, __u64 m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

/* SipHash-2-4 of nwords little-endian words under key (k0, k1). nwords is a
 * compile-time constant at every call site, so the loop unrolls. */
static __always_inline __u64 siphash24(__u64 k0, __u64 k1, const __u64 *m, int nwords)
{
	struct sip_state s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	int i;

#pragma unroll
	for (i = 0; i < nwords; i++)
		sip_compress(&s, m[i]);
	sip_compress(&s, (__u64)(nwords * 8) << 56);

	s.v2 ^= 0xff;
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

#endif
