/* plot.c: figures of run directories: panel choice, comparison legends, page layout, the file (see plot.h). */
#include "saddle/plot.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot/axes.h"
#include "plot/canvas.h"
#include "plot/panels.h"
#include "plot/rundir.h"
#include "plot/spec.h"
#include "plot/tree.h"
#include "saddle/alloc.h"

#define MAX_PANELS 12
#define MAX_RUNS 16

static int cmp_str(const void *a, const void *b);

sd_plot_options sd_plot_defaults(void) {
  sd_plot_options o;
  memset(&o, 0, sizeof o);
  o.format = SD_PLOT_PNG;
  return o;
}

const char *sd_plot_format_ext(sd_plot_format f) { return f == SD_PLOT_SVG ? "svg" : f == SD_PLOT_PDF ? "pdf" : "png"; }

sd_status sd_plot_format_parse(const char *s, sd_plot_format *f) {
  if (!strcmp(s, "png")) *f = SD_PLOT_PNG;
  else if (!strcmp(s, "svg")) *f = SD_PLOT_SVG;
  else if (!strcmp(s, "pdf")) *f = SD_PLOT_PDF;
  else return sd_error(SD_ERR_CONFIG, "unknown figure format '%s' (expected png, svg or pdf)", s);
  return SD_OK;
}

sd_status sd_plot_driver_check(sd_plot_format f) {
  const char *dev = sd_cv_device(f);
  if (sd_cv_has_device(dev)) return SD_OK;
  return sd_error(SD_ERR_IO, "cannot draw %s: PLplot has no '%s' driver; install the Debian package plplot-driver-cairo",
                  sd_plot_format_ext(f), dev);
}

void sd_plot_result_free(sd_plot_result *res) {
  if (!res) return;
  sd_free(res->path);
  sd_free(res->notes);
  res->path = res->notes = NULL;
}

/* ---------------------------------------------------------------- validation at prepare time */

sd_status sd_plot_check_config(const sd_config *cfg, const sd_metrics *m) {
  const sd_cfg_node *list = sd_config_list(cfg, "figures");
  if (!list) return SD_OK;
  if (list->kind != SD_NODE_SEQ)
    return sd_config_fail(cfg, "figures", "expected a list of panels, e.g. [{panel: loss}, {panel: family, metric: signal}]");
  size_t n = sd_metrics_cols(m);
  const char **cols = sd_malloc((n + 1) * sizeof *cols);
  if (!cols) return sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) cols[i] = sd_metrics_name(m, i);
  sd_spec_ctx ctx = {cfg};
  sd_status rc = SD_OK;
  if (list->n_kids > MAX_PANELS)
    rc = sd_config_fail(cfg, "figures", "%zu panels: a figure holds at most %d", list->n_kids, MAX_PANELS);
  for (size_t i = 0; rc == SD_OK && i < list->n_kids; i++) {
    sd_panel_spec s;
    rc = sd_spec_from_node(&ctx, list->kids[i], &s);
    if (rc == SD_OK) rc = sd_spec_check_columns(&ctx, list->kids[i], &s, cols, n);
    sd_spec_free(&s);
  }
  sd_free(cols);
  return rc;
}

/* ---------------------------------------------------------------- comparison labels */

typedef struct {
  char **key, **val;
  size_t n, cap;
} kvlist;

static sd_status kv_add(const char *key, const char *value, void *ctx) {
  kvlist *l = ctx;
  if (!strcmp(key, "description") || !strcmp(key, "paper")) return SD_OK;
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 64;
    char **k = sd_realloc(l->key, nc * sizeof *k);
    if (!k) return sd_error(SD_ERR_NOMEM, "out of memory");
    l->key = k;
    char **v = sd_realloc(l->val, nc * sizeof *v);
    if (!v) return sd_error(SD_ERR_NOMEM, "out of memory");
    l->val = v;
    l->cap = nc;
  }
  l->key[l->n] = sd_strdup(key);
  l->val[l->n] = sd_strdup(value);
  if (!l->key[l->n] || !l->val[l->n]) {
    sd_free(l->key[l->n]);
    sd_free(l->val[l->n]);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  l->n++;
  return SD_OK;
}

