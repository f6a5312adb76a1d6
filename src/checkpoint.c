/* checkpoint.c: models and training runs as *.safetensors files. Weights carry
 * PyTorch's names (weight_ih_l0, ..., decoder.weight), so any safetensors reader
 * can load them into torch.nn.LSTM/GRU/RNN + nn.Linear. __metadata__ holds the
 * format version, the model config, the vocabulary, the training options and
 * the training state; the optimizer moments, the carried hidden state and the
 * loss history are tensors, so --resume continues bit for bit. */
#include "common.h"
#include "internal.h"
#include "json.h"
#include "safetensors.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- integrity -------------------------------------------------------------------- */

/* FNV-1a 64 over the metadata values (in the order written) and the whole data
 * block: a truncated, bit-flipped or hand-edited checkpoint is refused on load. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}
#define FNV_OFFSET 14695981039346656037ULL
static const char *const CHECKSUMMED[] = {"format", "format_version", "config", "vocab", "train_options", "train_state"};
#define NUM_CHECKSUMMED (int)(sizeof CHECKSUMMED / sizeof CHECKSUMMED[0])

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
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        jb_printf(b, ",\"%s\":", nums[i].k);
        jb_number(b, nums[i].v);
    }
    jb_printf(b, ",\"seed\":\"%" PRIu64 "\"}", o->seed);
}

static void write_state(jbuf *b, const charrnn_trainer *t) {
    jb_printf(b, "{\"iteration\":%ld,\"epoch\":", t->iter);
    jb_number(b, (double)t->iter / (double)t->iters_per_epoch);
    jb_raw(b, ",\"learning_rate\":");
    jb_number(b, t->lr);
    jb_printf(b, ",\"optim_step\":%ld,\"rng_dropout\":[\"%016" PRIx64 "\",\"%016" PRIx64 "\"]", t->opt_state.step,
              t->drop_rng.state, t->drop_rng.inc);
    jb_printf(b, ",\"skipped_nonfinite\":%ld,\"train_loss\":", t->skipped);
    jb_number(b, t->m->train_loss);
    jb_printf(b, ",\"corpus_chars\":%zu,\"corpus_checksum\":\"%016" PRIx64 "\",\"val_history\":[", t->data.n,
              t->data.checksum);
    for (int i = 0; i < t->m->num_history; i++) {
        jb_printf(b, i ? ",[%ld," : "[%ld,", t->m->history[i].iteration);
        jb_number(b, t->m->history[i].loss);
        jb_raw(b, "]");
    }
    jb_raw(b, "]}");
}

int checkpoint_save(const charrnn_trainer *t, const char *path, charrnn_error *err) {
    const charrnn_model *m = t->m;
    const model *net = &m->net;
    jbuf cfg, voc, opts, state;
    jb_init(&cfg);
    jb_init(&voc);
    jb_init(&opts);
    jb_init(&state);
    write_config(&cfg, m);
    write_vocab(&voc, m);
    write_options(&opts, &t->opt);
    write_state(&state, t);
    char version[16];
    snprintf(version, sizeof version, "%d", CHARRNN_FORMAT_VERSION);
    char sum[40];
    st_meta meta[] = {
        {"format", "charrnn"}, {"format_version", version}, {"config", cfg.buf}, {"vocab", voc.buf},
        {"train_options", opts.buf}, {"train_state", state.buf}, {"checksum", sum},
    };
    st_tensor ts[MAX_PARAM_TENSORS + 8];
    int n = 0;
    for (int i = 0; i < net->num_views; i++) {
        const param_view *v = &net->views[i];
        ts[n] = (st_tensor){.name = v->name, .dtype = ST_F32, .ndim = v->ndim,
                            .shape = {v->shape[0], v->shape[1]}, .data = net->params + v->offset,
                            .nbytes = v->size * sizeof(float)};
        n++;
    }
    const int64_t np = (int64_t)net->num_params;
    if (t->opt_state.m1)
        ts[n++] = (st_tensor){.name = "optim.m1", .dtype = ST_F32, .ndim = 1, .shape = {np}, .data = t->opt_state.m1,
                              .nbytes = (size_t)np * 4};
    if (t->opt_state.m2)
        ts[n++] = (st_tensor){.name = "optim.m2", .dtype = ST_F32, .ndim = 1, .shape = {np}, .data = t->opt_state.m2,
                              .nbytes = (size_t)np * 4};
    const size_t state_n = (size_t)net->L * net->B * net->H;
    ts[n++] = (st_tensor){.name = "state.h", .dtype = ST_F32, .ndim = 3, .shape = {net->L, net->B, net->H},
                          .data = net->state_h, .nbytes = state_n * 4};
    ts[n++] = (st_tensor){.name = "state.c", .dtype = ST_F32, .ndim = 3, .shape = {net->L, net->B, net->H},
                          .data = net->state_c, .nbytes = state_n * 4};
    ts[n++] = (st_tensor){.name = "history.train_loss", .dtype = ST_F32, .ndim = 1, .shape = {t->iter},
                          .data = t->loss_history, .nbytes = (size_t)t->iter * 4};
    uint64_t h = FNV_OFFSET;
    for (int i = 0; i < NUM_CHECKSUMMED; i++) h = fnv1a(h, meta[i].value ? meta[i].value : "", meta[i].value ? strlen(meta[i].value) : 0);
    for (int i = 0; i < n; i++) h = fnv1a(h, ts[i].data, ts[i].nbytes);
    snprintf(sum, sizeof sum, "fnv1a64:%016" PRIx64, h);
    int rc = CHARRNN_OK;
    if (cfg.oom || voc.oom || opts.oom || state.oom) {
        rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory writing checkpoint %s", path);
    } else {
        char msg[600];
        if (st_write(path, meta, (int)(sizeof meta / sizeof meta[0]), ts, n, msg, sizeof msg))
            rc = cr_fail(err, CHARRNN_EIO, "%s", msg);
    }
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

static int open_checked(const char *path, st_file **out, charrnn_error *err) {
    char msg[600];
    st_file *f = st_open(path, msg, sizeof msg);
    if (!f) return cr_fail(err, CHARRNN_EFORMAT, "%s", msg);
    const char *fmt = st_get_meta(f, "format");
    if (!fmt || strcmp(fmt, "charrnn")) {
        int rc = cr_fail(err, CHARRNN_EFORMAT, "%s is a safetensors file but not a charrnn checkpoint (no \"format\": \"charrnn\" metadata)",
                       path); /* before st_close: the message may quote the file */
        st_close(f);
        return rc;
    }
    const char *ver = st_get_meta(f, "format_version");
    char *end = NULL;
    long v = ver ? strtol(ver, &end, 10) : -1;
    if (!ver || end == ver || *end || v < 1) {
        int rc = cr_fail(err, CHARRNN_EFORMAT, "%s: format_version \"%s\" is not a version number; the checkpoint is damaged", path,
                       ver ? ver : "(missing)"); /* before st_close: the message may quote the file */
        st_close(f);
        return rc;
    }
    if (v > CHARRNN_FORMAT_VERSION) {
        int rc = cr_fail(err, CHARRNN_EFORMAT,
                       "%s was written in checkpoint format version %ld, but this charrnn (%s) reads version %d at most; "
                       "upgrade charrnn to read it", path, v, CHARRNN_VERSION, CHARRNN_FORMAT_VERSION); /* before st_close: the message may quote the file */
        st_close(f);
        return rc;
    }
    const char *sum = st_get_meta(f, "checksum");
    if (!sum) {
        int rc = cr_fail(err, CHARRNN_EFORMAT, "%s has no checksum; the checkpoint is damaged or was edited", path); /* before st_close: the message may quote the file */
        st_close(f);
        return rc;
    }
    uint64_t h = FNV_OFFSET;
    for (int i = 0; i < NUM_CHECKSUMMED; i++) {
        const char *val = st_get_meta(f, CHECKSUMMED[i]);
        if (val) h = fnv1a(h, val, strlen(val));
    }
    size_t dlen;
    const void *data = st_data_block(f, &dlen);
    h = fnv1a(h, data, dlen);
    char mine[40];
    snprintf(mine, sizeof mine, "fnv1a64:%016" PRIx64, h);
    if (strcmp(sum, mine)) {
        int rc = cr_fail(err, CHARRNN_EFORMAT,
                       "%s is corrupted: its checksum is %s but its contents give %s (truncated, damaged or edited); "
                       "use another checkpoint, e.g. the previous latest or best", path, sum, mine); /* before st_close: the message may quote the file */
        st_close(f);
        return rc;
    }
    *out = f;
    return CHARRNN_OK;
}

