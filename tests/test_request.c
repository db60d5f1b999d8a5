/* tests/test_request.c — cmocka tests of the request parser
 * (protocol/request.c): every request type of docs/protocol.md decoded into
 * its fields, a corpus of wrong requests (code, echoed id, and the key named
 * in each message), the caps (files, blobs, path length, depth), and a
 * seeded mutation fuzz of valid requests that must never crash (ASan/UBSan
 * in CI) and never return a request that breaks its own invariants.
 *
 * Requests are written with ' instead of " so that they read like JSON;
 * parse() swaps them back and hands the parser an exactly sized heap copy
 * without a NUL terminator, so any read past the end shows up under ASan. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

/* sha256("abc") and sha256(""): real digests, as a client would send. */
#define H1 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define H2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define H_UPPER \
  "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
#define H_SHORT \
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"

/* ---- helpers ----------------------------------------------------------- */

static int parse_bytes(const char *bytes, size_t len, bool swap_quotes,
                       fl_request *r, fl_error *err) {
  uint8_t *json = malloc(len ? len : 1);
  assert_non_null(json);
  for (size_t i = 0; i < len; i++) {
    json[i] = (uint8_t)((swap_quotes && bytes[i] == '\'') ? '"' : bytes[i]);
  }
  memset(err, 0, sizeof *err);
  int rc = fl_request_parse(json, len, r, err);
  free(json);
  return rc;
}

static int parse(const char *quoted, fl_request *r, fl_error *err) {
  return parse_bytes(quoted, strlen(quoted), true, r, err);
}

static void parse_ok(const char *quoted, fl_request *r) {
  fl_error err;
  int rc = parse(quoted, r, &err);
  if (rc != 0) fail_msg("expected a valid request, got %d: %s", rc, err.msg);
}

/* ---- valid requests ---------------------------------------------------- */

static void test_hello(void **state) {
  (void)state;
  fl_request r;
  parse_ok("{'type':'hello','protocol':1,'build':'flatline 0.1.0'}", &r);
  assert_int_equal(r.type, FL_REQ_HELLO);
  assert_int_equal(r.protocol, 1);
  assert_string_equal(r.build, "flatline 0.1.0");
  assert_int_equal(r.id, 0);
  fl_request_free(&r);

  /* Another version's hello is read for its version alone, so that the
   * daemon can say which versions differ rather than "unknown key". */
  parse_ok("{'type':'hello','protocol':2,'build':'flatline 9','caps':['x']}",
           &r);
  assert_int_equal(r.protocol, 2);
  assert_string_equal(r.build, "flatline 9");
  fl_request_free(&r);
}

static void test_blob_check(void **state) {
  (void)state;
  fl_request r;
  parse_ok("{'type':'blob_check','id':3,'blobs':['" H1 "','" H2 "']}", &r);
  assert_int_equal(r.type, FL_REQ_BLOB_CHECK);
  assert_int_equal(r.id, 3);
  assert_int_equal(r.n_blobs, 2);
  assert_string_equal(r.blobs[0], H1);
  assert_string_equal(r.blobs[1], H2);
  fl_request_free(&r);
  assert_null(r.blobs);

  parse_ok("{'id':4,'blobs':[],'type':'blob_check'}", &r); /* any order */
  assert_int_equal(r.n_blobs, 0);
  fl_request_free(&r);
}

static void test_blob_put(void **state) {
  (void)state;
  fl_request r;
  parse_ok("{'type':'blob_put','id':9007199254740991,'sha256':'" H1
           "','size':5000000000}",
           &r);
  assert_int_equal(r.type, FL_REQ_BLOB_PUT);
  assert_true(r.id == INT64_C(9007199254740991));
  assert_string_equal(r.sha256, H1);
  assert_true(r.size == UINT64_C(5000000000));
  fl_request_free(&r);

  parse_ok("{'type':'blob_put','id':1,'sha256':'" H2 "','size':0}", &r);
  assert_true(r.size == 0);
  fl_request_free(&r);
}

