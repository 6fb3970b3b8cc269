/* canvas.c: PLplot device, page, styles and text in page points (see canvas.h). */
#include "plot/canvas.h"

#include <math.h>
#include <plplot.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saddle/alloc.h"

#define MM_PER_PT (25.4 / 72.0)
#define SCRATCH 1 /* the cmap0 entry recoloured for every colour change; 0 is the background */

const char *sd_cv_device(sd_plot_format f) {
  return f == SD_PLOT_SVG ? "svgcairo" : f == SD_PLOT_PDF ? "pdfcairo" : "pngcairo";
}

/* ---------------------------------------------------------------- plexit() guard */

static jmp_buf *g_env;
static char g_plmsg[512];

/* PLplot calls this on a fatal error, before exit(): go back to the guarded call instead. */
static int on_plexit(const char *msg) {
  snprintf(g_plmsg, sizeof g_plmsg, "%s", msg ? msg : "");
  if (g_env) longjmp(*g_env, 1);
  return 1;
}

sd_status sd_cv_guard(sd_status (*fn)(void *arg), void *arg) {
  jmp_buf env, *volatile outer = g_env;
  volatile sd_status rc = SD_OK;
  plsexit(on_plexit);
  g_env = &env;
  if (setjmp(env) == 0) {
    rc = fn(arg);
  } else {
    g_env = NULL;
    plend();
    rc = sd_error(SD_ERR_IO, "PLplot: %s", g_plmsg);
  }
  g_env = outer;
  if (!outer) plsexit(NULL);
  return rc;
}

typedef struct {
  const char *dev;
  int found;
} dev_query;

static sd_status list_devices(void *arg) {
  enum { MAXDEV = 256 };
  static const char *menu[MAXDEV], *names[MAXDEV];
  dev_query *q = arg;
  const char **pm = menu, **pn = names;
  int n = MAXDEV;
  plgDevs(&pm, &pn, &n);
  for (int i = 0; i < n; i++)
    if (names[i] && !strcmp(names[i], q->dev)) q->found = 1;
  return SD_OK;
}

int sd_cv_has_device(const char *dev) {
  dev_query q = {dev, 0};
  if (sd_cv_guard(list_devices, &q) != SD_OK) { /* e.g. no driver directory at all */
    sd_error_clear();
    return 0;
  }
  return q.found;
}

/* PLplot mm (72 device units per inch) of a length in page points. */
static double mm(const sd_canvas *cv, double pt) { return pt * cv->s * MM_PER_PT; }

sd_status sd_cv_open(sd_canvas *cv, sd_plot_format f, const char *path, double w_pt, double h_pt, double dpi) {
  memset(cv, 0, sizeof *cv);
  const char *dev = sd_cv_device(f);
  if (!sd_cv_has_device(dev)) {
    const char *dir = getenv("PLPLOT_DRV_DIR");
    return sd_error(SD_ERR_IO,
                    "cannot draw %s: PLplot has no '%s' driver%s%s%s; install the Debian package plplot-driver-cairo "
                    "(apt-get install plplot-driver-cairo, or scripts/install-deps.sh)",
                    sd_plot_format_ext(f), dev, dir ? " in PLPLOT_DRV_DIR=" : "", dir ? dir : "", dir ? "" : " installed");
  }
  cv->format = f;
  cv->s = f == SD_PLOT_PNG ? dpi / 72.0 : 1.0;
  cv->w_pt = w_pt;
  cv->h_pt = h_pt;
  /* DejaVu Sans for PLplot's sans family (fontconfig falls back to another sans if it is missing) */
  setenv("PLPLOT_FREETYPE_SANS_FAMILY", "DejaVu Sans", 0);
  plsdev(dev);
  plsfnam(path);
  plscolbga(255, 255, 255, 1.0);
  plscol0a(0, 255, 255, 255, 1.0);
  plspage(0, 0, (PLINT)lround(w_pt * cv->s), (PLINT)lround(h_pt * cv->s), 0, 0);
  plspause(0);
  plinit();
  pladv(0);
  plsfci(0x80000000); /* sans, upright, medium */
  sd_cv_font(cv, 8);
  sd_cv_width(cv, 0.6);
  sd_cv_page(cv);
  return SD_OK;
}

void sd_cv_close(sd_canvas *cv) {
  (void)cv;
  plend();
}

void sd_cv_page(sd_canvas *cv) {
  plvpor(0, 1, 0, 1);
  plwind(0, cv->w_pt, 0, cv->h_pt);
  cv->data_mode = 0;
}

