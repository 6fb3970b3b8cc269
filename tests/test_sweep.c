/* test_sweep.c: sweeps: every combination runs into its own directory, claims across runs are checked. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"

Test(sweep, reproduce_xu23_runs_every_combination) {
  char *d = th_tmpdir();
  char cmd[2048], out[16384];
  snprintf(cmd, sizeof cmd, "%s reproduce xu23-scaledgd-lambda -q -o %s/s", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "5 of 5 claims pass"), "%s", out);
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import csv, json, os; d = '%s/s'; r = list(csv.reader(open(d + '/sweep.csv')));"
           "assert len(r) == 10 and all(len(x) == len(r[0]) for x in r), r;"
           "assert [x[2] for x in r[1:]] == ['1'] * 3 + ['10'] * 3 + ['100'] * 3;"
           "assert [x[3] for x in r[1:]] == ['gd', 'precgd', 'scaledgd_lambda'] * 3;"
           "s = json.load(open(d + '/summary.json')); assert s['claims_pass'] and len(s['runs']) == 9;"
           "[json.load(open(d + '/' + x['dir'] + '/summary.json')) for x in s['runs']];"
           "c = json.load(open(d + '/004-kappa=10,method=precgd/summary.json')); assert c['dynamics'] == 'scaled_gd';"
           "print('ok')\"",
           d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  th_rmtmp(d);
}

static const char *BASE =
    "problem: {kind: quadratic, d: 4}\ndynamics: {kind: gd, lr: 0.5}\nrun: {max_steps: 50}\n";

static void expect_yaml(const char *yaml, int want, const char *text) {
  char cmd[2048], out[16384];
  char *d = th_tmpfile("cfg.yaml", yaml, NULL, 0);
  snprintf(cmd, sizeof cmd, "cd %s && %s reproduce cfg.yaml -q -o out", d, SADDLE_BINARY);
  int rc = th_run(cmd, out, sizeof out);
  cr_assert_eq(rc, want, "exit %d:\n%s", rc, out);
  cr_assert(strstr(out, text), "expected '%s' in:\n%s", text, out);
  if (want == 2) {
    snprintf(cmd, sizeof cmd, "%s/out", d);
    struct stat st;
    cr_assert_neq(stat(cmd, &st), 0, "a directory was created for a bad sweep");
  }
  free(d);
}

static void expect(const char *extra, int want, const char *text) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml, "%s%s", BASE, extra);
  expect_yaml(yaml, want, text);
}

/* H = I: GD contracts θ − θ⋆ by exactly 1 − η per step, so every value form has a number known by hand. */
static const char *UNIT =
    "problem: {kind: quadratic, d: 4, h_max: 1, h_min: 1}\ndynamics: {kind: gd, lr: 0.5}\nrun: {max_steps: 200}\n"
    "observe: {schedule: every, every: 1}\nsweep:\n  - {key: dynamics.lr, values: [0.1, 0.5]}\nsweep_claims:\n";

Test(sweep, value_forms_against_hand_computed_contractions) {
  char yaml[4096];
  snprintf(yaml, sizeof yaml, "%s%s", UNIT,
           "  - {name: r05, value: 'rate:dist<1e-2<1e-6', where: {dynamics.lr: 0.5}, above: 0.4999999999, below: 0.5000000001}\n"
           "  - {name: r01, value: 'rate:dist<1e-2<1e-6', where: {dynamics.lr: 0.1}, above: 0.8999999999, below: 0.9000000001}\n"
           "  - {name: peak, value: 'max:dist', across: dynamics.lr, max_ratio: 1.000000001}\n"
           "  - {name: step2, value: 'dist@step:2', across: dynamics.lr, min_ratio: 3.2399999, max_ratio: 3.2400001}\n"
           "  - {name: start, value: 'dist@initial', across: dynamics.lr, max_ratio: 1.000000001}\n"
           /* H = I: grad_norm = dist, so at the first observation with dist ≤ 1e-2 it is in (1e-2·(1 − η), 1e-2] */
           "  - {name: first, value: 'grad_norm@first:dist<1e-2', where: {dynamics.lr: 0.5}, above: 0.005, below: 0.0100000001}\n");
  expect_yaml(yaml, 0, "6 of 6 claims pass");
  /* the same forms fail when the numbers are wrong */
  snprintf(yaml, sizeof yaml, "%s%s", UNIT,
           "  - {name: r05, value: 'rate:dist<1e-2<1e-6', where: {dynamics.lr: 0.5}, above: 0.5000001}\n");
  expect_yaml(yaml, 1, "FAIL  r05");
  snprintf(yaml, sizeof yaml, "%s%s", UNIT, "  - {name: never, value: 'dist@step:1000', below: 1}\n");
  expect_yaml(yaml, 1, "FAIL  never");
}

