# hookgate - plain Makefile (pkg-config, -MMD -MP).
#
#   make                      build build/hookgate
#   make SANITIZER=address    instrumented build in build/address/ (or undefined)
#   make run                  install what is missing, build, run with a local Redis
#   make test                 everything CI runs: unit + integration, plain, ASan, UBSan and
#                             valgrind; the fuzzers briefly; the container image
#   make format               clang-format the sources
#   make fuzz                 build the libFuzzer targets (clang, ASan + UBSan) in build/fuzz/
#   make fuzz-run             run each for FUZZ_SECONDS (default 10) on its seeds
#   make bench                benchmark against nginx and a Node.js receiver (bench/run.sh)
#   make hotpath              build/hotpath: the request pipeline alone, for profiling
#   make docker               build the container image hookgate:latest
#   make docker-test          build and test the image for real (as root; tests/docker/run.sh)

CC        ?= cc
PKGS      := libmicrohttpd openssl yajl hiredis
PYTHON    ?= /usr/bin/python3
SANITIZER ?=

ifeq ($(SANITIZER),)
BUILD     := build
OPTFLAGS  := -O2 -g -D_FORTIFY_SOURCE=2
else
BUILD     := build/$(SANITIZER)
OPTFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=$(SANITIZER) -fno-sanitize-recover=all
endif

WARNINGS  := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wwrite-strings -Wcast-qual -Wvla -Wimplicit-fallthrough
ifeq ($(WERROR),1)
WARNINGS  += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS    ?=
LDFLAGS   ?=
ALL_CFLAGS  = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE $(OPTFLAGS) $(WARNINGS) \
              -fstack-protector-strong -fPIE -pthread -MMD -MP -Ilib $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(OPTFLAGS) -pie -Wl,-z,relro,-z,now -pthread $(LDFLAGS)

LIB_SRC   := $(wildcard lib/*.c lib/providers/*.c)
GW_SRC    := $(wildcard gateway/*.c)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
GW_OBJ    := $(GW_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run test check check-unit check-integration check-valgrind format clean fuzz \
        fuzz-run bench hotpath
.SECONDARY:

all: $(BUILD)/hookgate

# bench/hotpath.c (not in the container image): make hotpath
hotpath: $(BUILD)/hotpath

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libhookgate.a: $(LIB_OBJ)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BUILD)/hookgate: $(GW_OBJ) $(BUILD)/libhookgate.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(GW_OBJ) $(BUILD)/libhookgate.a $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libhookgate.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libhookgate.a $(PKG_LIBS) -lcmocka

# The request pipeline alone, for profiling (bench/hotpath.c).
$(BUILD)/hotpath: $(BUILD)/bench/hotpath.o $(BUILD)/libhookgate.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libhookgate.a $(PKG_LIBS)

# Installs missing Debian packages (as root), or says which are missing.
deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-dev.sh

check-unit: $(UNIT_BIN) $(BUILD)/hotpath
	@scripts/run-unit.sh $(UNIT_BIN)

check-integration: $(BUILD)/hookgate
	HOOKGATE_BIN=$(abspath $(BUILD)/hookgate) SANITIZER=$(SANITIZER) \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

check: check-unit check-integration

# The unit tests, and the integration tests with the gateway, under valgrind's
# memcheck: any error or definite leak fails (exit status 99).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite
check-valgrind: $(UNIT_BIN) $(BUILD)/hookgate
	@for t in $(UNIT_BIN); do $(VALGRIND) $$t >/dev/null || { echo "valgrind: $$t failed"; exit 1; }; done
	@echo "valgrind: $(words $(UNIT_BIN)) unit test programs clean"
	HOOKGATE_BIN=$(abspath $(BUILD)/hookgate) HOOKGATE_WRAPPER="$(VALGRIND)" \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# Everything CI runs: the plain build, then ASan and UBSan builds, each with
# the unit and the integration tests; the fuzzers, briefly; the container.
test: deps
	@$(MAKE) --no-print-directory WERROR=1 check
	@$(MAKE) --no-print-directory WERROR=1 SANITIZER=address check
	@$(MAKE) --no-print-directory WERROR=1 SANITIZER=undefined check
	@$(MAKE) --no-print-directory WERROR=1 check-valgrind
	@$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)
	@$(MAKE) --no-print-directory docker-test
	@echo "make test: plain, address, undefined, valgrind, fuzz and docker suites all passed"
	@echo "suites: 6 passed, 0 failed"

# libFuzzer targets: the library built again with clang, ASan, UBSan and
# fuzzer coverage, one binary per tests/fuzz/fuzz_*.c.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_FLAGS   := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=all -Ilib $(PKG_CFLAGS)
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJ) -o $@ $(PKG_LIBS) -pthread

fuzz: $(FUZZ_BINS)

fuzz-run: fuzz
	@scripts/fuzz-run.sh $(FUZZ_SECONDS)

bench:
	@bench/run.sh

format:
	clang-format -i $(LIB_SRC) $(GW_SRC) $(UNIT_SRC) lib/*.h gateway/*.h

clean:
	rm -rf build

# Container image (docker/Dockerfile) as hookgate:latest; needs a Docker engine.
# DOCKER_BUILD_FLAGS adds flags, e.g. --network=host where there is no bridge.
DOCKER_BUILD_FLAGS ?=
.PHONY: docker docker-test
docker:
	docker build $(DOCKER_BUILD_FLAGS) -f docker/Dockerfile -t hookgate .

# Builds the image as hookgate:test and tests it against a real redis-server
# (as root; installs docker.io and debootstrap when missing, makes the
# debian:bookworm-slim base with debootstrap when absent): tests/docker/run.sh.
docker-test:
	@tests/docker/run.sh

-include $(LIB_OBJ:.o=.d) $(GW_OBJ:.o=.d) $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d)
-include $(FUZZ_LIB_OBJ:.o=.d)
