// SPDX-License-Identifier: GPL-2.0-only
/*
 * gfw_config: each writer stores only its own field (user/lib/maps.h), so
 * writers running at the same time never undo each other.  Two threads
 * stand in for fwctl (the drop-log rate lease, taken and given back) and
 * geofwd (rule bits, the policy, geo switches), as fast as they go; every
 * update of each must survive, in the mapping and in the kernel's view.
 */
#include <pthread.h>

#include "loader.h"
#include "maps.h"
#include "test.h"

#define ROUNDS 200000

static struct geofw_loaded fw;

static void *rate_lease(void *arg)
{
	const struct geofw_maps *m = arg;
	__u32 seen;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		geofw_config_swap_events_rate(m, 0, 7, &seen);
		geofw_config_swap_events_rate(m, 7, 0, &seen);
	}
	return NULL;
}

void test_config_one_writer_per_field(void)
{
	static const unsigned int bits[] = { GEOFW_HAVE_ALLOW4, GEOFW_HAVE_BLOCK_IP4,
					     GEOFW_HAVE_BLOCK_NET6, GEOFW_HAVE_BLOCK_IP6 };
	struct geofw_config pol, got, *mem;
	const struct geofw_maps *m;
	__u32 gen0;
	pthread_t t;
	int i, err;

	if (geofw_load(NULL, &fw)) {
		test_skip("cannot load the BPF objects (root needed)");
		return;
	}
	m = &fw.maps;
	mem = m->config_mem;
	if (!ASSERT_TRUE(mem != NULL, "gfw_config mapped"))
		goto out;
	geofw_config_defaults(&pol);
	ASSERT_OK(geofw_config_write(m, &pol), "initial record");
	gen0 = mem->geo_generation;

	ASSERT_OK(pthread_create(&t, NULL, rate_lease, (void *)m), "thread");
	for (i = 0; i < ROUNDS; i++) {
		pol.country_mode = (__u8)(i & 1);
		pol.unknown_country_action = (__u8)(i % GEOFW_ACT_MAX);
		pol.malformed_action[GEOFW_MF_IPV4_IHL] = (__u8)((i + 1) % GEOFW_ACT_MAX);
		if ((err = geofw_config_set_policy(m, &pol)) ||
		    (err = geofw_config_set_responder(m, i & 1)) ||
		    (err = geofw_config_switch_geo_slot(m, (__u8)(i & 1))) ||
		    (err = geofw_rules_present_add(m, bits[i % 4])))
			break;
	}
	pthread_join(t, NULL);
	ASSERT_OK(err, "setters");

	ASSERT_OK(geofw_config_read(m, &got), "kernel's view");
	ASSERT_EQ(got.geo_generation, gen0 + ROUNDS, "no geo switch lost");
	ASSERT_EQ(got.geo_slot, (ROUNDS - 1) & 1, "last geo slot");
	ASSERT_EQ(got.rules_present, GEOFW_HAVE_ALLOW4 | GEOFW_HAVE_BLOCK_IP4 |
		  GEOFW_HAVE_BLOCK_NET6 | GEOFW_HAVE_BLOCK_IP6, "no rule bit lost");
	ASSERT_EQ(got.events_rate, 0, "lease given back");
	ASSERT_EQ(got.country_mode, pol.country_mode, "policy: mode");
	ASSERT_EQ(got.unknown_country_action, pol.unknown_country_action, "policy: unknown");
	ASSERT_EQ(got.malformed_action[GEOFW_MF_IPV4_IHL], pol.malformed_action[GEOFW_MF_IPV4_IHL],
		  "policy: malformed");
	ASSERT_EQ(got.responder_enabled, (ROUNDS - 1) & 1, "responder");
	ASSERT_MEMEQ(&got, mem, sizeof(got), "mapping = kernel's view");

	/* The lease: fwctl takes only a free rate and gives back only its own. */
	{
		__u32 seen = 0;

		ASSERT_EQ(geofw_config_swap_events_rate(m, GEOFW_EVENTS_RATE_ANY, 20, &seen), 0,
			  "geofwd takes it");
		ASSERT_EQ(geofw_config_swap_events_rate(m, 0, 7, &seen), 1, "fwctl: taken");
		ASSERT_EQ(seen, 20, "fwctl sees geofwd's rate");
		ASSERT_EQ(geofw_config_swap_events_rate(m, 7, 0, &seen), 1, "fwctl: not its own");
		ASSERT_EQ(mem->events_rate, 20, "geofwd's rate stays");
		ASSERT_EQ(geofw_config_swap_events_rate(m, 20, 0, &seen), 0, "geofwd gives back");
	}
out:
	geofw_unload(&fw);
}
