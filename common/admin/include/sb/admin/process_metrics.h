#pragma once

#include "sb/metrics/metrics.h"

namespace sb::admin {

// The standard process series every Prometheus client library exports (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds,
// process_open_fds, process_max_fds), read from /proc/self at scrape time. Linux only; a value
// that cannot be read is left out.
void updateProcessMetrics(MetricsRegistry& registry);

}  // namespace sb::admin
