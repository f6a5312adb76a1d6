/* default_corpus.c: the built-in training text, the project's own C sources,
 * embedded at build time (the Makefile concatenates them into CORPUS_FILE) so
 * that `charrnn train` with no file learns to write code in the project's style. */
#include <stddef.h>

#ifndef CORPUS_FILE
#error "build with -DCORPUS_FILE=\"path\" (the Makefile does)"
#endif

__asm__(".section .rodata\n"
        ".global charrnn_default_corpus\n"
        ".type charrnn_default_corpus, @object\n"
        ".balign 16\n"
        "charrnn_default_corpus:\n"
        ".incbin \"" CORPUS_FILE "\"\n"
        ".global charrnn_default_corpus_end\n"
        "charrnn_default_corpus_end:\n"
        ".byte 0\n"
        ".previous\n");
