/* tests/test_config.c — which config file flatlined reads
 * (fl_config_load_chosen, daemon/config.c): --config when given, else the
 * default path (/etc/flatline/flatlined.conf) when it exists, else the
 * defaults; and the commented file the Debian package installs there
 * (packaging/flatlined.conf): as shipped it changes nothing, and each
 * `#key = value` line it shows is valid and states the real default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/fl-config-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *out = strdup(buf);
  assert_non_null(out);
  return out;
}

static void path_in_dir(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static void test_no_file_means_defaults(void **state) {
  (void)state;
  char missing[128];
  path_in_dir(missing, sizeof missing, "absent.conf");
  fl_limits l, want;
  memset(&l, 0xab, sizeof l); /* every field must be set */
  fl_limits_default(&want);
  const char *used = "stale";
  fl_error err = {0};
  assert_int_equal(fl_config_load_chosen(NULL, missing, &l, &used, &err), 0);
  assert_null(used);
  assert_memory_equal(&l, &want, sizeof l);
}

static void test_default_file_is_read(void **state) {
  (void)state;
  char def[128];
  path_in_dir(def, sizeof def, "etc-flatlined.conf");
  write_text(def, "max_queued_jobs = 7\n");
  fl_limits l;
  fl_limits_default(&l);
  const char *used = NULL;
  fl_error err = {0};
  assert_int_equal(fl_config_load_chosen(NULL, def, &l, &used, &err), 0);
  assert_string_equal(used, def);
  assert_int_equal(l.max_queued_jobs, 7);

  /* Admins manage /etc with links: the file behind one is read, and a
   * reload reads what the link names now. */
  char real[128], link[128];
  path_in_dir(real, sizeof real, "real.conf");
  path_in_dir(link, sizeof link, "link.conf");
  write_text(real, "max_queued_jobs = 9\n");
  assert_int_equal(symlink(real, link), 0);
  assert_int_equal(fl_config_load_chosen(NULL, link, &l, &used, &err), 0);
  assert_int_equal(l.max_queued_jobs, 9);
}

static void test_explicit_config_wins(void **state) {
  (void)state;
  char def[128], mine[128];
  path_in_dir(def, sizeof def, "etc-flatlined.conf");
  path_in_dir(mine, sizeof mine, "mine.conf");
  write_text(def, "max_queued_jobs = 7\n");
  write_text(mine, "max_connections_per_user = 3\n");
  fl_limits l;
  fl_limits_default(&l);
  const char *used = NULL;
  fl_error err = {0};
  assert_int_equal(fl_config_load_chosen(mine, def, &l, &used, &err), 0);
  assert_string_equal(used, mine);
  assert_int_equal(l.max_connections_per_user, 3);
  assert_int_equal(l.max_queued_jobs, 100); /* the default file is not merged */

  /* --config /dev/null: no file's limits even when the default exists. */
  assert_int_equal(fl_config_load_chosen("/dev/null", def, &l, &used, &err), 0);
  assert_int_equal(l.max_queued_jobs, 100);

  /* A --config that is missing is an error, not a fall back to the default. */
  char missing[128];
  path_in_dir(missing, sizeof missing, "missing.conf");
  fl_limits before = l;
  assert_int_not_equal(fl_config_load_chosen(missing, def, &l, &used, &err), 0);
  assert_non_null(strstr(err.msg, "missing.conf"));
  assert_memory_equal(&l, &before, sizeof l);
}

static void test_broken_default_is_an_error(void **state) {
  (void)state;
  char def[128];
  path_in_dir(def, sizeof def, "etc-flatlined.conf");
  write_text(def, "max_queued_jobs = 7\nmax_queued_jobz = 8\n");
  fl_limits l;
  fl_limits_default(&l);
  l.max_queued_jobs = 55; /* the limits in force before a reload */
  const char *used = NULL;
  fl_error err = {0};
  assert_int_not_equal(fl_config_load_chosen(NULL, def, &l, &used, &err), 0);
  assert_non_null(strstr(err.msg, ":2: unknown key \"max_queued_jobz\""));
  assert_int_equal(l.max_queued_jobs, 55);
  assert_null(used);

  /* Present but not a file: not the same as absent. */
  char folder[128];
  path_in_dir(folder, sizeof folder, "etc-folder.conf");
  assert_int_equal(mkdir(folder, 0755), 0);
  assert_int_not_equal(fl_config_load_chosen(NULL, folder, &l, &used, &err), 0);
  assert_int_equal(l.max_queued_jobs, 55);
}

/* The shipped file: read as is, it gives exactly the defaults. */
static void test_shipped_file_changes_nothing(void **state) {
  (void)state;
  const char *shipped = FL_SOURCE_DIR "/packaging/flatlined.conf";
  fl_limits l, want;
  fl_limits_default(&want);
  const char *used = NULL;
  fl_error err = {0};
  assert_int_equal(fl_config_load_chosen(NULL, shipped, &l, &used, &err), 0);
  assert_non_null(used);
  assert_memory_equal(&l, &want, sizeof l);
}

/* Each `#key = value` line of the shipped file, uncommented, is accepted
 * and is the real default: the file cannot drift from config.c. Every key
 * config.c knows is shown (load_memory_bytes as prose: its default is a
 * share of this machine's RAM). */
static void test_shipped_file_shows_the_defaults(void **state) {
  (void)state;
  char *text = read_text(FL_SOURCE_DIR "/packaging/flatlined.conf");
  size_t cap = strlen(text) + 1;
  char *out = malloc(cap);
  assert_non_null(out);
  size_t n = 0;
  int shown = 0;
  for (char *line = text, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    /* "#key = value" (no space after '#') is a setting; "# ..." is prose. */
    if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
      n += (size_t)snprintf(out + n, cap - n, "%s\n", line + 1);
      shown++;
    }
  }
  char uncommented[128];
  path_in_dir(uncommented, sizeof uncommented, "uncommented.conf");
  write_text(uncommented, out);
  print_message("%d settings shown:\n%s", shown, out);
  free(out);
  free(text);
  assert_int_equal(shown, 8); /* every key but load_memory_bytes */

  fl_limits l, want;
  fl_limits_default(&want);
  fl_error err = {0};
  assert_int_equal(fl_config_load(uncommented, &l, &err), 0);
  assert_memory_equal(&l, &want, sizeof l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_file_means_defaults),
      cmocka_unit_test(test_default_file_is_read),
      cmocka_unit_test(test_explicit_config_wins),
      cmocka_unit_test(test_broken_default_is_an_error),
      cmocka_unit_test(test_shipped_file_changes_nothing),
      cmocka_unit_test(test_shipped_file_shows_the_defaults),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
