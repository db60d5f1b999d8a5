/* data/gzip.c — owns gzip decompression: of in-memory files (fl_gunzip and
 * the IDX reader's header peek), with an output cap that holds before any
 * allocation, so a gzip bomb costs at most the cap, and the cap on the
 * inflation ratio (FL_GZIP_MAX_RATIO), so that what a file costs to inflate
 * stays in proportion to its size; and of the first bytes of a file still
 * on disk (fl_data_load_bound's header peek), read in small chunks. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data_internal.h"

static bool is_gzip_magic(const uint8_t *buf, size_t len) {
  return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* First buffer size: the trailer's ISIZE (size mod 2^32 of the last member)
 * when it claims at most FL_GZIP_MAX_RATIO times the input (real data, see
 * data.h), else a few times the input; never over max_out. The floor is not
 * applied here: a small file lying in its trailer would otherwise get
 * FL_GZIP_RATIO_FLOOR bytes up front; it grows to that as output arrives. */
static size_t first_capacity(const uint8_t *buf, size_t len, size_t max_out,
                             bool head_only) {
  if (head_only) return max_out;
  size_t guess = SIZE_MAX, trusted = SIZE_MAX;
  fl__mul_size(len, 4, &guess);
  fl__mul_size(len, FL_GZIP_MAX_RATIO, &trusted);
  if (len >= 18) { /* a whole member: 10 header + 8 trailer bytes at least */
    const uint8_t *t = buf + len - 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 |
                   (size_t)t[3] << 24;
    if (isize > 0 && isize <= trusted) guess = isize;
  }
  if (guess < 4096) guess = 4096;
  return guess < max_out ? guess : max_out;
}

size_t fl__gzip_ratio_limit(size_t compressed_len) {
  size_t limit = SIZE_MAX;
  fl__mul_size(compressed_len, FL_GZIP_MAX_RATIO, &limit);
  return limit > FL_GZIP_RATIO_FLOOR ? limit : FL_GZIP_RATIO_FLOOR;
}

int fl__gzip_ratio_error(const char *name, size_t out_bytes, bool more_than,
                         size_t compressed_len, fl_error *err) {
  /* Gzip data has 18 bytes at least; the guard only keeps this defined. */
  double ratio = (double)out_bytes / (double)(compressed_len ? compressed_len
                                                             : 1);
  return fl_error_set(err, FL_ETOOBIG,
                      "%s: %zu bytes of gzip data inflate to %s%zu bytes, a "
                      "ratio of %s%.0f:1, over the limit of %u:1 for data "
                      "over %zu MiB (a gzip bomb? if the data is real, store "
                      "the file uncompressed)",
                      fl__name(name), compressed_len,
                      more_than ? "more than " : "", out_bytes,
                      more_than ? "over " : "", ratio, FL_GZIP_MAX_RATIO,
                      FL_GZIP_RATIO_FLOOR >> 20);
}

