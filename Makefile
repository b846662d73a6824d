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

VMM_SRCS  := $(sort $(wildcard vmm/*.c vmm/dev/*.c devices/*/*.c firmware/*.c))
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

test-unit: $(BUILD)/unit-tests guests
	VMM_BUILD=$(abspath $(BUILD)) $(BUILD)/unit-tests --jobs 2

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

# libFuzzer harnesses (clang): each runs FUZZ_SECONDS on its corpus under ASan/UBSan.
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all
fuzz:
	@mkdir -p $(BUILD)/fuzz
	clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz_config tests/fuzz/fuzz_config.c vmm/toml.c \
		vmm/config.c vmm/config_devices.c vmm/util.c
	cp -r tests/fuzz/corpus/config $(BUILD)/fuzz/corpus-config
	$(BUILD)/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(BUILD)/fuzz/corpus-config

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
