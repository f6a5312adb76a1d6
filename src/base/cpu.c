/* cpu.c: what this processor offers charrnn, in one line for `charrnn info` and
 * the logs: its name (CPUID's brand string), the threads, OpenBLAS's kernels,
 * AVX512-BF16 with the rate of its dot products, and AMX where the processor has
 * it and the Linux kernel lets a process use its tile registers. */
#include "bf16.h"
#include "charrnn.h"
#include "threads.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static void brand(char *out, size_t n) {
    snprintf(out, n, "unknown processor");
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned r[12];
    if (__get_cpuid_max(0x80000000u, NULL) < 0x80000004u) return;
    for (unsigned i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    const char *p = s;
    while (*p == ' ') p++;
    size_t len = strlen(p);
    while (len && p[len - 1] == ' ') len--;
    if (len) snprintf(out, n, "%.*s", (int)len, p);
#endif
}

/* 0: no AMX; 1: the processor has AMX-BF16 but the kernel does not offer its
 * state to processes; 2: usable. */
static int amx(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((d >> 24) & 1) || !((d >> 22) & 1)) return 0; /* AMX-TILE, AMX-BF16 */
#if defined(__linux__) && defined(SYS_arch_prctl)
    unsigned long features = 0; /* ARCH_GET_XCOMP_SUPP: the extended states the kernel supports */
    if (syscall(SYS_arch_prctl, 0x1021, &features) == 0 && ((features >> 18) & 1)) return 2; /* XTILEDATA */
#endif
    return 1;
#else
    return 0;
#endif
}

const char *charrnn_processor_info(void) {
    static char line[448];
    char name[64], bf16[96];
    brand(name, sizeof name);
    if (bf16_supported())
        snprintf(bf16, sizeof bf16, "AVX512-BF16 yes (dot products at %.2fx float32's multiply-add rate)", bf16_speedup());
    else
        snprintf(bf16, sizeof bf16, "AVX512-BF16 no");
    const int x = amx();
    const char *core = openblas_get_corename();
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    char origin[128];
    const int n = charrnn_get_threads();
    snprintf(line, sizeof line, "%s; %d thread%s (%s); OpenBLAS %s kernels; %s; AMX %s", name, n, n == 1 ? "" : "s",
             threads_origin(origin, sizeof origin), core ? core : "unknown", bf16,
             x == 2 ? "yes (not used by charrnn yet)" : x == 1 ? "present, not enabled by this kernel" : "no");
    pthread_mutex_unlock(&lock);
    return line;
}
