/* test_cli_train.c: `charrnn train` end to end: training on a small generated corpus reaches a
 * stated validation loss for LSTM, GRU and RNN; --resume continues bit for bit (RMSProp across an epoch
 * boundary with lr decay, dropout, Adam); the built-in corpus trains and writes a JSON-lines log;
 * checkpoints are standard safetensors. Wherever numbers are compared the commands run with
 * --precision fp32: what auto picks depends on the processor (and, measured, on its load). */
#include "test.h"
#include "test_cli.h"
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- 2. training reaches a validation loss ------------------------------------------------ */

/* 1 x 64, batch 16 x seq 32, 400 iterations (11.4 epochs) of RMSProp on cat.txt
 * (20021 bytes, V = 26: chance is ln 26 = 3.26 nats), validation on the last 10%.
 * The generating process has 0.172 nats/char (ln 150 per line of mean length
 * 29.07), so a correct model cannot go much below that on held-out text: the lower
 * bound 0.75x of it catches a loss that peeks at its targets.
 * Observed val_loss at -O2: lstm 0.354, gru 0.239, rnn 0.279 (at 200: 1.04, 0.60, 0.56).
 * In float32 (pinned): the thresholds are about a trajectory, not a precision. */
static void converge(const char *cell, double threshold) {
    const char *corpus = cat_corpus();
    char name[64];
    snprintf(name, sizeof name, "cv_conv_%s", cell);
    const char *dir = t_path(name);
    char *err;
    int rc = t_cli(NULL, &err, "train '%s' --model %s --rnn-size 64 --num-layers 1 --batch-size 16 --seq-length 32 "
                 "--max-iters 400 --eval-val-every 200 --print-every 100 --train-frac 0.9 --val-frac 0.1 --threads 1 "
                 "--precision fp32 --checkpoint-dir '%s'", corpus, cell, dir);
    CHECKF(rc == 0, "%s training: exit %d: %s", cell, rc, err);
    double val = last_number_after(err, "val_loss = ");
    double val200 = NAN;
    const char *v200 = strstr(err, "validation at 200: val_loss = ");
    if (v200) val200 = strtod(v200 + strlen("validation at 200: val_loss = "), NULL);
    CHECKF(strstr(err, "validation at 400"), "%s: no validation at 400: %s", cell, err);
    CHECKF(val < threshold, "%s: final val_loss %.4f nats, expected < %.2f (chance ln %d = %.2f)", cell, val,
           threshold, cat_vocab, log(cat_vocab));
    CHECKF(val > 0.75 * cat_entropy_floor, "%s: val_loss %.4f is below the corpus entropy %.3f nats/char: "
           "the loss must be seeing its targets", cell, val, cat_entropy_floor);
    CHECKF(val < val200, "%s: val_loss did not fall from iteration 200 (%.4f) to 400 (%.4f)", cell, val200, val);
    free(err);

    /* train.jsonl's last validation record says the same */
    char *log = t_fmt("%s/train.jsonl", dir);
    char *j = t_read_file(log, NULL);
    CHECKF(j, "no %s", log);
    if (j) {
        double jv = last_number_after(j, "\"val_loss\":");
        CHECK_CLOSE(jv, val, 6e-5, 0);
    }
    free(j);
    free(log);

    /* info reports the same best val loss, eval on the training file works */
    char *out;
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
    double best = last_number_after(out, "best val loss:  ");
    CHECKF(rc == 0, "info: %s", err);
    CHECK_CLOSE(best, val, 6e-5, 0);
    free(out);
    free(err);
}

static void test_converge_lstm(void) { converge("lstm", 0.70); } /* observed 0.354 */
static void test_converge_gru(void) { converge("gru", 0.50); }   /* observed 0.239 */
static void test_converge_rnn(void) { converge("rnn", 0.60); }   /* observed 0.279 */

/* ---- 3. resume equals uninterrupted training ----------------------------------------------- */

/* train.jsonl lines without the timing field, and without the start lines (where a run starts
 * or resumes: its device and precision, not its trajectory). */
