// SPDX-License-Identifier: GPL-2.0-only
/*
 * trafficgen: the bench's packet generator and reference XDP_DROP receiver.
 *
 *	trafficgen send --dev IF --dst-mac MAC --dst IPV4 --prefixes FILE
 *		[--seconds S] [--batch N] [--size BYTES] [--sources N] [--seed N]
 *		[--started FILE]
 *	trafficgen sink --dev IF --pin FILE [--lpm FILE | --mem MIB[,HOPS[,STRIDE]]] [--seconds MAX]
 *	trafficgen count FILE
 *	trafficgen lines PROG_ID
 *
 * send: UDP/IPv4 frames out of IF (a veth; they arrive on its peer), each
 * with a source address drawn at random inside the prefixes of FILE (one
 * IPv4 CIDR a line).  The frames are built by the kernel's XDP test runner
 * in live-frame mode (BPF_F_TEST_XDP_LIVE_FRAMES): no socket, no skb, so
 * the receiving side is most of what the core does (xdp-trafficgen does not
 * load on this kernel, and there is no pktgen).  The receiver runs in the
 * softirq this raises, on the same core.  Prints on stdout
 *
 *	{"sent":N,"seconds":S,"cpu_seconds":C,"mpps":R}
 *
 * where C is the CPU time spent sending and, in that softirq, receiving:
 * what a receiver's cost shows in when other work shares the core.  With
 * --started, FILE is created when the sources are in place and the first
 * frame goes out (a profiler started then sees only the sending).
 *
 * sink: attaches tg_sink (count and XDP_DROP) to IF, pins its counter at
 * FILE, prints "ready" and stays until SIGINT/SIGTERM or MAX seconds; the
 * link and the pin go with the process.  With --lpm, tg_lpm_sink instead,
 * dropping what a plain LPM trie of the prefixes of FILE matches; with
 * --mem, tg_mem_sink, dropping every IPv4 frame after HOPS (1 or 2)
 * dependent loads at random lines of a table of MIB MiB (every STRIDE-th
 * line of it: 64 uses one line per 4-KiB page, as many pages as a
 * contiguous table of 64 times the lines).  count:
 * the sum of a pinned counter over CPUs.
 *
 * lines: where each source line of a loaded program starts in its jited
 * image, "OFFSET FILE:LINE | SOURCE" (hex offset from the program's
 * symbol), from the kernel's line info.  perf on this machine cannot
 * annotate a BPF program (no libopcode) and bpftool cannot dump it (no
 * libbfd); `perf script -F ip,sym,symoff` gives sym+offset per sample and
 * these lines turn the offsets into source lines (bench/veth.sh --perf).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jsonlib.h"	/* jansson and geofw's dump flags (macros only) */
#include "trafficgen.h"
#include "trafficgen.skel.h"

#define FRAME_MIN	60	/* Ethernet minimum without the FCS */
#define FRAME_MAX	1500
#define CHUNK_FIRST	(1 << 16) /* frames of the first BPF_PROG_RUN call */
#define CHUNK_SECONDS	0.5	  /* then calls of about this long */

