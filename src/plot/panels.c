/* panels.c: the panel kinds (see panels.h and docs/plot.md). */
#include "plot/panels.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/axes.h"
#include "saddle/alloc.h"
#include "saddle/linalg.h"

#define TITLE_FONT 8.5
#define LETTER_FONT 9.0
#define NOTE_FONT 7.0
#define PHASE_FONT 6.5
#define LINE_W 1.15
#define MARGIN_TOP 14.0
#define MARGIN_RIGHT 9.0
#define MARGIN_BOTTOM 29.0
#define MAX_DRAWN 6000 /* points of a curve beyond which it is thinned to min/max per bucket */

static const sd_rgb BLACK = {0, 0, 0};
static const sd_rgb GREY = {0x80, 0x80, 0x80};
static const sd_rgb DARK = {0x40, 0x40, 0x40};
static const sd_rgb PLATEAU = {0xd5, 0x5e, 0x00};
static const sd_rgb DIVERGED = {0xb2, 0x18, 0x2b};
static const sd_rgb PHASE_TINTS[] = {{0xe3, 0xec, 0xf7}, {0xfb, 0xee, 0xd5}, {0xe2, 0xf1, 0xe2}, {0xf2, 0xe3, 0xef}};

/* ---------------------------------------------------------------- labels */

static const struct {
  const char *name, *label;
} LABELS[] = {
    {"t", "time #fit#fn"},
    {"step", "step #fik#fn"},
    {"loss", "loss"},
    {"rel_error", "relative error"},
    {"train_error", "train error"},
    {"test_error", "test error"},
    {"signal", "σ#di#u(V#dX#uᵀU)"},
    {"eig", "eigenvalues λ#di#u"},
    {"signal_ratio", "σ#dmin#u(V#dX#uᵀU) / σ#dmin#u(U⋆)"},
    {"noise", "noise ‖UW#d⊥#u‖"},
    {"noise_perp", "‖(I − V#dX#uV#dX#uᵀ)U‖"},
    {"angle_truth", "sin∠(U, X⋆)"},
    {"angle_spectral", "sin∠(U, L)"},
    {"angle_shadow", "sin∠(U, Ũ) (power shadow)"},
    {"angle_shadow_spectral", "sin∠(Ũ, L)"},
    {"misalignment", "‖V#dX⊥#uᵀ orth(UW)‖"},
    {"invariance_gap", "‖LRᵀ − L#d2#uR#d2#uᵀ‖ / ‖LRᵀ‖"},
    {"u", "mode strength #fiu#fn#dα#u"},
    {"u_theory", "#fiu#fn#dα#u (theory)"},
    {"offdiag", "off-diagonal modes"},
    {"balance", "‖W#d2#uᵀW#d2#u − W#d1#uW#d1#uᵀ‖"},
    {"analytic_err", "|#fiu#fn − #fiu#fn#dtheory#u| / #fis#fn"},
    {"hess_min", "λ#dmin#u(∇#u2#dL)"},
    {"hess_max", "λ#dmax#u(∇#u2#dL)"},
};

const char *sd_metric_label(const char *name) {
  for (size_t i = 0; i < sizeof LABELS / sizeof *LABELS; i++)
    if (!strcmp(LABELS[i].name, name)) return LABELS[i].label;
  return NULL;
}

/* A label for a column or family: the table's, else the escaped name. */
static const char *label_of(const char *name, char *buf, size_t len) {
  const char *l = sd_metric_label(name);
  if (l) {
    snprintf(buf, len, "%s", l);
    return buf;
  }
  return sd_cv_escape(name, buf, len);
}

/* Titles and labels from a spec are PLplot text as written (#u superscript, #d subscript, ## a '#'). */
static const char *user_text(const char *s, char *buf, size_t len) {
  snprintf(buf, len, "%s", s);
  return buf;
}

/* ---------------------------------------------------------------- cells, titles and gaps */

typedef struct {
  double x0, x1, y0, y1; /* the cell */
  double ax0, ax1, ay0, ay1;
} cell;

static void draw_title(sd_canvas *cv, const cell *c, const char *letter, const char *title) {
  sd_cv_page(cv);
  sd_cv_color(BLACK, 1.0);
  double x = c->ax0, y = c->y1 - 7.0;
  if (letter && *letter) {
    plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, PL_FCI_BOLD);
    sd_cv_font(cv, LETTER_FONT);
    sd_cv_text(cv, c->x0 + 2.0, y, 0, 0.0, letter);
    plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, PL_FCI_MEDIUM);
    x = fmax(x, c->x0 + 2.0 + sd_cv_text_width(letter, LETTER_FONT) + 4.0);
  }
  if (title && *title) {
    sd_cv_font(cv, TITLE_FONT);
    sd_cv_text(cv, x, y, 0, 0.0, title);
  }
}

/* Hatching over a rectangle in page points (the mark of missing data). */
static void hatch(sd_canvas *cv, double x0, double x1, double y0, double y1) {
  sd_cv_color((sd_rgb){0xf0, 0xf0, 0xf0}, 1.0);
  sd_cv_rect(x0, y0, x1, y1);
  sd_cv_color((sd_rgb){0xb8, 0xb8, 0xb8}, 1.0);
  sd_cv_width(cv, 0.5);
  sd_cv_dash(cv, SD_DASH_SOLID);
  double step = 5.0, h = y1 - y0;
  for (double s = x0 - h; s < x1; s += step) {
    double ax = s, ay = y0, bx = s + h, by = y1;
    if (ax < x0) ay += x0 - ax, ax = x0;
    if (bx > x1) by -= bx - x1, bx = x1;
    if (bx > ax) sd_cv_line(ax, ay, bx, by);
  }
}

/* A panel that could not be drawn: hatched, framed, with the reason. */
static void gap_panel(const sd_figure_ctx *f, const cell *c, const char *letter, const char *title, const char *why) {
  sd_canvas *cv = f->cv;
  sd_cv_page(cv);
  hatch(cv, c->ax0, c->ax1, c->ay0, c->ay1);
  sd_cv_color(BLACK, 1.0);
  sd_cv_width(cv, 0.6);
  double fx[5] = {c->ax0, c->ax1, c->ax1, c->ax0, c->ax0}, fy[5] = {c->ay0, c->ay0, c->ay1, c->ay1, c->ay0};
  sd_cv_polyline(5, fx, fy);
  sd_cv_font(cv, NOTE_FONT);
  char buf[400];
  sd_cv_escape(why, buf, sizeof buf);
  /* break the message into lines that fit */
  double maxw = c->ax1 - c->ax0 - 8;
  char line[400] = "";
  double y = 0.5 * (c->ay0 + c->ay1) + 6;
  sd_cv_color((sd_rgb){0xff, 0xff, 0xff}, 0.9);
  sd_cv_rect(c->ax0 + 3, y - 20, c->ax1 - 3, y + 6);
  sd_cv_color(BLACK, 1.0);
  char *save = NULL;
  for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    char trial[400];
    snprintf(trial, sizeof trial, "%s%s%s", line, *line ? " " : "", w);
    if (*line && sd_cv_text_width(trial, NOTE_FONT) > maxw) {
      sd_cv_text(cv, 0.5 * (c->ax0 + c->ax1), y, 0, 0.5, line);
      y -= NOTE_FONT * 1.3;
      snprintf(line, sizeof line, "%s", w);
    } else {
      snprintf(line, sizeof line, "%s", trial);
    }
  }
  if (*line) sd_cv_text(cv, 0.5 * (c->ax0 + c->ax1), y, 0, 0.5, line);
  draw_title(cv, c, letter, title);
  sd_rundir_note(f->runs[0], "panel %s: %s", letter && *letter ? letter : "", why);
}

static void layout(cell *c, double x0, double x1, double y0, double y1, double left, double right) {
  c->x0 = x0, c->x1 = x1, c->y0 = y0, c->y1 = y1;
  c->ax0 = x0 + left;
  c->ax1 = x1 - right;
  c->ay0 = y0 + MARGIN_BOTTOM;
  c->ay1 = y1 - MARGIN_TOP;
  if (c->ax1 < c->ax0 + 10) c->ax1 = c->ax0 + 10;
  if (c->ay1 < c->ay0 + 10) c->ay1 = c->ay0 + 10;
}

/* Left margin that fits the y tick labels and the y label. */
static double left_margin(const sd_ticks *yt, const char *ylabel) {
  double w = 0;
  for (size_t i = 0; i < yt->n; i++) {
    double tw = sd_cv_text_width(yt->label[i], 7.5);
    if (tw > w) w = tw;
  }
  return 3.0 + w + sd_axis_label_gap(ylabel) + 8.5 + 4.0;
}

/* ---------------------------------------------------------------- time series */

static sd_legend_entry le(const char *label, sd_rgb color, sd_dash dash, double width, const char *glyph, double alpha) {
  sd_legend_entry e;
  memset(&e, 0, sizeof e);
  e.label = label, e.color = color, e.dash = dash, e.width = width, e.glyph = glyph, e.alpha = alpha;
  return e;
}

typedef struct {
  size_t run;
  long col;        /* y column */
  long xcol;       /* x column of that run (-1: row index) */
  char label[200]; /* legend text */
  sd_rgb color;
  sd_dash dash;
  double width;
  int reference;   /* a reference (theory) curve */
  size_t name_idx; /* which of the panel's names (a column or a whole family) it belongs to */
  int sparse;      /* observed on some rows only (NaN elsewhere): its points are joined */
} curve;

typedef struct {
  curve *c;
  size_t n, cap;
} curves;

static sd_status add_curve(curves *cs, const curve *c) {
  if (cs->n == cs->cap) {
    size_t nc = cs->cap ? 2 * cs->cap : 16;
    curve *p = sd_realloc(cs->c, nc * sizeof *p);
    if (!p) return sd_error(SD_ERR_NOMEM, "out of memory");
    cs->c = p;
    cs->cap = nc;
  }
  cs->c[cs->n++] = *c;
  return SD_OK;
}

static int is_error_col(const char *c) { return strstr(c, "error") != NULL && !strchr(c, '['); }

/* The dash of run r in a comparison: colours repeat every 8 runs, dashes shift so the pairs do not. */
static sd_dash run_dash(size_t r) { return sd_palette_series_dash(r % 8 + r / 8); }

void sd_run_style(size_t r, sd_rgb *color, sd_dash *dash) {
  *color = sd_palette_series(r);
  *dash = run_dash(r);
}

/* x column of a run for a spec: the asked one, else t, else step, else -1. */
static long x_column(const sd_figure_ctx *f, const sd_rundir *rd, const sd_panel_spec *s, int *fallback) {
  const char *want = s->x ? s->x : f->default_x;
  long c = sd_rundir_col(rd, want);
  *fallback = 0;
  if (c >= 0) return c;
  *fallback = 1;
  c = sd_rundir_col(rd, strcmp(want, "t") ? "t" : "step");
  return c;
}

/* Row value of x (row index when there is no x column). */
static double xval(const sd_rundir *rd, long xcol, size_t r) { return xcol >= 0 ? sd_rundir_at(rd, r, (size_t)xcol) : (double)r; }

/* Maps a time t to the x axis of a run (t itself, or the step interpolated from the t and step columns). */
static double t_to_x(const sd_rundir *rd, long xcol, double t) {
  if (!isfinite(t)) return NAN;
  long ct = sd_rundir_col(rd, "t");
  if (xcol == ct) return t;
  if (ct < 0 || xcol < 0) return NAN;
  double pt = NAN, px = NAN;
  for (size_t r = 0; r < rd->n_rows; r++) {
    double tr = sd_rundir_at(rd, r, (size_t)ct), xr = sd_rundir_at(rd, r, (size_t)xcol);
    if (!isfinite(tr) || !isfinite(xr)) continue;
    if (tr >= t) {
      if (!isfinite(pt) || tr == pt) return xr;
      return px + (xr - px) * (t - pt) / (tr - pt);
    }
    pt = tr, px = xr;
  }
  return px;
}

static double tx(double v, int log) { return log ? (v > 0 ? log10(v) : NAN) : v; }

/* Sparse: at least 30% of the rows are NaN, in short runs between finite values (e.g. a curvature column
 * computed on every 5th observation). */
static int is_sparse(const sd_rundir *rd, long col) {
  size_t nan = 0, finite = 0, run = 0, longest = 0;
  for (size_t r = 0; r < rd->n_rows; r++) {
    double v = sd_rundir_at(rd, r, (size_t)col);
    if (isnan(v)) {
      nan++;
      run++;
    } else {
      if (finite && run > longest) longest = run;
      run = 0;
      finite += isfinite(v) != 0;
    }
  }
  return finite >= 2 && nan * 10 >= rd->n_rows * 3 && longest <= 20;
}

typedef struct {
  double lo, hi;
  size_t n;
} range;

static void range_add(range *r, double v) {
  if (!isfinite(v)) return;
  if (r->n == 0 || v < r->lo) r->lo = v;
  if (r->n == 0 || v > r->hi) r->hi = v;
  r->n++;
}

/* Decides a log axis from raw values: all positive and spanning ≥ min_ratio; for x, also log-spaced. */
typedef struct {
  double min_pos, max;
  size_t n_pos, n_nonpos, n_neg, n_small;
} scan;

static void scan_add(scan *s, double v) {
  if (!isfinite(v)) return;
  if (v > 0) {
    if (s->n_pos == 0 || v < s->min_pos) s->min_pos = v;
    if (s->n_pos == 0 || v > s->max) s->max = v;
    s->n_pos++;
  } else {
    s->n_nonpos++;
    s->n_neg += v < 0;
  }
}

/* A log axis suits values that are positive (a few exact zeros allowed: a loss that reached 0) and span at
 * least min_ratio. */
static int log_suits(const scan *s, double min_ratio) {
  return s->n_neg == 0 && s->n_nonpos * 10 <= s->n_pos && s->n_pos >= 2 && s->max >= min_ratio * s->min_pos;
}

/* One curve's points on the axes: valid (drawable) points and the gap rows (non-finite y). */
typedef struct {
  double *x, *y; /* window coordinates of every row (NaN: not drawable) */
  size_t n;
} pts;

