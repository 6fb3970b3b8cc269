/* canvas.h: PLplot set up for paper figures, in page points (1/72 in) whatever the device.
 *
 * The cairo drivers work in device units (pixels for pngcairo, points for svgcairo/pdfcairo) and PLplot
 * measures text and ticks in "mm" of 72 device units per inch; the canvas hides this: every length below
 * is in points of the printed page, so a PNG at any dpi looks like the PDF. Two drawing modes:
 *   page mode: the whole page, coordinates in points from the bottom-left corner, no clipping
 *   data mode: one panel's plot area (a rectangle in points) with a data window, clipped to it
 * Log axes are drawn in log10 coordinates (the panels transform their data). */
#ifndef SADDLE_PLOT_CANVAS_H
#define SADDLE_PLOT_CANVAS_H

#include <stddef.h>

#include "saddle/error.h"
#include "saddle/plot.h"

typedef struct {
  unsigned char r, g, b;
} sd_rgb;

typedef enum { SD_DASH_SOLID, SD_DASH_DASHED, SD_DASH_DOTTED, SD_DASH_DASHDOT, SD_DASH_LONG } sd_dash;

typedef struct {
  sd_plot_format format;
  double w_pt, h_pt; /* the page */
  double s;          /* device units per point: dpi/72 for PNG, 1 for SVG and PDF */
  /* the current mode: plot area in points and data window (data mode) */
  double ax0, ax1, ay0, ay1;
  double wx0, wx1, wy0, wy1;
  int data_mode;
} sd_canvas;

/* Runs fn(arg) with PLplot's fatal errors (plexit(), which would end the process) turned into SD_ERR_IO
 * "PLplot: <its message>", PLplot being ended (plend) first. Nests. */
sd_status sd_cv_guard(sd_status (*fn)(void *arg), void *arg);

/* Checks the driver, opens the page (white background, DejaVu Sans) writing to path. The page is
 * w_pt × h_pt points, rounded to whole device units (PNG: round(w_pt·dpi/72) pixels). */
sd_status sd_cv_open(sd_canvas *cv, sd_plot_format f, const char *path, double w_pt, double h_pt, double dpi);
/* Finishes the file (plend). */
void sd_cv_close(sd_canvas *cv);
/* The PLplot device name of a format ("pngcairo", ...). */
const char *sd_cv_device(sd_plot_format f);
/* 1 if PLplot lists the device (its driver file is installed). */
int sd_cv_has_device(const char *dev);

void sd_cv_page(sd_canvas *cv);
void sd_cv_data(sd_canvas *cv, double ax0, double ax1, double ay0, double ay1, double wx0, double wx1, double wy0,
                double wy1);
/* Points of the page for window coordinates of the current data mode. */
double sd_cv_xpt(const sd_canvas *cv, double wx);
double sd_cv_ypt(const sd_canvas *cv, double wy);

void sd_cv_color(sd_rgb c, double alpha);
void sd_cv_width(const sd_canvas *cv, double pt);
void sd_cv_dash(const sd_canvas *cv, sd_dash d);
void sd_cv_font(const sd_canvas *cv, double pt);

/* Text in the current coordinates: angle in degrees (counter-clockwise), just 0 left, 0.5 centre, 1 right;
 * vertically centred on y. text is PLplot text (escape '#': #u superscript, #d subscript). */
void sd_cv_text(const sd_canvas *cv, double x, double y, double angle_deg, double just, const char *text);
/* User text (names, titles) with PLplot's escape character doubled; writes into buf. */
const char *sd_cv_escape(const char *s, char *buf, size_t len);
/* Rough width in points of PLplot text at a font size (DejaVu Sans metrics, script shrunk). */
double sd_cv_text_width(const char *text, double font_pt);

/* Lines, polylines and filled polygons in the current coordinates. */
void sd_cv_line(double x0, double y0, double x1, double y1);
void sd_cv_polyline(size_t n, const double *x, const double *y);
void sd_cv_fill(size_t n, const double *x, const double *y);
void sd_cv_rect(double x0, double y0, double x1, double y1);
/* Glyphs (UTF-8, e.g. "●") centred on points, at a size in points. */
void sd_cv_marks(const sd_canvas *cv, size_t n, const double *x, const double *y, const char *glyph, double size_pt);

/* Palettes: series (qualitative, each paired with a dash so grayscale keeps them apart), sequential
 * (viridis, dark to light, t in [0,1]) and diverging (blue–white–red, t in [0,1]). */
sd_rgb sd_palette_series(size_t i);
sd_dash sd_palette_series_dash(size_t i);
sd_rgb sd_palette_seq(double t);
sd_rgb sd_palette_div(double t);
/* Loads a palette as PLplot's continuous colour map (for images). */
void sd_cv_cmap(int diverging);

#endif
