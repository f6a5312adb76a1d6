/* test_cli_errors.c: bad input to every command, run as a separate process (t_run): a non-zero exit,
 * no crash, and one "charrnn: error:" line that says what is wrong and what to do: missing, empty,
 * too small, invalid UTF-8 and NUL-holding corpora, bad numbers, unknown options and commands (with
 * the nearest suggested), checkpoints that are not one or are damaged, a resume on another corpus. */
#include "test.h"
#include "test_cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- 1. bad input ----------------------------------------------------------------------- */

static void test_missing_file(void) {
    char *err;
    const char *p = t_path("no-such-file.txt");
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_missing"));
    EXPECT_ERROR("missing file", rc, err, p, "No such file");
    CHECKF(!file_exists(t_path("cv_missing")), "a failed run created its checkpoint directory");
    free(err);
}

static void test_directory_input(void) {
    const char *d = t_path("a_directory");
    mkdir(d, 0755);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", d, t_path("cv_dir"));
    EXPECT_ERROR("directory as corpus", rc, err, d, "directory");
    free(err);
}

static void test_empty_file(void) {
    const char *p = t_path("empty.txt");
    t_write_file(p, "", 0);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_empty"));
    EXPECT_ERROR("empty corpus", rc, err, p, "empty");
    free(err);
}

/* The message states the minimum size, and the size it states is exact: one
 * character less fails, that size trains; the suggested --batch-size works. */
static void test_too_small(void) {
    cat_corpus();
    const char *p = t_path("small300.txt");
    t_write_file(p, cat_text, 300);
    char *err;
    /* defaults: batch 50 x seq 50, train-frac 0.95: needs 2501 training characters,
     * a file of ceil(2501 / 0.95) = 2633; 285 training characters allow batch <= 5 */
    int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s'", p, t_path("cv_small"));
    EXPECT_ERROR("corpus too small", rc, err, p, "300 characters", "--batch-size 50", "--seq-length 50",
                 "at least 2633 characters", "smaller --batch-size", "at most 5");
    free(err);

    rc = t_cli(NULL, &err, "train '%s' --batch-size 5 --rnn-size 8 --num-layers 1 --max-iters 2 --checkpoint-dir '%s'",
             p, t_path("cv_small5"));
    CHECKF(rc == 0, "the suggested --batch-size 5 should train: exit %d: %s", rc, err);
    free(err);

    const char *p1 = t_path("small2632.txt"), *p2 = t_path("small2633.txt");
    t_write_file(p1, cat_text, 2632);
    t_write_file(p2, cat_text, 2633);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --max-iters 1 --checkpoint-dir '%s'", p1,
             t_path("cv_2632"));
    EXPECT_ERROR("2632 characters (one below the stated minimum)", rc, err, "at least 2633 characters");
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --max-iters 1 --checkpoint-dir '%s'", p2,
             t_path("cv_2633"));
    CHECKF(rc == 0, "a file of the stated minimum (2633 characters) should train: exit %d: %s", rc, err);
    free(err);
}

static void test_nul_in_codepoint_mode(void) {
    char buf[600];
    memcpy(buf, "hello", 5);
    buf[5] = 0;
    cat_corpus();
    memcpy(buf + 6, cat_text, sizeof buf - 6);
    const char *p = t_path("nul.txt");
    t_write_file(p, buf, sizeof buf);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --batch-size 2 --seq-length 10 --checkpoint-dir '%s'", p, t_path("cv_nul"));
    EXPECT_ERROR("NUL byte", rc, err, p, "NUL", "offset 5", "--unit byte");
    free(err);
    /* byte mode takes any bytes */
    rc = t_cli(NULL, &err, "train '%s' --unit byte --batch-size 2 --seq-length 10 --rnn-size 8 --num-layers 1 "
             "--max-iters 2 --checkpoint-dir '%s'", p, t_path("cv_nul_byte"));
    CHECKF(rc == 0, "--unit byte should train on a file with NUL bytes: exit %d: %s", rc, err);
    free(err);
}

