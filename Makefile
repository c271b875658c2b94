# SPDX-License-Identifier: GPL-2.0-only
#
# geofw build.  Out of tree in $(BUILD); quiet unless V=1.
#
#   make            build BPF objects, skeletons, geofwd and fwctl
#   make deps       install the Debian 12 packages needed (idempotent)
#   make test       deps + build + every test, ends with "N passed, N failed"
#   make demo       deps + build + a namespace lab showing the firewall at work
#   make bench      benchmarks (see bench/)
#   make vmlinux    regenerate vmlinux.h from the running kernel's BTF
#   make install    install binaries, unit, config, man pages (DESTDIR, PREFIX)
#   make deb        build/geofw_VERSION_ARCH.deb with debhelper (docs/packaging.md)
#   make test-deb   build, install, check, purge the .deb on this machine
#   make test-systemd  the .deb under real systemd in a Debian 12 container
#   make clean

BUILD	?= build
PREFIX	?= /usr/local
DESTDIR	?=
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),,$(PREFIX))/etc
UNITDIR	?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,/etc/systemd/system)
LIBDIR_SYSTEMD ?= $(PREFIX)/lib
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

CC	?= cc
CLANG	?= clang
BPFTOOL	?= bpftool

ifeq ($(V),1)
Q	:=
msg	= @true
else
Q	:= @
msg	= @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
WARN	:= -Wall -Wextra -Werror

CFLAGS	?= -O2 -g
USER_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser/lib \
	       -I$(BUILD) $(shell pkg-config --cflags libnl-3.0 libnl-route-3.0 2>/dev/null)
LDLIBS	:= -lbpf -lelf -lz -lmaxminddb -lnl-route-3 -lnl-3 -lsqlite3 -lnats -lcurl -ljansson -lpthread
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -I. -Iinclude

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS	 := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
BPF_HDRS := $(wildcard bpf/*.h maps/*.h include/*.h) vmlinux.h

# user/lib is two archives (docs/design-notes.md, "Layers").  The kernel
# part: every file that calls libbpf or the maps (listed by name).  Every
# other file is the core (cidr, cmd, config, the rule store, import lists,
# the ctl wire format, messages, JSON, GeoIP reading, ...), which links,
# runs and is fuzzed without libbpf; $(CORE_CHECK) fails the build when a
# core file needs libbpf or the kernel part.
KERNEL_SRCS := $(addprefix user/lib/,asntable.c canary.c events.c explain.c geotable_install.c \
	       geoverify.c kdiff.c loader.c log_libbpf.c maps.c metrics.c ports_maps.c \
	       responder_maps.c)
LIB_SRCS := $(wildcard user/lib/*.c)
CORE_SRCS := $(filter-out $(KERNEL_SRCS),$(LIB_SRCS))
CORE_OBJS := $(CORE_SRCS:user/lib/%.c=$(BUILD)/lib/%.o)
KERNEL_OBJS := $(KERNEL_SRCS:user/lib/%.c=$(BUILD)/lib/%.o)
CORE_LIB := $(BUILD)/libgeofw-core.a
KERNEL_LIB := $(BUILD)/libgeofw-kernel.a
CORE_CHECK := $(BUILD)/lib/core-check.stamp
# Link order: the kernel part calls the core, never the reverse.
LIB	 := $(KERNEL_LIB) $(CORE_LIB)
# What a program that links only $(CORE_LIB) needs.
CORE_LDLIBS := -lmaxminddb -lsqlite3 -lcurl -ljansson -lpthread
USER_HDRS := $(wildcard user/lib/*.h include/*.h)

BINS	 := $(sort $(patsubst user/%/,$(BUILD)/%,$(dir $(wildcard user/geofwd/*.c user/fwctl/*.c))))

# BPF objects used only by tests (e.g. an entry that takes its verdict from
# skb->cb, which BPF_PROG_RUN can set but XDP metadata cannot).
TEST_BPF_SRCS := $(wildcard tests/*/bpf/*.bpf.c) bench/bpf/bench.bpf.c
TEST_SKELS := $(foreach f,$(TEST_BPF_SRCS),$(BUILD)/$(notdir $(f:.bpf.c=.skel.h)))

TEST_SUITES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tests/unit/*.c tests/prog/*.c)))))
TEST_BINS := $(TEST_SUITES:%=$(BUILD)/tests/%/run)

.DELETE_ON_ERROR:
.SECONDEXPANSION:
.SECONDARY:
.PHONY: all deps test check demo bench bench-quick vmlinux install clean build-tests asan fuzz
.PHONY: deb test-deb test-systemd FORCE

all: $(SKELS) $(LIB) $(CORE_CHECK) $(BINS)

deps:
	$(Q)packaging/install-deps.sh

# ---- BPF ------------------------------------------------------------------

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/bpf/%.bpf.o: $$(wildcard tests/*/bpf/$$*.bpf.c bench/bpf/$$*.bpf.c) $(BPF_HDRS) | $(BUILD)/tests/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibpf -c $< -o $@

