/* test_plot.c: figures from small synthetic run directories: every panel kind in every format, checked as
 * files (PNG decoded here: size from IHDR and pixel variance; SVG and PDF page sizes and drawing content),
 * malformed inputs, comparisons, the figures: checks, and the CLI (headless, stdin closed, missing driver). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "saddle/alloc.h"
#include "saddle/config.h"
#include "saddle/npy.h"
#include "saddle/observe.h"
#include "saddle/plot.h"

/* Under LeakSanitizer (the asan build): fontconfig keeps its caches and libltdl the handles of PLplot's
 * dynamically loaded drivers until the process ends; neither is saddle's memory. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\nleak:libltdl.so\n"; }
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }

/* ---------------------------------------------------------------- inflate (RFC 1951), for PNG and PDF */

typedef struct {
  const unsigned char *in;
  size_t inlen, inpos;
  unsigned long bitbuf;
  int bitcnt;
  unsigned char *out;
  size_t outlen, outcap;
  int err;
} inf;

typedef struct {
  short count[16];
  short symbol[320];
} huff;

static int bits(inf *s, int need) {
  unsigned long val = s->bitbuf;
  while (s->bitcnt < need) {
    if (s->inpos >= s->inlen) {
      s->err = 1;
      return 0;
    }
    val |= (unsigned long)s->in[s->inpos++] << s->bitcnt;
    s->bitcnt += 8;
  }
  s->bitbuf = val >> need;
  s->bitcnt -= need;
  return (int)(val & ((1UL << need) - 1));
}

static void put(inf *s, unsigned char c) {
  if (s->outlen == s->outcap) {
    s->outcap = s->outcap ? 2 * s->outcap : 1 << 16;
    s->out = realloc(s->out, s->outcap);
  }
  s->out[s->outlen++] = c;
}

static int decode(inf *s, const huff *h) {
  int code = 0, first = 0, index = 0;
  for (int len = 1; len <= 15; len++) {
    code |= bits(s, 1);
    int count = h->count[len];
    if (code - count < first) return h->symbol[index + (code - first)];
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
    if (s->err) return -1;
  }
  return -1;
}

static void construct(huff *h, const short *length, int n) {
  short offs[16];
  memset(h->count, 0, sizeof h->count);
  for (int i = 0; i < n; i++) h->count[length[i]]++;
  h->count[0] = 0;
  offs[1] = 0;
  for (int len = 1; len < 15; len++) offs[len + 1] = (short)(offs[len] + h->count[len]);
  for (int i = 0; i < n; i++)
    if (length[i]) h->symbol[offs[length[i]]++] = (short)i;
}

