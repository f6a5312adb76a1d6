/* defaults.c: char-rnn's defaults, the names of the enums, and the validation of
 * a run's settings wherever they come from (the command line, or a checkpoint
 * that may have been edited: its checksum is not a signature). */
#include "defaults.h"
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void charrnn_model_config_default(charrnn_model_config *c) {
    memset(c, 0, sizeof *c);
    c->cell = CHARRNN_LSTM;
    c->num_layers = 2;
    c->rnn_size = 128;
    c->dropout = 0.0f;
}

void charrnn_train_options_default(charrnn_train_options *o) {
    memset(o, 0, sizeof *o);
    o->unit = CHARRNN_UNIT_CODEPOINT;
    o->batch_size = 50;
    o->seq_length = 50;
    o->train_frac = 0.95;
    o->val_frac = 0.05;
    o->optim = CHARRNN_RMSPROP;
    o->learning_rate = 2e-3;
    o->decay_rate = 0.95;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->learning_rate_decay = 0.97;
    o->learning_rate_decay_after = 10;
    o->grad_clip = 5;
    o->clip_mode = CHARRNN_CLIP_VALUE;
    o->max_epochs = 50;
    o->max_iters = 0;
    o->eval_val_every = 1000;
    o->seed = 123;
    o->val_max_chars = 2000000;
}

static const char *const CELLS[] = {"lstm", "gru", "rnn"};
static const char *const OPTIMS[] = {"rmsprop", "adam", "adagrad", "sgd"};
static const char *const SCHEDULES[] = {"step", "cosine"};

const char *charrnn_cell_name(charrnn_cell c) { return (unsigned)c < 3 ? CELLS[c] : "?"; }
const char *charrnn_optim_name(charrnn_optim o) { return (unsigned)o < 4 ? OPTIMS[o] : "?"; }
const char *charrnn_lr_schedule_name(charrnn_lr_schedule s) { return (unsigned)s < 2 ? SCHEDULES[s] : "?"; }
const char *unit_name(charrnn_unit u) { return u == CHARRNN_UNIT_BYTE ? "byte" : "codepoint"; }

