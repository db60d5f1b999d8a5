/* diagnose/diagnose_internal.h — what the diagnose sources share. */
#ifndef FL_DIAGNOSE_INTERNAL_H
#define FL_DIAGNOSE_INTERNAL_H

#include "flatline/diagnose.h"

/* Merge patch turning base into changed (layers, optimizer, loss); ""
 * when they are equal or the patch does not fit. */
int fl__spec_patch(const fl_job_spec *base, const fl_job_spec *changed,
                   char *out, size_t size);

#endif
