/* cmd_train.c: `charrnn train`: options (char-rnn's names, with dashes), the run
 * directory (rundir.c), progress on stderr and in train.jsonl, checkpoints at
 * every validation, and every way a run can be stopped without losing it: a
 * stop signal (signals.c), a time budget, a full disk. In reading order: the
 * run's state and how it saves, then the command's three steps: the command line
 * (parse_train_args), opening or resuming the run (open_run), the loop (train_loop,
 * end_run). */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "rundir.h"
#include "runlog.h"
#include "signals.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

extern const char charrnn_default_corpus[];
extern const char charrnn_default_corpus_end[];

/* Data-parallel runs (mpirun): every rank trains, rank 0 alone reports and writes. */
static int r0 = 1, nranks = 1;
#define SAY(...) do { if (r0) fprintf(stderr, __VA_ARGS__); } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double free_bytes(const char *dir) {
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (double)v.f_bavail * (double)v.f_frsize : -1;
}

/* What a run needs to say how to continue it. */
typedef struct run_ctx {
    charrnn_trainer *t;
    rundir rd;
    const char *file;          /* the corpus path, NULL for the built-in one, "-" for standard input */
    int on_full_disk_continue;
    long saved_iter;           /* the iteration latest.safetensors holds (-1: none written by this process) */
    const char *last;          /* this run's newest checkpoint on disk: what it resumed from, then latest; NULL: none */
    long last_iter;            /* the iteration it holds */
    int stop_sig;              /* stopping for this signal: a checkpoint that cannot be written ends the run */
    runlog log;                /* train.jsonl (rank 0) */
    /* what the loop reads (open_run fills them) */
    charrnn_model *m;
    const charrnn_train_options *ro; /* the run's settings: a resumed run's own */
    charrnn_corpus_info ci;
    const char *cellname;
    long start_iter;           /* the iteration this process started from */
} run_ctx;

/* Ends the run: the log and the trainer closed, the status returned. */
static int finish(run_ctx *c, int status) {
    runlog_close(&c->log);
    charrnn_trainer_close(c->t);
    c->t = NULL;
    return status;
}

/* How to continue the run, from its newest checkpoint on disk; never a checkpoint that is not there. */
static void print_resume(const run_ctx *c) {
    char qf[4200], ql[4500];
    if (!c->last) {
        SAY("no checkpoint of this run was saved: start it again\n");
        return;
    }
    if (c->file && !strcmp(c->file, "-"))
        SAY("resume with: charrnn train FILE --resume %s   (FILE: the text that came on standard input, saved to a file)\n",
                cli_shell_quote(c->last, ql, sizeof ql));
    else
        SAY("resume with: charrnn train%s%s --resume %s\n", c->file ? " " : "",
                c->file ? cli_shell_quote(c->file, qf, sizeof qf) : "", cli_shell_quote(c->last, ql, sizeof ql));
}

/* "the last good checkpoint is PATH (iteration N)", or that there is none. */
static void print_last(const run_ctx *c) {
    if (c->last) SAY("the last good checkpoint is %s (iteration %ld)\n", c->last, c->last_iter);
    else SAY("no checkpoint of this run was saved\n");
}

static int stop_status(const run_ctx *c) { return c->stop_sig ? 128 + c->stop_sig : 1; }

/* Saves a checkpoint; on a full disk says so in one line naming the directory
 * and the room needed, then stops (exit 1) or, with --on-full-disk continue,
 * returns -1 and training goes on. Any other failure stops, and so does any
 * failure while stopping (exit 128 + the signal). */
static int save(run_ctx *c, const char *path, long iteration) {
    charrnn_error err = {0};
    if (charrnn_trainer_save(c->t, path, &err) == 0) { /* collective; rank 0 writes */
        if (path == c->rd.latest) {
            c->saved_iter = c->last_iter = iteration;
            c->last = c->rd.latest;
            sig_guard_saved(c->last, iteration); /* every rank: the save is collective */
        }
        return 0;
    }
    double need = (double)charrnn_trainer_checkpoint_bytes(c->t), avail = free_bytes(c->rd.dir);
    int full = strstr(err.msg, strerror(ENOSPC)) || strstr(err.msg, strerror(EDQUOT)) || (avail >= 0 && avail < need);
    if (!full) {
        fprintf(stderr, "charrnn: error: %s\n", err.msg);
        print_last(c);
        exit(stop_status(c));
    }
    char kept[4400];
    if (access(path, F_OK) == 0) snprintf(kept, sizeof kept, "%s is left as it was", path);
    else snprintf(kept, sizeof kept, "nothing was written");
    if (c->on_full_disk_continue && !c->stop_sig) {
        SAY("warning: no space left in checkpoint directory '%s' at iteration %ld: a checkpoint needs about "
                "%.1f MB and %.1f MB are free; %s; training goes on without saving (--on-full-disk continue)\n",
                c->rd.dir, iteration, need / 1e6, avail / 1e6, kept);
        return -1;
    }
    fprintf(stderr, "charrnn: error: no space left in checkpoint directory '%s' at iteration %ld: a checkpoint needs "
            "about %.1f MB and %.1f MB are free; %s; free some space (or pass --on-full-disk continue) and resume\n",
            c->rd.dir, iteration, need / 1e6, avail / 1e6, kept);
    print_resume(c);
    exit(stop_status(c));
}

