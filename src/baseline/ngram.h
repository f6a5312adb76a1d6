/* ngram.h: the n-gram baseline behind charrnn_ngram (public API in charrnn.h):
 * an interpolated modified Kneser-Ney character model (Chen & Goodman 1998)
 * counted on the training block of a corpus. No network, no gradients: counts
 * in sorted arrays, probabilities from them, a safetensors file to keep them.
 *
 * The counts live in one trie read right to left: a node is a string of 1 to
 * n characters, reached from the root by its LAST character, then the one
 * before it, and so on. The children of the node for g are the strings vg, so
 * g's continuation count N1+(.g) (the distinct characters seen before g) is its
 * number of children: Kneser-Ney's lower orders come for free. Nodes are
 * stored level by level (all strings of length 1, then 2, ...), each level in
 * sorted order, so the children of a node are contiguous and sorted by
 * character: one array of first-child indices, found by binary search. */
#ifndef CHARRNN_NGRAM_H
#define CHARRNN_NGRAM_H

#include "charrnn.h"

#define NGRAM_FORMAT "charrnn-ngram"   /* the "format" metadata of an n-gram file */
#define NGRAM_FORMAT_VERSION 1

#endif
