/* test_device.c: where the network computes (issue 19), as a user and a program see it: device
 * names checked (charrnn_device_check, charrnn_model_set_device) with one-line errors that say
 * what to do, in every build: a CPU-only build names make CUDA=1, a CUDA build without a GPU says
 * none is visible, and auto runs on the CPU there and says so once; every command that runs the
 * network takes --device and refuses a bad one before any work; char-rnn's -gpuid N is cuda:N
 * (-1 the CPU; no usable GPU: the CPU with a note); `info` lists the GPUs and train.jsonl's start
 * line records the device and precision. On a machine with a GPU the same tests move a model
 * there and back (sampling alike on both); the GPU's own numbers are test_backends.c's and
 * tests/gpu.sh's. */
#include "test.h"
#include "charrnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* -1: a build without CUDA; 0: a CUDA build that sees no GPU; else the GPUs */
static int gpus(void) { return charrnn_cuda_device_count(); }

/* What a GPU asked for outright is refused with here (NULL where a GPU is there). */
static const char *no_gpu_words(void) {
    return gpus() < 0 ? "make CUDA=1" : gpus() == 0 ? "no CUDA GPU is visible" : NULL;
}

static int one_line(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20) return 0;
    return *s != 0;
}

/* stderr holds exactly one line, the error, and it has needle */
static int one_error_line(const char *err, const char *needle) {
    const char *nl = strchr(err, '\n');
    return !strncmp(err, "charrnn: error: ", 16) && nl && !nl[1] && strstr(err, needle) &&
           (size_t)(strstr(err, needle) - err) < (size_t)(nl - err);
}

static charrnn_model *small_model(void) {
    charrnn_model_config c;
    charrnn_model_config_default(&c);
    c.num_layers = 1;
    c.rnn_size = 8;
    const uint32_t vocab[] = {'\n', ' ', 'a', 'b', 'c', 'd'};
    charrnn_model *m = NULL;
    charrnn_error err = {0};
    CHECKF(charrnn_model_new(&m, &c, CHARRNN_UNIT_CODEPOINT, vocab, 6, 7, &err) == 0, "%s", err.msg);
    return m;
}

/* The device names: auto, cpu, cuda and cuda:N are the forms; anything else is one line naming them. */
static void test_device_names(void) {
    charrnn_error err;
    const char *bad[] = {"gpu", "CUDA", "Cpu", "cuda:", "cuda:x", "cuda:-1", "cuda:0x", "cpu ", "", "cuda:123456789",
                         "cuda0", "\x1b[2Jcuda"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&err, 0, sizeof err);
        int rc = charrnn_device_check(bad[i], &err);
        CHECKF(rc == CHARRNN_EINVAL && one_line(err.msg) && strstr(err.msg, "auto, cpu, cuda, cuda:N"),
               "device '%s': %d '%s'", bad[i], rc, err.msg);
    }
    CHECK(charrnn_device_check(NULL, &err) == 0 && charrnn_device_check("auto", &err) == 0 &&
          charrnn_device_check("cpu", &err) == 0);
    const char *words = no_gpu_words();
    const char *gpu_names[] = {"cuda", "cuda:0", "cuda:3"};
    for (int i = 0; i < 3; i++) {
        memset(&err, 0, sizeof err);
        int rc = charrnn_device_check(gpu_names[i], &err);
        if (words)
            CHECKF(rc == CHARRNN_EINVAL && one_line(err.msg) && strstr(err.msg, words) && strstr(err.msg, "cpu"),
                   "%s without a GPU: %d '%s'", gpu_names[i], rc, err.msg);
        else if (i < 2 || gpus() > 3)
            CHECKF(rc == 0, "%s with %d GPUs: %s", gpu_names[i], gpus(), err.msg);
        else
            CHECKF(rc == CHARRNN_EINVAL && strstr(err.msg, "this machine has"), "cuda:3 with %d GPUs: %s", gpus(), err.msg);
    }
    /* the process default (the library's own models) takes the same names */
    CHECK(charrnn_set_device("bogus", &err) == CHARRNN_EINVAL);
    if (words) CHECK(charrnn_set_device("cuda", &err) == CHARRNN_EINVAL && strstr(err.msg, words));
    CHECK(charrnn_set_device("cpu", &err) == 0);
    /* the machine's line */
    const char *info = charrnn_device_info();
    CHECKF(one_line(info) && (gpus() < 0 ? strstr(info, "make CUDA=1") != NULL
                              : gpus() == 0 ? strstr(info, "no GPU visible") != NULL : strstr(info, "cuda:0 ") != NULL),
           "device info with %d GPUs: '%s'", gpus(), info);
}