static void test_invalid_utf8(void) {
    static const struct { const char *bad; size_t badlen; const char *byte; } cases[] = {
        {"\xff", 1, "0xFF"},             /* never valid */
        {"\xc0\x80", 2, "0xC0"},         /* overlong NUL */
        {"\xed\xa0\x80", 3, "0xED"},     /* surrogate U+D800 */
        {"\x80", 1, "0x80"},             /* stray continuation byte */
        {"\xe5\xba", 2, "0xE5"},         /* 床 cut short (followed by ASCII) */
        {"\xf4\x90\x80\x80", 4, "0xF4"}, /* above U+10FFFF */
    };
    cat_corpus();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[700];
        memcpy(buf, cat_text, 300);
        memcpy(buf + 300, cases[i].bad, cases[i].badlen);
        memcpy(buf + 300 + cases[i].badlen, cat_text + 300, 300);
        size_t n = 600 + cases[i].badlen;
        char name[64];
        snprintf(name, sizeof name, "bad_utf8_%zu.txt", i);
        const char *p = t_path(name);
        t_write_file(p, buf, n);
        char *err, what[64];
        snprintf(what, sizeof what, "invalid UTF-8 case %zu", i);
        int rc = t_cli(NULL, &err, "train '%s' --batch-size 2 --seq-length 10 --checkpoint-dir '%s'", p,
                     t_path("cv_bad_utf8"));
        EXPECT_ERROR(what, rc, err, p, "not valid UTF-8", "byte offset 300", cases[i].byte, "--unit byte");
        free(err);
    }
    /* the suggested --unit byte trains, and the checkpoint says bytes */
    const char *p = t_path("bad_utf8_0.txt"), *dir = t_path("cv_utf8_byte");
    char *err, *out;
    int rc = t_cli(NULL, &err, "train '%s' --unit byte --batch-size 2 --seq-length 10 --rnn-size 8 --num-layers 1 "
                 "--max-iters 3 --checkpoint-dir '%s'", p, dir);
    CHECKF(rc == 0, "--unit byte should train on invalid UTF-8: exit %d: %s", rc, err);
    free(err);
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
    CHECKF(rc == 0 && strstr(out, "bytes"), "info of the byte-mode model: exit %d: %s %s", rc, out, err);
    free(out);
    free(err);
}

