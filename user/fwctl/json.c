// SPDX-License-Identifier: GPL-2.0-only
/* fwctl's -j output: documents built with jansson, printed one per line. */
#include "fwctl.h"

int fwctl_json_print(struct fwctl *c, json_t *doc)
{
	char *line = doc ? geofw_json_line(doc) : NULL;
	int ret = FWCTL_EXIT_OK;

	json_decref(doc);
	if (!line)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	/* A line at a time, flushed: --watch and --follow print as they go. */
	if (fputs(line, stdout) == EOF || fflush(stdout))
		ret = FWCTL_EXIT_FAIL;
	free(line);
	return ret;
}