static sd_status curve_points(const sd_rundir *rd, const curve *c, int xlog, int ylog, pts *p) {
  p->n = rd->n_rows;
  p->x = sd_malloc((p->n + 1) * sizeof *p->x);
  p->y = sd_malloc((p->n + 1) * sizeof *p->y);
  if (!p->x || !p->y) {
    sd_free(p->x);
    sd_free(p->y);
    p->x = p->y = NULL;
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  for (size_t r = 0; r < p->n; r++) {
    p->x[r] = tx(xval(rd, c->xcol, r), xlog);
    p->y[r] = tx(sd_rundir_at(rd, r, (size_t)c->col), ylog);
  }
  return SD_OK;
}

static void pts_free(pts *p) {
  sd_free(p->x);
  sd_free(p->y);
  p->x = p->y = NULL;
}

/* Draws the drawable runs of points as polylines (thinned to min/max per bucket when long); sparse curves
 * join their finite points across the NaN rows. Lone points get a dot. */
static sd_status draw_polyline(sd_canvas *cv, const pts *p, int sparse, double wx0, double wx1) {
  double *bx = sd_malloc((p->n + 1) * sizeof *bx), *by = sd_malloc((p->n + 1) * sizeof *by);
  if (!bx || !by) {
    sd_free(bx);
    sd_free(by);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  size_t r = 0;
  while (r < p->n) {
    size_t m = 0;
    for (; r < p->n; r++) {
      int ok = isfinite(p->x[r]) && isfinite(p->y[r]);
      if (!ok) {
        if (sparse && isnan(p->y[r]) && isfinite(p->x[r])) continue;
        if (m) break;
        continue;
      }
      bx[m] = p->x[r];
      by[m] = p->y[r];
      m++;
    }
    if (m > MAX_DRAWN) { /* keep the first, min, max and last point of each of 2000 buckets in x */
      size_t out = 0, nb = 2000;
      size_t i = 0;
      while (i < m) {
        double b = floor((bx[i] - wx0) / (wx1 - wx0) * (double)nb);
        size_t j = i, imin = i, imax = i;
        while (j < m && floor((bx[j] - wx0) / (wx1 - wx0) * (double)nb) == b) {
          if (by[j] < by[imin]) imin = j;
          if (by[j] > by[imax]) imax = j;
          j++;
        }
        size_t keep[4] = {i, imin < imax ? imin : imax, imin < imax ? imax : imin, j - 1};
        for (int k = 0; k < 4; k++) {
          if (k && keep[k] == keep[k - 1]) continue;
          bx[out] = bx[keep[k]];
          by[out] = by[keep[k]];
          out++;
        }
        i = j;
      }
      m = out;
    }
    if (m == 1) {
      sd_cv_marks(cv, 1, bx, by, "•", 5.0);
    } else if (m > 1) {
      sd_cv_polyline(m, bx, by);
      if (sparse && m <= 60) sd_cv_marks(cv, m, bx, by, "•", 3.5);
    }
  }
  sd_free(bx);
  sd_free(by);
  return SD_OK;
}

/* Marks stretches of rows where y is missing (NaN) between drawable rows, or trailing after divergence. */
static void mark_gaps(sd_canvas *cv, const sd_figure_ctx *f, const curve *c, const pts *p, size_t *n_gaps) {
  const sd_rundir *rd = f->runs[c->run];
  if (c->sparse) return;
  size_t r = 0;
  while (r < p->n) {
    if (!(isnan(p->y[r]) && isnan(sd_rundir_at(rd, r, (size_t)c->col)))) {
      r++;
      continue;
    }
    size_t a = r;
    while (r < p->n && isnan(sd_rundir_at(rd, r, (size_t)c->col))) r++;
    /* x span from the last drawable row before to the first after */
    double xa = a > 0 ? p->x[a - 1] : p->x[a], xb = r < p->n ? p->x[r] : p->x[r - 1];
    if (!isfinite(xa)) xa = p->x[a];
    if (!isfinite(xb)) xb = p->x[r - 1];
    if (!isfinite(xa) || !isfinite(xb)) continue;
    if (r == p->n && !strcmp(rd->status, "diverged")) continue; /* the divergence mark says it */
    double pa = sd_cv_xpt(cv, fmin(xa, xb)), pb = sd_cv_xpt(cv, fmax(xa, xb));
    if (pb - pa < 2.0) pa -= 1.0, pb += 1.0;
    if (pb < cv->ax0 || pa > cv->ax1) continue;
    pa = fmax(pa, cv->ax0), pb = fmin(pb, cv->ax1);
    sd_canvas saved = *cv;
    sd_cv_page(cv);
    hatch(cv, pa, pb, cv->ay0, cv->ay1);
    sd_cv_color(DARK, 1.0);
    sd_cv_font(cv, PHASE_FONT);
    sd_cv_text(cv, 0.5 * (pa + pb), cv->ay0 + 0.3 * (cv->ay1 - cv->ay0), 90, 0.5, "no data (NaN)");
    sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
    (*n_gaps)++;
  }
}

/* Shades the reached phases in turn with pale tints, dashed lines between them, names above the plot area. */
static void shade_phases(sd_canvas *cv, const sd_rundir *rd, long xcol, int xlog) {
  int use_t = xcol == sd_rundir_col(rd, "t");
  double prev_end = NAN, prev_label_end = -INFINITY;
  size_t k = 0;
  sd_canvas saved = *cv;
  for (size_t i = 0; i < rd->n_phases; i++) {
    const sd_rd_phase *ph = &rd->phases[i];
    if (!ph->reached) continue;
    double a = use_t ? ph->t_start : ph->step_start, b = use_t ? ph->t_end : ph->step_end;
    if (!use_t && !isfinite(a)) a = t_to_x(rd, xcol, ph->t_start), b = t_to_x(rd, xcol, ph->t_end);
    double wa = tx(a, xlog), wb = tx(b, xlog);
    if (!isfinite(wa)) wa = cv->wx0;
    if (!isfinite(wb)) continue;
    if (wa < cv->wx0) wa = cv->wx0;
    if (wb > cv->wx1) wb = cv->wx1;
    double pa = sd_cv_xpt(cv, wa), pb = sd_cv_xpt(cv, wb);
    if (pb <= pa) {
      k++;
      continue;
    }
    sd_cv_page(cv);
    sd_cv_color(PHASE_TINTS[k % 4], 1.0);
    sd_cv_rect(pa, saved.ay0, pb, saved.ay1);
    if (isfinite(prev_end) && pa > saved.ax0 + 0.5) {
      sd_cv_color(GREY, 1.0);
      sd_cv_width(cv, 0.5);
      sd_cv_dash(cv, SD_DASH_DASHED);
      sd_cv_line(pa, saved.ay0, pa, saved.ay1);
      sd_cv_dash(cv, SD_DASH_SOLID);
    }
    /* the name, across the top of the band, or upright when the band is narrow */
    char name[200];
    sd_cv_escape(ph->name, name, sizeof name);
    sd_cv_color(DARK, 1.0);
    sd_cv_font(cv, PHASE_FONT);
    plsfont(PL_FCI_SANS, PL_FCI_ITALIC, PL_FCI_MEDIUM);
    double w = sd_cv_text_width(name, PHASE_FONT);
    /* over its band, kept inside the plot's width; inside the band, upright, when the band is too narrow */
    double cx = 0.5 * (pa + pb);
    if (cx - 0.5 * w < saved.ax0) cx = saved.ax0 + 0.5 * w;
    if (cx + 0.5 * w > saved.ax1) cx = saved.ax1 - 0.5 * w;
    if (w <= pb - pa + 16 && (!isfinite(prev_end) || cx - 0.5 * w >= prev_label_end + 3)) {
      sd_cv_text(cv, cx, saved.ay1 + 4.5, 0, 0.5, name);
      prev_label_end = cx + 0.5 * w;
    } else if (pb - pa >= PHASE_FONT) {
      sd_cv_text(cv, 0.5 * (pa + pb), saved.ay1 - 3.0, 90, 1.0, name);
    }
    plsfont(PL_FCI_SANS, PL_FCI_UPRIGHT, PL_FCI_MEDIUM);
    prev_end = pb;
    k++;
    sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
  }
}

/* Plateaus of the run's plateau metric: a translucent bar at each level over its span, numbered, and a
 * triangle at each jump time. Returns how many were drawn. */
static size_t mark_plateaus(sd_canvas *cv, const sd_rundir *rd, long xcol, int xlog, int ylog) {
  size_t drawn = 0;
  sd_canvas saved = *cv;
  for (size_t i = 0; i < rd->n_plateaus; i++) {
    const sd_rd_plateau *q = &rd->plateaus[i];
    double wa = tx(t_to_x(rd, xcol, q->t_start), xlog), wb = tx(t_to_x(rd, xcol, q->t_end), xlog);
    double wy = tx(q->level, ylog);
    if (!isfinite(wa)) wa = saved.wx0;
    if (!isfinite(wb) || !isfinite(wy)) continue;
    double pa = sd_cv_xpt(&saved, fmax(wa, saved.wx0)), pb = sd_cv_xpt(&saved, fmin(wb, saved.wx1));
    double py = sd_cv_ypt(&saved, wy);
    if (pb <= pa || py < saved.ay0 || py > saved.ay1) continue;
    sd_cv_page(cv);
    sd_cv_color(PLATEAU, 0.35);
    sd_cv_rect(pa, py - 2.2, pb, py + 2.2);
    char num[32];
    snprintf(num, sizeof num, "%zu", i + 1);
    sd_cv_color(PLATEAU, 1.0);
    sd_cv_font(cv, PHASE_FONT);
    sd_cv_text(cv, pb + 1.5, py + 4.5, 0, 0.0, num);
    double wj = tx(t_to_x(rd, xcol, q->jump_t), xlog);
    if (isfinite(wj) && wj >= saved.wx0 && wj <= saved.wx1) {
      double jx = sd_cv_xpt(&saved, wj), jy = saved.ay0 + 3.0;
      sd_cv_marks(cv, 1, &jx, &jy, "▲", 5.0);
    }
    drawn++;
    sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
  }
  return drawn;
}

static void mark_divergence(sd_canvas *cv, const sd_rundir *rd, long xcol, int xlog) {
  double wx = tx(t_to_x(rd, xcol, rd->diverged_t), xlog);
  if (!isfinite(wx) || wx < cv->wx0 || wx > cv->wx1) return;
  sd_canvas saved = *cv;
  double px = sd_cv_xpt(cv, wx);
  sd_cv_page(cv);
  sd_cv_color(DIVERGED, 1.0);
  sd_cv_width(cv, 0.8);
  sd_cv_dash(cv, SD_DASH_DASHED);
  sd_cv_line(px, saved.ay0, px, saved.ay1);
  sd_cv_dash(cv, SD_DASH_SOLID);
  sd_cv_font(cv, PHASE_FONT);
  sd_cv_text(cv, px - 2.0, saved.ay1 - 4.0, 90, 1.0, "diverged (NaN/Inf)");
  sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
}

/* Builds the curves of a loss, lines or family panel. missing: the first name that no run has. */
static sd_status build_curves(const sd_figure_ctx *f, const sd_panel_spec *s, curves *cs, char *missing, size_t mlen,
                              int *x_fallback) {
  missing[0] = '\0';
  *x_fallback = 0;
  size_t n_names = s->n_y;
  const char *loss_names[64];
  if (s->kind == SD_PANEL_LOSS && s->n_y == 0) {
    /* loss and every error column of the first run */
    const sd_rundir *rd = f->runs[0];
    n_names = 0;
    if (sd_rundir_col(rd, "loss") >= 0) loss_names[n_names++] = "loss";
    for (size_t c = 0; c < rd->n_cols && n_names < 64; c++)
      if (is_error_col(rd->cols[c])) loss_names[n_names++] = rd->cols[c];
    if (n_names == 0) {
      snprintf(missing, mlen, "loss");
      return SD_OK;
    }
  }
  int compare = f->n_runs > 1;
  size_t series = 0;
  for (size_t r = 0; r < f->n_runs; r++) {
    const sd_rundir *rd = f->runs[r];
    int fb = 0;
    long xcol = x_column(f, rd, s, &fb);
    *x_fallback |= fb;
    for (size_t j = 0; j < n_names; j++) {
      const char *name = s->n_y ? s->y[j] : loss_names[j];
      size_t members[1024];
      size_t nm = sd_rundir_family(rd, name, members, 1024);
      if (nm > 1024) nm = 1024;
      long single = sd_rundir_col(rd, name);
      int as_family = s->kind == SD_PANEL_FAMILY || (single < 0 && nm > 0);
      if (as_family && nm == 0) {
        if (!missing[0]) snprintf(missing, mlen, "%s", name);
        continue;
      }
      if (!as_family && single < 0) {
        if (!missing[0]) snprintf(missing, mlen, "%s", name);
        continue;
      }
      size_t count = as_family ? nm : 1;
      for (size_t k = 0; k < count; k++) {
        curve c;
        memset(&c, 0, sizeof c);
        c.run = r;
        c.name_idx = j;
        c.col = as_family ? (long)members[k] : single;
        c.xcol = xcol;
        c.width = LINE_W;
        c.sparse = is_sparse(rd, c.col);
        char lb[160];
        if (as_family) sd_cv_escape(rd->cols[c.col], lb, sizeof lb);
        else label_of(name, lb, sizeof lb);
        if (compare) {
          /* runs by colour; several names: names by dash (a family's members share its dash) */
          if (as_family && s->kind != SD_PANEL_FAMILY) label_of(name, lb, sizeof lb);
          snprintf(c.label, sizeof c.label, "%s", lb);
          c.color = sd_palette_series(r);
          c.dash = n_names > 1 && s->kind != SD_PANEL_FAMILY ? sd_palette_series_dash(j) : run_dash(r);
        } else if (s->kind == SD_PANEL_FAMILY || as_family) {
          snprintf(c.label, sizeof c.label, "%s", lb);
          double t = count > 1 ? 0.86 * (double)k / (double)(count - 1) : 0.0;
          c.color = sd_palette_seq(t);
          c.dash = SD_DASH_SOLID;
        } else {
          snprintf(c.label, sizeof c.label, "%s", lb);
          c.color = sd_palette_series(series);
          c.dash = sd_palette_series_dash(series);
        }
        series++;
        SD_TRY(add_curve(cs, &c));
      }
      /* the reference family, dashed black over the simulation */
      if (s->kind == SD_PANEL_FAMILY && s->reference && j == 0) {
        size_t refs[1024];
        size_t nr = sd_rundir_family(rd, s->reference, refs, 1024);
        if (nr == 0 && !missing[0]) snprintf(missing, mlen, "%s", s->reference);
        for (size_t k = 0; k < nr && k < 1024; k++) {
          curve c;
          memset(&c, 0, sizeof c);
          c.run = r;
          c.col = (long)refs[k];
          c.xcol = xcol;
          c.width = 0.8;
          c.reference = 1;
          c.color = compare ? sd_palette_series(r) : BLACK;
          c.dash = SD_DASH_DASHED;
          c.sparse = is_sparse(rd, c.col);
          label_of(s->reference, c.label, sizeof c.label);
          SD_TRY(add_curve(cs, &c));
        }
      }
    }
  }
  return SD_OK;
}

static const char *x_label(const sd_figure_ctx *f, const sd_panel_spec *s, long xcol, char *buf, size_t len) {
  if (s->xlabel) return user_text(s->xlabel, buf, len);
  if (xcol < 0) return "observation";
  return label_of(f->runs[0]->cols[xcol], buf, len);
}

static const char *y_label(const sd_panel_spec *s, const curves *cs, const sd_figure_ctx *f, char *buf, size_t len) {
  if (s->ylabel) return user_text(s->ylabel, buf, len);
  if (s->kind == SD_PANEL_FAMILY) {
    char fam[200];
    if (s->n_y == 1) return label_of(s->y[0], buf, len);
    snprintf(fam, sizeof fam, "%s", s->y[0]);
    return sd_cv_escape(fam, buf, len);
  }
  /* one name: its label; all loss/error: "loss, error"; else "value" */
  const char *first = NULL;
  int same = 1, lossy = 1;
  for (size_t i = 0; i < cs->n; i++) {
    if (cs->c[i].reference) continue;
    const char *n = f->runs[cs->c[i].run]->cols[cs->c[i].col];
    char fam[200];
    const char *key = sd_col_family(n, fam, sizeof fam) ? fam : n;
    if (!first) first = n;
    else {
      char ff[200];
      const char *k0 = sd_col_family(first, ff, sizeof ff) ? ff : first;
      if (strcmp(k0, key)) same = 0;
    }
    if (strcmp(n, "loss") && !is_error_col(n)) lossy = 0;
  }
  if (!first) return "";
  if (same) {
    char fam[200];
    return label_of(sd_col_family(first, fam, sizeof fam) ? fam : first, buf, len);
  }
  if (lossy) return "loss, error";
  int hess = 1;
  for (size_t i = 0; i < cs->n; i++) hess &= !strncmp(f->runs[cs->c[i].run]->cols[cs->c[i].col], "hess_", 5);
  if (hess) return "Hessian eigenvalues";
  return "value";
}

static sd_status series_panel(const sd_figure_ctx *f, const sd_panel_spec *s, const char *letter, double x0, double x1,
                              double y0, double y1) {
  sd_canvas *cv = f->cv;
  curves cs = {0};
  char missing[200], why[400], title[300] = "";
  int x_fb = 0;
  sd_status rc = build_curves(f, s, &cs, missing, sizeof missing, &x_fb);
  if (s->title) user_text(s->title, title, sizeof title);
  cell c;
  layout(&c, x0, x1, y0, y1, 40, MARGIN_RIGHT);
  if (rc != SD_OK) goto done;
  if (missing[0]) {
    const char *what = s->kind == SD_PANEL_FAMILY ? "family" : "column";
    snprintf(why, sizeof why, "no %s '%s' in metrics.csv", what, missing);
    if (cs.n == 0) {
      gap_panel(f, &c, letter, title, why);
      goto done;
    }
    sd_rundir_note(f->runs[0], "panel %s: %s (drawn without it)", letter, why);
  }
  if (x_fb) sd_rundir_note(f->runs[0], "panel %s: no column '%s'; drawn against %s", letter, s->x ? s->x : f->default_x,
                           cs.c[0].xcol >= 0 ? f->runs[0]->cols[cs.c[0].xcol] : "the row number");
  /* log axes: as asked, else from the data */
  int xlog = s->xlog, ylog = s->ylog;
  scan sx = {0}, sy = {0};
  for (size_t i = 0; i < cs.n; i++) {
    const sd_rundir *rd = f->runs[cs.c[i].run];
    for (size_t r = 0; r < rd->n_rows; r++) {
      double yv = sd_rundir_at(rd, r, (size_t)cs.c[i].col);
      if (!isfinite(yv)) continue;
      double xv = xval(rd, cs.c[i].xcol, r);
      scan_add(&sx, xv);
      if (xv < sx.max * 0.1 && xv > 0) sx.n_small++;
      scan_add(&sy, yv);
    }
  }
  if (sy.n_pos + sy.n_nonpos == 0) {
    snprintf(why, sizeof why, "no finite value of %s", missing[0] ? missing : cs.n ? f->runs[0]->cols[cs.c[0].col] : "?");
    gap_panel(f, &c, letter, title, why);
    goto done;
  }
  if (xlog < 0) {
    /* log-spaced observations over at least two decades */
    size_t small = 0, pos = 0;
    for (size_t i = 0; i < cs.n && i < 1; i++) {
      const sd_rundir *rd = f->runs[cs.c[i].run];
      for (size_t r = 0; r < rd->n_rows; r++) {
        double xv = xval(rd, cs.c[i].xcol, r);
        if (xv > 0) pos++, small += xv < 0.1 * sx.max;
      }
    }
    xlog = sx.n_pos >= 2 && sx.max >= 100 * sx.min_pos && small * 10 >= pos * 3;
  }
  if (ylog < 0) ylog = log_suits(&sy, 50);
  if (xlog && sx.n_pos == 0) xlog = 0;
  if (ylog && sy.n_pos == 0) {
    sd_rundir_note(f->runs[0], "panel %s: no positive value for a log y axis; drawn linear", letter);
    ylog = 0;
  }
  /* ranges in window coordinates */
  range rx = {0}, ry = {0};
  for (size_t i = 0; i < cs.n; i++) {
    const sd_rundir *rd = f->runs[cs.c[i].run];
    for (size_t r = 0; r < rd->n_rows; r++) {
      double xv = tx(xval(rd, cs.c[i].xcol, r), xlog), yv = tx(sd_rundir_at(rd, r, (size_t)cs.c[i].col), ylog);
      if (!isfinite(xv)) continue;
      range_add(&rx, xv);
      if (isfinite(s->xlim[0]) && (xv < tx(s->xlim[0], xlog) || xv > tx(s->xlim[1], xlog))) continue;
      range_add(&ry, yv);
    }
  }
  if (ry.n == 0) {
    snprintf(why, sizeof why, "nothing to draw on %s axes", ylog ? "log" : "these");
    gap_panel(f, &c, letter, title, why);
    goto done;
  }
  double wx0, wx1, wy0, wy1;
  if (isfinite(s->xlim[0]) && isfinite(tx(s->xlim[0], xlog))) wx0 = tx(s->xlim[0], xlog), wx1 = tx(s->xlim[1], xlog);
  else sd_axis_window(rx.lo, rx.hi, xlog, -1, &wx0, &wx1);
  if (isfinite(s->ylim[0]) && isfinite(tx(s->ylim[0], ylog))) wy0 = tx(s->ylim[0], ylog), wy1 = tx(s->ylim[1], ylog);
  else sd_axis_window(ry.lo, ry.hi, ylog, 0.05, &wy0, &wy1);
  if (!(wx1 > wx0)) sd_axis_window(wx0, wx1, xlog, 0.05, &wx0, &wx1);
  sd_ticks xt, yt;
  sd_ticks_make(wx0, wx1, xlog, &xt);
  sd_ticks_make(wy0, wy1, ylog, &yt);
  const sd_rundir *r0 = f->runs[0];
  long xcol0 = cs.c[0].xcol;
  size_t reached = 0;
  for (size_t i = 0; i < r0->n_phases; i++) reached += r0->phases[i].reached != 0;
  int phases = xcol0 >= 0 && (s->phases == 1 || (s->phases < 0 && f->n_runs == 1 && reached >= 2));
  char xl[300], yl[300];
  const char *ylab = y_label(s, &cs, f, yl, sizeof yl);
  layout(&c, x0, x1, y0, y1, left_margin(&yt, ylab), MARGIN_RIGHT);
  if (phases && title[0]) c.ay1 -= 9.0; /* the phase names get a line of their own under the title */
  sd_cv_data(cv, c.ax0, c.ax1, c.ay0, c.ay1, wx0, wx1, wy0, wy1);
  /* background marks: phases, plateaus */
  if (phases) shade_phases(cv, r0, xcol0, xlog);
  int shows_plateau_metric = 0;
  if (r0->plateau_metric)
    for (size_t i = 0; i < cs.n; i++)
      if (cs.c[i].run == 0 && !strcmp(r0->cols[cs.c[i].col], r0->plateau_metric)) shows_plateau_metric = 1;
  size_t n_plat = 0;
  if (f->n_runs == 1 && shows_plateau_metric && s->plateaus != 0 && xcol0 >= 0) n_plat = mark_plateaus(cv, r0, xcol0, xlog, ylog);
  /* curves: simulation first, references on top */
  size_t n_gaps = 0;
  double *lx = NULL, *ly = NULL;
  size_t nl = 0, capl = 40000;
  lx = sd_malloc(capl * sizeof *lx);
  ly = sd_malloc(capl * sizeof *ly);
  if (!lx || !ly) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done_l;
  }
  for (int pass = 0; pass < 2 && rc == SD_OK; pass++)
    for (size_t i = 0; i < cs.n && rc == SD_OK; i++) {
      const curve *cu = &cs.c[i];
      if (cu->reference != pass) continue;
      pts p;
      rc = curve_points(f->runs[cu->run], cu, xlog, ylog, &p);
      if (rc != SD_OK) break;
      sd_cv_color(cu->color, 1.0);
      sd_cv_width(cv, cu->width);
      sd_cv_dash(cv, cu->dash);
      rc = draw_polyline(cv, &p, cu->sparse, wx0, wx1);
      sd_cv_dash(cv, SD_DASH_SOLID);
      mark_gaps(cv, f, cu, &p, &n_gaps);
      /* where the curve runs on the page (points along it every ~3 pt), for placing the legend */
      size_t stride = p.n / 4000 + 1;
      double qx = NAN, qy = NAN;
      for (size_t r = 0; r < p.n && nl < capl; r += stride) {
        if (!isfinite(p.x[r]) || !isfinite(p.y[r])) {
          qx = NAN;
          continue;
        }
        double ux = sd_cv_xpt(cv, p.x[r]), uy = sd_cv_ypt(cv, p.y[r]);
        if (isfinite(qx)) {
          double len = hypot(ux - qx, uy - qy);
          for (double u = 3.0; u < len && nl < capl; u += 3.0) {
            lx[nl] = qx + (ux - qx) * u / len;
            ly[nl] = qy + (uy - qy) * u / len;
            nl++;
          }
        }
        if (nl < capl) lx[nl] = ux, ly[nl] = uy, nl++;
        qx = ux, qy = uy;
      }
      pts_free(&p);
    }
  if (rc != SD_OK) goto done_l;
  if (n_gaps) sd_rundir_note(f->runs[0], "panel %s: %zu stretch(es) of missing values (NaN) are hatched", letter, n_gaps);
  for (size_t r = 0; r < f->n_runs; r++)
    if (isfinite(f->runs[r]->diverged_t)) {
      long xc = x_column(f, f->runs[r], s, &x_fb);
      if (xc >= 0) mark_divergence(cv, f->runs[r], xc, xlog);
    }
  sd_cv_axes(cv, &xt, &yt, x_label(f, s, xcol0, xl, sizeof xl), ylab);
  /* legend */
  {
    sd_legend_entry e[24];
    sd_rgb ramp_c[8];
    char ramp_label[420];
    size_t ne = 0;
    int compare = f->n_runs > 1;
    if (compare) {
      /* the runs are named once for the figure (below the panels); here, when each run has several
       * curves of different metrics (told apart by dash), which dash is which */
      size_t names = 0;
      for (size_t i = 0; i < cs.n; i++)
        if (!cs.c[i].reference && cs.c[i].name_idx + 1 > names) names = cs.c[i].name_idx + 1;
      if (names > 1 && s->kind != SD_PANEL_FAMILY)
        for (size_t j = 0; j < names && ne < 24; j++)
          for (size_t i = 0; i < cs.n; i++)
            if (!cs.c[i].reference && cs.c[i].name_idx == j) {
              e[ne++] = le(cs.c[i].label, GREY, cs.c[i].dash, LINE_W, NULL, 1.0);
              break;
            }
    } else {
      size_t nsim = 0, nref = 0;
      for (size_t i = 0; i < cs.n; i++) nsim += !cs.c[i].reference, nref += cs.c[i].reference;
      /* one family, with a reference or of more than 4 members: one entry "name[0] … name[n−1]" whose sample
       * runs through the family's colours */
      int ramp = s->kind == SD_PANEL_FAMILY && s->n_y == 1 && nsim > 1 && (nref || nsim > 4);
      if (ramp) {
        size_t first = 0, last = 0, k = 0;
        for (size_t i = 0; i < cs.n; i++)
          if (!cs.c[i].reference) {
            if (k == 0) first = i;
            last = i;
            if (k < 8) ramp_c[k] = cs.c[i].color;
            k++;
          }
        if (nsim > 8) /* sample the colour order evenly */
          for (size_t q = 0; q < 8; q++) ramp_c[q] = sd_palette_seq(0.86 * (double)q / 7.0);
        snprintf(ramp_label, sizeof ramp_label, "%s … %s", cs.c[first].label, cs.c[last].label);
        e[ne++] = (sd_legend_entry){ramp_label, cs.c[first].color, SD_DASH_SOLID, LINE_W, NULL, 1.0, ramp_c, k < 8 ? k : 8};
      } else if (nsim > 1 && nsim <= 8) {
        for (size_t i = 0; i < cs.n && ne < 10; i++)
          if (!cs.c[i].reference) e[ne++] = (sd_legend_entry){cs.c[i].label, cs.c[i].color, cs.c[i].dash, LINE_W, NULL, 1.0, NULL, 0};
      } else if (nsim > 8) { /* first, middle, last of many curves */
        size_t idx[3] = {0, nsim / 2, nsim - 1}, k = 0;
        for (size_t i = 0; i < cs.n && k < 3; i++) {
          if (cs.c[i].reference) continue;
          size_t pos = 0;
          for (size_t j = 0; j < i; j++) pos += !cs.c[j].reference;
          if (pos == idx[k]) {
            e[ne++] = (sd_legend_entry){cs.c[i].label, cs.c[i].color, cs.c[i].dash, LINE_W, NULL, 1.0, NULL, 0};
            k++;
          }
        }
      }
      if (nref) {
        size_t i = 0;
        while (!cs.c[i].reference) i++;
        e[ne++] = le(cs.c[i].label, cs.c[i].color, cs.c[i].dash, cs.c[i].width, NULL, 1.0);
      }
      if (n_plat) e[ne++] = le("plateau; ▲ jump", PLATEAU, SD_DASH_SOLID, 4.4, NULL, 0.35);
    }
    sd_cv_legend(cv, e, ne, lx, ly, nl);
  }
  draw_title(cv, &c, letter, title);
done_l:
  sd_free(lx);
  sd_free(ly);
done:
  sd_free(cs.c);
  return rc;
}

/* ---------------------------------------------------------------- heatmap */

/* The last error (an array that could not be read) without the run directory in it, for a panel's text. */
static void array_problem(const sd_rundir *rd, char *why, size_t len) {
  const char *msg = sd_error_message();
  size_t dl = strlen(rd->dir), at = 0;
  for (const char *p = msg; *p && at + 1 < len;) {
    if (!strncmp(p, rd->dir, dl)) {
      p += dl;
      if (*p == '/') p++;
      else if (*p == ':') p += 1 + (p[1] == ' ');
      continue;
    }
    why[at++] = *p++;
  }
  why[at] = '\0';
  sd_error_clear();
}

static void array_shape(const sd_array *a, char *buf, size_t len) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < a->ndim && at + 24 < len; i++) at += (size_t)snprintf(buf + at, len - at, "%s%zu", i ? "×" : "", a->shape[i]);
  if (a->ndim == 0) snprintf(buf, len, "scalar");
}

