/* tests/run_capture.h — what the end-to-end tests share to run a command:
 * popen it and keep everything it prints. Included by a test file, once,
 * after <cmocka.h>. */
#ifndef FL_TESTS_RUN_CAPTURE_H
#define FL_TESTS_RUN_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* Runs cmd through the shell (redirections are the caller's); returns its
 * exit status (-1 if it did not exit) and what it wrote to the pipe in
 * *out (malloc'd, NUL-terminated, any length). */
static int run_capture(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 1 << 16, len = 0, n;
  char *buf = malloc(cap);
  assert_non_null(buf);
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (len + 1 == cap) {
      buf = realloc(buf, cap *= 2);
      assert_non_null(buf);
    }
  }
  buf[len] = '\0';
  int status = pclose(p);
  *out = buf;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif
