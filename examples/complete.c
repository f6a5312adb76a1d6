/* complete.c: finish a line of text with a trained charrnn model.
 *   cc complete.c $(pkg-config --cflags --libs charrnn) -o complete
 *   ./complete cv/best.safetensors "The meaning of "          */
#include <charrnn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s CHECKPOINT TEXT\n", argv[0]); return 2; }
    charrnn_error err;
    charrnn_model *m;
    charrnn_sampler *s;
    if (charrnn_model_load(&m, argv[1], &err) || charrnn_sampler_open(&s, m, 1, 42, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (charrnn_sampler_prime(s, argv[2], strlen(argv[2]), NULL, NULL, 0, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    fputs(argv[2], stdout);
    for (int i = 0; i < 200; i++) { /* the likeliest characters, up to the end of the line */
        uint32_t c;
        char utf8[4];
        if (charrnn_sampler_next(s, 0.0f, &c, &err) || c == '\n') break;
        fwrite(utf8, 1, (size_t)charrnn_utf8_encode(c, utf8), stdout);
    }
    putchar('\n');
    charrnn_sampler_close(s);
    charrnn_model_close(m);
    return 0;
}
