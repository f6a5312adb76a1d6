/* handle.c: the charrnn_model handle: creating one around a fresh network
 * (charrnn_model_new: its weights drawn from a seed), describing it, closing it
 * (the last reference frees it). Loading one from a file is checkpoint.c's. */
#include "handle.h"
#include "bf16.h"
#include "common.h"
#include "data.h"
#include "dist.h"
#include "precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_handle_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit,
                     const uint32_t *vocab, int vocab_size, charrnn_error *err) {
    *out = NULL;
    charrnn_model *m = calloc(1, sizeof *m);
    if (!m) return cr_fail(err, CHARRNN_ENOMEM, "out of memory");
    atomic_init(&m->refs, 1);
    int rc = model_init(&m->net, cfg, vocab_size, err);
    if (rc) { free(m); return rc; }
    m->vocab = cr_malloc((size_t)vocab_size, sizeof(uint32_t));
    if (!m->vocab) { charrnn_model_close(m); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    memcpy(m->vocab, vocab, sizeof(uint32_t) * (size_t)vocab_size);
    m->vocab_size = vocab_size;
    m->unit = unit;
    m->train_loss = NAN;
    m->eval_seq_length = 50;
    *out = m;
    return CHARRNN_OK;
}

int charrnn_model_new(charrnn_model **out, const charrnn_model_config *cfg, charrnn_unit unit, const uint32_t *vocab,
                      int vocab_size, uint64_t seed, charrnn_error *err) {
    *out = NULL;
    charrnn_model_config defaults;
    if (!cfg) { charrnn_model_config_default(&defaults); cfg = &defaults; }
    for (int i = 1; i < vocab_size; i++)
        if (vocab[i] <= vocab[i - 1]) return cr_fail(err, CHARRNN_EINVAL, "the vocabulary must be strictly ascending");
    int rc = model_handle_new(out, cfg, unit, vocab, vocab_size, err);
    if (rc) return rc;
    rng r;
    rng_seed(&r, seed, 1);
    model_init_weights(&(*out)->net, &r);
    return CHARRNN_OK;
}

charrnn_model *model_retain(charrnn_model *m) {
    atomic_fetch_add(&m->refs, 1);
    return m;
}

void charrnn_model_close(charrnn_model *m) {
    if (!m || atomic_fetch_sub(&m->refs, 1) > 1) return; /* a stream still reads it: the last close frees it */
    model_free(&m->net);
    free(m->vocab);
    free(m->history);
    free(m->path);
    free(m->grad_ms);
    for (int i = 0; i < m->num_meta; i++) { free(m->meta_keys[i]); free(m->meta_values[i]); }
    free(m->meta_keys);
    free(m->meta_values);
    free(m);
}

int history_push(charrnn_model *m, long iteration, double loss) {
    if (m->num_history == m->cap_history) {
        if (m->cap_history > (1 << 28)) return CHARRNN_ENOMEM;
        int cap = m->cap_history ? 2 * m->cap_history : 16;
        val_record *h = cr_realloc(m->history, (size_t)cap, sizeof *h);
        if (!h) return CHARRNN_ENOMEM;
        m->history = h;
        m->cap_history = cap;
    }
    m->history[m->num_history].iteration = iteration;
    m->history[m->num_history].loss = loss;
    m->num_history++;
    return CHARRNN_OK;
}

int handle_index(const charrnn_model *m, uint32_t c) { return vocab_index(m->vocab, m->vocab_size, c); }

void charrnn_model_get_info(const charrnn_model *m, charrnn_model_info *info) {
    memset(info, 0, sizeof *info);
    info->config = m->net.cfg;
    info->unit = m->unit;
    info->vocab_size = m->vocab_size;
    info->num_params = m->net.num_params;
    info->iteration = m->iteration;
    info->epoch = m->epoch;
    info->learning_rate = m->learning_rate;
    info->train_loss = m->train_loss;
    info->val_loss = NAN;
    for (int i = 0; i < m->num_history; i++)
        if (isnan(info->val_loss) || m->history[i].loss < info->val_loss) info->val_loss = m->history[i].loss;
    info->num_history = m->num_history;
    info->run_id = m->run_id;
}

uint32_t charrnn_model_vocab(const charrnn_model *m, int i) {
    return i >= 0 && i < m->vocab_size ? m->vocab[i] : 0;
}

int charrnn_model_char_index(const charrnn_model *m, uint32_t c) { return handle_index(m, c); }

void charrnn_model_history(const charrnn_model *m, int i, long *iteration, double *val_loss) {
    if (i < 0 || i >= m->num_history) { *iteration = -1; *val_loss = NAN; return; }
    *iteration = m->history[i].iteration;
    *val_loss = m->history[i].loss;
}

const char *charrnn_model_metadata(const charrnn_model *m, const char *key) {
    for (int i = 0; i < m->num_meta; i++)
        if (!strcmp(m->meta_keys[i], key)) return m->meta_values[i];
    return NULL;
}

void charrnn_model_set_threads(charrnn_model *m, int n) { m->threads = n > 0 ? n : 0; }

int charrnn_bf16_supported(void) { return bf16_supported(); }

double charrnn_bf16_speedup(void) { return bf16_supported() ? bf16_speedup() : 0; }

void charrnn_model_set_workload(charrnn_model *m, int batch, int steps, int training) {
    m->work_batch = batch > 0 ? batch : 0;
    m->work_steps = steps > 0 ? steps : 0;
    m->work_training = training != 0;
}

int charrnn_model_set_precision(charrnn_model *m, charrnn_precision p, charrnn_error *err) {
    if (p != CHARRNN_PRECISION_AUTO && p != CHARRNN_PRECISION_FP32 && p != CHARRNN_PRECISION_BF16 &&
        p != CHARRNN_PRECISION_TF32)
        return cr_fail(err, CHARRNN_EINVAL, "precision %d is not one of auto, fp32, bf16, tf32", (int)p);
    if (p == CHARRNN_PRECISION_TF32) {
        int rc = model_set_tf32(&m->net, 1, err);
        if (!rc) snprintf(m->precision_note, sizeof m->precision_note, "tf32 (as asked, not auto)");
        return rc;
    }
    if (model_tf32(&m->net)) {
        int rc = model_set_tf32(&m->net, 0, err); /* back to cuda-fp32 first */
        if (rc) return rc;
    }
    int on = p == CHARRNN_PRECISION_BF16;
    if (p == CHARRNN_PRECISION_AUTO && model_device(&m->net) >= 0) {
        /* the CPU's timing says nothing of a GPU: float32 there unless asked */
        snprintf(m->precision_note, sizeof m->precision_note, "fp32 (auto on the GPU: fp32 unless bf16 is asked for)");
        on = 0;
    } else if (p == CHARRNN_PRECISION_AUTO) {
        /* a trainer's model does the trainer's passes; any other what it was told, or sampling */
        const int training = m->net.train;
        const int batch = training ? m->net.B : m->work_batch ? m->work_batch : 1;
        const int steps = training ? m->net.T : m->work_steps ? m->work_steps : 1;
        precision_choice c;
        if (!training || dist_size() == 1 || dist_rank() == 0)
            precision_choose(&m->net.cfg, m->net.V, batch, steps, training || m->work_training, m->threads, &c);
        else
            memset(&c, 0, sizeof c);
        if (training && dist_size() > 1) { /* data-parallel ranks take rank 0's decision: one precision for the run */
            c.bf16 = (int)dist_max_u64(dist_rank() == 0 ? (uint64_t)c.bf16 : 0);
            if (dist_rank() != 0) snprintf(c.note, sizeof c.note, "%s (auto: rank 0's decision)", c.bf16 ? "bf16" : "fp32");
        }
        on = c.bf16;
        snprintf(m->precision_note, sizeof m->precision_note, "%s", c.note);
    } else {
        snprintf(m->precision_note, sizeof m->precision_note, "%s (as asked, not auto)", on ? "bf16" : "fp32");
    }
    return model_set_bf16(&m->net, on, err);
}

const char *charrnn_model_precision_note(const charrnn_model *m) { return m->precision_note; }

charrnn_precision charrnn_model_precision(const charrnn_model *m) {
    return model_tf32(&m->net) ? CHARRNN_PRECISION_TF32 : model_bf16(&m->net) ? CHARRNN_PRECISION_BF16 : CHARRNN_PRECISION_FP32;
}

int charrnn_model_num_tensors(const charrnn_model *m) { return m->net.num_views; }

float *charrnn_model_tensor(charrnn_model *m, int i, const char **name, int *rows, int *cols) {
    if (i < 0 || i >= m->net.num_views) return NULL;
    const param_view *v = &m->net.views[i];
    if (name) *name = v->name;
    if (rows) *rows = v->shape[0];
    if (cols) *cols = v->ndim > 1 ? v->shape[1] : 1;
    return model_params(&m->net) + v->offset;
}

void charrnn_model_weights_changed(charrnn_model *m) { model_weights_changed(&m->net); }

/* ---- layout: the public structs as this build compiled them (charrnn_struct_layout) ---------------- */
#define LAYOUT(T, f) {#T, #f, offsetof(T, f)}
#define SIZE(T) {#T, NULL, sizeof(T)}
static const struct { const char *type, *field; size_t at; } LAYOUT_TABLE[] = {
    SIZE(charrnn_error), LAYOUT(charrnn_error, code), LAYOUT(charrnn_error, msg),
    SIZE(charrnn_model_config), LAYOUT(charrnn_model_config, cell), LAYOUT(charrnn_model_config, num_layers),
    LAYOUT(charrnn_model_config, rnn_size), LAYOUT(charrnn_model_config, dropout),
    SIZE(charrnn_train_options), LAYOUT(charrnn_train_options, unit), LAYOUT(charrnn_train_options, batch_size),
    LAYOUT(charrnn_train_options, seq_length), LAYOUT(charrnn_train_options, train_frac),
    LAYOUT(charrnn_train_options, val_frac), LAYOUT(charrnn_train_options, optim),
    LAYOUT(charrnn_train_options, learning_rate), LAYOUT(charrnn_train_options, decay_rate),
    LAYOUT(charrnn_train_options, beta1), LAYOUT(charrnn_train_options, beta2),
    LAYOUT(charrnn_train_options, learning_rate_decay), LAYOUT(charrnn_train_options, learning_rate_decay_after),
    LAYOUT(charrnn_train_options, grad_clip), LAYOUT(charrnn_train_options, clip_mode),
    LAYOUT(charrnn_train_options, max_epochs), LAYOUT(charrnn_train_options, max_iters),
    LAYOUT(charrnn_train_options, eval_val_every), LAYOUT(charrnn_train_options, seed),
    LAYOUT(charrnn_train_options, skip_nonfinite), LAYOUT(charrnn_train_options, val_max_chars),
    LAYOUT(charrnn_train_options, lr_schedule), LAYOUT(charrnn_train_options, min_lr),
    LAYOUT(charrnn_train_options, warmup_iters), LAYOUT(charrnn_train_options, weight_decay),
    SIZE(charrnn_model_info), LAYOUT(charrnn_model_info, config), LAYOUT(charrnn_model_info, unit),
    LAYOUT(charrnn_model_info, vocab_size), LAYOUT(charrnn_model_info, num_params), LAYOUT(charrnn_model_info, iteration),
    LAYOUT(charrnn_model_info, epoch), LAYOUT(charrnn_model_info, learning_rate), LAYOUT(charrnn_model_info, train_loss),
    LAYOUT(charrnn_model_info, val_loss), LAYOUT(charrnn_model_info, num_history), LAYOUT(charrnn_model_info, run_id),
    SIZE(charrnn_eval_result), LAYOUT(charrnn_eval_result, nats), LAYOUT(charrnn_eval_result, bpc),
    LAYOUT(charrnn_eval_result, predicted), LAYOUT(charrnn_eval_result, unknown),
    LAYOUT(charrnn_eval_result, unknown_examples), LAYOUT(charrnn_eval_result, num_unknown_examples),
    LAYOUT(charrnn_eval_result, streams),
    SIZE(charrnn_sample_config), LAYOUT(charrnn_sample_config, temperature), LAYOUT(charrnn_sample_config, top_k),
    LAYOUT(charrnn_sample_config, top_p), LAYOUT(charrnn_sample_config, min_p),
    LAYOUT(charrnn_sample_config, repetition_penalty), LAYOUT(charrnn_sample_config, repetition_window),
    SIZE(charrnn_step_stats), LAYOUT(charrnn_step_stats, iteration), LAYOUT(charrnn_step_stats, total_iters),
    LAYOUT(charrnn_step_stats, epoch), LAYOUT(charrnn_step_stats, loss), LAYOUT(charrnn_step_stats, grad_norm),
    LAYOUT(charrnn_step_stats, learning_rate), LAYOUT(charrnn_step_stats, epoch_end), LAYOUT(charrnn_step_stats, skipped),
    LAYOUT(charrnn_step_stats, skipped_total),
    SIZE(charrnn_corpus_info), LAYOUT(charrnn_corpus_info, num_chars), LAYOUT(charrnn_corpus_info, vocab_size),
    LAYOUT(charrnn_corpus_info, train_chars), LAYOUT(charrnn_corpus_info, val_chars),
    LAYOUT(charrnn_corpus_info, test_chars), LAYOUT(charrnn_corpus_info, iters_per_epoch),
    LAYOUT(charrnn_corpus_info, elem_bytes),
    SIZE(charrnn_compress_options), LAYOUT(charrnn_compress_options, adapt), LAYOUT(charrnn_compress_options, segment),
    LAYOUT(charrnn_compress_options, learning_rate), LAYOUT(charrnn_compress_options, rms_decay),
    LAYOUT(charrnn_compress_options, decay), LAYOUT(charrnn_compress_options, cell),
    LAYOUT(charrnn_compress_options, num_layers), LAYOUT(charrnn_compress_options, rnn_size),
    LAYOUT(charrnn_compress_options, seed), LAYOUT(charrnn_compress_options, lanes),
};

long charrnn_struct_layout(const char *type, const char *field) {
    if (!type) return -1;
    for (size_t i = 0; i < sizeof LAYOUT_TABLE / sizeof LAYOUT_TABLE[0]; i++)
        if (!strcmp(LAYOUT_TABLE[i].type, type) &&
            (field ? LAYOUT_TABLE[i].field && !strcmp(LAYOUT_TABLE[i].field, field) : !LAYOUT_TABLE[i].field))
            return (long)LAYOUT_TABLE[i].at;
    return -1;
}

/* ---- devices ---------------------------------------------------------------------- */

/* auto's rule for a model that samples (one stream, one step): below this many
 * parameters the CPU's sampler is the faster (a GPU pays a launch per step) */
#define AUTO_GPU_MIN_SAMPLING_PARAMS 1000000

/* "auto" -2, "cpu" -1, "cuda" 0, "cuda:N" N; CHARRNN_EINVAL for anything else */
static int parse_device(const char *device, int *gpu, charrnn_error *err) {
    char q[96];
    if (!device || !strcmp(device, "auto")) { *gpu = -2; return CHARRNN_OK; }
    if (!strcmp(device, "cpu")) { *gpu = -1; return CHARRNN_OK; }
    if (!strcmp(device, "cuda")) { *gpu = 0; return CHARRNN_OK; }
    if (!strncmp(device, "cuda:", 5) && device[5] >= '0' && device[5] <= '9' && strlen(device) <= 8) {
        char *end;
        long n = strtol(device + 5, &end, 10);
        if (!*end) { *gpu = (int)n; return CHARRNN_OK; }
    }
    return cr_fail(err, CHARRNN_EINVAL, "device '%s' is not one of auto, cpu, cuda, cuda:N (N: a GPU's number from 0)",
                   cr_esc(q, sizeof q, device, strlen(device)));
}

/* A GPU that device asks for outright is there: a one-line error otherwise. */
static int check_gpu(const char *device, int gpu, charrnn_error *err) {
    if (!model_cuda_built())
        return cr_fail(err, CHARRNN_EINVAL, "device %s: this charrnn was built without the CUDA backend; build it "
                       "with make CUDA=1, or use device cpu", device);
    const int n = model_cuda_devices();
    if (n == 0)
        return cr_fail(err, CHARRNN_EINVAL, "device cuda:%d: no CUDA GPU is visible here (no driver or no device); use "
                       "device cpu or auto", gpu);
    if (gpu >= n)
        return cr_fail(err, CHARRNN_EINVAL, "device cuda:%d: this machine has %d GPU%s (cuda:0 to cuda:%d)", gpu, n,
                       n == 1 ? "" : "s", n - 1);
    return CHARRNN_OK;
}

int handle_set_device(charrnn_model *m, const char *device, charrnn_error *err) {
    int gpu = -1, rc = parse_device(device, &gpu, err);
    if (rc) return rc;
    if (gpu >= 0 && (rc = check_gpu(device, gpu, err))) return rc;
    char note[sizeof m->device_note] = "";
    if (gpu == -2) {
        const int n = model_cuda_devices();
        const int sampling = !m->net.train && !m->work_training && (m->work_batch ? m->work_batch : 1) == 1 &&
                             (m->work_steps ? m->work_steps : 1) == 1;
        if (!model_cuda_built()) gpu = -1;
        else if (n == 0) {
            gpu = -1;
            snprintf(note, sizeof note, "cpu (auto: this CUDA build sees no GPU: no driver or no device)");
        } else if (sampling && m->net.num_params < AUTO_GPU_MIN_SAMPLING_PARAMS) {
            gpu = -1;
            snprintf(note, sizeof note, "cpu (auto: sampling one stream of a small network, %zu parameters, is faster "
                     "on the CPU than on the GPU)", m->net.num_params);
        } else
            gpu = 0;
    }
    if (gpu == model_device(&m->net)) {
        snprintf(m->device_note, sizeof m->device_note, "%s", note);
        return CHARRNN_OK;
    }
    if (atomic_load(&m->refs) > 1)
        return cr_fail(err, CHARRNN_EINVAL, "the model cannot change device while samplers or streams are open on it; "
                       "set its device before opening them");
    /* the optimizer's moments leave with the network and arrive with it */
    if (m->moments) model_moments_to_host(&m->net, m->moments);
    rc = gpu >= 0 ? model_use_cuda(&m->net, gpu, err) : model_use_cpu(&m->net, err);
    if (m->moments) model_moments_from_host(&m->net, m->moments);
    if (rc) return rc;
    m->device_name[0] = 0;
    if (gpu >= 0) {
        char name[128];
        if (model_cuda_describe(gpu, 0, name, sizeof name)) snprintf(name, sizeof name, "a GPU");
        snprintf(m->device_name, sizeof m->device_name, "cuda:%d (%s)", gpu, name);
    }
    m->precision_note[0] = 0; /* the new backend computes in float32 until told otherwise */
    snprintf(m->device_note, sizeof m->device_note, "%s", note);
    return CHARRNN_OK;
}

int charrnn_device_check(const char *device, charrnn_error *err) {
    int gpu = -1, rc = parse_device(device, &gpu, err);
    return rc || gpu < 0 ? rc : check_gpu(device, gpu, err);
}

int charrnn_model_set_device(charrnn_model *m, const char *device, charrnn_error *err) {
    return handle_set_device(m, device, err);
}

const char *charrnn_model_device(const charrnn_model *m) {
    return model_device(&m->net) >= 0 && m->device_name[0] ? m->device_name : "cpu";
}

const char *charrnn_model_device_note(const charrnn_model *m) { return m->device_note; }

int charrnn_cuda_device_count(void) { return model_cuda_built() ? model_cuda_devices() : -1; }

const char *charrnn_device_info(void) {
    static char info[1024];
    static atomic_int done;
    if (atomic_load(&done)) return info;
    const int n = model_cuda_devices();
    if (!model_cuda_built()) snprintf(info, sizeof info, "none in this build (make CUDA=1 builds the CUDA backend)");
    else if (n == 0) snprintf(info, sizeof info, "CUDA build; no GPU visible (no driver or no device)");
    else {
        size_t at = 0;
        for (int i = 0; i < n && at + 1 < sizeof info; i++) {
            char d[256];
            model_cuda_describe(i, 1, d, sizeof d);
            at += (size_t)snprintf(info + at, sizeof info - at, "%scuda:%d %s", i ? "; " : "", i, d);
        }
    }
    atomic_store(&done, 1);
    return info;
}

static char default_device[16] = "cpu";

int charrnn_set_device(const char *device, charrnn_error *err) {
    int gpu = -1, rc = parse_device(device, &gpu, err);
    if (rc) return rc;
    if (gpu >= 0 && (rc = check_gpu(device, gpu, err))) return rc;
    snprintf(default_device, sizeof default_device, "%s", device ? device : "auto");
    return CHARRNN_OK;
}

const char *handle_default_device(void) { return default_device; }
