// SPDX-License-Identifier: GPL-2.0-only
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "log.h"
#include "responder.h"
#include "tc.skel.h"
#include "xdp.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

int geofw_bpffs_ensure(void)
{
	struct statfs st;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir("/sys/fs/bpf", 0700) && errno != EEXIST)
		return log_err(-errno, "bpffs: cannot create /sys/fs/bpf: %s", strerror(errno));
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return log_err(-errno, "bpffs: cannot mount at /sys/fs/bpf: %s", strerror(errno));
	log_info("bpffs: mounted at /sys/fs/bpf");
	return 0;
}

static void remove_pins(const char *path);

static void unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

/* Fresh maps get the defaults; adopted ones must have been built for us. */
static int init_meta(struct geofw_maps *m)
{
	struct geofw_meta meta;
	struct geofw_config cfg;
	int err;

	if ((err = geofw_meta_read(m, &meta)))
		return log_err(err, "loader: cannot read meta: %s", strerror(-err));
	if (meta.magic == GEOFW_META_MAGIC) {
		if (meta.abi_version != GEOFW_ABI_VERSION)
			return log_err(-EPROTO, "loader: pinned maps have ABI %u, this build is %u",
				       meta.abi_version, GEOFW_ABI_VERSION);
		return 0;
	}
	geofw_config_defaults(&cfg);
	if ((err = geofw_config_write(m, &cfg)))
		return log_err(err, "loader: cannot write config: %s", strerror(-err));
	memset(&meta, 0, sizeof(meta));
	meta.magic = GEOFW_META_MAGIC;
	meta.abi_version = GEOFW_ABI_VERSION;
	meta.country_mode = cfg.country_mode;
	meta.created_unix = (__u64)time(NULL);
	if ((err = geofw_meta_write(m, &meta)))
		return log_err(err, "loader: cannot write meta: %s", strerror(-err));
	return 0;
}

/*
 * The TC responder shares every map with the XDP program: each of its maps
 * reuses the XDP object's fd, so both see the same tables with or without
 * pins.  Its cookie key is drawn now and lives in read-only data.
 */
static int load_tc(struct geofw_xdp *xdp, struct geofw_loaded *out)
{
	struct geofw_tc *tc;
	struct bpf_map *map;
	__u64 key[2];
	int err;

	if ((err = geofw_cookie_key_random(key)))
		return log_err(err, "loader: cannot draw the SYN cookie key: %s", strerror(-err));
	tc = geofw_tc__open();
	if (!tc)
		return log_err(-errno, "loader: cannot open TC object: %s", strerror(errno));
	bpf_object__for_each_map(map, tc->obj) {
		struct bpf_map *twin = bpf_object__find_map_by_name(xdp->obj, bpf_map__name(map));

		bpf_map__set_pin_path(map, NULL);
		if (twin && bpf_map__fd(twin) >= 0 && (err = bpf_map__reuse_fd(map, bpf_map__fd(twin)))) {
			log_err(err, "loader: TC map %s: %s", bpf_map__name(map), strerror(-err));
			goto fail;
		}
	}
	tc->rodata->cookie_key[0] = key[0];
	tc->rodata->cookie_key[1] = key[1];
	if ((err = geofw_tc__load(tc))) {
		log_err(err, "loader: cannot load TC object: %s", strerror(-err));
		goto fail;
	}
	out->tc = tc;
	out->tc_prog_fd = bpf_program__fd(tc->progs.geofw_tc);
	return 0;
fail:
	geofw_tc__destroy(tc);
	return err;
}

