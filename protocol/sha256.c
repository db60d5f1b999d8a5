/* protocol/sha256.c — owns the SHA-256 digests that name blobs: streaming
 * hashing over OpenSSL's libcrypto EVP interface, hashing a file (the
 * client, before upload), and the check that a digest is in the one form
 * the protocol accepts (64 lowercase hex digits).
 *
 * Blobs are content-addressed, so both sides must print a digest the same
 * way: lowercase, no prefix, no separators. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flatline/protocol.h"

/* Files are read in pieces this large: big enough that the syscalls do
 * not show, small enough to sit in a client's memory beside anything. */
#define FILE_CHUNK_BYTES (1u << 20)

struct fl_sha256 {
  EVP_MD_CTX *ctx;
  bool failed; /* an EVP call failed: fl_sha256_final writes "" */
};

fl_sha256 *fl_sha256_new(void) {
  fl_sha256 *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(h->ctx);
    free(h);
    return NULL;
  }
  return h;
}

void fl_sha256_update(fl_sha256 *h, const void *data, size_t len) {
  if (!h || h->failed || len == 0) return;
  if (EVP_DigestUpdate(h->ctx, data, len) != 1) h->failed = true;
}

void fl_sha256_final(fl_sha256 *h, char hex[FL_SHA256_HEX]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  hex[0] = '\0';
  if (!h) return;
  if (!h->failed && EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32) {
    for (unsigned i = 0; i < n; i++) {
      hex[2 * i] = digits[md[i] >> 4];
      hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
  }
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

/* The code a failed open/read of path maps to. */
static int file_error(const char *path, const char *doing, int errnum,
                      fl_error *err) {
  int code = errnum == ENOENT                        ? FL_ENOTFOUND
             : (errnum == EACCES || errnum == EPERM) ? FL_EPERM
                                                     : FL_EIO;
  return fl_error_set(err, code, "cannot %s %s: %s", doing, path,
                      strerror(errnum));
}

int fl_sha256_file(const char *path, char hex[FL_SHA256_HEX], uint64_t *size,
                   fl_error *err) {
  hex[0] = '\0';
  if (size) *size = 0;
  if (!path)
    return fl_error_set(err, FL_EINVAL, "fl_sha256_file: path is NULL");
  int fd;
  do {
    fd = open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return file_error(path, "open", errno, err);

  int rc = 0;
  uint64_t total = 0;
  unsigned char *chunk = malloc(FILE_CHUNK_BYTES);
  fl_sha256 *h = fl_sha256_new();
  if (!chunk || !h) {
    rc = fl_error_set(err, FL_ENOMEM, "cannot hash %s: out of memory", path);
    goto out;
  }
  for (;;) {
    ssize_t got = read(fd, chunk, FILE_CHUNK_BYTES);
    if (got < 0) {
      if (errno == EINTR) continue;
      rc = file_error(path, "read", errno, err);
      goto out;
    }
    if (got == 0) break;
    fl_sha256_update(h, chunk, (size_t)got);
    total += (uint64_t)got;
  }
  fl_sha256_final(h, hex);
  h = NULL;
  if (hex[0] == '\0') {
    rc = fl_error_set(err, FL_EIO, "cannot hash %s: libcrypto failed", path);
    goto out;
  }
  if (size) *size = total;
out:
  if (h) fl_sha256_final(h, hex); /* frees h; the digest is not used */
  if (rc) hex[0] = '\0';
  free(chunk);
  close(fd);
  return rc;
}

bool fl_sha256_hex_valid(const char *hex) {
  if (!hex) return false;
  for (int i = 0; i < 64; i++) {
    char c = hex[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return hex[64] == '\0';
}
