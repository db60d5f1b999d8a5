/* diagnose/diagnose_internal.h — what the diagnose sources share. */
#ifndef FL_DIAGNOSE_INTERNAL_H
#define FL_DIAGNOSE_INTERNAL_H

#include "flatline/diagnose.h"

/* Merge patch turning base into changed (layers, optimizer, loss), plus
 * data.*.scale multiplied by `scale` when scale > 0. "" when equal. */
int fl__spec_patch(const fl_job_spec *base, const fl_job_spec *changed,
                   double scale, char *out, size_t size);
/* {"model":{"layers":[...]}} member for spec s (inside an open object). */
void fl__write_layers(fl_jw *w, const fl_job_spec *s);

#endif
