/* checkpoint.c: models and training runs as *.safetensors files. Weights carry
 * PyTorch's names (weight_ih_l0, ..., decoder.weight), so any safetensors reader
 * can load them into torch.nn.LSTM/GRU/RNN + nn.Linear. __metadata__ holds the
 * format version, the model config, the vocabulary, the training options and
 * the training state; the optimizer moments, the carried hidden state and the
 * loss history are tensors, so --resume continues bit for bit. Everything read
 * back is validated as the command line is: the checksum only catches accidents
 * (anyone can recompute it), so an edited file must not get further than a
 * message naming the file and the field. */
#include "checkpoint.h"
#include "common.h"
#include "defaults.h"
#include "files.h"
#include "json.h"
#include "ngram.h"
#include "safetensors.h"
#include "sealed.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- integrity -------------------------------------------------------------------- */

/* A sealed file (sealed.h): a truncated, bit-flipped or hand-edited checkpoint
 * is refused on load. */
static const char *const SEALED_KEYS[] = {"config", "vocab", "train_options", "train_state"};
const sealed_format CKPT_FORMAT = {
    .format = "charrnn", .version = CHARRNN_FORMAT_VERSION, .what = "checkpoint",
    .keys = SEALED_KEYS, .nkeys = (int)(sizeof SEALED_KEYS / sizeof SEALED_KEYS[0]),
    .remedy = "use another checkpoint, e.g. the previous latest or best",
    .other_format = NGRAM_FORMAT,
    .other_is = "an n-gram model (charrnn ngram --save), not a network checkpoint; charrnn eval and charrnn sample "
                "read both, this needs a network",
};

/* ---- writing --------------------------------------------------------------------- */

static void write_config(jbuf *b, const charrnn_model *m) {
    const model *net = &m->net;
    jb_printf(b, "{\"model\":\"%s\",\"num_layers\":%d,\"rnn_size\":%d,\"dropout\":", charrnn_cell_name(net->cfg.cell),
              net->L, net->H);
    jb_number(b, net->cfg.dropout);
    jb_printf(b, ",\"vocab_size\":%d,\"unit\":\"%s\"}", net->V, unit_name(m->unit));
}

static void write_vocab(jbuf *b, const charrnn_model *m) {
    jb_raw(b, "[");
    for (int i = 0; i < m->vocab_size; i++) jb_printf(b, i ? ",%u" : "%u", m->vocab[i]);
    jb_raw(b, "]");
}

static void write_options(jbuf *b, const charrnn_train_options *o) {
    jb_printf(b, "{\"unit\":\"%s\",\"batch_size\":%d,\"seq_length\":%d,\"optim\":\"%s\",\"clip_mode\":\"%s\"",
              unit_name(o->unit), o->batch_size, o->seq_length, charrnn_optim_name(o->optim),
              o->clip_mode == CHARRNN_CLIP_NORM ? "norm" : "value");
    const struct { const char *k; double v; } nums[] = {
        {"train_frac", o->train_frac}, {"val_frac", o->val_frac}, {"learning_rate", o->learning_rate},
        {"decay_rate", o->decay_rate}, {"beta1", o->beta1}, {"beta2", o->beta2},
        {"learning_rate_decay", o->learning_rate_decay}, {"learning_rate_decay_after", o->learning_rate_decay_after},
        {"grad_clip", o->grad_clip}, {"max_epochs", o->max_epochs}, {"max_iters", (double)o->max_iters},
        {"eval_val_every", (double)o->eval_val_every}, {"skip_nonfinite", (double)o->skip_nonfinite},
        {"val_max_chars", (double)o->val_max_chars}, {"min_lr", o->min_lr},
        {"warmup_iters", (double)o->warmup_iters}, {"weight_decay", o->weight_decay},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        jb_printf(b, ",\"%s\":", nums[i].k);
        jb_number(b, nums[i].v);
    }
    jb_printf(b, ",\"lr_schedule\":\"%s\"", charrnn_lr_schedule_name(o->lr_schedule));
    jb_printf(b, ",\"seed\":\"%" PRIu64 "\"}", o->seed);
}

