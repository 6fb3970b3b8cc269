/* error.h: status codes and the single error choke point of libsaddle. */
#ifndef SADDLE_ERROR_H
#define SADDLE_ERROR_H

typedef enum {
  SD_OK = 0,
  SD_ERR_NOMEM,    /* an allocation failed */
  SD_ERR_IO,       /* a file could not be read or written */
  SD_ERR_CONFIG,   /* bad user input: config key, value, array file; the CLI exits with status 2 */
  SD_ERR_NUMERIC,  /* a LAPACK routine failed or a value is not finite where it must be */
  SD_ERR_INTERNAL  /* a broken invariant: a bug in saddle */
} sd_status;

/* Records a formatted message for `code` and returns `code`. Every error in libsaddle passes through here,
 * so one breakpoint catches them all. The message is kept per thread until the next error. */
sd_status sd_error_at(sd_status code, const char *src_file, int src_line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define sd_error(code, ...) sd_error_at((code), __FILE__, __LINE__, __VA_ARGS__)

/* The last message recorded on this thread ("" if none). Owned by libsaddle; valid until the next error. */
const char *sd_error_message(void);
/* Where in saddle's own source the last error was raised ("file.c:123"), for bug reports. */
const char *sd_error_origin(void);
const char *sd_status_name(sd_status code);
void sd_error_clear(void);

#define SD_TRY(expr)                 \
  do {                               \
    sd_status sd_try_rc_ = (expr);   \
    if (sd_try_rc_ != SD_OK) return sd_try_rc_; \
  } while (0)

#endif