int geofw_load(const char *pin_dir, struct geofw_loaded *out)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct geofw_xdp *skel;
	int err;

	memset(out, 0, sizeof(*out));
	skel = geofw_xdp__open_opts(&opts);
	if (!skel)
		return log_err(-errno, "loader: cannot open XDP object: %s", strerror(errno));
	if (!pin_dir)
		unpin_all(skel->obj);

	err = geofw_xdp__load(skel);
	if (err) {
		log_err(err, "loader: cannot load XDP object: %s", strerror(-err));
		goto fail;
	}
	if ((err = geofw_maps_from_object(skel->obj, &out->maps)))
		goto fail;
	if ((err = init_meta(&out->maps)))
		goto fail;

	out->xdp = skel;
	out->xdp_obj = skel->obj;
	out->xdp_prog_fd = bpf_program__fd(skel->progs.geofw_xdp);
	out->xdp_l3_prog_fd = bpf_program__fd(skel->progs.geofw_xdp_l3);
	out->geo_probe_fd = bpf_program__fd(skel->progs.geofw_geo_probe);
	out->asn_probe_fd = bpf_program__fd(skel->progs.geofw_asn_probe);
	if ((err = load_tc(skel, out))) {
		geofw_unload(out);
		return err;
	}
	return 0;
fail:
	geofw_xdp__destroy(skel);
	memset(out, 0, sizeof(*out));
	return err;
}

/*
 * The map pins of pin_dir that the fresh load in staging has no counterpart
 * for: maps an older ABI had and this one dropped (gfw_rl_state before ABI
 * 7).  Left pinned they would keep their memory forever; the programs in
 * force hold their own references until they are switched.
 */
static void remove_stale_pins(const char *pin_dir, const char *staging)
{
	char file[PATH_MAX + 256];
	struct dirent *de;
	DIR *dir = opendir(pin_dir);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_type == DT_DIR || strncmp(de->d_name, "gfw_", 4))
			continue;
		snprintf(file, sizeof(file), "%s/%s", staging, de->d_name);
		if (!access(file, F_OK))
			continue;
		snprintf(file, sizeof(file), "%s/%s", pin_dir, de->d_name);
		if (!unlink(file))
			log_info("loader: removed %s, a map this build no longer has", file);
	}
	closedir(dir);
}

/*
 * Pins left by an incompatible build (another ABI, or maps libbpf refuses to
 * reuse): load fresh maps pinned in a staging directory beside the old ones,
 * then move the map pins into place.  The programs in force keep their own
 * references to the old maps and keep enforcing; the caller fills the new
 * maps and switches the programs through the existing links, so there is no
 * moment without a filter.  Links (pin_dir/links) are left alone.
 */
int geofw_load_replace(const char *pin_dir, struct geofw_loaded *out)
{
	char staging[PATH_MAX], from[PATH_MAX + 256], to[PATH_MAX + 256];
	struct dirent *de;
	DIR *dir;
	int err;

	/* bpffs refuses names with a dot. */
	if ((size_t)snprintf(staging, sizeof(staging), "%s_new", pin_dir) >= sizeof(staging))
		return -ENAMETOOLONG;
	remove_pins(staging);
	if (mkdir(staging, 0700) && errno != EEXIST)
		return log_err(-errno, "loader: cannot create %s: %s", staging, strerror(errno));
	if ((err = geofw_load(staging, out))) {
		remove_pins(staging);
		return err;
	}
	remove_stale_pins(pin_dir, staging);
	dir = opendir(staging);
	if (!dir) {
		err = -errno;
		geofw_unload(out);
		return log_err(err, "loader: cannot read %s: %s", staging, strerror(-err));
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		snprintf(from, sizeof(from), "%s/%s", staging, de->d_name);
		snprintf(to, sizeof(to), "%s/%s", pin_dir, de->d_name);
		unlink(to);
		if (rename(from, to)) {
			err = -errno;
			log_err(err, "loader: cannot move %s to %s: %s", from, to, strerror(-err));
			break;
		}
	}
	closedir(dir);
	rmdir(staging);
	if (err) {
		geofw_unload(out);
		return err;
	}
	log_info("loader: pins in %s were incompatible; replaced with fresh maps", pin_dir);
	return 0;
}

/* Remove the regular pins of a directory (not its subdirectories). */
static void remove_pins(const char *path)
{
	char file[PATH_MAX + 256];
	struct dirent *de;
	DIR *dir = opendir(path);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		unlink(file);
	}
	closedir(dir);
	rmdir(path);
}

void geofw_unload(struct geofw_loaded *l)
{
	if (l->tc)
		geofw_tc__destroy(l->tc);
	if (l->xdp)
		geofw_xdp__destroy(l->xdp);
	memset(l, 0, sizeof(*l));
}