static void write_state(jbuf *b, const charrnn_model *m, const ckpt_run *r) {
    jb_printf(b, "{\"iteration\":%ld,\"epoch\":", r->iteration);
    jb_number(b, (double)r->iteration / (double)r->iters_per_epoch);
    jb_raw(b, ",\"learning_rate\":");
    jb_number(b, r->lr);
    jb_raw(b, ",\"schedule_lr\":");
    jb_number(b, r->schedule_lr);
    jb_printf(b, ",\"optim_step\":%ld,\"rng_dropout\":[\"%016" PRIx64 "\",\"%016" PRIx64 "\"]", r->optim_step,
              r->drop_rng.state, r->drop_rng.inc);
    jb_printf(b, ",\"skipped_nonfinite\":%ld,\"train_loss\":", r->skipped);
    jb_number(b, m->train_loss);
    jb_printf(b, ",\"corpus_chars\":%zu,\"corpus_checksum\":\"%016" PRIx64 "\",\"run_id\":\"%016" PRIx64 "\",\"val_history\":[",
              r->corpus_chars, r->corpus_checksum, r->run_id);
    for (int i = 0; i < m->num_history; i++) {
        jb_printf(b, i ? ",[%ld," : "[%ld,", m->history[i].iteration);
        jb_number(b, m->history[i].loss);
        jb_raw(b, "]");
    }
    jb_raw(b, "]}");
}

int checkpoint_save(const charrnn_model *m, const ckpt_run *r, const char *path, charrnn_error *err) {
    const model *net = &m->net;
    jbuf cfg, voc, opts, state;
    jb_init(&cfg);
    jb_init(&voc);
    jb_init(&opts);
    jb_init(&state);
    write_config(&cfg, m);
    write_vocab(&voc, m);
    write_options(&opts, &r->opt);
    write_state(&state, m, r);
    const char *values[] = {cfg.buf, voc.buf, opts.buf, state.buf};
    st_tensor ts[MAX_PARAM_TENSORS + 8];
    int n = 0;
    for (int i = 0; i < net->num_views; i++) {
        const param_view *v = &net->views[i];
        ts[n] = (st_tensor){.name = v->name, .dtype = ST_F32, .ndim = v->ndim,
                            .shape = {v->shape[0], v->shape[1]}, .data = model_params(net) + v->offset,
                            .nbytes = v->size * sizeof(float)};
        n++;
    }
    const int64_t np = (int64_t)net->num_params;
    if (r->m1)
        ts[n++] = (st_tensor){.name = "optim.m1", .dtype = ST_F32, .ndim = 1, .shape = {np}, .data = r->m1,
                              .nbytes = (size_t)np * 4};
    if (r->m2)
        ts[n++] = (st_tensor){.name = "optim.m2", .dtype = ST_F32, .ndim = 1, .shape = {np}, .data = r->m2,
                              .nbytes = (size_t)np * 4};
    const int B = r->opt.batch_size;
    const size_t state_n = (size_t)net->L * B * net->H;
    ts[n++] = (st_tensor){.name = "state.h", .dtype = ST_F32, .ndim = 3, .shape = {net->L, B, net->H},
                          .data = r->state_h, .nbytes = state_n * 4};
    ts[n++] = (st_tensor){.name = "state.c", .dtype = ST_F32, .ndim = 3, .shape = {net->L, B, net->H},
                          .data = r->state_c, .nbytes = state_n * 4};
    ts[n++] = (st_tensor){.name = "history.train_loss", .dtype = ST_F32, .ndim = 1, .shape = {r->iteration},
                          .data = r->loss_history, .nbytes = (size_t)r->iteration * 4};
    int rc;
    if (cfg.oom || voc.oom || opts.oom || state.oom)
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory writing checkpoint %s", path);
    else /* a checkpoint is a regular file: a device or FIFO at its path is refused, a link replaced */
        rc = sealed_write(path, FILE_OUT_REGULAR, &CKPT_FORMAT, values, ts, n, err);
    jb_free(&cfg);
    jb_free(&voc);
    jb_free(&opts);
    jb_free(&state);
    return rc;
}

/* ---- reading --------------------------------------------------------------------- */