/* Stops the run because the corpus changed under it (CHARRNN_EIO from a step
 * or a validation, which used nothing of what it read): the work since the
 * last checkpoint is saved first, as a stop signal would, then exit 1. */
static int corpus_changed(run_ctx *c, const charrnn_error *err) {
    long it, total;
    charrnn_trainer_progress(c->t, &it, &total);
    fprintf(stderr, "charrnn: error: %s\n", err->msg);
    c->stop_sig = 0;
    c->on_full_disk_continue = 0;
    if (!c->last || c->last_iter != it) {
        if (save(c, c->rd.latest, it) == 0) SAY("saved the run at iteration %ld in %s\n", it, c->rd.latest);
    } else {
        SAY("nothing was trained since %s (iteration %ld)\n", c->last, c->last_iter);
    }
    print_resume(c);
    return finish(c, 1);
}

/* A validation, and checkpoints: latest always, the run's best when it improved.
 * Returns 0, or the status to end the run with (the corpus changed under it). */
static int validate_and_save(run_ctx *c, const charrnn_step_stats *st, const char *cell, progress *bar) {
    double val;
    charrnn_error err = {0};
    bar->label = "validation";
    int vrc = charrnn_trainer_validate(c->t, cli_progress, bar, &val, &err);
    progress_clear(bar);
    if (vrc == CHARRNN_EIO) return corpus_changed(c, &err);
    int have_val = vrc == CHARRNN_OK;
    if (have_val) {
        SAY("validation at %ld: val_loss = %.4f nats (%.4f bpc)\n", st->iteration, val, val / log(2.0));
        runlog_validation(&c->log, st, val);
    } else if (vrc == CHARRNN_ENONFINITE) {
        SAY("warning: %s\n", err.msg);
    }
    if (save(c, c->rd.latest, st->iteration)) return 0;
    int better = have_val && (isnan(c->rd.best_val) || val < c->rd.best_val);
    if (nranks > 1) better = charrnn_ranks_agree(r0 && better); /* rank 0 knows the directory's best */
    if (better) {
        char newbest[4400];
        snprintf(newbest, sizeof newbest, "%s/lm_%s_epoch%.2f_%.4f.safetensors", c->rd.dir, cell, st->epoch, val);
        if (save(c, newbest, st->iteration) == 0) {
            if (r0) rundir_set_best(&c->rd, newbest, val);
            SAY("saved %s (best so far) and %s\n", newbest, c->rd.latest);
            return 0;
        }
    }
    SAY("saved %s\n", c->rd.latest);
    return 0;
}

/* What the command line asks of a run, every value checked. */
typedef struct train_args {
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_train_options over; /* with --resume: what may change of the run's settings (0: unchanged) */
    double max_time, sample_temperature;
    int threads, print_every, force, on_full_disk, precision;
    long sample_every, sample_length;
    const char *cv, *resume, *init_from;
    const char *device, *gpuid; /* --device, char-rnn's -gpuid: one device name after parsing */
    const char *file;           /* the corpus path, NULL for the built-in one, "-" for standard input */
    struct stat fst;            /* the corpus file's (when a path) */
    char data_path[4200], resume_dir[4096];
} train_args;

/* With --resume, the run keeps its own settings: only how long it runs may change (into a->over); any
 * other setting given is named as ignored. */
