/* panels.h: drawing one panel of a figure (curves over time, families, heatmaps, neuron orientations)
 * into a cell of the page. */
#ifndef SADDLE_PLOT_PANELS_H
#define SADDLE_PLOT_PANELS_H

#include <stddef.h>

#include "plot/canvas.h"
#include "plot/rundir.h"
#include "plot/spec.h"

typedef struct {
  sd_canvas *cv;
  sd_rundir *const *runs; /* runs[0] also collects the notes of the figure */
  size_t n_runs;
  const char *const *run_labels; /* legend labels, one per run (used when n_runs > 1) */
  const char *default_x;         /* "t" or "step" */
} sd_figure_ctx;

/* Draws a panel into the cell [x0, x1] × [y0, y1] (page points). run: the run an array panel shows (time
 * panels overlay all runs). letter: "(a)" or "". What cannot be drawn (a missing column or array, no finite
 * value) is drawn as a hatched panel saying so, with a note; errors are only for memory. */
sd_status sd_panel_draw(const sd_figure_ctx *f, const sd_panel_spec *s, size_t run, const char *letter, double x0,
                        double x1, double y0, double y1);

/* The colour and dash of run r in a comparison (its single-metric curves and the figure's legend). */
void sd_run_style(size_t r, sd_rgb *color, sd_dash *dash);

/* The PLplot label of a column or family name ("loss", "σ#di#u(...)"), or NULL when it has none. */
const char *sd_metric_label(const char *name);

#endif
