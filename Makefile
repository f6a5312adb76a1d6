# charrnn: `make` builds the CLI and the libraries, `make test` runs every test.
# `make test SANITIZE=1` builds everything with AddressSanitizer + UBSan first.
# `make PORTABLE=1` builds for any x86-64 (packagers), the hot kernels chosen at
# run time. `make MPI=1` builds build/mpi/charrnn for mpirun (OpenMPI). `make CUDA=1` builds build/cuda with
# the CUDA backend (src/backend/cuda; nvcc, cudart and cuBLAS from CUDA_HOME). `make install PREFIX=/usr/local DESTDIR=...` and `make uninstall`.

CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT) -fno-math-errno -g
# src/ is in floors, from the helpers up to the runs (README, "The house"); each is on the include path
SRC_DIRS := base data backend nn run baseline
CPPFLAGS += -D_GNU_SOURCE -Iinclude $(SRC_DIRS:%=-Isrc/%)
SRC_H    := $(foreach d,$(SRC_DIRS),$(wildcard src/$(d)/*.h))
# a function used without its declaration is an error, never a truncated pointer at run time
WFLAGS  := -std=c17 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror=implicit-function-declaration
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

VERSION := $(shell sed -n 's/^\#define CHARRNN_VERSION "\(.*\)"/\1/p' include/charrnn.h)
SOMAJOR := 0
# The library's objects are position-independent (for libcharrnn.so) and hide
# every symbol but the public charrnn_* ones (CHARRNN_API in charrnn.h).
LIBFLAGS := -fPIC -fvisibility=hidden

ifeq ($(SANITIZE),1)
  BUILD   := build/sanitize
  CFLAGS  := -O1 -g -march=native -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(VALGRIND),1)
  # valgrind does not decode AVX-512: an AVX2 build for memcheck runs
  BUILD   := build/valgrind
  CFLAGS  := -O1 -g -march=x86-64-v3 -fno-math-errno
else ifeq ($(MPI),1)
  # data-parallel training over MPI ranks (OpenMPI: libopenmpi-dev): mpirun -np P charrnn train ...
  BUILD   := build/mpi
  CC      := mpicc
  CPPFLAGS += -DCHARRNN_MPI
else ifeq ($(CUDA),1)
  # the CUDA backend beside the CPU's: its C table with the library, its kernels through nvcc (sm_90 and PTX)
  BUILD   := build/cuda
  CPPFLAGS += -DCHARRNN_CUDA
  SRC_DIRS += backend/cuda
  # often built on one machine and run on the GPU's host: any x86-64 with AVX-512 unless OPT says otherwise
  ifeq ($(origin OPT),file)
    OPT := -O3 -march=x86-64-v4 -mtune=generic
  endif
  CUDA_HOME ?= /usr/local/cuda
  NVCC    ?= $(CUDA_HOME)/bin/nvcc
  NVCCFLAGS ?= -O2 -g -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
  # WERROR=1 (test.sh): every warning an error, the C code's and nvcc's with its host compiler's
  ifeq ($(WERROR),1)
    WFLAGS += -Werror
    NVCC_WERROR := -Werror all-warnings -Xcompiler -Werror
  endif
  LDLIBS  += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
else ifeq ($(PORTABLE),1)
  BUILD   := build/portable
  CFLAGS  := -O3 -march=x86-64 -mtune=generic -fno-math-errno -g
  CPPFLAGS += -DCHARRNN_PORTABLE
else
  BUILD   := build/release
endif

LIB_SRC  := $(filter-out src/backend/cells_dispatch.c,$(foreach d,$(SRC_DIRS),$(wildcard src/$(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/src/%.o)
ifeq ($(CUDA),1)
  CU_SRC  := $(wildcard src/backend/cuda/*.cu)
  LIB_OBJ += $(CU_SRC:src/%.cu=$(BUILD)/src/%.o)
endif
ifeq ($(PORTABLE),1)
  # cells.c once per instruction-set level, and the dispatcher that picks one
  LIB_OBJ := $(filter-out $(BUILD)/src/backend/cells.o,$(LIB_OBJ)) $(BUILD)/src/backend/cells_v1.o $(BUILD)/src/backend/cells_v3.o \
             $(BUILD)/src/backend/cells_v4.o $(BUILD)/src/backend/cells_dispatch.o
endif
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:cli/%.c=$(BUILD)/cli/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%.o)
# The helpers the command shares with the library (JSON, files written whole, escaping, UTF-8): a small
# base layer it links by name (cli/ otherwise calls only the public charrnn_* functions; tests/test_layers.c
# checks it). Built here, never installed.
BASE_OBJ := $(addprefix $(BUILD)/src/base/,common.o utf8.o files.o json.o)
BASE     := $(BUILD)/libcharrnn_base.a
# libcharrnn.a is the installed archive: every symbol but the public charrnn_* ones made local (as the
# shared library hides them), so none can collide with a name in the user's program. The command and
# the tests link the internal archive, the same objects as they are (the tests call internal functions).
LIB      := $(BUILD)/libcharrnn.a
INTLIB   := $(BUILD)/libcharrnn_internal.a
SOLIB    := $(BUILD)/libcharrnn.so.$(VERSION)
# the command linked against the shared library (the base layer beside it): proof that cli/ needs no
# more than the public face; `make test` builds it and tests/test_layers.c runs it
SHBIN    := $(BUILD)/charrnn-shared
BIN      := $(BUILD)/charrnn
TESTBIN  := $(BUILD)/run_tests
CORPUS   := $(BUILD)/default_corpus.txt

.PHONY: all test clean charrnn bench fuzz install uninstall lib FORCE
all: charrnn lib
lib: $(LIB) $(SOLIB)

# Every object depends on the configuration it was built with (scripts/build-config.sh: the compiler,
# the flags, the libraries, which cblas.h), rewritten only when it changes, so a build made another way
# is rebuilt, never relinked; a missing OpenBLAS stops the build first, with one line saying what to install.
CONFIG := $(BUILD)/config.txt
$(CONFIG): FORCE
	@CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' FLAGS='$(WFLAGS) $(CFLAGS) $(LIBFLAGS) $(OMPFLAGS) $(FAST_CFLAGS)' \
	    NVCC='$(NVCC)' NVCCFLAGS='$(NVCCFLAGS) $(NVCC_WERROR)' \
	    LIBS='$(LDFLAGS) $(LDLIBS)' sh scripts/build-config.sh $@
$(LIB_OBJ) $(CLI_OBJ) $(TEST_OBJ) $(BUILD)/cli/default_corpus.o: $(CONFIG)

# ./charrnn always points at the last build (release or sanitized).
charrnn: $(BIN)
	ln -sf $(BIN) charrnn

$(BUILD)/src/%.o: src/%.c $(SRC_H) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(LIBFLAGS) $(OMPFLAGS) -c $< -o $@

# CUDA sources: C++17 through nvcc, warnings as the C code's, position-independent and hidden like the library's
$(BUILD)/src/%.o: src/%.cu $(SRC_H) include/charrnn.h
	@mkdir -p $(dir $@)
	$(NVCC) $(filter-out -D_GNU_SOURCE,$(CPPFLAGS)) -std=c++17 $(NVCCFLAGS) $(NVCC_WERROR) -Xcompiler -Wall,-Wextra,-Wno-unused-parameter,-fPIC,-fvisibility=hidden \
	    -c $< -o $@

ifeq ($(CUDA),1)
# the GPUs in words (cuda_info.c): plain C over the CUDA runtime's and cuBLAS's C headers
$(BUILD)/src/backend/cuda/cuda_info.o: private CPPFLAGS += -isystem $(CUDA_HOME)/include
endif

# The cells' elementwise math is the hot loop: vectorised transcendentals need
# -O3 and relaxed math, but NaN/Inf must stay detectable (-fno-finite-math-only).
FAST_CFLAGS := -O3 -ffast-math -fno-finite-math-only -mprefer-vector-width=512
$(BUILD)/src/backend/cells.o: src/backend/cells.c src/backend/cells.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(FAST_CFLAGS) $(LIBFLAGS) $(OMPFLAGS) -c $< -o $@
$(BUILD)/src/backend/cells_v%.o: src/backend/cells.c src/backend/cells.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(FAST_CFLAGS) $(LIBFLAGS) $(OMPFLAGS) -DCELLS_VARIANT=v$* \
	    $(if $(filter 1,$*),-march=x86-64,-march=x86-64-v$*) -c $< -o $@
ifeq ($(PORTABLE),1)
# the half-precision kernel is compiled for AVX-512 and used only where the processor has it
$(BUILD)/src/backend/half.o: src/backend/half.c src/backend/half.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -mavx512f -mavx512bw -mavx512vl -mf16c $(LIBFLAGS) $(OMPFLAGS) -c $< -o $@
endif

# A compressed file records the flags that decide its float results (all but -g and
# warnings), so that another build's file is named as such, not taken for a damaged one.
# private: not passed on to $(CONFIG), which would otherwise differ with the object that asks first.
$(BUILD)/src/run/compress.o: private CPPFLAGS += -DCHARRNN_CFLAGS='"$(filter-out -g% -W%,$(CFLAGS)) (cells: $(FAST_CFLAGS))"'

# the command sees the public header and the base layer's, no other floor
CLI_CPPFLAGS := $(filter-out $(SRC_DIRS:%=-Isrc/%),$(CPPFLAGS)) -Isrc/base
$(BUILD)/cli/%.o: cli/%.c $(wildcard cli/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CLI_CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

# The built-in default corpus: the project's own C sources, embedded with .incbin
# (the pages' CSS and JavaScript live in cli/pages/, not in it).
CORPUS_SRC := include/charrnn.h $(sort $(SRC_H)) $(sort $(LIB_SRC)) $(sort $(CLI_SRC))
$(CORPUS): $(CORPUS_SRC)
	@mkdir -p $(dir $@)
	cat $(CORPUS_SRC) > $@
$(BUILD)/cli/default_corpus.o: cli/default_corpus.c $(CORPUS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) -DCORPUS_FILE='"$(CORPUS)"' -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(wildcard tests/*.h) $(SRC_H) include/charrnn.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(WFLAGS) $(CFLAGS) $(OMPFLAGS) -c $< -o $@

# the pages' CSS and JavaScript, embedded by the page writers (.incbin)
PAGES := $(wildcard cli/pages/*)
$(BUILD)/cli/viz_html.o $(BUILD)/cli/viz_play.o $(BUILD)/cli/serve_http.o: $(PAGES)
# test_viz.c includes the page writers and property extractors it tests, test_hard_options.c the option parser
$(BUILD)/tests/test_viz.o: cli/viz_props.c cli/viz_html.c cli/viz.h $(PAGES)
$(BUILD)/tests/test_hard_options.o: cli/options.c cli/options.h

$(INTLIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BASE): $(BASE_OBJ)
	rm -f $@ && ar rcs $@ $^

# one relocatable object of the whole library, its hidden (non-charrnn_*) symbols made local
# (remade when the Makefile changes: an archive of an older recipe may hold every symbol global)
$(LIB): $(LIB_OBJ) Makefile
	rm -f $@ $(BUILD)/libcharrnn.o
	$(LD) -r $(LIB_OBJ) -o $(BUILD)/libcharrnn.o
	objcopy --localize-hidden $(BUILD)/libcharrnn.o
	ar rcs $@ $(BUILD)/libcharrnn.o

# libcharrnn.so.VERSION with soname libcharrnn.so.0; it links OpenBLAS and libgomp itself
$(SOLIB): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libcharrnn.so.$(SOMAJOR) -Wl,--no-undefined $(OMPFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
	ln -sf libcharrnn.so.$(VERSION) $(BUILD)/libcharrnn.so.$(SOMAJOR)
	ln -sf libcharrnn.so.$(SOMAJOR) $(BUILD)/libcharrnn.so

# `charrnn serve` is built on GNU libmicrohttpd (libmicrohttpd-dev): the command links it, the library never does.
HTTPD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
# The command links the static library: one self-contained binary.
$(BIN): $(CLI_OBJ) $(BASE) $(INTLIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $^ $(LDLIBS) $(HTTPD_LIBS) -lpthread -o $@
$(SHBIN): $(CLI_OBJ) $(BASE) $(SOLIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $(CLI_OBJ) $(BASE) $(SOLIB) -Wl,-rpath,'$$ORIGIN' $(LDLIBS) $(HTTPD_LIBS) -lpthread -o $@

# The test binary wraps the system calls of a checkpoint write (tests/test_faults.c
# injects failures through them) and read() (tests/test_hard_limits.c: a corpus that
# changes while it is read); the library itself is linked unchanged.
WRAPS := -Wl,--wrap=open,--wrap=write,--wrap=fsync,--wrap=close,--wrap=rename,--wrap=read
$(TESTBIN): $(TEST_OBJ) $(INTLIB)
	$(CC) $(CFLAGS) $(OMPFLAGS) $(LDFLAGS) $(WRAPS) $^ $(LDLIBS) -o $@

test: charrnn $(TESTBIN) $(LIB) $(SHBIN)
	CHARRNN_BIN=./charrnn CHARRNN_BUILD=$(BUILD) OMP_NUM_THREADS=1 ./$(TESTBIN)

# ---- install, as a Debian package would lay it out --------------------------------------
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
COMPLDIR   ?= $(PREFIX)/share/bash-completion/completions
PCDIR      ?= $(LIBDIR)/pkgconfig
# The Python binding goes where Debian's python3 looks: /usr/lib/python3/dist-packages for PREFIX=/usr
# (the packages' folder), else PREFIX/lib/python3.N/dist-packages, N that of /usr/bin/python3 (for
# /usr/local, on its path); another prefix needs PYTHONPATH set to it. Evaluated only when installing.
PYTHON3    ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYVER       = $(shell $(PYTHON3) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHONDIR  ?= $(if $(filter /usr,$(PREFIX))$(if $(PYVER),,none),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)
INSTALLED  := $(BINDIR)/charrnn $(LIBDIR)/libcharrnn.a $(LIBDIR)/libcharrnn.so.$(VERSION) \
              $(LIBDIR)/libcharrnn.so.$(SOMAJOR) $(LIBDIR)/libcharrnn.so $(INCLUDEDIR)/charrnn.h \
              $(PCDIR)/charrnn.pc $(MANDIR)/man1/charrnn.1 $(COMPLDIR)/charrnn

# charrnn.pc is written for the PREFIX of this install, every time
install: $(BIN) $(LIB) $(SOLIB) charrnn.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|g' charrnn.pc.in > $(BUILD)/charrnn.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(COMPLDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/charrnn
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libcharrnn.a
	install -m 755 $(SOLIB) $(DESTDIR)$(LIBDIR)/libcharrnn.so.$(VERSION)
	ln -sf libcharrnn.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcharrnn.so.$(SOMAJOR)
	ln -sf libcharrnn.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libcharrnn.so
	install -m 644 include/charrnn.h $(DESTDIR)$(INCLUDEDIR)/charrnn.h
	install -m 644 $(BUILD)/charrnn.pc $(DESTDIR)$(PCDIR)/charrnn.pc
	install -m 644 man/charrnn.1 $(DESTDIR)$(MANDIR)/man1/charrnn.1
	install -m 644 completions/charrnn $(DESTDIR)$(COMPLDIR)/charrnn
	@# the module looks for the library it was installed with first (no ldconfig needed)
	install -d $(DESTDIR)$(PYTHONDIR)
	sed 's|^_INSTALLED_LIBRARY = None |_INSTALLED_LIBRARY = "$(LIBDIR)/libcharrnn.so.$(SOMAJOR)" |' python/charrnn.py \
	    > $(DESTDIR)$(PYTHONDIR)/charrnn.py
	chmod 644 $(DESTDIR)$(PYTHONDIR)/charrnn.py

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED)) $(DESTDIR)$(PYTHONDIR)/charrnn.py $(DESTDIR)$(PYTHONDIR)/__pycache__/charrnn.*.pyc
	-rmdir -p $(DESTDIR)$(PYTHONDIR)/__pycache__ $(DESTDIR)$(PYTHONDIR) $(addprefix $(DESTDIR),$(sort $(dir $(INSTALLED)))) 2>/dev/null; true

# The speed benchmark against PyTorch (needs Debian's python3-torch); see bench/run.
$(BUILD)/gemm_rate: bench/gemm_rate.c $(BUILD)/src/backend/bf16.o
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) $^ $(LDFLAGS) $(LDLIBS) -o $@

# The batched sampling step alone, through the public library (what serve's batching can buy).
$(BUILD)/step_rate: bench/step_rate.c $(LIB)
	$(CC) $(CPPFLAGS) $(WFLAGS) $(CFLAGS) $(OMPFLAGS) $^ $(LDFLAGS) $(LDLIBS) -o $@

bench: charrnn $(BUILD)/gemm_rate
	/usr/bin/python3 bench/run --gemm-rate $(BUILD)/gemm_rate

# libFuzzer targets (clang): the checkpoint loader, the UTF-8 decoder and
# vocabulary builder, the option parser, resuming from edited checkpoint metadata,
# the n-gram model loader (whole files, and edited re-checksummed tables).
# `make fuzz FUZZ_SECONDS=600` runs each for that long from the seeds in
# fuzz/seeds (copied: the seeds stay as they are). FUZZ_SEED fixes libFuzzer's
# random choices so that a run explores the same inputs each time (a CI run
# finds what it found before, a longer run goes further); FUZZ_SEED=0 draws one.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SEED    ?= 1
FUZZ_BUILD   := build/fuzz
FUZZ_CFLAGS  := -g -O1 -Wno-pass-failed -Werror=implicit-function-declaration -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fopenmp-simd
FUZZ_OBJ     := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/src/%.o) $(FUZZ_BUILD)/cli/options.o
FUZZ_TARGETS := checkpoint utf8 options resume ngram request
$(FUZZ_BUILD)/%.o: %.c $(SRC_H) $(wildcard cli/*.h) include/charrnn.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Icli $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) -Icli $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(BLAS_LIBS) -lm -o $@
# the server's request parser (cli/serve_request.c, no HTTP in it)
$(FUZZ_BUILD)/fuzz_request: $(FUZZ_BUILD)/cli/serve_request.o
# resuming from edited checkpoints edits them as the tests do
$(FUZZ_BUILD)/fuzz_resume: $(FUZZ_BUILD)/tests/ckpt_edit.o
FUZZ_CONFIG := $(FUZZ_BUILD)/config.txt
$(FUZZ_CONFIG): FORCE
	@CC='$(FUZZ_CC)' CPPFLAGS='$(CPPFLAGS) -Icli' FLAGS='$(FUZZ_CFLAGS)' LIBS='$(BLAS_LIBS) -lm' sh scripts/build-config.sh $@
$(FUZZ_OBJ): $(FUZZ_CONFIG)
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus-$$t && cp fuzz/seeds/$$t/* $(FUZZ_BUILD)/corpus-$$t/ && \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s ==" && \
	    if $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -seed=$(FUZZ_SEED) -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
	        -print_final_stats=1 $(FUZZ_BUILD)/corpus-$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	        grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units)" $(FUZZ_BUILD)/fuzz_$$t.log; \
	    else tail -n 40 $(FUZZ_BUILD)/fuzz_$$t.log; echo "fuzz_$$t FAILED (log: $(FUZZ_BUILD)/fuzz_$$t.log)"; exit 1; fi; \
	done

clean:
	rm -rf build charrnn
