/* test_config.c: bad input gets a clear error naming file, line and key, exit status 2, and no run
 * directory; good input resolves with defaults and overrides. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "saddle/npy.h"

static const char *GOOD =
    "experiment: cfgtest\n"
    "problem:\n"
    "  kind: sensing\n"
    "  n: 6\n"
    "  rank: 2\n"
    "  measurements: 30\n"
    "dynamics:\n"
    "  lr: 0.1\n"
    "run:\n"
    "  max_steps: 10\n";

/* Writes yaml to DIR/cfg.yaml, runs `saddle run cfg.yaml ARGS` inside DIR, returns the exit status and
 * the combined output; asserts that no run directory was created. */
static int run_cfg(const char *yaml, const char *args, char *out, size_t len) {
  char path[512], cmd[2048];
  char *dir = th_tmpfile("cfg.yaml", yaml, path, sizeof path);
  if (strstr(args, "BAD_SHAPE")) {
    size_t shape[2] = {3, 3};
    double z[9] = {0};
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    sd_npy_write(path, z, 2, shape);
  }
  snprintf(cmd, sizeof cmd, "cd %s && OPENBLAS_NUM_THREADS=1 %s run cfg.yaml %s -q 2>&1", dir, SADDLE_BINARY,
           strstr(args, "BAD_SHAPE") ? "" : args);
  int rc = th_sh(cmd, out, len);
  snprintf(path, sizeof path, "%s/runs", dir);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a run directory was created for bad input:\n%s", out);
  th_rmtmp(dir);
  return rc;
}

/* Replaces the first occurrence of `from` in GOOD by `to`. */
static char *good_with(const char *from, const char *to) {
  static char buf[4096];
  const char *p = strstr(GOOD, from);
  cr_assert_not_null(p, "fixture has no '%s'", from);
  snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - GOOD), GOOD, to, p + strlen(from));
  return buf;
}

static void expect_error(const char *yaml, const char *args, const char *where, const char *key, const char *what) {
  char out[4096];
  int rc = run_cfg(yaml, args, out, sizeof out);
  cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
  cr_assert(strstr(out, where), "message does not name the place '%s':\n%s", where, out);
  cr_assert(strstr(out, key), "message does not name the key '%s':\n%s", key, out);
  cr_assert(strstr(out, what), "message does not say '%s':\n%s", what, out);
}

Test(config, good_config_runs) {
  char path[512], cmd[2048], out[4096];
  char *dir = th_tmpfile("cfg.yaml", GOOD, path, sizeof path);
  snprintf(cmd, sizeof cmd, "cd %s && %s run cfg.yaml -o out seed=4 init.scale=0.5 -q 2>&1", dir, SADDLE_BINARY);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  snprintf(path, sizeof path, "%s/out/config.resolved.yaml", dir);
  char *res = th_slurp(path, NULL);
  cr_assert_not_null(res);
  /* overrides applied, defaults filled in */
  cr_assert(strstr(res, "seed: 4\n"), "%s", res);
  cr_assert(strstr(res, "  scale: 0.5\n"), "%s", res);
  cr_assert(strstr(res, "  width: 0\n"), "%s", res);
  cr_assert(strstr(res, "  kappa_of: matrix\n"), "%s", res);
  free(res);
  th_rmtmp(dir);
}

Test(config, unknown_key_suggests_the_nearest) {
  expect_error(good_with("  rank: 2\n", "  rnak: 2\n"), "", "cfg.yaml:5:3", "problem.rnak", "did you mean 'problem.rank'");
}

Test(config, unknown_top_level_key) {
  expect_error(good_with("run:\n", "seeed: 3\nrun:\n"), "", "cfg.yaml:9:1", "seeed", "did you mean 'seed'");
}

Test(config, integer_expected) {
  expect_error(good_with("  n: 6\n", "  n: six\n"), "", "cfg.yaml:4:6", "problem.n", "expected an integer");
}

Test(config, real_expected) {
  expect_error(good_with("  lr: 0.1\n", "  lr: fast\n"), "", "cfg.yaml:8:7", "dynamics.lr", "expected a finite real number");
}

Test(config, value_out_of_range) {
  expect_error(good_with("  max_steps: 10\n", "  max_steps: -5\n"), "", "cfg.yaml:10:14", "run.max_steps", "out of range");
}

Test(config, choice_not_allowed) {
  expect_error(good_with("dynamics:\n", "init:\n  normalize: sqrt\ndynamics:\n"), "", "cfg.yaml:8:14", "init.normalize",
               "not one of width|n|none");
}

Test(config, unknown_problem_kind) {
  expect_error(good_with("  kind: sensing\n", "  kind: sensng\n"), "", "cfg.yaml:3:9", "problem.kind", "not one of");
}