static void test_submit_and_check(void **state) {
  (void)state;
  fl_request r;
  parse_ok(
      "{'type':'submit','id':5,'spec':'{\\'name\\': \\'mnist\\'}\\n',"
      "'files':{'data/X.npy':'" H1 "','y.npy':'" H2 "'},'follow':true}",
      &r);
  assert_int_equal(r.type, FL_REQ_SUBMIT);
  assert_int_equal(r.id, 5);
  /* The spec is the text itself, unescaped and NUL-terminated. */
  assert_string_equal(r.spec_text, "{\"name\": \"mnist\"}\n");
  assert_int_equal(r.spec_len, strlen(r.spec_text));
  assert_int_equal(r.n_files, 2);
  assert_string_equal(r.files[0].path, "data/X.npy");
  assert_string_equal(r.files[0].sha256, H1);
  assert_string_equal(r.files[1].path, "y.npy");
  assert_string_equal(r.files[1].sha256, H2);
  assert_true(r.follow);
  fl_request_free(&r);
  fl_request_free(&r); /* twice is fine */

  parse_ok("{'type':'submit','id':6,'spec':'{}','files':{}}", &r);
  assert_false(r.follow); /* follow defaults to false */
  assert_int_equal(r.n_files, 0);
  fl_request_free(&r);

  parse_ok(
      "{'type':'check','id':7,'spec':'x','files':{'\\u00e9t\\u00e9.csv':'" H1
      "'}}",
      &r);
  assert_int_equal(r.type, FL_REQ_CHECK);
  assert_string_equal(r.files[0].path, "\xc3\xa9t\xc3\xa9.csv");
  fl_request_free(&r);
}

