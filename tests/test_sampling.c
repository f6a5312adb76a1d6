/* test_sampling.c: the sampling controls. Each draw under top-k, top-p or min-p
 * comes from the support set the control allows (checked against a shadow stream
 * fed the same characters, which sees the model's own distribution); samples are
 * reproducible under a seed; the repetition penalty divides a positive logit and
 * multiplies a negative one by exactly its factor, over exactly its window, and
 * the sampler draws from the penalised distribution; beam search finds
 * continuations at least as likely as argmax (strictly more likely where greedy
 * decoding is led astray), and its reported log-probability is the model's;
 * --stop, --max-lines, --num-samples and --interactive do what they say;
 * samplers on two threads draw what each draws alone. What a trained model
 * happens to do greedily is never asserted: the penalty and the beam are checked
 * on models whose distributions are set by hand, the checks on trained models
 * are properties of the sampler (a draw from the allowed set, a seed's
 * reproducibility, the beam's log-probability) or ask what any model of these
 * lines does (end a line, write "fog."), and those models train in float32
 * (pinned, as do two processes whose samples must agree), so nothing depends on
 * the precision --precision auto picks, the kernels or the load. */
#include "test.h"
#include "charrnn.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *LINES[] = {"the cat sat on the mat.\n", "a dog ran in the fog.\n", "my hat is in the box.\n",
                              "bees buzz all day long.\n"};

