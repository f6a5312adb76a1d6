/* test_docs.c: the manual page and the bash completion stay in step with the
 * program. For every subcommand `charrnn --help` lists, the options that
 * `charrnn CMD --help` prints are exactly the ones the man page documents in
 * that command's subsection of OPTIONS (a .TP tag each), and every subcommand
 * has its subsection under COMMANDS and under OPTIONS, and no other does; the
 * comparison itself is shown to catch an option missing from the page and one
 * the program does not have. The page renders without a warning (groff -ww,
 * man -l; skipped, and said, where groff or man-db is not installed), lexgrog
 * reads its NAME, and its version is the program's. The completion script,
 * sourced in a plain bash, completes subcommands, options and choice values
 * from the program's own --help (skipped where bash is missing).
 * The page: $CHARRNN_MAN (default man/charrnn.1); the completion script:
 * $CHARRNN_COMPLETION (default completions/charrnn). */
#include "test.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *man_path(void) {
    const char *p = getenv("CHARRNN_MAN");
    return p && *p ? p : "man/charrnn.1";
}

static const char *completion_path(void) {
    const char *p = getenv("CHARRNN_COMPLETION");
    return p && *p ? p : "completions/charrnn";
}

/* ---- a small set of names --------------------------------------------------------- */

#define SET_MAX 256
typedef struct nameset {
    char *name[SET_MAX];
    int n;
} nameset;

static int set_has(const nameset *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name)) return 1;
    return 0;
}

static void set_add(nameset *s, const char *name, size_t len) {
    char *c = t_fmt("%.*s", (int)len, name);
    if (set_has(s, c) || s->n >= SET_MAX) { free(c); return; }
    s->name[s->n++] = c;
}

static void set_free(nameset *s) {
    for (int i = 0; i < s->n; i++) free(s->name[i]);
    s->n = 0;
}

/* The names of a that b lacks, as " name1 name2" with each written as
 * prefix + name (a malloc'd string, "" when none). */
static char *set_minus(const nameset *a, const nameset *b, int as_options) {
    char *out = t_fmt("%s", "");
    for (int i = 0; i < a->n; i++) {
        if (set_has(b, a->name[i])) continue;
        const char *dashes = !as_options ? "" : strlen(a->name[i]) == 1 ? "-" : "--";
        char *o = t_fmt("%s %s%s", out, dashes, a->name[i]);
        free(out);
        out = o;
    }
    return out;
}

/* ---- what the program says ----------------------------------------------------------- */

/* The subcommands of `charrnn --help`: its lines "  NAME ...". */
static int help_commands(nameset *s) {
    char *out = NULL;
    int rc = t_cli(&out, NULL, "--help");
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 3 && line[0] == ' ' && line[1] == ' ' && islower((unsigned char)line[2])) {
            size_t k = 2;
            while (k < len && (islower((unsigned char)line[k]) || isdigit((unsigned char)line[k]) || line[k] == '-')) k++;
            if (k < len && line[k] == ' ') set_add(s, line + 2, k - 2);
        }
        line = nl ? nl + 1 : line + len;
    }
    free(out);
    return rc;
}

/* The options of `charrnn CMD --help`: its lines "  --name ..." (and "  -o ..."
 * for a one-letter option), as names without dashes. */
static int help_options(const char *cmd, nameset *s) {
    char *out = NULL;
    int rc = t_cli(&out, NULL, "%s --help", cmd);
    for (char *line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 4 && !strncmp(line, "  --", 4)) {
            size_t k = 4;
            while (k < len && (isalnum((unsigned char)line[k]) || line[k] == '-')) k++;
            if (k > 4) set_add(s, line + 4, k - 4);
        } else if (len > 4 && !strncmp(line, "  -", 3) && isalnum((unsigned char)line[3]) && line[4] == ' ') {
            set_add(s, line + 3, 1);
        }
        line = nl ? nl + 1 : line + len;
    }
    free(out);
    return rc;
}

/* ---- what the page says ------------------------------------------------------------------ */