struct prefix4 {
	__u32 addr;		/* host order */
	__u8 len;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process, user + system.  Without IRQ time accounting
 * (Debian's default) the softirq work done in our context, i.e. the
 * receiving side of every frame we send, is charged to us as system time. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static __u64 rng_state = 0x9E3779B97F4A7C15ull;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int parse_mac(const char *s, __u8 mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return -EINVAL;
		mac[i] = (__u8)b[i];
	}
	return 0;
}

static int dev_mac(const char *dev, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* One IPv4 CIDR a line; '#' lines and blanks skipped. */
static int read_prefixes(const char *path, struct prefix4 **out, size_t *n_out)
{
	struct prefix4 *v = NULL;
	size_t n = 0, cap = 0;
	char line[128];
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *slash = strchr(line, '/'), *end;
		struct in_addr a;
		unsigned long len = 32;

		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (slash) {
			*slash = 0;
			len = strtoul(slash + 1, &end, 10);
			if (*end || len > 32)
				goto bad;
		}
		if (inet_pton(AF_INET, line, &a) != 1)
			goto bad;
		if (n == cap) {
			struct prefix4 *nv;

			cap = cap ? cap * 2 : 4096;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				fclose(f);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n].addr = ntohl(a.s_addr);
		v[n].len = (__u8)len;
		n++;
	}
	fclose(f);
	if (!n) {
		free(v);
		return -ENODATA;
	}
	*out = v;
	*n_out = n;
	return 0;
bad:
	fprintf(stderr, "trafficgen: %s: not an IPv4 CIDR: %s\n", path, line);
	free(v);
	fclose(f);
	return -EINVAL;
}

static __u16 ip_checksum(const __u8 *hdr, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(hdr[i] << 8 | hdr[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * The template: Ethernet to the peer's MAC, IPv4 without options, UDP with no
 * checksum (legal for IPv4), so only the source address and the IP header
 * checksum change from frame to frame.
 */
static size_t build_frame(__u8 *f, size_t size, const __u8 dst_mac[ETH_ALEN],
			  const __u8 src_mac[ETH_ALEN], __u32 daddr_be)
{
	size_t ip_len = size - ETH_HLEN, udp_len = ip_len - 20;

	memset(f, 0, size);
	memcpy(f, dst_mac, ETH_ALEN);
	memcpy(f + 6, src_mac, ETH_ALEN);
	f[12] = 0x08;				/* ETH_P_IP */
	f[14] = 0x45;				/* version 4, IHL 5 */
	f[16] = (__u8)(ip_len >> 8);
	f[17] = (__u8)ip_len;
	f[20] = 0x40;				/* DF */
	f[22] = 64;				/* TTL */
	f[23] = 17;				/* UDP */
	memcpy(f + 30, &daddr_be, 4);
	f[34] = 0x9c; f[35] = 0x40;		/* source port 40000 */
	f[36] = 0x00; f[37] = 0x09;		/* discard */
	f[38] = (__u8)(udp_len >> 8);
	f[39] = (__u8)udp_len;
	return size;
}

static int fill_sources(struct geofw_trafficgen *skel, const struct prefix4 *p, size_t n,
			__u32 n_sources, const __u8 *frame)
{
	int fd = bpf_map__fd(skel->maps.tg_sources);
	__u8 hdr[20];
	__u32 i;

	memcpy(hdr, frame + ETH_HLEN, sizeof(hdr));
	for (i = 0; i < n_sources; i++) {
		/* A random prefix, then a random address inside it: every
		 * prefix of the list is hit, not just the large ones. */
		const struct prefix4 *q = &p[rnd() % n];
		__u32 host = q->len == 32 ? 0 : (__u32)rnd() & (0xffffffffu >> q->len);
		__u32 saddr = htonl(q->addr | host);
		struct tg_source s = { .saddr_be = saddr };

		memcpy(hdr + 12, &saddr, 4);
		hdr[10] = hdr[11] = 0;
		s.check_be = htons(ip_checksum(hdr, sizeof(hdr)));
		if (bpf_map_update_elem(fd, &i, &s, 0))
			return -errno;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: trafficgen send --dev IF --dst-mac MAC --dst IPV4 --prefixes FILE\n"
		"                       [--seconds S] [--batch N] [--size BYTES] [--sources N] [--seed N]\n"
		"                       [--started FILE]\n"
		"       trafficgen sink --dev IF --pin FILE [--lpm FILE | --mem MIB[,HOPS[,STRIDE]]]\n"
		"                       [--seconds MAX]\n"
		"       trafficgen count FILE\n"
		"       trafficgen lines PROG_ID\n");
}

/* mem_lines: tg_mem's size (a power of two, 0: one line), hops its loads. */
static struct geofw_trafficgen *open_skel_mem(__u32 mask, __u32 mem_lines, __u32 hops,
					       __u32 stride)
{
	struct geofw_trafficgen *skel = geofw_trafficgen__open();
	struct bpf_map *map;

	if (!skel)
		return NULL;
	/* Private maps: nothing of the generator outlives it except the
	 * counter pin that sink makes on purpose. */
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	skel->rodata->tg_mask = mask;
	skel->rodata->tg_mem_mask = mem_lines ? mem_lines - 1 : 0;
	skel->rodata->tg_mem_hops = hops;
	skel->rodata->tg_mem_stride = stride;
	if (mem_lines && bpf_map__set_max_entries(skel->maps.tg_mem, mem_lines * stride)) {
		geofw_trafficgen__destroy(skel);
		return NULL;
	}
	if (geofw_trafficgen__load(skel)) {
		geofw_trafficgen__destroy(skel);
		return NULL;
	}
	return skel;
}

static struct geofw_trafficgen *open_skel(__u32 mask)
{
	return open_skel_mem(mask, 0, 1, 1);
}

/* tg_mem's lines: each a random line number (the second hop's target). */
static int fill_mem(struct geofw_trafficgen *skel, __u32 lines, __u32 stride)
{
	int fd = bpf_map__fd(skel->maps.tg_mem);
	struct { __u32 next[16]; } l;
	__u32 i, j;

	srand(1);
	for (i = 0; i < lines; i++) {
		for (j = 0; j < 16; j++)
			l.next[j] = ((__u32)rand() << 16 ^ (__u32)rand()) & (lines - 1);
		if (bpf_map_update_elem(fd, &(__u32){ i * stride }, &l, 0))
			return -errno;
	}
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'd' },
		{ "prefixes", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "sources", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'r' },
		{ "started", required_argument, NULL, 'S' },
		{}
	};
	const char *dev = NULL, *dst = NULL, *prefixes = NULL, *dst_mac_s = NULL, *started = NULL;
	unsigned long batch = 64, size = FRAME_MIN, n_sources = TG_MAX_SOURCES;
	double seconds = 1, t0, c0, elapsed, cpu;
	__u8 dst_mac[ETH_ALEN], src_mac[ETH_ALEN], frame[FRAME_MAX];
	struct geofw_trafficgen *skel = NULL;
	struct prefix4 *p = NULL;
	struct in_addr daddr;
	struct xdp_md ctx_in = {};
	unsigned long long sent = 0;
	json_t *doc;
	__u32 chunk = CHUNK_FIRST;
	size_t n_p = 0;
	int c, ifindex, err, ret = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': dev = optarg; break;
		case 'm': dst_mac_s = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': prefixes = optarg; break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 'b': batch = strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'n': n_sources = strtoul(optarg, NULL, 0); break;
		case 'r': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		case 'S': started = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (!dev || !dst || !prefixes || !dst_mac_s || seconds <= 0 || !batch ||
	    size < FRAME_MIN || size > FRAME_MAX || !n_sources ||
	    n_sources > TG_MAX_SOURCES || (n_sources & (n_sources - 1))) {
		fprintf(stderr, "trafficgen send: missing or bad option (--sources: a power of two <= %u)\n",
			TG_MAX_SOURCES);
		return 2;
	}
	if (parse_mac(dst_mac_s, dst_mac) || inet_pton(AF_INET, dst, &daddr) != 1) {
		fprintf(stderr, "trafficgen send: bad --dst-mac or --dst\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex || (err = dev_mac(dev, src_mac))) {
		fprintf(stderr, "trafficgen send: %s: no such interface\n", dev);
		return 1;
	}
	if ((err = read_prefixes(prefixes, &p, &n_p))) {
		fprintf(stderr, "trafficgen send: %s: %s\n", prefixes, strerror(-err));
		return 1;
	}
	build_frame(frame, size, dst_mac, src_mac, daddr.s_addr);
	skel = open_skel((__u32)n_sources - 1);
	if (!skel) {
		fprintf(stderr, "trafficgen send: cannot load the generator program\n");
		goto out;
	}
	if ((err = fill_sources(skel, p, n_p, (__u32)n_sources, frame))) {
		fprintf(stderr, "trafficgen send: cannot fill the sources: %s\n", strerror(-err));
		goto out;
	}

	/* The frames are "received" on dev, so XDP_TX sends them out of it. */
	ctx_in.data_end = (__u32)size;
	ctx_in.ingress_ifindex = (__u32)ifindex;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (started) {
		FILE *f = fopen(started, "w");

		if (!f || fclose(f)) {
			fprintf(stderr, "trafficgen send: %s: %s\n", started, strerror(errno));
			goto out;
		}
	}
	c0 = cpu_s();
	t0 = now_s();
	do {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			    .data_in = frame, .data_size_in = (__u32)size,
			    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
			    .repeat = (int)chunk, .batch_size = (__u32)batch,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
		double rate;

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.tg_send), &o)) {
			fprintf(stderr, "trafficgen send: BPF_PROG_RUN: %s\n", strerror(errno));
			goto out;
		}
		sent += chunk;
		elapsed = now_s() - t0;
		/* Calls long enough that what each costs besides the frames
		 * (a page pool set up, and an RCU grace period waited for at
		 * the end, tens of ms on a busy machine) is noise, short
		 * enough to stop close to the deadline. */
		rate = (double)sent / elapsed;
		chunk = (__u32)(rate * CHUNK_SECONDS);
		if (chunk < (__u32)batch)
			chunk = (__u32)batch;
		if (elapsed < seconds && elapsed + (double)chunk / rate > seconds)
			chunk = (__u32)((seconds - elapsed) * rate) + 1;
	} while (elapsed < seconds && !stop);
	cpu = cpu_s() - c0;
	doc = json_pack("{s:I, s:f, s:f, s:f}", "sent", (json_int_t)sent, "seconds", elapsed,
			"cpu_seconds", cpu, "mpps", (double)sent / elapsed / 1e6);
	if (!doc || json_dumpf(doc, stdout, GEOFW_JSON_DUMP) || putchar('\n') == EOF) {
		fprintf(stderr, "trafficgen: cannot write the result\n");
		json_decref(doc);
		goto out;
	}
	json_decref(doc);
	ret = 0;
out:
	geofw_trafficgen__destroy(skel);
	free(p);
	return ret;
}

