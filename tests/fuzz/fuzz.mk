# SPDX-License-Identifier: GPL-2.0-only
#
# libFuzzer targets for every parser of untrusted input (tests/fuzz/README.md).
# Included by the top Makefile, which provides BUILD, Q, msg, CLANG,
# CORE_SRCS, CORE_LDLIBS and USER_HDRS.
#
#   make fuzz          run each target FUZZ_SECONDS (60), print execs/s
#   make fuzz-smoke    run each target FUZZ_SMOKE_SECONDS (5), as make test does
#   make fuzz-build    only build them
#   FUZZ_TARGETS="cidr ctl" restricts the runs to those targets.
#
# The core library (every parser of untrusted input is in it; no libbpf,
# docs/design-notes.md "Layers") is rebuilt here with clang, coverage
# instrumentation and ASan/UBSan: the gcc-built libgeofw-core.a carries no
# coverage for libFuzzer.

FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_NAMES	:= $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BINS	:= $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_TARGETS	?= $(FUZZ_NAMES)
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 5

FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	:= -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -Wall -Wextra -Werror \
		   -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser/lib
FUZZ_LDLIBS	:= $(CORE_LDLIBS)

FUZZ_LIB_OBJS	:= $(CORE_SRCS:user/lib/%.c=$(FUZZ_DIR)/lib/%.o)
FUZZ_LIB	:= $(FUZZ_DIR)/libgeofw-fuzz.a

.PHONY: fuzz fuzz-smoke fuzz-build

$(FUZZ_DIR)/lib/%.o: user/lib/%.c $(USER_HDRS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(USER_HDRS) $(FUZZ_LIB)
	$(call msg,CCLD-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer $< $(FUZZ_LIB) \
		$(FUZZ_LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
