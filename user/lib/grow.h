/* SPDX-License-Identifier: GPL-2.0-only */
/* Growable arrays: room for one more element, doubling from `first`. */
#ifndef GEOFW_GROW_H
#define GEOFW_GROW_H

#include <stdlib.h>

/*
 * v holds n of *cap elements of elem bytes.  Returns v itself while there is
 * room, else the array grown (and *cap updated), or NULL when out of memory
 * (v and *cap untouched, still the caller's).
 */
static inline void *geofw_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t c;
	void *p;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : first;
	p = reallocarray(v, c, elem);
	if (p)
		*cap = c;
	return p;
}

#endif