$(TEST_SKELS): $(BUILD)/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name geofw_$* > $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name geofw_$* > $@

vmlinux:
	$(call msg,GEN,vmlinux.h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

# ---- user space ------------------------------------------------------------

$(BUILD)/lib/%.o: user/lib/%.c $(USER_HDRS) $(SKELS) | $(BUILD)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(KERNEL_LIB): $(KERNEL_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The core stays without libbpf: no core file includes a libbpf header or
# a skeleton, and no core object calls libbpf or the kernel part.
$(CORE_CHECK): $(CORE_LIB) $(KERNEL_LIB) user/lib/check-core.sh
	$(call msg,CHECK,$(CORE_LIB))
	$(Q)CC="$(CC) $(CFLAGS)" user/lib/check-core.sh $(CORE_LIB) $(KERNEL_LIB) $(CORE_SRCS)
	$(Q)touch $@

$(BINS): $(BUILD)/%: $$(wildcard user/$$*/*.c user/$$*/*.h) $(USER_HDRS) $(LIB) $(SKELS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(filter %.c,$^) $(LIB) $(LDLIBS) -o $@

# ---- tests -----------------------------------------------------------------

# Every `void test_<name>(void)` of a suite, found by the build.  Made on
# every run (a deleted test file must leave the list too) but replaced only
# when it changes, so an unchanged suite is not linked again.
$(BUILD)/tests/%/list.inc: FORCE | $(BUILD)/tests
	$(Q)mkdir -p $(@D)
	$(Q)cat $(wildcard tests/$*/*.c) /dev/null | grep -o '^void test_[a-z0-9_]*(void)' | \
		sed 's/^void test_\(.*\)(void)/TEST(\1)/' > $@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

FORCE:

$(BUILD)/tests/%/run: $$(wildcard tests/$$*/*.c tests/$$*/*.h tests/lib/*.c tests/lib/*.h) \
		$(BUILD)/tests/%/list.inc $(USER_HDRS) $(LIB) $(SKELS) $(TEST_SKELS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/lib -DTEST_SUITE='"$*"' \
		-DTEST_LIST='"tests/$*/list.inc"' \
		$(filter tests/%.c,$^) $(LIB) $(LDLIBS) -o $@

# tests/unit/cmd.c reads the handler arrays of both binaries (#include), to
# check them against the command table.
$(BUILD)/tests/unit/run: user/fwctl/commands.c user/geofwd/commands.c \
		$(wildcard user/fwctl/*.h user/geofwd/*.h)

# Helper programs of the e2e tests (traffic generators).
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))

# ctlstorm speaks geofwd's control protocol, httpget is http.h from the
# command line: they link the library.
$(BUILD)/tests/tools/ctlstorm $(BUILD)/tests/tools/httpget: $(BUILD)/tests/tools/%: \
		tests/tools/%.c $(LIB) $(USER_HDRS) | $(BUILD)/tests
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/tools/%: tests/tools/%.c | $(BUILD)/tests
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $< -o $@

build-tests: all $(TEST_BINS) $(TEST_TOOLS)

# The build on every CPU unless -j was given; the suites side by side
# (tests/run.sh: GEOFW_TEST_JOBS, default 3).
test check: deps
	$(Q)$(MAKE) $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc)) build-tests
	$(Q)tests/run.sh $(BUILD)

# ---- benchmarks --------------------------------------------------------------

$(BUILD)/geofw-bench: bench/geofw-bench.c $(BUILD)/bench.skel.h $(LIB) $(USER_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

-include bench/bench.mk

# One command, one report: per-packet cost, veth drop rate against nftables
# and ipset, control-plane loads, the 403 responder (bench/run.sh).
bench: deps
	$(Q)$(MAKE) all $(BUILD)/geofw-bench bench-tools
	$(Q)BUILD=$(BUILD) bench/run.sh

bench-quick: deps
	$(Q)$(MAKE) all $(BUILD)/geofw-bench bench-tools
	$(Q)BUILD=$(BUILD) bench/run.sh --quick

# geofwd and fwctl with AddressSanitizer and UBSan, in their own build dir.
ASAN_BUILD ?= build-asan
asan:
	$(Q)$(MAKE) BUILD=$(ASAN_BUILD) \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		all

demo: deps
	$(Q)$(MAKE) all
	$(Q)tests/demo.sh $(BUILD)

# ---- fuzzing (libFuzzer targets in tests/fuzz) -------------------------------

-include tests/fuzz/fuzz.mk

# ---- misc ------------------------------------------------------------------

$(BUILD)/bpf $(BUILD)/lib $(BUILD)/tests $(BUILD)/tests/bpf:
	$(Q)mkdir -p $@

# ---- install ---------------------------------------------------------------
# The config and the 403 page are installed only when absent: an upgrade
# never overwrites what the operator wrote.
install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/geofw $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPLETIONDIR) \
		$(DESTDIR)$(LIBDIR_SYSTEMD)/tmpfiles.d $(DESTDIR)$(LIBDIR_SYSTEMD)/sysusers.d
	$(Q)install -m 0755 $(BUILD)/geofwd $(BUILD)/fwctl $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0644 packaging/man/geofw.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)install -m 0644 packaging/man/geofwd.8 packaging/man/fwctl.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)install -m 0644 packaging/bash-completion/fwctl $(DESTDIR)$(COMPLETIONDIR)/fwctl
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/systemd/geofwd.service.in \
		> $(DESTDIR)$(UNITDIR)/geofwd.service && chmod 0644 $(DESTDIR)$(UNITDIR)/geofwd.service
	$(Q)install -m 0644 packaging/systemd/geofw.tmpfiles $(DESTDIR)$(LIBDIR_SYSTEMD)/tmpfiles.d/geofw.conf
	$(Q)install -m 0644 packaging/systemd/geofw.sysusers $(DESTDIR)$(LIBDIR_SYSTEMD)/sysusers.d/geofw.conf
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/geofw/geofw.conf ] || \
		install -m 0644 packaging/geofw.conf $(DESTDIR)$(SYSCONFDIR)/geofw/geofw.conf
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/geofw/403.html ] || \
		install -m 0644 packaging/403.html $(DESTDIR)$(SYSCONFDIR)/geofw/403.html

# ---- Debian package ----------------------------------------------------------
# packaging/debian/ is laid into a copy of the tree under $(BUILD)/deb, so the
# top level stays as it is; the .deb is copied to $(BUILD)/.

DEB_VERSION = $(shell dpkg-parsechangelog -l packaging/debian/changelog -S Version 2>/dev/null)
DEB_ARCH = $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null)
DEB_SRC = $(BUILD)/deb/geofw-$(firstword $(subst -, ,$(DEB_VERSION)))

deb:
	$(Q)v=$$(sed -n 's/^#define GEOFW_VERSION "\(.*\)".*/\1/p' include/geofw.h); \
	case "$(DEB_VERSION)" in "$$v"-*) ;; *) \
		echo "deb: packaging/debian/changelog is at $(DEB_VERSION), GEOFW_VERSION is $$v" >&2; \
		exit 1;; esac
	$(call msg,COPY,$(DEB_SRC))
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	$(Q)if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -c -o --exclude-standard | \
			tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else \
		tar --exclude=./$(BUILD) --exclude=./$(ASAN_BUILD) --exclude=./.git -cf - . | \
			tar -xf - -C $(DEB_SRC); \
	fi
	$(Q)rm -rf $(DEB_SRC)/debian && cp -r packaging/debian $(DEB_SRC)/debian
	$(call msg,DPKG,$(BUILD)/geofw_$(DEB_VERSION)_$(DEB_ARCH).deb)
	$(Q)cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc >../dpkg-buildpackage.log 2>&1 || \
		{ tail -40 ../dpkg-buildpackage.log >&2; exit 1; }
	$(Q)cp $(BUILD)/deb/geofw_$(DEB_VERSION)_$(DEB_ARCH).deb $(BUILD)/

test-deb: deps
	$(Q)BUILD=$(BUILD) bash tests/e2e/deb.sh

test-systemd: deps
	$(Q)BUILD=$(BUILD) bash tests/e2e/systemd.sh

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD) $(ASAN_BUILD)