/* The first n characters a sampler draws greedily after "ab" (temperature 0: the same on any device
 * whose numbers agree to the argmax). */
static int greedy(charrnn_model *m, char *out, int n) {
    charrnn_sampler *s;
    charrnn_error err = {0};
    if (charrnn_sampler_open(&s, m, 1, 1, &err)) return CHECKF(0, "sampler: %s", err.msg), -1;
    int rc = charrnn_sampler_prime(s, "ab", 2, NULL, NULL, 0, NULL, &err);
    for (int i = 0; i < n && !rc; i++) {
        uint32_t c;
        rc = charrnn_sampler_next(s, 0, &c, &err);
        out[i] = (char)c;
    }
    out[n] = 0;
    CHECKF(rc == 0, "sampling: %s", err.msg);
    charrnn_sampler_close(s);
    return rc;
}

/* A model's device: cpu as it is made; a GPU refused where there is none (the model as it was);
 * auto on the CPU where no GPU is usable, with a note in a CUDA build; on a machine with a GPU
 * it goes there and back, sampling the same, and never while a sampler reads it. */
static void test_model_device(void) {
    charrnn_model *m = small_model();
    if (!m) return;
    charrnn_error err = {0};
    char before[33], after[33];
    CHECK(!strcmp(charrnn_model_device(m), "cpu") && !*charrnn_model_device_note(m));
    if (greedy(m, before, 32)) { charrnn_model_close(m); return; }
    CHECKF(charrnn_model_set_device(m, "cpu", &err) == 0 && !strcmp(charrnn_model_device(m), "cpu"), "%s", err.msg);
    CHECK(charrnn_model_set_device(m, "gpu", &err) == CHARRNN_EINVAL && strstr(err.msg, "'gpu'"));
    const char *words = no_gpu_words();
    if (words) {
        CHECKF(charrnn_model_set_device(m, "cuda", &err) == CHARRNN_EINVAL && strstr(err.msg, words), "%s", err.msg);
        CHECK(!strcmp(charrnn_model_device(m), "cpu"));
        CHECKF(charrnn_model_set_device(m, "auto", &err) == 0 && !strcmp(charrnn_model_device(m), "cpu"), "%s", err.msg);
        const char *note = charrnn_model_device_note(m);
        CHECKF(gpus() < 0 ? !*note : strstr(note, "cpu (auto") && strstr(note, "no GPU") != NULL, "auto's note: '%s'", note);
        CHECK(greedy(m, after, 32) == 0 && !strcmp(before, after));
        charrnn_model_close(m);
        return;
    }
    /* a GPU: the model goes there, samples as on the CPU, and comes back */
    CHECKF(charrnn_model_set_device(m, "cuda:0", &err) == 0, "to the GPU: %s", err.msg);
    CHECKF(!strncmp(charrnn_model_device(m), "cuda:0 (", 8), "on the GPU: '%s'", charrnn_model_device(m));
    CHECKF(charrnn_model_set_precision(m, CHARRNN_PRECISION_AUTO, &err) == 0 &&
           charrnn_model_precision(m) == CHARRNN_PRECISION_FP32, "auto precision on the GPU: %s", err.msg);
    CHECK(greedy(m, after, 32) == 0 && !strcmp(before, after));
    charrnn_sampler *s;
    CHECK(charrnn_sampler_open(&s, m, 1, 1, &err) == 0);
    CHECKF(charrnn_model_set_device(m, "cpu", &err) == CHARRNN_EINVAL && strstr(err.msg, "samplers"),
           "moving under a sampler: %s", err.msg);
    charrnn_sampler_close(s);
    CHECKF(charrnn_model_set_device(m, "cpu", &err) == 0 && !strcmp(charrnn_model_device(m), "cpu"), "back: %s", err.msg);
    CHECK(greedy(m, after, 32) == 0 && !strcmp(before, after));
    /* auto: a small model that samples stays on the CPU, and says why */
    CHECKF(charrnn_model_set_device(m, "auto", &err) == 0 && !strcmp(charrnn_model_device(m), "cpu") &&
           strstr(charrnn_model_device_note(m), "small"), "auto for sampling a small model: %s", charrnn_model_device_note(m));
    charrnn_model_close(m);
}