static const short LBASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const short LEXT[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const short DBASE[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const short DEXT[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void codes(inf *s, const huff *lc, const huff *dc) {
  for (;;) {
    int sym = decode(s, lc);
    if (sym < 0 || s->err) {
      s->err = 1;
      return;
    }
    if (sym < 256) {
      put(s, (unsigned char)sym);
    } else if (sym == 256) {
      return;
    } else {
      sym -= 257;
      if (sym >= 29) {
        s->err = 1;
        return;
      }
      int len = LBASE[sym] + bits(s, LEXT[sym]);
      int ds = decode(s, dc);
      if (ds < 0 || ds >= 30) {
        s->err = 1;
        return;
      }
      size_t dist = (size_t)(DBASE[ds] + bits(s, DEXT[ds]));
      if (dist > s->outlen) {
        s->err = 1;
        return;
      }
      while (len--) put(s, s->out[s->outlen - dist]);
    }
  }
}

/* Inflates a zlib stream (2-byte header); caller frees *out. Returns 0 on success. */
static int zinflate(const unsigned char *in, size_t len, unsigned char **out, size_t *outlen) {
  inf s;
  memset(&s, 0, sizeof s);
  s.in = in + 2;
  s.inlen = len < 2 ? 0 : len - 2;
  int last;
  do {
    last = bits(&s, 1);
    int type = bits(&s, 2);
    if (s.err) break;
    if (type == 0) {
      s.bitbuf = 0, s.bitcnt = 0;
      if (s.inpos + 4 > s.inlen) {
        s.err = 1;
        break;
      }
      unsigned n = s.in[s.inpos] | (unsigned)s.in[s.inpos + 1] << 8;
      s.inpos += 4;
      if (s.inpos + n > s.inlen) {
        s.err = 1;
        break;
      }
      for (unsigned i = 0; i < n; i++) put(&s, s.in[s.inpos++]);
    } else if (type == 1) {
      static huff lc, dc;
      short l[288];
      for (int i = 0; i < 144; i++) l[i] = 8;
      for (int i = 144; i < 256; i++) l[i] = 9;
      for (int i = 256; i < 280; i++) l[i] = 7;
      for (int i = 280; i < 288; i++) l[i] = 8;
      construct(&lc, l, 288);
      for (int i = 0; i < 30; i++) l[i] = 5;
      construct(&dc, l, 30);
      codes(&s, &lc, &dc);
    } else if (type == 2) {
      static const short ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
      int nlen = bits(&s, 5) + 257, ndist = bits(&s, 5) + 1, ncode = bits(&s, 4) + 4;
      short lengths[320];
      memset(lengths, 0, sizeof lengths);
      for (int i = 0; i < ncode; i++) lengths[ORDER[i]] = (short)bits(&s, 3);
      huff lc, dc;
      construct(&lc, lengths, 19);
      int i = 0;
      while (i < nlen + ndist && !s.err) {
        int sym = decode(&s, &lc);
        if (sym < 0) {
          s.err = 1;
          break;
        }
        if (sym < 16) {
          lengths[i++] = (short)sym;
        } else {
          short v = 0;
          int rep;
          if (sym == 16) {
            if (i == 0) {
              s.err = 1;
              break;
            }
            v = lengths[i - 1];
            rep = 3 + bits(&s, 2);
          } else if (sym == 17) {
            rep = 3 + bits(&s, 3);
          } else {
            rep = 11 + bits(&s, 7);
          }
          if (i + rep > nlen + ndist) {
            s.err = 1;
            break;
          }
          while (rep--) lengths[i++] = v;
        }
      }
      if (s.err) break;
      construct(&lc, lengths, nlen);
      construct(&dc, lengths + nlen, ndist);
      codes(&s, &lc, &dc);
    } else {
      s.err = 1;
    }
  } while (!last && !s.err);
  if (s.err) {
    free(s.out);
    return -1;
  }
  *out = s.out;
  *outlen = s.outlen;
  return 0;
}

/* ---------------------------------------------------------------- file checks */

static unsigned char *slurp(const char *path, size_t *len) {
  char *d = th_slurp(path, len);
  cr_assert_not_null(d, "cannot read %s", path);
  return (unsigned char *)d;
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Decodes an 8-bit RGB/RGBA PNG; checks its size and returns the variance of its luminance (0..255) and the
 * fraction of pixels that are not white. */
static void check_png(const char *path, unsigned want_w, unsigned want_h, double *variance, double *ink) {
  size_t len;
  unsigned char *d = slurp(path, &len);
  static const unsigned char SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  cr_assert(len > 33 && !memcmp(d, SIG, 8), "%s is not a PNG", path);
  cr_assert(!memcmp(d + 12, "IHDR", 4), "%s: no IHDR first", path);
  unsigned w = be32(d + 16), h = be32(d + 20), depth = d[24], ctype = d[25], interlace = d[28];
  cr_assert_eq(w, want_w, "%s: width %u, asked for %u", path, w, want_w);
  cr_assert_eq(h, want_h, "%s: height %u, asked for %u", path, h, want_h);
  cr_assert(depth == 8 && (ctype == 2 || ctype == 6) && interlace == 0, "%s: unexpected PNG format %u/%u/%u", path, depth, ctype, interlace);
  unsigned char *idat = NULL;
  size_t nidat = 0, pos = 8;
  int iend = 0;
  while (pos + 12 <= len) {
    uint32_t cl = be32(d + pos);
    cr_assert(pos + 12 + cl <= len, "%s: chunk runs past the end", path);
    if (!memcmp(d + pos + 4, "IDAT", 4)) {
      idat = realloc(idat, nidat + cl);
      memcpy(idat + nidat, d + pos + 8, cl);
      nidat += cl;
    }
    if (!memcmp(d + pos + 4, "IEND", 4)) iend = 1;
    pos += 12 + cl;
  }
  cr_assert(iend, "%s: no IEND (truncated)", path);
  unsigned char *raw;
  size_t rawlen;
  cr_assert_eq(zinflate(idat, nidat, &raw, &rawlen), 0, "%s: bad image data", path);
  unsigned bpp = ctype == 6 ? 4 : 3;
  size_t stride = (size_t)w * bpp;
  cr_assert_eq(rawlen, (stride + 1) * h, "%s: image data of %zu bytes for %ux%u", path, rawlen, w, h);
  unsigned char *prev = calloc(stride, 1), *cur = malloc(stride);
  double sum = 0, sum2 = 0;
  size_t nonwhite = 0;
  for (unsigned y = 0; y < h; y++) {
    const unsigned char *line = raw + y * (stride + 1);
    int f = line[0];
    for (size_t x = 0; x < stride; x++) {
      int a = x >= bpp ? cur[x - bpp] : 0, b = prev[x], c = x >= bpp ? prev[x - bpp] : 0, pr;
      switch (f) {
        case 0: pr = 0; break;
        case 1: pr = a; break;
        case 2: pr = b; break;
        case 3: pr = (a + b) / 2; break;
        case 4: {
          int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
          pr = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: cr_assert_fail("%s: bad filter %d", path, f); pr = 0;
      }
      cur[x] = (unsigned char)(line[1 + x] + pr);
    }
    for (unsigned x = 0; x < w; x++) {
      const unsigned char *px = cur + x * bpp;
      double alpha = bpp == 4 ? px[3] / 255.0 : 1.0; /* over white */
      double lum = (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) * alpha + 255 * (1 - alpha);
      sum += lum;
      sum2 += lum * lum;
      nonwhite += lum < 250;
    }
    memcpy(prev, cur, stride);
  }
  double n = (double)w * h, mean = sum / n;
  *variance = sum2 / n - mean * mean;
  *ink = (double)nonwhite / n;
  free(prev);
  free(cur);
  free(raw);
  free(idat);
  free(d);
}

static void assert_png(const char *path, unsigned w, unsigned h) {
  double var, ink;
  check_png(path, w, h, &var, &ink);
  cr_assert(var > 100 && ink > 0.01, "%s looks blank: luminance variance %g, %.2f%% ink", path, var, 100 * ink);
}

static size_t count_str(const char *hay, size_t len, const char *needle) {
  size_t n = 0, k = strlen(needle);
  for (size_t i = 0; i + k <= len; i++) n += !memcmp(hay + i, needle, k);
  return n;
}

static void assert_svg(const char *path, int w_pt, int h_pt) {
  size_t len;
  char *d = (char *)slurp(path, &len);
  char want[128];
  cr_assert(strstr(d, "<svg") != NULL, "%s is not SVG", path);
  snprintf(want, sizeof want, "width=\"%dpt\" height=\"%dpt\"", w_pt, h_pt);
  cr_assert(strstr(d, want) != NULL, "%s: no %s", path, want);
  cr_assert(strstr(d, "</svg>") != NULL, "%s: not closed (truncated)", path);
  size_t paths = count_str(d, len, "<path");
  cr_assert(paths > 40, "%s looks blank: %zu paths", path, paths);
  free(d);
}

static void assert_pdf(const char *path, int w_pt, int h_pt) {
  size_t len;
  char *d = (char *)slurp(path, &len);
  char want[128];
  cr_assert(len > 8 && !memcmp(d, "%PDF-", 5), "%s is not a PDF", path);
  cr_assert(count_str(d, len, "%%EOF") > 0, "%s: no %%%%EOF (truncated)", path);
  snprintf(want, sizeof want, "/MediaBox [ 0 0 %d %d ]", w_pt, h_pt);
  cr_assert(count_str(d, len, want) > 0, "%s: no %s", path, want);
  /* the page's drawing: inflate every Flate stream and count path operators */
  size_t ops = 0;
  for (size_t i = 0; i + 6 < len; i++) {
    if (memcmp(d + i, "stream", 6) || (i > 2 && !memcmp(d + i - 3, "end", 3))) continue;
    size_t s = i + 6;
    if (d[s] == '\r') s++;
    if (d[s] == '\n') s++;
    size_t e = s;
    while (e + 9 < len && memcmp(d + e, "endstream", 9)) e++;
    unsigned char *out;
    size_t outlen;
    if (zinflate((unsigned char *)d + s, e - s, &out, &outlen) == 0) {
      ops += count_str((char *)out, outlen, " m ") + count_str((char *)out, outlen, " re ");
      free(out);
    }
    i = e;
  }
  cr_assert(ops > 20, "%s looks blank: %zu path operators", path, ops);
  free(d);
}

/* ---------------------------------------------------------------- synthetic run directories */

enum { RUN_FIGURES = 1, RUN_NAN = 2, RUN_TRUNCATED = 4, RUN_NO_SUMMARY = 8, RUN_BAD_SUMMARY = 16, RUN_DIVERGED = 32 };

static void write_npy(const char *dir, const char *name, const double *data, int ndim, const size_t *shape) {
  char path[600];
  snprintf(path, sizeof path, "%s/arrays/%s.npy", dir, name);
  cr_assert_eq(sd_npy_write(path, data, ndim, shape), SD_OK, "%s", sd_error_message());
}

/* A run under base/name: three modes learned one after the other (sigmoids) with a theory family, loss and
 * errors, a sparse curvature column, three phases and two plateaus, and arrays for every panel. */
static char *make_run(const char *base, const char *name, unsigned flags, double lr) {
  char *dir = malloc(600), path[700];
  snprintf(dir, 600, "%s/%s", base, name);
  mkdir(dir, 0777);
  snprintf(path, sizeof path, "%s/arrays", dir);
  mkdir(path, 0777);
  snprintf(path, sizeof path, "%s/metrics.csv", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "step,t,loss,rel_error,train_error,u[0],u[1],u[2],u_theory[0],u_theory[1],u_theory[2],noise,hess_min\n");
  const double s[3] = {4, 2, 1};
  int rows = 121;
  for (int k = 0; k < rows; k++) {
    double t = k == 0 ? 0 : 0.01 * pow(10.0, 4.0 * (k - 1) / (rows - 2));
    double u[3], loss = 0;
    for (int a = 0; a < 3; a++) {
      u[a] = s[a] / (1 + (s[a] / 1e-6 - 1) * exp(-2 * s[a] * t));
      loss += 0.5 * (s[a] - u[a]) * (s[a] - u[a]);
    }
    if (flags & RUN_DIVERGED && k > 100) loss = k == 101 ? INFINITY : NAN;
    fprintf(f, "%d,%.17g,%.17g,%.17g,%.17g", (int)lround(t / lr), t, loss, sqrt(2 * loss) / sqrt(21.0), 1.1 * sqrt(2 * loss) / sqrt(21.0));
    for (int a = 0; a < 3; a++) fprintf(f, ",%.17g", (flags & RUN_NAN) && k >= 40 && k < 50 && a == 1 ? NAN : u[a] * (1 + 1e-3 * sin(k)));
    for (int a = 0; a < 3; a++) fprintf(f, ",%.17g", u[a]);
    fprintf(f, ",%.17g", 1e-6 * (1 + t));
    if (k % 4 == 0) fprintf(f, ",%.17g\n", -s[k < 60 ? 0 : k < 90 ? 1 : 2] * (1 - t / 200));
    else fprintf(f, ",nan\n");
  }
  if (flags & RUN_TRUNCATED) fprintf(f, "121,100.5,0.00");
  fclose(f);
  snprintf(path, sizeof path, "%s/summary.json", dir);
  if (flags & RUN_BAD_SUMMARY) {
    th_write(path, "{\"experiment\": \"syn\", \"phases\": [");
  } else if (!(flags & RUN_NO_SUMMARY)) {
    th_write(path, flags & RUN_DIVERGED ?
                         "{\"experiment\": \"syn\", \"status\": \"diverged\", \"phases\": [], \"plateaus\": {\"metric\": \"loss\", \"found\": []}}" :
                         "{\"experiment\": \"syn\", \"status\": \"max_steps\",\n"
                         " \"phases\": [{\"name\": \"alignment\", \"reached\": true, \"t_start\": 0, \"t_end\": 1.5, \"step_start\": 0, \"step_end\": 15},\n"
                         "  {\"name\": \"growth\", \"reached\": true, \"t_start\": 1.5, \"t_end\": 12, \"step_start\": 15, \"step_end\": 120},\n"
                         "  {\"name\": \"refinement\", \"reached\": true, \"t_start\": 12, \"t_end\": 100, \"step_start\": 120, \"step_end\": 1000}],\n"
                         " \"plateaus\": {\"metric\": \"loss\", \"found\": [{\"t_start\": 0.01, \"t_end\": 1.2, \"level\": 10.5, \"jump_t\": 1.7},\n"
                         "  {\"t_start\": 2.5, \"t_end\": 3.4, \"level\": 2.5, \"jump_t\": 3.6}]}}\n");
  }
  char cfg[2000];
  snprintf(cfg, sizeof cfg,
           "experiment: syn\nseed: 0\nproblem:\n  kind: deeplinear\n  singular_values: [4, 2, 1]\n"
           "dynamics:\n  kind: gd\n  lr: %g\ninit:\n  scale: 1.0e-6\n%s",
           lr,
           flags & RUN_FIGURES ? "figures:\n  - {panel: loss, scale: loglog}\n  - {panel: family, metric: u, reference: u_theory, scale: linear}\n"
                                 "  - {panel: heatmap, array: C}\n  - {panel: lines, y: [no_such_column]}\n" : "");
  snprintf(path, sizeof path, "%s/config.resolved.yaml", dir);
  th_write(path, cfg);
  /* arrays: a cosine-similarity matrix, neurons in 2-D and 5-D with their initial values and output weights,
   * a 3-D array (not a matrix) */
  double c[64], w[32], w0[32], a[16], w5[60], t3[8];
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) c[i * 8 + j] = i == j ? 1 : cos(0.7 * (i - j)) * ((i + j) % 3 ? 1 : -0.5);
  for (int i = 0; i < 16; i++) {
    double th = 2 * M_PI * i / 16, r = 0.01 + (i % 4 == 0 ? 1.5 : 0.02 * i);
    double th_f = i % 4 == 0 ? (i < 8 ? 0.3 : -2.0) : th;
    w0[2 * i] = 0.01 * cos(th), w0[2 * i + 1] = 0.01 * sin(th);
    w[2 * i] = r * cos(th_f), w[2 * i + 1] = r * sin(th_f);
    a[i] = i % 2 ? 1 : -1;
  }
  for (int i = 0; i < 60; i++) w5[i] = sin(1.3 * i) * (1 + (i / 5) % 3);
  for (int i = 0; i < 8; i++) t3[i] = i;
  write_npy(dir, "C", c, 2, (size_t[]){8, 8});
  write_npy(dir, "W_final", w, 2, (size_t[]){16, 2});
  write_npy(dir, "W_0", w0, 2, (size_t[]){16, 2});
  write_npy(dir, "a_final", a, 1, (size_t[]){16});
  write_npy(dir, "W5", w5, 2, (size_t[]){12, 5});
  write_npy(dir, "T3", t3, 3, (size_t[]){2, 2, 2});
  return dir;
}

/* Draws dir with the given panels into out at 4x3 in (PNG 100 dpi: 400x300 px; SVG/PDF 288x216 pt). */
static sd_status draw(const char *dir, const char *out, sd_plot_format fmt, const char *const *panels, size_t n,
                      sd_plot_result *res) {
  sd_plot_options o = sd_plot_defaults();
  o.format = fmt;
  o.out = out;
  o.panels = panels;
  o.n_panels = n;
  o.width_in = 4;
  o.height_in = 3;
  o.dpi = 100;
  return sd_plot_dirs(&dir, 1, &o, res);
}

static void draw_ok(const char *dir, const char *out, sd_plot_format fmt, const char *panel, sd_plot_result *res) {
  sd_status rc = draw(dir, out, fmt, panel ? &panel : NULL, panel ? 1 : 0, res);
  cr_assert_eq(rc, SD_OK, "%s: %s", panel ? panel : "(default)", sd_error_message());
  cr_assert_str_eq(res->path, out);
}

/* The panel drawn as base.png, base.svg and base.pdf, each checked. */
static void each_format(const char *base, const char *dir, const char *panel) {
  static const sd_plot_format F[3] = {SD_PLOT_PNG, SD_PLOT_SVG, SD_PLOT_PDF};
  for (int i = 0; i < 3; i++) {
    char o[1000];
    sd_plot_result r;
    snprintf(o, sizeof o, "%s.%s", base, sd_plot_format_ext(F[i]));
    draw_ok(dir, o, F[i], panel, &r);
    if (F[i] == SD_PLOT_PNG) assert_png(o, 400, 300);
    else if (F[i] == SD_PLOT_SVG) assert_svg(o, 288, 216);
    else assert_pdf(o, 288, 216);
    sd_plot_result_free(&r);
  }
}

/* ---------------------------------------------------------------- each panel kind, each format */

Test(plot, loss_panel_with_phases_and_plateaus) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/loss", d);
  each_format(out, run, "loss");
  free(run);
  free(d);
}

Test(plot, family_panel_with_reference) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/family", d);
  each_format(out, run, "{panel: family, metric: u, reference: u_theory, scale: linear}");
  free(run);
  free(d);
}

Test(plot, lines_panel_against_step_with_sparse_column) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/lines", d);
  each_format(out, run, "{panel: lines, y: [noise, hess_min], x: step, scale: semilogx, title: 'lines'}");
  free(run);
  free(d);
}

Test(plot, heatmap_panel) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/heatmap", d);
  each_format(out, run, "heatmap:C");
  free(run);
  free(d);
}