static char *jsonl_without_timing(const char *path, int *ntrain) {
    char *s = t_read_file(path, NULL);
    if (!s) return NULL;
    char *o = malloc(strlen(s) + 1), *w = o;
    *ntrain = 0;
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *dev = strstr(p, "\"device\":");
        if (dev && dev < p + n) {
            p += n + (e ? 1 : 0);
            continue;
        }
        const char *t = strstr(p, ",\"ms_per_iter\":");
        if (t && t < p + n) {
            memcpy(w, p, (size_t)(t - p));
            w += t - p;
            *w++ = '}';
        } else {
            memcpy(w, p, n);
            w += n;
        }
        if (strstr(p, "\"train_loss\"") && strstr(p, "\"train_loss\"") < p + n) (*ntrain)++;
        *w++ = '\n';
        p += n + (e ? 1 : 0);
    }
    *w = 0;
    free(s);
    return o;
}

/* The tensor bytes of a safetensors file (everything after the header). */
static char *tensor_bytes(const char *path, size_t *n) {
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

static void resume_case(const char *tag, const char *corpus, const char *opts, const char *expect_in_log) {
    char *da = t_fmt("%s", t_path(tag)), *db = t_fmt("%s_b", da);
    /* float32 pinned: the three runs must not differ in what auto would pick */
    const char *common = "--eval-val-every 20 --print-every 1 --threads 1 --precision fp32";
    char *ea, *eb, *ec;
    int ra = t_cli(NULL, &ea, "train '%s' %s %s --max-iters 40 --checkpoint-dir '%s'", corpus, opts, common, da);
    int rb = t_cli(NULL, &eb, "train '%s' %s %s --max-iters 20 --checkpoint-dir '%s'", corpus, opts, common, db);
    int rc = t_cli(NULL, &ec, "train '%s' --resume '%s/latest.safetensors' %s --max-iters 40 --checkpoint-dir '%s'", corpus,
                 db, common, db);
    CHECKF(ra == 0 && rb == 0 && rc == 0, "%s: exits %d %d %d: %s | %s | %s", tag, ra, rb, rc, ea, eb, ec);
    CHECKF(strstr(ec, "resuming") && strstr(ec, "at iteration 20"), "%s: no 'resuming ... at iteration 20': %s", tag, ec);
    free(ea);
    free(eb);
    free(ec);

    /* the same losses at every iteration (printed to 6 decimals), the same validations */
    char *la = t_fmt("%s/train.jsonl", da), *lb = t_fmt("%s/train.jsonl", db);
    int na = 0, nb = 0;
    char *ja = jsonl_without_timing(la, &na), *jb = jsonl_without_timing(lb, &nb);
    CHECKF(ja && jb && na == 40 && nb == 40, "%s: %d and %d train lines, expected 40", tag, na, nb);
    CHECKF(!expect_in_log || (ja && strstr(ja, expect_in_log)), "%s: the log lacks %s", tag, expect_in_log);
    if (ja && jb && strcmp(ja, jb)) {
        const char *p = ja, *q = jb;
        while (*p && *p == *q) p++, q++;
        while (p > ja && p[-1] != '\n') p--, q--;
        CHECKF(0, "%s: the resumed log differs from the uninterrupted one at\n      A: %.160s\n      B: %.160s", tag, p, q);
    }
    free(ja);
    free(jb);
    free(la);
    free(lb);

    /* bitwise the same tensors: weights, optimizer moments, carried state, loss history */
    char *ca = t_fmt("%s/latest.safetensors", da), *cb = t_fmt("%s/latest.safetensors", db);
    size_t sa, sb;
    char *ta = tensor_bytes(ca, &sa), *tb = tensor_bytes(cb, &sb);
    CHECKF(ta && tb && sa == sb && sa > 0 && memcmp(ta, tb, sa) == 0,
           "%s: the tensors of the resumed checkpoint differ from the uninterrupted run's (%zu vs %zu bytes)", tag, sa, sb);
    free(ta);
    free(tb);

    /* and eval of both prints the same numbers */
    char *oa, *ob;
    ra = t_cli(&oa, &ea, "eval '%s' '%s' --precision fp32", ca, corpus);
    rb = t_cli(&ob, &eb, "eval '%s' '%s' --precision fp32", cb, corpus);
    const char *pa = strchr(oa, ':'), *pb = strchr(ob, ':');
    CHECKF(ra == 0 && rb == 0 && pa && pb && strcmp(pa, pb) == 0, "%s: eval differs: A %s %s | B %s %s", tag, oa, ea, ob,
           eb);
    free(oa);
    free(ob);
    free(ea);
    free(eb);
    free(ca);
    free(cb);
    free(da);
    free(db);
}

/* RMSProp on a corpus of 15 iterations per epoch: the resume at 20 is mid-epoch,
 * the epoch ends at 30 reset the state and decay the learning rate (decay after 1). */
static void test_resume_rmsprop_epochs(void) {
    resume_case("cv_res_rms", cat2k_corpus(),
                "--model lstm --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 "
                "--learning-rate-decay 0.5 --learning-rate-decay-after 1",
                "\"learning_rate\":0.0005}"); /* decayed at iterations 15 and 30 */
}

/* Dropout: the dropout RNG must be restored. */
static void test_resume_dropout(void) {
    resume_case("cv_res_drop", cat_corpus(),
                "--model gru --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --dropout 0.3", NULL);
}

/* Adam: both moments and the step count must be restored. */
static void test_resume_adam(void) {
    resume_case("cv_res_adam", cat_corpus(),
                "--model lstm --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --optim adam "
                "--dropout 0.1 --clip-mode norm", NULL);
}

/* A warm-up across the resume and two epoch ends, step decay under it, decoupled weight decay:
 * the schedule's running rate and settings come back from the checkpoint. */
static void test_resume_warmup_weight_decay(void) {
    resume_case("cv_res_wd", cat2k_corpus(),
                "--model lstm --rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 16 --optim adam "
                "--warmup-iters 32 --weight-decay 0.5 --learning-rate-decay 0.5 --learning-rate-decay-after 1",
                "\"learning_rate\":0.0005}"); /* decayed at iterations 15 and 30, the warm-up over by 32 */
}

/* ---- 8. the built-in corpus --------------------------------------------------------------------- */

static void test_builtin_corpus(void) {
    const char *dir = t_path("cv_builtin");
    char *err;
    int rc = t_cli(NULL, &err, "train --max-iters 3 --checkpoint-dir '%s'", dir);
    CHECKF(rc == 0, "train on the built-in corpus: exit %d: %s", rc, err);
    CHECKF(strstr(err, "built-in corpus"), "stderr should say it uses the built-in corpus: %s", err);
    free(err);
    char *ck = t_fmt("%s/latest.safetensors", dir), *lg = t_fmt("%s/train.jsonl", dir);
    CHECKF(file_exists(ck), "no %s", ck);
    size_t len;
    char *j = t_read_file(lg, &len);
    CHECKF(j && len > 0, "no or empty %s", lg);
    int lines = 0, val = 0, last_iter3 = 0;
    for (char *p = j; j && *p;) {
        char *e = strchr(p, '\n');
        CHECKF(e != NULL, "the last line of train.jsonl is not terminated: %s", p);
        if (!e) break;
        *e = 0;
        lines++;
        size_t n = strlen(p);
        CHECKF(n >= 2 && p[0] == '{' && p[n - 1] == '}', "line %d is not one JSON object: [%s]", lines, p);
        char msg[128];
        json_doc *d = json_parse(p, n, msg, sizeof msg);
        CHECKF(d != NULL, "line %d does not parse as JSON (%s): [%s]", lines, msg, p);
        if (d) {
            const json_value *r = json_root(d);
            double it;
            CHECKF(r->type == JSON_OBJECT && json_get_number(r, "iteration", &it) == 0, "line %d lacks iteration: %s",
                   lines, p);
            if (json_get(r, "val_loss")) val++;
            if (json_get(r, "train_loss") && it == 3) last_iter3 = 1;
            json_free(d);
        }
        p = e + 1;
    }
    CHECKF(lines >= 3 && val == 1 && last_iter3, "expected train lines up to iteration 3 and one validation: %d lines",
           lines);
    free(j);
    /* and the checkpoint samples */
    char *out;
    rc = t_cli(&out, &err, "sample '%s' --length 20 --verbose 0", ck);
    CHECKF(rc == 0 && strlen(out) >= 21, "sampling the built-in model: exit %d: %s", rc, err);
    free(out);
    free(err);
    free(ck);
    free(lg);
}

/* ---- 9. checkpoints are safetensors --------------------------------------------------------------- */

static void test_safetensors_layout(void) {
    const char *m = small_model();
    if (!m) return;
    size_t len;
    char *s = t_read_file(m, &len);
    if (!CHECK(s && len > 8)) { free(s); return; }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | (unsigned char)s[i];
    CHECKF(n > 2 && n <= len - 8, "header length %llu, file %zu bytes", (unsigned long long)n, len);
    if (n > len - 8) { free(s); return; }
    const char *h = s + 8;
    CHECKF(h[0] == '{', "the header does not start with '{'");
    char *hdr = malloc((size_t)n + 1);
    memcpy(hdr, h, (size_t)n);
    hdr[n] = 0;
    static const char *keys[] = {"\"weight_ih_l0\"", "\"weight_hh_l0\"", "\"bias_ih_l0\"", "\"bias_hh_l0\"",
                                 "\"decoder.weight\"", "\"decoder.bias\"", "\"__metadata__\"", "\"format_version\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECKF(strstr(hdr, keys[i]), "the header lacks %s", keys[i]);

    char msg[200];
    json_doc *d = json_parse(hdr, (size_t)n, msg, sizeof msg);
    CHECKF(d != NULL, "the header is not JSON: %s", msg);
    if (d) {
        const json_value *r = json_root(d);
        const json_value *meta = json_get(r, "__metadata__");
        CHECKF(meta && meta->type == JSON_OBJECT, "__metadata__ is not an object");
        /* safetensors metadata is a string -> string map */
        for (size_t i = 0; meta && i < meta->len; i++)
            CHECKF(meta->items[i].type == JSON_STRING, "__metadata__.%s is not a string", meta->keys[i]);
        const char *fv;
        CHECKF(meta && json_get_string(meta, "format_version", &fv) == 0 && !strcmp(fv, "1"),
               "format_version should be the string \"1\"");
        /* every tensor: a known dtype, data_offsets inside the data block, consistent with its shape;
         * together they cover the data block */
        size_t data = len - 8 - (size_t)n, covered = 0;
        for (size_t i = 0; i < r->len; i++) {
            if (!strcmp(r->keys[i], "__metadata__")) continue;
            const json_value *t = &r->items[i];
            const char *dt;
            const json_value *shape = json_get(t, "shape"), *off = json_get(t, "data_offsets");
            int ok = t->type == JSON_OBJECT && json_get_string(t, "dtype", &dt) == 0 && !strcmp(dt, "F32") && shape &&
                     shape->type == JSON_ARRAY && off && off->type == JSON_ARRAY && off->len == 2;
            CHECKF(ok, "tensor %s is malformed", r->keys[i]);
            if (!ok) continue;
            double elems = 1;
            for (size_t k = 0; k < shape->len; k++) elems *= shape->items[k].number;
            double b = off->items[0].number, e = off->items[1].number;
            CHECKF(b >= 0 && e >= b && e <= (double)data && e - b == 4 * elems,
                   "tensor %s: data_offsets [%g, %g] do not fit its shape (%g elements) or the %zu data bytes", r->keys[i],
                   b, e, elems, data);
            covered += (size_t)(e - b);
        }
        CHECKF(covered == data, "the tensors cover %zu of %zu data bytes", covered, data);
        /* PyTorch's shapes: weight_ih_l0 is [4H, V], decoder.weight [V, H] */
        const json_value *w = json_get(r, "weight_ih_l0"), *dw = json_get(r, "decoder.weight");
        const json_value *ws = w ? json_get(w, "shape") : NULL, *ds = dw ? json_get(dw, "shape") : NULL;
        CHECKF(ws && ws->len == 2 && ws->items[0].number == 4 * 32 && ws->items[1].number == cat_vocab,
               "weight_ih_l0 should be [128, %d]", cat_vocab);
        CHECKF(ds && ds->len == 2 && ds->items[0].number == cat_vocab && ds->items[1].number == 32,
               "decoder.weight should be [%d, 32]", cat_vocab);
        json_free(d);
    }
    free(hdr);
    free(s);
}

void register_cli_train_tests(void) {
    t_register("cli_converge_lstm", test_converge_lstm);
    t_register("cli_converge_gru", test_converge_gru);
    t_register("cli_converge_rnn", test_converge_rnn);
    t_register("cli_resume_rmsprop_epochs", test_resume_rmsprop_epochs);
    t_register("cli_resume_dropout", test_resume_dropout);
    t_register("cli_resume_adam", test_resume_adam);
    t_register("cli_resume_warmup_weight_decay", test_resume_warmup_weight_decay);
    t_register("cli_builtin_corpus", test_builtin_corpus);
    t_register("cli_safetensors_layout", test_safetensors_layout);
}
