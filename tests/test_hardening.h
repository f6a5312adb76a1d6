/* test_hardening.h: what the break-it tests share (defined in tests/test_hardening.c); the tests by
 * theme: test_hardening.c (files and checkpoints), test_hard_options.c (options and messages),
 * test_hard_limits.c (numbers and limits). */
#ifndef CHARRNN_TEST_HARDENING_H
#define CHARRNN_TEST_HARDENING_H

/* Whether p exists, a dangling symbolic link included (lstat). */
int hard_exists(const char *p);
/* A small corpus of cats and dogs on mats and logs, made once. */
const char *hcorpus(void);
/* A tiny trained model (its latest.safetensors), trained once. */
const char *hmodel(void);
/* dst: src with one field of one metadata object (key) replaced by repl (a JSON value), the checksum
 * recomputed; checks that it worked, returns 0 or -1. */
int hard_edit_checkpoint(const char *src, const char *dst, const char *key, const char *field, const char *repl);

#endif