Test(plot, orientation_panels) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/orient2", d);
  each_format(out, run, "{panel: orientations, array: W_final, initial: W_0, output: a_final}");
  /* 5 inputs: angles in the top principal plane */
  sd_plot_result r;
  snprintf(out, sizeof out, "%s/orient5.png", d);
  draw_ok(run, out, SD_PLOT_PNG, "orientations:W5", &r);
  assert_png(out, 400, 300);
  sd_plot_result_free(&r);
  free(run);
  free(d);
}

Test(plot, automatic_panels_and_default_size) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1);
  const char *dir = run;
  sd_plot_options o = sd_plot_defaults();
  sd_plot_result r;
  cr_assert_eq(sd_plot_dirs(&dir, 1, &o, &r), SD_OK, "%s", sd_error_message());
  char want[700];
  snprintf(want, sizeof want, "%s/figure.png", run);
  cr_assert_str_eq(r.path, want);
  /* loss, family u (with u_theory), lines noise, curvature: 2x2 at 7 in wide, 2.5 in a row, 200 dpi */
  assert_png(r.path, 1400, 1000);
  cr_assert_str_eq(r.notes, "");
  sd_plot_result_free(&r);
  free(run);
  free(d);
}

/* ---------------------------------------------------------------- figures: and comparisons */

