// SPDX-License-Identifier: GPL-2.0-only
/* Reference codes: encode/decode, refusals, key rotation and retention. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "refcode.h"
#include "test.h"

#define DAY	86400ull

static const struct geofw_refkeys one_key = {
	.key = { { .start = 1000, .k = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } } },
	.n = 1,
};

void test_refcode_roundtrip(void)
{
	static const struct {
		const char *name;
		unsigned int cls, cid;
		__u32 subject;
	} rows[] = {
		{ "country", GEOFW_RC_COUNTRY, 180, 0 },
		{ "no_country", GEOFW_RC_COUNTRY, 0, 0 },
		{ "ip_rule", GEOFW_RC_IP, 3, 65535 },
		{ "asn_32bit", GEOFW_RC_ASN, 7, 4200000001u },
		{ "crowdsec", GEOFW_RC_CROWDSEC, 255, 1 },
	};
	__u64 now = 1796615628, minute = now / 60 - 3;
	__u32 asns[] = { 64500, 4200000001u };
	struct geofw_ref ref;
	char code[GEOFW_REF_LEN + 1], err[256];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		SUBTEST("%s", rows[i].name) {
			geofw_ref_encode(geofw_ref_make(one_key.key[0].k, rows[i].cls, rows[i].cid,
							minute, rows[i].subject), code);
			ASSERT_EQ(strlen(code), 12, "12 characters");
			ASSERT_EQ(strcspn(code, "ILOU"), 12, "no ambiguous letters");
			if (ASSERT_OK(geofw_ref_decode(code, &one_key, now, 30 * DAY, asns, 2, &ref,
						       err, sizeof(err)), err)) {
				ASSERT_EQ(ref.cls, rows[i].cls, "class");
				ASSERT_EQ(ref.country_id, rows[i].cid, "country");
				ASSERT_EQ(ref.minute, minute, "minute");
				ASSERT_EQ(ref.subject, rows[i].subject, "subject");
			}
		}
	}
	SUBTEST("aliases_and_hyphens") {
		char alt[32];
		size_t j;

		geofw_ref_encode(geofw_ref_make(one_key.key[0].k, GEOFW_RC_IP, 1, minute, 9), code);
		for (j = 0; j < 12; j++)
			alt[j] = code[j] == '0' ? 'o' : code[j] == '1' ? 'l' :
				 (char)(code[j] >= 'A' ? code[j] + 32 : code[j]);
		memmove(alt + 5, alt + 4, 8);
		alt[4] = '-';
		alt[13] = '\0';
		ASSERT_OK(geofw_ref_decode(alt, &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), err);
	}
	SUBTEST("every_single_character_change_refused") {
		static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
		int refused = 0, tried = 0;
		size_t j, d;

		geofw_ref_encode(geofw_ref_make(one_key.key[0].k, GEOFW_RC_IP, 1, minute, 9), code);
		for (j = 0; j < 12; j++)
			for (d = 0; d < 32; d++) {
				char alt[13];
				int r;

				if (digits[d] == code[j])
					continue;
				memcpy(alt, code, 13);
				alt[j] = digits[d];
				r = geofw_ref_decode(alt, &one_key, now, 30 * DAY, NULL, 0, &ref, err,
						     sizeof(err));
				tried++;
				refused += r != 0;
			}
		/* A 17-bit MAC: of 372 neighbours, expect none to pass. */
		ASSERT_EQ(refused, tried, "altered codes refused");
	}
	SUBTEST("forged_refused") {
		/* Plausible fields (this minute, a rule id), a guessed MAC. */
		geofw_ref_encode(geofw_ref_make(one_key.key[0].k, GEOFW_RC_IP, 1, minute, 9) ^ 0x5a5a,
				 code);
		ASSERT_EQ(geofw_ref_decode(code, &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), -EBADMSG, "forged");
		ASSERT_TRUE(strstr(err, "does not verify") != NULL, err);
	}
	SUBTEST("not_a_code") {
		ASSERT_EQ(geofw_ref_decode("HELLO", &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), -EINVAL, "short");
		ASSERT_EQ(geofw_ref_decode("UUUUUUUUUUUU", &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), -EINVAL, "U is not a digit");
	}
	SUBTEST("older_than_retention") {
		geofw_ref_encode(geofw_ref_make(one_key.key[0].k, GEOFW_RC_IP, 1,
						now / 60 - 8 * 1440, 9), code);
		ASSERT_EQ(geofw_ref_decode(code, &one_key, now, 7 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), -ESTALE, "8 days, 7 kept");
		ASSERT_OK(geofw_ref_decode(code, &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), "8 days, 30 kept");
	}
	SUBTEST("asn_not_configured_any_more") {
		geofw_ref_encode(geofw_ref_make(one_key.key[0].k, GEOFW_RC_ASN, 1, minute,
						4200000001u), code);
		ASSERT_EQ(geofw_ref_decode(code, &one_key, now, 30 * DAY, NULL, 0, &ref, err,
					   sizeof(err)), -EBADMSG, "32-bit AS not among candidates");
	}
}

void test_refcode_keys(void)
{
	char dir[] = "/tmp/geofw-refkeys-XXXXXX", path[64], err[256];
	struct geofw_refkeys ks, back;
	struct stat st;
	bool changed;
	__u64 t0 = 1796615628;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	snprintf(path, sizeof(path), "%s/refkeys", dir);
	SUBTEST("created_private") {
		ASSERT_OK(geofw_refkeys_load(dir, &ks, err, sizeof(err)), "no file: no keys");
		ASSERT_EQ(ks.n, 0, "none");
		ASSERT_OK(geofw_refkeys_rotate(dir, &ks, t0, 7 * DAY, &changed, err, sizeof(err)), err);
		ASSERT_TRUE(changed && ks.n == 1, "one key");
		ASSERT_OK(stat(path, &st), "file");
		ASSERT_EQ(st.st_mode & 0777, 0600, "mode 0600");
		ASSERT_OK(geofw_refkeys_load(dir, &back, err, sizeof(err)), err);
		ASSERT_MEMEQ(&back, &ks, sizeof(ks), "read back");
	}
	SUBTEST("kept_until_retention") {
		ASSERT_OK(geofw_refkeys_rotate(dir, &ks, t0 + DAY, 7 * DAY, &changed, err,
					       sizeof(err)), err);
		ASSERT_TRUE(!changed && ks.n == 1, "not yet");
		ASSERT_OK(geofw_refkeys_rotate(dir, &ks, t0 + 7 * DAY, 7 * DAY, &changed, err,
					       sizeof(err)), err);
		ASSERT_TRUE(changed && ks.n == 2, "rotated, old one kept");
		ASSERT_OK(geofw_refkeys_rotate(dir, &ks, t0 + 14 * DAY + 1, 7 * DAY, &changed, err,
					       sizeof(err)), err);
		ASSERT_EQ(ks.n, 2, "the first dropped once its codes are older than 7 d");
		ASSERT_EQ(ks.key[0].start, t0 + 7 * DAY, "the second is the oldest now");
	}
	unlink(path);
	rmdir(dir);
}