static int parse_meta_json(const st_file *f, const char *path, const char *key, json_doc **out, charrnn_error *err) {
    const char *s = st_get_meta(f, key);
    if (!s) return cr_fail(err, CHARRNN_EFORMAT, "%s is not a complete charrnn checkpoint: metadata \"%s\" is missing", path, key);
    char msg[300];
    *out = json_parse(s, strlen(s), msg, sizeof msg);
    if (!*out) return cr_fail(err, CHARRNN_EFORMAT, "%s: metadata \"%s\" is not valid JSON: %s", path, key, msg);
    return CHARRNN_OK;
}

static int bad_field(charrnn_error *err, const char *path, const char *where, const char *field) {
    return cr_fail(err, CHARRNN_EFORMAT, "%s: %s field \"%s\" is missing or invalid; the checkpoint is damaged", path,
                   where, field);
}

int checkpoint_open(ckpt_file *ck, const char *path, charrnn_error *err) {
    ck->path = path;
    return sealed_open(path, &CKPT_FORMAT, &ck->st, err);
}

void checkpoint_close(ckpt_file *ck) {
    st_close(ck->st);
    ck->st = NULL;
}

/* An integer field within [lo, hi]. */
static int get_int(const json_value *obj, const char *key, double lo, double hi, double *out) {
    double v;
    if (json_get_number(obj, key, &v) || v != floor(v) || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* A string of 1 to 16 hex digits as a 64-bit value. */
static int get_hex64(const json_value *v, uint64_t *out) {
    if (!v || v->type != JSON_STRING || v->len < 1 || v->len > 16) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->str[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        x = x << 4 | (uint64_t)d;
    }
    *out = x;
    return 0;
}

static int read_config(const st_file *f, const char *path, charrnn_model_config *mc, int *V, charrnn_unit *unit,
                       charrnn_error *err) {
    json_doc *d;
    int rc = parse_meta_json(f, path, "config", &d, err);
    if (rc) return rc;
    const json_value *r = json_root(d);
    const char *cell, *u;
    double layers, size, dropout, vs;
    charrnn_model_config_default(mc);
    if (json_get_string(r, "model", &cell) || parse_cell(cell) < 0) rc = bad_field(err, path, "config", "model");
    else if (get_int(r, "num_layers", INT_MIN, INT_MAX, &layers)) rc = bad_field(err, path, "config", "num_layers");
    else if (get_int(r, "rnn_size", INT_MIN, INT_MAX, &size)) rc = bad_field(err, path, "config", "rnn_size");
    else if (json_get_number(r, "dropout", &dropout) || !(dropout >= 0 && (float)dropout < 1)) /* kept as a float */
        rc = bad_field(err, path, "config", "dropout");
    else if (get_int(r, "vocab_size", 1, 0x110000, &vs)) rc = bad_field(err, path, "config", "vocab_size");
    else if (json_get_string(r, "unit", &u) || parse_unit(u) < 0) rc = bad_field(err, path, "config", "unit");
    else {
        mc->cell = (charrnn_cell)parse_cell(cell);
        mc->num_layers = (int)layers;
        mc->rnn_size = (int)size;
        mc->dropout = (float)dropout;
        *V = (int)vs;
        *unit = (charrnn_unit)parse_unit(u);
        if (*unit == CHARRNN_UNIT_BYTE && *V > 256) rc = bad_field(err, path, "config", "vocab_size");
        else rc = check_model_config(mc, path, err); /* the shape's limits, said in the message */
    }
    json_free(d);
    return rc;
}

static int read_vocab(const st_file *f, const char *path, int V, charrnn_unit unit, uint32_t **out, charrnn_error *err) {
    json_doc *d;
    int rc = parse_meta_json(f, path, "vocab", &d, err);
    if (rc) return rc;
    const json_value *r = json_root(d);
    if (r->type != JSON_ARRAY || (int)r->len != V) {
        json_free(d);
        return cr_fail(err, CHARRNN_EFORMAT, "%s: the vocabulary does not hold vocab_size = %d entries; the checkpoint is damaged", path, V);
    }
    uint32_t *vocab = cr_malloc((size_t)V, sizeof(uint32_t));
    if (!vocab) { json_free(d); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    double limit = unit == CHARRNN_UNIT_BYTE ? 255 : 0x10FFFF;
    for (int i = 0; i < V; i++) {
        const json_value *e = &r->items[i];
        if (e->type != JSON_NUMBER || e->number < 0 || e->number > limit || e->number != floor(e->number) ||
            (e->number >= 0xD800 && e->number <= 0xDFFF && unit != CHARRNN_UNIT_BYTE) ||
            (i > 0 && (uint32_t)e->number <= vocab[i - 1])) {
            free(vocab);
            json_free(d);
            return cr_fail(err, CHARRNN_EFORMAT, "%s: vocabulary entry %d is not a strictly ascending character code; the checkpoint is damaged", path, i);
        }
        vocab[i] = (uint32_t)e->number;
    }
    json_free(d);
    *out = vocab;
    return CHARRNN_OK;
}

static int read_options(const st_file *f, const char *path, charrnn_train_options *o, charrnn_error *err) {
    json_doc *d;
    int rc = parse_meta_json(f, path, "train_options", &d, err);
    if (rc) return rc;
    const json_value *r = json_root(d);
    charrnn_train_options_default(o);
    const char *s;
    double v;
    int k;
    struct { const char *k; double *dst; } dnums[] = {
        {"train_frac", &o->train_frac}, {"val_frac", &o->val_frac}, {"learning_rate", &o->learning_rate},
        {"decay_rate", &o->decay_rate}, {"beta1", &o->beta1}, {"beta2", &o->beta2},
        {"learning_rate_decay", &o->learning_rate_decay}, {"learning_rate_decay_after", &o->learning_rate_decay_after},
        {"grad_clip", &o->grad_clip}, {"max_epochs", &o->max_epochs},
    };
    for (size_t i = 0; i < sizeof dnums / sizeof dnums[0] && !rc; i++)
        if (json_get_number(r, dnums[i].k, dnums[i].dst)) rc = bad_field(err, path, "train_options", dnums[i].k);
    if (rc) goto done;
    struct { const char *k; double lo, hi; } ints[] = {
        {"batch_size", 1, MAX_BATCH}, {"seq_length", 1, MAX_SEQ}, {"max_iters", 0, (double)MAX_ITERS},
        {"eval_val_every", 1, (double)MAX_ITERS},
    };
    double iv[4];
    for (int i = 0; i < 4; i++)
        if (get_int(r, ints[i].k, ints[i].lo, ints[i].hi, &iv[i])) { rc = bad_field(err, path, "train_options", ints[i].k); goto done; }
    o->batch_size = (int)iv[0];
    o->seq_length = (int)iv[1];
    o->max_iters = (long)iv[2];
    o->eval_val_every = (long)iv[3];
    if (json_get(r, "skip_nonfinite")) {
        if (get_int(r, "skip_nonfinite", 0, (double)MAX_ITERS, &v)) { rc = bad_field(err, path, "train_options", "skip_nonfinite"); goto done; }
        o->skip_nonfinite = (long)v;
    }
    o->val_max_chars = 0; /* a checkpoint from before the option validated on the whole block */
    if (json_get(r, "val_max_chars")) {
        if (get_int(r, "val_max_chars", 0, 1e12, &v)) { rc = bad_field(err, path, "train_options", "val_max_chars"); goto done; }
        o->val_max_chars = (long)v;
    }
    /* the schedule and weight decay: absent from checkpoints made before them (char-rnn's step, none) */
    if (json_get(r, "warmup_iters")) {
        if (get_int(r, "warmup_iters", 0, (double)MAX_ITERS, &v)) { rc = bad_field(err, path, "train_options", "warmup_iters"); goto done; }
        o->warmup_iters = (long)v;
    }
    if (json_get(r, "min_lr") && json_get_number(r, "min_lr", &o->min_lr)) { rc = bad_field(err, path, "train_options", "min_lr"); goto done; }
    if (json_get(r, "weight_decay") && json_get_number(r, "weight_decay", &o->weight_decay)) {
        rc = bad_field(err, path, "train_options", "weight_decay");
        goto done;
    }
    if (json_get(r, "lr_schedule")) {
        if (json_get_string(r, "lr_schedule", &s) || (k = parse_lr_schedule(s)) < 0) { rc = bad_field(err, path, "train_options", "lr_schedule"); goto done; }
        o->lr_schedule = (charrnn_lr_schedule)k;
    }
    if (json_get_string(r, "unit", &s) || (k = parse_unit(s)) < 0) { rc = bad_field(err, path, "train_options", "unit"); goto done; }
    o->unit = (charrnn_unit)k;
    if (json_get_string(r, "optim", &s) || (k = parse_optim(s)) < 0) { rc = bad_field(err, path, "train_options", "optim"); goto done; }
    o->optim = (charrnn_optim)k;
    if (json_get_string(r, "clip_mode", &s) || (k = parse_clip_mode(s)) < 0) { rc = bad_field(err, path, "train_options", "clip_mode"); goto done; }
    o->clip_mode = (charrnn_clip_mode)k;
    if (json_get_string(r, "seed", &s) || !*s || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s)) {
        rc = bad_field(err, path, "train_options", "seed");
        goto done;
    }
    uint64_t seed = 0;
    for (const char *p = s; *p; p++) {
        if (seed > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) { rc = bad_field(err, path, "train_options", "seed"); goto done; }
        seed = seed * 10 + (uint64_t)(*p - '0');
    }
    o->seed = seed;
    rc = check_run_settings(NULL, o, path, err);
done:
    json_free(d);
    return rc;
}

/* Copies a float tensor of the given shape out of the file, or fails. */
/* What a tensor's values must be: anything (the loss history: a skipped step is
 * NaN), finite (weights, Adam's mean, the carried state), or finite and not
 * negative (a mean or sum of squared gradients). */
enum { VALUES_ANY, VALUES_FINITE, VALUES_SQUARES };

static int read_tensor(const st_file *f, const char *path, const char *name, int ndim, const int64_t *shape,
                       float *dst, int values, charrnn_error *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" is missing; the checkpoint is damaged or not from charrnn", path, name);
    int ok = t->dtype == ST_F32 && t->ndim == ndim;
    size_t n = 1;
    for (int i = 0; ok && i < ndim; i++) { ok = t->shape[i] == shape[i]; n *= (size_t)shape[i]; }
    if (!ok) {
        char want[64] = "", got[64] = "";
        for (int i = 0; i < ndim; i++) snprintf(want + strlen(want), sizeof want - strlen(want), i ? ", %" PRId64 : "%" PRId64, shape[i]);
        for (int i = 0; i < t->ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), i ? ", %" PRId64 : "%" PRId64, t->shape[i]);
        return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" is %s [%s], expected F32 [%s] for this model's config",
                       path, name, st_dtype_name(t->dtype), got, want);
    }
    memcpy(dst, t->data, n * sizeof(float));
    for (size_t i = 0; values != VALUES_ANY && i < n; i++) {
        if (!isfinite(dst[i]))
            return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" holds NaN or infinite values (element %zu); the "
                           "checkpoint is damaged: use an earlier one", path, name, i);
        if (values == VALUES_SQUARES && dst[i] < 0)
            return cr_fail(err, CHARRNN_EFORMAT, "%s: tensor \"%s\" holds a negative value (element %zu), which a "
                           "mean of squared gradients cannot be; the checkpoint is damaged: use an earlier one", path, name, i);
    }
    return CHARRNN_OK;
}