Test(config, missing_problem_kind) {
  expect_error(good_with("  kind: sensing\n", ""), "", "cfg.yaml", "problem.kind", "required key is missing");
}

Test(config, section_given_a_value) {
  expect_error(good_with("run:\n  max_steps: 10\n", "run: 10\n"), "", "cfg.yaml:9:1", "run", "is a section");
}

Test(config, duplicate_key) {
  expect_error(good_with("  rank: 2\n", "  rank: 2\n  rank: 3\n"), "", "cfg.yaml:6:3", "rank", "duplicate key");
}

Test(config, yaml_syntax_error_names_the_line) {
  expect_error(good_with("  rank: 2\n", "  rank: [2\n"), "", "cfg.yaml:", "", "YAML syntax error");
}

Test(config, override_unknown_key) {
  expect_error(GOOD, "problem.wdth=3", "command line", "problem.wdth", "did you mean 'problem.width'");
}

Test(config, override_bad_value) {
  expect_error(GOOD, "seed=-1", "command line", "seed", "out of range");
  /* above a bound of 1e300 (the tables' "unbounded"): the message names the side crossed */
  expect_error(GOOD, "dynamics.lr=1e307", "command line", "dynamics.lr", "must be <= 1e+300");
}

Test(config, override_malformed) {
  expect_error(GOOD, "=3", "command line", "=3", "expected key.path=value");
}

Test(config, keys_that_do_not_fit_together) {
  expect_error(good_with("  rank: 2\n", "  rank: 2\n  width: 1\n"), "", "cfg.yaml:6:10", "problem.width", "below the rank");
}

Test(config, array_file_missing) {
  expect_error(good_with("run:\n", "arrays:\n  U0: nothing.npy\nrun:\n"), "", "cfg.yaml:10:7", "arrays.U0", "cannot open");
}

Test(config, array_file_with_the_wrong_shape) {
  expect_error(good_with("run:\n", "arrays:\n  U0: bad.npy\nrun:\n"), "BAD_SHAPE", "cfg.yaml:10:7", "arrays.U0",
               "has shape (3, 3), but this problem needs (6, 6)");
}

/* Writes yaml to DIR/cfg.yaml and a 6×6 array to DIR/a.npy, runs `saddle run cfg.yaml` inside DIR, returns the
 * exit status and the output; asserts that no run directory was created. */
static int run_with_array(const char *yaml, const double *a, char *out, size_t len) {
  char path[512], cmd[2048];
  char *dir = th_tmpfile("cfg.yaml", yaml, path, sizeof path);
  size_t shape[2] = {6, 6};
  snprintf(path, sizeof path, "%s/a.npy", dir);
  cr_assert_eq(sd_npy_write(path, a, 2, shape), SD_OK);
  snprintf(cmd, sizeof cmd, "cd %s && OPENBLAS_NUM_THREADS=1 %s run cfg.yaml -q 2>&1", dir, SADDLE_BINARY);
  int rc = th_sh(cmd, out, len);
  snprintf(path, sizeof path, "%s/runs", dir);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a run directory was created for bad input:\n%s", out);
  th_rmtmp(dir);
  return rc;
}

Test(config, array_file_with_a_nan_or_an_inf) {
  /* before, the run started and diverged (exit 3) */
  double a[36];
  for (int i = 0; i < 36; i++) a[i] = 0.01 * i;
  const char *yaml = good_with("run:\n", "arrays:\n  U0: a.npy\nrun:\n");
  char out[4096];
  a[2 * 6 + 3] = NAN;
  a[4 * 6 + 1] = INFINITY;
  int rc = run_with_array(yaml, a, out, sizeof out);
  cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
  cr_assert(strstr(out, "cfg.yaml:10:7: arrays.U0: "), "%s", out);
  cr_assert(strstr(out, "/a.npy: entry (2, 3) is NaN; a supplied array must be finite"), "%s", out);
  a[2 * 6 + 3] = 0;
  rc = run_with_array(yaml, a, out, sizeof out);
  cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
  cr_assert(strstr(out, "cfg.yaml:10:7: arrays.U0: "), "%s", out);
  cr_assert(strstr(out, "/a.npy: entry (4, 1) is inf; a supplied array must be finite"), "%s", out);
}

Test(config, claim_on_an_unknown_metric) {
  expect_error(good_with("run:\n", "claims:\n  - name: x\n    metric: rel_eror\n    below: 1\nrun:\n"), "",
               "cfg.yaml:11:13", "claims.metric", "no metric 'rel_eror'");
}

Test(config, phase_rule_that_does_not_parse) {
  expect_error(good_with("run:\n", "phases:\n  - name: a\n    until: rel_error about 3\n  - name: b\nrun:\n"), "",
               "cfg.yaml:11:12", "phases.until", "expected 'metric < number'");
}

