// SPDX-License-Identifier: GPL-2.0-only
#include "mapread.h"

#include "countries.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int t_percpu_read(int fd, __u32 key, __u64 *out, size_t words)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	int cpu, err = 0;
	size_t w;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu * words, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	memset(out, 0, words * sizeof(*out));
	if (bpf_map_lookup_elem(fd, &key, vals))
		err = -errno;
	for (cpu = 0; !err && cpu < ncpu; cpu++)
		for (w = 0; w < words; w++)
			out[w] += vals[(size_t)cpu * words + w];
	free(vals);
	return err;
}

int t_cnt_reason_read(const struct geofw_maps *m, __u32 reason,
		      struct geofw_reason_stats *out)
{
	return t_percpu_read(m->cnt_reason, reason, (__u64 *)out, sizeof(*out) / 8);
}

int t_cnt_action_read(const struct geofw_maps *m, __u32 action,
		      struct geofw_reason_stats *out)
{
	return t_percpu_read(m->cnt_action, action, (__u64 *)out, sizeof(*out) / 8);
}

int t_cnt_country_read(const struct geofw_maps *m, __u32 country_id,
		       struct geofw_country_stats *out)
{
	return t_percpu_read(m->cnt_country, country_id, (__u64 *)out, sizeof(*out) / 8);
}

int t_cnt_rule_read(const struct geofw_maps *m, __u32 rule_id,
		    struct geofw_rule_stats *out)
{
	return t_percpu_read(m->cnt_rule, rule_id, (__u64 *)out, sizeof(*out) / 8);
}

int t_block_get(const struct geofw_maps *m, const struct geofw_cidr *c,
		struct geofw_block *val)
{
	union {
		struct geofw_lpm_v4 lpm4;
		struct geofw_lpm_v6 lpm6;
		struct geofw_ip4 ip4;
		struct geofw_ip6 ip6;
	} k;
	int fd;

	memset(&k, 0, sizeof(k));
	if (c->family == 4 && c->prefixlen == 32) {
		fd = m->block_ip4;
		memcpy(k.ip4.addr, c->addr, 4);
	} else if (c->family == 6 && c->prefixlen == 128) {
		fd = m->block_ip6;
		memcpy(k.ip6.addr, c->addr, 16);
	} else if (c->family == 4) {
		fd = m->block_net4;
		geofw_cidr_to_lpm_v4(c, &k.lpm4);
	} else {
		fd = m->block_net6;
		geofw_cidr_to_lpm_v6(c, &k.lpm6);
	}
	return bpf_map_lookup_elem(fd, &k, val) ? -errno : 0;
}

unsigned int t_country_count(void)
{
	unsigned int n = 0;

	while (geofw_country_code(n + 1))
		n++;
	return n;
}