static void test_job_requests(void **state) {
  (void)state;
  static const struct {
    const char *json;
    fl_request_type type;
    const char *job;
  } cases[] = {
      {"{'type':'follow','id':1,'job':'j17'}", FL_REQ_FOLLOW, "j17"},
      {"{'type':'show','id':2,'job':'j1'}", FL_REQ_SHOW, "j1"},
      {"{'type':'cancel','id':3,'job':'j123456789'}", FL_REQ_CANCEL,
       "j123456789"},
      {"{'type':'export','id':4,'job':'j0'}", FL_REQ_EXPORT, "j0"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fl_request r;
    parse_ok(cases[i].json, &r);
    assert_int_equal(r.type, cases[i].type);
    assert_int_equal(r.id, (int64_t)i + 1);
    assert_string_equal(r.job, cases[i].job);
    fl_request_free(&r);
  }
}

/* predict: the data's form, its blobs by hash, a name for messages, and
 * evaluate; each field checked and named when wrong. */
static void test_predict(void **state) {
  (void)state;
  fl_request r;
  parse_ok("{'type':'predict','id':5,'job':'j3','form':'csv','features':'" H1
           "','name':'val.csv','evaluate':true}", &r);
  assert_int_equal(r.type, FL_REQ_PREDICT);
  assert_string_equal(r.job, "j3");
  assert_string_equal(r.form, "csv");
  assert_string_equal(r.sha256, H1);
  assert_string_equal(r.labels_sha256, "");
  assert_string_equal(r.data_name, "val.csv");
  assert_true(r.evaluate);
  fl_request_free(&r);
  parse_ok("{'type':'predict','id':6,'job':'j3','form':'npy','features':'" H1
           "','labels':'" H2 "'}", &r);
  assert_string_equal(r.labels_sha256, H2);
  assert_string_equal(r.data_name, "data");
  assert_false(r.evaluate);
  fl_request_free(&r);
  static const struct {
    const char *json, *phrase;
  } bad[] = {
      {"{'type':'predict','id':1,'job':'j3','form':'xls','features':'" H1 "'}",
       "form: expected \"npy\", \"csv\" or \"idx\""},
      {"{'type':'predict','id':1,'job':'j3','form':'npy'}", "features"},
      {"{'type':'predict','id':1,'job':'j3','form':'npy','features':'xyz'}",
       "features"},
      {"{'type':'predict','id':1,'form':'npy','features':'" H1 "'}", "job"},
      {"{'type':'predict','id':1,'job':'j3','form':'npy','features':'" H1
       "','evaluate':1}", "evaluate"},
      {"{'type':'predict','id':1,'job':'j3','form':'npy','features':'" H1
       "','path':'/etc/passwd'}", "path"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fl_error err;
    memset(&r, 0, sizeof r);
    int rc = parse(bad[i].json, &r, &err);
    if (rc == 0 || !strstr(err.msg, bad[i].phrase))
      fail_msg("case %zu: rc %d, message \"%s\" lacks \"%s\"", i, rc, err.msg,
               bad[i].phrase);
    assert_int_equal(r.id, 1);
    fl_request_free(&r);
  }
}

static void test_list_and_devices(void **state) {
  (void)state;
  fl_request r;
  parse_ok("  {'type':'list','id':1}\n", &r); /* white space around is fine */
  assert_int_equal(r.type, FL_REQ_LIST);
  assert_int_equal(r.id, 1);
  fl_request_free(&r);
  parse_ok("{'type':'devices','id':2.0}", &r); /* 2.0 is the integer 2 */
  assert_int_equal(r.type, FL_REQ_DEVICES);
  assert_int_equal(r.id, 2);
  fl_request_free(&r);
}

static void test_type_names(void **state) {
  (void)state;
  static const char *const names[] = {
      "hello", "blob_check", "blob_put", "submit",  "check", "follow",
      "list",  "show",       "cancel",   "devices", "export"};
  for (int t = FL_REQ_HELLO; t <= FL_REQ_EXPORT; t++) {
    assert_string_equal(fl_request_type_name((fl_request_type)t), names[t]);
  }
  assert_string_equal(fl_request_type_name((fl_request_type)99), "unknown");
}

/* ---- wrong requests ---------------------------------------------------- */

typedef struct {
  const char *json;
  int code;
  int64_t id;         /* what out->id must hold after the failure */
  const char *phrase; /* must appear in the message: names the key */
} bad_case;

#define SUBMIT_PREFIX "{'type':'submit','id':6,'spec':'{}',"

static const bad_case bad_cases[] = {
    /* not a JSON object */
    {"", FL_EPARSE, 0, "request: empty JSON frame"},
    {" \n\t ", FL_EPARSE, 0, "request: empty JSON frame"},
    {"[1,2]", FL_EPARSE, 0, "request: expected a JSON object"},
    {"'list'", FL_EPARSE, 0, "got \"list\""},
    {"{'type':'list','id':1", FL_EPARSE, 0, "unexpected end of input"},
    {"{'type':'list','id':1} {}", FL_EPARSE, 0, "unexpected text after"},
    {"{'type':'list','id':01}", FL_EPARSE, 0, "malformed number"},
    {"{'type':'list','id':1,'x':'\xff'}", FL_EPARSE, 0,
     "request: not valid JSON near byte 27 (line 1, column 28): invalid "
     "UTF-8"},
    {"{'type':'list','id':1,'x':'\\u0000'}", FL_EPARSE, 0, "NUL"},
    {"{'type':'list','id':1,'x':[[[[[[[[1]]]]]]]]}", FL_ETOOBIG, 0,
     "request: nesting depth 9"},
    /* type */
    {"{'id':3}", FL_EINVAL, 3, "type: required key is missing"},
    {"{'type':'sumbit','id':4}", FL_EINVAL, 4,
     "type: expected one of \"hello\""},
    {"{'type':'sumbit','id':4}", FL_EINVAL, 4, "did you mean \"submit\"?"},
    {"{'type':7,'id':1}", FL_EINVAL, 1, "type: expected one of"},
    {"{'type':'list','type':'list','id':1}", FL_EINVAL, 1,
     "type: duplicate key"},
    /* id */
    {"{'type':'list'}", FL_EINVAL, 0, "id: required key is missing"},
    {"{'type':'list','id':0}", FL_EINVAL, 0,
     "id: expected an integer from 1 to 9007199254740991, got 0"},
    {"{'type':'list','id':1.5}", FL_EINVAL, 0, "id: expected an integer"},
    {"{'type':'list','id':'1'}", FL_EINVAL, 0, "id: expected an integer"},
    {"{'type':'list','id':9007199254740992}", FL_EINVAL, 0,
     "id: expected an integer"},
    {"{'type':'list','id':1,'id':2}", FL_EINVAL, 1, "id: duplicate key"},
    {"{'type':'list','id':1,'verbose':true}", FL_EINVAL, 1,
     "verbose: unknown key"},
    {"{'type':'list','id':1,'':true}", FL_EINVAL, 1, "[\"\"]: unknown key"},
    /* hello */
    {"{'type':'hello','protocol':1}", FL_EINVAL, 0,
     "build: required key is missing"},
    {"{'type':'hello','build':'x'}", FL_EINVAL, 0,
     "protocol: required key is missing"},
    {"{'type':'hello','protocol':'1','build':'x'}", FL_EINVAL, 0,
     "protocol: expected an integer"},
    {"{'type':'hello','protocol':1,'build':'x','id':5}", FL_EINVAL, 0,
     "id: unknown key"},
    {"{'type':'hello','protocol':1,'build':''}", FL_EINVAL, 0,
     "build: expected"},
    /* blob_check */
    {"{'type':'blob_check','id':2}", FL_EINVAL, 2,
     "blobs: required key is missing"},
    {"{'type':'blob_check','id':2,'blobs':'" H1 "'}", FL_EINVAL, 2,
     "blobs: expected an array"},
    {"{'type':'blob_check','id':2,'blobs':['zz']}", FL_EINVAL, 2,
     "blobs[0]: expected a SHA-256 digest (64 lowercase hex digits), got "
     "\"zz\""},
    {"{'type':'blob_check','id':2,'blobs':['" H1 "','" H_UPPER "']}", FL_EINVAL,
     2, "blobs[1]: expected a SHA-256"},
    {"{'type':'blob_check','id':2,'blobs':[null]}", FL_EINVAL, 2,
     "blobs[0]: expected a SHA-256 digest (64 lowercase hex digits), got "
     "null"},
    /* blob_put */
    {"{'type':'blob_put','id':5,'size':3}", FL_EINVAL, 5,
     "sha256: required key is missing"},
    {"{'type':'blob_put','id':5,'sha256':'" H_SHORT "','size':3}", FL_EINVAL, 5,
     "sha256: expected a SHA-256"},
    {"{'type':'blob_put','id':5,'sha256':'" H1 "0','size':3}", FL_EINVAL, 5,
     "sha256: expected a SHA-256"},
    {"{'type':'blob_put','id':5,'sha256':'" H1 "'}", FL_EINVAL, 5,
     "size: required key is missing"},
    {"{'type':'blob_put','id':5,'sha256':'" H1 "','size':-1}", FL_EINVAL, 5,
     "size: expected an integer from 0"},
    {"{'type':'blob_put','id':5,'sha256':'" H1 "','size':1e300}", FL_EINVAL, 5,
     "size: expected an integer"},
    {"{'type':'blob_put','id':5,'sha256':'" H1 "','size':1,'name':'x'}",
     FL_EINVAL, 5, "name: unknown key"},
    /* submit / check */
    {"{'type':'submit','id':6,'files':{}}", FL_EINVAL, 6,
     "spec: required key is missing"},
    {"{'type':'submit','id':6,'spec':{},'files':{}}", FL_EINVAL, 6,
     "spec: expected the spec file's text as a string, got an object"},
    {"{'type':'submit','id':6,'spec':'','files':{}}", FL_EINVAL, 6,
     "spec: expected"},
    {"{'type':'submit','id':6,'spec':'{}'}", FL_EINVAL, 6,
     "files: required key is missing"},
    {SUBMIT_PREFIX "'files':[]}", FL_EINVAL, 6, "files: expected an object"},
    {SUBMIT_PREFIX "'files':{'a.npy':'x'}}", FL_EINVAL, 6,
     "files[\"a.npy\"]: expected a SHA-256"},
    {SUBMIT_PREFIX "'files':{'':'" H1 "'}}", FL_EINVAL, 6,
     "files[\"\"]: expected a file path"},
    {SUBMIT_PREFIX "'files':{'a':'" H1 "','a':'" H2 "'}}", FL_EINVAL, 6,
     "files.a: duplicate path"},
    {SUBMIT_PREFIX "'files':{'a\\nb':'" H1 "'}}", FL_EINVAL, 6,
     "without control characters"},
    {SUBMIT_PREFIX "'files':{},'follow':'yes'}", FL_EINVAL, 6,
     "follow: expected true or false"},
    {SUBMIT_PREFIX "'files':{},'follow':1}", FL_EINVAL, 6,
     "follow: expected true or false"},
    {"{'type':'check','id':6,'spec':'{}','files':{},'follow':true}", FL_EINVAL,
     6, "follow: unknown key"},
    {SUBMIT_PREFIX "'files':{},'flies':{}}", FL_EINVAL, 6,
     "flies: unknown key (did you mean \"files\"?)"},
    /* job ids */
    {"{'type':'show','id':8}", FL_EINVAL, 8, "job: required key is missing"},
    {"{'type':'show','id':8,'job':17}", FL_EINVAL, 8,
     "job: expected a job id such as \"j17\""},
    {"{'type':'cancel','id':8,'job':'17'}", FL_EINVAL, 8, "job: expected"},
    {"{'type':'follow','id':8,'job':'j'}", FL_EINVAL, 8, "job: expected"},
    {"{'type':'export','id':8,'job':'j1234567890'}", FL_EINVAL, 8,
     "job: expected"},
    {"{'type':'export','id':8,'job':'j12x'}", FL_EINVAL, 8, "job: expected"},
    {"{'type':'export','id':8,'job':'J12'}", FL_EINVAL, 8, "job: expected"},
    {"{'type':'devices','id':9,'job':'j1'}", FL_EINVAL, 9, "job: unknown key"},
};

static void test_bad_requests(void **state) {
  (void)state;
  assert_true(sizeof bad_cases / sizeof bad_cases[0] >= 30);
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *c = &bad_cases[i];
    fl_request r;
    fl_error err;
    int rc = parse(c->json, &r, &err);
    if (rc != c->code) {
      fail_msg("case %zu %s: expected %d, got %d: %s", i, c->json, c->code, rc,
               err.msg);
    }
    assert_int_equal(err.code, c->code);
    if (!strstr(err.msg, c->phrase)) {
      fail_msg("case %zu %s: message \"%s\" lacks \"%s\"", i, c->json, err.msg,
               c->phrase);
    }
    if (r.id != c->id) {
      fail_msg("case %zu %s: id %lld, expected %lld", i, c->json,
               (long long)r.id, (long long)c->id);
    }
    /* Nothing is left allocated in a rejected request. */
    assert_null(r.blobs);
    assert_null(r.files);
    assert_null(r.spec_text);
    fl_request_free(&r);
  }
}

/* The id is echoed even when the failure is in a later field, and when the
 * type itself is unknown. */
static void test_id_echoed_on_error(void **state) {
  (void)state;
  fl_request r;
  fl_error err;
  assert_int_equal(parse("{'type':'show','id':41,'job':'x'}", &r, &err),
                   FL_EINVAL);
  assert_int_equal(r.id, 41);
  assert_int_equal(r.type, FL_REQ_SHOW);
  fl_request_free(&r);
  assert_int_equal(parse("{'id':42,'type':'frobnicate'}", &r, &err), FL_EINVAL);
  assert_int_equal(r.id, 42);
  fl_request_free(&r);
  assert_int_equal(
      parse("{'type':'blob_check','id':43,'blobs':['" H1 "','nope']}", &r,
            &err),
      FL_EINVAL);
  assert_int_equal(r.id, 43);
  assert_null(r.blobs); /* the half-decoded array was freed */
  fl_request_free(&r);
}

/* ---- caps -------------------------------------------------------------- */

/* A submit with n files named f0, f1, ... (+ extra bytes of path). */
static char *submit_with_files(int n, size_t path_len) {
  size_t cap = 256 + (size_t)n * (path_len + 90);
  char *s = malloc(cap);
  assert_non_null(s);
  size_t at =
      (size_t)snprintf(s, cap, "{'type':'submit','id':1,'spec':'x','files':{");
  for (int i = 0; i < n; i++) {
    char name[16];
    int w = snprintf(name, sizeof name, "f%d", i);
    at += (size_t)snprintf(s + at, cap - at, "%s'%s", i ? "," : "", name);
    for (size_t k = (size_t)w; k < path_len; k++) s[at++] = 'p';
    at += (size_t)snprintf(s + at, cap - at, "':'%s'", H1);
  }
  snprintf(s + at, cap - at, "}}");
  return s;
}

static void test_file_caps(void **state) {
  (void)state;
  fl_request r;
  fl_error err;
  char *s = submit_with_files(FL_MAX_REQUEST_FILES, 3);
  parse_ok(s, &r);
  assert_int_equal(r.n_files, FL_MAX_REQUEST_FILES);
  assert_string_equal(r.files[63].path, "f63");
  fl_request_free(&r);
  free(s);

  s = submit_with_files(FL_MAX_REQUEST_FILES + 1, 3);
  assert_int_equal(parse(s, &r, &err), FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "files: expected at most 64 files, got 65"));
  assert_int_equal(r.id, 1);
  free(s);

  s = submit_with_files(1, FL_PATH_MAX - 1);
  parse_ok(s, &r);
  assert_int_equal(strlen(r.files[0].path), FL_PATH_MAX - 1);
  fl_request_free(&r);
  free(s);

  s = submit_with_files(1, FL_PATH_MAX);
  assert_int_equal(parse(s, &r, &err), FL_EINVAL);
  assert_non_null(strstr(err.msg, "at most 1023 bytes, got 1024"));
  assert_non_null(strstr(err.msg, "files[\"f0pppp")); /* the key, cut */
  free(s);
}

