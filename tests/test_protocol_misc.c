/* tests/test_protocol_misc.c — cmocka tests of the smaller protocol pieces:
 * the read-only JSON view (protocol/json_view.c), SHA-256 of buffers and
 * files against published digests (protocol/sha256.c), and the blocking
 * client connection (protocol/conn.c) against a missing socket and a tiny
 * in-test daemon on a temporary Unix socket (a thread) that plays a good
 * daemon, one of another protocol version, one that refuses with an error
 * frame first, and one that hangs up. */
#define _DEFAULT_SOURCE /* setgroups */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flatline/protocol.h"

#define SHA_EMPTY \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC \
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* FIPS 180-2's two-block example. */
#define MSG_448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define SHA_448 \
  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

static void expect_phrase(const char *msg, const char *phrase) {
  if (!strstr(msg, phrase)) fail_msg("\"%s\" lacks \"%s\"", msg, phrase);
}

/* ---- JSON view --------------------------------------------------------- */

static fl_json *parse_text(const char *text, fl_error *err) {
  /* An exact-size heap copy without NUL: reads past the end show in ASan. */
  size_t len = strlen(text);
  char *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  memcpy(copy, text, len);
  memset(err, 0, sizeof *err);
  fl_json *root = fl_json_parse(copy, len, err);
  free(copy);
  return root;
}

static void test_json_view_nested(void **state) {
  (void)state;
  fl_error err;
  fl_json *root = parse_text(
      "{\"type\":\"reply\",\"id\":7,\"ok\":true,\"jobs\":[{\"job\":\"j1\","
      "\"epoch\":3,\"loss\":-0.25e1,\"last\":null},{\"job\":\"j2\"}],"
      "\"nested\":{\"a\":{\"b\":[1,[2,[3]]]}},\"flag\":false}",
      &err);
  if (!root) fail_msg("%s", err.msg);

  assert_string_equal(fl_json_string(fl_json_get(root, "type")), "reply");
  double d = 0;
  assert_true(fl_json_number(fl_json_get(root, "id"), &d));
  assert_true(d == 7.0);
  bool b = false;
  assert_true(fl_json_bool(fl_json_get(root, "ok"), &b));
  assert_true(b);
  assert_true(fl_json_bool(fl_json_get(root, "flag"), &b));
  assert_false(b);

  const fl_json *jobs = fl_json_get(root, "jobs");
  assert_int_equal(fl_json_array_size(jobs), 2);
  const fl_json *j0 = fl_json_array_at(jobs, 0);
  assert_string_equal(fl_json_string(fl_json_get(j0, "job")), "j1");
  assert_true(fl_json_number(fl_json_get(j0, "loss"), &d));
  assert_true(d == -2.5);
  assert_true(fl_json_is_null(fl_json_get(j0, "last")));
  assert_false(fl_json_is_null(fl_json_get(j0, "missing")));
  assert_string_equal(
      fl_json_string(fl_json_get(fl_json_array_at(jobs, 1), "job")), "j2");
  assert_null(fl_json_array_at(jobs, 2));

  const fl_json *inner =
      fl_json_get(fl_json_get(fl_json_get(root, "nested"), "a"), "b");
  assert_int_equal(fl_json_array_size(inner), 2);
  const fl_json *deep =
      fl_json_array_at(fl_json_array_at(fl_json_array_at(inner, 1), 1), 0);
  assert_true(fl_json_number(deep, &d));
  assert_true(d == 3.0);

  /* Wrong types answer "no", not garbage. */
  assert_null(fl_json_string(fl_json_get(root, "id")));
  assert_false(fl_json_number(fl_json_get(root, "type"), &d));
  assert_false(fl_json_bool(fl_json_get(root, "id"), &b));
  assert_int_equal(fl_json_array_size(fl_json_get(root, "nested")), 0);
  assert_null(fl_json_array_at(fl_json_get(root, "nested"), 0));
  assert_null(fl_json_get(jobs, "job")); /* an array has no keys */
  assert_null(fl_json_get(NULL, "x"));
  assert_null(fl_json_get(root, "Type")); /* case-sensitive */

  char *printed = fl_json_print(fl_json_get(root, "nested"));
  assert_non_null(printed);
  assert_string_equal(printed, "{\"a\":{\"b\":[1,[2,[3]]]}}");
  free(printed);
  printed = fl_json_print(j0);
  assert_string_equal(
      printed, "{\"job\":\"j1\",\"epoch\":3,\"loss\":-2.5,\"last\":null}");
  free(printed);
  assert_null(fl_json_print(NULL));
  fl_json_free(root);
  fl_json_free(NULL);
}

