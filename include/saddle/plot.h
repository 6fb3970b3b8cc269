/* plot.h: figures of runs, drawn by PLplot's cairo drivers from the run directory contract alone.
 *
 * A figure is a grid of panels. Each panel is one of
 *   loss          loss and every *error* column against t or step (log-log by default for log-spaced runs),
 *                 the run's phases shaded and labelled, its plateaus marked
 *   lines         any columns, same axes and marks
 *   family        a vector observable name[0], name[1], ... on one panel, colour-ordered (optionally with a
 *                 reference family such as u_theory drawn dashed)
 *   heatmap       a matrix from arrays/NAME.npy with a colour bar
 *   orientations  neurons of a two-layer network (rows of a weight matrix): angle against norm
 * The panels come from --panel style specs, else from the run's `figures:` list (config.resolved.yaml), else
 * from the columns present. Several run directories are overlaid, with a legend made of the config keys
 * that differ between them. Syntax and behaviour: docs/plot.md.
 *
 * Only metrics.csv, summary.json, config.resolved.yaml and arrays/NAME.npy are read, so runs of older versions
 * plot too. PLplot keeps global state: draw one figure at a time (not thread-safe). Nothing reads stdin and
 * no display is needed. */
#ifndef SADDLE_PLOT_H
#define SADDLE_PLOT_H

#include <stddef.h>

#include "saddle/config.h"
#include "saddle/error.h"
#include "saddle/observe.h"

typedef enum { SD_PLOT_PNG, SD_PLOT_SVG, SD_PLOT_PDF } sd_plot_format;

typedef struct {
  sd_plot_format format;
  const char *out;             /* file to write; NULL: <first dir>/figure.<ext> (several dirs: ./compare.<ext>) */
  const char *const *panels;   /* panel specs (docs/plot.md): "loss", "family:signal", "heatmap:W1_final",
                                * "{panel: loss, scale: semilogy}", "auto", "figure"; NULL or none: the run's
                                * figures: list if it has one, else "auto" */
  size_t n_panels;
  double width_in, height_in;  /* page size in inches; 0: chosen from the number of panels */
  double dpi;                  /* PNG pixels per inch; 0: 200 */
  const char *x;               /* "t" or "step" for every time panel that does not say; NULL: t */
} sd_plot_options;

/* What a successful call wrote. */
typedef struct {
  char *path;  /* the file written (owned) */
  char *notes; /* gaps and oddities found in the inputs, one per line, "" if none (owned); the figure marks
                * them where it can (missing values, truncated CSV, missing columns of a figures: panel) */
} sd_plot_result;

/* Options with every field at its default (PNG). */
sd_plot_options sd_plot_defaults(void);

/* Draws one figure from n_dirs run directories. SD_ERR_CONFIG for a bad panel spec or a directory that is
 * not a run (no or empty metrics.csv), SD_ERR_IO when the file cannot be written or the cairo driver is
 * missing. res receives the path and notes (free with sd_plot_result_free); it is zeroed on failure. */
sd_status sd_plot_dirs(const char *const *dirs, size_t n_dirs, const sd_plot_options *opt, sd_plot_result *res);
void sd_plot_result_free(sd_plot_result *res);

/* Checks a config's `figures:` list (panel kinds, keys, scales) against the run's metric columns, with
 * file:line:col errors (SD_ERR_CONFIG). Array names are checked for form only (arrays are written at the
 * end of the run). OK when the config has no figures. For sd_experiment_prepare. */
sd_status sd_plot_check_config(const sd_config *cfg, const sd_metrics *m);

/* SD_OK if PLplot can load the cairo driver for this format; else SD_ERR_IO naming the Debian package. */
sd_status sd_plot_driver_check(sd_plot_format f);

/* What `saddle plot DIR --list` prints: the columns (families folded), the arrays, the phases, whether the
 * run has a figures: list, and the automatic panels as --panel arguments. *text: caller frees (sd_free). */
sd_status sd_plot_describe(const char *dir, char **text);

/* "png", "svg", "pdf". */
const char *sd_plot_format_ext(sd_plot_format f);
/* Parses "png"/"svg"/"pdf" (SD_ERR_CONFIG otherwise). */
sd_status sd_plot_format_parse(const char *s, sd_plot_format *f);

#endif