static void kv_free(kvlist *l) {
  for (size_t i = 0; i < l->n; i++) sd_free(l->key[i]), sd_free(l->val[i]);
  sd_free(l->key);
  sd_free(l->val);
  memset(l, 0, sizeof *l);
}

static const char *kv_get(const kvlist *l, const char *key) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->key[i], key)) return l->val[i];
  return NULL;
}

/* Legend labels: the config keys whose values differ between the runs ("dynamics.kind=gd, init.scale=1e-6"),
 * shortened to their last part when that is unambiguous; the directory name when nothing differs. */
static sd_status make_labels(sd_rundir *const *runs, size_t n, char **labels) {
  kvlist *kv = sd_calloc(n, sizeof *kv);
  if (!kv) return sd_error(SD_ERR_NOMEM, "out of memory");
  sd_status rc = SD_OK;
  for (size_t r = 0; r < n && rc == SD_OK; r++)
    if (runs[r]->config) rc = sd_tree_flatten(runs[r]->config->root, kv_add, &kv[r]);
  /* differing keys, in the order of the first run that has them: first those every run has; keys that only
   * some runs have (those of another dynamics kind) only when nothing else tells the runs apart */
  const char *diff[8];
  size_t nd = 0;
  for (int pass = 0; pass < 2 && nd == 0; pass++)
    for (size_t r = 0; r < n && rc == SD_OK; r++)
      for (size_t i = 0; i < kv[r].n && nd < 8; i++) {
        const char *k = kv[r].key[i];
        int seen = 0;
        for (size_t j = 0; j < nd; j++) seen |= !strcmp(diff[j], k);
        if (seen) continue;
        int differs = 0, everywhere = 1;
        for (size_t q = 0; q < n; q++) {
          const char *v = kv_get(&kv[q], k);
          if (!v || strcmp(v, kv[r].val[i])) differs = 1;
          if (!v) everywhere = 0;
        }
        if (differs && (everywhere || pass == 1)) diff[nd++] = k;
      }
  for (size_t r = 0; r < n && rc == SD_OK; r++) {
    char buf[400] = "";
    size_t shown = 0;
    for (size_t j = 0; j < nd && shown < 3; j++) {
      const char *v = kv_get(&kv[r], diff[j]);
      const char *dot = strrchr(diff[j], '.');
      const char *shortk = dot ? dot + 1 : diff[j];
      int clash = 0;
      for (size_t q = 0; q < nd; q++) {
        const char *d2 = strrchr(diff[q], '.');
        if (q != j && !strcmp(d2 ? d2 + 1 : diff[q], shortk)) clash = 1;
      }
      char item[200];
      snprintf(item, sizeof item, "%s%s=%s", shown ? ", " : "", clash ? diff[j] : shortk, v ? v : "(none)");
      strncat(buf, item, sizeof buf - strlen(buf) - 1);
      shown++;
    }
    if (nd > 3) strncat(buf, ", …", sizeof buf - strlen(buf) - 1);
    if (!shown) {
      const char *base = strrchr(runs[r]->dir, '/');
      snprintf(buf, sizeof buf, "%s", base ? base + 1 : runs[r]->dir);
    }
    char esc[800];
    sd_cv_escape(buf, esc, sizeof esc);
    if (!(labels[r] = sd_strdup(esc))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
  }
  for (size_t r = 0; r < n; r++) kv_free(&kv[r]);
  sd_free(kv);
  return rc;
}

/* ---------------------------------------------------------------- the panels of a figure */

typedef struct {
  sd_panel_spec *specs;
  size_t n, cap;
} speclist;

static sd_status take(speclist *l, sd_panel_spec *s) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? 2 * l->cap : 8;
    sd_panel_spec *p = sd_realloc(l->specs, nc * sizeof *p);
    if (!p) {
      sd_spec_free(s);
      return sd_error(SD_ERR_NOMEM, "out of memory");
    }
    l->specs = p;
    l->cap = nc;
  }
  l->specs[l->n++] = *s;
  memset(s, 0, sizeof *s);
  return SD_OK;
}

