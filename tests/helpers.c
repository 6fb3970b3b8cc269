/* helpers.c: shared bits of the Criterion suite (see helpers.h). */
#include "helpers.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "saddle/alloc.h"

sd_problem *th_problem(const char *yaml, sd_config **cfg_out, sd_arrays **arrays_out) {
  sd_config *cfg = NULL;
  cr_assert_eq(sd_config_load_string("test.yaml", yaml, &cfg), SD_OK, "%s", sd_error_message());
  const sd_param *base;
  size_t nb = sd_base_params(&base);
  const sd_problem_class *pc = sd_problem_class_find(sd_config_peek(cfg, "problem.kind"));
  cr_assert_not_null(pc);
  const sd_dynamics_class *dc = sd_dynamics_class_find("gd");
  static sd_param arr[8];
  size_t na = 0;
  for (const char *const *a = pc->arrays; *a; a++, na++)
    arr[na] = (sd_param){*a, SD_T_PATH, "", SD_NO_BOUNDS, NULL, ""};
  sd_config_add_schema(cfg, "", base, nb);
  sd_config_add_schema(cfg, "problem.", pc->params, pc->n_params);
  sd_config_add_schema(cfg, "init.", pc->init_params, pc->n_init_params);
  sd_config_add_schema(cfg, "arrays.", arr, na);
  sd_config_add_schema(cfg, "dynamics.", dc->params, dc->n_params);
  cr_assert_eq(sd_config_resolve(cfg), SD_OK, "%s", sd_error_message());
  sd_arrays *arrays = NULL;
  cr_assert_eq(sd_arrays_create(cfg, &arrays), SD_OK);
  sd_problem *p = NULL;
  cr_assert_eq(pc->create(cfg, (uint64_t)sd_config_int(cfg, "seed"), arrays, &p), SD_OK, "%s", sd_error_message());
  *cfg_out = cfg;
  *arrays_out = arrays;
  return p;
}

double th_gradcheck(sd_problem *p, const double *theta, double h) {
  size_t d = p->dim;
  double *g = malloc(d * sizeof *g), *x = malloc(d * sizeof *x);
  memcpy(x, theta, d * sizeof *x);
  p->ops->loss_grad(p, x, g);
  double gmax = 0, emax = 0;
  for (size_t i = 0; i < d; i++) gmax = fmax(gmax, fabs(g[i]));
  for (size_t i = 0; i < d; i++) {
    double xi = x[i];
    x[i] = xi + h;
    double fp = p->ops->loss_grad(p, x, NULL);
    x[i] = xi - h;
    double fm = p->ops->loss_grad(p, x, NULL);
    x[i] = xi;
    double fd = (fp - fm) / (2 * h);
    emax = fmax(emax, fabs(fd - g[i]));
  }
  free(g);
  free(x);
  return emax / gmax;
}

int th_sh(const char *cmd, char *out, size_t len) {
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  size_t n = 0;
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
    if (out && n + 1 < len) {
      size_t c = k < len - 1 - n ? k : len - 1 - n;
      memcpy(out + n, buf, c);
      n += c;
    }
  }
  if (out && len) out[n] = '\0';
  int st = pclose(f);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int th_run(const char *cmd, char *out, size_t len) {
  size_t n = strlen(cmd) + 64;
  char *full = malloc(n);
  snprintf(full, n, "OPENBLAS_NUM_THREADS=1 %s 2>&1", cmd);
  int rc = th_sh(full, out, len);
  free(full);
  return rc;
}

void th_reproduce(const char *name, const char *expect) {
  char *d = th_tmpdir();
  char cmd[2048], out[16384];
  snprintf(cmd, sizeof cmd, "%s reproduce %s -q -o %s/r", SADDLE_BINARY, name, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, expect), "%s", out);
  th_rmtmp(d);
}

int th_same_file(const char *a, const char *b) {
  size_t la = 0, lb = 0;
  char *x = th_slurp(a, &la), *y = th_slurp(b, &lb);
  int same = x && y && la == lb && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return same;
}

void th_rmtmp(char *dir) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  th_sh(cmd, NULL, 0);
  free(dir);
}

char *th_tmpdir(void) {
  char tmpl[] = "/tmp/saddle-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  cr_assert_not_null(d);
  return strdup(d);
}

void th_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

char *th_tmpfile(const char *name, const char *text, char *path, size_t len) {
  char *d = th_tmpdir();
  char p[600];
  snprintf(p, sizeof p, "%s/%s", d, name);
  th_write(p, text);
  if (path) snprintf(path, len, "%s", p);
  return d;
}

char *th_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  if (len) *len = got;
  return s;
}

int th_py(const char *code, char *out, size_t len) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"%s\" 2>&1", code);
  return th_sh(cmd, out, len);
}
