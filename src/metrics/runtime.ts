// The process and Node.js metrics (prom-client's defaults) on a registry of their own, as text.
import { collectDefaultMetrics, Registry } from 'prom-client';

// prom-client names these gauges *_total, which promtool rejects; the un-suffixed twins stay.
const NON_CONFORMING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export type RuntimeMetrics = {
  /** process_* and nodejs_* in the text format. */
  text(): Promise<string>;
  /** prom-client's registry of them, for tests that read single values. */
  registry: Registry;
};

export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of NON_CONFORMING_DEFAULTS) registry.removeSingleMetric(name);
  return { text: () => registry.metrics(), registry };
}

/** The Content-Type of the text format both parts are written in. */
export const EXPOSITION_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