static void test_json_view_scalars_at_top(void **state) {
  (void)state;
  fl_error err;
  fl_json *v = parse_text(" [] ", &err);
  assert_non_null(v);
  assert_int_equal(fl_json_array_size(v), 0);
  fl_json_free(v);
  v = parse_text("\"caf\\u00e9\"", &err);
  assert_non_null(v);
  assert_string_equal(fl_json_string(v), "caf\xc3\xa9");
  fl_json_free(v);
}

static void test_json_view_bad_json(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int code;
    const char *phrase;
  } cases[] = {
      {"{\"a\":}", FL_EPARSE, "JSON: not valid JSON near byte 5"},
      {"{\"a\":1} x", FL_EPARSE, "unexpected text after the top-level value"},
      {"{\"a\":[1,2", FL_EPARSE, "unexpected end of input"},
      {"{\"a\":\"\xc3\"}", FL_EPARSE, "invalid UTF-8"},
      {"{\"a\":\"x\ny\"}", FL_EPARSE, "raw control character"},
      {"{\"a\":NaN}", FL_EPARSE, "not valid JSON"},
      {"", FL_EPARSE, "empty input"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fl_error err;
    fl_json *v = parse_text(cases[i].text, &err);
    if (v) fail_msg("case %zu parsed", i);
    assert_int_equal(err.code, cases[i].code);
    expect_phrase(err.msg, cases[i].phrase);
  }
}

/* depth nested arrays around a 0. */
static char *nested(int depth) {
  char *s = malloc((size_t)depth * 2 + 2);
  assert_non_null(s);
  memset(s, '[', (size_t)depth);
  s[depth] = '0';
  memset(s + depth + 1, ']', (size_t)depth);
  s[2 * depth + 1] = '\0';
  return s;
}

static void test_json_view_depth_cap(void **state) {
  (void)state;
  fl_error err;
  char *ok = nested(FL_JSON_MAX_DEPTH);
  fl_json *v = parse_text(ok, &err);
  if (!v) fail_msg("%s", err.msg);
  fl_json_free(v);
  free(ok);

  char *deep = nested(FL_JSON_MAX_DEPTH + 1);
  assert_null(parse_text(deep, &err));
  assert_int_equal(err.code, FL_ETOOBIG);
  expect_phrase(err.msg, "JSON: nesting depth 33");
  /* A smaller cap, and messages that name what was parsed. */
  assert_null(fl_json_parse_capped(deep, strlen(deep), 4, "reply", &err));
  assert_int_equal(err.code, FL_ETOOBIG);
  expect_phrase(err.msg, "reply: nesting depth 5");
  free(deep);

  /* Bytes past the cap are refused before a scan. */
  size_t big = FL_JSON_MAX_BYTES + 1;
  char *huge = malloc(big);
  assert_non_null(huge);
  memset(huge, ' ', big);
  huge[0] = '0';
  assert_null(fl_json_parse(huge, big, &err));
  assert_int_equal(err.code, FL_ETOOBIG);
  free(huge);
}

/* ---- SHA-256 ----------------------------------------------------------- */

static void digest_of(const char *text, char hex[FL_SHA256_HEX]) {
  fl_sha256 *h = fl_sha256_new();
  assert_non_null(h);
  fl_sha256_update(h, text, strlen(text));
  fl_sha256_final(h, hex);
}

