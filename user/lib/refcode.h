/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reference codes of the 403 page (include/geofw.h, bpf/refcode.h): the keys
 * geofwd keeps for them in StateDirectory/refkeys, and decoding a code a
 * visitor quotes.
 *
 * Keys rotate every Http403RefRetention and each is kept until the codes it
 * made are older than that, so a code stays decodable for the retention
 * across restarts; a code's minute says which key made it, so decoding
 * checks one MAC, never several.
 */
#ifndef GEOFW_REFCODE_USER_H
#define GEOFW_REFCODE_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"

#define GEOFW_REFKEYS_FILE	"refkeys"
#define GEOFW_REFKEYS_MAX	8

struct geofw_refkey {
	__u64 start;		/* UNIX seconds it is in force from */
	__u64 k[2];
};

struct geofw_refkeys {
	struct geofw_refkey key[GEOFW_REFKEYS_MAX];	/* oldest first */
	int n;
};

/* DIR/refkeys: "START HEX32" lines.  A missing file is no keys.  -errno. */
int geofw_refkeys_load(const char *dir, struct geofw_refkeys *ks, char *err, size_t errlen);

/*
 * Make sure a key is in force at now: a new one when there is none or the
 * last is retention old; keys whose codes are all older than retention are
 * dropped.  The file is rewritten (mode 0600, fsync, rename) when anything
 * changed (*changed).  -errno.
 */
int geofw_refkeys_rotate(const char *dir, struct geofw_refkeys *ks, __u64 now, __u64 retention,
			 bool *changed, char *err, size_t errlen);

/* The key in force (the last); NULL when none. */
const struct geofw_refkey *geofw_refkeys_current(const struct geofw_refkeys *ks);

/* What a code says. */
struct geofw_ref {
	unsigned int cls;	/* enum geofw_resp_class */
	unsigned int country_id;
	__u64 minute;		/* UNIX minute (seconds / 60) */
	__u32 subject;		/* rule id, or AS number for asn */
	const struct geofw_refkey *key;
};

/*
 * Encode (tests, and the data plane's twin) and decode.  decode accepts
 * lower case and Crockford's O → 0, I and L → 1, and ignores '-' and
 * spaces.  asn[] are the AS numbers that may have made an asn code (the code
 * holds 16 bits of it; the MAC picks the one).  -EINVAL (not a code),
 * -ESTALE (older than retention, or no key of its time), -EBADMSG (the MAC
 * fails: altered or forged), each with a message.
 */
void geofw_ref_encode(__u64 code, char out[GEOFW_REF_LEN + 1]);
__u64 geofw_ref_make(const __u64 key[2], unsigned int cls, unsigned int country_id,
		     __u64 minute, __u32 subject);
int geofw_ref_decode(const char *text, const struct geofw_refkeys *ks, __u64 now,
		     __u64 retention, const __u32 *asn, size_t n_asn, struct geofw_ref *out,
		     char *err, size_t errlen);

#endif
