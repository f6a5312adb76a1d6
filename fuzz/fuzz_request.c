/* fuzz_request.c: libFuzzer target for `charrnn serve`'s request parser
 * (cli/serve_request.c): any bytes as a /v1/completions body and as a /v1/score
 * body. Every outcome is a checked request (its sampling configuration within
 * the library's limits, its texts strict UTF-8) or a one-line error. */
#include "serve.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[800];
    serve_completion c;
    if (serve_parse_completion((const char *)data, size, 16, &c, err, sizeof err) == 0) {
        charrnn_error e = {0};
        assert(charrnn_sample_config_check(&c.cfg, &e) == CHARRNN_OK);
        assert(serve_utf8_valid(c.prompt, c.prompt_len));
        assert(c.n >= 1 && c.n <= 16 && c.max_tokens >= 0 && c.max_tokens <= SERVE_MAX_TOKENS);
        for (int i = 0; i < c.num_stop; i++) assert(c.stop_len[i] > 0 && serve_utf8_valid(c.stop[i], c.stop_len[i]));
        serve_completion_free(&c);
    } else {
        assert(err[0] && !strchr(err, '\n'));
    }
    serve_score s;
    if (serve_parse_score((const char *)data, size, &s, err, sizeof err) == 0) {
        assert(serve_utf8_valid(s.text, s.len) && s.top_k >= 0 && s.top_k <= SERVE_MAX_TOP);
        serve_score_free(&s);
    } else {
        assert(err[0] && !strchr(err, '\n'));
    }
    return 0;
}