static void keep_grad_ms(const ckpt_file *ck, charrnn_model *m, const charrnn_train_options *opt);

static void copy_meta(charrnn_model *m, const st_file *f) {
    int n = st_num_meta(f);
    m->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    m->meta_values = calloc((size_t)n + 1, sizeof(char *));
    if (!m->meta_keys || !m->meta_values) return;
    for (int i = 0; i < n; i++) {
        const st_meta *e = st_meta_at(f, i);
        m->meta_keys[i] = strdup(e->key);
        m->meta_values[i] = strdup(e->value);
        if (!m->meta_keys[i] || !m->meta_values[i]) break;
        m->num_meta = i + 1;
    }
}

int checkpoint_read_options(const ckpt_file *ck, charrnn_model_config *mc, charrnn_train_options *opt,
                            charrnn_error *err) {
    int V;
    charrnn_unit unit;
    int rc = read_config(ck->st, ck->path, mc, &V, &unit, err);
    return rc ? rc : read_options(ck->st, ck->path, opt, err);
}

/* The recorded train loss of every iteration must be there: this bounds the
 * iteration count by the file's own bytes before anything is sized from it. */
static int check_history_tensor(const st_file *f, const char *path, double iteration, charrnn_error *err) {
    const st_tensor *t = st_find(f, "history.train_loss");
    if (!t || t->dtype != ST_F32 || t->ndim != 1 || (double)t->shape[0] != iteration)
        return cr_fail(err, CHARRNN_EFORMAT,
                       "%s: train_state field \"iteration\" is %.0f but tensor \"history.train_loss\" does not hold that "
                       "many losses; the checkpoint was damaged or edited", path, iteration);
    return CHARRNN_OK;
}