static sd_status add_auto(speclist *l, const sd_rundir *rd, size_t n_runs) {
  sd_panel_spec *a;
  size_t n;
  SD_TRY(n_runs > 1 ? sd_spec_auto_compare(rd, n_runs, &a, &n) : sd_spec_auto(rd, &a, &n));
  sd_status rc = SD_OK;
  for (size_t i = 0; i < n; i++)
    if (rc == SD_OK) rc = take(l, &a[i]);
    else sd_spec_free(&a[i]);
  sd_free(a);
  return rc;
}

static sd_status add_figures(speclist *l, const sd_rundir *rd, size_t n_runs, int required) {
  const sd_cfg_node *list = rd->config ? sd_tree_at(rd->config->root, "figures") : NULL;
  if (!list) {
    if (required)
      return sd_error(SD_ERR_CONFIG, "%s: the run's config has no figures: list (use --panel auto or name panels)", rd->dir);
    return add_auto(l, rd, n_runs);
  }
  if (list->kind != SD_NODE_SEQ)
    return sd_error(SD_ERR_CONFIG, "%s:%d:%d: figures: expected a list of panels", list->file, list->line, list->col);
  sd_spec_ctx ctx = {NULL};
  for (size_t i = 0; i < list->n_kids; i++) {
    sd_panel_spec s;
    SD_TRY(sd_spec_from_node(&ctx, list->kids[i], &s));
    SD_TRY(take(l, &s));
  }
  return SD_OK;
}

static sd_status collect_specs(const sd_plot_options *opt, sd_rundir *const *runs, size_t n_runs, speclist *l) {
  const sd_rundir *rd = runs[0];
  if (opt->n_panels == 0) return add_figures(l, rd, n_runs, 0);
  for (size_t i = 0; i < opt->n_panels; i++) {
    const char *arg = opt->panels[i];
    if (!strcmp(arg, "auto")) {
      SD_TRY(add_auto(l, rd, n_runs));
      continue;
    }
    if (!strcmp(arg, "figure") || !strcmp(arg, "figures")) {
      SD_TRY(add_figures(l, rd, n_runs, 1));
      continue;
    }
    sd_panel_spec s;
    SD_TRY(sd_spec_from_arg(arg, &s));
    /* a panel asked for by name must exist in the (first) run */
    sd_status rc = sd_spec_check_columns(NULL, NULL, &s, (const char *const *)rd->cols, rd->n_cols);
    if (rc == SD_OK && (s.kind == SD_PANEL_HEATMAP || s.kind == SD_PANEL_ORIENT)) {
      char path[4400];
      struct stat st;
      snprintf(path, sizeof path, "%s/arrays/%s.npy", rd->dir, s.array);
      if (stat(path, &st) != 0) rc = sd_error(SD_ERR_CONFIG, "--panel %s: no array '%s' in %s/arrays", arg, s.array, rd->dir);
    }
    if (rc != SD_OK) {
      sd_spec_free(&s);
      return rc;
    }
    SD_TRY(take(l, &s));
  }
  return SD_OK;
}

/* ---------------------------------------------------------------- drawing, guarded against plexit() */

typedef struct {
  const sd_plot_options *opt;
  sd_rundir *const *runs;
  size_t n_runs;
  const char *const *labels;
  const speclist *specs;
  const size_t *inst_run; /* per panel instance: its spec and run */
  const size_t *inst_spec;
  size_t n_inst, cols, rows;
  double w_pt, h_pt, dpi;
  double legend_h; /* the band naming the runs of a comparison, at the bottom of the page */
  const char *path;
} job;

static sd_status draw_all(void *arg) {
  const job *j = arg;
  sd_canvas cv;
  SD_TRY(sd_cv_open(&cv, j->opt->format, j->path, j->w_pt, j->h_pt, j->dpi));
  sd_figure_ctx f = {&cv, j->runs, j->n_runs, j->labels, j->opt->x ? j->opt->x : "t"};
  /* a comparison names its runs once, in a band under the panels */
  sd_legend_entry e[MAX_RUNS];
  for (size_t r = 0; r < j->n_runs && j->n_runs > 1 && r < MAX_RUNS; r++) {
    memset(&e[r], 0, sizeof e[r]);
    e[r].label = j->labels[r];
    e[r].width = 1.15;
    sd_run_style(r, &e[r].color, &e[r].dash);
  }
  double band = j->n_runs > 1 ? j->legend_h : 0;
  if (band > 0) sd_cv_legend_band(&cv, e, j->n_runs, 0, cv.w_pt, band, 1);
  double cw = cv.w_pt / (double)j->cols, rh = (cv.h_pt - band) / (double)j->rows;
  sd_status rc = SD_OK;
  for (size_t i = 0; i < j->n_inst && rc == SD_OK; i++) {
    size_t col = i % j->cols, row = i / j->cols;
    char letter[8] = "";
    if (j->n_inst > 1) snprintf(letter, sizeof letter, "(%c)", (char)('a' + i));
    double x0 = (double)col * cw, y1 = cv.h_pt - (double)row * rh;
    rc = sd_panel_draw(&f, &j->specs->specs[j->inst_spec[i]], j->inst_run[i], letter, x0, x0 + cw, y1 - rh, y1);
  }
  sd_cv_close(&cv);
  return rc;
}