static char *blob_check_with(int n) {
  size_t cap = 128 + (size_t)n * 70;
  char *s = malloc(cap);
  assert_non_null(s);
  size_t at = (size_t)snprintf(s, cap, "{'type':'blob_check','id':2,'blobs':[");
  for (int i = 0; i < n; i++) {
    at += (size_t)snprintf(s + at, cap - at, "%s'%s'", i ? "," : "",
                           i % 2 ? H1 : H2);
  }
  snprintf(s + at, cap - at, "]}");
  return s;
}

static void test_blob_caps(void **state) {
  (void)state;
  fl_request r;
  fl_error err;
  char *s = blob_check_with(FL_MAX_BLOB_CHECK);
  parse_ok(s, &r);
  assert_int_equal(r.n_blobs, FL_MAX_BLOB_CHECK);
  assert_string_equal(r.blobs[FL_MAX_BLOB_CHECK - 1], H1);
  fl_request_free(&r);
  free(s);
  s = blob_check_with(FL_MAX_BLOB_CHECK + 1);
  assert_int_equal(parse(s, &r, &err), FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "blobs: expected at most 1024"));
  assert_int_equal(r.id, 2);
  free(s);
}

static void test_size_cap(void **state) {
  (void)state;
  /* A request is one JSON frame: past 1 MiB it is refused unread. */
  size_t len = FL_FRAME_MAX_JSON + 1;
  char *s = malloc(len);
  assert_non_null(s);
  memset(s, ' ', len);
  memcpy(s, "{'type':'list','id':1}", 22);
  fl_request r;
  fl_error err;
  assert_int_equal(parse_bytes(s, len, true, &r, &err), FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "request: 1048577 bytes exceeds"));
  /* One byte less is fine: trailing white space. */
  assert_int_equal(parse_bytes(s, len - 1, true, &r, &err), 0);
  fl_request_free(&r);
  free(s);
}