Test(sweep, bad_value_forms_are_config_errors) {
  char yaml[4096];
  const char *bad[][2] = {{"'rate:dist<1e-6<1e-2'", "needs a > b > 0"},
                          {"'rate:dist>1e-2<1e-6'", "expected steps, t"},
                          {"'dist@step:x'", "expected steps, t"},
                          {"'dist@end:nophase'", "expected steps, t"},
                          {"'max:nope'", "no metric 'nope'"},
                          {"'dist@first:nope<1'", "expected steps, t"},
                          {"'dist@first:dist'", "expected steps, t"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(yaml, sizeof yaml, "%s  - {name: x, value: %s, below: 1}\n", UNIT, bad[i][0]);
    expect_yaml(yaml, 2, bad[i][1]);
  }
}

Test(sweep, a_false_claim_fails_the_reproduction) {
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1, 0.5, 0.9]}\n"
         "sweep_claims:\n  - {name: larger steps finish closer, value: final:dist, across: dynamics.lr, increasing: true}\n",
         1, "FAIL  larger steps finish closer");
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1, 0.5, 0.9]}\n"
         "sweep_claims:\n  - {name: smaller steps are farther, value: final:dist, across: dynamics.lr, max_ratio: 1.0e+30, above: 0}\n",
         0, "PASS  smaller steps are farther");
}

Test(sweep, bad_sweeps_are_config_errors_before_anything_runs) {
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1, -1]}\n", 2, "dynamics.lr");
  expect("sweep:\n  - {key: dynamics.lr}\n", 2, "cfg.yaml:5:5: sweep: each axis is {key");
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1]}\nsweep_claims:\n  - {name: x, value: final:nope, below: 1}\n", 2,
         "no metric 'nope'");
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1]}\nsweep_claims:\n  - {name: x, value: steps, where: {seed: 1}, below: 1}\n", 2,
         "'seed' is not a swept key");
  expect("sweep:\n  - {key: dynamics.lr, values: [0.1]}\nsweep_claims:\n  - {name: x, value: steps}\n", 2, "needs a condition");
  expect("sweep:\n  - key: m\n    values:\n      - {dynamics.kind: gd}\n", 2, "needs a name");
}

Test(sweep, errors_in_an_axis_name_the_config_line_not_the_command_line) {
  /* the values reach each run as key=value overrides; they carry the place they were written */
  expect("sweep:\n  - {key: problem.d, values: [3, abc]}\n", 2, "cfg.yaml:5:34: problem.d: expected an integer, got 'abc'");
  expect("sweep:\n  - key: problem.dd\n    values: [3, 4]\n", 2,
         "cfg.yaml:5:10: problem.dd: unknown key (did you mean 'problem.d'?)");
  expect("sweep:\n  - key: m\n    values:\n      - {name: a, dynamics.lr: fast}\n", 2,
         "cfg.yaml:7:32: dynamics.lr: expected a finite real number, got 'fast'");
  expect("sweep:\n  - key: m\n    values:\n      - {name: a, dynamics.lrr: 0.1}\n", 2,
         "cfg.yaml:7:19: dynamics.lrr: unknown key (did you mean 'dynamics.lr'?)");
  /* the caller's own overrides still come from the command line */
  char cmd[2048], out[16384];
  char *d = th_tmpfile("cfg.yaml", "problem: {kind: quadratic, d: 4}\nsweep:\n  - {key: dynamics.lr, values: [0.1]}\n", NULL, 0);
  snprintf(cmd, sizeof cmd, "cd %s && %s reproduce cfg.yaml -q -o out problem.d=x", d, SADDLE_BINARY);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "command line: problem.d: expected an integer, got 'x'"), "%s", out);
  th_rmtmp(d);
}