static int find(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
int parse_cell(const char *s) { return find(s, CELLS, 3); }
int parse_optim(const char *s) { return find(s, OPTIMS, 4); }
int parse_lr_schedule(const char *s) { return find(s, SCHEDULES, 2); }
int parse_unit(const char *s) { return find(s, (const char *const[]){"codepoint", "byte"}, 2); }
int parse_clip_mode(const char *s) { return find(s, (const char *const[]){"value", "norm"}, 2); }

/* One failed check: "--train-frac 7 is out of range; use ..." for the command
 * line, "PATH: train_options field "train_frac" is 7, out of range (use ...)"
 * for a file. field is the JSON name; the option is it with dashes. v is the
 * value as text: integers as integers, others as typed (charrnn_num). */
static int bad_text(charrnn_error *err, const char *file, const char *group, const char *field, const char *v,
                    const char *use) {
    char opt[64];
    snprintf(opt, sizeof opt, "%s", field);
    for (char *p = opt; *p; p++)
        if (*p == '_') *p = '-';
    if (file)
        return cr_fail(err, CHARRNN_EFORMAT, "%s: %s field \"%s\" is %s, out of range (%s); the checkpoint was damaged or "
                       "edited", file, group, field, v, use);
    return cr_fail(err, CHARRNN_EINVAL, "--%s %s is out of range; %s", opt, v, use);
}

static int bad(charrnn_error *err, const char *file, const char *group, const char *field, double v, const char *use) {
    char t[CR_NUM_LEN];
    return bad_text(err, file, group, field, charrnn_num(v, t), use);
}

static int bad_float(charrnn_error *err, const char *file, const char *group, const char *field, float v, const char *use) {
    char t[CR_NUM_LEN];
    return bad_text(err, file, group, field, charrnn_numf(v, t), use);
}

static int bad_long(charrnn_error *err, const char *file, const char *group, const char *field, long v, const char *use) {
    char t[32];
    snprintf(t, sizeof t, "%ld", v);
    return bad_text(err, file, group, field, t, use);
}

int check_model_config(const charrnn_model_config *mc, const char *file, charrnn_error *err) {
    const char *C = "config";
    if (mc->num_layers < 1 || mc->num_layers > MAX_LAYERS)
        return bad(err, file, C, "num_layers", mc->num_layers, "use 1 to " LIMIT_STR(MAX_LAYERS));
    if (mc->rnn_size < 1 || mc->rnn_size > MAX_RNN_SIZE)
        return bad(err, file, C, "rnn_size", mc->rnn_size, "use 1 to " LIMIT_STR(MAX_RNN_SIZE));
    if (!(mc->dropout >= 0 && mc->dropout < 1)) return bad_float(err, file, C, "dropout", mc->dropout, "use 0 <= p < 1");
    if ((unsigned)mc->cell > 2) return bad(err, file, C, "model", mc->cell, "use lstm, gru or rnn");
    return CHARRNN_OK;
}

int check_run_settings(const charrnn_model_config *mc, const charrnn_train_options *o, const char *file,
                       charrnn_error *err) {
    const char *O = "train_options";
    int rc = mc ? check_model_config(mc, file, err) : CHARRNN_OK;
    if (rc) return rc;
    if (o->batch_size < 1 || o->batch_size > MAX_BATCH)
        return bad(err, file, O, "batch_size", o->batch_size, "use 1 to 100000");
    if (o->seq_length < 1 || o->seq_length > MAX_SEQ)
        return bad(err, file, O, "seq_length", o->seq_length, "use 1 to 100000");
    if (!(o->train_frac > 0 && o->train_frac <= 1)) return bad(err, file, O, "train_frac", o->train_frac, "use 0 < f <= 1");
    if (!(o->val_frac >= 0 && o->val_frac < 1)) return bad(err, file, O, "val_frac", o->val_frac, "use 0 <= f < 1");
    if (o->train_frac + o->val_frac > 1 + 1e-9) {
        char a[CR_NUM_LEN], b[CR_NUM_LEN];
        charrnn_num(o->train_frac, a);
        charrnn_num(o->val_frac, b);
        if (file)
            return cr_fail(err, CHARRNN_EFORMAT,
                           "%s: train_options fields \"train_frac\" %s and \"val_frac\" %s add up to more than 1; the "
                           "checkpoint was damaged or edited", file, a, b);
        return cr_fail(err, CHARRNN_EINVAL, "--train-frac %s plus --val-frac %s is more than 1; the rest is the test block",
                       a, b);
    }
    if (!(o->learning_rate > 0 && o->learning_rate < 1e3))
        return bad(err, file, O, "learning_rate", o->learning_rate, "use a positive value below 1000, such as 2e-3");
    if (!(o->decay_rate > 0 && o->decay_rate < 1))
        return bad(err, file, O, "decay_rate", o->decay_rate, "use 0 < r < 1 (char-rnn: 0.95)");
    if (!(o->beta1 >= 0 && o->beta1 < 1)) return bad(err, file, O, "beta1", o->beta1, "use 0 <= b < 1");
    if (!(o->beta2 >= 0 && o->beta2 < 1)) return bad(err, file, O, "beta2", o->beta2, "use 0 <= b < 1");
    if (!(o->learning_rate_decay > 0 && o->learning_rate_decay <= 1))
        return bad(err, file, O, "learning_rate_decay", o->learning_rate_decay, "use 0 < d <= 1");
    if (!(o->learning_rate_decay_after >= 0 && o->learning_rate_decay_after < 1e9))
        return bad(err, file, O, "learning_rate_decay_after", o->learning_rate_decay_after, "use 0 or more epochs");
    if (!(o->grad_clip >= 0 && o->grad_clip < 1e30))
        return bad(err, file, O, "grad_clip", o->grad_clip, "use 0 (off) or a positive value");
    if ((unsigned)o->clip_mode > 1) return bad(err, file, O, "clip_mode", o->clip_mode, "use value or norm");
    if ((unsigned)o->optim > 3) return bad(err, file, O, "optim", o->optim, "use rmsprop, adam, adagrad or sgd");
    if ((unsigned)o->unit > 1) return bad(err, file, O, "unit", o->unit, "use codepoint or byte");
    if (!(o->max_epochs > 0 && o->max_epochs < 1e9))
        return bad(err, file, O, "max_epochs", o->max_epochs, "use a positive number of epochs below 1e9");
    if (o->max_iters < 0 || o->max_iters > MAX_ITERS)
        return bad_long(err, file, O, "max_iters", o->max_iters,
                   "use 0 (run --max-epochs) or a positive count up to 1e15");
    if (o->eval_val_every < 1 || o->eval_val_every > MAX_ITERS)
        return bad_long(err, file, O, "eval_val_every", o->eval_val_every, "use a positive count");
    if (o->val_max_chars < 0 || o->val_max_chars > 1000000000000L)
        return bad_long(err, file, O, "val_max_chars", o->val_max_chars, "use 0 (the whole validation block) or a positive count");
    if (o->skip_nonfinite < 0 || o->skip_nonfinite > MAX_ITERS)
        return bad_long(err, file, O, "skip_nonfinite", o->skip_nonfinite, "use 0 (stop at the first) or a count");
    if ((unsigned)o->lr_schedule > 1) return bad(err, file, O, "lr_schedule", o->lr_schedule, "use step or cosine");
    if (!(o->min_lr >= 0 && o->min_lr <= o->learning_rate)) {
        char use[96], lr[CR_NUM_LEN];
        snprintf(use, sizeof use, "use 0 up to the learning rate (%s)", charrnn_num(o->learning_rate, lr));
        return bad(err, file, O, "min_lr", o->min_lr, use);
    }
    if (o->warmup_iters < 0 || o->warmup_iters > MAX_ITERS)
        return bad_long(err, file, O, "warmup_iters", o->warmup_iters, "use 0 (none) or a count of iterations");
    if (!(o->weight_decay >= 0 && o->weight_decay <= 1e6))
        return bad(err, file, O, "weight_decay", o->weight_decay, "use 0 (off) or a positive value such as 0.1");
    return CHARRNN_OK;
}

int charrnn_check_run_settings(const charrnn_model_config *mc, const charrnn_train_options *o, charrnn_error *err) {
    charrnn_train_options defaults;
    if (!o) { charrnn_train_options_default(&defaults); o = &defaults; }
    return check_run_settings(mc, o, NULL, err); /* mc NULL: the default shape, which needs no check */
}
