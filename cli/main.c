/* main.c: the `charrnn` command line: train, sample, eval, info (viz, cells and
 * report live in viz.c and viz_report.c). A thin layer on
 * libcharrnn: it parses options (char-rnn's names, with dashes), prints progress
 * to stderr and text to stdout, writes checkpoints and the train.jsonl log. */
#include "charrnn.h"
#include "cli.h"
#include "options.h"
#include "progress.h"
#include "viz.h"

#include <errno.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern const char charrnn_default_corpus[];
extern const char charrnn_default_corpus_end[];

static const char *prog = "charrnn";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- small helpers ---------------------------------------------------------------- */

static void put_char(uint32_t c, charrnn_unit unit, FILE *out) {
    if (unit == CHARRNN_UNIT_BYTE) { fputc((int)c, out); return; }
    char u[4];
    int n = charrnn_utf8_encode(c, u);
    fwrite(u, 1, (size_t)n, out);
}

static void describe_chars(const uint32_t *cs, int n, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len + 16 < cap; i++) {
        char u[5] = {0};
        if (cs[i] >= 0x20 && cs[i] != 0x7f) {
            int k = charrnn_utf8_encode(cs[i], u);
            u[k] = 0;
            len += (size_t)snprintf(out + len, cap - len, "%s'%s' (U+%04X)", i ? ", " : "", u, cs[i]);
        } else {
            len += (size_t)snprintf(out + len, cap - len, "%sU+%04X", i ? ", " : "", cs[i]);
        }
    }
}