static const char *corpus(void) {
    static const char *path;
    if (path) return path;
    path = t_path("dev_corpus.txt");
    char *text = malloc(12001);
    for (int i = 0; i < 12000; i++) text[i] = "abcd efg\n"[(i * 7 + i / 13) % 9];
    t_write_file(path, text, 12000);
    free(text);
    return path;
}

static const char *model(void) {
    return t_trained("dev_cv", corpus(), "--rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 4 "
                     "--eval-val-every 4 --threads 1 --precision fp32");
}

/* Every command that runs the network takes --device and refuses a bad one, or a GPU where there is
 * none, with one line and exit 2 before any work (nothing written). */
static void test_device_option_refused_before_work(void) {
    const char *ck = model();
    if (!ck) return;
    const char *z = t_path("dev_plain.z");
    char *e = NULL;
    CHECK(t_cli(NULL, &e, "compress '%s' '%s' -o '%s'", ck, corpus(), z) == 0);
    free(e);
    const char *words = no_gpu_words();
    const char *cmds[] = {"train '%s' --max-iters 1 --checkpoint-dir '%s' --device %s",
                          "eval '%s' '%s' --device %s",
                          "eval '%s' '%s' --dynamic --device %s",
                          "sample '%s' --length 5 --device %s%s",
                          "cells '%s' '%s' --device %s",
                          "viz '%s' '%s' -o '%s' --device %s",
                          "compress '%s' '%s' -o '%s' --device %s",
                          "decompress '%s' '%s' -o '%s' --device %s"};
    for (int bad = 0; bad < 2; bad++) {
        const char *dev = bad ? "cuda" : "tpu";
        if (bad && !words) break; /* a GPU is there: cuda is fine */
        const char *needle = bad ? words : "'tpu' is not one of auto, cpu, cuda, cuda:N";
        for (int i = 0; i < 8; i++) {
            const char *outp = t_path("dev_out");
            remove(outp);
            char *args;
            switch (i) {
            case 0: args = t_fmt(cmds[i], corpus(), outp, dev); break;
            case 1: case 2: case 4: args = t_fmt(cmds[i], ck, corpus(), dev); break;
            case 3: args = t_fmt(cmds[i], ck, dev, ""); break;
            case 5: case 6: args = t_fmt(cmds[i], ck, corpus(), outp, dev); break;
            default: args = t_fmt(cmds[i], ck, z, outp, dev); break;
            }
            char *out = NULL, *err = NULL;
            int rc = t_cli(&out, &err, "%s", args);
            struct stat st;
            CHECKF(rc == 2 && one_error_line(err, needle) && !*out && stat(outp, &st) != 0,
                   "charrnn %s: %d, stdout '%.80s', stderr '%s'", args, rc, out, err);
            free(out);
            free(err);
            free(args);
        }
    }
    /* an n-gram model takes no device: said, not an error */
    char *out = NULL, *err = NULL;
    const char *ng = t_path("dev.ngram");
    CHECK(t_cli(NULL, NULL, "ngram '%s' --order 3 --save '%s'", corpus(), ng) == 0);
    int rc = t_cli(&out, &err, "sample '%s' --length 5 --device cpu", ng);
    CHECKF(rc == 0 && strstr(err, "--device is ignored") && strstr(err, "n-gram"), "n-gram sample: %d %s", rc, err);
    free(out);
    free(err);
    /* --help lists --device for each of them */
    const char *names[] = {"train", "eval", "sample", "cells", "viz", "compress", "decompress"};
    for (int i = 0; i < 7; i++) {
        t_cli(&out, NULL, "%s --help", names[i]);
        CHECKF(out && strstr(out, "--device auto|cpu|cuda|cuda:N") && !strstr(out, "gpuid"), "%s --help: %s", names[i], out);
        free(out);
    }
}

/* char-rnn's -gpuid: -1 is the CPU (silently), N is cuda:N, where no GPU is usable the CPU with a
 * note (as char-rnn falls back); with --device, or not a number from -1, a one-line error. */