static void test_bad_numeric_options(void) {
    static const struct { const char *args; const char *n1, *n2; } cases[] = {
        {"--num-layers 0", "--num-layers 0", "out of range"},
        {"--num-layers 1000", "--num-layers 1000", "out of range"},
        {"--rnn-size -5", "--rnn-size -5", "out of range"},
        {"--rnn-size 0", "--rnn-size 0", "out of range"},
        {"--rnn-size 99999999999", "--rnn-size", "too large: the most it can hold is 2147483647"},
        {"--learning-rate 0", "--learning-rate 0", "out of range"},
        {"--learning-rate -1", "--learning-rate -1", "out of range"},
        {"--batch-size 0", "--batch-size 0", "out of range"},
        {"--batch-size -3", "--batch-size -3", "out of range"},
        {"--seq-length -1", "--seq-length -1", "out of range"},
        {"--seq-length 0", "--seq-length 0", "out of range"},
        {"--train-frac 0.9 --val-frac 0.2", "--train-frac 0.9", "--val-frac 0.2"},
        {"--train-frac 0", "--train-frac 0", "out of range"},
        {"--train-frac 1.5", "--train-frac 1.5", "out of range"},
        {"--val-frac -0.1", "--val-frac -0.1", "out of range"},
        {"--dropout 1.5", "--dropout 1.5", "out of range"},
        {"--dropout 1", "--dropout 1", "out of range"},
        {"--dropout -0.1", "--dropout -0.1", "out of range"},
        {"--grad-clip -1", "--grad-clip -1", "out of range"},
        {"--max-iters -1", "--max-iters -1", "out of range"},
        {"--max-epochs 0", "--max-epochs 0", "out of range"},
        {"--eval-val-every 0", "--eval-val-every 0", "out of range"},
        {"--print-every 0", "--print-every 0", "out of range"},
        {"--decay-rate 1", "--decay-rate 1", "out of range"},
        {"--threads -2", "--threads -2", "out of range"},
        {"--rnn-size abc", "--rnn-size", "'abc'"},
        {"--rnn-size 1e3", "--rnn-size", "'1e3'"},
        {"--rnn-size 12x", "--rnn-size", "'12x'"},
        {"--learning-rate fast", "--learning-rate", "'fast'"},
        {"--learning-rate nan", "--learning-rate", "'nan'"},
        {"--learning-rate inf", "--learning-rate", "'inf'"},
        {"--max-iters ''", "--max-iters", "''"},
        {"--seed -1", "--seed", "'-1'"},
        {"--model lsmt", "--model", "lstm|gru|rnn"},
        {"--unit word", "--unit", "codepoint|byte"},
        {"--optim adamw", "--optim", "rmsprop|adam|adagrad|sgd"},
        {"--max-iters", "--max-iters", "needs a value"},
        {"--resume a --init-from b", "--resume", "--init-from"},
    };
    const char *corpus = cat_corpus(), *dir = t_path("cv_badopt");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --checkpoint-dir '%s' %s", corpus, dir, cases[i].args);
        char what[128];
        snprintf(what, sizeof what, "train %s", cases[i].args);
        EXPECT_ERROR(what, rc, err, cases[i].n1, cases[i].n2);
        CHECKF(rc == 2, "%s: a bad option is a usage error, exit 2, got %d", what, rc);
        free(err);
    }
    CHECKF(!file_exists(dir), "a run refused for its options created %s", dir);

    const char *m = small_model();
    if (!m) return;
    static const struct { const char *args; const char *n1, *n2; } scases[] = {
        {"--temperature -1", "--temperature -1", "out of range"},
        {"--temperature nan", "--temperature", "'nan'"},
        {"--temperature hot", "--temperature", "'hot'"},
        {"--length -3", "--length -3", "out of range"},
        {"--length ten", "--length", "'ten'"},
        {"--num-samples 0", "--num-samples 0", "out of range"},
        {"--num-samples -4", "--num-samples -4", "out of range"},
        {"--seed x", "--seed", "'x'"},
        {"--threads -1", "--threads -1", "out of range"},
        {"--primetext a --prime-file b", "--primetext", "--prime-file"},
    };
    for (size_t i = 0; i < sizeof scases / sizeof scases[0]; i++) {
        char *out, *err;
        int rc = t_cli(&out, &err, "sample '%s' --length 5 %s", m, scases[i].args);
        char what[128];
        snprintf(what, sizeof what, "sample %s", scases[i].args);
        EXPECT_ERROR(what, rc, err, scases[i].n1, scases[i].n2);
        CHECKF(rc == 2, "%s: a bad option is a usage error, exit 2, got %d", what, rc);
        CHECKF(out[0] == 0, "%s printed a sample although it failed: %s", what, out);
        free(out);
        free(err);
    }
}

static void test_unknown_option_suggests(void) {
    static const struct { const char *cmd, *args, *bad, *suggest; } cases[] = {
        {"train", "--rnn_sise 16", "--rnn_sise", "did you mean --rnn-size"},
        {"train", "--learning-rat 0.1", "--learning-rat", "did you mean --learning-rate"},
        {"train", "--num-layer 1", "--num-layer", "did you mean --num-layers"},
        {"train", "--max_iter 1", "--max_iter", "did you mean --max-iters"},
        {"train", "--chekpoint-dir x", "--chekpoint-dir", "did you mean --checkpoint-dir"},
        {"sample", "--temprature 1", "--temprature", "did you mean --temperature"},
        {"sample", "--prime-text a", "--prime-text", "did you mean --primetext"},
    };
    const char *corpus = cat_corpus();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "%s '%s' %s", cases[i].cmd, corpus, cases[i].args);
        char what[128];
        snprintf(what, sizeof what, "%s %s", cases[i].cmd, cases[i].args);
        EXPECT_ERROR(what, rc, err, cases[i].bad, cases[i].suggest);
        free(err);
    }
    /* nothing near: no wrong suggestion, a pointer to --help instead */
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --zzzzzzzzzzzz 3", corpus);
    EXPECT_ERROR("train --zzzzzzzzzzzz", rc, err, "--zzzzzzzzzzzz", "--help");
    CHECKF(!strstr(err, "did you mean"), "a far-off option got a suggestion: %s", err);
    free(err);
}

