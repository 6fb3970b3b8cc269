/* test_sweep_resume.c: a sweep stopped by SIGKILL or SIGTERM and run again (or resumed) finishes with the
 * same results as one never stopped; an unfinished sweep judges no claims. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define KAPPA "jia23-kappa"

static pid_t start(const char *dir) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(SADDLE_BINARY, SADDLE_BINARY, "reproduce", KAPPA, "-q", "-o", dir, (char *)NULL);
    _exit(127);
  }
  return pid;
}

/* Waits until run k of the sweep in dir has started (its directory exists). */
static void wait_for_run(const char *dir, const char *run) {
  char p[800];
  snprintf(p, sizeof p, "%s/%s/summary.json", dir, run);
  struct stat st;
  for (int i = 0; i < 800 && stat(p, &st) != 0; i++) usleep(10000);
  cr_assert_eq(stat(p, &st), 0, "the sweep never reached %s", run);
}

static void same_results(const char *a, const char *b) {
  char p[800], q[800];
  snprintf(p, sizeof p, "%s/sweep.csv", a);
  snprintf(q, sizeof q, "%s/sweep.csv", b);
  cr_assert(th_same_file(p, q), "sweep.csv differs between %s and %s", a, b);
  const char *runs[] = {"000-kappa=1,method=gd", "004-kappa=10,method=gd", "008-kappa=100,method=gd", "011-kappa=100,method=als"};
  for (int k = 0; k < 4; k++) {
    snprintf(p, sizeof p, "%s/%s/metrics.csv", a, runs[k]);
    snprintf(q, sizeof q, "%s/%s/metrics.csv", b, runs[k]);
    cr_assert(th_same_file(p, q), "%s/metrics.csv differs", runs[k]);
  }
}

Test(sweep_resume, a_killed_sweep_run_again_finishes_the_same) {
  char *d = th_tmpdir();
  char ref[600], cmd[4096], out[16384];
  snprintf(ref, sizeof ref, "%s/ref", d);
  snprintf(cmd, sizeof cmd, "%s reproduce %s -q -o %s", SADDLE_BINARY, KAPPA, ref);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  const char *at[] = {"004-kappa=10,method=gd", "008-kappa=100,method=gd"};
  for (int k = 0; k < 2; k++) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/killed%d", d, k);
    pid_t pid = start(dir);
    wait_for_run(dir, at[k]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "%s reproduce %s -q -o %s", SADDLE_BINARY, KAPPA, dir);
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "rerun after a kill at %s: %s", at[k], out);
    cr_assert(strstr(out, "10 of 10 claims pass"), "%s", out);
    same_results(ref, dir);
  }
  /* another config on the same directory is refused, not mixed in */
  snprintf(cmd, sizeof cmd, "%s reproduce %s -q -o %s/killed0 seed=5", SADDLE_BINARY, KAPPA, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "another version of this config or other overrides"), "%s", out);
  th_rmtmp(d);
}