Test(plot, figures_list_is_the_default_and_marks_a_missing_column) {
  char *d = th_tmpdir(), *run = make_run(d, "r", RUN_FIGURES, 0.1), out[700];
  snprintf(out, sizeof out, "%s/fig.png", d);
  sd_plot_result r;
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, NULL, 0, &r), SD_OK, "%s", sd_error_message());
  assert_png(out, 400, 300);
  cr_assert(strstr(r.notes, "no column 'no_such_column'") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  free(run);
  free(d);
}

Test(plot, comparison_overlays_runs_with_a_legend_of_differing_keys) {
  char *d = th_tmpdir(), *a = make_run(d, "gd", 0, 0.1), *b = make_run(d, "fast", 0, 0.2), out[700];
  const char *dirs[2] = {a, b};
  sd_plot_options o = sd_plot_defaults();
  snprintf(out, sizeof out, "%s/compare.svg", d);
  o.out = out;
  o.format = SD_PLOT_SVG;
  const char *panels[] = {"loss", "family:u", "heatmap:C"};
  o.panels = panels;
  o.n_panels = 3;
  sd_plot_result r;
  cr_assert_eq(sd_plot_dirs(dirs, 2, &o, &r), SD_OK, "%s", sd_error_message());
  /* 4 panels (the heatmap once per run): 2x2, 7 in by 5 in, and a band of 18 pt naming the runs */
  assert_svg(out, 504, 378);
  size_t len;
  char *svg = th_slurp(out, &len);
  /* the legend names the differing key: lr=0.1 / lr=0.2 (cairo writes text as glyphs, so look for the
   * glyph count instead: the figure must be larger than a single run's) */
  cr_assert(len > 20000, "comparison SVG suspiciously small (%zu bytes)", len);
  free(svg);
  sd_plot_result_free(&r);
  free(a);
  free(b);
  free(d);
}