static void test_unknown_command_suggests(void) {
    static const struct { const char *cmd, *suggest; } cases[] = {
        {"trian", "did you mean 'train'"},
        {"smaple", "did you mean 'sample'"},
        {"evl", "did you mean 'eval'"},
        {"inf", "did you mean 'info'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "%s x", cases[i].cmd);
        EXPECT_ERROR(cases[i].cmd, rc, err, cases[i].cmd, cases[i].suggest);
        free(err);
    }
    char *err;
    int rc = t_cli(NULL, &err, "frobnicate");
    EXPECT_ERROR("frobnicate", rc, err, "frobnicate", "train, sample, eval, info");
    free(err);
    /* no command at all: usage on stderr, non-zero */
    char *out;
    rc = t_cli(&out, &err, "");
    CHECKF(rc != 0 && rc < 128 && strstr(err, "usage"), "no command: exit %d, stderr %s", rc, err);
    free(out);
    free(err);
}

static void test_prime_unknown_chars(void) {
    const char *m = small_model();
    if (!m) return;
    char *out, *err;
    /* no character of the prime text is in the vocabulary (a-y, space, '.', '\n') */
    int rc = t_cli(&out, &err, "sample '%s' --length 20 --primetext 'ZZQ@@#' ", m);
    EXPECT_ERROR("prime text with no known character", rc, err, "prime text", "vocabulary");
    CHECKF(out[0] == 0, "a failed sample printed: %s", out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s' --length 20 --primetext '床前'", m);
    EXPECT_ERROR("Chinese prime text for an English model", rc, err, "prime text", "vocabulary");
    free(out);
    free(err);

    /* some unknown: a warning naming them, exit 0, the sample on stdout */
    rc = t_cli(&out, &err, "sample '%s' --length 30 --primetext 'the QZ cat' --seed 3", m);
    CHECKF(rc == 0, "partly unknown prime text: exit %d: %s", rc, err);
    CHECKF(strstr(err, "warning") && strstr(err, "'Q' (U+0051)") && strstr(err, "'Z' (U+005A)") &&
               strstr(err, "2 character"),
           "the warning should count and list Q and Z: %s", err);
    CHECKF(!strstr(err, "error"), "a warning only, not an error: %s", err);
    CHECKF(strncmp(out, "the QZ cat", 10) == 0 && strlen(out) == 10 + 30 + 1,
           "stdout should be the prime text and 30 characters: [%s]", out);
    free(out);
    free(err);
}

/* A GRU checkpoint and one trained on another vocabulary, for --init-from. */
static void test_init_from_mismatch(void) {
    const char *corpus = cat_corpus();
    const char *gdir = t_path("cv_gru_src");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
                 "--max-iters 2 --checkpoint-dir '%s'", corpus, gdir);
    CHECKF(rc == 0, "training the GRU source: exit %d: %s", rc, err);
    free(err);
    char *gckpt = t_fmt("%s/latest.safetensors", gdir);

    rc = t_cli(NULL, &err, "train '%s' --model lstm --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_lstm"));
    EXPECT_ERROR("--init-from a GRU into an LSTM run", rc, err, "--init-from", "gru", "lstm");
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 32 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_size"));
    EXPECT_ERROR("--init-from a 1 x 16 into a 1 x 32 run", rc, err, "--init-from", "16", "32");
    free(err);

    /* a corpus with one more character ('!') */
    char *alt = malloc(cat_len + 2);
    memcpy(alt, cat_text, cat_len);
    memcpy(alt + cat_len, "!\n", 2);
    const char *altp = t_path("cat_bang.txt");
    t_write_file(altp, alt, cat_len + 2);
    free(alt);
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", altp, gckpt, t_path("cv_init_vocab"));
    char vs[64], vs1[64];
    snprintf(vs, sizeof vs, "%d", cat_vocab);
    snprintf(vs1, sizeof vs1, "%d", cat_vocab + 1);
    EXPECT_ERROR("--init-from with another vocabulary", rc, err, "--init-from", "vocabulary", vs, vs1);
    free(err);

    /* the matching shape and vocabulary works */
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, gckpt, t_path("cv_init_ok"));
    CHECKF(rc == 0, "--init-from a matching checkpoint: exit %d: %s", rc, err);
    free(err);
    /* --init-from a file that is not a checkpoint */
    rc = t_cli(NULL, &err, "train '%s' --model gru --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 "
             "--max-iters 2 --init-from '%s' --checkpoint-dir '%s'", corpus, corpus, t_path("cv_init_txt"));
    EXPECT_ERROR("--init-from a text file", rc, err, corpus);
    free(err);
    free(gckpt);
}