/* ---------------------------------------------------------------- sweeps */

static int has_file(const char *dir, const char *name) {
  char path[4400];
  struct stat st;
  int w = snprintf(path, sizeof path, "%s/%s", dir, name);
  return w > 0 && (size_t)w < sizeof path && stat(path, &st) == 0;
}

/* The run directories to draw: each given one, or, for the directory of a sweep (no metrics.csv of its own,
 * runs in subdirectories), its runs in order. labels[i]: the sweep's label of run i ("kappa=10,method=gd"),
 * NULL for a directory given as such. */
static sd_status expand_dirs(const char *const *dirs, size_t n, char ***paths, char ***labels, size_t *np) {
  size_t cap = MAX_RUNS + 1, k = 0;
  char **p = sd_calloc(cap, sizeof *p), **l = sd_calloc(cap, sizeof *l);
  sd_status rc = p && l ? SD_OK : sd_error(SD_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n && rc == SD_OK; i++) {
    struct stat st;
    int sweep = stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode) && !has_file(dirs[i], "metrics.csv") &&
                !has_file(dirs[i], ".metrics.csv.tmp");
    size_t found = 0;
    if (sweep) {
      DIR *d = opendir(dirs[i]);
      char *names[256];
      size_t nn = 0;
      struct dirent *de;
      while (d && (de = readdir(d)) != NULL && nn < 256) {
        if (de->d_name[0] == '.') continue;
        char sub[4400];
        snprintf(sub, sizeof sub, "%s/%s", dirs[i], de->d_name);
        if (has_file(sub, "metrics.csv") || has_file(sub, ".metrics.csv.tmp")) {
          if (!(names[nn] = sd_strdup(de->d_name))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
          else nn++;
        }
      }
      if (d) closedir(d);
      qsort(names, nn, sizeof *names, cmp_str);
      for (size_t j = 0; j < nn; j++) {
        if (rc == SD_OK && k >= MAX_RUNS)
          rc = sd_error(SD_ERR_CONFIG, "%s: more than %d runs: a comparison overlays at most %d (name the runs to draw)",
                        dirs[i], MAX_RUNS, MAX_RUNS);
        if (rc == SD_OK) {
          size_t len = strlen(dirs[i]) + strlen(names[j]) + 2;
          const char *lab = names[j];
          while (*lab >= '0' && *lab <= '9') lab++; /* "003-kappa=1,method=als": the sweep's label */
          lab = *lab == '-' && lab[1] ? lab + 1 : names[j];
          p[k] = sd_malloc(len);
          l[k] = sd_strdup(lab);
          if (!p[k] || !l[k]) rc = sd_error(SD_ERR_NOMEM, "out of memory");
          else snprintf(p[k], len, "%s/%s", dirs[i], names[j]);
          k++;
          found++;
        }
        sd_free(names[j]);
      }
    }
    if (rc == SD_OK && !found) { /* a run directory (or not: sd_rundir_open says why) */
      if (k >= MAX_RUNS) rc = sd_error(SD_ERR_CONFIG, "a comparison overlays at most %d runs", MAX_RUNS);
      else if (!(p[k++] = sd_strdup(dirs[i]))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    }
  }
  if (rc != SD_OK) {
    for (size_t i = 0; p && l && i < cap; i++) sd_free(p[i]), sd_free(l[i]);
    sd_free(p);
    sd_free(l);
    return rc;
  }
  *paths = p;
  *labels = l;
  *np = k;
  return SD_OK;
}

/* ---------------------------------------------------------------- the figure */

sd_status sd_plot_dirs(const char *const *given, size_t n_given, const sd_plot_options *opt_in, sd_plot_result *res) {
  memset(res, 0, sizeof *res);
  sd_plot_options opt = opt_in ? *opt_in : sd_plot_defaults();
  if (n_given == 0) return sd_error(SD_ERR_CONFIG, "no run directory to plot");
  if (n_given > MAX_RUNS) return sd_error(SD_ERR_CONFIG, "%zu run directories: a comparison overlays at most %d", n_given, MAX_RUNS);
  if (opt.dpi == 0) opt.dpi = 200;
  if (!(opt.dpi >= 30 && opt.dpi <= 1200)) return sd_error(SD_ERR_CONFIG, "dpi %g out of range [30, 1200]", opt.dpi);
  if ((opt.width_in != 0 && !(opt.width_in >= 1 && opt.width_in <= 40)) ||
      (opt.height_in != 0 && !(opt.height_in >= 1 && opt.height_in <= 40)))
    return sd_error(SD_ERR_CONFIG, "figure size %gx%g in: each side must be between 1 and 40 inches", opt.width_in, opt.height_in);
  if (opt.x && strcmp(opt.x, "t") && strcmp(opt.x, "step")) return sd_error(SD_ERR_CONFIG, "x axis '%s': expected t or step", opt.x);
  SD_TRY(sd_plot_driver_check(opt.format));

  char **dirs = NULL, **sweep_labels = NULL;
  size_t n_dirs = 0;
  SD_TRY(expand_dirs(given, n_given, &dirs, &sweep_labels, &n_dirs));
  sd_status rc = SD_OK;
  sd_rundir **runs = sd_calloc(n_dirs, sizeof *runs);
  char **labels = sd_calloc(n_dirs, sizeof *labels);
  speclist specs = {0};
  size_t *inst_run = NULL, *inst_spec = NULL;
  char *path = NULL, *tmp = NULL;
  if (!runs || !labels) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n_dirs && rc == SD_OK; i++) rc = sd_rundir_open(dirs[i], &runs[i]);
  if (rc == SD_OK && n_dirs > 1) rc = make_labels(runs, n_dirs, labels);
  /* runs of a sweep are named by the sweep's labels */
  for (size_t i = 0; i < n_dirs && rc == SD_OK && n_dirs > 1; i++)
    if (sweep_labels[i]) {
      char esc[600];
      sd_free(labels[i]);
      if (!(labels[i] = sd_strdup(sd_cv_escape(sweep_labels[i], esc, sizeof esc)))) rc = sd_error(SD_ERR_NOMEM, "out of memory");
    }
  if (rc == SD_OK) rc = collect_specs(&opt, runs, n_dirs, &specs);
  if (rc != SD_OK) goto done;
  /* instances: array panels once per run in a comparison */
  size_t n_inst = 0;
  for (size_t i = 0; i < specs.n; i++)
    n_inst += (specs.specs[i].kind == SD_PANEL_HEATMAP || specs.specs[i].kind == SD_PANEL_ORIENT) ? n_dirs : 1;
  if (n_inst == 0) {
    rc = sd_error(SD_ERR_CONFIG, "no panel to draw");
    goto done;
  }
  if (n_inst > MAX_PANELS) {
    rc = sd_error(SD_ERR_CONFIG, "%zu panels: a figure holds at most %d (name fewer with --panel)", n_inst, MAX_PANELS);
    goto done;
  }
  inst_run = sd_malloc(n_inst * sizeof *inst_run);
  inst_spec = sd_malloc(n_inst * sizeof *inst_spec);
  if (!inst_run || !inst_spec) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done;
  }
  size_t k = 0;
  for (size_t i = 0; i < specs.n; i++) {
    int per_run = specs.specs[i].kind == SD_PANEL_HEATMAP || specs.specs[i].kind == SD_PANEL_ORIENT;
    for (size_t r = 0; r < (per_run ? n_dirs : 1); r++) inst_spec[k] = i, inst_run[k] = r, k++;
  }
  /* the page: a paper column for one panel, the full width (7 in) for more */
  size_t cols = n_inst == 1 ? 1 : n_inst == 2 ? 2 : n_inst == 3 ? 3 : n_inst == 4 ? 2 : 3;
  size_t rows = (n_inst + cols - 1) / cols;
  double w_in = opt.width_in ? opt.width_in : cols == 1 ? 3.5 : 7.0;
  double row_in = cols == 1 ? 2.6 : cols == 2 ? 2.5 : 2.15;
  /* the legend band of a comparison: its height for the page's width (text widths are estimates in points) */
  double band = 0;
  if (n_dirs > 1) {
    sd_legend_entry e[MAX_RUNS];
    memset(e, 0, sizeof e);
    for (size_t r = 0; r < n_dirs; r++) e[r].label = labels[r];
    band = sd_cv_legend_band(NULL, e, n_dirs, 0, 72.0 * (opt.width_in ? opt.width_in : cols == 1 ? 3.5 : 7.0), 0, 0);
  }
  double h_in = opt.height_in ? opt.height_in : row_in * (double)rows + band / 72.0;
  double w_pt, h_pt;
  if (opt.format == SD_PLOT_PNG) {
    w_pt = (double)lround(w_in * opt.dpi) * 72.0 / opt.dpi;
    h_pt = (double)lround(h_in * opt.dpi) * 72.0 / opt.dpi;
  } else {
    w_pt = (double)lround(w_in * 72.0);
    h_pt = (double)lround(h_in * 72.0);
  }
  /* the file: written under a temporary name next to it, renamed when complete */
  const char *ext = sd_plot_format_ext(opt.format);
  size_t plen = (opt.out ? strlen(opt.out) : strlen(given[0]) + strlen(runs[0]->dir)) + 32;
  path = sd_malloc(plen);
  tmp = sd_malloc(plen + 32);
  if (!path || !tmp) {
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (opt.out) snprintf(path, plen, "%s", opt.out);
  else if (n_dirs == 1) snprintf(path, plen, "%s/figure.%s", runs[0]->dir, ext);
  else if (n_given == 1) snprintf(path, plen, "%s/figure.%s", given[0], ext); /* a sweep's directory */
  else snprintf(path, plen, "compare.%s", ext);
  {
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
    snprintf(tmp, plen + 32, "%.*s.%s.tmp%ld", (int)dl, path, path + dl, (long)getpid());
    FILE *t = fopen(tmp, "wb");
    if (!t) {
      rc = sd_error(SD_ERR_IO, "cannot write the figure %s: %s", path, strerror(errno));
      goto done;
    }
    fclose(t);
  }
  job j = {&opt, runs, n_dirs, (const char *const *)labels, &specs, inst_run, inst_spec, n_inst, cols, rows, w_pt, h_pt, opt.dpi, band, tmp};
  rc = sd_cv_guard(draw_all, &j);
  if (rc == SD_OK) {
    struct stat st;
    if (stat(tmp, &st) != 0 || st.st_size == 0) rc = sd_error(SD_ERR_IO, "PLplot wrote nothing to %s", path);
    else if (rename(tmp, path) != 0) rc = sd_error(SD_ERR_IO, "cannot write the figure %s: %s", path, strerror(errno));
  }
  if (rc != SD_OK) remove(tmp);
  if (rc == SD_OK) {
    size_t total = 1;
    for (size_t i = 0; i < n_dirs; i++) total += runs[i]->notes_len;
    res->notes = sd_malloc(total);
    if (!res->notes) {
      rc = sd_error(SD_ERR_NOMEM, "out of memory");
      goto done;
    }
    res->notes[0] = '\0';
    for (size_t i = 0; i < n_dirs; i++)
      if (runs[i]->notes) strcat(res->notes, runs[i]->notes);
    res->path = path;
    path = NULL;
  }
done:
  sd_free(path);
  sd_free(tmp);
  sd_free(inst_run);
  sd_free(inst_spec);
  for (size_t i = 0; i < specs.n; i++) sd_spec_free(&specs.specs[i]);
  sd_free(specs.specs);
  if (runs)
    for (size_t i = 0; i < n_dirs; i++) sd_rundir_free(&runs[i]);
  if (labels)
    for (size_t i = 0; i < n_dirs; i++) sd_free(labels[i]);
  sd_free(runs);
  sd_free(labels);
  for (size_t i = 0; i < n_dirs; i++) sd_free(dirs[i]), sd_free(sweep_labels[i]);
  sd_free(dirs);
  sd_free(sweep_labels);
  if (rc != SD_OK) sd_plot_result_free(res);
  return rc;
}

