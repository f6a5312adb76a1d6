/* test_cli.h: what the end-to-end tests of the `charrnn` command line share (tests/test_cli_common.c);
 * the tests themselves, by command: test_cli_errors.c (bad input), test_cli_train.c, test_cli_sample.c,
 * test_cli_eval.c. */
#ifndef CHARRNN_TEST_CLI_H
#define CHARRNN_TEST_CLI_H

#include <stddef.h>
#include <stdint.h>

int file_exists(const char *path);
int write_str(const char *path, const char *s);
/* The first stderr line holding "error:" (malloc'd, "" if none), and how many there are. */
char *error_line(const char *err, int *count);
/* Expects a clean failure: exit status 1..127, no crash, exactly one line
 * "charrnn: error: ..." holding every needle (NULL-terminated). */
void expect_error_at(const char *file, int line, const char *what, int rc, const char *err, const char *const *needles);
#define EXPECT_ERROR(what, rc, err, ...) \
    expect_error_at(__FILE__, __LINE__, (what), (rc), (err), (const char *const[]){__VA_ARGS__, NULL})
/* The number after the last occurrence of key in s, or NAN. */
double last_number_after(const char *s, const char *key);
/* A deterministic generator for corpora and random bytes (PCG-like LCG); set lcg_state to seed it. */
extern uint64_t lcg_state;
uint32_t lcg(void);
/* Strict UTF-8 decoding (independent of the library's): the length of the sequence at s (n bytes left),
 * 0 if invalid; and all of s into cps (cap entries): the count, or -1 if invalid. */
int u8dec(const unsigned char *s, size_t n, uint32_t *cp);
long u8_all(const char *s, size_t len, uint32_t *cps, long cap);
/* Distinct values of cps[0..n). */
int count_distinct(const uint32_t *cps, long n);

/* cat.txt: lines "SUBJ VERB OBJ\n", each part drawn uniformly, until >= 20000 bytes (its text, length,
 * vocabulary and the entropy rate of the process that made it, in nats per character, once written). */
extern char cat_text[21000];
extern size_t cat_len;
extern int cat_vocab;
extern double cat_entropy_floor;
const char *cat_corpus(void);
/* The first 2100 bytes of cat.txt. */
const char *cat2k_corpus(void);
/* zh.txt: six lines of Chinese verse (ZH_LINES) in random order, ~6000 code points. */
#define NZH 6
extern const char *const ZH_LINES[NZH];
extern char zh_text[24000];
extern size_t zh_len;
const char *zh_corpus(void);
/* A small trained LSTM (1 x 32, 150 iterations on cat.txt, float32); NULL if training failed. */
const char *small_model(void);

#endif