/* Files that are not checkpoints, given to sample, eval and info (and --resume). */
static void test_not_a_checkpoint(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *real = t_read_file(m, &len);
    if (!CHECK(real && len > 1000)) { free(real); return; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)real[i];

    typedef struct { const char *name; size_t n; const char *data; const char *needle; } bad_file;
    bad_file files[12];
    int nf = 0;
    const char *txt = "this is just some text, not a checkpoint\n";
    files[nf++] = (bad_file){"text.safetensors", strlen(txt), txt, "not a safetensors file"};
    files[nf++] = (bad_file){"empty.safetensors", 0, "", "empty"};
    static char rnd[4096];
    lcg_state = 99;
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (char)(lcg() >> 8);
    files[nf++] = (bad_file){"random.safetensors", sizeof rnd, rnd, "not a safetensors file"};
    /* truncated copies: inside the length, inside the header, inside the data, one byte short */
    files[nf++] = (bad_file){"trunc4.safetensors", 4, real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc8.safetensors", 8, real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc_header.safetensors", (size_t)(8 + hlen / 2), real, "not a safetensors file"};
    files[nf++] = (bad_file){"trunc_half.safetensors", len / 2, real, "truncated"};
    files[nf++] = (bad_file){"trunc_1.safetensors", len - 1, real, "truncated"};
    /* a well-formed safetensors file that charrnn did not write */
    static char other[128];
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    size_t hl = strlen(hdr);
    memset(other, 0, sizeof other);
    other[0] = (char)hl;
    memcpy(other + 8, hdr, hl);
    files[nf++] = (bad_file){"foreign.safetensors", 8 + hl + 4, other, "not a charrnn checkpoint"};

    const char *corpus = cat_corpus();
    for (int i = 0; i < nf; i++) {
        const char *p = t_path(files[i].name);
        t_write_file(p, files[i].data, files[i].n);
        const char *cmds[3] = {"info '%s'", "sample '%s' --length 5", "eval '%s' '%s'"};
        for (int c = 0; c < 3; c++) {
            char *args = t_fmt(cmds[c], p, corpus);
            char *out, *err;
            int rc = t_cli(&out, &err, "%s", args);
            char what[200];
            snprintf(what, sizeof what, "%s (%s)", args, files[i].name);
            EXPECT_ERROR(what, rc, err, p, files[i].needle);
            CHECKF(out[0] == 0, "%s printed on stdout: %s", what, out);
            free(out);
            free(err);
            free(args);
        }
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 200 --checkpoint-dir '%s'", corpus, p,
                     t_path("cv_resume_bad"));
        char what[200];
        snprintf(what, sizeof what, "train --resume %s", files[i].name);
        EXPECT_ERROR(what, rc, err, p);
        free(err);
    }
    /* a directory and a missing file */
    const char *d = t_path("ckpt_dir");
    mkdir(d, 0755);
    char *out, *err;
    int rc = t_cli(&out, &err, "info '%s'", d);
    EXPECT_ERROR("info DIRECTORY", rc, err, d, "directory");
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s'", t_path("missing.safetensors"));
    EXPECT_ERROR("sample MISSING", rc, err, "missing.safetensors", "No such file");
    free(out);
    free(err);
    free(real);
}