/* ---------------------------------------------------------------- malformed inputs */

Test(plot, missing_column_asked_by_name_is_a_clear_error) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/x.png", d);
  sd_plot_result r;
  const char *p = "family:uu";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "no family 'uu'") && strstr(sd_error_message(), "did you mean 'u'"), "%s",
            sd_error_message());
  p = "lines:los";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "did you mean 'loss'"), "%s", sd_error_message());
  p = "heatmap:nope";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  p = "{panel: family, metrc: u}";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "did you mean 'metric'"), "%s", sd_error_message());
  p = "{panel: loss, scale: logarithmic}";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  p = "histogram:loss";
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, &p, 1, &r), SD_ERR_CONFIG);
  struct stat st;
  cr_assert_neq(stat(out, &st), 0, "a failed plot left a file");
  free(run);
  free(d);
}

Test(plot, nan_values_and_a_truncated_csv_give_a_figure_marking_the_gaps) {
  char *d = th_tmpdir(), *run = make_run(d, "r", RUN_NAN | RUN_TRUNCATED, 0.1), out[700];
  snprintf(out, sizeof out, "%s/gaps.png", d);
  sd_plot_result r;
  draw_ok(run, out, SD_PLOT_PNG, "family:u", &r);
  assert_png(out, 400, 300);
  cr_assert(strstr(r.notes, "cut short") != NULL, "notes: %s", r.notes);
  cr_assert(strstr(r.notes, "missing values (NaN) are hatched") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  free(run);
  free(d);
}

Test(plot, diverged_run_is_marked) {
  char *d = th_tmpdir(), *run = make_run(d, "r", RUN_DIVERGED, 0.1), out[700];
  snprintf(out, sizeof out, "%s/div.pdf", d);
  sd_plot_result r;
  draw_ok(run, out, SD_PLOT_PDF, "loss", &r);
  assert_pdf(out, 288, 216);
  sd_plot_result_free(&r);
  free(run);
  free(d);
}

Test(plot, missing_or_broken_summary_and_bad_arrays_still_draw) {
  char *d = th_tmpdir(), *a = make_run(d, "a", RUN_NO_SUMMARY, 0.1), *b = make_run(d, "b", RUN_BAD_SUMMARY, 0.1), out[700];
  sd_plot_result r;
  snprintf(out, sizeof out, "%s/a.png", d);
  draw_ok(a, out, SD_PLOT_PNG, "loss", &r);
  assert_png(out, 400, 300);
  cr_assert(strstr(r.notes, "no summary.json") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  snprintf(out, sizeof out, "%s/b.png", d);
  draw_ok(b, out, SD_PLOT_PNG, "loss", &r);
  assert_png(out, 400, 300);
  cr_assert(strstr(r.notes, "summary.json: unreadable") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  /* a 3-D array and a missing one in a figures: list: hatched panels that say why */
  char cfg[700];
  snprintf(cfg, sizeof cfg, "%s/config.resolved.yaml", a);
  th_write(cfg, "experiment: syn\nfigures:\n  - {panel: heatmap, array: T3}\n  - {panel: orientations, array: gone}\n");
  snprintf(out, sizeof out, "%s/a2.png", d);
  draw_ok(a, out, SD_PLOT_PNG, NULL, &r);
  assert_png(out, 400, 300);
  cr_assert(strstr(r.notes, "a heatmap needs a matrix") != NULL, "notes: %s", r.notes);
  cr_assert(strstr(r.notes, "no array 'gone'") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  free(a);
  free(b);
  free(d);
}

Test(plot, empty_runs_are_clear_errors) {
  char *d = th_tmpdir(), path[700], out[700];
  sd_plot_result r;
  snprintf(out, sizeof out, "%s/e.png", d);
  snprintf(path, sizeof path, "%s/empty", d);
  mkdir(path, 0777);
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "no metrics.csv"), "%s", sd_error_message());
  char csv[800];
  snprintf(csv, sizeof csv, "%s/metrics.csv", path);
  th_write(csv, "");
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "empty"), "%s", sd_error_message());
  th_write(csv, "step,t,loss\n");
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "no rows"), "%s", sd_error_message());
  th_write(csv, "step,t,loss\n0,0,nan\n1,0.1,nan\n");
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_OK, "%s", sd_error_message());
  assert_png(out, 400, 300); /* a hatched panel saying there is no finite value */
  cr_assert(strstr(r.notes, "no finite value of loss") != NULL, "notes: %s", r.notes);
  sd_plot_result_free(&r);
  th_write(csv, "garbage\n\x01\x02,,\n");
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_OK, "%s", sd_error_message());
  sd_plot_result_free(&r);
  snprintf(path, sizeof path, "%s/none", d);
  cr_assert_eq(draw(path, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_CONFIG);
  cr_assert_eq(draw(csv, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_CONFIG);
  free(d);
}

Test(plot, unwritable_output_is_an_io_error) {
  char *d = th_tmpdir(), *run = make_run(d, "r", 0, 0.1), out[700];
  snprintf(out, sizeof out, "%s/no/such/dir/x.png", d);
  sd_plot_result r;
  cr_assert_eq(draw(run, out, SD_PLOT_PNG, NULL, 0, &r), SD_ERR_IO);
  cr_assert(strstr(sd_error_message(), "cannot write the figure"), "%s", sd_error_message());
  free(run);
  free(d);
}

/* ---------------------------------------------------------------- figures: checked at prepare time */

static sd_status check_figures(const char *yaml) {
  static const sd_param P[] = {{"figures", SD_T_LIST, NULL, SD_NO_BOUNDS, NULL, ""}, {"seed", SD_T_INT, "0", SD_NO_BOUNDS, NULL, ""}};
  sd_config *cfg = NULL;
  cr_assert_eq(sd_config_load_string("test.yaml", yaml, &cfg), SD_OK, "%s", sd_error_message());
  sd_config_add_schema(cfg, "", P, 2);
  cr_assert_eq(sd_config_resolve(cfg), SD_OK, "%s", sd_error_message());
  const char *names[] = {"rel_error", "signal", "noise"};
  size_t lens[] = {1, 2, 1};
  sd_metrics *m = NULL;
  cr_assert_eq(sd_metrics_create(&m, 3, names, lens, 4), SD_OK);
  sd_status rc = sd_plot_check_config(cfg, m);
  sd_metrics_free(&m);
  sd_config_free(&cfg);
  return rc;
}

Test(plot, figures_config_is_checked_with_locations) {
  cr_assert_eq(check_figures("seed: 0\n"), SD_OK);
  cr_assert_eq(check_figures("figures:\n  - {panel: loss, y: [rel_error], x: step, scale: loglog}\n"
                             "  - {panel: family, metric: signal, phases: false}\n"
                             "  - {panel: lines, y: [signal, noise], xlim: [1, 100], ylabel: 'σ#di#u'}\n"
                             "  - {panel: heatmap, array: W1_final, colormap: diverging}\n"
                             "  - {panel: orientations, array: W1_final, initial: W1_0, scale: semilogy}\n"),
               SD_OK, "%s", sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - {panel: loss}\n  - {panel: family, metric: sigal}\n"), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "test.yaml:3:") && strstr(sd_error_message(), "did you mean 'signal'"), "%s",
            sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - {panel: family, metric: noise}\n"), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "use a lines panel"), "%s", sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - {panel: heatmap}\n"), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "needs 'array"), "%s", sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - {panel: heatmap, array: ../../etc/passwd}\n"), SD_ERR_CONFIG);
  cr_assert_eq(check_figures("figures:\n  - {panel: loss, scale: loglin}\n"), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "test.yaml:2:"), "%s", sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - {panel: loss, xlim: [5, 1]}\n"), SD_ERR_CONFIG);
  cr_assert_eq(check_figures("figures:\n  - {panel: loss, colormap: diverging}\n"), SD_ERR_CONFIG);
  cr_assert(strstr(sd_error_message(), "a loss panel has no 'colormap'"), "%s", sd_error_message());
  cr_assert_eq(check_figures("figures:\n  - loss\n"), SD_ERR_CONFIG);
  cr_assert_eq(check_figures("figures:\n  - {panel: lines, y: [rel_error], x: time}\n"), SD_ERR_CONFIG);
}

