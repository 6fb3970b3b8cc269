/* test_flow.c: the ARKODE gradient flow against exact solutions: e^{−Ht} on a quadratic at every output
 * time, convergence events, and GD approaching the flow linearly in the step size. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const char *QUAD_FLOW =
    "problem: {kind: quadratic, d: 8, h_max: 3, h_min: 0.03, spectrum: log}\n"
    "dynamics: {kind: flow, t_max: 60}\n"
    "observe: {per_decade: 10, t_first: 0.01}\n"
    "seed: 4\n";

/* Python that checks every mode[i] column against e^{−h_i t}·mode_i(0); prints the max error. */
static const char *CHECK_MODES =
    "import csv, sys, numpy as np; d = sys.argv[1]; tol = float(sys.argv[2]);"
    "rows = list(csv.reader(open(d + '/metrics.csv'))); h = rows[0]; r = np.array(rows[1:], float);"
    "t = r[:, h.index('t')]; m = np.array([r[:, h.index('mode[%d]' % i)] for i in range(8)]).T;"
    "spec = np.load(d + '/arrays/spectrum_H.npy');"
    "exact = m[0] * np.exp(-np.outer(t, spec)); err = np.abs(m - exact).max() / np.abs(m[0]).max();"
    "print('rows', len(t), 't_end', t[-1], 'max error', err); sys.exit(0 if err < tol and len(t) > 30 else 1)";

static void check_flow(const char *extra, double tol) {
  char yaml[2048], cmd[4096], out[4096];
  snprintf(yaml, sizeof yaml, "%s%s", QUAD_FLOW, extra);
  char *dir = th_tmpfile("cfg.yaml", yaml, NULL, 0);
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r", SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"%s\" %s/r %g", CHECK_MODES, dir, tol);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_log_info("%s", out);
  free(dir);
}

Test(flow, erk_matches_the_exponential_at_every_output_time) {
  check_flow("dynamics.rtol: 1.0e-10\ndynamics.atol: 1.0e-14\n", 1e-8);
}

Test(flow, dirk_with_krylov_matches_the_exponential) {
  check_flow("dynamics.method: dirk\ndynamics.order: 4\ndynamics.rtol: 1.0e-9\ndynamics.atol: 1.0e-13\n", 1e-6);
}

Test(flow, looser_tolerance_gives_a_larger_error) {
  /* the error follows the requested tolerance: rtol 1e-5 must not meet the 1e-8 bound above */
  char yaml[2048], cmd[4096], out[4096];
  snprintf(yaml, sizeof yaml, "%sdynamics.rtol: 1.0e-5\ndynamics.atol: 1.0e-9\n", QUAD_FLOW);
  char *dir = th_tmpfile("cfg.yaml", yaml, NULL, 0);
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r", SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"%s\" %s/r 1e-8", CHECK_MODES, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 1, "%s", out);
  free(dir);
}

Test(flow, convergence_event_stops_the_flow) {
  char yaml[2048], cmd[4096], out[4096];
  snprintf(yaml, sizeof yaml, "%sstop.loss_below: 1.0e-2\ndynamics.rtol: 1.0e-10\n", QUAD_FLOW);
  char *dir = th_tmpfile("cfg.yaml", yaml, NULL, 0);
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r", SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import json; s = json.load(open('%s/r/summary.json'));"
           "assert s['status'] == 'converged', s['status']; assert s['t'] < 60, s['t'];"
           "assert abs(s['final']['loss'] / 1e-2 - 1) < 1e-6, s['final']['loss'];"
           "assert s['integrator']['root_evals'] > 0; print(s['t'], s['integrator'])\"",
           dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  free(dir);
}

Test(flow, gd_approaches_the_flow_linearly_in_the_step) {
  /* θ_GD(T) − θ_flow(T) = [(1−ηh)^{T/η} − e^{−hT}] per mode = O(η): halving η halves the error */
  char *dir =
      th_tmpfile("cfg.yaml", "problem: {kind: quadratic, d: 6, h_max: 2, h_min: 0.1, spectrum: linear}\nseed: 9\n", NULL, 0);
  char cmd[8192], out[4096];
  const double etas[3] = {0.04, 0.02, 0.01};
  for (int i = 0; i < 3; i++) {
    snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/gd%d dynamics.kind=gd dynamics.lr=%g run.max_steps=%d",
             SADDLE_BINARY, dir, dir, i, etas[i], (int)(4.0 / etas[i] + 0.5));
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  }
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/flow dynamics.kind=flow dynamics.t_max=4 dynamics.rtol=1e-11 dynamics.atol=1e-14",
           SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import numpy as np; d = '%s';"
           "f = np.load(d + '/flow/arrays/theta_final.npy');"
           "e = [np.linalg.norm(np.load(d + '/gd%%d/arrays/theta_final.npy' %% i) - f) for i in range(3)];"
           "r = [e[0] / e[1], e[1] / e[2]]; print('errors', e, 'ratios', r);"
           "assert e[2] > 1e-6 and all(1.8 < x < 2.2 for x in r)\"",
           dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_log_info("%s", out);
  free(dir);
}

Test(flow, discrete_only_and_flow_only_keys_are_rejected_where_they_do_not_apply) {
  char *dir = th_tmpfile("cfg.yaml", QUAD_FLOW, NULL, 0);
  char cmd[4096], out[4096];
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r observe.schedule=every", SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "observe.schedule"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r dynamics.kind=gd stop.grad_norm_below=1e-3", SADDLE_BINARY,
           dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "stop.grad_norm_below"), "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s/cfg.yaml -q -o %s/r dynamics.order=9", SADDLE_BINARY, dir, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  free(dir);
}

Test(flow, reproduce_linear_quadratic_passes) {
  char *d = th_tmpdir();
  char cmd[2048], out[8192];
  snprintf(cmd, sizeof cmd, "%s reproduce linear-quadratic -q -o %s/r", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "1 of 1 claims pass"), "%s", out);
  free(d);
}

Test(flow, a_solver_that_gives_up_is_reported_not_called_divergence) {
  /* ARKODE's order-8 pair fails its error test repeatedly on this stiff problem at rtol 1e-10 */
  char *d = th_tmpdir();
  char cmd[2048], out[8192], p[600];
  snprintf(cmd, sizeof cmd, "%s run %s/examples/linear-quadratic.yaml -q -o %s/r dynamics.order=8", SADDLE_BINARY,
           SADDLE_SOURCE_DIR, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 4, "%s", out);
  snprintf(p, sizeof p, "%s/r/summary.json", d);
  char *s = th_slurp(p, NULL);
  cr_assert(strstr(s, "\"status\": \"solver_failed\""), "%s", s);
  cr_assert(strstr(s, "\"solver_message\": \"ARKODE"), "%s", s);
  free(s);
  free(d);
}