static void test_gpuid(void) {
    const char *ck = model();
    if (!ck) return;
    char *out = NULL, *err = NULL;
    int rc = t_cli(&out, &err, "sample '%s' --length 5 -gpuid -1 --verbose 0 --precision fp32", ck);
    CHECKF(rc == 0 && strlen(out) >= 5 && !strstr(err, "gpuid") && !strstr(err, "ignored"), "-gpuid -1: %d '%s'", rc, err);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "sample '%s' --length 5 -gpuid 0 --verbose 0 --precision fp32", ck);
    if (gpus() <= 0)
        CHECKF(rc == 0 && strlen(out) >= 5 && strstr(err, "-gpuid 0") && strstr(err, "running on the CPU") &&
               strstr(err, gpus() < 0 ? "make CUDA=1" : "no CUDA GPU"), "-gpuid 0 without a GPU: %d '%s'", rc, err);
    else
        CHECKF(rc == 0 && strlen(out) >= 5 && !strstr(err, "CPU"), "-gpuid 0 with a GPU: %d '%s'", rc, err);
    free(out);
    free(err);
    const char *bad[] = {"-gpuid 0 --device cpu", "-gpuid abc", "-gpuid -2", "-gpuid 1.5", "-gpuid ''"};
    const char *needle[] = {"not both", "-gpuid must be", "-gpuid must be", "-gpuid must be", "-gpuid must be"};
    for (int i = 0; i < 5; i++) {
        rc = t_cli(&out, &err, "sample '%s' --length 5 %s", ck, bad[i]);
        CHECKF(rc == 2 && one_error_line(err, needle[i]) && !*out, "%s: %d '%s'", bad[i], rc, err);
        free(out);
        free(err);
    }
    /* train takes it too, and checks it before any work */
    const char *dir = t_path("dev_gpuid_cv");
    rc = t_cli(&out, &err, "train '%s' --max-iters 1 --checkpoint-dir '%s' -gpuid x", corpus(), dir);
    struct stat st;
    CHECKF(rc == 2 && one_error_line(err, "-gpuid must be") && stat(dir, &st) != 0, "train -gpuid x: %d '%s'", rc, err);
    free(out);
    free(err);
}

/* `info` names the GPUs; a run says its device on stderr and records it with the precision in
 * train.jsonl's start line, again where it resumes; `report` reads such a log. */
static void test_info_and_run_log(void) {
    char *out = NULL, *err = NULL;
    int rc = t_cli(&out, &err, "info");
    CHECKF(rc == 0 && strstr(out, "\ngpu:") && strstr(out, charrnn_device_info()), "info: %d %s", rc, out);
    free(out);
    free(err);
    const char *dir = t_path("dev_log_cv");
    rc = t_cli(&out, &err, "train '%s' --rnn-size 8 --num-layers 1 --batch-size 4 --seq-length 8 --max-iters 4 "
               "--eval-val-every 2 --threads 1 --precision fp32 --device cpu --checkpoint-dir '%s'", corpus(), dir);
    CHECKF(rc == 0 && strstr(err, "device: cpu\n"), "train: %d %s", rc, err);
    free(out);
    free(err);
    char *log = t_read_file(t_path("dev_log_cv/train.jsonl"), NULL);
    const char *start = "{\"iteration\":0,\"device\":\"cpu\",\"precision\":\"fp32\",\"precision_note\":\"fp32 (as asked";
    CHECKF(log && !strncmp(log, start, strlen(start)), "the start line: %.200s", log ? log : "(none)");
    free(log);
    rc = t_cli(&out, &err, "train '%s' --resume '%s/latest.safetensors' --max-iters 6 --threads 1 --precision fp32", corpus(), dir);
    CHECKF(rc == 0, "resume: %d %s", rc, err);
    free(out);
    free(err);
    log = t_read_file(t_path("dev_log_cv/train.jsonl"), NULL);
    CHECKF(log && strstr(log, "\n{\"iteration\":4,\"device\":\"cpu\",\"precision\":\"fp32\""), "the resumed start line: %s",
           log ? log : "(none)");
    free(log);
    /* info on the checkpoint: where its run computed, from the log's start line before it */
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir);
    CHECKF(rc == 0 && strstr(out, "\ntrained on:     cpu, fp32 (the last start in "), "info: %d %s", rc, out);
    free(out);
    free(err);
    const char *dir2 = t_path("dev_log_crafted");
    mkdir(dir2, 0755);
    size_t ckn = 0;
    char *ck = t_read_file(t_path("dev_log_cv/latest.safetensors"), &ckn);
    t_write_file(t_path("dev_log_crafted/latest.safetensors"), ck, ckn);
    free(ck);
    const char *crafted = "{\"iteration\":0,\"device\":\"cuda:0 (NVIDIA H200)\",\"precision\":\"bf16\"}\n"
                          "{\"iteration\":4,\"device\":\"cuda:1 (\\u001b[2JGPU)\",\"precision\":\"fp32\"}\n"
                          "{\"iteration\":6,\"device\":\"cpu\",\"precision\":\"fp32\"}\n";
    t_write_file(t_path("dev_log_crafted/train.jsonl"), crafted, strlen(crafted));
    rc = t_cli(&out, &err, "info '%s/latest.safetensors'", dir2);
    CHECKF(rc == 0 && strstr(out, "\ntrained on:     cuda:1 (\\x1b[2JGPU), fp32 ") && !strchr(out, 0x1b),
           "info with a crafted log (the start before iteration 6, escaped): %d %s", rc, out);
    free(out);
    free(err);
    rc = t_cli(&out, &err, "report '%s' -o '%s'", dir, t_path("dev_report.html"));
    CHECKF(rc == 0 && !strstr(err, "warning"), "report of a log with start lines: %d %s", rc, err);
    free(out);
    free(err);
    /* in a CUDA build that sees no GPU, auto runs on the CPU and says so once */
    if (gpus() == 0) {
        rc = t_cli(&out, &err, "eval '%s' '%s' --precision fp32", model(), corpus());
        const char *first = strstr(err, "this CUDA build sees no GPU");
        CHECKF(rc == 0 && first && !strstr(first + 1, "this CUDA build sees no GPU"), "auto without a GPU: %d %s", rc, err);
        free(out);
        free(err);
    }
}

