/* mapped.h: the table of mapped corpora that charrnn_corpus_fault (charrnn.h)
 * reads from the command's SIGBUS handler: a mapped file another program
 * truncates gets zero pages where the lost ones were, and a mark that
 * corpus_check (tokcache.h) reports. */
#ifndef CHARRNN_MAPPED_H
#define CHARRNN_MAPPED_H

#include <stddef.h>

/* Enters the mapping [addr, addr + len): its slot, or -1 when more corpora are
 * mapped at once than the table holds (a fault there then ends the process). */
int mapped_register(void *addr, size_t len);
/* Takes the slot's entry out (slot -1: nothing). */
void mapped_unregister(int slot);
/* Whether a fault in the slot's mapping was turned into zero pages. */
int mapped_faulted(int slot);

#endif
