/* fuzz_options.c: libFuzzer target for the command-line option parser. The
 * input is split at NUL bytes into arguments and parsed against a table like
 * `charrnn train`'s: every outcome must be a count, --help, or an error message. */
#include "options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    int model = 0, layers = 2, size_ = 128, unit = 0;
    long iters = 0;
    double lr = 2e-3;
    uint64_t seed = 123;
    const char *dir = "cv";
    optdef opts[] = {
        {"model", O_CHOICE, &model, "lstm|gru|rnn", "", 0},
        {"num-layers", O_INT, &layers, 0, "", 0},
        {"rnn-size", O_INT, &size_, 0, "", 0},
        {"unit", O_CHOICE, &unit, "codepoint|byte", "", 0},
        {"max-iters", O_LONG, &iters, 0, "", 0},
        {"learning-rate", O_DOUBLE, &lr, 0, "", 0},
        {"seed", O_U64, &seed, 0, "", 0},
        {"checkpoint-dir", O_STR, &dir, 0, "", 0},
        {0, 0, 0, 0, 0, 0},
    };
    const char *pos[2];
    char err[512];
    err[0] = 0;
    int n = parse_args(argc, argv, "train", "train [FILE]", opts, pos, 2, err, sizeof err);
    if (n == OPT_ERROR && !err[0]) abort();
    if (n > 2 || n < OPT_HELP) abort();
    free(buf);
    return 0;
}