static int fill_lpm(struct geofw_trafficgen *skel, const char *path)
{
	int fd = bpf_map__fd(skel->maps.tg_lpm), err;
	struct prefix4 *p;
	size_t n, i;
	__u8 one = 1;

	if ((err = read_prefixes(path, &p, &n)))
		return err;
	if (n > TG_MAX_LPM) {
		free(p);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		struct tg_lpm_key k = { .prefixlen = p[i].len, .addr_be = htonl(p[i].addr) };

		if (bpf_map_update_elem(fd, &k, &one, 0)) {
			err = -errno;
			break;
		}
	}
	free(p);
	return err;
}

static int cmd_sink(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'i' },
		{ "pin", required_argument, NULL, 'p' },
		{ "lpm", required_argument, NULL, 'l' },
		{ "mem", required_argument, NULL, 'M' },
		{ "seconds", required_argument, NULL, 't' },
		{}
	};
	const char *dev = NULL, *pin = NULL, *lpm = NULL;
	unsigned long mib = 0, hops = 1, stride = 1;
	__u32 lines = 0;
	char *end;
	struct geofw_trafficgen *skel;
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	double max_s = 3600, t0;
	int c, ifindex, err, ret = 1;
	bool pinned = false;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': dev = optarg; break;
		case 'p': pin = optarg; break;
		case 'l': lpm = optarg; break;
		case 'M':
			mib = strtoul(optarg, &end, 10);
			if (*end == ',')
				hops = strtoul(end + 1, &end, 10);
			if (*end == ',')
				stride = strtoul(end + 1, &end, 10);
			if (*end || !mib || mib > 1024 || (mib & (mib - 1)) || hops < 1 || hops > 2 ||
			    !stride || stride > 64 || (stride & (stride - 1)) || mib * 16384 / stride < 1) {
				fprintf(stderr, "trafficgen sink: --mem %s: MIB a power of two up to 1024, "
					"HOPS 1 or 2, STRIDE a power of two up to 64\n", optarg);
				return 2;
			}
			/* the table spans MIB; STRIDE spreads its lines over it */
			lines = (__u32)((mib << 20 >> 6) / stride);
			break;
		case 't': max_s = strtod(optarg, NULL); break;
		default: usage(stderr); return 2;
		}
	}
	if (!dev || !pin) {
		usage(stderr);
		return 2;
	}
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex) {
		fprintf(stderr, "trafficgen sink: %s: no such interface\n", dev);
		return 1;
	}
	if (lpm && lines) {
		fprintf(stderr, "trafficgen sink: --lpm and --mem are two receivers: one of them\n");
		return 2;
	}
	skel = open_skel_mem(0, lines, (__u32)hops, (__u32)stride);
	if (!skel) {
		fprintf(stderr, "trafficgen sink: cannot load the sink program\n");
		return 1;
	}
	if (lines && (err = fill_mem(skel, lines, (__u32)stride))) {
		fprintf(stderr, "trafficgen sink: --mem: %s\n", strerror(-err));
		goto out;
	}
	if (lpm && (err = fill_lpm(skel, lpm))) {
		fprintf(stderr, "trafficgen sink: %s: %s\n", lpm, strerror(-err));
		goto out;
	}
	prog = lpm ? skel->progs.tg_lpm_sink : lines ? skel->progs.tg_mem_sink : skel->progs.tg_sink;
	/* A link, not a netlink attachment: it goes when we go. */
	link = bpf_program__attach_xdp(prog, ifindex);
	if (!link) {
		fprintf(stderr, "trafficgen sink: cannot attach to %s: %s\n", dev, strerror(errno));
		goto out;
	}
	if (bpf_map__pin(skel->maps.tg_sink_drops, pin)) {
		fprintf(stderr, "trafficgen sink: cannot pin %s\n", pin);
		goto out;
	}
	pinned = true;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready\n");
	fflush(stdout);
	t0 = now_s();
	while (!stop && now_s() - t0 < max_s)
		usleep(100000);
	ret = 0;
