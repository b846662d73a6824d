# vmm: the entry point for everything a person does (STYLE.md).
#   make            build vmm and the test guests
#   make run        install missing Debian packages, build, boot the default guest
#   make test       install missing packages, build, run every test (unit, ASan/UBSan, KVM)
#   make check-asan unit and KVM integration tests, vmm built with ASan + UBSan
#   make fuzz       libFuzzer harnesses, FUZZ_SECONDS each (clang)
#   make guests     build the test guests only
#   make bench      benchmarks (bench/nvme-device: the NVMe model alone; bench/nvme.sh: vmm vs
#                   QEMU vs host io_uring); prints tables. make bench-device: the first only
#   make guests-linux / test-linux   the Linux test kernel (cached) / boot it (tests/linux)
#   make format / format-check

CC      ?= gcc
BUILD   ?= build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
SAN     ?=
OPT     ?= -O2
CFLAGS  := -DVMM_VERSION=\"$(VERSION)\" -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wvla -D_GNU_SOURCE -I. $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN)
LIBS    := -luring -lfdt -lpthread

VMM_SRCS  := $(sort $(wildcard vmm/*.c vmm/pci/*.c vmm/config/*.c vmm/boot/*.c vmm/dev/*.c devices/*/*.c firmware/*.c))
LIB_SRCS  := $(filter-out vmm/main.c,$(VMM_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
DEPS      := $(LIB_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/obj/vmm/main.d

.PHONY: all vmm guests unit run test test-unit test-integration check-asan deps clean \
        format format-check fuzz bench

all: vmm guests

vmm: $(BUILD)/vmm

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/vmm: $(LIB_OBJS) $(BUILD)/obj/vmm/main.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/unit-tests: $(LIB_OBJS) $(UNIT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcriterion

unit: $(BUILD)/unit-tests

guests:
	$(MAKE) -C guests OUT=$(abspath $(BUILD))/guests
	$(MAKE) -C guests/bootsector OUT=$(abspath $(BUILD))/guests

deps:
	@scripts/deps.sh

run: deps all
	$(BUILD)/vmm run

# The unit tests that open /dev/kvm (test_cpuid) skip without one: then they run again in
# the nested-KVM rig (tests/rig), so that nothing is skipped for lack of KVM.
test-unit: $(BUILD)/unit-tests guests
	VMM_BUILD=$(abspath $(BUILD)) $(BUILD)/unit-tests --jobs 2
	@if [ ! -e /dev/kvm ]; then \
		tests/rig/rig.sh tier unit env VMM_BUILD=$(abspath $(BUILD)) \
			$(abspath $(BUILD))/unit-tests --filter 'cpuid/*' --jobs 1; fi

# Unit tests, then every KVM integration test with vmm itself built with ASan/UBSan (device
# models under real guests: a memory error or leak changes vmm's exit status and fails).
ASAN_MAKE = $(MAKE) BUILD=build-asan OPT=-O1 \
	SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
check-asan:
	$(ASAN_MAKE) test-unit
	$(ASAN_MAKE) test-integration

# The KVM tiers run where tests/rig/rig.sh picks (the host's /dev/kvm, or the nested-KVM rig
# under QEMU TCG where there is none; VMM_TEST_KVM=host|rig|skip overrides): it says which.
test-integration: all
	VMM_BUILD=$(abspath $(BUILD)) tests/rig/rig.sh tier integration tests/integration/run.sh

# Benchmarks print tables (bench/RESULTS.md records them); not part of make test.
bench: all $(BUILD)/nvme-device-bench
	$(BUILD)/nvme-device-bench
	VMM_BUILD=$(abspath $(BUILD)) bench/nvme.sh

# The NVMe controller model alone, no KVM: bench/nvme-device/.
.PHONY: bench-device
bench-device: $(BUILD)/nvme-device-bench
	$(BUILD)/nvme-device-bench
$(BUILD)/nvme-device-bench: $(LIB_OBJS) $(BUILD)/obj/bench/nvme-device/nvme_device_bench.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
-include $(BUILD)/obj/bench/nvme-device/nvme_device_bench.d

test: deps
	$(MAKE) test-unit
	$(MAKE) check-asan
	$(MAKE) fuzz
	$(MAKE) test-integration
	$(MAKE) test-linux-cached

# The Linux test kernel (guests/linux; cached outside the tree, ~10 min to build once) and
# the tests that boot it (tests/linux/run.sh; skipped with the reason when it is not built).
.PHONY: guests-linux test-linux test-linux-cached rig
# The nested-KVM test rig's L1 initramfs (tests/rig; seconds, cached in ~/.cache/vmm).
rig:
	tests/rig/rig.sh build
guests-linux:
	$(MAKE) -C guests/linux
	mkdir -p $(BUILD) && ln -sfn "$$($(MAKE) -s --no-print-directory -C guests/linux path)" $(BUILD)/vmlinux
test-linux: vmm guests-linux
	$(MAKE) -C guests/linux initramfs
	VMM_BUILD=$(abspath $(BUILD)) tests/rig/rig.sh tier linux tests/linux/run.sh
# Part of `make test`: boots the kernel only if this machine already built it (~1.5 min here).
# The full-mode initramfs is built on the host first (its packages cannot be installed in the rig).
test-linux-cached: vmm
	if guests/linux/build.sh path >/dev/null; then $(MAKE) -C guests/linux initramfs; fi
	VMM_BUILD=$(abspath $(BUILD)) tests/rig/rig.sh tier linux tests/linux/run.sh

# libFuzzer harnesses (clang; tests/fuzz/README.md): each runs FUZZ_SECONDS under ASan and
# UBSan with leak checking, from its committed corpus (tests/fuzz/corpus/<name>, crash
# regressions included), new inputs go to build/fuzz/corpus-<name>. `make fuzz` runs them all
# (what CI runs: about 2.5 minutes with the default), `make fuzz-<name>` one, `make fuzz-long
# FUZZ_SECONDS=N` all of them for N seconds each (default 300) with libFuzzer's final stats.
FUZZ_SECONDS ?= 20
FUZZ_LONG_SECONDS := $(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),300)
FUZZ_NAMES := config nvme pci fw_cfg ntb plx_dma vtd
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -Wno-unused-parameter \
               $(FUZZ_SAN)
FUZZ_OPTS := -timeout=10 -max_len=4096 -close_fd_mask=2
# The VMM's library objects built for fuzzing (coverage-instrumented); each harness links
# the ones it needs from an archive. kvm.c and machine.c need /dev/kvm: no harness uses them.
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(filter-out vmm/kvm.c vmm/machine.c,$(LIB_SRCS)))
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
.PHONY: fuzz fuzz-long $(FUZZ_NAMES:%=fuzz-%)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(BUILD)/fuzz/libvmm.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.o $(BUILD)/fuzz/libvmm.a
	clang $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

# fuzz-<name>: one harness for FUZZ_SECONDS
$(FUZZ_NAMES:%=fuzz-%): fuzz-%: $(BUILD)/fuzz/fuzz_%
	@mkdir -p $(BUILD)/fuzz/corpus-$*
	$(BUILD)/fuzz/fuzz_$* $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
		$(BUILD)/fuzz/corpus-$* tests/fuzz/corpus/$*
fuzz: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do $(MAKE) --no-print-directory fuzz-$$n || exit 1; done
fuzz-long: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
		$(MAKE) --no-print-directory fuzz-$$n FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) \
			FUZZ_OPTS="$(FUZZ_OPTS) -print_final_stats=1" || exit 1; done
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_NAMES:%=$(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.d)

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD) build-asan
	$(MAKE) -C guests clean OUT=$(abspath $(BUILD))/guests
	$(MAKE) -C guests/bootsector clean OUT=$(abspath $(BUILD))/guests

-include $(DEPS)