void sd_cv_data(sd_canvas *cv, double ax0, double ax1, double ay0, double ay1, double wx0, double wx1, double wy0,
                double wy1) {
  cv->ax0 = ax0, cv->ax1 = ax1, cv->ay0 = ay0, cv->ay1 = ay1;
  cv->wx0 = wx0, cv->wx1 = wx1, cv->wy0 = wy0, cv->wy1 = wy1;
  plvpor(ax0 / cv->w_pt, ax1 / cv->w_pt, ay0 / cv->h_pt, ay1 / cv->h_pt);
  plwind(wx0, wx1, wy0, wy1);
  cv->data_mode = 1;
}

double sd_cv_xpt(const sd_canvas *cv, double wx) { return cv->ax0 + (wx - cv->wx0) / (cv->wx1 - cv->wx0) * (cv->ax1 - cv->ax0); }
double sd_cv_ypt(const sd_canvas *cv, double wy) { return cv->ay0 + (wy - cv->wy0) / (cv->wy1 - cv->wy0) * (cv->ay1 - cv->ay0); }

void sd_cv_color(sd_rgb c, double alpha) {
  plscol0a(SCRATCH, c.r, c.g, c.b, alpha);
  plcol0(SCRATCH);
}

/* The line width last set (device units): fills change it for a moment. */
static double g_width = 1.0;

void sd_cv_width(const sd_canvas *cv, double pt) {
  g_width = pt * cv->s;
  plwidth(g_width);
}

void sd_cv_dash(const sd_canvas *cv, sd_dash d) {
  /* mark/space lengths in points, passed to PLplot in micrometres of its mm */
  static const double PAT[][4] = {{0, 0, 0, 0}, {3.2, 1.8, 0, 0}, {0.9, 1.4, 0, 0}, {3.2, 1.4, 0.9, 1.4}, {6, 2.2, 0, 0}};
  if (d == SD_DASH_SOLID) {
    plstyl(0, NULL, NULL);
    return;
  }
  PLINT mark[2], space[2];
  int n = PAT[d][2] > 0 ? 2 : 1;
  for (int i = 0; i < n; i++) {
    mark[i] = (PLINT)lround(mm(cv, PAT[d][2 * i]) * 1000);
    space[i] = (PLINT)lround(mm(cv, PAT[d][2 * i + 1]) * 1000);
  }
  plstyl(n, mark, space);
}

/* The cairo driver hands PLplot's height to Pango as points, which Pango renders at its default 96 dpi, 4/3 of
 * the size asked for: ask for 3/4. */
#define PANGO_FIX 0.75

void sd_cv_font(const sd_canvas *cv, double pt) { plschr(mm(cv, pt) * PANGO_FIX, 1.0); }

void sd_cv_text(const sd_canvas *cv, double x, double y, double angle_deg, double just, const char *text) {
  double a = angle_deg * M_PI / 180.0;
  /* plptex takes a direction in window units: make it the right angle on the page */
  double sx = cv->data_mode ? (cv->wx1 - cv->wx0) / (cv->ax1 - cv->ax0) : 1.0;
  double sy = cv->data_mode ? (cv->wy1 - cv->wy0) / (cv->ay1 - cv->ay0) : 1.0;
  plptex(x, y, cos(a) * sx, sin(a) * sy, just, text);
}

const char *sd_cv_escape(const char *s, char *buf, size_t len) {
  size_t j = 0;
  for (const char *p = s; *p && j + 3 < len; p++) {
    if (*p == '#') buf[j++] = '#';
    buf[j++] = *p;
  }
  buf[j] = '\0';
  return buf;
}

double sd_cv_text_width(const char *text, double font_pt) {
  double w = 0, scale = 1.0;
  int level = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p;) {
    if (*p == '#' && p[1]) {
      if (p[1] == 'u') level++;
      else if (p[1] == 'd') level--;
      else if (p[1] == '#') w += 0.6 * scale;
      scale = level ? 0.75 : 1.0;
      p += 2;
      continue;
    }
    double cw = 0.62;
    if (*p == ' ' || *p == '.' || *p == ',' || *p == ':' || *p == 'i' || *p == 'l' || *p == 'j' || *p == '(' || *p == ')' ||
        *p == '[' || *p == ']' || *p == '|' || *p == '\'')
      cw = 0.34;
    else if (*p >= 'A' && *p <= 'Z')
      cw = 0.72;
    else if (*p == 'm' || *p == 'w')
      cw = 0.9;
    w += cw * scale;
    /* skip UTF-8 continuation bytes */
    p++;
    while ((*p & 0xC0) == 0x80) p++;
  }
  return w * font_pt;
}

void sd_cv_line(double x0, double y0, double x1, double y1) { pljoin(x0, y0, x1, y1); }