out:
	if (pinned)
		unlink(pin);
	bpf_link__destroy(link);
	geofw_trafficgen__destroy(skel);
	return ret;
}

static int cmd_count(int argc, char **argv)
{
	int ncpu = libbpf_num_possible_cpus(), fd, i;
	unsigned long long sum = 0;
	__u32 zero = 0;
	__u64 *v;

	if (argc != 2 || ncpu <= 0) {
		usage(stderr);
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "trafficgen count: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || bpf_map_lookup_elem(fd, &zero, v)) {
		fprintf(stderr, "trafficgen count: %s: cannot read\n", argv[1]);
		free(v);
		close(fd);
		return 1;
	}
	for (i = 0; i < ncpu; i++)
		sum += v[i];
	printf("%llu\n", sum);
	free(v);
	close(fd);
	return 0;
}

static int cmd_lines(int argc, char **argv)
{
	struct bpf_prog_info info = {};
	struct bpf_line_info *li = NULL;
	__u64 *jli = NULL, *ksyms = NULL;
	__u32 len = sizeof(info), n, i;
	struct btf *btf = NULL;
	int fd, ret = 1;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	fd = bpf_prog_get_fd_by_id((__u32)strtoul(argv[1], NULL, 0));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		fprintf(stderr, "trafficgen lines: program %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	n = info.nr_line_info < info.nr_jited_line_info ? info.nr_line_info : info.nr_jited_line_info;
	if (!n || !info.nr_jited_ksyms || !info.btf_id) {
		fprintf(stderr, "trafficgen lines: program %s has no line info\n", argv[1]);
		goto out;
	}
	li = calloc(n, sizeof(*li));
	jli = calloc(n, sizeof(*jli));
	ksyms = calloc(info.nr_jited_ksyms, sizeof(*ksyms));
	if (!li || !jli || !ksyms)
		goto out;
	{
		struct bpf_prog_info q = {
			.nr_line_info = n, .line_info_rec_size = sizeof(*li),
			.line_info = (__u64)(unsigned long)li,
			.nr_jited_line_info = n, .jited_line_info_rec_size = sizeof(*jli),
			.jited_line_info = (__u64)(unsigned long)jli,
			.nr_jited_ksyms = info.nr_jited_ksyms,
			.jited_ksyms = (__u64)(unsigned long)ksyms,
		};

		len = sizeof(q);
		if (bpf_obj_get_info_by_fd(fd, &q, &len)) {
			fprintf(stderr, "trafficgen lines: %s\n", strerror(errno));
			goto out;
		}
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		fprintf(stderr, "trafficgen lines: no BTF for program %s\n", argv[1]);
		goto out;
	}
	/* Offsets from the main program's symbol (ksyms[0]); the lines of
	 * subprograms (other symbols) come out as offsets outside it. */
	for (i = 0; i < n; i++) {
		const char *file = btf__name_by_offset(btf, li[i].file_name_off);
		const char *line = btf__name_by_offset(btf, li[i].line_off);
		const char *base = file ? strrchr(file, '/') : NULL;

		printf("%llx %s:%u | %s\n", (unsigned long long)(jli[i] - ksyms[0]),
		       base ? base + 1 : file ? file : "?", BPF_LINE_INFO_LINE_NUM(li[i].line_col),
		       line ? line : "");
	}
	ret = 0;
out:
	btf__free(btf);
	free(li);
	free(jli);
	free(ksyms);
	if (fd >= 0)
		close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sink"))
		return cmd_sink(argc - 1, argv + 1);
	if (!strcmp(argv[1], "count"))
		return cmd_count(argc - 1, argv + 1);
	if (!strcmp(argv[1], "lines"))
		return cmd_lines(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
