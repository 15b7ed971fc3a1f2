/* The private headers of src/ that the tests reach, each for a stated
 * reason, in one place (a test includes this header, never a private one
 * directly):
 *   - src/config/schema.h: the experiment language's table itself, so that
 *     check_config and check_sweep walk every row (types, widths, identity
 *     flags) instead of keeping a list of their own;
 *   - src/report/stats.h: the statistics of the paired tables (t and sign
 *     tests, confidence intervals), checked against published values;
 *   - src/run/internal.h: a run's data, the pretraining cache and the
 *     pictures, checked by check_run and the cache and label fuzz targets. */
#ifndef ADAMIX_TESTS_PRIVATE_H
#define ADAMIX_TESTS_PRIVATE_H

#include "../src/config/schema.h"
#include "../src/report/stats.h"
#include "../src/run/internal.h"

#endif