static void resume_overrides(const optdef *opts, train_args *a) {
    for (const optdef *q = opts; q->name; q++) {
        if (!q->given) continue;
        if (!strcmp(q->name, "max-epochs")) a->over.max_epochs = a->o.max_epochs;
        else if (!strcmp(q->name, "max-iters")) a->over.max_iters = a->o.max_iters;
        else if (!strcmp(q->name, "eval-val-every")) a->over.eval_val_every = a->o.eval_val_every;
        else if (!strcmp(q->name, "skip-nonfinite")) a->over.skip_nonfinite = a->o.skip_nonfinite;
        else if (strcmp(q->name, "resume") && strcmp(q->name, "checkpoint-dir") && strcmp(q->name, "threads") &&
                 strcmp(q->name, "precision") && strcmp(q->name, "device") && strcmp(q->name, "gpuid") &&
                 strcmp(q->name, "print-every") && strcmp(q->name, "max-time") &&
                 strcmp(q->name, "force") && strcmp(q->name, "on-full-disk") && strncmp(q->name, "sample-", 7) &&
                 q->type != O_IGNORED)
            SAY("warning: --%s is ignored with --resume: the run keeps the settings saved in %s\n", q->name, a->resume);
    }
    if (a->over.max_iters < 0 || a->over.eval_val_every < 0 || a->over.max_epochs < 0 || a->over.skip_nonfinite < 0)
        cli_die(2, "--max-iters, --max-epochs, --eval-val-every and --skip-nonfinite must be positive");
}

/* The command line into a, every value checked before anything is read or written (dies with a one-line
 * message). Returns 0, or the status to exit with. */