static charrnn_trainer *trained(void) {
    static char text[20000];
    size_t len = 0;
    for (int i = 0; len + 40 < sizeof text; i++) len += (size_t)snprintf(text + len, sizeof text - len, "%s", LINES[(i * 7 + i / 3) % 4]);
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    mc.num_layers = 1;
    mc.rnn_size = 32;
    o.batch_size = 8;
    o.seq_length = 16;
    o.max_iters = 300;
    o.learning_rate = 0.01;
    charrnn_trainer *t = NULL;
    charrnn_error err = {0};
    if (!CHECKF(charrnn_trainer_open(&t, "lines", text, len, &mc, &o, &err) == 0, "%s", err.msg)) return NULL;
    /* float32 whatever the processor: the same model, the same numbers everywhere */
    CHECKF(charrnn_model_set_precision(charrnn_trainer_model(t), CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
    while (!charrnn_trainer_done(t)) charrnn_trainer_step(t, NULL, &err);
    return t;
}

/* A model whose next-character distribution is set by hand: a tanh-RNN with one
 * hidden unit per character reads each character into its own unit (h is 1
 * there, tanh(20), and 0 elsewhere: it remembers the last character only), and
 * the decoder's column for that unit holds the logits of what comes next:
 * logit[u * V + v] is the logit of vocab[v] after vocab[u]. vocab: ascending. */
static charrnn_model *bigram_model(const char *vocab, const float *logit) {
    const int V = (int)strlen(vocab);
    uint32_t cps[32];
    for (int i = 0; i < V; i++) cps[i] = (unsigned char)vocab[i];
    charrnn_model_config mc = {.cell = CHARRNN_RNN, .num_layers = 1, .rnn_size = V, .dropout = 0};
    charrnn_model *m = NULL;
    charrnn_error err = {0};
    if (!CHECKF(charrnn_model_new(&m, &mc, CHARRNN_UNIT_CODEPOINT, cps, V, 1, &err) == 0, "%s", err.msg)) return NULL;
    CHECKF(charrnn_model_set_precision(m, CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
    for (int i = 0; i < charrnn_model_num_tensors(m); i++) {
        const char *name;
        int rows, cols;
        float *w = charrnn_model_tensor(m, i, &name, &rows, &cols);
        memset(w, 0, sizeof(float) * (size_t)rows * (size_t)cols);
        if (!strcmp(name, "weight_ih_l0")) /* H x V */
            for (int u = 0; u < V; u++) w[(size_t)u * V + u] = 20.0f;
        if (!strcmp(name, "decoder.weight")) /* V x H */
            for (int v = 0; v < V; v++)
                for (int u = 0; u < V; u++) w[(size_t)v * V + u] = logit[(size_t)u * V + v];
    }
    charrnn_model_weights_changed(m);
    return m;
}

/* A model whose next-character logits are z whatever came before. */
static charrnn_model *constant_model(const char *vocab, const float *z) {
    const int V = (int)strlen(vocab);
    float logit[32 * 32];
    for (int u = 0; u < V; u++) memcpy(logit + (size_t)u * V, z, sizeof(float) * (size_t)V);
    return bigram_model(vocab, logit);
}

/* Is p[v] clearly above p[id]? The sampler ranks its own tempered and rounded
 * copy of the distribution, where two probabilities within 1e-5 of each other
 * may stand in either order, so only a clear difference counts: a near-tie at the
 * edge of the allowed set may fall on either side of it. */
static int clearly_above(const float *p, int v, int id) { return p[v] > p[id] * (1 + 1e-5f); }

/* Is index id among the characters control c allows under distribution p? */
static int allowed(const float *p, int V, int id, const charrnn_sample_config *c) {
    int rank = 0;
    for (int v = 0; v < V; v++) rank += clearly_above(p, v, id);
    if (c->top_k && rank >= c->top_k) return 0;
    if (c->top_p < 1) { /* the mass above id must be short of top_p, or id would not be needed */
        double mass = 0;
        for (int v = 0; v < V; v++) if (clearly_above(p, v, id)) mass += p[v];
        if (mass >= c->top_p + 1e-6) return 0;
    }
    if (c->min_p > 0) {
        float mx = 0;
        for (int v = 0; v < V; v++) mx = p[v] > mx ? p[v] : mx;
        if (p[id] < c->min_p * mx * (1 - 1e-5f)) return 0;
    }
    return 1;
}

static void support_case(charrnn_model *m, charrnn_sample_config cfg, const char *what) {
    charrnn_error err = {0};
    charrnn_sampler *s;
    charrnn_stream *shadow;
    CHECK(charrnn_sampler_open(&s, m, 1, 11, &err) == 0);
    CHECK(charrnn_sampler_configure(s, &cfg, &err) == 0);
    CHECK(charrnn_stream_open(&shadow, m, 1, &err) == 0);
    CHECK(charrnn_sampler_prime(s, "the ", 4, NULL, NULL, 0, NULL, &err) == 0);
    CHECK(charrnn_stream_feed_text(shadow, "the ", 4, NULL, &err) == 0);
    const int V = charrnn_stream_vocab_size(shadow);
    int bad = 0, distinct_seen = 0, seen[512] = {0};
    for (int i = 0; i < 3000; i++) {
        uint32_t c;
        CHECK(charrnn_sampler_draw(s, &c, &err) == 0);
        int id = charrnn_model_char_index(m, c);
        if (!allowed(charrnn_stream_probs(shadow, 0), V, id, &cfg)) bad++;
        if (id < 512 && !seen[id]++) distinct_seen++;
        charrnn_stream_feed(shadow, &id, &err);
    }
    CHECKF(bad == 0, "%s: %d of 3000 draws fell outside the allowed set", what, bad);
    CHECKF(distinct_seen >= 3, "%s: only %d distinct characters drawn", what, distinct_seen);
    charrnn_stream_close(shadow);
    charrnn_sampler_close(s);
}

static void test_support_sets(void) {
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_sample_config c;
    charrnn_sample_config_default(&c);
    c.temperature = 1.5f; /* a flatter distribution, so the filters have work to do */
    /* the shadow stream sees the untempered distribution: the filters act on the tempered one, whose
     * order is the same; check top-k (order only) at 1.5, and top-p/min-p at temperature 1 */
    c.top_k = 3;
    support_case(m, c, "top-k 3");
    charrnn_sample_config_default(&c);
    c.top_p = 0.8f;
    support_case(m, c, "top-p 0.8");
    charrnn_sample_config_default(&c);
    c.min_p = 0.2f;
    support_case(m, c, "min-p 0.2");
    charrnn_sample_config_default(&c);
    c.top_k = 5;
    c.top_p = 0.9f;
    c.min_p = 0.05f;
    support_case(m, c, "top-k 5 + top-p 0.9 + min-p 0.05");
    /* bad values are refused, naming the control */
    charrnn_error err = {0};
    charrnn_sample_config_default(&c);
    c.top_p = 0;
    CHECK(charrnn_sample_config_check(&c, &err) == CHARRNN_EINVAL && strstr(err.msg, "top-p"));
    charrnn_sample_config_default(&c);
    c.repetition_penalty = 0.5f;
    CHECK(charrnn_sample_config_check(&c, &err) == CHARRNN_EINVAL && strstr(err.msg, "repetition penalty"));
    charrnn_trainer_close(t);
}

/* Same seed, same text, for every control; another seed, another text (whatever
 * the weights: with no prime the first character is drawn uniformly, and seeds
 * 5 and 99 draw different ones from this vocabulary of 23). */
static void test_deterministic(void) {
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_error err = {0};
    char a[401], b[401], c2[401];
    charrnn_sample_config cfg;
    charrnn_sample_config_default(&cfg);
    cfg.top_k = 6;
    cfg.top_p = 0.95f;
    cfg.min_p = 0.01f;
    cfg.repetition_penalty = 1.3f;
    cfg.temperature = 0.9f;
    for (int run = 0; run < 3; run++) {
        charrnn_sampler *s;
        CHECK(charrnn_sampler_open(&s, m, 1, run == 2 ? 99 : 5, &err) == 0);
        CHECK(charrnn_sampler_configure(s, &cfg, &err) == 0);
        char *o = run == 0 ? a : run == 1 ? b : c2;
        for (int i = 0; i < 400; i++) {
            uint32_t ch;
            charrnn_sampler_draw(s, &ch, &err);
            o[i] = (char)ch;
        }
        o[400] = 0;
        charrnn_sampler_close(s);
    }
    CHECK(!strcmp(a, b));
    CHECK(strcmp(a, c2));
    charrnn_trainer_close(t);
}

/* Greedy (temperature 0) text of n characters after prime, under penalty and window. */
static void greedy_text(charrnn_model *m, const char *prime, float penalty, int window, char *out, int n) {
    charrnn_sample_config cfg;
    charrnn_sample_config_default(&cfg);
    cfg.temperature = 0;
    cfg.repetition_penalty = penalty;
    cfg.repetition_window = window;
    charrnn_sampler *s;
    charrnn_error err = {0};
    out[0] = 0;
    if (!CHECK(charrnn_sampler_open(&s, m, 1, 1, &err) == 0)) return;
    CHECK(charrnn_sampler_configure(s, &cfg, &err) == 0);
    CHECK(charrnn_sampler_prime(s, prime, strlen(prime), NULL, NULL, 0, NULL, &err) == 0);
    for (int i = 0; i < n; i++) {
        uint32_t ch = '?';
        CHECK(charrnn_sampler_draw(s, &ch, &err) == 0);
        out[i] = (char)ch;
    }
    out[n] = 0;
    charrnn_sampler_close(s);
}

#define EXPECT_GREEDY(m, prime, penalty, window, want)                                                               \
    do {                                                                                                           \
        char got_[64];                                                                                             \
        greedy_text((m), (prime), (penalty), (window), got_, (int)strlen(want));                                  \
        CHECKF(!strcmp(got_, (want)), "prime '%s', penalty %g, window %d: '%s', expected '%s'", (prime),          \
               (double)(penalty), (window), got_, (want));                                                         \
    } while (0)

/* The penalty divides a positive logit and multiplies a negative one by exactly
 * its factor, over exactly the last repetition_window characters (the prime's
 * included): at temperature 0, on models whose logits are set by hand, a factor
 * just short of the ratio of two logits leaves the likelier character on top,
 * one just past it hands the draw to the other. */
static void test_repetition_penalty_exact(void) {
    static const float pos[4] = {3.0f, 2.0f, -1.0f, -1.5f}, neg[4] = {-1.0f, -1.5f, -3.0f, -4.0f};
    charrnn_model *m = constant_model("abcd", pos);
    if (!m) return;
    EXPECT_GREEDY(m, "a", 1.0f, 1, "aaaaaaaaaaaa");  /* no penalty: the likeliest, again and again */
    EXPECT_GREEDY(m, "a", 1.49f, 1, "aaaaaaaaaaaa"); /* 3 / 1.49 = 2.013 > 2 */
    EXPECT_GREEDY(m, "a", 1.51f, 1, "babababababa"); /* 3 / 1.51 = 1.987 < 2 */
    charrnn_model_close(m);
    m = constant_model("abcd", neg);
    if (!m) return;
    EXPECT_GREEDY(m, "a", 1.49f, 1, "aaaaaaaaaaaa"); /* -1 x 1.49 = -1.49 > -1.5 */
    EXPECT_GREEDY(m, "a", 1.51f, 1, "babababababa"); /* -1 x 1.51 = -1.51 < -1.5 */
    charrnn_model_close(m);
    /* the window: the last 1, 2 or 3 characters are out of the running, the prime's among them */
    static const float desc[4] = {3.0f, 2.0f, 1.0f, 0.5f};
    m = constant_model("abcd", desc);
    if (!m) return;
    EXPECT_GREEDY(m, "ab", 1000.0f, 1, "abababababab");
    EXPECT_GREEDY(m, "ab", 1000.0f, 2, "cabcabcabcab");
    EXPECT_GREEDY(m, "ab", 1000.0f, 3, "cdabcdabcdab");
    /* all four in the window: each is penalised once however often it occurs there, so a leads again */
    EXPECT_GREEDY(m, "ab", 1000.0f, 64, "cdaaaaaaaaaa");
    charrnn_model_close(m);
}

/* Softmax of z into p (double). */
static void softmax_d(const double *z, int n, double *p) {
    double mx = z[0], sum = 0;
    for (int i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    for (int i = 0; i < n; i++) sum += (p[i] = exp(z[i] - mx));
    for (int i = 0; i < n; i++) p[i] /= sum;
}

/* At temperature 1 the sampler draws from the penalised distribution: after
 * character y, softmax of the logits with z_y divided (z_y > 0) or multiplied
 * (z_y < 0) by the penalty. 40000 seeded draws from a model whose logits are set
 * by hand: every transition's frequency is within 5 standard deviations of that
 * distribution (and, without the penalty, of the plain softmax), so a penalty
 * that missed, or took another factor, fails; the seed makes it the same on
 * every run. */
static void test_repetition_penalty_distribution(void) {
    static const float z[4] = {1.2f, 0.4f, -0.3f, -1.0f};
    charrnn_model *m = constant_model("abcd", z);
    if (!m) return;
    const int N = 40000;
    for (int k = 0; k < 2; k++) {
        const double penalty = k ? 2.0 : 1.0;
        charrnn_sample_config cfg;
        charrnn_sample_config_default(&cfg);
        cfg.repetition_penalty = (float)penalty;
        cfg.repetition_window = 1;
        charrnn_sampler *s;
        charrnn_error err = {0};
        if (!CHECK(charrnn_sampler_open(&s, m, 1, 7, &err) == 0)) break;
        CHECK(charrnn_sampler_configure(s, &cfg, &err) == 0);
        CHECK(charrnn_sampler_prime(s, "a", 1, NULL, NULL, 0, NULL, &err) == 0);
        long count[4][4] = {{0}};
        int prev = 0;
        for (int i = 0; i < N; i++) {
            uint32_t ch = 0;
            CHECK(charrnn_sampler_draw(s, &ch, &err) == 0);
            int id = charrnn_model_char_index(m, ch);
            if (!CHECKF(id >= 0 && id < 4, "drew U+%04X", ch)) break;
            count[prev][id]++;
            prev = id;
        }
        charrnn_sampler_close(s);
        for (int y = 0; y < 4; y++) {
            double zz[4], q[4];
            long n = 0;
            for (int x = 0; x < 4; x++) { zz[x] = z[x]; n += count[y][x]; }
            zz[y] = zz[y] > 0 ? zz[y] / penalty : zz[y] * penalty;
            softmax_d(zz, 4, q);
            if (!CHECKF(n >= 1000, "penalty %g: only %ld draws after '%c'", penalty, n, "abcd"[y])) continue;
            for (int x = 0; x < 4; x++) {
                double f = (double)count[y][x] / n, sd = sqrt(q[x] * (1 - q[x]) / n);
                CHECKF(fabs(f - q[x]) <= 5 * sd, "penalty %g: after '%c', '%c' drawn %.4f of %ld times, the "
                       "distribution says %.4f", penalty, "abcd"[y], "abcd"[x], f, n, q[x]);
            }
        }
    }
    charrnn_model_close(m);
}
#undef EXPECT_GREEDY

/* The log-probability of a continuation, by a stream. */
static double logprob_of(charrnn_model *m, const char *prime, const uint32_t *cont, long n) {
    charrnn_error err = {0};
    charrnn_stream *s;
    charrnn_stream_open(&s, m, 1, &err);
    charrnn_stream_feed_text(s, prime, strlen(prime), NULL, &err);
    const int V = charrnn_stream_vocab_size(s);
    float *lp = malloc(sizeof(float) * (size_t)V);
    double total = 0;
    for (long i = 0; i < n; i++) {
        int id = charrnn_model_char_index(m, cont[i]);
        charrnn_stream_logprobs(s, 0, lp);
        total += lp[id];
        charrnn_stream_feed(s, &id, &err);
    }
    free(lp);
    charrnn_stream_close(s);
    return total;
}

static void test_beam_beats_argmax(void) {
    charrnn_trainer *t = trained();
    if (!t) return;
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_error err = {0};
    const char *primes[] = {"the ", "a d", "my hat ", "b", ""};
    for (int p = 0; p < 5; p++) {
        uint32_t g[120], b[120], am[120];
        double lg, lb;
        CHECK(charrnn_beam_search(m, primes[p], strlen(primes[p]), 1, 120, g, &lg, &err) == 0);
        CHECK(charrnn_beam_search(m, primes[p], strlen(primes[p]), 10, 120, b, &lb, &err) == 0);
        CHECKF(lb >= lg - 1e-9, "prime '%s': beam 10 found %.6f, argmax %.6f", primes[p], lb, lg);
        CHECK_CLOSE(logprob_of(m, primes[p], b, 120), lb, 1e-3, 1e-5);
        CHECK_CLOSE(logprob_of(m, primes[p], g, 120), lg, 1e-3, 1e-5);
        /* beam 1 is the argmax at every step, as temperature 0 sampling */
        if (p < 4) {
            charrnn_sampler *s;
            charrnn_sampler_open(&s, m, 1, 1, &err);
            charrnn_sampler_prime(s, primes[p], strlen(primes[p]), NULL, NULL, 0, NULL, &err);
            for (int i = 0; i < 120; i++) charrnn_sampler_next(s, 0.0f, &am[i], &err);
            charrnn_sampler_close(s);
            CHECK(memcmp(am, g, sizeof g) == 0);
        }
    }
    uint32_t x;
    double l;
    CHECK(charrnn_beam_search(m, "", 0, 0, 5, &x, &l, &err) == CHARRNN_EINVAL);
    charrnn_trainer_close(t);
}

/* Where greedy decoding is led astray, the beam is not: after "s" the model says
 * a 0.6, b 0.4; after a, a 0.3 (then b, c 0.25, d 0.2); after b or c, c 0.99.
 * Greedy takes a and then a, a, ... (0.6 x 0.3^7); a beam of 2 keeps b and finds
 * b c c ... (0.4 x 0.99^7), and each reported log-probability is the model's. */
static void test_beam_escapes_greedy(void) {
    const double lo = -30; /* never */
    const double table[5][5] = {/* after: a, b, c, d, s; next: a, b, c, d, s */
                                {log(0.3), log(0.25), log(0.25), log(0.2), lo},
                                {log(0.01 / 3), log(0.01 / 3), log(0.99), log(0.01 / 3), lo},
                                {log(0.01 / 3), log(0.01 / 3), log(0.99), log(0.01 / 3), lo},
                                {log(0.01 / 3), log(0.01 / 3), log(0.01 / 3), log(0.99), lo},
                                {log(0.6), log(0.4), lo, lo, lo}};
    float logit[25];
    for (int i = 0; i < 25; i++) logit[i] = (float)table[i / 5][i % 5];
    charrnn_model *m = bigram_model("abcds", logit);
    if (!m) return;
    charrnn_error err = {0};
    uint32_t g[8], b[8];
    double lg = 0, lb = 0;
    CHECK(charrnn_beam_search(m, "s", 1, 1, 8, g, &lg, &err) == 0);
    CHECK(charrnn_beam_search(m, "s", 1, 2, 8, b, &lb, &err) == 0);
    char gs[9], bs[9];
    for (int i = 0; i < 8; i++) { gs[i] = (char)g[i]; bs[i] = (char)b[i]; }
    gs[8] = bs[8] = 0;
    CHECKF(!strcmp(gs, "aaaaaaaa") && !strcmp(bs, "bccccccc"), "greedy '%s', beam 2 '%s'", gs, bs);
    CHECK_CLOSE(lg, log(0.6) + 7 * log(0.3), 1e-4, 0);
    CHECK_CLOSE(lb, log(0.4) + 7 * log(0.99), 1e-4, 0);
    CHECK_CLOSE(logprob_of(m, "s", b, 8), lb, 1e-4, 0);
    charrnn_model_close(m);
}

/* ---- the command line ------------------------------------------------------------------- */

static const char *cli_model(void) {
    const char *p = t_path("samp_lines.txt");
    static int written;
    if (!written++) {
        FILE *f = fopen(p, "w");
        for (int i = 0; i < 2000; i++) fputs(LINES[(i * 7 + i / 3) % 4], f);
        fclose(f);
    }
    return t_trained("samp_cv", p, "--rnn-size 32 --num-layers 1 --batch-size 8 --seq-length 16 --max-iters 300 "
                     "--learning-rate 0.01 --eval-val-every 300 --threads 1 --precision fp32");
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_cli_controls(void) {
    const char *m = cli_model();
    char *out, *err;
    /* --max-lines: exactly that many lines, the prime's among them (sampling_max_lines_exact has the class) */
    int rc = t_cli(&out, &err, "sample '%s' --max-lines 5 --length 100000 --primetext 'the cat sat on the mat.\n' --verbose 0", m);
    CHECKF(rc == 0 && count(out, "\n") == 5 && out[strlen(out) - 1] == '\n', "--max-lines 5: %d newlines: %s",
           count(out, "\n"), out);
    free(out); free(err);
    /* --stop: ends right after the stop text, with several stops and escapes */
    rc = t_cli(&out, &err, "sample '%s' --stop 'fog.' --stop 'box.\\n' --length 100000 --primetext 'a ' --verbose 0", m);
    size_t n = strlen(out);
    /* the output ends its last line: a newline after "fog.", none more after "box.\n" */
    int ends = (n >= 5 && !strcmp(out + n - 5, "fog.\n")) || (n >= 6 && !strcmp(out + n - 5, "box.\n") && out[n - 6] != '\n');
    CHECKF(rc == 0 && ends && count(out, "fog.") + count(out, "box.\n") == 1, "--stop: %s", out);
    free(out); free(err);
    /* --num-samples: clearly separated, each stopped on its own */
    rc = t_cli(&out, &err, "sample '%s' --num-samples 4 --max-lines 2 --length 1000 --primetext 'my ' --verbose 0", m);
    CHECKF(rc == 0 && count(out, "--- sample ") == 4 && strstr(out, "--- sample 4 ---\nmy "), "--num-samples 4: %s", out);
    free(out); free(err);
    /* a seed reproduces every control (two processes: the precision pinned, not left to auto); out-of-range
     * values are refused before any output */
    char *a, *b;
    const char *all = "--top-k 4 --top-p 0.9 --min-p 0.02 --repetition-penalty 1.2 --temperature 0.8 --length 300 --seed 3";
    t_cli(&a, NULL, "sample '%s' %s --precision fp32 --verbose 0", m, all);
    t_cli(&b, NULL, "sample '%s' %s --precision fp32 --verbose 0", m, all);
    CHECK(strlen(a) == 301 && !strcmp(a, b));
    free(a); free(b);
    static const char *bad[] = {"--top-k -1", "--top-p 0", "--top-p 1.5", "--min-p 1", "--repetition-penalty 0.5",
                                "--repetition-window 0", "--beam 300", "--beam 2 --num-samples 2", "--stop ''",
                                "--max-lines -1"};
    for (int i = 0; i < 10; i++) {
        rc = t_cli(&out, &err, "sample '%s' %s", m, bad[i]);
        CHECKF(rc == 2 && out[0] == 0 && strstr(err, "charrnn: error:"), "%s: exit %d: %s", bad[i], rc, err);
        free(out); free(err);
    }
    /* --beam: the continuation and its log-probability */
    rc = t_cli(&out, &err, "sample '%s' --beam 5 --length 60 --primetext 'the ' --verbose 0", m);
    CHECKF(rc == 0 && strncmp(out, "the ", 4) == 0 && strlen(out) == 4 + 60 + 1 && strstr(err, "beam 5:") &&
           strstr(err, "log-probability"), "--beam: %s %s", out, err);
    free(out); free(err);
}

static void test_cli_interactive(void) {
    const char *m = cli_model();
    char *out, *err;
    char *cmd = t_fmt("printf 'the cat\\n/reset\\nthe cat\\na dog\\n/quit\\nnever read\\n' | %s sample '%s' --interactive --seed 4",
                      t_bin(), m);
    int rc = t_run(cmd, &out, &err);
    free(cmd);
    /* three replies, one line each; the same prompt after /reset gives the same reply as at the start */
    char l1[256] = "", l2[256] = "", l3[256] = "";
    sscanf(out, "%255[^\n]\n%255[^\n]\n%255[^\n]\n", l1, l2, l3);
    CHECKF(rc == 0 && count(out, "\n") == 3 && !strncmp(l1, "the cat", 7) && !strcmp(l1, l2) && !strncmp(l3, "a dog", 5) &&
           !strstr(out, "never"), "interactive: exit %d: %s / %s", rc, out, err);
    CHECK(strstr(err, "(state reset)") != NULL);
    free(out); free(err);
}

/* --max-lines N prints exactly N lines per sample, the last ending in a
 * newline, as head -n N: with or without a prime, a prime of whole lines or
 * ending mid-line (its lines count among the N), one sample or several. The model is one of a few fp32 steps, drawn from at a
 * temperature that makes every character (the newline too) about equally
 * likely, so the counts hold whatever the weights. */
static void test_max_lines_exact(void) {
    const char *p = t_path("maxl.txt"), *dir = t_path("maxl_cv");
    FILE *f = fopen(p, "w");
    for (int i = 0; i < 400; i++) fprintf(f, "name %d\n", i % 13);
    fclose(f);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 2 "
                   "--precision fp32 --threads 1 --checkpoint-dir '%s'", p, dir);
    CHECKF(rc == 0, "%s", err);
    free(err);
    static const struct { const char *prime; int lines; } primes[] = {
        {NULL, 0}, {"a ", 0}, {"x\n", 1}, {"x\ny", 1}, {"\n\n", 2},
    };
    const char *pf = t_path("maxl_prime.txt");
    for (int n = 1; n <= 4; n++)
        for (size_t k = 0; k < sizeof primes / sizeof primes[0]; k++)
            for (int nsamples = 1; nsamples <= 3; nsamples += 2) {
                if (primes[k].lines >= n) continue;
                if (primes[k].prime) t_write_file(pf, primes[k].prime, strlen(primes[k].prime));
                char *out;
                rc = t_cli(&out, &err, "sample '%s/latest.safetensors' --max-lines %d --length 100000 --temperature 1000000 "
                           "--verbose 0 --num-samples %d %s%s", dir, n, nsamples, primes[k].prime ? "--prime-file " : "",
                           primes[k].prime ? pf : "");
                /* the samples: split at the "--- sample K ---" lines; samples after the first follow an empty line */
                int ok = rc == 0;
                const char *at = out;
                for (int j = 0; j < nsamples && ok; j++) {
                    if (nsamples > 1) {
                        char *hdr = t_fmt("%s--- sample %d ---\n", j ? "\n" : "", j + 1);
                        ok = !strncmp(at, hdr, strlen(hdr));
                        at += ok ? strlen(hdr) : 0;
                        free(hdr);
                    }
                    ok = ok && (!primes[k].prime || !strncmp(at, primes[k].prime, strlen(primes[k].prime)));
                    int lines = 0;
                    const char *e = at;
                    while (ok && *e && lines < n) { if (*e++ == '\n') lines++; }
                    ok = ok && lines == n && e[-1] == '\n' && (j + 1 < nsamples ? *e == '\n' : *e == 0);
                    at = e;
                }
                CHECKF(ok, "--max-lines %d, %d sample(s), prime %d: exit %d: '%s' %s", n, nsamples, (int)k, rc, out, err);
                free(out); free(err);
            }
    /* a prime that holds the N lines already leaves nothing to generate: refused before any output */
    char *out;
    t_write_file(pf, "a\nb\n", 4);
    rc = t_cli(&out, &err, "sample '%s/latest.safetensors' --max-lines 2 --prime-file '%s' --verbose 0", dir, pf);
    CHECKF(rc == 2 && !out[0] && strstr(err, "--max-lines 2") && strstr(err, "2 lines"), "exit %d: %s", rc, err);
    free(out); free(err);
}

/* Samplers on two threads, each with its own model and its own controls, draw
 * exactly what each draws alone: the top-k / top-p sort keeps its state in the
 * sampler, never where one thread's sort could read the other's probabilities.
 * The two models order the 256 bytes differently, so a sort that read the other
 * sampler's probabilities would keep another set and draw other bytes; each
 * thread's text is compared with the one its sampler draws alone, which is fixed
 * by the seed (no timing is asserted: correct code passes however the threads run). */
#define PAR_DRAWS 3000
typedef struct { charrnn_model *m; charrnn_sample_config cfg; uint64_t seed; uint32_t out[PAR_DRAWS]; int rc; } par_job;

static void *par_draw(void *arg) {
    par_job *j = arg;
    charrnn_sampler *s = NULL;
    charrnn_error err = {0};
    j->rc = charrnn_sampler_open(&s, j->m, 1, j->seed, &err);
    if (!j->rc) j->rc = charrnn_sampler_configure(s, &j->cfg, &err);
    for (int i = 0; i < PAR_DRAWS && !j->rc; i++) j->rc = charrnn_sampler_draw(s, &j->out[i], &err);
    charrnn_sampler_close(s);
    return NULL;
}

static void test_two_threads(void) {
    uint32_t bytes[256];
    for (int i = 0; i < 256; i++) bytes[i] = (uint32_t)i;
    charrnn_model_config mc = {.cell = CHARRNN_LSTM, .num_layers = 1, .rnn_size = 8, .dropout = 0};
    charrnn_model *m[2] = {NULL, NULL};
    charrnn_error err = {0};
    for (int k = 0; k < 2; k++) {
        if (!CHECKF(charrnn_model_new(&m[k], &mc, CHARRNN_UNIT_BYTE, bytes, 256, 7 + (uint64_t)k, &err) == 0, "%s", err.msg))
            goto done;
        CHECKF(charrnn_model_set_precision(m[k], CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
        charrnn_model_set_threads(m[k], 1);
    }
    static par_job alone[2], both[2];
    for (int k = 0; k < 2; k++) {
        charrnn_sample_config c;
        charrnn_sample_config_default(&c);
        if (k == 0) { c.temperature = 1.5f; c.top_k = 40; }
        else { c.temperature = 0.8f; c.top_p = 0.6f; c.min_p = 0.001f; }
        alone[k] = (par_job){.m = m[k], .cfg = c, .seed = 11 + (uint64_t)k};
        par_draw(&alone[k]);
        CHECKF(alone[k].rc == 0, "sampler %d alone: %d", k, alone[k].rc);
    }
    CHECK(memcmp(alone[0].out, alone[1].out, sizeof alone[0].out)); /* two different texts */
    for (int round = 0; round < 3; round++) {
        pthread_t th[2];
        for (int k = 0; k < 2; k++) {
            both[k] = (par_job){.m = m[k], .cfg = alone[k].cfg, .seed = alone[k].seed};
            CHECK(pthread_create(&th[k], NULL, par_draw, &both[k]) == 0);
        }
        for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
        for (int k = 0; k < 2; k++) {
            int first = -1;
            for (int i = 0; i < PAR_DRAWS && first < 0; i++)
                if (both[k].out[i] != alone[k].out[i]) first = i;
            CHECKF(both[k].rc == 0 && first < 0, "round %d: sampler %d (%s) on its thread drew another text than "
                   "alone (first at draw %d): the samplers share state", round, k, k ? "top-p + min-p" : "top-k",
                   first);
        }
    }
done:
    for (int k = 0; k < 2; k++) charrnn_model_close(m[k]);
}

void register_sampling_tests(void) {
    t_register("sampling_support_sets", test_support_sets);
    t_register("sampling_deterministic", test_deterministic);
    t_register("sampling_repetition_penalty_exact", test_repetition_penalty_exact);
    t_register("sampling_repetition_penalty_distribution", test_repetition_penalty_distribution);
    t_register("sampling_beam_beats_argmax", test_beam_beats_argmax);
    t_register("sampling_beam_escapes_greedy", test_beam_escapes_greedy);
    t_register("sampling_cli_controls", test_cli_controls);
    t_register("sampling_cli_interactive", test_cli_interactive);
    t_register("sampling_max_lines_exact", test_max_lines_exact);
    t_register("sampling_two_threads", test_two_threads);
}
