/* test_schedule.c: the learning rate's schedules (char-rnn's step decay,
 * cosine, the linear warm-up) against their closed forms, at chosen iterations
 * and as a trainer reports them; decoupled weight decay against updates worked
 * out by hand, on a flat array and on a tiny model (the biases untouched);
 * resuming a run with either is bit for bit the run straight through; bad
 * values are refused in one line before any work. */
#include "charrnn.h"
#include "handle.h"
#include "model.h"
#include "optim.h"
#include "test.h"
#include "test_cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const double PI = 3.14159265358979323846;

/* ---- the schedules' closed forms ------------------------------------------------------------ */

static void test_schedule_closed_form(void) {
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    /* step, no warm-up: the trainer's running rate as it is, whatever the iteration */
    for (long i = 0; i < 1000; i += 97) CHECK(optim_schedule_lr(&o, 1.5e-3, i, 500) == 1.5e-3);
    /* step with a warm-up of 4: updates 1..4 at 1/4..4/4 of the running rate, then all of it */
    o.warmup_iters = 4;
    for (long i = 0; i < 4; i++) CHECK_CLOSE(optim_schedule_lr(&o, 2e-3, i, 100), 2e-3 * (double)(i + 1) / 4, 0, 1e-15);
    CHECK(optim_schedule_lr(&o, 2e-3, 4, 100) == 2e-3);
    CHECK(optim_schedule_lr(&o, 2e-3, 99, 100) == 2e-3);
    /* cosine from 1e-2 to 1e-4 over 100 iterations: the ends, the middle, a quarter */
    o.lr_schedule = CHARRNN_LR_COSINE;
    o.learning_rate = 1e-2;
    o.min_lr = 1e-4;
    o.warmup_iters = 0;
    const double hi = 1e-2, lo = 1e-4;
    CHECK(optim_schedule_lr(&o, 123.0, 0, 100) == hi); /* the running rate is the step schedule's: not used */
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 100, 100), lo, 0, 1e-14);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 50, 100), (hi + lo) / 2, 0, 1e-14);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 25, 100), lo + (hi - lo) * (1 + cos(PI / 4)) / 2, 0, 1e-14);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 1000, 100), lo, 0, 1e-14); /* past the plan: the end */
    for (long i = 1; i <= 100; i++) CHECK(optim_schedule_lr(&o, hi, i, 100) < optim_schedule_lr(&o, hi, i - 1, 100));
    /* cosine after a warm-up of 10 on a run of 110: the ramp, then the cosine over the 100 after it */
    o.warmup_iters = 10;
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 0, 110), hi / 10, 0, 1e-15);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 4, 110), hi * 5 / 10, 0, 1e-15);
    CHECK(optim_schedule_lr(&o, hi, 9, 110) == hi);
    CHECK(optim_schedule_lr(&o, hi, 10, 110) == hi);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 60, 110), (hi + lo) / 2, 0, 1e-14);
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 110, 110), lo, 0, 1e-14);
    /* a warm-up longer than the run: all of it is ramp */
    o.warmup_iters = 50;
    CHECK_CLOSE(optim_schedule_lr(&o, hi, 5, 10), hi * 6 / 50, 0, 1e-15);
    /* min_lr 0: cosine ends at 0 */
    o.warmup_iters = 0;
    o.min_lr = 0;
    CHECK(fabs(optim_schedule_lr(&o, hi, 100, 100)) < 1e-18);
}

/* ---- a trainer's reported rates ------------------------------------------------------------- */

static char *sched_text(size_t *len) {
    static const char line[] = "the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n";
    size_t n = strlen(line), reps = 60; /* 4740 characters: 4503 to train, 8 x 16 a batch: 35 iterations an epoch */
    char *s = malloc(n * reps + 1);
    for (size_t i = 0; i < reps; i++) memcpy(s + i * n, line, n);
    s[n * reps] = 0;
    *len = n * reps;
    return s;
}

static void sched_options(charrnn_model_config *mc, charrnn_train_options *o) {
    charrnn_model_config_default(mc);
    charrnn_train_options_default(o);
    mc->num_layers = 2;
    mc->rnn_size = 12;
    mc->dropout = 0.1f;
    o->batch_size = 8;
    o->seq_length = 16;
    o->eval_val_every = 1000000;
    o->seed = 11;
}

