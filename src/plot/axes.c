/* axes.c: ticks, axes, legends and colour bars (see axes.h). */
#include "plot/axes.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>

#define TICK_FONT 7.5
#define LABEL_FONT 8.5
#define LEGEND_FONT 7.0
#define MAJOR_LEN 3.5
#define MINOR_LEN 2.0
#define FRAME_W 0.6

static const sd_rgb BLACK = {0, 0, 0};

/* Number text with a typographic minus. */
static void put_num(char *buf, size_t len, const char *num) {
  if (num[0] == '-') {
    int zero = 1;
    for (const char *p = num + 1; *p; p++)
      if (*p >= '1' && *p <= '9') zero = 0;
    if (zero) snprintf(buf, len, "%s", num + 1);
    else snprintf(buf, len, "\xe2\x88\x92%s", num + 1);
  } else {
    snprintf(buf, len, "%s", num);
  }
}

static void decade_label(char *buf, size_t len, long k) {
  char e[24], es[32];
  snprintf(e, sizeof e, "%ld", k);
  put_num(es, sizeof es, e);
  snprintf(buf, len, "10#u%s#d", es);
}

void sd_axis_window(double lo, double hi, int log, double pad, double *w0, double *w1) {
  if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) {
    double t = lo;
    lo = hi, hi = t;
  }
  if (log) {
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    double span = hi - lo;
    if (pad < 0) {
      *w0 = lo, *w1 = hi;
      return;
    }
    double flo = floor(lo + 1e-9), chi = ceil(hi - 1e-9);
    *w0 = lo - flo <= 0.3 * span + 1e-9 ? flo : lo - pad * span;
    *w1 = chi - hi <= 0.3 * span + 1e-9 ? chi : hi + pad * span;
    return;
  }
  if (hi - lo <= 1e-12 * fmax(fabs(lo), fabs(hi))) {
    double d = fabs(lo) > 0 ? 0.1 * fabs(lo) : 1.0;
    lo -= d, hi += d;
  }
  double span = hi - lo;
  if (pad < 0) pad = 0;
  *w0 = lo - pad * span;
  *w1 = hi + pad * span;
  /* snap to zero when the data starts at it */
  if (lo >= 0 && *w0 < 0 && lo <= 0.02 * span) *w0 = 0;
  if (hi <= 0 && *w1 > 0 && -hi <= 0.02 * span) *w1 = 0;
}

static void ticks_linear(double w0, double w1, sd_ticks *t) {
  double range = w1 - w0, raw = range / 5.0;
  double mag = pow(10.0, floor(log10(raw)));
  double m = raw / mag, nice = m < 1.5 ? 1 : m < 2.25 ? 2 : m < 3.5 ? 2.5 : m < 7.5 ? 5 : 10;
  double step = nice * mag;
  double amax = fmax(fabs(w0), fabs(w1));
  int E = 0;
  if (amax >= 1e4 || amax < 1e-2) E = (int)floor(log10(amax));
  double scale = pow(10.0, -E);
  double sstep = step * scale;
  int dec = (int)fmax(0, -floor(log10(sstep) + 1e-9));
  if (fabs(nice - 2.5) < 1e-9 && dec >= 0 && sstep < 1) dec++;
  if (fabs(nice - 2.5) < 1e-9 && sstep >= 1 && sstep < 10) dec = 1;
  for (double k = ceil(w0 / step - 1e-9); k * step <= w1 + 1e-9 * step && t->n < SD_TICKS_MAX; k++) {
    double v = k * step;
    if (fabs(v) < 1e-12 * step) v = 0;
    char num[40];
    snprintf(num, sizeof num, "%.*f", dec, v * scale);
    t->pos[t->n] = v;
    put_num(t->label[t->n], sizeof t->label[t->n], num);
    t->n++;
  }
  int sub = fabs(nice - 2) < 1e-9 ? 4 : 5;
  double ms = step / sub;
  for (double k = ceil(w0 / ms - 1e-9); k * ms <= w1 + 1e-9 * ms && t->n_minor < 4 * SD_TICKS_MAX; k++) {
    if (fmod(fabs(k), sub) < 0.5) continue;
    t->minor[t->n_minor++] = k * ms;
  }
  if (E) {
    char e[24], es[32];
    snprintf(e, sizeof e, "%d", E);
    put_num(es, sizeof es, e);
    snprintf(t->factor, sizeof t->factor, "\xc3\x97" "10#u%s#d", es);
  }
}