static int mkdir_p(const char *dir) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) && errno != EEXIST) return -1;
    struct stat st;
    return stat(tmp, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* ---- train -------------------------------------------------------------------------- */

/* Ctrl-C / SIGTERM: the first asks training to stop after the current step and
 * save a resumable checkpoint; a second leaves at once, touching nothing. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (stop_signal) _exit(128 + sig);
    stop_signal = sig;
    static const char msg[] = "\ncharrnn: stopping after this iteration to save a checkpoint (again to quit at once)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
}

static void catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Before hours of training: the checkpoint directory must take a file, and hold
 * two checkpoints (latest and best). */
static void check_checkpoint_dir(const char *cv, size_t ckpt_bytes) {
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.charrnn-write-test.%ld", cv, (long)getpid());
    FILE *f = fopen(probe, "wb");
    if (!f || fputs("ok", f) < 0 || fclose(f) != 0)
        cli_die(1, "cannot write in checkpoint directory '%s': %s; pass a writable --checkpoint-dir", cv, strerror(errno));
    unlink(probe);
    struct statvfs vfs;
    if (statvfs(cv, &vfs) == 0) {
        double avail = (double)vfs.f_bavail * (double)vfs.f_frsize, need = 2.0 * (double)ckpt_bytes;
        if (avail < need)
            cli_die(1, "checkpoint directory '%s' has %.1f MB free, but two checkpoints of this run need %.1f MB; "
                   "free some space or pass another --checkpoint-dir", cv, avail / 1e6, need / 1e6);
    }
}

static int cmd_train(int argc, char **argv) {
    charrnn_model_config mc;
    charrnn_train_options o;
    charrnn_model_config_default(&mc);
    charrnn_train_options_default(&o);
    int cell = mc.cell, unit = o.unit, optim = o.optim, clip_mode = o.clip_mode;
    double dropout = 0;
    int threads = 0, print_every = 10;
    long sample_every = 0, sample_length = 200;
    double sample_temperature = 1.0;
    const char *cv = "cv", *resume = NULL, *init_from = NULL;
    optdef opts[] = {
        {"model", O_CHOICE, &cell, "lstm|gru|rnn", "cell type (default lstm)", 0},
        {"num-layers", O_INT, &mc.num_layers, 0, "layers (default 2)", 0},
        {"rnn-size", O_INT, &mc.rnn_size, 0, "hidden units per layer (default 128)", 0},
        {"dropout", O_DOUBLE, &dropout, 0, "dropout between layers and before the decoder (default 0)", 0},
        {"unit", O_CHOICE, &unit, "codepoint|byte", "what a character is (default codepoint: UTF-8 decoded)", 0},
        {"batch-size", O_INT, &o.batch_size, 0, "parallel streams per batch (default 50)", 0},
        {"seq-length", O_INT, &o.seq_length, 0, "steps of truncated backprop (default 50)", 0},
        {"train-frac", O_DOUBLE, &o.train_frac, 0, "fraction of the text for training (default 0.95)", 0},
        {"val-frac", O_DOUBLE, &o.val_frac, 0, "fraction for validation (default 0.05); the rest is test", 0},
        {"optim", O_CHOICE, &optim, "rmsprop|adam|adagrad|sgd", "optimizer (default rmsprop)", 0},
        {"learning-rate", O_DOUBLE, &o.learning_rate, 0, "learning rate (default 2e-3)", 0},
        {"decay-rate", O_DOUBLE, &o.decay_rate, 0, "RMSProp decay (default 0.95)", 0},
        {"beta1", O_DOUBLE, &o.beta1, 0, "Adam beta1 (default 0.9)", 0},
        {"beta2", O_DOUBLE, &o.beta2, 0, "Adam beta2 (default 0.999)", 0},
        {"learning-rate-decay", O_DOUBLE, &o.learning_rate_decay, 0, "lr multiplier per epoch (default 0.97)", 0},
        {"learning-rate-decay-after", O_DOUBLE, &o.learning_rate_decay_after, 0, "epochs before lr decay starts (default 10)", 0},
        {"grad-clip", O_DOUBLE, &o.grad_clip, 0, "clip gradients at this value (default 5; 0 off)", 0},
        {"clip-mode", O_CHOICE, &clip_mode, "value|norm", "element-wise (default) or global L2 norm", 0},
        {"max-epochs", O_DOUBLE, &o.max_epochs, 0, "epochs to train (default 50)", 0},
        {"max-iters", O_LONG, &o.max_iters, 0, "iterations to train (overrides --max-epochs)", 0},
        {"eval-val-every", O_LONG, &o.eval_val_every, 0, "validate and checkpoint every N iterations (default 1000)", 0},
        {"print-every", O_INT, &print_every, 0, "progress line every N iterations (default 10)", 0},
        {"sample-every", O_LONG, &sample_every, 0, "record a sample in train.jsonl every N iterations (default 0: never)", 0},
        {"sample-length", O_LONG, &sample_length, 0, "characters per recorded sample (default 200)", 0},
        {"sample-temperature", O_DOUBLE, &sample_temperature, 0, "temperature of the recorded samples (default 1)", 0},
        {"seed", O_U64, &o.seed, 0, "random seed (default 123)", 0},
        {"checkpoint-dir", O_STR, &cv, 0, "where checkpoints and train.jsonl go (default cv)", 0},
        {"resume", O_STR, &resume, 0, "continue the run saved in this checkpoint exactly", 0},
        {"init-from", O_STR, &init_from, 0, "start a new run from this checkpoint's weights", 0},
        {"threads", O_INT, &threads, 0, "threads for BLAS and loops (default: the library's)", 0},
        {"skip-nonfinite", O_LONG, &o.skip_nonfinite, 0, "skip up to N steps whose loss or gradient is NaN/Inf (default 0: stop)", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "train", "train [FILE] [options]   (no FILE: the built-in corpus)", opts, pos, 1);
    mc.cell = (charrnn_cell)cell;
    mc.dropout = (float)dropout;
    o.unit = (charrnn_unit)unit;
    o.optim = (charrnn_optim)optim;
    o.clip_mode = (charrnn_clip_mode)clip_mode;
    if (print_every < 1) cli_die(2, "--print-every %d is out of range; use a positive count", print_every);
    if (sample_every < 0) cli_die(2, "--sample-every %ld is out of range; use 0 (never) or a positive count", sample_every);
    if (sample_length < 1 || sample_length > 1000000) cli_die(2, "--sample-length %ld is out of range; use 1 to 1000000", sample_length);
    if (!(sample_temperature >= 0)) cli_die(2, "--sample-temperature %g is out of range; use 0 (argmax) or a positive value", sample_temperature);
    if (resume && init_from) cli_die(2, "--resume and --init-from exclude each other: resume continues a run, init-from starts a new one");
    cli_set_threads(threads);

    const char *file = np ? pos[0] : NULL;
    const char *text = NULL;
    size_t len = 0;
    if (!file) {
        text = charrnn_default_corpus;
        len = (size_t)(charrnn_default_corpus_end - charrnn_default_corpus);
        fprintf(stderr, "no input file given: training on the built-in corpus (charrnn's own C sources, %zu bytes)\n", len);
    }
    charrnn_error err = {0};
    charrnn_trainer *t = NULL;
    int rc;
    if (resume) {
        /* a resumed run keeps its own settings; only how long it runs may change */
        charrnn_train_options over;
        memset(&over, 0, sizeof over);
        for (const optdef *q = opts; q->name; q++) {
            if (!q->given) continue;
            if (!strcmp(q->name, "max-epochs")) over.max_epochs = o.max_epochs;
            else if (!strcmp(q->name, "max-iters")) over.max_iters = o.max_iters;
            else if (!strcmp(q->name, "eval-val-every")) over.eval_val_every = o.eval_val_every;
            else if (!strcmp(q->name, "skip-nonfinite")) over.skip_nonfinite = o.skip_nonfinite;
            else if (strcmp(q->name, "resume") && strcmp(q->name, "checkpoint-dir") && strcmp(q->name, "threads") &&
                     strcmp(q->name, "print-every") && strcmp(q->name, "skip-nonfinite") && strncmp(q->name, "sample-", 7))
                fprintf(stderr, "warning: --%s is ignored with --resume: the run keeps the settings saved in %s\n",
                        q->name, resume);
        }
        if ((over.max_iters < 0) || (over.eval_val_every < 0) || over.max_epochs < 0)
            cli_die(2, "--max-iters, --max-epochs and --eval-val-every must be positive");
        rc = charrnn_trainer_resume(&t, resume, file, text, len, &over, &err);
    } else {
        rc = charrnn_trainer_open(&t, file, text, len, &mc, &o, &err);
        if (!rc && init_from) rc = charrnn_trainer_init_from(t, init_from, &err);
    }
    if (rc) cli_die_err(&err);
    struct stat cst;
    if (stat(cv, &cst) == 0 && !S_ISDIR(cst.st_mode))
        cli_die(1, "--checkpoint-dir '%s' exists and is not a directory; pass a directory", cv);
    if (mkdir_p(cv)) cli_die(1, "cannot create checkpoint directory '%s': %s; pass a writable --checkpoint-dir", cv, strerror(errno));

    check_checkpoint_dir(cv, charrnn_trainer_checkpoint_bytes(t));
    const charrnn_train_options *ro = charrnn_trainer_options(t);
    charrnn_model *m = charrnn_trainer_model(t);
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    charrnn_corpus_info ci;
    charrnn_trainer_corpus_info(t, &ci);
    fprintf(stderr, "corpus: %zu characters (%s), vocabulary %d, %d byte(s) each; train %zu, val %zu, test %zu\n",
            ci.num_chars, ro->unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points", ci.vocab_size, ci.elem_bytes,
            ci.train_chars, ci.val_chars, ci.test_chars);
    fprintf(stderr, "model: %d x %d %s, dropout %g, %zu parameters; batch %d x seq %d, %ld iterations per epoch, %s lr %g\n",
            info.config.num_layers, info.config.rnn_size, charrnn_cell_name(info.config.cell), info.config.dropout,
            info.num_params, ro->batch_size, ro->seq_length, ci.iters_per_epoch, charrnn_optim_name(ro->optim),
            ro->learning_rate);
    if (resume) fprintf(stderr, "resuming %s at iteration %ld (epoch %.2f)\n", resume, info.iteration, info.epoch);

    char logpath[4096], latest[4096], best[4096], bestlink[4096];
    snprintf(logpath, sizeof logpath, "%s/train.jsonl", cv);
    snprintf(latest, sizeof latest, "%s/latest.safetensors", cv);
    snprintf(bestlink, sizeof bestlink, "%s/best.safetensors", cv);
    best[0] = 0;
    FILE *logf = fopen(logpath, "a");
    if (!logf) cli_die(1, "cannot open log '%s': %s; pass a writable --checkpoint-dir", logpath, strerror(errno));
    double best_val = info.val_loss;

    charrnn_step_stats st = {0};
    double t_last = now_s(), t0 = t_last;
    long it_last = info.iteration, start_iter = info.iteration;
    long chars_per_iter = (long)ro->batch_size * ro->seq_length;
    int saved_at_end = 0;
    progress bar; /* on a terminal: the current epoch's bar between the progress lines */
    progress_init(&bar, "it");
    if (charrnn_trainer_done(t)) {
        long done_it, total_it;
        charrnn_trainer_progress(t, &done_it, &total_it);
        fprintf(stderr, "nothing to do: the run is at iteration %ld of %ld; raise --max-iters or --max-epochs to continue\n",
                done_it, total_it);
    }
    catch_stop_signals();
    while (!charrnn_trainer_done(t)) {
        rc = charrnn_trainer_step(t, &st, &err);
        progress_clear(&bar);
        if (rc) {
            fprintf(stderr, "%s: error: %s\n", prog, err.msg);
            if (best[0] || access(latest, F_OK) == 0)
                fprintf(stderr, "the last good checkpoint is %s\n", access(latest, F_OK) == 0 ? latest : best);
            fclose(logf);
            charrnn_trainer_close(t);
            return 1;
        }
        saved_at_end = 0;
        if (st.skipped)
            fprintf(stderr, "warning: iteration %ld had a non-finite loss or gradient and was skipped (%ld of --skip-nonfinite %ld)\n",
                    st.iteration, st.skipped_total, ro->skip_nonfinite);
        if (stop_signal) {
            if (charrnn_trainer_save(t, latest, &err)) cli_die_err(&err);
            fprintf(stderr, "interrupted at iteration %ld (epoch %.3f): saved %s\nresume with: charrnn train %s%s%s --resume %s%s%s\n",
                    st.iteration, st.epoch, latest, file ? "'" : "", file ? file : "", file ? "'" : "", latest,
                    strcmp(cv, "cv") ? " --checkpoint-dir " : "", strcmp(cv, "cv") ? cv : "");
            fclose(logf);
            charrnn_trainer_close(t);
            return 128 + stop_signal;
        }
        int last = charrnn_trainer_done(t);
        if (st.iteration % print_every == 0 || last || st.iteration == start_iter + 1) {
            double tn = now_s();
            double ms = (tn - t_last) * 1000.0 / (double)(st.iteration - it_last);
            fprintf(stderr, "%ld/%ld (epoch %.3f), train_loss = %.4f nats (%.4f bpc), grad norm = %.3e, %.1f ms/it, %.0f chars/s, threads %d\n",
                    st.iteration, st.total_iters, st.epoch, st.loss, st.loss / log(2.0), st.grad_norm, ms,
                    chars_per_iter * 1000.0 / ms, charrnn_get_threads());
            fprintf(logf, "{\"iteration\":%ld,\"epoch\":%.6f,\"train_loss\":%.6f,\"train_bpc\":%.6f,\"grad_norm\":%.6g,\"learning_rate\":%.6g,\"ms_per_iter\":%.3f}\n",
                    st.iteration, st.epoch, st.loss, st.loss / log(2.0), st.grad_norm, st.learning_rate, ms);
            fflush(logf);
            t_last = tn;
            it_last = st.iteration;
        }
        if (st.iteration % ro->eval_val_every == 0 || last) {
            double val;
            int have_val = charrnn_trainer_validate(t, &val, &err) == CHARRNN_OK;
            if (have_val) {
                fprintf(stderr, "validation at %ld: val_loss = %.4f nats (%.4f bpc)\n", st.iteration, val, val / log(2.0));
                fprintf(logf, "{\"iteration\":%ld,\"epoch\":%.6f,\"val_loss\":%.6f,\"val_bpc\":%.6f}\n", st.iteration, st.epoch,
                        val, val / log(2.0));
                fflush(logf);
            }
            if (charrnn_trainer_save(t, latest, &err)) cli_die_err(&err);
            if (have_val && (isnan(best_val) || val < best_val)) {
                char newbest[4096];
                snprintf(newbest, sizeof newbest, "%s/lm_%s_epoch%.2f_%.4f.safetensors", cv,
                         charrnn_cell_name(info.config.cell), st.epoch, val);
                if (charrnn_trainer_save(t, newbest, &err)) cli_die_err(&err);
                /* keep one best file: point best.safetensors at it (atomically), drop the old */
                char tmp[4200];
                snprintf(tmp, sizeof tmp, "%s.tmp", bestlink);
                unlink(tmp);
                const char *base = strrchr(newbest, '/') + 1;
                if (symlink(base, tmp) == 0) rename(tmp, bestlink);
                if (best[0] && strcmp(best, newbest)) unlink(best);
                snprintf(best, sizeof best, "%s", newbest);
                best_val = val;
                fprintf(stderr, "saved %s (best so far) and %s\n", newbest, latest);
            } else {
                fprintf(stderr, "saved %s\n", latest);
            }
            saved_at_end = 1;
        }
        if (sample_every && st.iteration % sample_every == 0) {
            double ts = now_s();
            report_log_sample(logf, m, st.iteration, sample_length, sample_temperature, ro->seed);
            t_last += now_s() - ts; /* sampling is not training time */
        }
        progress_epoch(&bar, st.iteration, st.total_iters, ci.iters_per_epoch, st.iteration - start_iter);
    }
    progress_clear(&bar);
    if (!saved_at_end && st.iteration > start_iter) {
        if (charrnn_trainer_save(t, latest, &err)) cli_die_err(&err);
        fprintf(stderr, "saved %s\n", latest);
    }
    double el = now_s() - t0;
    if (st.iteration > start_iter)
        fprintf(stderr, "done: %ld iterations in %.1f s (%.0f chars/s); sample with: charrnn sample %s\n",
                st.iteration - start_iter, el, (st.iteration - start_iter) * (double)chars_per_iter / el,
                best[0] ? bestlink : latest);
    fclose(logf);
    charrnn_trainer_close(t);
    return 0;
}

/* ---- sample ------------------------------------------------------------------------- */

static int cmd_sample(int argc, char **argv) {
    long length = 2000;
    double temperature = 1.0;
    const char *primetext = NULL, *prime_file = NULL;
    uint64_t seed = 123;
    int verbose = 1, num = 1, threads = 0, half = 0;
    optdef opts[] = {
        {"length", O_LONG, &length, 0, "characters to generate (default 2000)", 0},
        {"temperature", O_DOUBLE, &temperature, 0, "sampling temperature; 0 = always the likeliest (default 1)", 0},
        {"primetext", O_STR, &primetext, 0, "text to start from (UTF-8)", 0},
        {"prime-file", O_STR, &prime_file, 0, "file whose text to start from", 0},
        {"seed", O_U64, &seed, 0, "random seed (default 123)", 0},
        {"num-samples", O_INT, &num, 0, "independent samples generated together (default 1)", 0},
        {"verbose", O_INT, &verbose, 0, "1: describe the model on stderr; 0: only the text", 0},
        {"half", O_INT, &half, 0, "1: weights in half precision, ~2x faster on large models, slightly different samples", 0},
        {"threads", O_INT, &threads, 0, "threads for BLAS and loops", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "sample", "sample CHECKPOINT [options]", opts, pos, 1);
    if (np < 1) cli_die(2, "sample needs a checkpoint: charrnn sample cv/best.safetensors");
    if (length < 0) cli_die(2, "--length %ld is out of range; use 0 or more characters", length);
    if (!(temperature >= 0)) cli_die(2, "--temperature %g is out of range; use 0 (argmax) or a positive value such as 1", temperature);
    if (num < 1 || num > 100000) cli_die(2, "--num-samples %d is out of range; use 1 to 100000", num);
    if (primetext && prime_file) cli_die(2, "give --primetext or --prime-file, not both");
    if (half != 0 && half != 1) cli_die(2, "--half %d is out of range; use 1 (half-precision weights) or 0", half);
    cli_set_threads(threads);
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    charrnn_model_info info;
    charrnn_model_get_info(m, &info);
    if (verbose)
        fprintf(stderr, "%s: %d x %d %s, vocabulary %d, trained %ld iterations, temperature %g, seed %llu\n", pos[0],
                info.config.num_layers, info.config.rnn_size, charrnn_cell_name(info.config.cell), info.vocab_size,
                info.iteration, temperature, (unsigned long long)seed);
    charrnn_sampler *s;
    if (charrnn_sampler_open(&s, m, num, seed, &err)) cli_die_err(&err);
    if (half && charrnn_sampler_use_half(s, &err)) cli_die_err(&err);
    char *prime = NULL;
    size_t plen = 0;
    if (prime_file) prime = cli_read_file(prime_file, &plen);
    else if (primetext) { prime = strdup(primetext); plen = strlen(primetext); }
    if (prime && plen) {
        long skipped = 0;
        uint32_t ex[8];
        if (charrnn_sampler_prime(s, prime, plen, &skipped, ex, 8, &err)) cli_die_err(&err);
        if (skipped) {
            char list[512];
            describe_chars(ex, skipped < 8 ? (int)skipped : 8, list, sizeof list);
            fprintf(stderr, "warning: %ld character(s) of the prime text are not in the model's vocabulary and were skipped: %s\n",
                    skipped, list);
        }
    }
    uint32_t *out = malloc(sizeof(uint32_t) * (size_t)num);
    uint32_t *all = num > 1 ? malloc(sizeof(uint32_t) * (size_t)num * (size_t)length) : NULL;
    if (!out || (num > 1 && length > 0 && !all)) cli_die(1, "out of memory for %d samples of %ld characters", num, length);
    if (num == 1 && prime) fwrite(prime, 1, plen, stdout);
    double t0 = now_s();
    for (long i = 0; i < length; i++) {
        if (charrnn_sampler_next(s, (float)temperature, out, &err)) cli_die_err(&err);
        if (num == 1) {
            put_char(out[0], info.unit, stdout);
            if (out[0] == '\n') fflush(stdout);
        } else {
            for (int j = 0; j < num; j++) all[(size_t)j * length + i] = out[j];
        }
    }
    for (int j = 0; num > 1 && j < num; j++) {
        printf("%s--- sample %d ---\n", j ? "\n" : "", j + 1);
        if (prime) fwrite(prime, 1, plen, stdout);
        for (long i = 0; i < length; i++) put_char(all[(size_t)j * length + i], info.unit, stdout);
    }
    printf("\n");
    fflush(stdout);
    double el = now_s() - t0;
    if (verbose && length > 0)
        fprintf(stderr, "generated %ld x %d characters in %.3f s (%.0f chars/s)\n", length, num, el,
                (double)length * num / (el > 0 ? el : 1e-9));
    free(all);
    free(out);
    free(prime);
    charrnn_sampler_close(s);
    charrnn_model_close(m);
    return 0;
}

/* ---- eval --------------------------------------------------------------------------- */

static int cmd_eval(int argc, char **argv) {
    int threads = 0;
    optdef opts[] = {
        {"threads", O_INT, &threads, 0, "threads for BLAS and loops", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2] = {0};
    int np = cli_parse(argc, argv, "eval", "eval CHECKPOINT FILE [options]", opts, pos, 2);
    if (np < 2) cli_die(2, "eval needs a checkpoint and a text file: charrnn eval cv/best.safetensors test.txt");
    cli_set_threads(threads);
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    size_t len;
    char *text = cli_read_file(pos[1], &len);
    charrnn_eval_result r;
    progress bar;
    progress_init(&bar, "chars");
    bar.label = "eval";
    int rc = charrnn_evaluate(m, text, len, pos[1], cli_progress, &bar, &r, &err);
    progress_clear(&bar);
    if (rc) cli_die_err(&err);
    if (r.unknown) {
        char list[512];
        describe_chars(r.unknown_examples, r.num_unknown_examples, list, sizeof list);
        fprintf(stderr, "warning: %ld character(s) of %s are not in the model's vocabulary and were skipped, e.g. %s\n",
                r.unknown, pos[1], list);
    }
    printf("%s: %.4f nats, %.4f bpc over %ld predicted characters (%ld unknown skipped)\n", pos[1], r.nats, r.bpc,
           r.predicted, r.unknown);
    free(text);
    charrnn_model_close(m);
    return 0;
}

/* ---- info --------------------------------------------------------------------------- */

static int cmd_info(int argc, char **argv) {
    int threads = 0;
    optdef opts[] = {
        {"threads", O_INT, &threads, 0, "accepted for symmetry; info does no numeric work", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[1] = {0};
    int np = cli_parse(argc, argv, "info", "info CHECKPOINT", opts, pos, 1);
    if (np < 1) cli_die(2, "info needs a checkpoint: charrnn info cv/latest.safetensors");
    charrnn_error err = {0};
    charrnn_model *m;
    if (charrnn_model_load(&m, pos[0], &err)) cli_die_err(&err);
    charrnn_model_info in;
    charrnn_model_get_info(m, &in);
    printf("checkpoint:     %s\n", pos[0]);
    printf("model:          %s, %d layers x %d, dropout %g\n", charrnn_cell_name(in.config.cell), in.config.num_layers,
           in.config.rnn_size, in.config.dropout);
    printf("parameters:     %zu\n", in.num_params);
    printf("vocabulary:     %d %s\n", in.vocab_size, in.unit == CHARRNN_UNIT_BYTE ? "bytes" : "code points");
    printf("characters:     ");
    for (int i = 0; i < in.vocab_size && i < 200; i++) {
        uint32_t c = charrnn_model_vocab(m, i);
        if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else put_char(c, in.unit, stdout);
    }
    printf("%s\n", in.vocab_size > 200 ? " ..." : "");
    printf("trained:        %ld iterations, epoch %.3f, learning rate %g\n", in.iteration, in.epoch, in.learning_rate);
    printf("train loss:     %.4f nats (%.4f bpc), last iteration\n", in.train_loss, in.train_loss / log(2.0));
    if (in.num_history) {
        printf("best val loss:  %.4f nats (%.4f bpc)\n", in.val_loss, in.val_loss / log(2.0));
        printf("val history:   ");
        for (int i = 0; i < in.num_history; i++) {
            long it;
            double v;
            charrnn_model_history(m, i, &it, &v);
            printf(" %ld:%.4f", it, v);
        }
        printf("\n");
    }
    const char *opts_json = charrnn_model_metadata(m, "train_options");
    if (opts_json) printf("train options:  %s\n", opts_json);
    charrnn_model_close(m);
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "charrnn %s: character-level LSTM / GRU / RNN language models\n\n"
            "usage: charrnn COMMAND [options]   (charrnn COMMAND --help for its options)\n\n"
            "  train [FILE]            train a model on a text file (no FILE: the built-in corpus)\n"
            "  sample CHECKPOINT       generate text from a model\n"
            "  eval CHECKPOINT FILE    loss of a model on a text, in nats and bits per character\n"
            "  info CHECKPOINT         describe a checkpoint\n"
            "  viz CHECKPOINT FILE     a web page of the text coloured by any neuron, with the model's guesses\n"
            "  cells CHECKPOINT FILE   neurons ranked by how well they track quotes, brackets, comments, ...\n"
            "  report RUN_DIR          a web page of a run: loss curves, samples during training, checkpoint\n",
            CHARRNN_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "sample")) return cmd_sample(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "viz")) return cmd_viz(argc - 2, argv + 2);
    if (!strcmp(cmd, "cells")) return cmd_cells(argc - 2, argv + 2);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 2, argv + 2);
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { usage(stdout); return 0; }
    if (!strcmp(cmd, "--version")) { printf("charrnn %s\n", CHARRNN_VERSION); return 0; }
    const char *cmds[] = {"train", "sample", "eval", "info", "viz", "cells", "report"};
    for (int i = 0; i < 7; i++)
        if (edit_distance(cmd, cmds[i]) <= 2) cli_die(2, "unknown command '%s'; did you mean '%s'?", cmd, cmds[i]);
    cli_die(2, "unknown command '%s'; the commands are train, sample, eval, info, viz, cells, report (charrnn --help)", cmd);
    return 2;
}