/* ---------------------------------------------------------------- --list */

typedef struct {
  char *s;
  size_t n, cap;
  int oom;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(strbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (w < 0) return;
  size_t add = strlen(line);
  if (b->n + add + 1 > b->cap) {
    size_t nc = (b->cap + add + 1) * 2;
    char *p = sd_realloc(b->s, nc);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->s = p;
    b->cap = nc;
  }
  memcpy(b->s + b->n, line, add + 1);
  b->n += add;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

sd_status sd_plot_describe(const char *dir, char **text) {
  *text = NULL;
  sd_rundir *rd = NULL;
  SD_TRY(sd_rundir_open(dir, &rd));
  strbuf b = {0};
  sb_add(&b, "%s: %s, %zu rows, status %s\n", rd->dir, rd->experiment, rd->n_rows, *rd->status ? rd->status : "unknown");
  sb_add(&b, "columns:");
  for (size_t c = 0; c < rd->n_cols; c++) {
    char fam[256];
    if (sd_col_family(rd->cols[c], fam, sizeof fam)) {
      if (strcmp(rd->cols[c] + strlen(fam), "[0]") != 0) continue;
      sb_add(&b, " %s[0..%zu]", fam, sd_rundir_family(rd, fam, NULL, 0) - 1);
    } else {
      sb_add(&b, " %s", rd->cols[c]);
    }
  }
  sb_add(&b, "\narrays:");
  char adir[4400];
  snprintf(adir, sizeof adir, "%s/arrays", rd->dir);
  DIR *d = opendir(adir);
  if (d) {
    char *names[512];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 512) {
      size_t len = strlen(de->d_name);
      if (len > 4 && !strcmp(de->d_name + len - 4, ".npy") && de->d_name[0] != '.') {
        names[n] = sd_strdup(de->d_name);
        if (names[n]) names[n][len - 4] = '\0', n++;
      }
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
      sb_add(&b, " %s", names[i]);
      sd_free(names[i]);
    }
    if (!n) sb_add(&b, " (none)");
  } else {
    sb_add(&b, " (no arrays/ directory)");
  }
  sb_add(&b, "\nphases:");
  for (size_t i = 0; i < rd->n_phases; i++)
    sb_add(&b, " %s%s", rd->phases[i].name, rd->phases[i].reached ? "" : " (not reached)");
  if (!rd->n_phases) sb_add(&b, " (none known)");
  sb_add(&b, "\nplateaus: %zu of %s\n", rd->n_plateaus, rd->plateau_metric ? rd->plateau_metric : "(unknown metric)");
  const sd_cfg_node *figs = rd->config ? sd_tree_at(rd->config->root, "figures") : NULL;
  sb_add(&b, "figures: %s\n", figs ? "yes (the default panels of `saddle plot`)" : "no (`saddle plot` draws the automatic panels)");
  sd_panel_spec *a = NULL;
  size_t na = 0;
  sd_status rc = sd_spec_auto(rd, &a, &na);
  if (rc == SD_OK) {
    sb_add(&b, "automatic panels (--panel auto):");
    for (size_t i = 0; i < na; i++) {
      sb_add(&b, "\n  %s", sd_panel_kind_name(a[i].kind));
      for (size_t j = 0; j < a[i].n_y; j++) sb_add(&b, "%s%s", j ? "," : ":", a[i].y[j]);
      if (a[i].reference) sb_add(&b, "  (with %s dashed)", a[i].reference);
    }
    sb_add(&b, "\n");
    sd_specs_free(a, na);
  } else {
    sd_error_clear();
    rc = SD_OK;
  }
  if (!b.oom && rd->notes) sb_add(&b, "%s", rd->notes);
  sd_rundir_free(&rd);
  if (b.oom) {
    sd_free(b.s);
    return sd_error(SD_ERR_NOMEM, "out of memory");
  }
  *text = b.s;
  return rc;
}
