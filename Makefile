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
  CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
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

.PHONY: all test clean charrnn bench
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

# The built-in default corpus: the project's own C sources, embedded with .incbin.
$(CORPUS): $(LIB_SRC) $(wildcard src/*.h) $(CLI_SRC) include/charrnn.h
	@mkdir -p $(dir $@)
	cat include/charrnn.h $(sort $(wildcard src/*.h)) $(sort $(LIB_SRC)) $(sort $(CLI_SRC)) > $@
$(BUILD)/cli/default_corpus.o: cli/default_corpus.c $(CORPUS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -DCORPUS_FILE='"$(CORPUS)"' -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c tests/test.h tests/test_list.h $(wildcard src/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The test binary wraps the system calls of a checkpoint write (tests/test_faults.c
# injects failures through them); the library itself is linked unchanged.
WRAPS := -Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=close,--wrap=rename
$(TESTBIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $(WRAPS) $^ $(LDLIBS) -o $@

test: charrnn $(TESTBIN)
	CHARRNN_BIN=./charrnn OMP_NUM_THREADS=1 ./$(TESTBIN)

# The speed benchmark against PyTorch (needs Debian's python3-torch); see bench/run.
$(BUILD)/gemm_rate: bench/gemm_rate.c
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) $< $(LDFLAGS) $(LDLIBS) -o $@

bench: charrnn $(BUILD)/gemm_rate
	/usr/bin/python3 bench/run --gemm-rate $(BUILD)/gemm_rate

clean:
	rm -rf build charrnn
