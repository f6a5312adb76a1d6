/* fuzz_checkpoint.c: libFuzzer target for the checkpoint loader. Any bytes are
 * written to a file and opened as a checkpoint, as `charrnn sample` would: the
 * loader must refuse bad input with a message, never crash, leak or overflow. */
#include "charrnn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/charrnn-fuzz-ckpt.%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    charrnn_model *m = NULL;
    charrnn_error err;
    if (charrnn_model_load(&m, path, &err) == 0) {
        charrnn_model_info info;
        charrnn_model_get_info(m, &info);
        charrnn_sampler *s = NULL;
        if (info.num_params < 100000 && charrnn_sampler_open(&s, m, 1, 1, &err) == 0) {
            uint32_t out;
            for (int i = 0; i < 4; i++) charrnn_sampler_next(s, 1.0f, &out, &err);
            charrnn_sampler_close(s);
        }
        charrnn_model_close(m);
    } else if (!err.msg[0]) {
        abort(); /* a refusal must say why */
    }
    return 0;
}