void sd_cv_polyline(size_t n, const double *x, const double *y) {
  if (n >= 2) plline((PLINT)n, x, y);
}

/* The cairo driver strokes the outline of every fill with the current line width (to hide seams between
 * adjacent polygons): make that stroke a hair, or fills would grow by half a line width and translucent
 * ones get dark edges. */
void sd_cv_fill(size_t n, const double *x, const double *y) {
  if (n < 3) return;
  plwidth(1e-3);
  plfill((PLINT)n, x, y);
  plwidth(g_width);
}

void sd_cv_rect(double x0, double y0, double x1, double y1) {
  double x[4] = {x0, x1, x1, x0}, y[4] = {y0, y0, y1, y1};
  sd_cv_fill(4, x, y);
}

void sd_cv_marks(const sd_canvas *cv, size_t n, const double *x, const double *y, const char *glyph, double size_pt) {
  if (!n) return;
  double ht, scale;
  plgchr(&ht, &scale);
  plschr(mm(cv, size_pt) * PANGO_FIX, 1.0);
  plstring((PLINT)n, x, y, glyph);
  plschr(ht, 1.0);
}

/* ---------------------------------------------------------------- palettes */

static const sd_rgb SERIES[] = {
    {0x1a, 0x1a, 0x1a}, /* near black */
    {0xd5, 0x5e, 0x00}, /* vermillion */
    {0x00, 0x72, 0xb2}, /* blue */
    {0x00, 0x9e, 0x73}, /* bluish green */
    {0xe6, 0x9f, 0x00}, /* orange */
    {0xcc, 0x79, 0xa7}, /* reddish purple */
    {0x56, 0xb4, 0xe9}, /* sky blue */
    {0x80, 0x80, 0x80}, /* grey */
};
static const sd_dash SERIES_DASH[] = {SD_DASH_SOLID, SD_DASH_DASHED, SD_DASH_DASHDOT, SD_DASH_DOTTED,
                                      SD_DASH_LONG,  SD_DASH_DASHED, SD_DASH_SOLID,   SD_DASH_DOTTED};

sd_rgb sd_palette_series(size_t i) { return SERIES[i % 8]; }
sd_dash sd_palette_series_dash(size_t i) { return SERIES_DASH[i % 8]; }

typedef struct {
  double t;
  sd_rgb c;
} stop;

static const stop VIRIDIS[] = {
    {0.000, {68, 1, 84}},    {0.125, {71, 44, 122}},  {0.250, {59, 82, 139}},  {0.375, {44, 113, 142}}, {0.500, {33, 145, 140}},
    {0.625, {39, 173, 129}}, {0.750, {92, 200, 99}},  {0.875, {170, 220, 50}}, {1.000, {253, 231, 37}},
};
static const stop RDBU[] = {
    {0.00, {5, 48, 97}},     {0.12, {33, 102, 172}},  {0.25, {67, 147, 195}}, {0.38, {146, 197, 222}}, {0.50, {247, 247, 247}},
    {0.62, {244, 165, 130}}, {0.75, {214, 96, 77}},   {0.88, {178, 24, 43}},  {1.00, {103, 0, 31}},
};

static sd_rgb lerp_stops(const stop *s, size_t n, double t) {
  if (!(t >= 0)) t = 0;
  if (t > 1) t = 1;
  size_t k = 0;
  while (k + 2 < n && t > s[k + 1].t) k++;
  double u = (t - s[k].t) / (s[k + 1].t - s[k].t);
  sd_rgb c = {(unsigned char)lround(s[k].c.r + u * (s[k + 1].c.r - s[k].c.r)),
              (unsigned char)lround(s[k].c.g + u * (s[k + 1].c.g - s[k].c.g)),
              (unsigned char)lround(s[k].c.b + u * (s[k + 1].c.b - s[k].c.b))};
  return c;
}

sd_rgb sd_palette_seq(double t) { return lerp_stops(VIRIDIS, sizeof VIRIDIS / sizeof *VIRIDIS, t); }
sd_rgb sd_palette_div(double t) { return lerp_stops(RDBU, sizeof RDBU / sizeof *RDBU, t); }

void sd_cv_cmap(int diverging) {
  enum { N = 9 };
  const stop *s = diverging ? RDBU : VIRIDIS;
  double pos[N], r[N], g[N], b[N];
  for (int i = 0; i < N; i++) {
    pos[i] = s[i].t;
    r[i] = s[i].c.r / 255.0;
    g[i] = s[i].c.g / 255.0;
    b[i] = s[i].c.b / 255.0;
  }
  plscmap1n(256);
  plscmap1l(1, N, pos, r, g, b, NULL);
}
