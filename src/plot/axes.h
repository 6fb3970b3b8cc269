/* axes.h: ticks (decades on log axes), framed axes with inward ticks, legends and colour bars, drawn on
 * a canvas in page points. */
#ifndef SADDLE_PLOT_AXES_H
#define SADDLE_PLOT_AXES_H

#include <stddef.h>

#include "plot/canvas.h"

#define SD_TICKS_MAX 48

typedef struct {
  size_t n;
  double pos[SD_TICKS_MAX];       /* window coordinates (log10 of the value on a log axis) */
  char label[SD_TICKS_MAX][48];   /* PLplot text */
  size_t n_minor;
  double minor[4 * SD_TICKS_MAX];
  char factor[48];                /* "×10#u−3#d" when a linear axis' labels are scaled, else "" */
} sd_ticks;

/* Window [w0, w1] for data in [lo, hi] (window units: log10 on a log axis): log axes are widened to whole
 * decades when that costs little, linear ones padded by pad (fraction of the range) and rounded to ticks.
 * Degenerate ranges are widened. */
void sd_axis_window(double lo, double hi, int log, double pad, double *w0, double *w1);
/* Ticks for a window: about five labelled ticks; decades (every k-th when many) with 2..9 minor ticks on a
 * log axis; 1-2-5 steps on a linear one. */
void sd_ticks_make(double w0, double w1, int log, sd_ticks *t);
/* Integer ticks (matrix indices) for cells 0..n-1, the value of cell i at window coordinate pos(i). */
void sd_ticks_index(size_t n, int flip, sd_ticks *t);

/* Space between the y tick labels and the rotated y label (more when the label has subscripts, which
 * hang towards the tick labels). */
double sd_axis_label_gap(const char *ylabel);

/* Frame, inward ticks on all four sides, labels on the bottom and left, axis labels; in data mode. */
void sd_cv_axes(sd_canvas *cv, const sd_ticks *xt, const sd_ticks *yt, const char *xlabel, const char *ylabel);

typedef struct {
  const char *label;   /* PLplot text */
  sd_rgb color;
  sd_dash dash;
  double width;        /* line width in points; 0: no line */
  const char *glyph;   /* a marker (UTF-8) or NULL */
  double alpha;        /* of the line (1 if 0) */
  const sd_rgb *ramp;  /* when set: the line sample is n_ramp short segments in these colours (a family) */
  size_t n_ramp;
} sd_legend_entry;

/* A legend inside the plot area of the current data mode, in the corner where it hides the fewest of the
 * points (px, py in page points; may be none). */
void sd_cv_legend(sd_canvas *cv, const sd_legend_entry *e, size_t n, const double *px, const double *py, size_t np);

/* A legend in rows of columns filling the band [x0, x1] × [y0, y1] of the page (the runs of a comparison);
 * returns the height it needs for that width when draw is 0. */
double sd_cv_legend_band(sd_canvas *cv, const sd_legend_entry *e, size_t n, double x0, double x1, double y1, int draw);

/* A vertical colour bar in the rectangle (points) for values [z0, z1], ticks and label on its right. */
void sd_cv_colorbar(sd_canvas *cv, double x0, double x1, double y0, double y1, double z0, double z1, int diverging,
                    const char *label);

#endif