static void test_sha256_known(void **state) {
  (void)state;
  char hex[FL_SHA256_HEX];
  digest_of("", hex);
  assert_string_equal(hex, SHA_EMPTY);
  digest_of("abc", hex);
  assert_string_equal(hex, SHA_ABC);
  digest_of(MSG_448, hex);
  assert_string_equal(hex, SHA_448);

  /* Streaming in odd pieces gives the same digest as one call. */
  fl_sha256 *h = fl_sha256_new();
  const char *m = MSG_448;
  size_t len = strlen(m);
  for (size_t at = 0; at < len;) {
    size_t piece = (at % 5) + 1;
    if (piece > len - at) piece = len - at;
    fl_sha256_update(h, m + at, piece);
    at += piece;
  }
  fl_sha256_final(h, hex);
  assert_string_equal(hex, SHA_448);
  assert_true(fl_sha256_hex_valid(hex));
}

/* A temp dir for files and sockets, removed by the test. */
static char *make_temp_dir(void) {
  char *dir = strdup("/tmp/fl-proto-XXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  return dir;
}

static void join_path(char *out, size_t size, const char *dir,
                      const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (len) assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void test_sha256_file(void **state) {
  (void)state;
  char *dir = make_temp_dir();
  char path[256], hex[FL_SHA256_HEX];
  uint64_t size = 99;
  fl_error err;

  join_path(path, sizeof path, dir, "abc.txt");
  write_file(path, "abc", 3);
  assert_int_equal(fl_sha256_file(path, hex, &size, &err), 0);
  assert_string_equal(hex, SHA_ABC);
  assert_true(size == 3);
  unlink(path);

  join_path(path, sizeof path, dir, "empty");
  write_file(path, "", 0);
  assert_int_equal(fl_sha256_file(path, hex, &size, &err), 0);
  assert_string_equal(hex, SHA_EMPTY);
  assert_true(size == 0);
  unlink(path);

  /* Larger than one 1 MiB read: chunks must join seamlessly. */
  size_t big = (5u << 20) / 2 + 17;
  uint8_t *data = malloc(big);
  assert_non_null(data);
  for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 31 + (i >> 11));
  join_path(path, sizeof path, dir, "big.bin");
  write_file(path, data, big);
  fl_sha256 *h = fl_sha256_new();
  fl_sha256_update(h, data, big);
  char want[FL_SHA256_HEX];
  fl_sha256_final(h, want);
  assert_int_equal(fl_sha256_file(path, hex, &size, &err), 0);
  assert_string_equal(hex, want);
  assert_true(size == big);
  free(data);
  unlink(path);

  /* Errors name the file. */
  join_path(path, sizeof path, dir, "missing.npy");
  assert_int_equal(fl_sha256_file(path, hex, &size, &err), FL_ENOTFOUND);
  expect_phrase(err.msg, path);
  assert_string_equal(hex, "");
  assert_int_equal(fl_sha256_file(dir, hex, &size, &err), FL_EIO);
  expect_phrase(err.msg, dir); /* a directory cannot be read */

  rmdir(dir);
  free(dir);
}

static void test_sha256_hex_valid(void **state) {
  (void)state;
  assert_true(fl_sha256_hex_valid(SHA_ABC));
  assert_true(fl_sha256_hex_valid(SHA_EMPTY));
  assert_false(fl_sha256_hex_valid(
      "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  assert_false(fl_sha256_hex_valid(SHA_ABC "0")); /* 65 */
  assert_false(fl_sha256_hex_valid(&SHA_ABC[1])); /* 63 */
  assert_false(fl_sha256_hex_valid(
      "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  assert_false(fl_sha256_hex_valid(""));
  assert_false(fl_sha256_hex_valid(NULL));
}

/* ---- connection -------------------------------------------------------- */

static void test_conn_missing_socket(void **state) {
  (void)state;
  char *dir = make_temp_dir();
  char path[256];
  join_path(path, sizeof path, dir, "nobody.sock");
  fl_conn c;
  fl_error err;
  assert_int_equal(fl_conn_connect(&c, path, &err), FL_ECONNECTION);
  expect_phrase(err.msg, path);
  expect_phrase(err.msg,
                "no daemon is listening (start flatlined, or set --socket / "
                "FLATLINE_SOCKET)");
  assert_int_equal(c.fd, -1);
  fl_conn_close(&c); /* harmless after a failed connect */

  /* A file that is not a listening socket: refused, same advice. */
  join_path(path, sizeof path, dir, "plain");
  write_file(path, "x", 1);
  assert_int_equal(fl_conn_connect(&c, path, &err), FL_ECONNECTION);
  expect_phrase(err.msg, "no daemon is listening");
  unlink(path);

  /* A path too long for sun_path is named, not truncated. */
  char long_path[200];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[0] = '/';
  long_path[sizeof long_path - 1] = '\0';
  assert_int_equal(fl_conn_connect(&c, long_path, &err), FL_EINVAL);
  expect_phrase(err.msg, "holds at most 107 bytes, this one has 199");
  rmdir(dir);
  free(dir);
}

/* How the in-test daemon behaves. */
typedef enum {
  PLAY_GOOD,          /* hello back, then echo one JSON and one binary frame */
  PLAY_OTHER_VERSION, /* hello with protocol 2 */
  PLAY_ERROR_FIRST,   /* an error frame before reading anything, then close */
  PLAY_HANG_UP,       /* read the hello, close without a word */
  PLAY_BAD_FRAME,     /* a frame of an unknown kind */
} play;

typedef struct {
  int listen_fd;
  play role;
  /* what the daemon saw, checked by the test after join */
  int hello_rc;
  fl_request hello;
} fake_daemon;

static int write_all(int fd, const void *p, size_t len) {
  const uint8_t *b = p;
  while (len) {
    ssize_t n = write(fd, b, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    b += n;
    len -= (size_t)n;
  }
  return 0;
}

static int send_frame(int fd, uint8_t kind, const void *p, size_t len) {
  uint8_t h[FL_FRAME_HEADER];
  fl_frame_header(kind, (uint32_t)len, h);
  if (write_all(fd, h, sizeof h)) return -1;
  return len ? write_all(fd, p, len) : 0;
}

/* Reads one frame into a malloc'd copy; -1 on EOF or error. */
static int read_frame(int fd, fl_frame_decoder *d, uint8_t *kind,
                      uint8_t **data, size_t *len) {
  for (;;) {
    uint8_t b;
    ssize_t n = read(fd, &b, 1); /* one byte at a time: slow and thorough */
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    size_t used;
    fl_frame f;
    fl_error err;
    int rc = fl_frame_decode(d, &b, 1, &used, &f, &err);
    if (rc < 0) return -1;
    if (rc == 1) {
      *kind = f.kind;
      *len = f.len;
      *data = malloc(f.len ? f.len : 1);
      if (f.len) memcpy(*data, f.data, f.len);
      return 0;
    }
  }
}

static void *daemon_main(void *arg) {
  fake_daemon *fd_state = arg;
  fd_state->hello_rc = 1; /* not read */
  int fd = accept(fd_state->listen_fd, NULL, NULL);
  if (fd < 0) return NULL;
  fl_frame_decoder d;
  fl_frame_decoder_init(&d);
  static const char good[] =
      "{\"type\":\"hello\",\"protocol\":1,\"build\":\"flatlined test\"}";
  static const char other[] =
      "{\"type\":\"hello\",\"protocol\":2,\"build\":\"flatlined 9.9\"}";
  static const char refuse[] =
      "{\"type\":\"error\",\"error\":\"too many connections from uid 1000\"}";

  if (fd_state->role == PLAY_ERROR_FIRST) {
    send_frame(fd, FL_FRAME_JSON, refuse, strlen(refuse));
    close(fd);
    fl_frame_decoder_free(&d);
    return NULL;
  }
  uint8_t kind, *data = NULL;
  size_t len;
  if (read_frame(fd, &d, &kind, &data, &len) == 0 && kind == FL_FRAME_JSON) {
    fd_state->hello_rc = fl_request_parse(data, len, &fd_state->hello, NULL);
  }
  free(data);
  switch (fd_state->role) {
    case PLAY_GOOD:
      send_frame(fd, FL_FRAME_JSON, good, strlen(good));
      for (int i = 0; i < 2; i++) {
        if (read_frame(fd, &d, &kind, &data, &len)) break;
        send_frame(fd, kind, data, len);
        free(data);
      }
      break;
    case PLAY_OTHER_VERSION:
      send_frame(fd, FL_FRAME_JSON, other, strlen(other));
      break;
    case PLAY_BAD_FRAME: {
      uint8_t h[FL_FRAME_HEADER];
      fl_frame_header(9, 0, h);
      write_all(fd, h, sizeof h);
      break;
    }
    case PLAY_HANG_UP:
    case PLAY_ERROR_FIRST:
      break;
  }
  close(fd);
  fl_frame_decoder_free(&d);
  return NULL;
}

typedef struct {
  char *dir;
  char path[256];
  fake_daemon daemon;
  pthread_t thread;
} fixture;

static void start_daemon(fixture *fx, play role) {
  memset(fx, 0, sizeof *fx);
  fx->dir = make_temp_dir();
  join_path(fx->path, sizeof fx->path, fx->dir, "d.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", fx->path);
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(listen(fd, 1), 0);
  fx->daemon.listen_fd = fd;
  fx->daemon.role = role;
  assert_int_equal(pthread_create(&fx->thread, NULL, daemon_main, &fx->daemon),
                   0);
}

static void stop_daemon(fixture *fx) {
  assert_int_equal(pthread_join(fx->thread, NULL), 0);
  close(fx->daemon.listen_fd);
  unlink(fx->path);
  rmdir(fx->dir);
  free(fx->dir);
  fl_request_free(&fx->daemon.hello);
}

/* The daemon saw our hello exactly as docs/protocol.md writes it. */
static void check_client_hello(const fixture *fx) {
  assert_int_equal(fx->daemon.hello_rc, 0);
  assert_int_equal(fx->daemon.hello.type, FL_REQ_HELLO);
  assert_int_equal(fx->daemon.hello.protocol, FL_PROTOCOL_VERSION);
  assert_string_equal(fx->daemon.hello.build, "flatline " FL_VERSION_STRING);
}

static void test_conn_hello_and_echo(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_GOOD);
  fl_conn c;
  fl_error err;
  int rc = fl_conn_connect(&c, fx.path, &err);
  if (rc) fail_msg("connect: %s", err.msg);
  assert_string_equal(c.peer_build, "flatlined test");

  assert_int_equal(fl_conn_send_json(&c, "{\"type\":\"list\",\"id\":1}", &err),
                   0);
  fl_frame f;
  assert_int_equal(fl_conn_recv(&c, &f, &err), 0);
  assert_int_equal(f.kind, FL_FRAME_JSON);
  assert_int_equal(f.len, 22);
  assert_memory_equal(f.data, "{\"type\":\"list\",\"id\":1}", 22);

  /* A binary chunk larger than the connection's read buffer. */
  size_t big = 200000;
  uint8_t *chunk = malloc(big);
  assert_non_null(chunk);
  for (size_t i = 0; i < big; i++) chunk[i] = (uint8_t)(i * 13);
  assert_int_equal(fl_conn_send_binary(&c, chunk, big, &err), 0);
  assert_int_equal(fl_conn_recv(&c, &f, &err), 0);
  assert_int_equal(f.kind, FL_FRAME_BINARY);
  assert_int_equal(f.len, big);
  assert_memory_equal(f.data, chunk, big);
  free(chunk);

  /* The daemon hangs up after its two echoes. */
  assert_int_equal(fl_conn_recv(&c, &f, &err), FL_ECONNECTION);
  expect_phrase(err.msg, "the daemon closed the connection");
  /* Caps are checked before sending. */
  assert_int_equal(fl_conn_send_binary(&c, "", FL_FRAME_MAX_BINARY + 1, &err),
                   FL_ETOOBIG);
  fl_conn_close(&c);
  fl_conn_close(&c);
  assert_int_equal(fl_conn_send_json(&c, "{}", &err), FL_ECONNECTION);
  stop_daemon(&fx);
  check_client_hello(&fx);
}

static void test_conn_version_mismatch(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_OTHER_VERSION);
  fl_conn c;
  fl_error err;
  assert_int_equal(fl_conn_connect(&c, fx.path, &err), FL_EUNSUPPORTED);
  expect_phrase(err.msg, fx.path);
  expect_phrase(err.msg, "speaks protocol 2, this flatline speaks protocol 1");
  assert_int_equal(c.fd, -1);
  stop_daemon(&fx);
  check_client_hello(&fx);
}

static void test_conn_error_first(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_ERROR_FIRST);
  fl_conn c;
  fl_error err;
  assert_int_equal(fl_conn_connect(&c, fx.path, &err), FL_ECONNECTION);
  expect_phrase(err.msg,
                "refused the connection: too many connections from "
                "uid 1000");
  expect_phrase(err.msg, fx.path);
  stop_daemon(&fx);
}

static void test_conn_hang_up(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_HANG_UP);
  fl_conn c;
  fl_error err;
  assert_int_equal(fl_conn_connect(&c, fx.path, &err), FL_ECONNECTION);
  expect_phrase(err.msg, "the daemon closed the connection");
  stop_daemon(&fx);
  check_client_hello(&fx);
}

static void test_conn_bad_frame(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_BAD_FRAME);
  fl_conn c;
  fl_error err;
  assert_int_equal(fl_conn_connect(&c, fx.path, &err), FL_EPARSE);
  expect_phrase(err.msg, "the daemon sent a bad frame");
  expect_phrase(err.msg, "unknown frame kind 9");
  stop_daemon(&fx);
}

/* fl_conn_connect(path) from a child process that, when the test runs as
 * root (CI does), first becomes nobody (65534): root passes every
 * permission check, so only another user can be refused. Returns the
 * connect's code; its message in msg. */
static int connect_as_another_user(const char *path, char *msg, size_t cap) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    const gid_t nobody = 65534;
    if (geteuid() == 0 &&
        (setgroups(0, NULL) != 0 || setgid(nobody) != 0 || setuid(nobody) != 0))
      _exit(2);
    fl_conn c;
    fl_error err = {0};
    int rc = fl_conn_connect(&c, path, &err);
    if (rc == 0) fl_conn_close(&c);
    if (write_all(fds[1], &rc, sizeof rc) || write_all(fds[1], err.msg, strlen(err.msg)))
      _exit(3);
    _exit(0);
  }
  close(fds[1]);
  int rc = 0, status = 0;
  size_t got = 0;
  assert_int_equal(read(fds[0], &rc, sizeof rc), (ssize_t)sizeof rc);
  for (ssize_t n; got + 1 < cap && (n = read(fds[0], msg + got, cap - 1 - got)) > 0;)
    got += (size_t)n;
  msg[got] = '\0';
  close(fds[0]);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("the child could not become another user or report (status %#x)", status);
  return rc;
}

