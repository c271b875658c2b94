// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who may use the control socket: the security boundary of geofwd.
 *
 * What it guarantees: geofw_ctl_authorize() returns 0 only for a peer whose
 * credentials, as the kernel recorded them at connect() (SO_PEERCRED, not
 * anything the peer sends), are uid 0, or whose primary group or one of whose
 * supplementary groups is the socket group.  Supplementary groups come from
 * SO_PEERGROUPS, also as at connect(); only where the kernel lacks it (or a
 * test gives proc_root) are they read from PROC_ROOT/PID/status, and then
 * only when that process still has the peer's uid, so a pid reused by another
 * user's process grants nothing.  Every failure to find out (getsockopt,
 * /proc unreadable, malformed or over STATUS_MAX) is an error, which callers
 * treat as denied: the check fails closed.  Nothing here reads the request.
 */
#include "ctl.h"
#include "msg.h"
#include "readfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Longest /proc/PID/status we read (a few KiB in practice). */
#define STATUS_MAX	(64 * 1024)

int geofw_ctl_peer_cred(int sock, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, cred, &len))
		return -errno;
	return len == sizeof(*cred) ? 0 : -EPROTO;
}

/* The line "KEY:\t..." of a status text: its value span, or NULL. */
static const char *status_field(const char *text, size_t len, const char *key, size_t *vlen)
{
	size_t klen = strlen(key), pos = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;

		if (llen > klen && !memcmp(line, key, klen) && line[klen] == ':') {
			*vlen = llen - klen - 1;
			return line + klen + 1;
		}
		pos += llen + 1;
	}
	return NULL;
}

/* Next decimal id in [*p, end) after blanks: 1, 0 at the end, -EINVAL. */
static int next_id(const char **p, const char *end, __u32 *out)
{
	__u64 v = 0;
	bool any = false;

	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	if (*p == end)
		return 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
		(*p)++;
		any = true;
	}
	if (!any || (*p < end && **p != ' ' && **p != '\t'))
		return -EINVAL;
	*out = v;
	return 1;
}

/* The n-th (0-based) of the ids on a line, for Uid: and Gid:. */
static int nth_id(const char *v, size_t vlen, int n, __u32 *out)
{
	const char *p = v, *end = v + vlen;
	int i, r;

	for (i = 0; i <= n; i++) {
		r = next_id(&p, end, out);
		if (r <= 0)
			return -EINVAL;
	}
	return 0;
}

int geofw_ctl_status_in_group(const char *status, size_t len, uid_t uid, gid_t gid)
{
	const char *uv, *gv, *grv, *p, *end;
	size_t ulen, glen, grlen;
	__u32 euid, egid, g;
	bool member;
	int r;

	uv = status_field(status, len, "Uid", &ulen);
	gv = status_field(status, len, "Gid", &glen);
	grv = status_field(status, len, "Groups", &grlen);
	if (!uv || !gv || !grv)
		return -EINVAL;
	/* Fields: real, effective, saved, filesystem; SO_PEERCRED has the
	 * effective ones. */
	if (nth_id(uv, ulen, 1, &euid) || nth_id(gv, glen, 1, &egid))
		return -EINVAL;
	/* Groups must be well-formed even when the egid already decides. */
	p = grv;
	end = grv + grlen;
	member = egid == gid;

	while ((r = next_id(&p, end, &g)) > 0)
		if (g == gid)
			member = true;
	if (r < 0)
		return -EINVAL;
	if (euid != uid)
		return 0;
	return member;
}

/* Supplementary groups as at connect(): 1 member, 0 not, -errno. */
static int peergroups_has(int sock, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	size_t i;
	int ret;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
		if (errno != ERANGE)
			return -errno;
		/* len now says how much room the list needs. */
		groups = malloc(len);
		if (!groups)
			return -ENOMEM;
		if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups, &len)) {
			ret = -errno;
			goto cleanup;
		}
	}
	ret = 0;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			ret = 1;
cleanup:
	if (groups != small)
		free(groups);
	return ret;
}

static int proc_status_has(const char *proc_root, const struct ucred *cred, gid_t gid)
{
	char path[256], *buf;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)cred->pid);
	ret = geofw_read_file(path, STATUS_MAX, 0, &buf, &len, NULL, 0);
	if (ret)
		return ret;
	ret = geofw_ctl_status_in_group(buf, len, cred->uid, gid);
	free(buf);
	return ret;
}

int geofw_ctl_authorize(int sock, gid_t group, const char *proc_root, char *err, size_t errlen)
{
	struct ucred cred;
	int ret;

	ret = geofw_ctl_peer_cred(sock, &cred);
	if (ret)
		return geofw_errf(err, errlen, ret, "cannot get the client's credentials: %s",
			    strerror(-ret));
	if (cred.uid == 0)
		return 0;
	if (group != (gid_t)-1) {
		if (cred.gid == group)
			return 0;
		ret = -ENOPROTOOPT;
		if (!proc_root)
			ret = peergroups_has(sock, group);
		if (ret == -ENOPROTOOPT)
			ret = proc_status_has(proc_root ? proc_root : "/proc", &cred, group);
		if (ret == 1)
			return 0;
		if (ret < 0)
			return geofw_errf(err, errlen, ret, "cannot check the groups of pid %d: %s",
				    (int)cred.pid, strerror(-ret));
	}
	return geofw_errf(err, errlen, -EACCES,
		    "permission denied: uid %u (pid %d) is neither root nor in group %s",
		    (unsigned)cred.uid, (int)cred.pid, GEOFW_CTL_GROUP);
}
