/* defaults.h: the defaults of a model and of a training run (char-rnn's), the
 * names of cells, optimizers and units, and the one validation of a run's
 * settings, used for the command line and for what a checkpoint says alike. */
#ifndef CHARRNN_DEFAULTS_H
#define CHARRNN_DEFAULTS_H

#include "charrnn.h"

/* The limits of a network's shape, in one place: training's options, a checkpoint's
 * config, charrnn_model_new and compress's fresh model all check against these, and
 * their messages say them (LIMIT_STR(MAX_RNN_SIZE) is "16384"). */
#define MAX_LAYERS 16
#define MAX_RNN_SIZE 16384
#define LIMIT_STR_(x) #x
#define LIMIT_STR(x) LIMIT_STR_(x)
#define MAX_BATCH 100000
#define MAX_SEQ 100000
#define MAX_ITERS 1000000000000000L /* 1e15: iterations, counts of steps */

const char *unit_name(charrnn_unit u);
/* Name to enum; -1 if the name is unknown. */
int parse_cell(const char *s);
int parse_optim(const char *s);
int parse_lr_schedule(const char *s);
int parse_unit(const char *s);
int parse_clip_mode(const char *s);

/* Checks every field against its range. file == NULL: the values came from the
 * command line, and a message names the option ("--train-frac 7 is out of
 * range; use 0 < f <= 1"); otherwise they came from that checkpoint, and the
 * message names the file and the field. mc may be NULL (options only). */
int check_model_config(const charrnn_model_config *mc, const char *file, charrnn_error *err);
int check_run_settings(const charrnn_model_config *mc, const charrnn_train_options *o, const char *file,
                       charrnn_error *err);

#endif