/* Without permission on the socket: the flatline-group hint. The folder is
 * open to all (as /run/flatline is), so only the socket's mode refuses. */
static void test_conn_permission_denied(void **state) {
  (void)state;
  fixture fx;
  start_daemon(&fx, PLAY_HANG_UP);
  assert_int_equal(chmod(fx.dir, 0755), 0);
  assert_int_equal(chmod(fx.path, 0), 0);
  char msg[512];
  assert_int_equal(connect_as_another_user(fx.path, msg, sizeof msg), FL_EPERM);
  expect_phrase(msg, "permission denied (are you in the flatline group?)");
  /* With the mode opened, the same user reaches the daemon (which hangs
   * up after the hello): it was the mode. */
  assert_int_equal(chmod(fx.path, 0666), 0);
  assert_int_equal(connect_as_another_user(fx.path, msg, sizeof msg), FL_ECONNECTION);
  expect_phrase(msg, "the daemon closed the connection");
  stop_daemon(&fx);
  check_client_hello(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_view_nested),
      cmocka_unit_test(test_json_view_scalars_at_top),
      cmocka_unit_test(test_json_view_bad_json),
      cmocka_unit_test(test_json_view_depth_cap),
      cmocka_unit_test(test_sha256_known),
      cmocka_unit_test(test_sha256_file),
      cmocka_unit_test(test_sha256_hex_valid),
      cmocka_unit_test(test_conn_missing_socket),
      cmocka_unit_test(test_conn_hello_and_echo),
      cmocka_unit_test(test_conn_version_mismatch),
      cmocka_unit_test(test_conn_error_first),
      cmocka_unit_test(test_conn_hang_up),
      cmocka_unit_test(test_conn_bad_frame),
      cmocka_unit_test(test_conn_permission_denied),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