/* Random changes to bytes of the header of a real checkpoint: every run ends with
 * exit 0 or a clean error, never a crash or a sanitizer report. */
static void test_corrupt_header_no_crash(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *real = t_read_file(m, &len);
    if (!CHECK(real && len > 1000)) { free(real); return; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)real[i];
    const char *p = t_path("mutant.safetensors");
    const unsigned char repl[] = {'9', '"', '-', '{', '}', '0', 'e', '[', ',', '\\', 0xff, 0};
    lcg_state = 1234;
    int clean_errors = 0;
    for (int i = 0; i < 40; i++) {
        char *e = malloc(len);
        memcpy(e, real, len);
        int k = 1 + (int)(lcg() % 3);
        for (int j = 0; j < k; j++) {
            size_t at = (size_t)(lcg() % (8 + hlen));
            e[at] = (char)(lcg() % 2 ? repl[lcg() % sizeof repl] : lcg() & 0xff);
        }
        t_write_file(p, e, len);
        free(e);
        char *out, *err;
        int rc = t_cli(&out, &err, i % 4 == 3 ? "sample '%s' --length 3 --verbose 0" : "info '%s'", p);
        CHECKF(!t_crashed(rc, err), "mutant %d: exit %d: %s", i, rc, err);
        if (rc) {
            int count;
            char *el = error_line(err, &count);
            CHECKF(count >= 1 && strstr(el, "mutant.safetensors"), "mutant %d: exit %d without a clean message: %s", i,
                   rc, err);
            clean_errors++;
            free(el);
        }
        free(out);
        free(err);
    }
    CHECKF(clean_errors >= 20, "only %d of 40 mutants were refused; the header is not checked", clean_errors);
    free(real);
}

static void test_resume_other_corpus(void) {
    const char *corpus = cat_corpus();
    const char *dir = t_path("cv_resume_src");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 3 "
                 "--checkpoint-dir '%s'", corpus, dir);
    CHECKF(rc == 0, "training: exit %d: %s", rc, err);
    free(err);
    char *ck = t_fmt("%s/latest.safetensors", dir);
    /* the same size, one character changed */
    char *alt = malloc(cat_len);
    memcpy(alt, cat_text, cat_len);
    alt[100] = alt[100] == 'a' ? 'e' : 'a';
    const char *altp = t_path("cat_changed.txt");
    t_write_file(altp, alt, cat_len);
    free(alt);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", altp, ck,
             t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with a changed corpus", rc, err, ck, "different corpus", "--init-from");
    free(err);
    /* another file altogether, and the built-in corpus */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", cat2k_corpus(), ck,
             t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with a shorter corpus", rc, err, ck, "different corpus");
    free(err);
    rc = t_cli(NULL, &err, "train --resume '%s' --max-iters 6 --checkpoint-dir '%s'", ck, t_path("cv_resume_other"));
    EXPECT_ERROR("--resume with the built-in corpus", rc, err, ck, "different corpus");
    free(err);
    /* the right corpus resumes */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", corpus, ck, dir);
    CHECKF(rc == 0 && strstr(err, "at iteration 3"), "resume with the same corpus: exit %d: %s", rc, err);
    free(err);
    /* resuming a finished run without raising --max-iters says so, with the right numbers */
    rc = t_cli(NULL, &err, "train '%s' --resume '%s' --max-iters 6 --checkpoint-dir '%s'", corpus, ck, dir);
    CHECKF(rc == 0 && strstr(err, "nothing to do"), "resuming a finished run: exit %d: %s", rc, err);
    CHECKF(strstr(err, "iteration 6 of 6"), "the 'nothing to do' line should say 'iteration 6 of 6': %s", err);
    free(err);
    free(ck);
}

