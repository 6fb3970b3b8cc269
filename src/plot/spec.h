/* spec.h: panel specs: the `figures:` list of a config, the --panel arguments of `saddle plot`, and the
 * panels chosen automatically from the columns of a run. Syntax: docs/plot.md. */
#ifndef SADDLE_PLOT_SPEC_H
#define SADDLE_PLOT_SPEC_H

#include <stddef.h>

#include "plot/rundir.h"
#include "saddle/config.h"
#include "saddle/error.h"

typedef enum { SD_PANEL_LOSS, SD_PANEL_LINES, SD_PANEL_FAMILY, SD_PANEL_HEATMAP, SD_PANEL_ORIENT } sd_panel_kind;

typedef struct {
  sd_panel_kind kind;
  char **y;          /* loss, lines: columns or family names (a family stands for all its members);
                      * family: family names. NULL/0 for loss: loss and every *error* column */
  size_t n_y;
  char *reference;   /* family: a family drawn dashed in the same colours (e.g. u_theory);
                      * orientations: an array of reference directions (rows) */
  char *array;       /* heatmap, orientations: arrays/NAME.npy */
  char *initial;     /* orientations: the initial weights, drawn as open grey markers */
  char *output;      /* orientations: output weights (one per neuron): marker by sign */
  char *x;           /* "t" or "step"; NULL: the figure's default */
  int xlog, ylog;    /* 1, 0, or -1: decided from the data */
  int diverging;     /* heatmap: 1 diverging colour map centred on 0, 0 sequential, -1: sequential */
  int phases;        /* shade the phases: 1, 0, -1 (auto: single runs) */
  int plateaus;      /* mark the plateaus: 1, 0, -1 (auto: when the plateau metric is drawn) */
  double xlim[2], ylim[2]; /* NaN: from the data */
  char *title, *xlabel, *ylabel;
} sd_panel_spec;

/* Where specs come from, for messages: a resolved config (sd_config_fail_node) or, cfg == NULL, the
 * nodes' own file:line:col. */
typedef struct {
  const sd_config *cfg;
} sd_spec_ctx;

void sd_spec_free(sd_panel_spec *s);
void sd_specs_free(sd_panel_spec *s, size_t n);

/* One item of a figures: list. */
sd_status sd_spec_from_node(const sd_spec_ctx *ctx, const sd_cfg_node *item, sd_panel_spec *out);
/* A --panel argument: "KIND", "KIND:A,B" or a YAML flow mapping "{panel: ..., ...}". */
sd_status sd_spec_from_arg(const char *arg, sd_panel_spec *out);

/* Checks the metric names of a spec against a run's columns (SD_ERR_CONFIG naming the nearest column).
 * item may be NULL (then the message names the panel kind). */
sd_status sd_spec_check_columns(const sd_spec_ctx *ctx, const sd_cfg_node *item, const sd_panel_spec *s,
                                const char *const *cols, size_t n_cols);

/* The standard panels for a run: loss (+ errors), each vector family (with its *_theory reference),
 * the other scalar columns, and the curvature columns. *out has *n specs (sd_specs_free). */
sd_status sd_spec_auto(const sd_rundir *rd, sd_panel_spec **out, size_t *n);

/* The standard panels for a comparison of n_runs runs like rd: one panel per loss or error column (each
 * overlaid across the runs), and, for at most 3 runs, the families. */
sd_status sd_spec_auto_compare(const sd_rundir *rd, size_t n_runs, sd_panel_spec **out, size_t *n);

const char *sd_panel_kind_name(sd_panel_kind k);

#endif
