/* test_rundir.c: one run per directory, even when two start on it at once; a user's files are never replaced. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define SENSING SADDLE_SOURCE_DIR "/examples/stoger21-phases.yaml"

static pid_t start(const char *dir, const char *seed, const char *log) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    freopen(log, "w", stdout);
    dup2(fileno(stdout), 2);
    execl(SADDLE_BINARY, SADDLE_BINARY, "run", SENSING, "-q", "-o", dir, seed, "run.max_steps=400", (char *)NULL);
    _exit(127);
  }
  return pid;
}

Test(rundir, two_runs_racing_for_one_directory_leave_one_runs_files) {
  char *d = th_tmpdir();
  for (int round = 0; round < 6; round++) {
    char dir[600], la[600], lb[600], cmd[4096], out[4096];
    snprintf(dir, sizeof dir, "%s/race%d", d, round);
    snprintf(la, sizeof la, "%s/a%d.log", d, round);
    snprintf(lb, sizeof lb, "%s/b%d.log", d, round);
    pid_t a = start(dir, "seed=1", la), b = start(dir, "seed=2", lb);
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    int ea = WIFEXITED(sa) ? WEXITSTATUS(sa) : -1, eb = WIFEXITED(sb) ? WEXITSTATUS(sb) : -1;
    char *oa = th_slurp(la, NULL), *ob = th_slurp(lb, NULL);
    cr_assert((ea == 0) != (eb == 0), "round %d: exactly one run may win (exits %d, %d)\n%s\n%s", round, ea, eb, oa, ob);
    const char *loser = ea == 0 ? ob : oa, *winner_seed = ea == 0 ? "seed=1" : "seed=2";
    cr_assert_eq(ea == 0 ? eb : ea, 2, "the loser exits 2: %s", loser);
    cr_assert(strstr(loser, "in use by another saddle process") || strstr(loser, "already holds a run"), "%s", loser);
    free(oa);
    free(ob);
    /* every file in the directory is the winner's: rerun the winner alone and compare */
    char ref[600], p[700], q[700];
    snprintf(ref, sizeof ref, "%s/ref%d", d, round);
    snprintf(cmd, sizeof cmd, "%s run %s -q -o %s %s run.max_steps=400", SADDLE_BINARY, SENSING, ref, winner_seed);
    cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
    const char *files[] = {"config.resolved.yaml", "metrics.csv", "arrays/U_final.npy", "arrays/A.npy"};
    for (int f = 0; f < 4; f++) {
      snprintf(p, sizeof p, "%s/%s", dir, files[f]);
      snprintf(q, sizeof q, "%s/%s", ref, files[f]);
      cr_assert(th_same_file(p, q), "round %d: %s is not the winner's (%s)", round, files[f], winner_seed);
    }
  }
  th_rmtmp(d);
}

Test(rundir, a_users_files_are_not_replaced) {
  char *d = th_tmpdir();
  char dir[600], p[700], cmd[4096], out[4096];
  snprintf(dir, sizeof dir, "%s/mine", d);
  mkdir(dir, 0777);
  snprintf(p, sizeof p, "%s/metrics.csv", dir);
  th_write(p, "my,own,data\n");
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s run.max_steps=10", SADDLE_BINARY, SENSING, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "files saddle did not write"), "%s", out);
  char *s = th_slurp(p, NULL);
  cr_assert_str_eq(s, "my,own,data\n");
  free(s);
  snprintf(p, sizeof p, "%s/summary.json", dir);
  struct stat st;
  cr_assert_neq(stat(p, &st), 0, "nothing is written into a refused directory");
  /* an empty directory, and one holding a finished run (refused, not replaced) */
  snprintf(dir, sizeof dir, "%s/empty", d);
  mkdir(dir, 0777);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s run.max_steps=10", SADDLE_BINARY, SENSING, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 0, "%s", out);
  snprintf(cmd, sizeof cmd, "%s run %s -q -o %s run.max_steps=20", SADDLE_BINARY, SENSING, dir);
  cr_assert_eq(th_run(cmd, out, sizeof out), 2, "%s", out);
  cr_assert(strstr(out, "already holds a run"), "%s", out);
  cr_assert_null(strstr(out, "partial results"), "nothing was written: %s", out);
  th_rmtmp(d);
}
