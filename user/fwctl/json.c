// SPDX-License-Identifier: GPL-2.0-only
/* The JSON writer of fwctl's -j output. */
#include <math.h>

#include "fwctl.h"
#include "json.h"

static void put_file(void *f, const char *s, size_t n)
{
	fwrite(s, 1, n, f);
}

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->more[0] = false;
}

/* Separator and member name before a value. */
static void json_key(struct json *j, const char *key)
{
	if (j->more[j->depth])
		fputc(',', j->f);
	j->more[j->depth] = true;
	if (key)
		fprintf(j->f, "\"%s\":", key);	/* our own names: nothing to escape */
}

static void json_open(struct json *j, const char *key, char ch)
{
	json_key(j, key);
	fputc(ch, j->f);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->more[j->depth] = false;
}

static void json_close(struct json *j, char ch)
{
	fputc(ch, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_obj(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_obj_end(struct json *j)
{
	json_close(j, '}');
}

void json_arr(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_arr_end(struct json *j)
{
	json_close(j, ']');
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (!s)
		fputs("null", j->f);
	else
		geofw_json_quote(s, put_file, j->f);
}

void json_u64(struct json *j, const char *key, unsigned long long v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", v);
}

void json_i64(struct json *j, const char *key, long long v)
{
	json_key(j, key);
	fprintf(j->f, "%lld", v);
}

void json_num(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.3f", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_done(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->depth = 0;
	j->more[0] = false;
}
