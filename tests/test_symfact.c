/* test_symfact.c: symmetric factorization: gradient, the Schur-complement closed form, saddle-to-saddle. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

Test(symfact, gradient_matches_central_differences) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem(
      "problem: {kind: symfact, n: 7, rank: 4, eigenvalues: [2, 1, 0.5, 0, -0.3, -0.6, -1], loss_scale: 0.5}\n"
      "init: {scale: 1.2}\nseed: 4\n",
      &cfg, &arr);
  double err = th_gradcheck(p, p->theta0, 1e-6);
  cr_assert_lt(err, 1e-8, "relative gradient error %g", err);
  /* an indefinite M or another loss scale: no closed form for S, so no schur_err column */
  cr_assert_eq(p->n_obs, 7u);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(symfact, schur_complement_is_zero_at_the_minimum_and_exact_at_the_start) {
  sd_config *cfg;
  sd_arrays *arr;
  sd_problem *p = th_problem("problem: {kind: symfact}\ninit: {scale: 0.5}\n", &cfg, &arr);
  cr_assert_eq(p->n_obs, 8u);
  double *obs = malloc(p->obs_total * sizeof *obs);
  p->ops->observe(p, p->theta0, 0.0, obs);
  /* rel_error, dist_plus, schur_norm, t_schur_norm, K_norm, P1_err, eig[5], schur_err */
  cr_assert_gt(obs[2], 1e-3);
  cr_assert_lt(obs[11], 1e-14, "S(0) = S0 exactly: %g", obs[11]);
  free(obs);
  sd_problem_free(&p);
  sd_arrays_free(&arr);
  sd_config_free(&cfg);
}

Test(symfact, reproduce_mohammadi24_schur) { th_reproduce("mohammadi24-schur", "5 of 5 claims pass"); }

Test(symfact, reproduce_mohammadi24_saddles) { th_reproduce("mohammadi24-saddles", "7 of 7 claims pass"); }

Test(symfact, bad_spectra_are_config_errors) {
  char cmd[2048], out[4096], path[600];
  char *d = th_tmpfile("c.yaml", "problem:\n  kind: symfact\n  n: 4\n  rank: 1\n  eigenvalues: [1, 0.5, 0, 0]\n", path,
                       sizeof path);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r", SADDLE_BINARY, path, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "c.yaml:4:9: problem.rank"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r problem.eigenvalues=1,2,0,0", SADDLE_BINARY, path, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "decreasing"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/r problem.eigenvalues=1,0", SADDLE_BINARY, path, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "2 values given, but n = 4"), "%s", out);
  free(d);
}

/* Every eigenvalue positive (r₁ = n = r): no Schur block at all (S is 0×0), and the flow still runs to M. */
Test(symfact, a_positive_definite_target_has_an_empty_schur_block) {
  char *d = th_tmpdir();
  char cmd[2048], out[4096];
  snprintf(cmd, sizeof cmd,
           "cd %s && printf 'problem: {kind: symfact, n: 3, rank: 3, eigenvalues: [1, 0.5, 0.25]}\\n"
           "init: {scale: 0.5}\\ndynamics: {kind: gd, lr: 0.2}\\nrun: {max_steps: 400}\\n' > c.yaml && %s run c.yaml -q -o r"
           " && /usr/bin/python3 -c \"import json; s = json.load(open('r/summary.json'));"
           "f = s['final']; assert f['rel_error'] < 1e-8 and f['schur_norm'] == 0, f; print('ok')\"",
           d, SADDLE_BINARY);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  free(d);
}

/* Event claims fail when the time is wrong, and are config errors without their keys. */
Test(symfact, event_claims_check_their_time) {
  char *d = th_tmpdir();
  char cmd[4096], out[8192];
  snprintf(cmd, sizeof cmd,
           "cd %s && sed 's/t: 9.210340/t: 9.22/' %s/examples/mohammadi24-saddles.yaml > wrong.yaml && %s reproduce wrong.yaml -o r",
           d, SADDLE_SOURCE_DIR, SADDLE_BINARY);
  cr_assert_eq(th_run(cmd, out, sizeof out), 1, "%s", out);
  cr_assert(strstr(out, "FAIL  the first mode is half-learned"), "%s", out);
  cr_assert(strstr(out, "PASS  the second at"), "%s", out);
  snprintf(cmd, sizeof cmd,
           "cd %s && sed 's/    t: 34.068773//' %s/examples/mohammadi24-saddles.yaml > bad.yaml && %s run bad.yaml -q -o b", d,
           SADDLE_SOURCE_DIR, SADDLE_BINARY);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "claims.t: claim 'the second at t₂ = 34.068773' (an event) needs t"), "%s", out);
  th_rmtmp(d);
}

Test(symfact, reproduce_mohammadi24_regimes) { th_reproduce("mohammadi24-regimes", "5 of 5 claims pass"); }