static int read_train_state(const st_file *f, const char *path, charrnn_model *m, charrnn_error *err) {
    json_doc *d;
    int rc = parse_meta_json(f, path, "train_state", &d, err);
    if (rc) return rc;
    const json_value *r = json_root(d);
    double it, ep, lr;
    const char *field = NULL;
    if (get_int(r, "iteration", 0, (double)MAX_ITERS, &it)) field = "iteration";
    else if (json_get_number(r, "epoch", &ep) || !(ep >= 0 && ep < 1e18)) field = "epoch";
    else if (json_get_number(r, "learning_rate", &lr) || !(lr >= 0 && lr < 1e3)) field = "learning_rate"; /* cosine may end at 0 */
    if (field) { json_free(d); return bad_field(err, path, "train_state", field); }
    if ((rc = check_history_tensor(f, path, it, err))) { json_free(d); return rc; }
    m->iteration = (long)it;
    m->epoch = ep;
    m->learning_rate = lr;
    const json_value *tl = json_get(r, "train_loss");
    m->train_loss = tl && tl->type == JSON_NUMBER ? tl->number : NAN;
    uint64_t id = 0;
    m->run_id = get_hex64(json_get(r, "run_id"), &id) == 0 ? id : 0;
    const json_value *h = json_get(r, "val_history");
    if (!h || h->type != JSON_ARRAY) { json_free(d); return bad_field(err, path, "train_state", "val_history"); }
    m->num_history = 0;
    for (size_t i = 0; i < h->len; i++) {
        const json_value *e = &h->items[i];
        if (e->type != JSON_ARRAY || e->len != 2 || e->items[0].type != JSON_NUMBER || e->items[0].number < 0 ||
            e->items[0].number > it || e->items[0].number != floor(e->items[0].number) ||
            (e->items[1].type != JSON_NUMBER && e->items[1].type != JSON_NULL)) {
            json_free(d);
            return bad_field(err, path, "train_state", "val_history");
        }
        double loss = e->items[1].type == JSON_NUMBER ? e->items[1].number : NAN;
        if (history_push(m, (long)e->items[0].number, loss)) { json_free(d); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    }
    json_free(d);
    return CHARRNN_OK;
}

int checkpoint_load(const ckpt_file *ck, charrnn_model **out, charrnn_error *err) {
    *out = NULL;
    const st_file *f = ck->st;
    const char *path = ck->path;
    int rc;
    charrnn_model_config mc;
    charrnn_train_options opt;
    int V = 0;
    charrnn_unit unit = CHARRNN_UNIT_CODEPOINT;
    uint32_t *vocab = NULL;
    charrnn_model *m = NULL;
    if ((rc = read_config(f, path, &mc, &V, &unit, err))) goto done;
    if ((rc = read_options(f, path, &opt, err))) goto done;
    if ((rc = read_vocab(f, path, V, unit, &vocab, err))) goto done;
    /* the config decides the allocation: it must be backed by the file's own bytes */
    double want = 4.0 * model_param_count(&mc, V), have = 0;
    for (int i = 0; i < st_num_tensors(f); i++) have += (double)st_tensor_at(f, i)->nbytes;
    if (want > have) {
        rc = cr_fail(err, CHARRNN_EFORMAT, "%s: its config (%d x %d %s, vocabulary %d) needs %.0f bytes of weights but the file holds %.0f; the checkpoint is damaged",
                     path, mc.num_layers, mc.rnn_size, charrnn_cell_name(mc.cell), V, want, have);
        goto done;
    }
    if ((rc = model_handle_new(&m, &mc, unit, vocab, V, err))) goto done;
    for (int i = 0; i < m->net.num_views && !rc; i++) {
        const param_view *v = &m->net.views[i];
        int64_t shape[2] = {v->shape[0], v->shape[1]};
        rc = read_tensor(f, path, v->name, v->ndim, shape, model_params(&m->net) + v->offset, VALUES_FINITE, err);
    }
    if (rc) goto done;
    model_weights_changed(&m->net);
    if ((rc = read_train_state(f, path, m, err))) goto done;
    m->eval_seq_length = opt.seq_length;
    m->train_frac = opt.train_frac;
    m->val_frac = opt.val_frac;
    copy_meta(m, f);
    m->path = strdup(path);
    keep_grad_ms(ck, m, &opt);
done:
    free(vocab);
    if (rc) charrnn_model_close(m);
    else *out = m;
    return rc;
}

int charrnn_model_load(charrnn_model **out, const char *path, charrnn_error *err) {
    *out = NULL;
    ckpt_file ck;
    int rc = checkpoint_open(&ck, path, err);
    if (rc) return rc;
    rc = checkpoint_load(&ck, out, err);
    checkpoint_close(&ck);
    return rc;
}

int charrnn_checkpoint_run_id(const char *path, uint64_t *run_id, charrnn_error *err) {
    *run_id = 0;
    char msg[600];
    st_file *f = st_open_header(path, msg, sizeof msg);
    if (!f) return cr_fail(err, CHARRNN_EFORMAT, "%s", msg);
    json_doc *d = NULL;
    int rc = sealed_check_header(f, path, &CKPT_FORMAT, err);
    if (!rc) rc = parse_meta_json(f, path, "train_state", &d, err);
    uint64_t id;
    if (!rc && get_hex64(json_get(json_root(d), "run_id"), &id) == 0) *run_id = id; /* none: from before run ids */
    json_free(d);
    st_close(f);
    return rc;
}

charrnn_file_type charrnn_file_kind(const char *path) {
    char msg[600];
    st_file *f = st_open_header(path, msg, sizeof msg);
    const char *format = st_get_meta(f, "format");
    charrnn_file_type kind = !format                          ? CHARRNN_FILE_UNKNOWN
                             : !strcmp(format, CKPT_FORMAT.format) ? CHARRNN_FILE_NETWORK
                             : !strcmp(format, NGRAM_FORMAT)   ? CHARRNN_FILE_NGRAM
                                                               : CHARRNN_FILE_UNKNOWN;
    st_close(f);
    return kind;
}

int checkpoint_restore_run(const ckpt_file *ck, const charrnn_model *m, ckpt_run *run, size_t expect_chars,
                           uint64_t expect_checksum, charrnn_error *err) {
    const st_file *f = ck->st;
    const char *path = ck->path;
    json_doc *d = NULL;
    int rc;
    const model *net = &m->net;
    if ((rc = parse_meta_json(f, path, "train_state", &d, err))) goto done;
    const json_value *r = json_root(d);
    double chars, step, skipped = 0;
    uint64_t sum;
    const json_value *rngv = json_get(r, "rng_dropout");
    if (get_int(r, "corpus_chars", 0, 9007199254740992.0, &chars) || get_hex64(json_get(r, "corpus_checksum"), &sum)) {
        rc = bad_field(err, path, "train_state", "corpus_chars");
        goto done;
    }
    if ((size_t)chars != expect_chars || sum != expect_checksum) {
        rc = cr_fail(err, CHARRNN_EMISMATCH,
                     "%s was trained on a different corpus (%.0f characters, checksum %016" PRIx64 ") than the one given "
                     "(%zu characters, checksum %016" PRIx64 "); resume with the same input file, or use --init-from to "
                     "start a new run from its weights",
                     path, chars, sum, expect_chars, expect_checksum);
        goto done;
    }
    if (get_int(r, "optim_step", 0, (double)m->iteration, &step)) { rc = bad_field(err, path, "train_state", "optim_step"); goto done; }
    if (json_get(r, "skipped_nonfinite") && get_int(r, "skipped_nonfinite", 0, (double)m->iteration, &skipped)) {
        rc = bad_field(err, path, "train_state", "skipped_nonfinite");
        goto done;
    }
    if (!rngv || rngv->type != JSON_ARRAY || rngv->len != 2 || get_hex64(&rngv->items[0], &run->drop_rng.state) ||
        get_hex64(&rngv->items[1], &run->drop_rng.inc) || !(run->drop_rng.inc & 1)) {
        rc = bad_field(err, path, "train_state", "rng_dropout");
        goto done;
    }
    run->optim_step = (long)step;
    run->skipped = (long)skipped;
    run->iteration = m->iteration;
    run->lr = m->learning_rate;
    run->schedule_lr = m->learning_rate; /* a checkpoint from before the schedules: the same */
    if (json_get(r, "schedule_lr") &&
        (json_get_number(r, "schedule_lr", &run->schedule_lr) || !(run->schedule_lr > 0 && run->schedule_lr < 1e3))) {
        rc = bad_field(err, path, "train_state", "schedule_lr");
        goto done;
    }
    if (!(run->schedule_lr > 0)) { rc = bad_field(err, path, "train_state", "learning_rate"); goto done; }
    run->run_id = m->run_id;
    run->corpus_chars = (size_t)chars;
    run->corpus_checksum = sum;
    int64_t np = (int64_t)net->num_params;
    /* RMSProp's and Adagrad's one moment is of squares, Adam's first its mean gradient */
    int m1_values = run->opt.optim == CHARRNN_ADAM ? VALUES_FINITE : VALUES_SQUARES;
    if (run->m1 && (rc = read_tensor(f, path, "optim.m1", 1, &np, run->m1, m1_values, err))) goto done;
    if (run->m2 && (rc = read_tensor(f, path, "optim.m2", 1, &np, run->m2, VALUES_SQUARES, err))) goto done;
    int64_t sshape[3] = {net->L, run->opt.batch_size, net->H};
    if ((rc = read_tensor(f, path, "state.h", 3, sshape, run->state_h, VALUES_FINITE, err))) goto done;
    if ((rc = read_tensor(f, path, "state.c", 3, sshape, run->state_c, VALUES_FINITE, err))) goto done;
    if ((rc = check_history_tensor(f, path, (double)run->iteration, err))) goto done;
    run->loss_history = cr_malloc((size_t)run->iteration, sizeof(float));
    if (!run->loss_history) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory reading the loss history of %s", path); goto done; }
    int64_t nh = run->iteration;
    if ((rc = read_tensor(f, path, "history.train_loss", 1, &nh, run->loss_history, VALUES_ANY, err))) {
        free(run->loss_history);
        run->loss_history = NULL;
    }
done:
    json_free(d);
    return rc;
}

/* ---- what dynamic evaluation needs ---------------------------------------------------- */

/* The mean squared gradient of every parameter during training, from the
 * optimizer's state (RMSProp's m1, Adam's bias-corrected m2, Adagrad's m1 /
 * steps): what dynamic evaluation normalises its steps with, kept on m at load
 * so that adapting never reads the file again. None for SGD; damaged moments
 * are kept as the error adapting reports. */
static void keep_grad_ms(const ckpt_file *ck, charrnn_model *m, const charrnn_train_options *opt) {
    const st_file *f = ck->st;
    const char *name = opt->optim == CHARRNN_ADAM ? "optim.m2" : "optim.m1";
    if (opt->optim == CHARRNN_SGD || !st_find(f, name)) return;
    const model *net = &m->net;
    float *ms = cr_malloc(net->num_params, sizeof(float));
    if (!ms) return; /* adapting then goes without, as for a checkpoint that has none */
    int64_t np = (int64_t)net->num_params;
    if (read_tensor(f, ck->path, name, 1, &np, ms, VALUES_SQUARES, &m->grad_ms_err)) {
        free(ms);
        return;
    }
    json_doc *d = NULL;
    double step = 0;
    charrnn_error ignored;
    if (opt->optim != CHARRNN_RMSPROP && !parse_meta_json(f, ck->path, "train_state", &d, &ignored) &&
        json_get_number(json_root(d), "optim_step", &step) == 0 && step >= 1) {
        /* Adam: E[g^2] is m2 / (1 - beta2^t); Adagrad: the sum over t steps */
        double scale = opt->optim == CHARRNN_ADAM ? 1.0 / (1.0 - pow(opt->beta2, step)) : 1.0 / step;
        for (size_t i = 0; i < net->num_params; i++) ms[i] = (float)(ms[i] * scale);
    }
    json_free(d);
    m->grad_ms = ms;
}