/* ---- mutation fuzz ----------------------------------------------------- */

static uint32_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005u + 1442695040888963407u;
  return (uint32_t)(*s >> 33);
}

/* A request that parsed must hold what the header promises. */
static void check_invariants(const fl_request *r) {
  assert_true(r->type >= FL_REQ_HELLO && r->type <= FL_REQ_EXPORT);
  if (r->type != FL_REQ_HELLO) assert_true(r->id >= 1);
  assert_true(r->n_blobs >= 0 && r->n_blobs <= FL_MAX_BLOB_CHECK);
  for (int i = 0; i < r->n_blobs; i++) {
    assert_true(fl_sha256_hex_valid(r->blobs[i]));
  }
  assert_true(r->n_files >= 0 && r->n_files <= FL_MAX_REQUEST_FILES);
  for (int i = 0; i < r->n_files; i++) {
    size_t n = strlen(r->files[i].path);
    assert_true(n > 0 && n < FL_PATH_MAX);
    assert_true(fl_sha256_hex_valid(r->files[i].sha256));
  }
  if (r->type == FL_REQ_SUBMIT || r->type == FL_REQ_CHECK) {
    assert_non_null(r->spec_text);
    assert_int_equal(strlen(r->spec_text), r->spec_len);
  }
  if (r->type == FL_REQ_BLOB_PUT) assert_true(fl_sha256_hex_valid(r->sha256));
  if (r->type >= FL_REQ_FOLLOW && r->type != FL_REQ_LIST &&
      r->type != FL_REQ_DEVICES) {
    assert_int_equal(r->job[0], 'j');
  }
}