/* --checkpoint-dir that cannot be a directory: refused before any training. */
static void test_checkpoint_dir_is_file(void) {
    const char *f = t_path("plain_file");
    write_str(f, "x");
    char *sub = t_fmt("%s/sub", f), *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
                 "--checkpoint-dir '%s'", cat_corpus(), f);
    EXPECT_ERROR("--checkpoint-dir naming a file", rc, err, f, "--checkpoint-dir");
    CHECKF(!strstr(err, "1/2"), "it trained before failing: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
             "--checkpoint-dir '%s'", cat_corpus(), sub);
    EXPECT_ERROR("--checkpoint-dir below a file", rc, err, sub, "--checkpoint-dir");
    free(err);
    free(sub);
}

/* A model too big for the machine is refused before anything large is allocated. */
static void test_too_big_for_memory(void) {
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 16384 --num-layers 16 --max-iters 1 --checkpoint-dir '%s'",
                 cat_corpus(), t_path("cv_huge"));
    EXPECT_ERROR("a 16 x 16384 LSTM", rc, err, "GB", "available", "--rnn-size");
    free(err);
}

/* A resumed run keeps its saved settings: --max-iters and --eval-val-every come
 * from the checkpoint unless given again, and other training options given with
 * --resume are reported as ignored. */
static void test_resume_keeps_settings(void) {
    const char *dir = t_path("cv_keep");
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 6 "
                 "--eval-val-every 3 --threads 1 --checkpoint-dir '%s'", cat_corpus(), dir);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --rnn-size 999 --learning-rate 0.5 "
             "--checkpoint-dir '%s'", cat_corpus(), dir, dir);
    CHECKF(rc == 0 && strstr(err, "nothing to do") && strstr(err, "iteration 6 of 6"),
           "resume without --max-iters should keep the saved 6: exit %d: %s", rc, err);
    CHECKF(strstr(err, "--rnn-size is ignored") && strstr(err, "--learning-rate is ignored"),
           "options given with --resume should be reported as ignored: %s", err);
    free(err);
    rc = t_cli(NULL, &err, "train '%s' --resume '%s/latest.safetensors' --max-iters 9 --print-every 1 --checkpoint-dir '%s'",
             cat_corpus(), dir, dir);
    CHECKF(rc == 0 && strstr(err, "9/9") && strstr(err, "validation at 9") && !strstr(err, "validation at 7"),
           "resume to 9 with the saved --eval-val-every 3: exit %d: %s", rc, err);
    free(err);
}

void register_cli_error_tests(void) {
    t_register("cli_missing_file", test_missing_file);
    t_register("cli_directory_input", test_directory_input);
    t_register("cli_empty_file", test_empty_file);
    t_register("cli_too_small", test_too_small);
    t_register("cli_nul_codepoint_mode", test_nul_in_codepoint_mode);
    t_register("cli_invalid_utf8", test_invalid_utf8);
    t_register("cli_bad_numeric_options", test_bad_numeric_options);
    t_register("cli_unknown_option_suggests", test_unknown_option_suggests);
    t_register("cli_unknown_command_suggests", test_unknown_command_suggests);
    t_register("cli_prime_unknown_chars", test_prime_unknown_chars);
    t_register("cli_init_from_mismatch", test_init_from_mismatch);
    t_register("cli_not_a_checkpoint", test_not_a_checkpoint);
    t_register("cli_corrupt_header_no_crash", test_corrupt_header_no_crash);
    t_register("cli_resume_other_corpus", test_resume_other_corpus);
    t_register("cli_resume_keeps_settings", test_resume_keeps_settings);
    t_register("cli_too_big_for_memory", test_too_big_for_memory);
    t_register("cli_checkpoint_dir_is_file", test_checkpoint_dir_is_file);
}
