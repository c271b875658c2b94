// SPDX-License-Identifier: GPL-2.0-only
#include "refcode.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The data plane's own encoder (its #pragma unroll is clang's). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "../../bpf/refcode.h"
#pragma GCC diagnostic pop
#include "msg.h"
#include "responder.h"

int geofw_refkeys_load(const char *dir, struct geofw_refkeys *ks, char *err, size_t errlen)
{
	char path[4096], line[128];
	unsigned long long start, k0, k1;
	unsigned int lineno = 0;
	FILE *f;

	memset(ks, 0, sizeof(*ks));
	snprintf(path, sizeof(path), "%s/%s", dir, GEOFW_REFKEYS_FILE);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : geofw_errf(err, errlen, -errno, "%s: %s", path,
						  strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, "%llu %16llx%16llx", &start, &k0, &k1) != 3 ||
		    ks->n == GEOFW_REFKEYS_MAX ||
		    (ks->n && start <= ks->key[ks->n - 1].start)) {
			fclose(f);
			return geofw_errf(err, errlen, -EINVAL, "%s:%u: not \"START KEY\" in order (at most "
				    "%d keys)", path, lineno, GEOFW_REFKEYS_MAX);
		}
		ks->key[ks->n].start = start;
		ks->key[ks->n].k[0] = k0;
		ks->key[ks->n].k[1] = k1;
		ks->n++;
	}
	fclose(f);
	return 0;
}

static int refkeys_save(const char *dir, const struct geofw_refkeys *ks, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	FILE *f;
	int fd, i, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, GEOFW_REFKEYS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return geofw_errf(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return geofw_errf(err, errlen, -errno, "%s: %s", tmp, strerror(errno));
	}
	for (i = 0; i < ks->n; i++)
		fprintf(f, "%llu %016llx%016llx\n", (unsigned long long)ks->key[i].start,
			(unsigned long long)ks->key[i].k[0], (unsigned long long)ks->key[i].k[1]);
	if (fflush(f) || fsync(fd))
		ret = -errno;
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return geofw_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	return 0;
}

int geofw_refkeys_rotate(const char *dir, struct geofw_refkeys *ks, __u64 now, __u64 retention,
			 bool *changed, char *err, size_t errlen)
{
	int ret;

	*changed = false;
	/* A key is needed while codes it made can be asked about: until its
	 * successor took over retention ago. */
	while (ks->n > 1 && ks->key[1].start + retention < now) {
		memmove(&ks->key[0], &ks->key[1], (size_t)(ks->n - 1) * sizeof(ks->key[0]));
		ks->n--;
		*changed = true;
	}
	if (!ks->n || now >= ks->key[ks->n - 1].start + retention) {
		struct geofw_refkey k = { .start = now };

		if (ks->n && now <= ks->key[ks->n - 1].start)
			k.start = ks->key[ks->n - 1].start + 1;
		if ((ret = geofw_cookie_key_random(k.k)))
			return geofw_errf(err, errlen, ret, "cannot draw a reference-code key: %s",
				    strerror(-ret));
		if (ks->n == GEOFW_REFKEYS_MAX) {
			memmove(&ks->key[0], &ks->key[1], (size_t)(ks->n - 1) * sizeof(ks->key[0]));
			ks->n--;
		}
		ks->key[ks->n++] = k;
		*changed = true;
	}
	return *changed ? refkeys_save(dir, ks, err, errlen) : 0;
}

const struct geofw_refkey *geofw_refkeys_current(const struct geofw_refkeys *ks)
{
	return ks->n ? &ks->key[ks->n - 1] : NULL;
}

void geofw_ref_encode(__u64 code, char out[GEOFW_REF_LEN + 1])
{
	int i;

	for (i = 0; i < GEOFW_REF_LEN; i++)
		out[i] = ref_digit((__u32)(code >> (5 * (GEOFW_REF_LEN - 1 - i))));
	out[GEOFW_REF_LEN] = '\0';
}

__u64 geofw_ref_make(const __u64 key[2], unsigned int cls, unsigned int country_id,
		     __u64 minute, __u32 subject)
{
	return ref_make(key[0], key[1], cls, country_id, (__u32)minute, subject);
}

static int digit_value(char c)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c == 'O')
		c = '0';
	if (c == 'I' || c == 'L')
		c = '1';
	p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

int geofw_ref_decode(const char *text, const struct geofw_refkeys *ks, __u64 now,
		     __u64 retention, const __u32 *asn, size_t n_asn, struct geofw_ref *out,
		     char *err, size_t errlen)
{
	__u64 code = 0, fields, mac, now_min = now / 60, m;
	__u32 code_min, sub16, cand;
	int n = 0, v, i;
	const char *s;
	size_t j;

	memset(out, 0, sizeof(*out));
	for (s = text; *s; s++) {
		if (*s == '-' || *s == ' ')
			continue;
		v = digit_value(*s);
		if (v < 0 || n == GEOFW_REF_LEN)
			return geofw_errf(err, errlen, -EINVAL, "not a reference code: %d characters of "
				    "0-9 and A-Z without I, L, O, U expected", GEOFW_REF_LEN);
		code = code << 5 | (__u64)v;
		n++;
	}
	if (n != GEOFW_REF_LEN)
		return geofw_errf(err, errlen, -EINVAL, "not a reference code: %d characters of "
			    "0-9 and A-Z without I, L, O, U expected", GEOFW_REF_LEN);
	mac = code & REF_MAC_MASK;
	fields = code & ~REF_MAC_MASK;
	out->cls = (unsigned int)(code >> REF_CLASS_SHIFT) & 7;
	out->country_id = (unsigned int)(code >> REF_COUNTRY_SHIFT) & 0xff;
	code_min = (__u32)(code >> REF_MINUTE_SHIFT) & 0xffff;
	sub16 = (__u32)(code >> REF_SUBJECT_SHIFT) & 0xffff;
	/* The latest minute with these 16 bits, a few minutes of clock skew
	 * between this host and the code's allowed. */
	m = now_min + 5 - ((now_min + 5 - code_min) & 0xffff);
	out->minute = m;
	if (m * 60 + 60 + retention < now)
		return geofw_errf(err, errlen, -ESTALE, "the code is older than Http403RefRetention "
			    "(%llu days): it can no longer be checked",
			    (unsigned long long)(retention / 86400));
	for (i = ks->n - 1; i >= 0; i--)
		if (ks->key[i].start <= m * 60 + 59)
			break;
	if (i < 0)
		return geofw_errf(err, errlen, -ESTALE, "no key of the code's time is kept (the code is "
			    "older than the keys, or not from this host)");
	out->key = &ks->key[i];
	if (out->cls == GEOFW_RC_ASN) {
		for (j = 0; j <= n_asn; j++) {
			cand = j < n_asn ? asn[j] : sub16;
			if ((cand & 0xffff) == sub16 &&
			    ref_mac(out->key->k[0], out->key->k[1], fields, (__u32)m, cand) == mac) {
				out->subject = cand;
				return 0;
			}
		}
	} else if (ref_mac(out->key->k[0], out->key->k[1], fields, (__u32)m, sub16) == mac) {
		out->subject = sub16;
		return 0;
	}
	return geofw_errf(err, errlen, -EBADMSG, "the code does not verify: it was altered, mistyped, "
		    "or not made by this host");
}
