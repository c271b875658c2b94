/* SPDX-License-Identifier: GPL-2.0-only */
/* Country codes ↔ the small ids the kernel tables use (see include/geofw.h). */
#ifndef GEOFW_COUNTRIES_H
#define GEOFW_COUNTRIES_H

#include "geofw.h"

/* "RU" → id in 1..GEOFW_COUNTRY_MAX_ID; 0 when not an upper-case code we know. */
int geofw_country_id(const char *code);
int geofw_country_id2(char a, char b);
/* id → "RU" / "Russian Federation"; NULL for 0 and ids beyond the table. */
const char *geofw_country_code(unsigned int id);
const char *geofw_country_name(unsigned int id);

#endif
