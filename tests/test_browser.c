/* test_browser.c: the pages of `charrnn viz`, `cells` and `report` in a real
 * browser. Debian's chromium (headless) loads each page; the test checks that
 * its script ran to the end without an error (<html data-ready="1"> and no
 * data-error, which window.onerror would set), that the elements the script
 * builds are there, that the characters the viz page shows are exactly the text
 * (markup characters, accents, an emoji outside the BMP), and saves a screenshot
 * in build/screenshots/ (or $CHARRNN_SCREENSHOT_DIR). A 10,000-character page
 * of 512 neurons builds only its visible rows, and reports how long it took to
 * be ready and to switch neurons (printed, not asserted: a busy machine's timing
 * is no test). Where chromium is not installed the tests say "skipped:
 * chromium not installed" and pass. The playground of `charrnn serve` is loaded
 * from a server on a loopback port: the browser types a prime and presses
 * Write, and the streamed text must arrive (page and screenshot checked). */
#include "test.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* The browser to use ($CHROMIUM, else chromium on the PATH), or NULL. */
static const char *chromium(void) {
    static int state;
    static char path[512];
    if (state == 0) {
        const char *env = getenv("CHROMIUM");
        char *out = NULL;
        char *cmd = t_fmt("command -v '%s'", env && *env ? env : "chromium");
        state = t_run(cmd, &out, NULL) == 0 && out[0] ? 1 : -1;
        if (state == 1) {
            snprintf(path, sizeof path, "%s", out);
            path[strcspn(path, "\n")] = 0;
        }
        free(cmd);
        free(out);
    }
    if (state != 1) t_skip("chromium not installed");
    return state == 1 ? path : NULL;
}

/* Runs headless chromium on a local page with one action (--dump-dom or
 * --screenshot=...); returns its stdout (the DOM for --dump-dom). */
static char *browse(const char *action, const char *page, const char *fragment) {
    static int profile;
    char *cmd = t_fmt("timeout 180 '%s' --headless --no-sandbox --disable-gpu --disable-background-networking "
                    "--disable-component-update --disable-sync --no-first-run --user-data-dir='%s/chromium-%d' "
                    "--window-size=1280,900 %s '%s%s%s'",
                    chromium(), t_tmpdir(), profile++, action, strncmp(page, "http", 4) ? "file://" : "", page,
                    fragment ? fragment : "");
    char *out = NULL;
    int rc = t_run(cmd, &out, NULL);
    CHECKF(rc == 0, "chromium exited with %d on %s", rc, page);
    free(cmd);
    return out;
}

static char *abs_path(const char *p) {
    if (p[0] == '/') return t_fmt("%s", p);
    char *out = NULL;
    t_run("pwd", &out, NULL);
    out[strcspn(out, "\n")] = 0;
    char *s = t_fmt("%s/%s", out, p);
    free(out);
    return s;
}

/* Checks that the page's script finished without an error; returns the DOM. */
static char *load_ok(const char *page, const char *fragment, const char *what) {
    char *dom = browse("--dump-dom", page, fragment);
    const char *html = strstr(dom, "<html") ? strstr(dom, "<html") : dom;
    char *head = t_fmt("%.*s", (int)strcspn(html, ">"), html); /* the <html ...> tag */
    CHECKF(strstr(head, "data-ready=\"1\"") != NULL, "the %s page's script did not finish: %s", what, head);
    CHECKF(strstr(head, "data-error") == NULL, "the %s page has a script error: %s", what, head);
    free(head);
    return dom;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Saves a 1280 x 900 screenshot as NAME.png in the screenshot directory. */
static void screenshot(const char *page, const char *fragment, const char *name) {
    const char *dir = getenv("CHARRNN_SCREENSHOT_DIR");
    if (!dir || !*dir) dir = "build/screenshots";
    char *mk = t_fmt("mkdir -p '%s'", dir);
    t_run(mk, NULL, NULL);
    free(mk);
    char *png = t_fmt("%s/%s.png", dir, name);
    char *apng = abs_path(png);
    remove(apng);
    /* a served page's stream holds the virtual clock until it ends, so the picture shows the whole text */
    char *action = t_fmt("%s--screenshot='%s'", strncmp(page, "http", 4) ? "" : "--virtual-time-budget=30000 ", apng);
    free(browse(action, page, fragment));
    FILE *f = fopen(apng, "rb");
    unsigned char sig[8] = {0};
    long size = 0;
    if (f) {
        size_t got = fread(sig, 1, 8, f);
        (void)got;
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fclose(f);
    }
    CHECKF(f && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8) && size > 5000, "no screenshot %s (%ld bytes)", apng, size);
    free(action);
    free(apng);
    free(png);
}