int fl__inflate_gzip(const uint8_t *buf, size_t len, const char *name,
                     size_t max_out, bool head_only, uint8_t **out,
                     size_t *out_len, fl_error *err) {
  const char *nm = fl__name(name);
  *out = NULL;
  *out_len = 0;

  /* The ratio cap lowers max_out before anything is allocated, so a bomb
   * stops at the first byte past it. A header peek is tiny anyway. */
  bool ratio_capped = false;
  if (!head_only) {
    size_t ratio_limit = fl__gzip_ratio_limit(len);
    if (ratio_limit < max_out) {
      max_out = ratio_limit;
      ratio_capped = true;
    }
  }

  z_stream zs;
  memset(&zs, 0, sizeof zs);
  /* 15 + 16: a 32 KiB window, gzip wrapper only (no zlib, no raw). */
  int zr = inflateInit2(&zs, 15 + 16);
  if (zr != Z_OK)
    return fl_error_set(err, zr == Z_MEM_ERROR ? FL_ENOMEM : FL_EINVAL,
                        "%s: cannot start gzip decompression (zlib %d)", nm,
                        zr);

  size_t cap = first_capacity(buf, len, max_out, head_only);
  uint8_t *dst = malloc(cap ? cap : 1);
  size_t have = 0; /* bytes of output in dst */
  size_t fed = 0;  /* bytes of buf handed to zlib so far */
  int rc = 0;
  if (!dst) {
    rc = fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu bytes", nm,
                      cap);
    goto out;
  }

  for (;;) {
    /* zlib counts in uInt: feed and drain in chunks of at most UINT_MAX. */
    if (zs.avail_in == 0 && fed < len) {
      size_t chunk = len - fed;
      if (chunk > UINT_MAX) chunk = UINT_MAX;
      zs.next_in = (Bytef *)(uintptr_t)(buf + fed); /* zlib wants non-const */
      zs.avail_in = (uInt)chunk;
      fed += chunk;
    }

    /* When dst is full, inflate one byte into `probe` to learn whether the
     * stream has more: only then grow (and only up to max_out). */
    uint8_t probe = 0;
    bool probing = have == cap;
    if (probing && head_only) break;
    size_t room = probing ? 1 : cap - have;
    if (room > UINT_MAX) room = UINT_MAX;
    zs.next_out = probing ? &probe : dst + have;
    zs.avail_out = (uInt)room;

    zr = inflate(&zs, Z_NO_FLUSH);
    size_t produced = room - zs.avail_out;
    size_t consumed = fed - zs.avail_in;

    if (probing && produced == 1) {
      if (have >= max_out && ratio_capped) {
        rc = fl__gzip_ratio_error(name, have, true, len, err);
        goto out;
      }
      if (have >= max_out) {
        rc = fl_error_set(err, FL_ETOOBIG,
                          "%s: decompresses to more than %zu bytes, the limit "
                          "for this file (a gzip bomb, or data too large)",
                          nm, max_out);
        goto out;
      }
      size_t grown = (cap > SIZE_MAX / 2) ? SIZE_MAX : cap * 2;
      if (grown < 4096) grown = 4096;
      if (grown > max_out) grown = max_out;
      uint8_t *bigger = realloc(dst, grown);
      if (!bigger) {
        rc = fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu bytes to "
                          "decompress into", nm, grown);
        goto out;
      }
      dst = bigger;
      cap = grown;
      dst[have++] = probe;
    } else if (!probing) {
      have += produced;
    }

    switch (zr) {
      case Z_OK:
        continue;
      case Z_BUF_ERROR:
        /* No progress possible: with input left that means no output room,
         * which the loop provides; with none left the data is cut short. */
        if (zs.avail_in == 0 && fed == len) {
          rc = fl_error_set(err, FL_EDATA,
                            "%s: gzip data ends early, after %zu compressed "
                            "bytes and %zu decompressed (truncated?)",
                            nm, len, have);
          goto out;
        }
        continue;
      case Z_STREAM_END: {
        if (consumed == len) goto out;
        /* gzip(1) writes concatenated members for `cat a.gz b.gz`, and
         * tolerates zero padding after the last one; so do we. */
        if (is_gzip_magic(buf + consumed, len - consumed)) {
          zr = inflateReset(&zs);
          if (zr != Z_OK) {
            rc = fl_error_set(err, FL_EINVAL, "%s: zlib reset failed (%d)",
                              nm, zr);
            goto out;
          }
          continue;
        }
        if (all_zero(buf + consumed, len - consumed)) goto out;
        rc = fl_error_set(err, FL_EDATA,
                          "%s: %zu bytes of trailing garbage after the gzip "
                          "data, which ends at byte %zu",
                          nm, len - consumed, consumed);
        goto out;
      }
      case Z_MEM_ERROR:
        rc = fl_error_set(err, FL_ENOMEM, "%s: zlib ran out of memory", nm);
        goto out;
      default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
        rc = fl_error_set(err, FL_EDATA,
                          "%s: corrupt gzip data near compressed byte %zu: %s",
                          nm, consumed, zs.msg ? zs.msg : "inflate failed");
        goto out;
    }
  }

