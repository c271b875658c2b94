# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark helpers of bench/run.sh, included by the Makefile:
#
#   $(BUILD)/trafficgen   packet generator + reference XDP_DROP receiver
#   $(BUILD)/benchdata    prefix lists and blocklists generated at bench time
#
# Uses the Makefile's BUILD, Q, msg, CC, CLANG, BPFTOOL, BPF_CFLAGS,
# USER_CFLAGS, LDLIBS, LIB and USER_HDRS.

BENCH_TOOLS := $(BUILD)/trafficgen $(BUILD)/benchdata

.PHONY: bench-tools
bench-tools: $(BENCH_TOOLS)

$(BUILD)/bench/trafficgen.bpf.o: bench/bpf/trafficgen.bpf.c bench/trafficgen.h vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/trafficgen.skel.h: $(BUILD)/bench/trafficgen.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name geofw_trafficgen > $@

$(BUILD)/trafficgen: bench/trafficgen.c bench/trafficgen.h $(BUILD)/bench/trafficgen.skel.h
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Ibench -I$(BUILD)/bench $< $(LDLIBS) -o $@

$(BUILD)/benchdata: bench/benchdata.c $(LIB) $(USER_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(LIB) $(LDLIBS) -o $@
