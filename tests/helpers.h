/* helpers.h: shared bits of the Criterion suite. */
#ifndef SADDLE_TEST_HELPERS_H
#define SADDLE_TEST_HELPERS_H

#include <stddef.h>
#include "saddle/run.h"

/* Builds a problem from YAML text (defaults for unlisted keys). Asserts on failure. */
sd_problem *th_problem(const char *yaml, sd_config **cfg_out, sd_arrays **arrays_out);
/* Relative error of the gradient against central differences, max over coordinates scaled by ‖g‖∞. */
double th_gradcheck(sd_problem *p, const double *theta, double h);
/* Runs a shell command, returns its exit status; output goes to out (if not NULL, up to len bytes). */
int th_sh(const char *cmd, char *out, size_t len);
/* th_sh with OPENBLAS_NUM_THREADS=1 (bitwise reproducible BLAS) and stderr folded into out. */
int th_run(const char *cmd, char *out, size_t len);
/* Runs a Python snippet (double-quoted in the shell) with Debian's /usr/bin/python3; stderr folded into out. */
int th_py(const char *code, char *out, size_t len);
/* `saddle reproduce NAME` into a temporary directory: asserts exit status 0 and `expect` in the output. */
void th_reproduce(const char *name, const char *expect);
/* 1 if both files exist and have the same bytes. */
int th_same_file(const char *a, const char *b);
/* A fresh empty directory under /tmp, caller frees (or th_rmtmp). */
char *th_tmpdir(void);
/* Removes a directory from th_tmpdir or th_tmpfile with all it holds, and frees its name. */
void th_rmtmp(char *dir);
/* Writes text to path (asserts it can). */
void th_write(const char *path, const char *text);
/* A fresh temporary directory holding one file, name, with text: returns the directory (caller frees) and, if
 * path is not NULL, the file's path in it (len bytes). */
char *th_tmpfile(const char *name, const char *text, char *path, size_t len);
/* Reads a whole file (caller frees) or NULL. */
char *th_slurp(const char *path, size_t *len);

#endif