/* ---------------------------------------------------------------- the command line */

Test(plot, cli_is_headless_and_explains_itself) {
  char *d = th_tmpdir(), *run = make_run(d, "r", RUN_FIGURES, 0.1), cmd[2400], out[8192];
  /* no display, stdin closed */
  snprintf(cmd, sizeof cmd, "env -u DISPLAY %s plot %s --format svg --size 5x3 0<&- 2>&1", SADDLE_BINARY, run);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "figure: ") && strstr(out, "/figure.svg"), "%s", out);
  cr_assert(strstr(out, "note: ") && strstr(out, "no_such_column"), "%s", out);
  char svg[800];
  snprintf(svg, sizeof svg, "%s/figure.svg", run);
  assert_svg(svg, 360, 216);
  snprintf(cmd, sizeof cmd, "%s plot %s --list 2>&1 </dev/null", SADDLE_BINARY, run);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "u[0..2]") && strstr(out, "W_final") && strstr(out, "family:u"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s plot %s --panel family:nope 2>&1 </dev/null", SADDLE_BINARY, run);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 2, "%s", out);
  snprintf(cmd, sizeof cmd, "%s plot %s --format gif 2>&1 </dev/null", SADDLE_BINARY, run);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 2, "%s", out);
  snprintf(cmd, sizeof cmd, "%s plot 2>&1 </dev/null", SADDLE_BINARY);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 2, "%s", out);
  /* the cairo driver missing: a clear message naming the Debian package, no prompt, no file */
  snprintf(cmd, sizeof cmd, "PLPLOT_DRV_DIR=%s %s plot %s -o %s/nodriver.png 2>&1 </dev/null", d, SADDLE_BINARY, run, d);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "plplot-driver-cairo"), "%s", out);
  char png[800];
  struct stat st;
  snprintf(png, sizeof png, "%s/nodriver.png", d);
  cr_assert_neq(stat(png, &st), 0);
  free(run);
  free(d);
}

