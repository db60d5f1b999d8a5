/* data/bound.c — owns fl_data_load_bound: an upper bound of the host memory
 * that loading a data file takes, from its size and first bytes, so that a
 * caller can refuse a file before anything reads it whole. Each reader
 * states its own share (fl__*_load_bound, next to the code that allocates);
 * this file opens the file, reads the first bytes and adds the buffer that
 * fl_file_read_ex holds. */
#include <stdlib.h>
#include <unistd.h>

#include "data_internal.h"

/* How many first bytes each form's bound reads. */
static size_t head_bytes(fl_data_form form) {
  switch (form) {
    case FL_FORM_NPY: return FL__NPY_HEAD_MAX;
    case FL_FORM_IDX: return FL__IDX_HEADER_MAX;
    case FL_FORM_CSV: return FL__CSV_HEAD_PEEK;
  }
  return 0;
}

static int form_bound(int fd, const char *path, fl_data_form form,
                      const uint8_t *head, size_t head_len, size_t size,
                      uint64_t *bytes, fl_error *err) {
  switch (form) {
    case FL_FORM_NPY:
      return fl__npy_load_bound(head, head_len, size, path, bytes, err);
    case FL_FORM_IDX: {
      if (head_len < 2 || head[0] != 0x1f || head[1] != 0x8b)
        return fl__idx_load_bound(head, head_len, size, false, path, bytes,
                                  err);
      uint8_t inflated[FL__IDX_HEADER_MAX];
      size_t got = 0;
      int rc = fl__gzip_peek_fd(fd, path, inflated, sizeof inflated, &got,
                                err);
      if (rc) return rc;
      return fl__idx_load_bound(inflated, got, size, true, path, bytes, err);
    }
    case FL_FORM_CSV:
      return fl__csv_load_bound(head, head_len, size, path, bytes, err);
  }
  return fl_error_set(err, FL_EINVAL, "%s: unknown data form %d", path,
                      (int)form);
}

int fl_data_load_bound(const char *path, fl_data_form form, unsigned flags,
                       uint64_t *bytes, fl_error *err) {
  *bytes = 0;
  const size_t want = head_bytes(form);
  if (want == 0)
    return fl_error_set(err, FL_EINVAL, "%s: unknown data form %d",
                        path ? path : "(no path)", (int)form);
  int fd;
  struct stat st;
  int rc = fl__file_open(path, flags, true, &fd, &st, err);
  if (rc) return rc;
  /* As fl_file_read_ex with max_bytes FL_DATA_MAX_BYTES, the daemon's. */
  if ((uintmax_t)st.st_size > FL_DATA_MAX_BYTES) {
    close(fd);
    return fl_error_set(err, FL_ETOOBIG,
                        "%s: file has %jd bytes, over the limit of %zu",
                        path, (intmax_t)st.st_size, FL_DATA_MAX_BYTES);
  }
  const size_t size = (size_t)st.st_size;
  const size_t head_len = size < want ? size : want;
  uint8_t *head = malloc(want);
  if (!head) {
    close(fd);
    return fl_error_set(err, FL_ENOMEM, "%s: cannot allocate %zu bytes",
                        path, want);
  }
  size_t got = 0;
  rc = fl__file_read_head(fd, path, head, head_len, &got, err);
  if (!rc && got != head_len)
    rc = fl_error_set(err, FL_EIO,
                      "%s: file shrank from %zu bytes while its header was "
                      "read; try again once nothing writes to it",
                      path, size);
  uint64_t parse = 0;
  if (!rc) rc = form_bound(fd, path, form, head, head_len, size, &parse, err);
  free(head);
  close(fd);
  if (rc) return rc;
  if (form == FL_FORM_CSV && (flags & FL_BOUND_CLASS_NAMES))
    parse += fl__csv_names_bound(size);
  /* fl_file_read_ex's buffer: the file and one spare byte. */
  *bytes = (uint64_t)size + 1 + parse;
  return 0;
}