/* tf32 is a GPU's format: on the CPU the library refuses it and leaves the model in
 * float32; the command refuses --precision tf32 --device cpu before any work; on a GPU
 * the model takes it, says so, and goes back to fp32 when asked. */
static void test_tf32(void) {
    charrnn_model *m = small_model();
    if (!m) return;
    charrnn_error err = {0};
    int rc = charrnn_model_set_precision(m, CHARRNN_PRECISION_TF32, &err);
    if (gpus() > 0 && charrnn_model_set_device(m, "cuda:0", &err) == 0) {
        CHECKF(charrnn_model_set_precision(m, CHARRNN_PRECISION_TF32, &err) == 0 &&
               charrnn_model_precision(m) == CHARRNN_PRECISION_TF32 && strstr(charrnn_model_precision_note(m), "tf32"),
               "tf32 on the GPU: %s", err.msg);
        CHECKF(charrnn_model_set_precision(m, CHARRNN_PRECISION_FP32, &err) == 0 &&
               charrnn_model_precision(m) == CHARRNN_PRECISION_FP32, "back to fp32: %s", err.msg);
        CHECK(charrnn_model_set_device(m, "cpu", &err) == 0);
        rc = charrnn_model_set_precision(m, CHARRNN_PRECISION_TF32, &err);
    }
    CHECKF(rc == CHARRNN_EINVAL && one_line(err.msg) && strstr(err.msg, "tf32") && strstr(err.msg, "GPU"),
           "tf32 on the CPU: %d '%s'", rc, err.msg);
    CHECK(charrnn_model_precision(m) == CHARRNN_PRECISION_FP32);
    charrnn_model_close(m);
    const char *outp = t_path("tf32_out");
    remove(outp);
    char *out = NULL, *e = NULL;
    rc = t_cli(&out, &e, "train '%s' --checkpoint-dir '%s' --precision tf32 --device cpu --max-iters 1", corpus(), outp);
    struct stat st;
    CHECKF(rc == 2 && one_error_line(e, "--precision tf32 is a GPU's number format") && stat(outp, &st) != 0,
           "train --precision tf32 --device cpu: %d '%s'", rc, e);
    free(out);
    free(e);
}

void register_device_tests(void) {
    t_register("device_tf32", test_tf32);
    t_register("device_names", test_device_names);
    t_register("device_model_moves", test_model_device);
    t_register("device_option_refused_before_work", test_device_option_refused_before_work);
    t_register("device_gpuid", test_gpuid);
    t_register("device_info_and_run_log", test_info_and_run_log);
}