Test(sweep, reproduce_stoger21_alpha) {
  char *d = th_tmpdir();
  char cmd[2048], out[16384];
  snprintf(cmd, sizeof cmd, "%s reproduce stoger21-alpha -q -o %s/s", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "4 of 4 claims pass"), "%s", out);
  th_rmtmp(d);
}

Test(sweep, reproduce_stoger21_width) {
  char *d = th_tmpdir();
  char cmd[2048], out[16384];
  snprintf(cmd, sizeof cmd, "%s reproduce stoger21-width -q -o %s/s", SADDLE_BINARY, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "3 of 3 claims pass"), "%s", out);
  th_rmtmp(d);
}

#define POWER_BASE                                                                                                  \
  "problem: {kind: quadratic, d: 4, h_max: 1, h_min: 1}\ndynamics: {kind: gd, lr: 0.5}\nrun: {max_steps: 5}\n"          \
  "observe: {schedule: every, every: 1}\nsweep:\n  - {key: dynamics.lr, values: [0.1, 0.3]}\nsweep_claims:\n"

Test(sweep, power_law_exponent_of_a_hand_computed_case) {
  /* dist at step 2 is (1 − η)²·dist₀: between η = 0.1 and 0.3 it falls by (0.7/0.9)², a power law in η with
   * exponent 2·ln(7/9)/ln 3 = −0.45748 */
  expect_yaml(POWER_BASE "  - {name: p, value: 'dist@step:2', across: dynamics.lr, power_law: -0.45748, rtol: 0.0001}\n", 0,
              "PASS  p");
  expect_yaml(POWER_BASE "  - {name: p, value: 'dist@step:2', across: dynamics.lr, power_law: -0.46, rtol: 0.001}\n", 1,
              "FAIL  p");
  expect_yaml(POWER_BASE "  - {name: p, value: 'dist@step:2', across: dynamics.lr, power_law: -0.46, log_slope: 1, rtol: 0.001}\n",
              2, "not both");
}

Test(sweep, max_and_flow_rates_against_hand_computed_values) {
  /* GD with η = 2.5 on H = I grows dist by |1 − η| = 1.5 per step: its max is the last value, 1.5¹⁰·dist₀, while
   * η = 0.5's is dist₀ (the same θ₀): the ratio is 1.5¹⁰ = 57.665 exactly */
  expect_yaml("problem: {kind: quadratic, d: 4, h_max: 1, h_min: 1}\ndynamics: {kind: gd, lr: 0.5}\nrun: {max_steps: 10}\n"
              "sweep:\n  - {key: dynamics.lr, values: [0.5, 2.5]}\nsweep_claims:\n"
              "  - {name: m, value: 'max:dist', across: dynamics.lr, min_ratio: 57.66503, max_ratio: 57.66505}\n",
              0, "PASS  m");
  /* a flow on H = I: dist = e^{−t}·dist₀, so rate: is e^{−1} per unit time */
  expect_yaml("problem: {kind: quadratic, d: 4, h_max: 1, h_min: 1}\n"
              "dynamics: {kind: flow, t_max: 12, rtol: 1.0e-12, atol: 1.0e-15}\n"
              "sweep:\n  - {key: dynamics.rtol, values: [1.0e-12]}\nsweep_claims:\n"
              "  - {name: f, value: 'rate:dist<1e-1<1e-4', above: 0.3678794, below: 0.3678795}\n",
              0, "PASS  f");
}
