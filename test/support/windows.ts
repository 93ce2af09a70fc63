// Builds a WindowSpec from its text for tests, failing loudly on a typo.
import { parseWindow, type WindowSpec } from '../../src/config/duration.js';

export function windowSpec(text: string): WindowSpec {
  const spec = parseWindow(text);
  if (typeof spec === 'string') throw new Error(spec);
  return spec;
}
