# charrnn: `make` builds the CLI and the library, `make test` runs every test.
# `make test SANITIZE=1` builds everything with AddressSanitizer + UBSan first.

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -fno-math-errno -g
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Isrc
WFLAGS  := -std=c17 -Wall -Wextra -Wshadow -Wno-unused-parameter
OMPFLAGS := -fopenmp
# OpenBLAS built for OpenMP shares one thread pool with our own parallel loops;
# Debian's default (pthreads) one spins against OpenMP's threads. Prefer it when
# installed (package libopenblas0-openmp), else whatever -lopenblas finds.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
OPENBLAS_OMP := /usr/lib/$(MULTIARCH)/openblas-openmp
ifneq ($(wildcard $(OPENBLAS_OMP)/libopenblas.so.0),)
  BLAS_LIBS ?= -L$(OPENBLAS_OMP) -Wl,-rpath,$(OPENBLAS_OMP) -l:libopenblas.so.0
else
  BLAS_LIBS ?= -lopenblas
endif
LDLIBS  += $(BLAS_LIBS) -lm

ifeq ($(SANITIZE),1)
  BUILD   := build/sanitize
  CFLAGS  := -O1 -g -march=native -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(VALGRIND),1)
  # valgrind does not decode AVX-512: an AVX2 build for memcheck runs
  BUILD   := build/valgrind
  CFLAGS  := -O1 -g -march=x86-64-v3 -fno-math-errno
else
  BUILD   := build/release
endif

LIB_SRC  := $(wildcard src/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/src/%.o)
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:cli/%.c=$(BUILD)/cli/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)
LIB      := $(BUILD)/libcharrnn.a
BIN      := $(BUILD)/charrnn
TESTBIN  := $(BUILD)/run_tests
CORPUS   := $(BUILD)/default_corpus.txt

.PHONY: all test clean charrnn bench fuzz
all: charrnn

# ./charrnn always points at the last build (release or sanitized).
charrnn: $(BIN)
	ln -sf $(BIN) charrnn

$(BUILD)/src/%.o: src/%.c $(wildcard src/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

# The cells' elementwise math is the hot loop: vectorised transcendentals need
# -O3 and relaxed math, but NaN/Inf must stay detectable (-fno-finite-math-only).
FAST_CFLAGS := -O3 -ffast-math -fno-finite-math-only -mprefer-vector-width=512
$(BUILD)/src/cells.o: src/cells.c src/cells.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(FAST_CFLAGS) $(OMPFLAGS) -c $< -o $@

$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

# The built-in default corpus: the project's own C sources, embedded with .incbin
# (less viz_html.c, which is mostly CSS and JavaScript in C strings).
CORPUS_SRC := include/charrnn.h $(sort $(wildcard src/*.h)) $(sort $(LIB_SRC)) $(sort $(filter-out cli/viz_html.c,$(CLI_SRC)))
$(CORPUS): $(CORPUS_SRC)
	@mkdir -p $(dir $@)
	cat $(CORPUS_SRC) > $@
$(BUILD)/cli/default_corpus.o: cli/default_corpus.c $(CORPUS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -DCORPUS_FILE='"$(CORPUS)"' -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c tests/test.h tests/test_list.h $(wildcard src/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

# test_viz.c includes the page writers and property extractors it tests, test_hardening.c the option parser
$(BUILD)/tests/test_viz.o: cli/viz_props.c cli/viz_html.c cli/viz.h
$(BUILD)/tests/test_hardening.o: cli/options.c cli/options.h

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test binary wraps the system calls of a checkpoint write (tests/test_faults.c
# injects failures through them) and read() (tests/test_hardening.c: a corpus that
# changes while it is read); the library itself is linked unchanged.
WRAPS := -Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=close,--wrap=rename,--wrap=read
$(TESTBIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $(WRAPS) $^ $(LDLIBS) -o $@

test: charrnn $(TESTBIN)
	CHARRNN_BIN=./charrnn OMP_NUM_THREADS=1 ./$(TESTBIN)

# The speed benchmark against PyTorch (needs Debian's python3-torch); see bench/run.
$(BUILD)/gemm_rate: bench/gemm_rate.c
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) $< $(LDFLAGS) $(LDLIBS) -o $@

bench: charrnn $(BUILD)/gemm_rate
	/usr/bin/python3 bench/run --gemm-rate $(BUILD)/gemm_rate

# libFuzzer targets (clang): the checkpoint loader, the UTF-8 decoder and
# vocabulary builder, the option parser, resuming from edited checkpoint metadata. `make fuzz FUZZ_SECONDS=600` runs each
# for that long from the seeds in fuzz/seeds (copied: the seeds stay as they are).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_CFLAGS  := -g -O1 -Wno-pass-failed -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fopenmp-simd
FUZZ_OBJ     := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/src/%.o) $(FUZZ_BUILD)/cli/options.o
FUZZ_TARGETS := checkpoint utf8 options resume
$(FUZZ_BUILD)/%.o: %.c $(wildcard src/*.h) $(wildcard cli/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Icli $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) -Icli $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(BLAS_LIBS) -lm -o $@
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus-$$t && cp fuzz/seeds/$$t/* $(FUZZ_BUILD)/corpus-$$t/ && \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s ==" && \
	    if $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
	        -print_final_stats=1 $(FUZZ_BUILD)/corpus-$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	        grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units)" $(FUZZ_BUILD)/fuzz_$$t.log; \
	    else tail -n 40 $(FUZZ_BUILD)/fuzz_$$t.log; echo "fuzz_$$t FAILED (log: $(FUZZ_BUILD)/fuzz_$$t.log)"; exit 1; fi; \
	done

clean:
	rm -rf build charrnn