Test(plot, cli_compares_runs) {
  char *d = th_tmpdir(), *a = make_run(d, "a", 0, 0.1), *b = make_run(d, "b", 0, 0.05), cmd[2400], out[8192];
  snprintf(cmd, sizeof cmd, "cd %s && %s plot %s %s --panel loss --size 3.5x2.5 --dpi 150 2>&1 </dev/null", d, SADDLE_BINARY, a, b);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  char png[800];
  snprintf(png, sizeof png, "%s/compare.png", d);
  assert_png(png, 525, 375);
  free(a);
  free(b);
  free(d);
}

Test(plot, a_sweep_directory_is_drawn_as_a_comparison_of_its_runs) {
  char *d = th_tmpdir(), *a = make_run(d, "000-lr=0.1", 0, 0.1), *b = make_run(d, "001-lr=0.05", 0, 0.05);
  char sweep_csv[700];
  snprintf(sweep_csv, sizeof sweep_csv, "%s/sweep.csv", d);
  th_write(sweep_csv, "run,lr\n0,0.1\n1,0.05\n");
  const char *dir = d;
  sd_plot_options o = sd_plot_defaults();
  o.format = SD_PLOT_PDF;
  sd_plot_result r;
  cr_assert_eq(sd_plot_dirs(&dir, 1, &o, &r), SD_OK, "%s", sd_error_message());
  char want[700];
  snprintf(want, sizeof want, "%s/figure.pdf", d);
  cr_assert_str_eq(r.path, want);
  /* loss, relative error, train error and the family of each run: 3 + 1 panels, 2x2 (7 x 5 in) plus the band
   * naming the runs */
  size_t len;
  char *pdf = th_slurp(r.path, &len);
  cr_assert(count_str(pdf, len, "/MediaBox [ 0 0 504 ") > 0, "not 7 in wide");
  free(pdf);
  assert_pdf(r.path, 504, 378);
  sd_plot_result_free(&r);
  free(a);
  free(b);
  free(d);
}