/* The characters shown in the text rows of a dumped viz page, in order, with
 * the pictures of newline and tab mapped back. */
static char *shown_text(const char *dom) {
    char *out = malloc(strlen(dom) + 1), *o = out;
    long last = -1;
    const char *text = strstr(dom, "<div id=\"text\""), *info = text ? strstr(text, "<div id=\"info\"") : NULL;
    if (!info) { free(out); return NULL; }
    for (const char *row = text; (row = strstr(row, "<div class=\"t\">")) && row < info;) {
        const char *end = strstr(row, "</div>");
        for (const char *p = row; (p = strstr(p, "<span data-i=\"")) && p < end;) {
            long i = strtol(p + 14, NULL, 10);
            const char *c = strchr(p, '>') + 1, *ce = strstr(c, "</span>");
            if (i != last + 1) { free(out); return NULL; } /* every character, once, in order */
            last = i;
            while (c < ce) {
                static const struct { const char *from, *to; } map[] = {
                    {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&nbsp;", "\xC2\xA0"},
                    {"\xE2\x86\xB5", "\n"}, {"\xE2\x87\xA5", "\t"}};
                int done = 0;
                for (size_t k = 0; k < sizeof map / sizeof map[0] && !done; k++)
                    if (!strncmp(c, map[k].from, strlen(map[k].from))) {
                        o += sprintf(o, "%s", map[k].to);
                        c += strlen(map[k].from);
                        done = 1;
                    }
                if (!done) *o++ = *c++;
            }
            p = ce;
        }
        row = end;
    }
    *o = 0;
    return out;
}

/* Markup characters, quotes, accents, CJK and an emoji, over a few lines. */
static const char WINDOW[] =
    "if (a < b && c > d) { s = \"x<y>\"; } // \xC3\xA9t\xC3\xA9\n"
    "\t\xE4\xB8\xAD\xE6\x96\x87 'q' \xF0\x9F\x98\x80 [[link]] <b>bold</b> & more\n";

static const char *browser_model(void) {
    const char *corpus = t_path("browser_corpus.txt");
    static int written;
    if (!written++) {
        size_t len = 0, cap = 100000;
        char *buf = malloc(cap);
        while (len + sizeof WINDOW < 40000) len += (size_t)snprintf(buf + len, cap - len, "%s", WINDOW);
        CHECK(t_write_file(corpus, buf, len) == 0);
        free(buf);
    }
    return t_trained("browser_cv", corpus, "--rnn-size 32 --num-layers 2 --batch-size 8 --seq-length 32 --max-iters 60 "
                     "--eval-val-every 20 --print-every 5 --sample-every 20 --sample-length 60 --threads 1");
}

static void test_viz_page(void) {
    if (!chromium() || !browser_model()) return;
    const char *window = t_path("browser_window.txt");
    CHECK(t_write_file(window, WINDOW, strlen(WINDOW)) == 0);
    char *page = abs_path(t_path("browser_viz.html"));
    char *cmd = t_fmt("%s viz '%s' '%s' -o '%s'", t_bin(), browser_model(), window, page), *err = NULL;
    int rc = t_run(cmd, NULL, &err);
    CHECKF(rc == 0, "viz: exit %d: %s", rc, err);
    char *dom = load_ok(page, NULL, "viz");
    CHECKF(strstr(dom, "<option value=\"1\">1</option>") != NULL, "the layer selector lists both layers");
    CHECKF(strstr(dom, ">tanh(c)</option>") && strstr(dom, ">h</option>"), "the quantity selector");
    CHECKF(count(dom, "<div class=\"g\">") >= 5 && count(dom, "<div class=\"p\">") >= 1, "guesses under the characters");
    char *shown = shown_text(dom);
    CHECKF(shown && !strcmp(shown, WINDOW), "the page shows the text exactly: got '%s'", shown ? shown : "(out of order)");
    free(shown);
    free(dom);
    /* the fragment picks layer, neuron and quantity */
    dom = load_ok(page, "#layer=1&neuron=5&q=h", "viz");
    CHECKF(strstr(dom, "data-view=\"1 5 h\"") != NULL, "the fragment's layer 1, neuron 5, h are shown");
    free(dom);
    screenshot(page, NULL, "viz");
    free(cmd);
    free(err);
    free(page);
}

static void test_cells_page(void) {
    if (!chromium() || !browser_model()) return;
    char *page = abs_path(t_path("browser_cells.html"));
    char *cmd = t_fmt("%s cells '%s' '%s' --length 3000 --top 6 -o '%s'", t_bin(), browser_model(),
                    t_path("browser_corpus.txt"), page), *out = NULL, *err = NULL;
    int rc = t_run(cmd, &out, &err);
    CHECKF(rc == 0, "cells: exit %d: %s", rc, err);
    char *dom = load_ok(page, NULL, "cells");
    CHECKF(count(dom, "<section class=\"cell\"") >= 6 + 5, "an excerpt for each ranked neuron and each property");
    CHECKF(strstr(dom, "<table id=\"best\"><tbody><tr>") && strstr(dom, "<table id=\"top\"><tbody><tr>"), "the tables");
    CHECKF(count(dom, "<span data-e=\"0\"") > 100, "the first excerpt's characters");
    free(dom);
    screenshot(page, NULL, "cells");
    free(cmd);
    free(out);
    free(err);
    free(page);
}

static void test_report_page(void) {
    if (!chromium() || !browser_model()) return;
    char *page = abs_path(t_path("browser_report.html"));
    char *cmd = t_fmt("%s report '%s' -o '%s'", t_bin(), t_path("browser_cv"), page), *err = NULL;
    int rc = t_run(cmd, NULL, &err);
    CHECKF(rc == 0, "report: exit %d: %s", rc, err);
    char *dom = load_ok(page, NULL, "report");
    CHECKF(count(dom, "<svg") == 4 && count(dom, "class=\"series\"") >= 5, "four plots with their lines");
    CHECKF(strstr(dom, "id=\"samples\"") && count(dom, "<pre>") == 3, "three samples (60 iterations, every 20)");
    CHECKF(strstr(dom, "id=\"checkpoint\"") != NULL, "the checkpoint table");
    free(dom);
    screenshot(page, NULL, "report");
    free(cmd);
    free(err);
    free(page);
}

/* 10,000 characters x 512 neurons: only the visible rows built, which is what
 * keeps it quick; the page's own timings are reported. */
static void test_large_viz_page(void) {
    if (!chromium() || !browser_model()) return;
    const char *dir = t_path("browser_big_cv");
    char *cmd = t_fmt("%s train '%s' --rnn-size 512 --num-layers 1 --batch-size 4 --seq-length 16 --max-iters 1 "
                    "--threads 1 --checkpoint-dir '%s'", t_bin(), t_path("browser_corpus.txt"), dir), *err = NULL;
    int rc = t_run(cmd, NULL, &err);
    CHECKF(rc == 0, "training: exit %d: %s", rc, err);
    free(cmd);
    free(err);
    char *page = abs_path(t_path("browser_big.html"));
    cmd = t_fmt("%s viz '%s/latest.safetensors' '%s' --length 10000 -o '%s'", t_bin(), dir, t_path("browser_corpus.txt"), page);
    rc = t_run(cmd, NULL, &err);
    CHECKF(rc == 0 && strstr(err, "10000 characters, 1 x 512 lstm"), "viz: exit %d: %s", rc, err);
    char *dom = load_ok(page, "#bench", "10,000 x 512");
    const char *ready = strstr(dom, "data-ready-ms=\""), *bench = strstr(dom, "data-bench-ms=\"");
    double ready_ms = ready ? atof(ready + 15) : 1e9, bench_ms = bench ? atof(bench + 15) : 1e9;
    CHECKF(ready && bench && ready_ms >= 0 && bench_ms >= 0, "the page reports no timings (ready %s, bench %s)",
           ready ? "yes" : "no", bench ? "yes" : "no");
    int cells = count(dom, "<span data-i=");
    CHECKF(cells > 100 && cells < 15000, "only the visible rows are built: %d cells of 70000", cells);
    fprintf(stderr, "(ready %.0f ms, neuron step %.1f ms) ", ready_ms, bench_ms);
    free(dom);
    screenshot(page, "#neuron=7", "viz-10000x512");
    free(cmd);
    free(err);
    free(page);
}

/* Starts `charrnn serve MODEL --port 0`; returns its pid and sets *port (0 when it did not start). */
static pid_t serve_start(const char *model, int *port) {
    int fd[2];
    *port = 0;
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        char *cmd = t_fmt("exec '%s' serve '%s' --port 0 --threads 1 --precision fp32 2>'%s'", t_bin(), model,
                          t_path("browser_serve.log"));
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[256] = {0};
    if (!(f && fgets(line, sizeof line, f) && sscanf(line, "listening on http://127.0.0.1:%d", port) == 1)) *port = 0;
    if (f) fclose(f);
    CHECKF(*port > 0, "the server did not say where it listens: '%s'", line);
    return pid;
}

/* The playground served by `charrnn serve`: chromium types a prime into the
 * page and presses Write (the page's #type= fragment); the text streamed back
 * must appear after the prime, 120 characters of it. The browser's virtual
 * clock stands still while the stream is open, so the page is dumped when it
 * has ended; a dump without the end is polled again (never a fixed sleep). */
static void test_serve_page(void) {
    if (!chromium() || !browser_model()) return;
    int port = 0;
    pid_t pid = serve_start(browser_model(), &port);
    if (port > 0) {
        char *url = t_fmt("http://127.0.0.1:%d/", port);
        const char *typed = "#type=if%20(a%20%3C%20b)&length=120&seed=7&temperature=0.5";
        char *dom = NULL;
        const char *html = NULL;
        for (int tries = 0; tries < 5; tries++) {
            free(dom);
            dom = browse("--virtual-time-budget=30000 --dump-dom", url, typed);
            html = strstr(dom, "<html");
            if (html && (strstr(html, "data-done=") || strstr(html, "data-error="))) break;
        }
        char *head = t_fmt("%.*s", html ? (int)strcspn(html, ">") : 0, html ? html : "");
        CHECKF(strstr(head, "data-done=\"120\"") != NULL, "the stream did not end with 120 characters: %s", head);
        const char *out = strstr(dom, "<div id=\"out\"><span class=\"prime\">if (a &lt; b)</span>");
        CHECKF(out != NULL, "the typed prime is not shown: %.300s", strstr(dom, "<div id=\"out\"") ? strstr(dom, "<div id=\"out\"") : dom);
        if (out) {
            const char *gen = strstr(out, "</span>") + 7, *end = strstr(gen, "</div>");
            CHECKF(end && end - gen >= 40, "the streamed text did not arrive: '%.*s'", end ? (int)(end - gen) : 0, gen);
        }
        CHECKF(strstr(dom, "120 characters, ") && strstr(dom, "(done)"), "the status line");
        free(head);
        free(dom);
        /* a screenshot of the page as it stands before and after: both real pictures, and not the same */
        screenshot(url, NULL, "serve-empty");
        screenshot(url, typed, "serve-streamed");
        const char *dir = getenv("CHARRNN_SCREENSHOT_DIR");
        if (!dir || !*dir) dir = "build/screenshots";
        char *cmp = t_fmt("cmp -s '%s/serve-empty.png' '%s/serve-streamed.png'", dir, dir);
        CHECKF(t_run(cmp, NULL, NULL) != 0, "the screenshot with the streamed text is the empty page's");
        free(cmp);
        free(url);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the server did not exit 0 on SIGTERM");
    }
}

void register_browser_tests(void) {
    t_register("browser_viz_page", test_viz_page);
    t_register("browser_cells_page", test_cells_page);
    t_register("browser_report_page", test_report_page);
    t_register("browser_large_viz_page", test_large_viz_page);
    t_register("browser_serve_page", test_serve_page);
}
