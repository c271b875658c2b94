// SPDX-License-Identifier: GPL-2.0-only
/*
 * The verifier's work per program, against a recorded budget.
 *
 * `verified_insns` (bpf_prog_info, kernel >= 5.16) counts the instructions
 * the verifier walked to accept a program: a proxy for how close it is to
 * the 1M limit and for how many paths a change added.  Each program's count
 * is recorded in tests/prog/verifier-budget.txt; this test fails when a
 * program walks more than 20% over its budget, so a change that doubles the
 * verifier's work is seen in review (the idea of Cilium's
 * bpf/complexity-tests).  A deliberate growth updates the file:
 *
 *	GEOFW_VERIFIER_BUDGET_WRITE=1 build/tests/prog/run verifier_budget
 *
 * rewrites it with today's counts (commit it with the change that grew them).
 * The count depends on the compiler and the kernel as well: the file names
 * the kernel release it was recorded on, and a count far *below* the budget
 * is reported (not failed) so that a stale budget is noticed.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "loader.h"
#include "test.h"

#define BUDGET_FILE	"tests/prog/verifier-budget.txt"
#define BUDGET_SLACK	120	/* percent of the budget a program may walk */

struct prog_count {
	const char *name;
	int fd;
	__u32 insns;
};

static int verified_insns(int fd, __u32 *out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	*out = info.verified_insns;
	return 0;
}

/* The budget of name in the file, 0 when it has none. */
static unsigned long budget_of(const char *name)
{
	char line[256], key[128];
	unsigned long n, found = 0;
	FILE *f = fopen(BUDGET_FILE, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%127s %lu", key, &n) == 2 && !strcmp(key, name))
			found = n;
	}
	fclose(f);
	return found;
}

static int write_budget(const struct prog_count *p, size_t n)
{
	struct utsname u;
	FILE *f = fopen(BUDGET_FILE, "w");
	size_t i;

	if (!f)
		return -errno;
	uname(&u);
	fprintf(f, "# verified_insns per program (tests/prog/verifier_budget.c);\n"
		   "# recorded on kernel %s.  A program may walk %d%% of this.\n",
		u.release, BUDGET_SLACK);
	for (i = 0; i < n; i++)
		fprintf(f, "%s %u\n", p[i].name, p[i].insns);
	return fclose(f) ? -errno : 0;
}

void test_verifier_budget(void)
{
	struct geofw_loaded fw;
	struct prog_count progs[4];
	size_t i, n = 0;

	if (!ASSERT_OK(geofw_load(NULL, &fw), "load the objects"))
		return;
	progs[n++] = (struct prog_count){ "geofw_xdp", fw.xdp_prog_fd, 0 };
	progs[n++] = (struct prog_count){ "geofw_xdp_l3", fw.xdp_l3_prog_fd, 0 };
	if (fw.tc_prog_fd > 0)
		progs[n++] = (struct prog_count){ "geofw_tc", fw.tc_prog_fd, 0 };
	for (i = 0; i < n; i++) {
		if (!ASSERT_OK(verified_insns(progs[i].fd, &progs[i].insns), progs[i].name))
			goto out;
	}
	if (getenv("GEOFW_VERIFIER_BUDGET_WRITE")) {
		ASSERT_OK(write_budget(progs, n), "write " BUDGET_FILE);
		goto out;
	}
	for (i = 0; i < n; i++) {
		SUBTEST("%s", progs[i].name) {
			unsigned long budget = budget_of(progs[i].name);

			if (!budget) {
				test__fail(__FILE__, __LINE__, "%s: no budget in " BUDGET_FILE
					   " (walked %u); record one with "
					   "GEOFW_VERIFIER_BUDGET_WRITE=1", progs[i].name,
					   progs[i].insns);
				continue;
			}
			printf("# %s: verified_insns %u, budget %lu (%lu%%)\n", progs[i].name,
			       progs[i].insns, budget, progs[i].insns * 100ul / budget);
			if (progs[i].insns * 100ul > budget * BUDGET_SLACK)
				test__fail(__FILE__, __LINE__,
					   "%s: the verifier walked %u instructions, more than "
					   "%d%% of the budget %lu: find what grew, or record "
					   "the new count (GEOFW_VERIFIER_BUDGET_WRITE=1) with "
					   "the reason in the commit", progs[i].name,
					   progs[i].insns, BUDGET_SLACK, budget);
			else if (progs[i].insns * 2ul < budget)
				printf("# %s: under half its budget: record the new count\n",
				       progs[i].name);
		}
	}
out:
	geofw_unload(&fw);
}
