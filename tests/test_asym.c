/* test_asym.c: asymmetric factorization and sensing: gradients, the ScaledGD preconditioner, AltScaledGD, and
 * the bundled jia23-kappa and tong21-scaledgd sweeps. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

Test(asym, gradients_match_central_differences) {
  const char *cfgs[] = {
      "problem: {kind: asym, rows: 7, cols: 5, rank: 2, width: 3, operator: identity, kappa: 4}\ninit: {scale: 2}\n",
      "problem: {kind: asym, rows: 6, cols: 4, rank: 2, width: 2, operator: gaussian, measurements: 30, loss_scale: 0.25}\n"
      "init: {scale: 1.5, normalize: none}\nseed: 3\n"};
  for (int i = 0; i < 2; i++) {
    sd_config *cfg;
    sd_arrays *arr;
    sd_problem *p = th_problem(cfgs[i], &cfg, &arr);
    double err = th_gradcheck(p, p->theta0, 1e-6);
    cr_assert_lt(err, 1e-8, "config %d: relative gradient error %g", i, err);
    sd_problem_free(&p);
    sd_arrays_free(&arr);
    sd_config_free(&cfg);
  }
}

Test(asym, scaledgd_preconditions_each_factor_with_the_other) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: asym, rows: 6, cols: 5, rank: 2, width: 2}\ninit: {scale: 3, normalize: none}\n",
                             &cfg, &arr);
  const double *L = p->theta0, *R = p->theta0 + 12;
  double g[22], pg[22];
  for (int i = 0; i < 22; i++) g[i] = pg[i] = sin(0.7 * i + 0.1);
  cr_assert_eq(p->ops->precondition(p, p->theta0, pg, 0.0), SD_OK);
  /* the L part times RᵀR gives back the L part of g, the R part times LᵀL the R part */
  double err = 0;
  for (int part = 0; part < 2; part++) {
    const double *F = part ? L : R;
    int rows = part ? 5 : 6, frows = part ? 6 : 5, off = part ? 12 : 0;
    for (int i = 0; i < rows; i++)
      for (int b = 0; b < 2; b++) {
        double back = 0;
        for (int a = 0; a < 2; a++) {
          double k = 0;
          for (int j = 0; j < frows; j++) k += F[j * 2 + a] * F[j * 2 + b];
          back += pg[off + i * 2 + a] * k;
        }
        err = fmax(err, fabs(back - g[off + i * 2 + b]));
      }
  }
  cr_assert_lt(err, 1e-12, "%g", err);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(asym, reproduce_jia23_kappa) { th_reproduce("jia23-kappa", "10 of 10 claims pass"); }

Test(asym, reproduce_tong21_scaledgd) { th_reproduce("tong21-scaledgd", "4 of 4 claims pass"); }

Test(asym, alternating_needs_blocks) {
  char *d = th_tmpdir();
  char cmd[2048], out[4096], path[600];
  snprintf(path, sizeof path, "%s/c.yaml", d);
  FILE *f = fopen(path, "w");
  fputs("problem: {kind: sensing}\ndynamics: {kind: scaled_gd, alternating: true}\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r", SADDLE_BINARY, path, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "dynamics.alternating"), "%s", out);
  free(d);
}