static sd_status heatmap_panel(const sd_figure_ctx *f, const sd_panel_spec *s, size_t run, const char *letter, double x0,
                               double x1, double y0, double y1) {
  sd_canvas *cv = f->cv;
  const sd_rundir *rd = f->runs[run];
  char title[300], why[600], shape[64], nm[200];
  sd_cv_escape(s->array, nm, sizeof nm);
  cell c;
  layout(&c, x0, x1, y0, y1, 30, 52);
  sd_array a;
  if (sd_rundir_array(rd, s->array, &a) != SD_OK) {
    array_problem(rd, why, sizeof why);
    snprintf(title, sizeof title, "%s", s->title ? s->title : nm);
    gap_panel(f, &c, letter, title, why);
    return SD_OK;
  }
  array_shape(&a, shape, sizeof shape);
  if (s->title) user_text(s->title, title, sizeof title);
  else if (f->n_runs > 1) snprintf(title, sizeof title, "%s (%s), %s", nm, shape, f->run_labels[run]);
  else snprintf(title, sizeof title, "%s (%s)", nm, shape);
  size_t rows = a.ndim == 2 ? a.shape[0] : 1, cols = a.ndim == 2 ? a.shape[1] : a.ndim == 1 ? a.shape[0] : 0;
  if (a.ndim > 2 || a.ndim == 0 || rows == 0 || cols == 0) {
    snprintf(why, sizeof why, "array %s has shape (%s): a heatmap needs a matrix", s->array, shape);
    sd_array_free(&a);
    gap_panel(f, &c, letter, title, why);
    return SD_OK;
  }
  /* a very large matrix is drawn as the means of blocks of entries, at most 1000 x 1000 of them; the axes
   * keep the matrix's own indices */
  size_t br = (rows + 999) / 1000, bc = (cols + 999) / 1000, n_rows = rows, n_cols = cols;
  if (br > 1 || bc > 1) {
    size_t rr = (rows + br - 1) / br, rc2 = (cols + bc - 1) / bc;
    double *m = sd_malloc(rr * rc2 * sizeof *m);
    if (!m) {
      sd_array_free(&a);
      return sd_error(SD_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < rr; i++)
      for (size_t j = 0; j < rc2; j++) {
        double sum = 0;
        size_t k = 0;
        for (size_t p = i * br; p < (i + 1) * br && p < rows; p++)
          for (size_t q = j * bc; q < (j + 1) * bc && q < cols; q++)
            if (isfinite(a.data[p * cols + q])) sum += a.data[p * cols + q], k++;
        m[i * rc2 + j] = k ? sum / (double)k : NAN;
      }
    sd_free(a.data);
    a.data = m;
    rows = rr, cols = rc2;
    sd_rundir_note(f->runs[0], "panel %s: %s (%s) drawn as means of %zux%zu blocks", letter, s->array, shape, br, bc);
  }
  double zmin = INFINITY, zmax = -INFINITY;
  size_t n_bad = 0;
  for (size_t i = 0; i < rows * cols; i++) {
    double v = a.data[i];
    if (!isfinite(v)) {
      n_bad++;
      continue;
    }
    if (v < zmin) zmin = v;
    if (v > zmax) zmax = v;
  }
  if (n_bad == rows * cols) {
    snprintf(why, sizeof why, "array %s has no finite value", s->array);
    sd_array_free(&a);
    gap_panel(f, &c, letter, title, why);
    return SD_OK;
  }
  int div = s->diverging;
  if (div < 0) div = zmin < 0 && zmax > 0 && fmin(-zmin, zmax) >= 0.1 * fmax(-zmin, zmax);
  if (div) {
    double m = fmax(fabs(zmin), fabs(zmax));
    zmin = -m, zmax = m;
  }
  if (!(zmax > zmin)) zmin -= 0.5, zmax += 0.5;
  /* cells as square as the cell allows (aspect of the plot area clamped to 1:3 .. 3:1) */
  double aw = c.ax1 - c.ax0, ah = c.ay1 - c.ay0;
  double want = (double)n_cols / (double)n_rows;
  if (want > 3) want = 3;
  if (want < 1.0 / 3) want = 1.0 / 3;
  if (aw / ah > want) {
    double nw = ah * want;
    c.ax0 += 0.5 * (aw - nw), c.ax1 = c.ax0 + nw;
  } else {
    double nh = aw / want;
    c.ay1 = c.ay0 + nh + 0.5 * (ah - nh), c.ay0 += 0.5 * (ah - nh);
  }
  /* the image: PLplot indexes [x][y], y up; row 0 of the matrix at the top */
  double *buf = sd_malloc(rows * cols * sizeof *buf);
  const double **colp = sd_malloc(cols * sizeof *colp);
  if (!buf || !colp) {
    sd_free(buf);
    sd_free(colp);
    sd_array_free(&a);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  double below = zmin - (zmax - zmin); /* outside [zmin, zmax]: not painted (the hatching shows) */
  for (size_t j = 0; j < cols; j++) {
    for (size_t i = 0; i < rows; i++) {
      double v = a.data[i * cols + j];
      buf[j * rows + (rows - 1 - i)] = isfinite(v) ? v : below;
    }
    colp[j] = buf + j * rows;
  }
  double wc = (double)n_cols, wr = (double)n_rows; /* the window: the matrix's own indices */
  sd_cv_data(cv, c.ax0, c.ax1, c.ay0, c.ay1, 0, wc, 0, wr);
  if (n_bad) {
    sd_cv_page(cv);
    hatch(cv, c.ax0, c.ax1, c.ay0, c.ay1);
    sd_cv_data(cv, c.ax0, c.ax1, c.ay0, c.ay1, 0, wc, 0, wr);
    sd_rundir_note(f->runs[0], "panel %s: %zu entries of %s are not finite; hatched", letter, n_bad, s->array);
  }
  sd_cv_cmap(div);
  sd_cv_width(cv, 1e-3); /* no outline stroke around the cells */
  plimagefr(colp, (PLINT)cols, (PLINT)rows, 0, wc, 0, wr, zmin, zmax, zmin, zmax, NULL, NULL);
  sd_free(buf);
  sd_free(colp);
  sd_array_free(&a);
  sd_ticks xt, yt;
  sd_ticks_index(n_cols, 0, &xt);
  sd_ticks_index(n_rows, 1, &yt);
  char xl[200], yl[200];
  sd_cv_axes(cv, &xt, &yt, s->xlabel ? user_text(s->xlabel, xl, sizeof xl) : "column #fij#fn",
             s->ylabel ? user_text(s->ylabel, yl, sizeof yl) : "row #fii#fn");
  double bx0 = c.ax1 + 7, bx1 = bx0 + 7;
  if (bx1 > x1 - 30) bx0 = x1 - 37, bx1 = x1 - 30;
  sd_cv_colorbar(cv, bx0, bx1, c.ay0, c.ay1, zmin, zmax, div, "");
  draw_title(cv, &c, letter, title);
  return SD_OK;
}

/* ---------------------------------------------------------------- orientations */

/* The vector of per-neuron output weights from an array of m values (m, m×1 or 1×m); NULL if not that. */
static const double *as_vector(const sd_array *a, size_t m) {
  size_t n = sd_array_size(a);
  if (n != m) return NULL;
  if (a->ndim == 1 || (a->ndim == 2 && (a->shape[0] == 1 || a->shape[1] == 1))) return a->data;
  return NULL;
}

static sd_status orient_panel(const sd_figure_ctx *f, const sd_panel_spec *s, size_t run, const char *letter, double x0,
                              double x1, double y0, double y1) {
  sd_canvas *cv = f->cv;
  const sd_rundir *rd = f->runs[run];
  char title[300], why[600], nm[200], shape[64];
  sd_cv_escape(s->array, nm, sizeof nm);
  cell c;
  layout(&c, x0, x1, y0, y1, 40, MARGIN_RIGHT);
  sd_array w = {0}, w0 = {0}, ref = {0}, out = {0};
  sd_status rc = SD_OK;
  double *ang = NULL, *nrm = NULL, *plane = NULL;
  if (s->title) user_text(s->title, title, sizeof title);
  else if (f->n_runs > 1) snprintf(title, sizeof title, "%s, %s", nm, f->run_labels[run]);
  else snprintf(title, sizeof title, "neurons of %s", nm);
  if (sd_rundir_array(rd, s->array, &w) != SD_OK) {
    array_problem(rd, why, sizeof why);
    gap_panel(f, &c, letter, title, why);
    return SD_OK;
  }
  array_shape(&w, shape, sizeof shape);
  if (w.ndim != 2 || w.shape[0] == 0 || w.shape[1] == 0) {
    snprintf(why, sizeof why, "array %s has shape (%s): orientations need a weight matrix, one row per neuron", s->array, shape);
    gap_panel(f, &c, letter, title, why);
    goto done;
  }
  size_t m = w.shape[0], d = w.shape[1];
  const char *problem = NULL;
  if (s->initial && (sd_rundir_array(rd, s->initial, &w0) != SD_OK || w0.ndim != 2 || w0.shape[0] != m || w0.shape[1] != d)) {
    sd_error_clear();
    problem = "initial";
    sd_array_free(&w0);
  }
  if (s->reference && (sd_rundir_array(rd, s->reference, &ref) != SD_OK || sd_array_size(&ref) % d != 0 || sd_array_size(&ref) == 0)) {
    sd_error_clear();
    problem = "reference";
    sd_array_free(&ref);
  }
  if (s->output && (sd_rundir_array(rd, s->output, &out) != SD_OK || !as_vector(&out, m))) {
    sd_error_clear();
    problem = "output";
    sd_array_free(&out);
  }
  if (problem)
    sd_rundir_note(f->runs[0], "panel %s: the %s array (%s) is missing or does not match %s (%s); not shown", letter, problem,
                   !strcmp(problem, "initial") ? s->initial : !strcmp(problem, "reference") ? s->reference : s->output, s->array, shape);
  /* angles: to the nearest reference direction; in the plane for d = 2; else in the plane of the top two
   * principal directions of W */
  size_t n_ref = ref.data ? sd_array_size(&ref) / d : 0;
  int mode = n_ref ? 2 : d == 2 ? 0 : 1;
  ang = sd_malloc(2 * m * sizeof *ang);
  nrm = sd_malloc(2 * m * sizeof *nrm);
  if (!ang || !nrm) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done;
  }
  const double *p1 = NULL, *p2 = NULL;
  if (mode == 1) {
    if (d == 1) {
      mode = 3;
    } else {
      plane = sd_malloc(2 * d * d * sizeof *plane + d * sizeof *plane);
      if (!plane) {
        rc = sd_error(SD_ERR_NOMEM, "out of memory");
        goto done;
      }
      double *g = plane, *ev = plane + d * d + d, *wv = plane + d * d;
      memset(g, 0, d * d * sizeof *g);
      for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < d; p++)
          for (size_t q = 0; q < d; q++) {
            double a = w.data[i * d + p], b = w.data[i * d + q];
            g[p * d + q] += isfinite(a) && isfinite(b) ? a * b : 0;
          }
      if (sd_sym_eig((int)d, g, wv, ev) != SD_OK) {
        snprintf(why, sizeof why, "%s", sd_error_message());
        sd_error_clear();
        gap_panel(f, &c, letter, title, why);
        goto done;
      }
      p1 = ev + (d - 1) * d;
      p2 = ev + (d - 2) * d;
    }
  }
  size_t n_bad = 0;
  for (int set = 0; set < 2; set++) {
    const sd_array *src = set ? &w0 : &w;
    if (!src->data) continue;
    for (size_t i = 0; i < m; i++) {
      const double *row = src->data + i * d;
      double nn = 0;
      for (size_t k = 0; k < d; k++) nn += row[k] * row[k];
      nn = sqrt(nn);
      double a = NAN;
      if (isfinite(nn) && nn > 0) {
        if (mode == 0) {
          a = atan2(row[1], row[0]) * 180 / M_PI;
        } else if (mode == 3) {
          a = row[0] > 0 ? 0 : 180;
        } else if (mode == 1) {
          double c1 = 0, c2 = 0;
          for (size_t k = 0; k < d; k++) c1 += row[k] * p1[k], c2 += row[k] * p2[k];
          a = atan2(c2, c1) * 180 / M_PI;
        } else {
          double best = INFINITY;
          for (size_t r = 0; r < n_ref; r++) {
            const double *rv = ref.data + r * d;
            double dot = 0, rn = 0;
            for (size_t k = 0; k < d; k++) dot += row[k] * rv[k], rn += rv[k] * rv[k];
            if (rn <= 0) continue;
            double cs = dot / (nn * sqrt(rn));
            if (cs > 1) cs = 1;
            if (cs < -1) cs = -1;
            double th = acos(cs) * 180 / M_PI;
            if (th < best) best = th;
          }
          a = isfinite(best) ? best : NAN;
        }
      }
      if (!isfinite(a) && !set) n_bad++;
      ang[set * m + i] = a;
      nrm[set * m + i] = isfinite(a) ? nn : NAN;
    }
  }
  if (n_bad == m) {
    snprintf(why, sizeof why, "every row of %s is zero or not finite: no orientation to show", s->array);
    gap_panel(f, &c, letter, title, why);
    goto done;
  }
  if (n_bad) sd_rundir_note(f->runs[0], "panel %s: %zu neuron(s) of %s are zero or not finite; not shown", letter, n_bad, s->array);
  scan sn = {0};
  for (size_t i = 0; i < 2 * m; i++)
    if (i < m || w0.data) scan_add(&sn, nrm[i]);
  int ylog = s->ylog;
  if (ylog < 0) ylog = log_suits(&sn, 30);
  range ry = {0};
  for (size_t i = 0; i < 2 * m; i++)
    if ((i < m || w0.data) && isfinite(ang[i])) range_add(&ry, tx(nrm[i], ylog));
  double wx0 = mode == 2 ? 0 : mode == 3 ? -10 : -180, wx1 = 180;
  if (mode == 3) wx1 = 190;
  double wy0, wy1;
  if (isfinite(s->ylim[0]) && isfinite(tx(s->ylim[0], ylog))) wy0 = tx(s->ylim[0], ylog), wy1 = tx(s->ylim[1], ylog);
  else sd_axis_window(ry.lo - 0.07 * (ry.hi - ry.lo), ry.hi + 0.07 * (ry.hi - ry.lo), ylog, -1, &wy0, &wy1);
  if (!ylog && ry.lo >= 0 && wy0 < 0) wy0 = 0;
  if (isfinite(s->xlim[0])) wx0 = s->xlim[0], wx1 = s->xlim[1];
  sd_ticks xt, yt;
  memset(&xt, 0, sizeof xt);
  double step = mode == 2 ? 45 : 90;
  for (double v = ceil(wx0 / step) * step; v <= wx1 + 1e-9 && xt.n < SD_TICKS_MAX; v += step) {
    xt.pos[xt.n] = v;
    char num[32];
    snprintf(num, sizeof num, "%g°", v);
    if (v < 0) snprintf(xt.label[xt.n], sizeof xt.label[xt.n], "\xe2\x88\x92%g°", -v);
    else snprintf(xt.label[xt.n], sizeof xt.label[xt.n], "%s", num);
    xt.n++;
  }
  for (double v = ceil(wx0 / (step / 3)) * (step / 3); v <= wx1 + 1e-9 && xt.n_minor < 4 * SD_TICKS_MAX; v += step / 3)
    if (fabs(fmod(v, step)) > 1e-9) xt.minor[xt.n_minor++] = v;
  sd_ticks_make(wy0, wy1, ylog, &yt);
  char xl[200], yl[200];
  const char *ylab = s->ylabel ? user_text(s->ylabel, yl, sizeof yl) : "norm ‖#fiw#fn#d#fij#fn#u‖";
  layout(&c, x0, x1, y0, y1, left_margin(&yt, ylab), MARGIN_RIGHT);
  sd_cv_data(cv, c.ax0, c.ax1, c.ay0, c.ay1, wx0, wx1, wy0, wy1);
  /* reference: the aligned direction; d = 2: the axes */
  sd_cv_color((sd_rgb){0xc8, 0xc8, 0xc8}, 1.0);
  sd_cv_width(cv, 0.5);
  sd_cv_dash(cv, SD_DASH_DOTTED);
  for (double v = ceil(wx0 / step) * step; v <= wx1; v += step) sd_cv_line(v, wy0, v, wy1);
  sd_cv_dash(cv, SD_DASH_SOLID);
  double *px = sd_malloc((m + 1) * sizeof *px), *py = sd_malloc((m + 1) * sizeof *py);
  double *lx = sd_malloc((2 * m + 1) * sizeof *lx), *ly = sd_malloc((2 * m + 1) * sizeof *ly);
  if (!px || !py || !lx || !ly) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
  } else {
    size_t nl = 0;
    const double *sign = out.data ? as_vector(&out, m) : NULL;
    /* initial: open grey circles, with a faint line to where each neuron went */
    if (w0.data) {
      sd_cv_color((sd_rgb){0xbb, 0xbb, 0xbb}, 1.0);
      sd_cv_width(cv, 0.35);
      for (size_t i = 0; i < m; i++) {
        double ya = tx(nrm[m + i], ylog), yb = tx(nrm[i], ylog);
        if (isfinite(ang[m + i]) && isfinite(ang[i]) && isfinite(ya) && isfinite(yb) && fabs(ang[i] - ang[m + i]) < 180)
          sd_cv_line(ang[m + i], ya, ang[i], yb);
      }
      size_t k = 0;
      for (size_t i = 0; i < m; i++)
        if (isfinite(ang[m + i]) && isfinite(tx(nrm[m + i], ylog))) px[k] = ang[m + i], py[k] = tx(nrm[m + i], ylog), k++;
      sd_cv_color((sd_rgb){0x90, 0x90, 0x90}, 1.0);
      sd_cv_marks(cv, k, px, py, "○", 5.0);
      for (size_t i = 0; i < k; i++) lx[nl] = sd_cv_xpt(cv, px[i]), ly[nl] = sd_cv_ypt(cv, py[i]), nl++;
    }
    for (int sg = 0; sg < 2; sg++) {
      size_t k = 0;
      for (size_t i = 0; i < m; i++) {
        if (!isfinite(ang[i]) || !isfinite(tx(nrm[i], ylog))) continue;
        int neg = sign && sign[i] < 0;
        if (neg != sg) continue;
        px[k] = ang[i], py[k] = tx(nrm[i], ylog), k++;
      }
      sd_cv_color(sg ? sd_palette_series(1) : sd_palette_series(2), 1.0);
      sd_cv_marks(cv, k, px, py, sg ? "▲" : "●", 5.0);
      for (size_t i = 0; i < k; i++) lx[nl] = sd_cv_xpt(cv, px[i]), ly[nl] = sd_cv_ypt(cv, py[i]), nl++;
    }
    const char *xdef = mode == 2 ? "angle to the nearest reference direction" : mode == 0 ? "angle #fiθ#fn of the neuron"
                       : mode == 3 ? "direction (sign)" : "angle in the top principal plane";
    sd_cv_axes(cv, &xt, &yt, s->xlabel ? user_text(s->xlabel, xl, sizeof xl) : xdef, ylab);
    sd_legend_entry e[4];
    size_t ne = 0;
    char l0[420], l1[420], l2[200];
    if (sign) {
      snprintf(l0, sizeof l0, "%s, %s > 0", nm, s->output);
      snprintf(l1, sizeof l1, "%s, %s < 0", nm, s->output);
      e[ne++] = le(l0, sd_palette_series(2), SD_DASH_SOLID, 0, "●", 1);
      e[ne++] = le(l1, sd_palette_series(1), SD_DASH_SOLID, 0, "▲", 1);
    } else if (w0.data) {
      e[ne++] = le(nm, sd_palette_series(2), SD_DASH_SOLID, 0, "●", 1);
    }
    if (w0.data) {
      sd_cv_escape(s->initial, l2, sizeof l2);
      e[ne++] = le(l2, (sd_rgb){0x90, 0x90, 0x90}, SD_DASH_SOLID, 0, "○", 1);
    }
    sd_cv_legend(cv, e, ne, lx, ly, nl);
    draw_title(cv, &c, letter, title);
  }
  sd_free(px);
  sd_free(py);
  sd_free(lx);
  sd_free(ly);
done:
  sd_free(ang);
  sd_free(nrm);
  sd_free(plane);
  sd_array_free(&w);
  sd_array_free(&w0);
  sd_array_free(&ref);
  sd_array_free(&out);
  return rc;
}

sd_status sd_panel_draw(const sd_figure_ctx *f, const sd_panel_spec *s, size_t run, const char *letter, double x0,
                        double x1, double y0, double y1) {
  switch (s->kind) {
    case SD_PANEL_HEATMAP: return heatmap_panel(f, s, run, letter, x0, x1, y0, y1);
    case SD_PANEL_ORIENT: return orient_panel(f, s, run, letter, x0, x1, y0, y1);
    default: return series_panel(f, s, letter, x0, x1, y0, y1);
  }
}