static charrnn_trainer *sched_open(const char *text, size_t len, const charrnn_model_config *mc,
                                   const charrnn_train_options *o) {
    charrnn_trainer *t = NULL;
    charrnn_error err = {0};
    if (!CHECKF(charrnn_trainer_open(&t, "the schedule text", text, len, mc, o, &err) == 0, "%s", err.msg)) return NULL;
    CHECKF(charrnn_model_set_precision(charrnn_trainer_model(t), CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
    return t;
}

/* The rate each step reports (the next update's) is the schedule's at the iterations done: the
 * cosine's ends and the warm-up's ramp, and char-rnn's step decay at the epochs' ends as it was. */
static void test_trainer_rates(void) {
    size_t len;
    char *text = sched_text(&len);
    charrnn_model_config mc;
    charrnn_train_options o;
    sched_options(&mc, &o);
    o.optim = CHARRNN_ADAM;
    o.lr_schedule = CHARRNN_LR_COSINE;
    o.learning_rate = 4e-3;
    o.min_lr = 4e-4;
    o.warmup_iters = 5;
    o.max_iters = 45;
    charrnn_trainer *t = sched_open(text, len, &mc, &o);
    charrnn_error err = {0};
    charrnn_step_stats st;
    charrnn_model_info info;
    if (t) {
        charrnn_model_get_info(charrnn_trainer_model(t), &info);
        CHECK_CLOSE(info.learning_rate, 4e-3 / 5, 0, 1e-15); /* before the first update */
        while (!charrnn_trainer_done(t)) {
            if (!CHECKF(charrnn_trainer_step(t, &st, &err) == 0, "%s", err.msg)) break;
            const long i = st.iteration;
            double want = i < 5 ? 4e-3 * (double)(i + 1) / 5
                                : 4e-4 + (4e-3 - 4e-4) * (1 + cos(PI * (double)(i - 5) / 40.0)) / 2;
            if (!CHECK_CLOSE(st.learning_rate, want, 0, 1e-12)) fprintf(stderr, "      (after iteration %ld)\n", i);
        }
        CHECK(st.iteration == 45);
        CHECK_CLOSE(st.learning_rate, 4e-4, 0, 1e-14);
        CHECK_CLOSE(optim_schedule_lr(&o, 4e-3, 25, 45), (4e-3 + 4e-4) / 2, 0, 1e-14);
        charrnn_trainer_close(t);
    }
    /* step: halved at each epoch's end from the first on (35 iterations an epoch), the warm-up over it */
    sched_options(&mc, &o);
    o.learning_rate = 2e-3;
    o.learning_rate_decay = 0.5;
    o.learning_rate_decay_after = 1;
    o.warmup_iters = 40;
    o.max_iters = 80;
    t = sched_open(text, len, &mc, &o);
    if (t) {
        charrnn_corpus_info ci;
        charrnn_trainer_corpus_info(t, &ci);
        CHECK(ci.iters_per_epoch == 35);
        while (!charrnn_trainer_done(t)) {
            if (!CHECKF(charrnn_trainer_step(t, &st, &err) == 0, "%s", err.msg)) break;
            const long i = st.iteration;
            double running = i < 35 ? 2e-3 : i < 70 ? 1e-3 : 5e-4;
            double want = running * (i < 40 ? (double)(i + 1) / 40 : 1.0);
            if (!CHECK(st.learning_rate == want)) fprintf(stderr, "      (after iteration %ld: %g, not %g)\n", i, st.learning_rate, want);
        }
        charrnn_trainer_close(t);
    }
    free(text);
}

/* ---- weight decay ----------------------------------------------------------------------------- */

/* AdamW on four parameters, the first three weights and the last a bias: the weights' update
 * worked out in double (the decay first, then Adam's step on the decayed weight), the bias's
 * bit for bit Adam's without decay; and decoupled decay with SGD (SGDW) as float operations. */
static void test_weight_decay_by_hand(void) {
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    o.optim = CHARRNN_ADAM;
    o.weight_decay = 0.25;
    charrnn_error err;
    optim a, plain;
    CHECK(optim_init(&a, &o, 4, &err) == 0);
    CHECK(optim_decay_range(&a, 0, 2) == 0 && optim_decay_range(&a, 2, 1) == 0); /* joined: one range */
    CHECK(a.num_decay == 1 && a.decay_at[0][0] == 0 && a.decay_at[0][1] == 3);
    o.weight_decay = 0;
    CHECK(optim_init(&plain, &o, 4, &err) == 0);
    float p[4] = {0.8f, -0.5f, 0.3f, 0.7f}, q[4], g[2][4] = {{0.5f, -2, 0.25f, 0.1f}, {0.3f, -1, -0.5f, -0.2f}};
    memcpy(q, p, sizeof p);
    double w[4], m1[4] = {0}, m2[4] = {0};
    for (int i = 0; i < 4; i++) w[i] = p[i];
    const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int s = 1; s <= 2; s++) {
        optim_update(&a, p, g[s - 1], lr);
        optim_update(&plain, q, g[s - 1], lr);
        for (int i = 0; i < 3; i++) {
            const double gi = g[s - 1][i];
            w[i] *= 1 - lr * 0.25;
            m1[i] = b1 * m1[i] + (1 - b1) * gi;
            m2[i] = b2 * m2[i] + (1 - b2) * gi * gi;
            w[i] -= lr / (1 - pow(b1, s)) * m1[i] / (sqrt(m2[i]) / sqrt(1 - pow(b2, s)) + eps);
            if (!CHECK_CLOSE(p[i], w[i], 1e-6, 1e-6)) fprintf(stderr, "      (weight %d, step %d)\n", i, s);
        }
        CHECKF(memcmp(&p[3], &q[3], sizeof(float)) == 0, "the bias moved with weight decay: %.9g vs %.9g", p[3], q[3]);
    }
    optim_free(&a);
    optim_free(&plain);
    /* SGD: p * (1 - lr wd) - lr g, exactly as floats */
    o.optim = CHARRNN_SGD;
    o.weight_decay = 0.5;
    CHECK(optim_init(&a, &o, 2, &err) == 0);
    CHECK(optim_decay_range(&a, 0, 1) == 0);
    float r[2] = {0.6f, 0.6f}, gr[2] = {0.2f, 0.2f};
    optim_update(&a, r, gr, 0.1);
    const float keep = (float)(1.0 - 0.1 * 0.5), want = 0.6f * keep - 0.1f * 0.2f;
    CHECKF(r[0] == want, "SGDW: %.9g, expected %.9g", r[0], want);
    CHECKF(r[1] == 0.6f - 0.1f * 0.2f, "SGD outside the decay range: %.9g", r[1]);
    optim_free(&a);
}

/* One step of a tiny LSTM with and without weight decay, from the same weights and batch: every
 * bias comes out bit for bit the same, every weight matrix as the decayed weight less the same
 * update (the first step's gradient does not depend on the decay). */
static void test_weight_decay_tiny_model(void) {
    size_t len;
    char *text = sched_text(&len);
    charrnn_model_config mc;
    charrnn_train_options o;
    sched_options(&mc, &o);
    mc.dropout = 0;
    o.optim = CHARRNN_ADAM;
    o.learning_rate = 0.05;
    o.max_iters = 1;
    charrnn_trainer *plain = sched_open(text, len, &mc, &o);
    o.weight_decay = 2;
    charrnn_trainer *wd = sched_open(text, len, &mc, &o);
    charrnn_error err = {0};
    if (plain && wd) {
        const model *a = &charrnn_trainer_model(plain)->net, *b = &charrnn_trainer_model(wd)->net;
        float *p0 = malloc(sizeof(float) * a->num_params);
        memcpy(p0, model_params(a), sizeof(float) * a->num_params);
        CHECK(memcmp(p0, model_params(b), sizeof(float) * a->num_params) == 0);
        CHECKF(charrnn_trainer_step(plain, NULL, &err) == 0, "%s", err.msg);
        CHECKF(charrnn_trainer_step(wd, NULL, &err) == 0, "%s", err.msg);
        const float *pa = model_params(a), *pb = model_params(b);
        const float keep = (float)(1.0 - 0.05 * 2);
        int weights = 0, biases = 0;
        for (int v = 0; v < a->num_views; v++) {
            const param_view *pv = &a->views[v];
            for (size_t i = pv->offset; i < pv->offset + pv->size; i++) {
                if (pv->ndim == 1) {
                    if (!CHECKF(pa[i] == pb[i], "%s[%zu] moved with weight decay", pv->name, i - pv->offset)) break;
                } else {
                    const double update = (double)p0[i] - pa[i], want = (double)(p0[i] * keep) - update;
                    if (!CHECK_CLOSE(pb[i], want, 1e-7, 1e-6)) { fprintf(stderr, "      (%s)\n", pv->name); break; }
                }
            }
            if (pv->ndim == 1) biases++;
            else weights++;
        }
        CHECK(weights == 5 && biases == 5); /* 2 layers x (w_ih, w_hh, b_ih, b_hh), the decoder's two */
        free(p0);
    }
    charrnn_trainer_close(plain);
    charrnn_trainer_close(wd);
    free(text);
}

/* ---- resume: half, save, resume, half is the run straight through ------------------------------ */

/* The tensors of a checkpoint (weights, moments, carried state, loss history): the bytes after its header. */
static char *tensors_of(const char *path, size_t *n) {
    size_t len;
    char *s = t_read_file(path, &len);
    *n = 0;
    if (!s || len < 8) { free(s); return NULL; }
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = (h << 8) | (unsigned char)s[i];
    if (h > len - 8) { free(s); return NULL; }
    *n = len - 8 - (size_t)h;
    char *d = malloc(*n + 1);
    memcpy(d, s + 8 + h, *n);
    free(s);
    return d;
}

static void resume_case(const char *tag, const charrnn_model_config *mc, const charrnn_train_options *o, long n) {
    size_t len;
    char *text = sched_text(&len);
    char *straight = t_fmt("%s.safetensors", t_path(tag)), *half = t_fmt("%s_half.safetensors", t_path(tag)),
         *resumed = t_fmt("%s_res.safetensors", t_path(tag));
    charrnn_error err = {0};
    charrnn_step_stats st;
    double lr_a = -1, lr_b = -2;
    charrnn_trainer *t = sched_open(text, len, mc, o);
    if (t) {
        while (!charrnn_trainer_done(t) && CHECKF(charrnn_trainer_step(t, &st, &err) == 0, "%s", err.msg)) {}
        lr_a = st.learning_rate;
        CHECKF(charrnn_trainer_save(t, straight, &err) == 0, "%s", err.msg);
        charrnn_trainer_close(t);
    }
    t = sched_open(text, len, mc, o);
    if (t) {
        for (long i = 0; i < n / 2; i++) CHECKF(charrnn_trainer_step(t, &st, &err) == 0, "%s", err.msg);
        CHECKF(charrnn_trainer_save(t, half, &err) == 0, "%s", err.msg);
        charrnn_trainer_close(t);
    }
    t = NULL;
    if (CHECKF(charrnn_trainer_resume(&t, half, "the schedule text", text, len, NULL, &err) == 0, "%s: %s", tag, err.msg)) {
        CHECKF(charrnn_model_set_precision(charrnn_trainer_model(t), CHARRNN_PRECISION_FP32, &err) == 0, "%s", err.msg);
        const charrnn_train_options *ro = charrnn_trainer_options(t);
        CHECKF(ro->lr_schedule == o->lr_schedule && ro->warmup_iters == o->warmup_iters && ro->min_lr == o->min_lr &&
               ro->weight_decay == o->weight_decay, "%s: the schedule's settings did not come back from the checkpoint", tag);
        long it, total;
        charrnn_trainer_progress(t, &it, &total);
        CHECK(it == n / 2 && total == n);
        while (!charrnn_trainer_done(t) && CHECKF(charrnn_trainer_step(t, &st, &err) == 0, "%s", err.msg)) {}
        lr_b = st.learning_rate;
        CHECKF(charrnn_trainer_save(t, resumed, &err) == 0, "%s", err.msg);
        charrnn_trainer_close(t);
    }
    CHECKF(lr_a == lr_b, "%s: the last learning rate %.17g straight, %.17g resumed", tag, lr_a, lr_b);
    size_t sa, sb;
    char *ta = tensors_of(straight, &sa), *tb = tensors_of(resumed, &sb);
    CHECKF(ta && tb && sa == sb && sa > 0 && memcmp(ta, tb, sa) == 0,
           "%s: the resumed run's tensors differ from the straight run's (%zu vs %zu bytes)", tag, sa, sb);
    free(ta);
    free(tb);
    free(straight);
    free(half);
    free(resumed);
    free(text);
}

/* Adam, cosine after a warm-up that the resume cuts, weight decay, dropout: across an epoch's end too. */
static void test_resume_cosine_warmup(void) {
    charrnn_model_config mc;
    charrnn_train_options o;
    sched_options(&mc, &o);
    o.optim = CHARRNN_ADAM;
    o.lr_schedule = CHARRNN_LR_COSINE;
    o.learning_rate = 5e-3;
    o.min_lr = 1e-4;
    o.warmup_iters = 30;
    o.weight_decay = 0.1;
    o.max_iters = 50;
    resume_case("sched_res_cos", &mc, &o, 50);
}

/* RMSProp with char-rnn's step decay under a warm-up, weight decay: the running rate comes back. */
static void test_resume_step_weight_decay(void) {
    charrnn_model_config mc;
    charrnn_train_options o;
    sched_options(&mc, &o);
    o.learning_rate_decay = 0.5;
    o.learning_rate_decay_after = 1;
    o.warmup_iters = 45;
    o.weight_decay = 0.5;
    o.max_iters = 80;
    resume_case("sched_res_step", &mc, &o, 80);
}

/* ---- bad values: one line, before any work ------------------------------------------------------ */

static void test_bad_values_refused(void) {
    static const struct { const char *args, *needle; } cases[] = {
        {"--weight-decay -0.1", "--weight-decay -0.1 is out of range"},
        {"--warmup-iters -3", "--warmup-iters -3 is out of range"},
        {"--lr-schedule linear", "--lr-schedule must be one of step|cosine"},
        {"--lr-schedule cosine --min-lr 0.5", "--min-lr 0.5 is out of range; use 0 up to the learning rate (0.002)"},
        {"--lr-schedule cosine --min-lr -1e-5", "--min-lr -1e-05 is out of range"},
        {"--lr-schedule cosine --learning-rate-decay 0.9", "--lr-schedule cosine"},
        {"--lr-schedule cosine --learning-rate-decay-after 3", "--lr-schedule cosine"},
        {"--min-lr 1e-5", "--min-lr is where --lr-schedule cosine ends"},
    };
    const char *dir = t_path("sched_bad_cv");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err;
        int rc = t_cli(NULL, &err, "train '%s' %s --max-iters 2 --threads 1 --checkpoint-dir '%s'", cat_corpus(),
                       cases[i].args, dir);
        EXPECT_ERROR(cases[i].args, rc, err, cases[i].needle);
        struct stat sb;
        CHECKF(stat(dir, &sb) != 0, "%s: the checkpoint directory was made before the refusal", cases[i].args);
        free(err);
    }
    /* a warm-up longer than the run is fine */
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --warmup-iters 1000 --lr-schedule cosine --min-lr 1e-4 --rnn-size 8 "
                   "--num-layers 1 --batch-size 4 --seq-length 8 --max-iters 3 --threads 1 --precision fp32 "
                   "--checkpoint-dir '%s'", cat_corpus(), t_path("sched_long_warmup"));
    CHECKF(rc == 0 && strstr(err, "cosine to 0.0001 at iteration 3, warm-up over 1000 iterations"), "exit %d: %s", rc, err);
    free(err);
    /* the library refuses them as well (the Python binding, programs) */
    charrnn_train_options o;
    charrnn_train_options_default(&o);
    charrnn_error e = {0};
    o.weight_decay = -1;
    CHECK(charrnn_check_run_settings(NULL, &o, &e) == CHARRNN_EINVAL && strstr(e.msg, "--weight-decay -1"));
    o.weight_decay = 0;
    o.lr_schedule = (charrnn_lr_schedule)7;
    CHECK(charrnn_check_run_settings(NULL, &o, &e) == CHARRNN_EINVAL && strstr(e.msg, "--lr-schedule 7"));
}

void register_schedule_tests(void) {
    t_register("schedule_closed_form", test_schedule_closed_form);
    t_register("schedule_trainer_rates", test_trainer_rates);
    t_register("schedule_weight_decay_by_hand", test_weight_decay_by_hand);
    t_register("schedule_weight_decay_tiny_model", test_weight_decay_tiny_model);
    t_register("schedule_resume_cosine_warmup", test_resume_cosine_warmup);
    t_register("schedule_resume_step_weight_decay", test_resume_step_weight_decay);
    t_register("schedule_bad_values_refused", test_bad_values_refused);
}