/* A roff line as plain text: font changes, \& \: \% and \(xx dropped, \- and
 * \e turned into - and \; a request's name and quotes dropped. malloc'd. */
static char *roff_text(const char *line, size_t len) {
    char *o = malloc(len + 1);
    size_t n = 0, i = 0;
    if (len && line[0] == '.') { /* a macro: its arguments only */
        while (i < len && line[i] != ' ' && line[i] != '\t') i++;
    }
    while (i < len) {
        char c = line[i];
        if (c == '"') { i++; continue; }
        if (c != '\\' || i + 1 >= len) { o[n++] = c; i++; continue; }
        char e = line[i + 1];
        i += 2;
        if (e == '-') o[n++] = '-';
        else if (e == 'e' || e == '\\') o[n++] = '\\';
        else if (e == 'f') { /* \fB, \f(XX, \f[NAME] */
            if (i < len && line[i] == '(') i += 3;
            else if (i < len && line[i] == '[') { while (i < len && line[i] != ']') i++; i++; }
            else i++;
        } else if (e == '(') i += 2;
        else if (e == '[') { while (i < len && line[i] != ']') i++; i++; }
        else if (e == ' ') o[n++] = ' ';
        /* \& \: \% \/ \, and others: nothing */
    }
    o[n] = 0;
    return o;
}

/* The first word of a .SH or .SS title, into out. */
static void title_word(const char *line, size_t len, char *out, size_t cap) {
    char *t = roff_text(line, len);
    const char *p = t;
    while (*p == ' ' || *p == '\t') p++;
    size_t k = 0;
    while (p[k] && p[k] != ' ' && p[k] != '\t' && k + 1 < cap) k++;
    snprintf(out, cap, "%.*s", (int)k, p);
    free(t);
}

/* Where in the page: every .SS under .SH COMMANDS, every .SS under .SH
 * OPTIONS, and the options in the .TP (or .TQ) tags of OPTIONS' subsection
 * for cmd (NULL: none). The page's text is given (so a test can hand it a doctored copy). */
typedef struct man_index {
    nameset commands, option_sections, options;
} man_index;

static void man_scan(const char *page, const char *cmd, man_index *ix) {
    memset(ix, 0, sizeof *ix);
    char sh[64] = "", ss[64] = "";
    int tag_next = 0;
    for (const char *line = page; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len >= 3 && !strncmp(line, ".\\\"", 3)) { /* a comment */
        } else if (len >= 3 && !strncmp(line, ".SH", 3) && (len == 3 || line[3] == ' ')) {
            title_word(line, len, sh, sizeof sh);
            ss[0] = 0;
            tag_next = 0;
        } else if (len >= 3 && !strncmp(line, ".SS", 3) && (len == 3 || line[3] == ' ')) {
            title_word(line, len, ss, sizeof ss);
            if (!strcmp(sh, "COMMANDS")) set_add(&ix->commands, ss, strlen(ss));
            if (!strcmp(sh, "OPTIONS")) set_add(&ix->option_sections, ss, strlen(ss));
            tag_next = 0;
        } else if (len >= 3 && (!strncmp(line, ".TP", 3) || !strncmp(line, ".TQ", 3)) && (len == 3 || line[3] == ' ')) {
            tag_next = 1;
        } else if (tag_next) {
            tag_next = 0;
            if (cmd && !strcmp(sh, "OPTIONS") && !strcmp(ss, cmd)) {
                /* every word of the tag that starts with a dash and a letter: -o, --output */
                char *t = roff_text(line, len);
                for (char *p = t; *p; p++) {
                    if (*p != '-' || (p > t && !strchr(" \t,[|(", p[-1]))) continue;
                    char *q = p;
                    while (*q == '-') q++;
                    if (q - p > 2 || !islower((unsigned char)*q)) { p = q - 1; continue; }
                    char *e = q;
                    while (isalnum((unsigned char)*e) || *e == '-') e++;
                    set_add(&ix->options, q, (size_t)(e - q));
                    p = e - 1;
                }
                free(t);
            }
        }
        line = nl ? nl + 1 : line + len;
    }
}

