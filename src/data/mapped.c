/* mapped.c: the table of mapped corpora (mapped.h). A signal handler reads it:
 * entries are filled before they are marked used, and the handler only reads
 * them, and calls mmap, a plain system call. */
#include "mapped.h"
#include "charrnn.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MAPS 16
static struct {
    void *volatile addr;
    volatile size_t len;
    volatile sig_atomic_t used, faulted;
} maps[MAX_MAPS];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static long page_size;

int mapped_register(void *addr, size_t len) {
    pthread_mutex_lock(&maps_lock);
    if (!page_size) page_size = sysconf(_SC_PAGESIZE);
    int slot = -1;
    for (int i = 0; i < MAX_MAPS && slot < 0; i++)
        if (!maps[i].used) slot = i;
    if (slot >= 0) {
        maps[slot].addr = addr;
        maps[slot].len = len;
        maps[slot].faulted = 0;
        __atomic_store_n(&maps[slot].used, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&maps_lock);
    return slot;
}

void mapped_unregister(int slot) {
    if (slot < 0) return;
    pthread_mutex_lock(&maps_lock);
    __atomic_store_n(&maps[slot].used, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&maps_lock);
}

int mapped_faulted(int slot) { return slot >= 0 && maps[slot].faulted; }

/* Async-signal-safe: reads the table and calls mmap, a plain system call. */
int charrnn_corpus_fault(void *addr) {
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < MAX_MAPS; i++) {
        if (!__atomic_load_n(&maps[i].used, __ATOMIC_ACQUIRE)) continue;
        uintptr_t lo = (uintptr_t)maps[i].addr;
        if (a < lo || a >= lo + maps[i].len) continue;
        void *page = (void *)(a & ~((uintptr_t)page_size - 1));
        if (mmap(page, (size_t)page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) return 0;
        maps[i].faulted = 1;
        return 1;
    }
    return 0;
}