static int parse_cell(const char *s, charrnn_cell *c) {
    if (!strcmp(s, "lstm")) *c = CHARRNN_LSTM;
    else if (!strcmp(s, "gru")) *c = CHARRNN_GRU;
    else if (!strcmp(s, "rnn")) *c = CHARRNN_RNN;
    else return -1;
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
    if (json_get_string(r, "model", &cell) || parse_cell(cell, &mc->cell)) rc = bad_field(err, path, "config", "model");
    else if (json_get_number(r, "num_layers", &layers) || layers < 1 || layers > MAX_LAYERS || layers != floor(layers))
        rc = bad_field(err, path, "config", "num_layers");
    else if (json_get_number(r, "rnn_size", &size) || size < 1 || size > 65536 || size != floor(size))
        rc = bad_field(err, path, "config", "rnn_size");
    else if (json_get_number(r, "dropout", &dropout) || !(dropout >= 0 && dropout < 1))
        rc = bad_field(err, path, "config", "dropout");
    else if (json_get_number(r, "vocab_size", &vs) || vs < 1 || vs > 0x110000 || vs != floor(vs))
        rc = bad_field(err, path, "config", "vocab_size");
    else if (json_get_string(r, "unit", &u) || (strcmp(u, "codepoint") && strcmp(u, "byte")))
        rc = bad_field(err, path, "config", "unit");
    else {
        mc->num_layers = (int)layers;
        mc->rnn_size = (int)size;
        mc->dropout = (float)dropout;
        *V = (int)vs;
        *unit = strcmp(u, "byte") ? CHARRNN_UNIT_CODEPOINT : CHARRNN_UNIT_BYTE;
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
    uint32_t *vocab = malloc(sizeof(uint32_t) * (size_t)V);
    if (!vocab) { json_free(d); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    double limit = unit == CHARRNN_UNIT_BYTE ? 255 : 0x10FFFF;
    for (int i = 0; i < V; i++) {
        const json_value *e = &r->items[i];
        if (e->type != JSON_NUMBER || e->number < 0 || e->number > limit || e->number != floor(e->number) ||
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
    struct { const char *k; double *dst; } dnums[] = {
        {"train_frac", &o->train_frac}, {"val_frac", &o->val_frac}, {"learning_rate", &o->learning_rate},
        {"decay_rate", &o->decay_rate}, {"beta1", &o->beta1}, {"beta2", &o->beta2},
        {"learning_rate_decay", &o->learning_rate_decay}, {"learning_rate_decay_after", &o->learning_rate_decay_after},
        {"grad_clip", &o->grad_clip}, {"max_epochs", &o->max_epochs},
    };
    for (size_t i = 0; i < sizeof dnums / sizeof dnums[0] && !rc; i++)
        if (json_get_number(r, dnums[i].k, dnums[i].dst)) rc = bad_field(err, path, "train_options", dnums[i].k);
    if (rc) goto done;
    if (json_get_number(r, "batch_size", &v) || v < 1 || v > 100000) { rc = bad_field(err, path, "train_options", "batch_size"); goto done; }
    o->batch_size = (int)v;
    if (json_get_number(r, "seq_length", &v) || v < 1 || v > 100000) { rc = bad_field(err, path, "train_options", "seq_length"); goto done; }
    o->seq_length = (int)v;
    if (json_get_number(r, "max_iters", &v) || v < 0) { rc = bad_field(err, path, "train_options", "max_iters"); goto done; }
    o->max_iters = (long)v;
    if (json_get_number(r, "eval_val_every", &v) || v < 1) { rc = bad_field(err, path, "train_options", "eval_val_every"); goto done; }
    o->eval_val_every = (long)v;
    if (!json_get_number(r, "skip_nonfinite", &v) && v >= 0) o->skip_nonfinite = (long)v;
    if (json_get_string(r, "unit", &s)) { rc = bad_field(err, path, "train_options", "unit"); goto done; }
    o->unit = strcmp(s, "byte") ? CHARRNN_UNIT_CODEPOINT : CHARRNN_UNIT_BYTE;
    if (json_get_string(r, "optim", &s)) { rc = bad_field(err, path, "train_options", "optim"); goto done; }
    int found = 0;
    for (int k = 0; k < 4; k++)
        if (!strcmp(s, charrnn_optim_name((charrnn_optim)k))) { o->optim = (charrnn_optim)k; found = 1; }
    if (!found) { rc = bad_field(err, path, "train_options", "optim"); goto done; }
    if (json_get_string(r, "clip_mode", &s)) { rc = bad_field(err, path, "train_options", "clip_mode"); goto done; }
    o->clip_mode = strcmp(s, "norm") ? CHARRNN_CLIP_VALUE : CHARRNN_CLIP_NORM;
    if (json_get_string(r, "seed", &s)) { rc = bad_field(err, path, "train_options", "seed"); goto done; }
    o->seed = strtoull(s, NULL, 10);
done:
    json_free(d);
    return rc;
}

/* Copies a float tensor of the given shape out of the file, or fails. */
static int read_tensor(const st_file *f, const char *path, const char *name, int ndim, const int64_t *shape,
                       float *dst, charrnn_error *err) {
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
    return CHARRNN_OK;
}

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

int checkpoint_read_options(const char *path, charrnn_model_config *mc, charrnn_train_options *opt, charrnn_error *err) {
    st_file *f;
    int rc = open_checked(path, &f, err);
    if (rc) return rc;
    int V;
    charrnn_unit unit;
    if (!(rc = read_config(f, path, mc, &V, &unit, err))) rc = read_options(f, path, opt, err);
    st_close(f);
    return rc;
}

static int read_train_state(const st_file *f, const char *path, charrnn_model *m, json_doc **out, charrnn_error *err) {
    int rc = parse_meta_json(f, path, "train_state", out, err);
    if (rc) return rc;
    const json_value *r = json_root(*out);
    double it, ep, lr;
    if (json_get_number(r, "iteration", &it) || it < 0) return bad_field(err, path, "train_state", "iteration");
    if (json_get_number(r, "epoch", &ep)) return bad_field(err, path, "train_state", "epoch");
    if (json_get_number(r, "learning_rate", &lr)) return bad_field(err, path, "train_state", "learning_rate");
    m->iteration = (long)it;
    m->epoch = ep;
    m->learning_rate = lr;
    const json_value *tl = json_get(r, "train_loss");
    m->train_loss = tl && tl->type == JSON_NUMBER ? tl->number : NAN;
    const json_value *h = json_get(r, "val_history");
    if (!h || h->type != JSON_ARRAY) return bad_field(err, path, "train_state", "val_history");
    m->num_history = 0;
    for (size_t i = 0; i < h->len; i++) {
        const json_value *e = &h->items[i];
        if (e->type != JSON_ARRAY || e->len != 2 || e->items[0].type != JSON_NUMBER)
            return bad_field(err, path, "train_state", "val_history");
        double loss = e->items[1].type == JSON_NUMBER ? e->items[1].number : NAN;
        if (history_push(m, (long)e->items[0].number, loss)) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    }
    return CHARRNN_OK;
}

int checkpoint_load(const char *path, charrnn_model **out, charrnn_error *err) {
    *out = NULL;
    st_file *f;
    int rc = open_checked(path, &f, err);
    if (rc) return rc;
    charrnn_model_config mc;
    charrnn_train_options opt;
    int V;
    charrnn_unit unit;
    uint32_t *vocab = NULL;
    charrnn_model *m = NULL;
    json_doc *state = NULL;
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
        rc = read_tensor(f, path, v->name, v->ndim, shape, m->net.params + v->offset, err);
    }
    if (rc) goto done;
    for (size_t i = 0; i < m->net.num_params; i++)
        if (!isfinite(m->net.params[i])) {
            rc = cr_fail(err, CHARRNN_EFORMAT, "%s: the weights hold NaN or infinite values; use an earlier checkpoint", path);
            goto done;
        }
    if ((rc = read_train_state(f, path, m, &state, err))) goto done;
    m->eval_seq_length = opt.seq_length;
    copy_meta(m, f);
done:
    json_free(state);
    free(vocab);
    st_close(f);
    if (rc) charrnn_model_close(m);
    else *out = m;
    return rc;
}

int checkpoint_restore_trainer(charrnn_trainer *t, const char *path, charrnn_error *err) {
    st_file *f;
    int rc = open_checked(path, &f, err);
    if (rc) return rc;
    json_doc *d = NULL;
    model *net = &t->m->net;
    if ((rc = parse_meta_json(f, path, "train_state", &d, err))) goto done;
    const json_value *r = json_root(d);
    double chars, step;
    const char *sum;
    const json_value *rngv = json_get(r, "rng_dropout");
    if (json_get_number(r, "corpus_chars", &chars) || json_get_string(r, "corpus_checksum", &sum)) {
        rc = bad_field(err, path, "train_state", "corpus_chars");
        goto done;
    }
    char mine[32];
    snprintf(mine, sizeof mine, "%016" PRIx64, t->data.checksum);
    if ((size_t)chars != t->data.n || strcmp(sum, mine)) {
        rc = cr_fail(err, CHARRNN_EMISMATCH,
                     "%s was trained on a different corpus (%.0f characters, checksum %s) than the one given (%zu characters, checksum %s); "
                     "resume with the same input file, or use --init-from to start a new run from its weights",
                     path, chars, sum, t->data.n, mine);
        goto done;
    }
    if (json_get_number(r, "optim_step", &step) || step < 0) { rc = bad_field(err, path, "train_state", "optim_step"); goto done; }
    if (!rngv || rngv->type != JSON_ARRAY || rngv->len != 2 || rngv->items[0].type != JSON_STRING ||
        rngv->items[1].type != JSON_STRING) {
        rc = bad_field(err, path, "train_state", "rng_dropout");
        goto done;
    }
    t->drop_rng.state = strtoull(rngv->items[0].str, NULL, 16);
    t->drop_rng.inc = strtoull(rngv->items[1].str, NULL, 16);
    t->opt_state.step = (long)step;
    int64_t np = (int64_t)net->num_params;
    if (t->opt_state.m1 && (rc = read_tensor(f, path, "optim.m1", 1, &np, t->opt_state.m1, err))) goto done;
    if (t->opt_state.m2 && (rc = read_tensor(f, path, "optim.m2", 1, &np, t->opt_state.m2, err))) goto done;
    int64_t sshape[3] = {net->L, net->B, net->H};
    if ((rc = read_tensor(f, path, "state.h", 3, sshape, net->state_h, err))) goto done;
    if ((rc = read_tensor(f, path, "state.c", 3, sshape, net->state_c, err))) goto done;
    t->iter = t->m->iteration;
    t->lr = t->m->learning_rate;
    double skipped;
    t->skipped = json_get_number(r, "skipped_nonfinite", &skipped) == 0 && skipped >= 0 ? (long)skipped : 0;
    if (t->iter > t->cap_loss_history) {
        float *h = realloc(t->loss_history, sizeof(float) * (size_t)t->iter);
        if (!h) { rc = cr_fail(err, CHARRNN_ENOMEM, "out of memory"); goto done; }
        t->loss_history = h;
        t->cap_loss_history = t->iter;
    }
    int64_t nh = t->iter;
    if ((rc = read_tensor(f, path, "history.train_loss", 1, &nh, t->loss_history, err))) goto done;
done:
    json_free(d);
    st_close(f);
    return rc;
}