static int parse_train_args(int argc, char **argv, train_args *a) {
    memset(a, 0, sizeof *a);
    charrnn_model_config_default(&a->mc);
    charrnn_train_options_default(&a->o);
    charrnn_model_config *mc = &a->mc;
    charrnn_train_options *o = &a->o;
    int cell = mc->cell, unit = o->unit, optim = o->optim, clip_mode = o->clip_mode, schedule = o->lr_schedule;
    double dropout = 0;
    a->print_every = 10;
    a->sample_length = 200;
    a->sample_temperature = 1.0;
    a->cv = "cv";
    const char *data_dir = NULL;
    optdef opts[] = {
        {"model", O_CHOICE, &cell, "lstm|gru|rnn", "cell type (default lstm)", 0},
        {"num-layers", O_INT, &mc->num_layers, 0, "layers (default 2)", 0},
        {"rnn-size", O_INT, &mc->rnn_size, 0, "hidden units per layer (default 128)", 0},
        {"dropout", O_DOUBLE, &dropout, 0, "dropout between layers and before the decoder (default 0)", 0},
        {"unit", O_CHOICE, &unit, "codepoint|byte", "what a character is (default codepoint: UTF-8 decoded)", 0},
        {"batch-size", O_INT, &o->batch_size, 0, "parallel streams per batch (default 50)", 0},
        {"seq-length", O_INT, &o->seq_length, 0, "steps of truncated backprop (default 50)", 0},
        {"train-frac", O_DOUBLE, &o->train_frac, 0, "fraction of the text for training (default 0.95)", 0},
        {"val-frac", O_DOUBLE, &o->val_frac, 0, "fraction for validation (default 0.05); the rest is test", 0},
        {"optim", O_CHOICE, &optim, "rmsprop|adam|adagrad|sgd", "optimizer (default rmsprop)", 0},
        {"learning-rate", O_DOUBLE, &o->learning_rate, 0, "learning rate (default 2e-3)", 0},
        {"decay-rate", O_DOUBLE, &o->decay_rate, 0, "RMSProp decay (default 0.95)", 0},
        {"beta1", O_DOUBLE, &o->beta1, 0, "Adam beta1 (default 0.9)", 0},
        {"beta2", O_DOUBLE, &o->beta2, 0, "Adam beta2 (default 0.999)", 0},
        {"learning-rate-decay", O_DOUBLE, &o->learning_rate_decay, 0, "lr multiplier per epoch (default 0.97)", 0},
        {"learning-rate-decay-after", O_DOUBLE, &o->learning_rate_decay_after, 0, "epochs before lr decay starts (default 10)", 0},
        {"lr-schedule", O_CHOICE, &schedule, "step|cosine", "step: the decay above (default); cosine: from --learning-rate down to --min-lr over the run", 0},
        {"min-lr", O_DOUBLE, &o->min_lr, 0, "where cosine ends (default 0)", 0},
        {"warmup-iters", O_LONG, &o->warmup_iters, 0, "raise the learning rate linearly over the first N updates (default 0)", 0},
        {"weight-decay", O_DOUBLE, &o->weight_decay, 0, "decoupled weight decay of the weight matrices, AdamW's (default 0)", 0},
        {"grad-clip", O_DOUBLE, &o->grad_clip, 0, "clip gradients at this value (default 5; 0 off)", 0},
        {"clip-mode", O_CHOICE, &clip_mode, "value|norm", "element-wise (default) or global L2 norm", 0},
        {"max-epochs", O_DOUBLE, &o->max_epochs, 0, "epochs to train (default 50)", 0},
        {"max-iters", O_LONG, &o->max_iters, 0, "iterations to train (overrides --max-epochs)", 0},
        {"max-time", O_DURATION, &a->max_time, 0, "stop after this much training time (300, 90m, 8h, 1h30m), validate, save, exit 0", 0},
        {"eval-val-every", O_LONG, &o->eval_val_every, 0, "validate and checkpoint every N iterations (default 1000)", 0},
        {"val-max-chars", O_LONG, &o->val_max_chars, 0, "validate on at most N characters, the start of the validation block (default 2000000; 0: all)", 0},
        {"print-every", O_INT, &a->print_every, "[1,inf)", "progress line every N iterations (default 10)", 0},
        {"sample-every", O_LONG, &a->sample_every, "[0,inf)", "record a sample in train.jsonl every N iterations (default 0: never)", 0},
        {"sample-length", O_LONG, &a->sample_length, "[1,1000000]", "characters per recorded sample (default 200)", 0},
        {"sample-temperature", O_DOUBLE, &a->sample_temperature, "0|[1e-6,1e6]", "temperature of the recorded samples (default 1)", 0},
        {"seed", O_U64, &o->seed, 0, "random seed (default 123)", 0},
        {"checkpoint-dir", O_STR, &a->cv, 0, "where checkpoints and train.jsonl go (default cv; with --resume, the checkpoint's own directory)", 0},
        {"resume", O_STR, &a->resume, 0, "continue the run saved in this checkpoint exactly", 0},
        {"init-from", O_STR, &a->init_from, 0, "start a new run from this checkpoint's weights", 0},
        {"force", O_FLAG, &a->force, 0, "start (or resume) in a checkpoint directory that holds another run", 0},
        {"on-full-disk", O_CHOICE, &a->on_full_disk, "stop|continue", "when a checkpoint does not fit: stop (default) or train on without saving", 0},
        {"threads", O_INT, &a->threads, "[0,4096]", "threads for BLAS and loops (default: the cores this process may use: affinity, cgroup quota)", 0},
        {"precision", O_CHOICE, &a->precision, CLI_PRECISION_CHOICES, CLI_PRECISION_HELP, 0},
        {"device", O_STR, &a->device, CLI_DEVICE_CHOICES, CLI_DEVICE_HELP, 0},
        {"skip-nonfinite", O_LONG, &o->skip_nonfinite, 0, "skip up to N steps whose loss or gradient is NaN/Inf (default 0: stop)", 0},
        {"data-dir", O_STR, &data_dir, 0, "char-rnn's way to name the corpus: DIR/input.txt", 0},
        {"gpuid", O_IGNORED, &a->gpuid, 0, "char-rnn's GPU number: -gpuid N is --device cuda:N, -1 the CPU", 0},
        {"opencl", O_IGNORED, NULL, 0, "charrnn has no OpenCL backend (--device cuda runs on NVIDIA GPUs)", 0},
        {"accurate-gpu-timing", O_IGNORED, NULL, 0, "charrnn's timings need no extra synchronisation", 0},
        {"savefile", O_IGNORED, NULL, 0, "checkpoints are named lm_<model>_epoch<E>_<loss>, as char-rnn's default", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "train", "train [FILE] [options]   (no FILE: the built-in corpus; - : standard input)",
                       opts, pos, 1);
    mc->cell = (charrnn_cell)cell;
    mc->dropout = (float)dropout;
    o->unit = (charrnn_unit)unit;
    o->optim = (charrnn_optim)optim;
    o->clip_mode = (charrnn_clip_mode)clip_mode;
    o->lr_schedule = (charrnn_lr_schedule)schedule;
    if (!a->resume && schedule == CHARRNN_LR_COSINE &&
        (opt_given(opts, &o->learning_rate_decay) || opt_given(opts, &o->learning_rate_decay_after)))
        cli_die(2, "--learning-rate-decay and --learning-rate-decay-after are the step schedule's; --lr-schedule cosine "
                "decays to --min-lr instead: drop one or the other");
    if (!a->resume && schedule == CHARRNN_LR_STEP && opt_given(opts, &o->min_lr))
        cli_die(2, "--min-lr is where --lr-schedule cosine ends; the step schedule has none: add --lr-schedule cosine or "
                "drop --min-lr");
    if (a->resume && a->init_from) cli_die(2, "--resume and --init-from exclude each other: resume continues a run, init-from starts a new one");
    if (np && data_dir) cli_die(2, "give the corpus as FILE or as --data-dir, not both");
    if (data_dir) snprintf(a->data_path, sizeof a->data_path, "%s/input.txt", data_dir);
    a->file = np ? pos[0] : data_dir ? a->data_path : NULL;
    if (a->file && !strcmp(a->file, "-") && a->resume)
        cli_die(2, "--resume needs the corpus the run was trained on as a file, to check it is the same; standard input "
                "cannot be checked: save the text to a file and pass its path");
    if (a->file && !strcmp(a->file, "-") && charrnn_num_ranks() > 1) { /* mpirun gives the others /dev/null */
        if (charrnn_rank() == 0)
            fprintf(stderr, "charrnn: error: standard input reaches only rank 0 of the %d ranks under mpirun (the others "
                    "would read nothing): save the text to a file and pass its path, which every rank reads\n",
                    charrnn_num_ranks());
        charrnn_ranks_agree(1); /* every rank ends after rank 0 has said why */
        return 2;
    }
    cli_set_threads(a->threads);
    a->device = cli_device(a->device, a->gpuid);
    cli_check_precision(a->precision, a->device);
    /* what can be checked before the checkpoint directory is made: the corpus file, the settings */
    if (a->file && strcmp(a->file, "-") && stat(a->file, &a->fst) != 0)
        cli_die(1, "cannot open '%s': %s", a->file, strerror(errno));
    if (a->file) cli_check_input(a->file); /* a FIFO or a device: refused before the run directory is made */
    if (a->resume) {
        resume_overrides(opts, a);
        if (!opt_given(opts, &a->cv)) { /* a resumed run writes where it was */
            rundir_dirname(a->resume, a->resume_dir, sizeof a->resume_dir);
            a->cv = a->resume_dir;
        }
    }
    return 0;
}

/* The run on stderr: the corpus and its split, the model and its settings, what is resumed, the budget. */
static void describe_run(const train_args *a, run_ctx *c, const charrnn_model_info *info) {
    const charrnn_train_options *ro = c->ro;
    charrnn_corpus_info *ci = &c->ci;
    charrnn_trainer_corpus_info(c->t, ci);
    SAY("corpus: %zu characters (%s), vocabulary %d, %d byte(s) each; train %zu, val %zu, test %zu\n",
            ci->num_chars, ro->unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points", ci->vocab_size, ci->elem_bytes,
            ci->train_chars, ci->val_chars, ci->test_chars);
    char course[200] = ""; /* the learning rate's, where it is not char-rnn's step decay alone */
    long it, total;
    charrnn_trainer_progress(c->t, &it, &total);
    if (ro->lr_schedule == CHARRNN_LR_COSINE)
        snprintf(course, sizeof course, ", cosine to %s at iteration %ld", CLI_NUM(ro->min_lr), total);
    if (ro->warmup_iters > 0)
        snprintf(course + strlen(course), sizeof course - strlen(course), ", warm-up over %ld iterations", ro->warmup_iters);
    if (ro->weight_decay > 0)
        snprintf(course + strlen(course), sizeof course - strlen(course), ", weight decay %s", CLI_NUM(ro->weight_decay));
    SAY("model: %d x %d %s, dropout %s, %zu parameters; batch %d x seq %d, %ld iterations per epoch, %s lr %s%s\n",
            info->config.num_layers, info->config.rnn_size, charrnn_cell_name(info->config.cell), CLI_NUMF(info->config.dropout),
            info->num_params, ro->batch_size, ro->seq_length, ci->iters_per_epoch, charrnn_optim_name(ro->optim),
            CLI_NUM(ro->learning_rate), course);
    if (ro->val_max_chars > 0 && ci->val_chars > (size_t)ro->val_max_chars)
        SAY("validation: the first %ld of the validation block's %zu characters (--val-max-chars)\n",
                ro->val_max_chars, ci->val_chars);
    if (a->resume) SAY("resuming %s at iteration %ld (epoch %.2f), writing to %s\n", a->resume, info->iteration,
                           info->epoch, a->cv);
    if (a->resume && ro->lr_schedule == CHARRNN_LR_COSINE && (a->over.max_iters > 0 || a->over.max_epochs > 0))
        SAY("note: the cosine schedule follows the run's new length: it now ends at iteration %ld, and the learning "
            "rate is %s\n", total, CLI_NUM(info->learning_rate));
    if (a->max_time > 0) SAY("time budget: %.0f s of training, then a validation and a checkpoint\n", a->max_time);
}

/* The run ready to train: the checkpoint directory taken, the corpus read (or its token cache reused), the
 * trainer opened, resumed or started from --init-from, and what it is said on stderr. Returns 0, or the
 * status to exit with (dies on an error that leaves nothing to save). */
static int open_run(train_args *a, run_ctx *c) {
    const char *file = a->file, *resume = a->resume, *cv = a->cv;
    const char *text = NULL, *name = file;
    char *stdin_text = NULL;
    size_t len = 0;
    if (!file) {
        text = charrnn_default_corpus;
        len = (size_t)(charrnn_default_corpus_end - charrnn_default_corpus);
    } else if (!strcmp(file, "-")) {
        text = stdin_text = cli_read_input("-", &len);
        name = "standard input";
    }
    charrnn_error err = {0};
    charrnn_trainer *t = NULL;
    int rc = 0;
    if (!resume && charrnn_check_run_settings(&a->mc, &a->o, &err)) cli_die_err(&err);
    *c = (run_ctx){.file = file, .on_full_disk_continue = a->on_full_disk == 1, .saved_iter = -1};
    r0 = charrnn_rank() == 0;
    nranks = charrnn_num_ranks();
    if (!file) SAY("no input file given: training on the built-in corpus (charrnn's own C sources, %zu bytes)\n", len);
    /* the directory (and its lock) before the corpus is read: a large corpus's token cache goes there;
     * with several ranks, rank 0 owns it and the others read the cache it made */
    if (r0) rundir_open(&c->rd, cv, file);
    else snprintf(c->rd.dir, sizeof c->rd.dir, "%s", cv), c->rd.best_val = NAN;
    uint64_t resumed_id = 0;
    if (resume && r0 && charrnn_checkpoint_run_id(resume, &resumed_id, &err)) cli_die_err(&err); /* the header only */
    if (r0) rundir_check_owner(&c->rd, resumed_id, resume != NULL, a->force);
    if (nranks > 1 && charrnn_ranks_agree(0)) return 1; /* rank 0 has its directory (or died saying why) */
    progress rbar;
    progress_init(&rbar, "bytes");
    rbar.label = "reading the corpus";
    charrnn_corpus_options co = {cv, cli_progress, &rbar, 0};
    sig_install("stopping", 0); /* Ctrl-C while a large corpus is read and encoded */
    double t_read = now_s();
    for (int turn = 0; turn < (nranks > 1 ? 2 : 1); turn++) {
        /* rank 0 reads (and caches) the corpus first, then the others */
        if (nranks > 1 && turn == 1 && charrnn_ranks_agree(rc != 0)) return 1;
        if ((turn == 0) != r0 && nranks > 1) continue;
        if (resume) {
            rc = text ? charrnn_trainer_resume(&t, resume, name, text, len, &a->over, &err)
                      : charrnn_trainer_resume_file(&t, resume, name, &co, &a->over, &err);
        } else {
            rc = text ? charrnn_trainer_open(&t, name, text, len, &a->mc, &a->o, &err)
                      : charrnn_trainer_open_file(&t, name, &co, &a->mc, &a->o, &err);
            if (!rc && a->init_from) rc = charrnn_trainer_init_from(t, a->init_from, &err);
        }
        if (rc && turn == 0 && nranks > 1) charrnn_ranks_agree(1);
        if (rc) break;
    }
    progress_clear(&rbar);
    if (rc == CHARRNN_ECANCELED) {
        fprintf(stderr, "charrnn: stopped by %s while reading the corpus; nothing to save\n", sig_name(sig_stop_requested()));
        return 128 + sig_stop_requested();
    }
    if (rc) cli_die_err(&err);
    free(stdin_text); /* the trainer keeps its own encoded copy */
    t_read = now_s() - t_read;
    if (co.reused) SAY("corpus: reusing the token cache in %s (the file is unchanged)\n", cv);
    else if (!text && t_read > 1 && a->fst.st_size > 0)
        SAY("corpus: read and encoded %.1f MB in %.1f s (%.0f MB/s)\n", a->fst.st_size / 1e6, t_read,
                a->fst.st_size / 1e6 / t_read);
    c->t = t;
    const charrnn_train_options *ro = c->ro = charrnn_trainer_options(t);
    charrnn_model *m = c->m = charrnn_trainer_model(t);
    cli_set_device(m, a->device, r0);
    cli_set_precision(m, a->precision, r0);
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    double need = 2.0 * (double)charrnn_trainer_checkpoint_bytes(t), avail = r0 ? free_bytes(cv) : -1;
    if (avail >= 0 && avail < need)
        cli_die(1, "checkpoint directory '%s' has %.1f MB free, but two checkpoints of this run need %.1f MB; "
                "free some space or pass another --checkpoint-dir", cv, avail / 1e6, need / 1e6);
    if (resume && r0) rundir_adopt_best(&c->rd, info.run_id, info.val_loss);
    else c->rd.best_val = info.val_loss;
    if (resume) { /* until it saves, the run's newest checkpoint is the one it resumed from */
        c->last = resume;
        c->last_iter = info.iteration;
    }
    if (!text) sig_guard_mapped_file(name, c->last, c->last_iter);
    if (r0) runlog_open(&c->log, c->rd.log);
    runlog_start(&c->log, info.iteration, charrnn_model_device(m), charrnn_model_precision(m), charrnn_model_precision_note(m));
    if (nranks > 1) SAY("data-parallel: %d ranks, %d streams of the batch of %d each (about), threads %d per rank\n",
                        nranks, ro->batch_size / nranks, ro->batch_size, charrnn_get_threads());

    c->cellname = charrnn_cell_name(info.config.cell);
    c->start_iter = info.iteration;
    describe_run(a, c, &info);
    return 0;
}

/* How the loop ended, for end_run. */
typedef struct loop_end {
    charrnn_step_stats st;  /* the last step */
    int saved_at_end;       /* latest holds the last step */
    int out_of_time;        /* --max-time was spent */
    int stopping;           /* the signal of an agreed stop (every rank stops at the same iteration) */
    double t0;              /* when training started */
    progress bar;           /* on a terminal: the current epoch's bar between the progress lines */
} loop_end;

/* Steps until the run is done, out of time or stopped at a validation, into e; a progress line every
 * --print-every, a validation and checkpoints every eval-val-every, a recorded sample every --sample-every.
 * Returns -1 to go on to end_run, or the status to exit with (the run is ended and said so). */
static int train_loop(const train_args *a, run_ctx *c, loop_end *e) {
    charrnn_trainer *t = c->t;
    const charrnn_train_options *ro = c->ro;
    charrnn_error err = {0};
    charrnn_step_stats *st = &e->st;
    double t_last = now_s();
    e->t0 = t_last;
    long it_last = c->start_iter, chars_per_iter = (long)ro->batch_size * ro->seq_length;
    progress *bar = &e->bar;
    progress_init(bar, "it");
    if (charrnn_trainer_done(t)) {
        long done_it, total_it;
        charrnn_trainer_progress(t, &done_it, &total_it);
        SAY("nothing to do: the run is at iteration %ld of %ld; raise --max-iters or --max-epochs to continue\n",
                done_it, total_it);
    }
    sig_install("stopping after this iteration to save a checkpoint", 1);
    while (!charrnn_trainer_done(t)) {
        int over_time = a->max_time > 0 && now_s() - e->t0 >= a->max_time;
        if (nranks > 1) over_time = charrnn_ranks_agree(over_time);
        if (over_time) { e->out_of_time = 1; break; }
        int rc = charrnn_trainer_step(t, st, &err);
        progress_clear(bar);
        if (rc == CHARRNN_EIO) return corpus_changed(c, &err); /* the trainer is as before the step: saved */
        if (rc) {
            fprintf(stderr, "charrnn: error: %s\n", err.msg);
            print_last(c);
            return finish(c, 1);
        }
        e->saved_at_end = 0;
        if (st->skipped)
            SAY("warning: iteration %ld had a non-finite loss or gradient and was skipped (%ld of --skip-nonfinite %ld)\n",
                    st->iteration, st->skipped_total, ro->skip_nonfinite);
        int flags = (sig_stop_requested() ? 1 : 0) | (sig_take_checkpoint_request() ? 2 : 0);
        if (nranks > 1) flags = charrnn_ranks_agree(flags);
        if (flags & 1) {
            int sig = sig_stop_requested() ? sig_stop_requested() : SIGTERM;
            c->stop_sig = sig;
            save(c, c->rd.latest, st->iteration); /* returns only when saved */
            SAY("interrupted at iteration %ld (epoch %.3f) by %s: saved %s\n", st->iteration, st->epoch,
                    sig_name(sig), c->rd.latest);
            if (r0) print_resume(c);
            return finish(c, 128 + sig);
        }
        if (flags & 2) {
            if (save(c, c->rd.latest, st->iteration) == 0) {
                SAY("saved %s at iteration %ld (asked by SIGUSR1); training goes on\n", c->rd.latest, st->iteration);
            }
        }
        int last = charrnn_trainer_done(t);
        if (st->iteration % a->print_every == 0 || last || st->iteration == c->start_iter + 1) {
            double tn = now_s();
            double ms = (tn - t_last) * 1000.0 / (double)(st->iteration - it_last);
            SAY("%ld/%ld (epoch %.3f), train_loss = %.4f nats (%.4f bpc), grad norm = %.3e, %.1f ms/it, %.0f chars/s, threads %d\n",
                    st->iteration, st->total_iters, st->epoch, st->loss, st->loss / log(2.0), st->grad_norm, ms,
                    chars_per_iter * 1000.0 / ms, charrnn_get_threads());
            runlog_progress(&c->log, st, ms);
            t_last = tn;
            it_last = st->iteration;
        }
        if (st->iteration % ro->eval_val_every == 0 || last) {
            if ((rc = validate_and_save(c, st, c->cellname, bar))) return rc;
            e->saved_at_end = c->saved_iter == st->iteration;
            int stop_now = sig_stop_requested() != 0;
            if (nranks > 1) stop_now = charrnn_ranks_agree(stop_now);
            if (stop_now) { e->stopping = sig_stop_requested() ? sig_stop_requested() : SIGTERM; break; } /* latest is saved */
        }
        if (a->sample_every && st->iteration % a->sample_every == 0 && !sig_stop_requested()) {
            double ts = now_s();
            runlog_sample(&c->log, c->m, st->iteration, a->sample_length, a->sample_temperature, ro->seed);
            t_last += now_s() - ts; /* sampling is not training time */
        }
        progress_epoch(bar, st->iteration, st->total_iters, c->ci.iters_per_epoch, st->iteration - c->start_iter);
    }
    progress_clear(bar);
    if (nranks == 1 && !e->stopping && sig_stop_requested()) e->stopping = sig_stop_requested();
    return -1;
}

/* After the loop: a stop saves and says how to resume; a spent time budget validates and saves; a finished
 * run saves what is not saved yet; then the summary line. Returns the exit status. */
static int end_run(const train_args *a, run_ctx *c, loop_end *e) {
    charrnn_step_stats *st = &e->st;
    long start_iter = c->start_iter, chars_per_iter = (long)c->ro->batch_size * c->ro->seq_length;
    int rc;
    if (e->stopping) { /* during the last validation: it was cut short, the checkpoint is what counts */
        int sig = e->stopping;
        c->stop_sig = sig;
        if (!e->saved_at_end && st->iteration > start_iter) save(c, c->rd.latest, st->iteration); /* returns only when saved */
        if (st->iteration > start_iter) SAY("interrupted at iteration %ld by %s: saved %s\n", st->iteration, sig_name(sig), c->rd.latest);
        else SAY("interrupted by %s before any iteration: nothing new to save\n", sig_name(sig));
        if (r0) print_resume(c);
        return finish(c, 128 + sig);
    }
    if (e->out_of_time && st->iteration > start_iter && !e->saved_at_end) {
        if ((rc = validate_and_save(c, st, c->cellname, &e->bar))) return rc;
        e->saved_at_end = c->saved_iter == st->iteration;
    }
    if (!e->saved_at_end && st->iteration > start_iter) {
        if (save(c, c->rd.latest, st->iteration) == 0) SAY("saved %s\n", c->rd.latest);
    }
    double el = now_s() - e->t0;
    if (e->out_of_time) {
        SAY("time budget of %.0f s spent: stopped at iteration %ld of %ld (%.0f chars/s)\n", a->max_time,
                st->iteration, st->total_iters, (st->iteration - start_iter) * (double)chars_per_iter / el);
        if (r0) print_resume(c);
    } else if (st->iteration > start_iter) {
        SAY("done: %ld iterations in %.1f s (%.0f chars/s)", st->iteration - start_iter, el,
                (st->iteration - start_iter) * (double)chars_per_iter / el);
        if (c->rd.best[0] || c->saved_iter == st->iteration)
            SAY("; sample with: charrnn sample %s\n", c->rd.best[0] ? c->rd.bestlink : c->rd.latest);
        else if (c->last)
            SAY("; the last checkpoint that fitted on the disk is %s (iteration %ld)\n", c->last, c->last_iter);
        else
            SAY("; no checkpoint fitted on the disk\n");
    }
    return finish(c, 0);
}

int cmd_train(int argc, char **argv) {
    train_args a;
    run_ctx c;
    loop_end e = {0};
    int rc;
    if ((rc = parse_train_args(argc, argv, &a))) return rc;
    if ((rc = open_run(&a, &c))) return rc;
    if ((rc = train_loop(&a, &c, &e)) >= 0) return rc;
    return end_run(&a, &c, &e);
}