static void test_mutation_fuzz(void **state) {
  (void)state;
  static const char *const seeds[] = {
      "{\"type\":\"hello\",\"protocol\":1,\"build\":\"flatline 0.1.0\"}",
      "{\"type\":\"blob_check\",\"id\":3,\"blobs\":[\"" H1 "\",\"" H2 "\"]}",
      "{\"type\":\"blob_put\",\"id\":4,\"sha256\":\"" H1 "\",\"size\":123}",
      "{\"type\":\"submit\",\"id\":5,\"spec\":\"{\\\"a\\\":1}\",\"files\":{"
      "\"X.npy\":\"" H1 "\",\"y.npy\":\"" H2 "\"},\"follow\":true}",
      "{\"type\":\"check\",\"id\":6,\"spec\":\"s\",\"files\":{\"a\":\"" H2
      "\"}}",
      "{\"type\":\"show\",\"id\":7,\"job\":\"j17\"}",
      "{\"type\":\"list\",\"id\":8}",
  };
  static const char tokens[] = "{}[]\",:\\0123456789-.eEtrufalsnj \x80\xff";
  uint64_t rng = 0x5eed;
  int accepted = 0, rejected = 0;
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t base_len = strlen(seeds[s]);
    for (int iter = 0; iter < 1500; iter++) {
      uint8_t buf[512];
      size_t len = base_len;
      memcpy(buf, seeds[s], len);
      int edits = 1 + (int)(rng_next(&rng) % 4);
      for (int e = 0; e < edits; e++) {
        uint32_t op = rng_next(&rng) % 4;
        size_t at = len ? rng_next(&rng) % len : 0;
        uint8_t byte =
            (rng_next(&rng) % 2)
                ? (uint8_t)tokens[rng_next(&rng) % (sizeof tokens - 1)]
                : (uint8_t)rng_next(&rng);
        if (op == 0 && len) {
          buf[at] = byte; /* replace */
        } else if (op == 1 && len < sizeof buf) {
          memmove(buf + at + 1, buf + at, len - at); /* insert */
          buf[at] = byte;
          len++;
        } else if (op == 2 && len) {
          memmove(buf + at, buf + at + 1, len - at - 1); /* delete */
          len--;
        } else {
          len = at; /* truncate */
        }
      }
      fl_request r;
      fl_error err;
      int rc = parse_bytes((const char *)buf, len, false, &r, &err);
      if (rc == 0) {
        check_invariants(&r);
        accepted++;
      } else {
        assert_true(rc == FL_EPARSE || rc == FL_EINVAL || rc == FL_ETOOBIG);
        assert_int_equal(err.code, rc);
        assert_true(err.msg[0] != '\0');
        assert_null(r.spec_text);
        rejected++;
      }
      fl_request_free(&r);
    }
  }
  /* Both outcomes happen, or the mutations test nothing. */
  assert_true(accepted > 0);
  assert_true(rejected > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello),
      cmocka_unit_test(test_blob_check),
      cmocka_unit_test(test_blob_put),
      cmocka_unit_test(test_submit_and_check),
      cmocka_unit_test(test_job_requests),
      cmocka_unit_test(test_list_and_devices),
      cmocka_unit_test(test_predict),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_id_echoed_on_error),
      cmocka_unit_test(test_file_caps),
      cmocka_unit_test(test_blob_caps),
      cmocka_unit_test(test_size_cap),
      cmocka_unit_test(test_mutation_fuzz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