out:
  inflateEnd(&zs);
  if (rc != 0) {
    free(dst);
    return rc;
  }
  *out = dst;
  *out_len = have;
  return 0;
}

int fl_gunzip(const uint8_t *buf, size_t len, const char *name,
              size_t max_out, uint8_t **out, size_t *out_len, bool *is_gzip,
              fl_error *err) {
  *out = NULL;
  *out_len = 0;
  *is_gzip = is_gzip_magic(buf, len);
  if (!*is_gzip) return 0;
  return fl__inflate_gzip(buf, len, name, max_out, false, out, out_len, err);
}

/* Compressed bytes read per pread by the header peek: small, so that the
 * peek costs little whatever the file, and one read covers the gzip header
 * and first deflate block of any ordinary file. */
#define GZIP_PEEK_CHUNK 4096

int fl__gzip_peek_fd(int fd, const char *name, uint8_t *out, size_t want,
                     size_t *got, fl_error *err) {
  const char *nm = fl__name(name);
  *got = 0;
  uint8_t *chunk = malloc(GZIP_PEEK_CHUNK);
  if (!chunk)
    return fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %d bytes", nm,
                        GZIP_PEEK_CHUNK);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  int zr = inflateInit2(&zs, 15 + 16); /* as fl__inflate_gzip */
  if (zr != Z_OK) {
    free(chunk);
    return fl_error_set(err, zr == Z_MEM_ERROR ? FL_ENOMEM : FL_EINVAL,
                        "%s: cannot start gzip decompression (zlib %d)", nm,
                        zr);
  }
  size_t read_to = 0; /* file offset after the bytes read so far */
  size_t have = 0;
  int rc = 0;
  while (have < want) {
    if (zs.avail_in == 0) {
      ssize_t n = pread(fd, chunk, GZIP_PEEK_CHUNK, (off_t)read_to);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        rc = fl_error_set(err, FL_EIO, "%s: read failed at byte %zu", nm,
                          read_to);
        break;
      }
      if (n == 0) { /* as fl__inflate_gzip on data that ends early */
        rc = fl_error_set(err, FL_EDATA,
                          "%s: gzip data ends early, after %zu compressed "
                          "bytes and %zu decompressed (truncated?)",
                          nm, read_to, have);
        break;
      }
      zs.next_in = chunk;
      zs.avail_in = (uInt)n;
      read_to += (size_t)n;
    }
    zs.next_out = out + have;
    zs.avail_out = (uInt)(want - have);
    zr = inflate(&zs, Z_NO_FLUSH);
    have = want - zs.avail_out;
    if (zr == Z_OK || zr == Z_BUF_ERROR) continue; /* wants more input */
    if (zr == Z_STREAM_END) {
      /* Another member may follow (`cat a.gz b.gz`); anything else ends
       * the data, and the caller finds the header short. */
      size_t at = read_to - zs.avail_in;
      uint8_t magic[2];
      ssize_t n;
      do {
        n = pread(fd, magic, 2, (off_t)at);
      } while (n < 0 && errno == EINTR);
      if (n != 2 || magic[0] != 0x1f || magic[1] != 0x8b) break;
      if (inflateReset(&zs) != Z_OK) {
        rc = fl_error_set(err, FL_EINVAL, "%s: zlib reset failed", nm);
        break;
      }
      continue;
    }
    rc = fl_error_set(err, zr == Z_MEM_ERROR ? FL_ENOMEM : FL_EDATA,
                      "%s: corrupt gzip data near compressed byte %zu: %s",
                      nm, read_to - zs.avail_in,
                      zs.msg ? zs.msg : "inflate failed");
    break;
  }
  inflateEnd(&zs);
  free(chunk);
  if (rc == 0) *got = have;
  return rc;
}
