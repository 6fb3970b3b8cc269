/* versions.c: versions of saddle and of the libraries it was built with and runs against. */
#include <cblas.h>
#include <jansson.h>
#include <lapacke.h>
#include <libfyaml.h>
#include <stdio.h>
#include <string.h>
#include <sundials/sundials_version.h>

#include "saddle/run.h"

#ifndef SADDLE_VERSION
#define SADDLE_VERSION "unknown"
#endif

const char *sd_versions(void) {
  static char buf[1024];
  if (buf[0]) return buf;
  char sun[64] = "?";
  SUNDIALSGetVersion(sun, (int)sizeof sun);
  lapack_int maj = 0, min = 0, pat = 0;
  LAPACKE_ilaver(&maj, &min, &pat);
  const char *ob = openblas_get_config();
  snprintf(buf, sizeof buf,
           "saddle %s\nopenblas %s\nlapack %d.%d.%d\nsundials %s\nlibfyaml %s\njansson %s\nrandom123 Philox4x32-10\n",
           SADDLE_VERSION, ob ? ob : "?", (int)maj, (int)min, (int)pat, sun, fy_library_version(), jansson_version_str());
  return buf;
}

int sd_blas_threads(void) { return openblas_get_num_threads(); }

const char *sd_blas_build(void) {
  static char buf[512];
  if (buf[0]) return buf;
  const char *cfg = openblas_get_config(), *core = openblas_get_corename();
  snprintf(buf, sizeof buf, "%s (core %s, %s)", cfg ? cfg : "?", core ? core : "?",
           openblas_get_parallel() == 0 ? "sequential" : openblas_get_parallel() == 1 ? "pthreads" : "OpenMP");
  return buf;
}