static void man_free(man_index *ix) {
    set_free(&ix->commands);
    set_free(&ix->option_sections);
    set_free(&ix->options);
}

static char *read_man(void) {
    char *page = t_read_file(man_path(), NULL);
    CHECKF(page != NULL, "cannot read the man page %s (set CHARRNN_MAN)", man_path());
    return page;
}

/* What `charrnn cmd --help` prints and the page's OPTIONS subsection for cmd
 * lacks (*missing) and the reverse (*extra): malloc'd lists, "" when none. */
static void compare_options(const char *page, const char *cmd, char **missing, char **extra, int *num_help) {
    nameset help = {0};
    int rc = help_options(cmd, &help);
    CHECKF(rc == 0 && help.n > 0, "'charrnn %s --help' exited with %d and printed %d options", cmd, rc, help.n);
    man_index ix;
    man_scan(page, cmd, &ix);
    *missing = set_minus(&help, &ix.options, 1);
    *extra = set_minus(&ix.options, &help, 1);
    if (num_help) *num_help = help.n;
    set_free(&help);
    man_free(&ix);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_man_options_match_help(void) {
    char *page = read_man();
    if (!page) return;
    nameset cmds = {0};
    CHECK(help_commands(&cmds) == 0);
    CHECKF(cmds.n >= 7, "'charrnn --help' lists %d commands", cmds.n);
    for (int i = 0; i < cmds.n; i++) {
        char *missing, *extra;
        int n;
        compare_options(page, cmds.name[i], &missing, &extra, &n);
        CHECKF(!missing[0], "'charrnn %s --help' prints options that %s does not document under OPTIONS, "
               "\"%s options\":%s", cmds.name[i], man_path(), cmds.name[i], missing);
        CHECKF(!extra[0], "%s documents options for %s that 'charrnn %s --help' does not print:%s", man_path(),
               cmds.name[i], cmds.name[i], extra);
        free(missing);
        free(extra);
    }
    set_free(&cmds);
    free(page);
}

/* Whether the list " a b c" holds the word w. */
static int has_word(const char *list, const char *w) {
    size_t n = strlen(w);
    for (const char *p = strstr(list, w); p; p = strstr(p + 1, w))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
    return 0;
}

/* The comparison catches drift both ways: the page with one option's entry
 * taken out, and with an entry the program does not have. */
static void test_man_comparison_catches_drift(void) {
    char *page = read_man();
    if (!page) return;
    const char *entry = strstr(page, ".TP\n\\fB\\-\\-rnn\\-size\\fR");
    if (!CHECKF(entry, "the page should document --rnn-size as '.TP' + '\\fB\\-\\-rnn\\-size\\fR ...'")) {
        free(page);
        return;
    }
    const char *next = strstr(entry + 3, ".TP\n");
    /* without the --rnn-size entry */
    char *cut = t_fmt("%.*s%s", (int)(entry - page), page, next ? next : "");
    char *missing, *extra;
    compare_options(cut, "train", &missing, &extra, NULL);
    CHECKF(has_word(missing, "--rnn-size") && !has_word(extra, "--rnn-size"),
           "a page without --rnn-size: missing '%s', extra '%s'", missing, extra);
    free(missing);
    free(extra);
    /* with an option no command has, in train's subsection */
    char *added = t_fmt("%.*s.TP\n\\fB\\-\\-no\\-such\\-option\\fR \\fIN\\fR\nNot an option.\n%s", (int)(entry - page),
                        page, entry);
    compare_options(added, "train", &missing, &extra, NULL);
    CHECKF(has_word(extra, "--no-such-option") && !has_word(missing, "--no-such-option"),
           "a page with --no-such-option: missing '%s', extra '%s'", missing, extra);
    free(missing);
    free(extra);
    /* and one-letter options are -o */
    man_index ix;
    man_scan(page, "viz", &ix);
    CHECKF(set_has(&ix.options, "o") && set_has(&ix.options, "output"), "viz's -o and --output should be found");
    man_free(&ix);
    free(cut);
    free(added);
    free(page);
}

static void test_man_sections_match_commands(void) {
    char *page = read_man();
    if (!page) return;
    nameset cmds = {0};
    help_commands(&cmds);
    man_index ix;
    man_scan(page, NULL, &ix);
    char *no_cmd = set_minus(&cmds, &ix.commands, 0), *no_opts = set_minus(&cmds, &ix.option_sections, 0);
    char *extra_cmd = set_minus(&ix.commands, &cmds, 0), *extra_opts = set_minus(&ix.option_sections, &cmds, 0);
    CHECKF(!no_cmd[0], "commands of 'charrnn --help' without a '.SS NAME' under COMMANDS in %s:%s", man_path(), no_cmd);
    CHECKF(!no_opts[0], "commands of 'charrnn --help' without a '.SS \"NAME options\"' under OPTIONS in %s:%s",
           man_path(), no_opts);
    CHECKF(!extra_cmd[0], "subsections of COMMANDS in %s that 'charrnn --help' does not list:%s", man_path(), extra_cmd);
    CHECKF(!extra_opts[0], "subsections of OPTIONS in %s that 'charrnn --help' does not list:%s", man_path(), extra_opts);
    free(no_cmd);
    free(no_opts);
    free(extra_cmd);
    free(extra_opts);
    man_free(&ix);
    set_free(&cmds);
    free(page);
}

static int have(const char *tool) {
    char *cmd = t_fmt("command -v %s", tool);
    int ok = t_run(cmd, NULL, NULL) == 0;
    free(cmd);
    return ok;
}

/* The page renders without a warning; its NAME parses; its version is the program's. */
static void test_man_renders(void) {
    char *page = read_man();
    if (!page) return;
    /* .TH CHARRNN 1 DATE "charrnn VERSION" ... */
    char *ver = NULL;
    t_cli(&ver, NULL, "--version");
    ver[strcspn(ver, "\n")] = 0;
    char *want = t_fmt("\"%s\"", ver);
    const char *th = strstr(page, "\n.TH ");
    const char *th_end = th ? strchr(th + 1, '\n') : NULL;
    CHECKF(th && th_end && strstr(th, want) && strstr(th, want) < th_end,
           "the page's .TH line should name the version '%s' (charrnn --version)", ver);
    free(want);
    free(ver);
    free(page);

    char *out = NULL, *err = NULL, *cmd;
    int skipped = 0;
    if (have("groff")) {
        cmd = t_fmt("groff -man -Tutf8 -ww -z '%s'", man_path());
        int rc = t_run(cmd, NULL, &err);
        CHECKF(rc == 0 && !err[0], "%s: exit %d, warnings:\n%s", cmd, rc, err);
        free(cmd);
        free(err);
    } else {
        t_skip("groff not installed; apt-get install groff-base");
        skipped = 1;
    }
    if (have("man")) {
        for (int width = 60; width <= 120; width += 20) {
            cmd = t_fmt("LC_ALL=C.UTF-8 MANWIDTH=%d MAN_DISABLE_SECCOMP=1 man -l '%s'", width, man_path());
            int rc = t_run(cmd, &out, &err);
            CHECKF(rc == 0 && !err[0] && strstr(out, "SYNOPSIS"), "%s: exit %d, warnings:\n%s", cmd, rc, err);
            free(cmd);
            free(out);
            free(err);
        }
    } else if (!skipped) {
        t_skip("man not installed; apt-get install man-db");
    }
    if (have("lexgrog")) {
        cmd = t_fmt("lexgrog '%s'", man_path());
        int rc = t_run(cmd, &out, &err);
        CHECKF(rc == 0 && strstr(out, "\"charrnn - "), "%s: exit %d: %s%s", cmd, rc, out, err);
        free(cmd);
        free(out);
        free(err);
    }
}

/* ---- the completion script ------------------------------------------------------------------ */

/* What the completion offers for the words (the last one being completed,
 * possibly ""), one per line, in a bash that sources only the script. */
static char *complete(const char *words) {
    static int written;
    const char *driver = t_path("complete_driver.sh");
    if (!written) {
        const char *s = "source \"$1\" || exit 3\n"
                        "shift\n"
                        "COMP_WORDS=(\"$@\")\n"
                        "COMP_CWORD=$(($# - 1))\n"
                        "COMP_LINE=\"$*\"\n"
                        "COMP_POINT=${#COMP_LINE}\n"
                        "_charrnn charrnn \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\" || exit 4\n"
                        "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        CHECK(t_write_file(driver, s, strlen(s)) == 0);
        written = 1;
    }
    char *cmd = t_fmt("bash --norc --noprofile '%s' '%s' '%s' %s", driver, completion_path(), t_bin(), words);
    char *out = NULL, *err = NULL;
    int rc = t_run(cmd, &out, &err);
    CHECKF(rc == 0 && !err[0], "%s: exit %d: %s", cmd, rc, err);
    free(cmd);
    free(err);
    return out;
}

/* The completion's lines as a set. */
static void lines_set(const char *out, nameset *s) {
    for (const char *line = out; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len) set_add(s, line, len);
        line = nl ? nl + 1 : line + len;
    }
}