Test(sweep_resume, an_interrupted_sweep_judges_no_claims_and_resumes) {
  char *d = th_tmpdir();
  char dir[600], ref[600], cmd[4096], out[16384], p[800];
  snprintf(ref, sizeof ref, "%s/ref", d);
  snprintf(dir, sizeof dir, "%s/sw", d);
  snprintf(cmd, sizeof cmd, "%s reproduce %s -q -o %s", SADDLE_BINARY, KAPPA, ref);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  pid_t pid = fork();
  if (pid == 0) {
    char log[700];
    snprintf(log, sizeof log, "%s/term.log", d);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    freopen(log, "w", stdout);
    execl(SADDLE_BINARY, SADDLE_BINARY, "reproduce", KAPPA, "-q", "-o", dir, (char *)NULL);
    _exit(127);
  }
  wait_for_run(dir, "008-kappa=100,method=gd");
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 130, "exit %d", WEXITSTATUS(status));
  snprintf(p, sizeof p, "%s/term.log", d);
  char *log = th_slurp(p, NULL);
  cr_assert_null(strstr(log, "PASS"), "an interrupted sweep printed PASS:\n%s", log);
  cr_assert(strstr(log, "sweep: interrupted") && strstr(log, "claims are not judged"), "%s", log);
  free(log);
  snprintf(p, sizeof p, "%s/summary.json", dir);
  char *s = th_slurp(p, NULL);
  cr_assert(strstr(s, "\"status\": \"interrupted\"") && strstr(s, "\"claims_pass\": null"), "%s", s);
  free(s);
  /* the interrupted run resumes by itself too: its directory name holds '=' */
  snprintf(p, sizeof p, "%s/008-kappa=100,method=gd/summary.json", dir);
  s = th_slurp(p, NULL);
  cr_assert(strstr(s, "\"status\": \"interrupted\""), "%s", s);
  free(s);
  snprintf(cmd, sizeof cmd, "%s resume %s/008-kappa=100,method=gd -q", SADDLE_BINARY, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "%s resume %s -q", SADDLE_BINARY, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  cr_assert(strstr(out, "sweep: complete") && strstr(out, "10 of 10 claims pass"), "%s", out);
  same_results(ref, dir);
  th_rmtmp(d);
}

/* GD on L = ½‖θ − θ⋆‖² contracts the distance by exactly 1 − η per step: the first step with dist ≤ x is
 * known in closed form, and the sweep must report it however coarse the observation grid. */
Test(sweep_resume, first_step_is_exact_on_a_coarse_grid) {
  char path[700], cmd[4096], out[16384], code[4096];
  char *d = th_tmpfile("exact.yaml",
                       "experiment: exact\n"
                       "problem: {kind: quadratic, d: 5, h_max: 1, h_min: 1}\n"
                       "dynamics: {kind: gd, lr: 0.1}\n"
                       "run: {max_steps: 400}\n"
                       "observe: {per_decade: 3}\n"
                       "sweep: [{key: seed, values: [0, 1, 2]}]\n"
                       "sweep_claims:\n"
                       "  - {name: exact, value: 'first_step:dist<1e-5', below: 1.0e9}\n"
                       "  - {name: time, value: 'first_t:dist<1e-3', below: 1.0e9}\n",
                       path, sizeof path);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s/s", SADDLE_BINARY, path, d);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(code, sizeof code,
           "import csv, numpy as np\n"
           "d = '%s/s'\n"
           "rows = list(csv.DictReader(open(d + '/sweep.csv')))\n"
           "assert len(rows) == 3\n"
           "for r in rows:\n"
           "    a = d + '/' + r['dir'] + '/arrays/'\n"
           "    d0 = np.linalg.norm(np.load(a + 'theta0.npy') - np.load(a + 'theta_star.npy'))\n"
           "    k = next(k for k in range(1000) if d0 * 0.9 ** k <= 1e-5)\n"
           "    k3 = next(k for k in range(1000) if d0 * 0.9 ** k <= 1e-3)\n"
           "    assert float(r['exact']) == k, (r['dir'], r['exact'], k)\n"
           "    assert abs(float(r['time']) - 0.1 * k3) < 1e-12, (r['time'], k3)\n"
           "    steps = [int(x['step']) for x in csv.DictReader(open(d + '/' + r['dir'] + '/metrics.csv'))]\n"
           "    assert k in steps and k3 in steps and steps == sorted(set(steps)), steps\n"
           "    print(r['dir'], k, k3, len(steps), 'rows')\n",
           d);
  char script[800];
  snprintf(script, sizeof script, "%s/check.py", d);
  th_write(script, code);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s 2>&1", script);
  cr_assert_eq(th_sh(cmd, out, sizeof out), 0, "%s", out);
  cr_log_info("%s", out);
  th_rmtmp(d);
}