Test(plot, format_names_and_driver_check) {
  sd_plot_format f;
  cr_assert_eq(sd_plot_format_parse("pdf", &f), SD_OK);
  cr_assert_eq(f, SD_PLOT_PDF);
  cr_assert_str_eq(sd_plot_format_ext(SD_PLOT_SVG), "svg");
  cr_assert_eq(sd_plot_format_parse("jpg", &f), SD_ERR_CONFIG);
  cr_assert_eq(sd_plot_driver_check(SD_PLOT_PNG), SD_OK, "%s", sd_error_message());
}

/* ---------------------------------------------------------------- out of memory */

Test(plot, every_allocation_failure_is_reported_cleanly) {
  char *d = th_tmpdir(), *run = make_run(d, "r", RUN_FIGURES, 0.1), out[700];
  snprintf(out, sizeof out, "%s/oom.svg", d);
  const char *panels[] = {"figure", "orientations:W_final,W_0"};
  sd_plot_result r;
  unsigned long before = sd_alloc_count();
  cr_assert_eq(draw(run, out, SD_PLOT_SVG, panels, 2, &r), SD_OK, "%s", sd_error_message());
  sd_plot_result_free(&r);
  long total = (long)(sd_alloc_count() - before);
  cr_assert(total > 10);
  /* fail each allocation in turn (a sample of them if there ever are many: the suite must stay fast) */
  long step = total > 300 ? total / 300 + 1 : 1;
  for (long n = 1; n <= total; n += step) {
    sd_alloc_fail_after(n);
    sd_status rc = draw(run, out, SD_PLOT_SVG, panels, 2, &r);
    sd_alloc_fail_after(0);
    if (rc == SD_OK) {
      sd_plot_result_free(&r);
      continue; /* an allocation whose failure only loses a note */
    }
    cr_assert_eq(rc, SD_ERR_NOMEM, "allocation %ld: %s (%s)", n, sd_status_name(rc), sd_error_message());
  }
  free(run);
  free(d);
}
