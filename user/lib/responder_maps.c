// SPDX-License-Identifier: GPL-2.0-only
/* The responder value and the 403 pages written into the maps: kernel side,
 * so responder.c (pages, classes, keys) stays in the core library. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "responder.h"

/*
 * The generation switch: the slot not in force gets a new generation (so
 * cookies of flows still pulling its old pages fail from now on), then the
 * pages and the selection, then the flip.  In between, TC programs that
 * read the old generation finish (they run for microseconds).
 */
int geofw_pages_write(int responder_fd, int pages_fd, int select_fd,
		      struct geofw_responder *val, const struct geofw_pages *p)
{
	__u32 zero = 0, slot = val->pages.ready ? !val->pages.slot : 0, key, i;
	struct geofw_resp_page *empty;
	int ret = 0;

	val->pages.gen[slot]++;
	if (bpf_map_update_elem(responder_fd, &zero, val, BPF_ANY))
		return -errno;
	if (val->pages.ready)
		usleep(10000);
	empty = calloc(1, sizeof(*empty));
	if (!empty)
		return -ENOMEM;
	for (i = 0; i < GEOFW_RESP_MAX_PAGES && !ret; i++) {
		key = slot * GEOFW_RESP_MAX_PAGES + i;
		if (bpf_map_update_elem(pages_fd, &key, (int)i < p->n_pages ? &p->page[i] : empty,
					BPF_ANY))
			ret = -errno;
	}
	free(empty);
	if (!ret && bpf_map_update_elem(select_fd, &slot, &p->sel, BPF_ANY))
		ret = -errno;
	if (ret)
		return ret;
	val->pages.slot = (__u8)slot;
	val->pages.ready = 1;
	return bpf_map_update_elem(responder_fd, &zero, val, BPF_ANY) ? -errno : 0;
}

int geofw_responder_read(int map_fd, struct geofw_responder *val)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(map_fd, &zero, val) ? -errno : 0;
}
