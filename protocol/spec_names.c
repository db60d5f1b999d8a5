/* protocol/spec_names.c — owns the spec's enum names: the lookup tables the
 * parser matches against and the fl_*_name functions, both generated from
 * the X-macro lists in spec_internal.h so that they cannot disagree. */
#include "spec_internal.h"

#define FL__ENUM_ENTRY(value, text) {text, value},
#define FL__ENUM_CASE(value, text) \
  case value:                      \
    return text;

static const fl__enum_entry activation_entries[] = {
    FL__ACTIVATION_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry loss_entries[] = {FL__LOSS_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry optimizer_entries[] = {
    FL__OPTIMIZER_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry init_entries[] = {FL__INIT_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry plateau_entries[] = {
    FL__PLATEAU_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry callback_entries[] = {
    FL__CALLBACK_LIST(FL__ENUM_ENTRY)};
static const fl__enum_entry metric_entries[] = {
    FL__METRIC_LIST(FL__ENUM_ENTRY)};

const fl__enum_table fl__activation_table = {activation_entries,
                                             FL__ARRAY_LEN(activation_entries)};
const fl__enum_table fl__loss_table = {loss_entries,
                                       FL__ARRAY_LEN(loss_entries)};
const fl__enum_table fl__optimizer_table = {optimizer_entries,
                                            FL__ARRAY_LEN(optimizer_entries)};
const fl__enum_table fl__init_table = {init_entries,
                                       FL__ARRAY_LEN(init_entries)};
const fl__enum_table fl__plateau_table = {plateau_entries,
                                          FL__ARRAY_LEN(plateau_entries)};
const fl__enum_table fl__callback_table = {callback_entries,
                                           FL__ARRAY_LEN(callback_entries)};
const fl__enum_table fl__metric_table = {metric_entries,
                                         FL__ARRAY_LEN(metric_entries)};

/* Out-of-range values (a corrupted struct) get a visible placeholder rather
 * than NULL, since these names go straight into printf. */
#define FL__UNKNOWN_NAME "unknown"

const char *fl_activation_name(fl_activation a) {
  switch (a) { FL__ACTIVATION_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_loss_name(fl_loss_kind l) {
  switch (l) { FL__LOSS_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_optimizer_name(fl_optimizer_kind o) {
  switch (o) { FL__OPTIMIZER_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_init_name(fl_init_kind i) {
  switch (i) { FL__INIT_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_plateau_action_name(fl_plateau_action p) {
  switch (p) { FL__PLATEAU_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_callback_name(fl_callback_kind c) {
  switch (c) { FL__CALLBACK_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}

const char *fl_metric_name(fl_metric m) {
  switch (m) { FL__METRIC_LIST(FL__ENUM_CASE) }
  return FL__UNKNOWN_NAME;
}