/* Writes n bytes to DIR/name (a directory of that name when data is NULL), runs `saddle run name` inside
 * DIR, returns the exit status and the output; asserts that no run directory was created. */
static int run_bytes(const char *name, const char *data, size_t n, char *out, size_t len) {
  char *dir = th_tmpdir();
  char path[512], cmd[2048];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (!data) {
    cr_assert_eq(mkdir(path, 0755), 0);
  } else {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
  }
  snprintf(cmd, sizeof cmd, "cd %s && OPENBLAS_NUM_THREADS=1 %s run %s -q 2>&1", dir, SADDLE_BINARY, name);
  int rc = th_sh(cmd, out, len);
  snprintf(path, sizeof path, "%s/runs", dir);
  struct stat st;
  cr_assert_neq(stat(path, &st), 0, "a run directory was created for bad input:\n%s", out);
  th_rmtmp(dir);
  return rc;
}

Test(config, nul_byte_is_refused_not_the_end_of_the_file) {
  /* before, the parser stopped at the NUL and the run went on with defaults for the keys after it */
  static const char yaml[] = "experiment: cfgtest\nproblem:\n  kind: sensing\n  n: 6\0\n  rank: 2\n"
                             "  measurements: 30\nrun:\n  max_steps: 10\n";
  char out[4096];
  int rc = run_bytes("cfg.yaml", yaml, sizeof yaml - 1, out, sizeof out);
  cr_assert_eq(rc, 2, "exit status %d, output:\n%s", rc, out);
  cr_assert(strstr(out, "cfg.yaml:4:7: not a YAML text file (binary data: a NUL byte at byte offset 51)"), "%s", out);
}

Test(config, directory_is_not_a_config_file) {
  char out[4096];
  cr_assert_eq(run_bytes("somedir", NULL, 0, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "saddle: somedir: is a directory, not a config file"), "%s", out);
  cr_assert_eq(run_bytes("somedir/", NULL, 0, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "saddle: somedir/: is a directory, not a config file"), "%s", out);
}

Test(config, binary_file_is_not_a_yaml_text_file) {
  static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
  char out[4096];
  cr_assert_eq(run_bytes("fig.png", png, sizeof png - 1, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "fig.png:1:1: not a YAML text file (invalid UTF-8 byte 0x89 at byte offset 0: binary data, or text not saved as UTF-8)"), "%s", out);
  /* a control character in otherwise plain text */
  static const char ctl[] = "experiment: x\nproblem:\n  kind: sensing\x1b[0m\n";
  cr_assert_eq(run_bytes("cfg.yaml", ctl, sizeof ctl - 1, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "cfg.yaml:3:16: not a YAML text file (binary data: control byte 0x1b at byte offset 38)"), "%s", out);
}

Test(config, utf8_text_is_text) {
  char path[512], cmd[2048], out[4096];
  char *dir = th_tmpfile("cfg.yaml", good_with("run:\n", "description: \"Stöger et al. — σ₁ ≫ σ₂\"\nrun:\n"), path,
                         sizeof path);
  snprintf(cmd, sizeof cmd, "cd %s && OPENBLAS_NUM_THREADS=1 %s run cfg.yaml -o out -q 2>&1", dir, SADDLE_BINARY);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  th_rmtmp(dir);
}

Test(config, duplicate_section_names_both_lines) {
  /* line 2 holds the first `problem:`; its mapping starts on line 3 */
  expect_error(good_with("run:\n", "problem:\n  n: 7\nrun:\n"), "", "cfg.yaml:9:1", "problem",
               "duplicate key (first given at line 2)");
}

Test(config, unclosed_flow_sequence_points_at_its_bracket) {
  /* libfyaml notices only at a later line (here: the end of the file, line 11); the bracket is on line 10 */
  expect_error(good_with("  max_steps: 10\n", "  max_steps: [10\n"), "", "cfg.yaml:10:14:", "run.max_steps",
               "YAML syntax error in the flow sequence opened here: flow sequence without a closing bracket");
  /* in the middle of the file it reads the next lines as items and trips on the first key (line 6) */
  expect_error(good_with("  rank: 2\n", "  rank: [2\n"), "", "cfg.yaml:5:9:", "problem.rank",
               "YAML syntax error in the flow sequence opened here: missing comma in flow sequence (at line 7, column 9; is a ']' missing?)");
}

Test(config, yaml_syntax_error_line_and_column_are_where_it_is) {
  /* libfyaml's collected errors are 1-based already */
  expect_error(good_with("  rank: 2\n", "  rank: 2: 3\n"), "", "cfg.yaml:5:10:", "", "YAML syntax error");
}

Test(config, missing_config_file) {
  char out[1024];
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s run /nonexistent/cfg.yaml -q 2>&1", SADDLE_BINARY);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "/nonexistent/cfg.yaml: cannot open config"), "%s", out);
}