static void expect_completion(const char *words, const char *want) {
    char *out = complete(words);
    nameset got = {0}, exp = {0};
    lines_set(out, &got);
    for (const char *p = want; *p;) {
        size_t n = strcspn(p, " ");
        if (n) set_add(&exp, p, n);
        p += n + (p[n] == ' ');
    }
    char *missing = set_minus(&exp, &got, 0), *extra = set_minus(&got, &exp, 0);
    CHECKF(!missing[0] && !extra[0], "completing 'charrnn %s': want '%s'; missing:%s; extra:%s", words, want, missing, extra);
    free(missing);
    free(extra);
    set_free(&got);
    set_free(&exp);
    free(out);
}

static void test_completion(void) {
    if (!have("bash")) {
        t_skip("bash not installed");
        return;
    }
    char *script = t_read_file(completion_path(), NULL);
    if (!CHECKF(script, "cannot read the completion script %s (set CHARRNN_COMPLETION)", completion_path())) return;
    CHECKF(strstr(script, "complete -F _charrnn charrnn"), "%s should end with 'complete -F _charrnn charrnn'",
           completion_path());
    free(script);
    expect_completion("tr", "train");
    expect_completion("train --rnn", "--rnn-size");
    expect_completion("train --model ''", "lstm gru rnn");
    expect_completion("train --model=g", "gru");
    expect_completion("train --optim a", "adam adagrad");
    expect_completion("viz x.safetensors in.txt -", "-o --output --start --length --title --threads --device --help");
    expect_completion("train --device ''", "auto cpu cuda cuda:N");
    expect_completion("sample --device c", "cpu cuda cuda:N");

    /* every command of --help, and every option of each command's --help */
    nameset cmds = {0};
    help_commands(&cmds);
    char *all = t_fmt("%s", "");
    for (int i = 0; i < cmds.n; i++) {
        char *a = t_fmt("%s%s%s", all, i ? " " : "", cmds.name[i]);
        free(all);
        all = a;
        nameset opts = {0};
        help_options(cmds.name[i], &opts);
        char *want = t_fmt("%s", "");
        for (int j = 0; j < opts.n; j++) {
            char *w = t_fmt("%s %s%s", want, strlen(opts.name[j]) == 1 ? "-" : "--", opts.name[j]);
            free(want);
            want = w;
        }
        char *words = t_fmt("%s -", cmds.name[i]);
        expect_completion(words, want);
        free(words);
        free(want);
        set_free(&opts);
    }
    expect_completion("''", all);
    free(all);
    set_free(&cmds);
}

void register_docs_tests(void) {
    t_register("docs_man_options_match_help", test_man_options_match_help);
    t_register("docs_man_comparison_catches_drift", test_man_comparison_catches_drift);
    t_register("docs_man_sections_match_commands", test_man_sections_match_commands);
    t_register("docs_man_renders", test_man_renders);
    t_register("docs_completion", test_completion);
}