static void ticks_log(double w0, double w1, sd_ticks *t) {
  long kmin = (long)ceil(w0 - 1e-9), kmax = (long)floor(w1 + 1e-9);
  long ndec = kmax - kmin + 1;
  double span = w1 - w0;
  if (ndec >= 2) {
    /* labelled decades every `step`, at most about 7 of them; minor ticks at every decade (or every
     * step/5 decades when the steps are long) */
    static const long STEPS[] = {1, 2, 3, 5, 10, 20, 25, 50, 100, 200, 500, 1000};
    long step = 1000;
    for (size_t i = 0; i < sizeof STEPS / sizeof *STEPS; i++)
      if (span / (double)STEPS[i] <= (STEPS[i] == 1 ? 6.5 : 6.99)) {
        step = STEPS[i];
        break;
      }
    long mstep = step <= 5 ? 1 : step / 5;
    for (long k = kmin; k <= kmax; k++) {
      long r = ((k % step) + step) % step;
      if (r == 0 && t->n < SD_TICKS_MAX) {
        t->pos[t->n] = (double)k;
        decade_label(t->label[t->n], sizeof t->label[t->n], k);
        t->n++;
      } else if (((k % mstep) + mstep) % mstep == 0 && t->n_minor < 4 * SD_TICKS_MAX) {
        t->minor[t->n_minor++] = (double)k;
      }
      if (step == 1)
        for (int m = 2; m <= 9; m++) {
          double p = (double)k + log10((double)m);
          if (p <= w1 + 1e-9 && t->n_minor < 4 * SD_TICKS_MAX) t->minor[t->n_minor++] = p;
        }
    }
    if (step == 1) /* the partial decade below the first labelled one */
      for (int m = 2; m <= 9; m++) {
        double p = (double)(kmin - 1) + log10((double)m);
        if (p >= w0 - 1e-9 && t->n_minor < 4 * SD_TICKS_MAX) t->minor[t->n_minor++] = p;
      }
    return;
  }
  /* less than two decades shown: label 1, 2, 5 (or every) multiple */
  static const int SETS[2][9] = {{1, 2, 5, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (int s = 0; s < 2 && t->n < 2; s++) {
    t->n = 0;
    for (long k = (long)floor(w0) - 1; k <= (long)ceil(w1); k++)
      for (int j = 0; j < 9 && SETS[s][j]; j++) {
        double p = (double)k + log10((double)SETS[s][j]);
        if (p < w0 - 1e-9 || p > w1 + 1e-9 || t->n >= SD_TICKS_MAX) continue;
        char num[40];
        snprintf(num, sizeof num, "%g", SETS[s][j] * pow(10.0, (double)k));
        t->pos[t->n] = p;
        put_num(t->label[t->n], sizeof t->label[t->n], num);
        t->n++;
      }
  }
  for (long k = (long)floor(w0) - 1; k <= (long)ceil(w1); k++)
    for (int m = 1; m <= 9; m++) {
      double p = (double)k + log10((double)m);
      if (p >= w0 - 1e-9 && p <= w1 + 1e-9 && t->n_minor < 4 * SD_TICKS_MAX) t->minor[t->n_minor++] = p;
    }
  if (t->n < 2) { /* a sliver of a decade: fall back to linear labels of the values */
    sd_ticks lin;
    memset(&lin, 0, sizeof lin);
    ticks_linear(pow(10.0, w0), pow(10.0, w1), &lin);
    t->n = 0;
    for (size_t i = 0; i < lin.n; i++)
      if (lin.pos[i] > 0) {
        t->pos[t->n] = log10(lin.pos[i]);
        memcpy(t->label[t->n], lin.label[i], sizeof t->label[t->n]);
        t->n++;
      }
    memcpy(t->factor, lin.factor, sizeof t->factor);
  }
}

void sd_ticks_make(double w0, double w1, int log, sd_ticks *t) {
  memset(t, 0, sizeof *t);
  if (!(w1 > w0) || !isfinite(w0) || !isfinite(w1)) return;
  if (log) ticks_log(w0, w1, t);
  else ticks_linear(w0, w1, t);
}

void sd_ticks_index(size_t n, int flip, sd_ticks *t) {
  memset(t, 0, sizeof *t);
  if (n == 0) return;
  size_t step = 1;
  static const size_t STEPS[] = {1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000};
  for (size_t i = 0; i < sizeof STEPS / sizeof *STEPS; i++) {
    step = STEPS[i];
    if (n / step <= 6) break;
  }
  for (size_t i = 0; i < n && t->n < SD_TICKS_MAX; i += step) {
    t->pos[t->n] = flip ? (double)(n - i) - 0.5 : (double)i + 0.5;
    snprintf(t->label[t->n], sizeof t->label[t->n], "%zu", i);
    t->n++;
  }
}

double sd_axis_label_gap(const char *ylabel) { return ylabel && strstr(ylabel, "#d") ? 7.5 : 5.0; }

void sd_cv_axes(sd_canvas *cv, const sd_ticks *xt, const sd_ticks *yt, const char *xlabel, const char *ylabel) {
  sd_canvas saved = *cv;
  double ax0 = cv->ax0, ax1 = cv->ax1, ay0 = cv->ay0, ay1 = cv->ay1;
  double xp[SD_TICKS_MAX], yp[SD_TICKS_MAX], xm[4 * SD_TICKS_MAX], ym[4 * SD_TICKS_MAX];
  for (size_t i = 0; i < xt->n; i++) xp[i] = sd_cv_xpt(cv, xt->pos[i]);
  for (size_t i = 0; i < yt->n; i++) yp[i] = sd_cv_ypt(cv, yt->pos[i]);
  for (size_t i = 0; i < xt->n_minor; i++) xm[i] = sd_cv_xpt(cv, xt->minor[i]);
  for (size_t i = 0; i < yt->n_minor; i++) ym[i] = sd_cv_ypt(cv, yt->minor[i]);
  sd_cv_page(cv);
  sd_cv_color(BLACK, 1.0);
  sd_cv_dash(cv, SD_DASH_SOLID);
  sd_cv_width(cv, FRAME_W);
  double fx[5] = {ax0, ax1, ax1, ax0, ax0}, fy[5] = {ay0, ay0, ay1, ay1, ay0};
  sd_cv_polyline(5, fx, fy);
  const double eps = 0.01;
  for (size_t i = 0; i < xt->n; i++) {
    if (xp[i] < ax0 - eps || xp[i] > ax1 + eps) continue;
    sd_cv_line(xp[i], ay0, xp[i], ay0 + MAJOR_LEN);
    sd_cv_line(xp[i], ay1, xp[i], ay1 - MAJOR_LEN);
  }
  for (size_t i = 0; i < xt->n_minor; i++) {
    if (xm[i] < ax0 - eps || xm[i] > ax1 + eps) continue;
    sd_cv_line(xm[i], ay0, xm[i], ay0 + MINOR_LEN);
    sd_cv_line(xm[i], ay1, xm[i], ay1 - MINOR_LEN);
  }
  for (size_t i = 0; i < yt->n; i++) {
    if (yp[i] < ay0 - eps || yp[i] > ay1 + eps) continue;
    sd_cv_line(ax0, yp[i], ax0 + MAJOR_LEN, yp[i]);
    sd_cv_line(ax1, yp[i], ax1 - MAJOR_LEN, yp[i]);
  }
  for (size_t i = 0; i < yt->n_minor; i++) {
    if (ym[i] < ay0 - eps || ym[i] > ay1 + eps) continue;
    sd_cv_line(ax0, ym[i], ax0 + MINOR_LEN, ym[i]);
    sd_cv_line(ax1, ym[i], ax1 - MINOR_LEN, ym[i]);
  }
  sd_cv_font(cv, TICK_FONT);
  for (size_t i = 0; i < xt->n; i++) {
    if (xp[i] < ax0 - eps || xp[i] > ax1 + eps) continue;
    /* a label at the right end may not reach far past the frame (the next panel, or the page edge) */
    double w = sd_cv_text_width(xt->label[i], TICK_FONT);
    if (xp[i] + 0.5 * w > ax1 + 7.0) sd_cv_text(cv, ax1 + 7.0, ay0 - 3.0 - 0.5 * TICK_FONT, 0, 1.0, xt->label[i]);
    else sd_cv_text(cv, xp[i], ay0 - 3.0 - 0.5 * TICK_FONT, 0, 0.5, xt->label[i]);
  }
  double wmax = 0;
  for (size_t i = 0; i < yt->n; i++)
    if (yp[i] >= ay0 - eps && yp[i] <= ay1 + eps) {
      sd_cv_text(cv, ax0 - 3.0, yp[i], 0, 1.0, yt->label[i]);
      double w = sd_cv_text_width(yt->label[i], TICK_FONT);
      if (w > wmax) wmax = w;
    }
  sd_cv_font(cv, LABEL_FONT);
  char buf[400];
  if (xlabel && *xlabel) {
    if (xt->factor[0]) snprintf(buf, sizeof buf, "%s (%s)", xlabel, xt->factor);
    else snprintf(buf, sizeof buf, "%s", xlabel);
    sd_cv_text(cv, 0.5 * (ax0 + ax1), ay0 - 6.0 - TICK_FONT - 0.5 * LABEL_FONT, 0, 0.5, buf);
  }
  if (ylabel && *ylabel) {
    if (yt->factor[0]) snprintf(buf, sizeof buf, "%s (%s)", ylabel, yt->factor);
    else snprintf(buf, sizeof buf, "%s", ylabel);
    sd_cv_text(cv, ax0 - 3.0 - wmax - sd_axis_label_gap(buf) - 0.5 * LABEL_FONT, 0.5 * (ay0 + ay1), 90, 0.5, buf);
  }
  sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
}

void sd_cv_legend(sd_canvas *cv, const sd_legend_entry *e, size_t n, const double *px, const double *py, size_t np) {
  if (n == 0) return;
  sd_canvas saved = *cv;
  const double row = LEGEND_FONT * 1.35, pad = 3.0, sample = 14.0;
  double tw = 0;
  int any_line = 0;
  for (size_t i = 0; i < n; i++) {
    double w = sd_cv_text_width(e[i].label, LEGEND_FONT);
    if (w > tw) tw = w;
    any_line |= e[i].width > 0;
  }
  double sw = any_line ? sample : 7.0;
  double w = pad + sw + 3.0 + tw + pad, h = 2 * pad + (double)n * row;
  double m = 4.0;
  /* the four corners first, then a 5×5 grid of positions: the first with the fewest points under it */
  double xr = cv->ax1 - m - w, xl = cv->ax0 + m;
  double yt = cv->ay1 - m - h, yb = cv->ay0 + m;
  double cx[29] = {xr, xl, xr, xl}, cy[29] = {yt, yt, yb, yb};
  size_t nc = 4;
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 5; b++) {
      cx[nc] = xl + (xr - xl) * b / 4.0;
      cy[nc] = yt + (yb - yt) * a / 4.0;
      nc++;
    }
  size_t best = 0, best_count = (size_t)-1;
  for (size_t c = 0; c < nc; c++) {
    if (cx[c] < xl - 0.01 || cy[c] < yb - 0.01) continue; /* larger than the plot: the first corner */
    size_t count = 0;
    for (size_t i = 0; i < np; i++)
      count += px[i] >= cx[c] - 2 && px[i] <= cx[c] + w + 2 && py[i] >= cy[c] - 2 && py[i] <= cy[c] + h + 2;
    if (count < best_count) best_count = count, best = c;
  }
  double x0 = cx[best], y0 = cy[best];
  sd_cv_page(cv);
  sd_cv_dash(cv, SD_DASH_SOLID);
  sd_cv_color((sd_rgb){255, 255, 255}, 0.85);
  sd_cv_rect(x0, y0, x0 + w, y0 + h);
  sd_cv_color((sd_rgb){0xb0, 0xb0, 0xb0}, 1.0);
  sd_cv_width(cv, 0.4);
  double bx[5] = {x0, x0 + w, x0 + w, x0, x0}, by[5] = {y0, y0, y0 + h, y0 + h, y0};
  sd_cv_polyline(5, bx, by);
  sd_cv_font(cv, LEGEND_FONT);
  for (size_t i = 0; i < n; i++) {
    double yy = y0 + h - pad - (i + 0.5) * row;
    double xs = x0 + pad;
    if (e[i].width > 0) {
      sd_cv_color(e[i].color, e[i].alpha > 0 ? e[i].alpha : 1.0);
      sd_cv_width(cv, e[i].width);
      sd_cv_dash(cv, e[i].dash);
      if (e[i].ramp && e[i].n_ramp > 1) {
        double seg = sw / (double)e[i].n_ramp;
        for (size_t k = 0; k < e[i].n_ramp; k++) {
          sd_cv_color(e[i].ramp[k], 1.0);
          sd_cv_line(xs + seg * (double)k, yy, xs + seg * (double)(k + 1), yy);
        }
      } else {
        sd_cv_line(xs, yy, xs + sw, yy);
      }
      sd_cv_dash(cv, SD_DASH_SOLID);
    }
    if (e[i].glyph) {
      sd_cv_color(e[i].color, 1.0);
      double gx = xs + 0.5 * sw, gy = yy;
      sd_cv_marks(cv, 1, &gx, &gy, e[i].glyph, 5.5);
    }
    sd_cv_color(BLACK, 1.0);
    sd_cv_text(cv, xs + sw + 3.0, yy, 0, 0.0, e[i].label);
  }
  sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
}

double sd_cv_legend_band(sd_canvas *cv, const sd_legend_entry *e, size_t n, double x0, double x1, double y1, int draw) {
  const double row = LEGEND_FONT * 1.4, pad = 4.0, sample = 16.0, gap = 10.0;
  if (n == 0) return 0;
  double tw = 0;
  for (size_t i = 0; i < n; i++) tw = fmax(tw, sd_cv_text_width(e[i].label, LEGEND_FONT));
  double colw = sample + 3.0 + tw + gap;
  size_t cols = (size_t)fmax(1.0, floor((x1 - x0 - 2 * pad + gap) / colw));
  if (cols > n) cols = n;
  size_t rows = (n + cols - 1) / cols;
  double h = 2 * pad + (double)rows * row;
  if (!draw) return h;
  sd_canvas saved = *cv;
  sd_cv_page(cv);
  double left = x0 + 0.5 * (x1 - x0 - ((double)cols * colw - gap)); /* centred */
  sd_cv_font(cv, LEGEND_FONT);
  for (size_t i = 0; i < n; i++) {
    size_t c = i / rows, r = i % rows; /* column by column */
    double xs = left + (double)c * colw, yy = y1 - pad - ((double)r + 0.5) * row;
    sd_cv_color(e[i].color, 1.0);
    sd_cv_width(cv, e[i].width > 0 ? e[i].width : 1.0);
    sd_cv_dash(cv, e[i].dash);
    sd_cv_line(xs, yy, xs + sample, yy);
    sd_cv_dash(cv, SD_DASH_SOLID);
    sd_cv_color(BLACK, 1.0);
    sd_cv_text(cv, xs + sample + 3.0, yy, 0, 0.0, e[i].label);
  }
  if (saved.data_mode) sd_cv_data(cv, saved.ax0, saved.ax1, saved.ay0, saved.ay1, saved.wx0, saved.wx1, saved.wy0, saved.wy1);
  return h;
}

void sd_cv_colorbar(sd_canvas *cv, double x0, double x1, double y0, double y1, double z0, double z1, int diverging,
                    const char *label) {
  enum { N = 256 };
  if (!(z1 > z0)) z1 = z0 + 1;
  double c0[N], c1[N];
  for (int j = 0; j < N; j++) c0[j] = c1[j] = z0 + (z1 - z0) * (j + 0.5) / N;
  const double *cols[2] = {c0, c1};
  sd_cv_cmap(diverging);
  sd_cv_data(cv, x0, x1, y0, y1, 0, 1, z0, z1);
  sd_cv_width(cv, 1e-3);
  plimagefr(cols, 2, N, 0, 1, z0, z1, z0, z1, z0, z1, NULL, NULL);
  sd_ticks t;
  sd_ticks_make(z0, z1, 0, &t);
  sd_cv_page(cv);
  sd_cv_color(BLACK, 1.0);
  sd_cv_width(cv, FRAME_W);
  sd_cv_dash(cv, SD_DASH_SOLID);
  double fx[5] = {x0, x1, x1, x0, x0}, fy[5] = {y0, y0, y1, y1, y0};
  sd_cv_polyline(5, fx, fy);
  sd_cv_font(cv, TICK_FONT);
  double wmax = 0;
  for (size_t i = 0; i < t.n; i++) {
    double y = y0 + (t.pos[i] - z0) / (z1 - z0) * (y1 - y0);
    if (y < y0 - 0.01 || y > y1 + 0.01) continue;
    sd_cv_line(x1, y, x1 - 2.5, y);
    sd_cv_line(x0, y, x0 + 2.5, y);
    sd_cv_text(cv, x1 + 2.5, y, 0, 0.0, t.label[i]);
    double w = sd_cv_text_width(t.label[i], TICK_FONT);
    if (w > wmax) wmax = w;
  }
  if (label && *label) {
    char buf[300];
    if (t.factor[0]) snprintf(buf, sizeof buf, "%s (%s)", label, t.factor);
    else snprintf(buf, sizeof buf, "%s", label);
    sd_cv_font(cv, LABEL_FONT);
    sd_cv_text(cv, x1 + 2.5 + wmax + 3.0 + 0.5 * LABEL_FONT, 0.5 * (y0 + y1), 90, 0.5, buf);
  }
}
