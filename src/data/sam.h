/* sam.h: the suffix automaton of a string of symbols, and that string's matching
 * statistics against a text streamed through it: for every position i of the
 * string, the length of the longest substring starting at i that occurs
 * anywhere in the text. Exact, linear in both lengths; memory grows with the
 * string only (100 to 150 bytes a symbol), the text is never held. Used by
 * `charrnn novelty` (a short sample against a long training text), and public as
 * charrnn_novelty_* (charrnn.h), whose handle is this automaton. Nothing here
 * prints or exits. */
#ifndef CHARRNN_SAM_H
#define CHARRNN_SAM_H

#include "charrnn.h"

#include <stddef.h>
#include <stdint.h>

typedef struct charrnn_novelty sam;

/* The longest string sam_build accepts (2^28 symbols). */
#define SAM_MAX_LENGTH CHARRNN_NOVELTY_MAX_LENGTH

/* The automaton of s[0..n), 1 <= n <= SAM_MAX_LENGTH; symbols are any uint32
 * values. NULL when n is out of range or memory runs out. */
sam *sam_build(const uint32_t *s, size_t n);
void sam_free(sam *a);

/* Streams the next k symbols of the text through the automaton (call it as
 * often as needed: a text is the concatenation of what was fed). */
void sam_feed(sam *a, const uint32_t *text, size_t k);

/* After feeding: ms[i] for every position i of the string (n entries), the
 * longest ms[i] such that s[i..i+ms[i]) occurs in the text. Returns 0, or -1
 * when memory runs out. */
int sam_matching_statistics(const sam *a, size_t *ms);

/* The longest substring of the string that occurs in the text (the largest
 * ms[i]): its length, where its first occurrence in the string starts, and where
 * its first occurrence in the text starts (positions in symbols). All 0 when no
 * symbol of the string occurs in the text. */
void sam_longest(const sam *a, size_t *len, size_t *s_start, size_t *text_start);

#endif
