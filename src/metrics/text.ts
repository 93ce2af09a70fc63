// Writing the Prometheus text format (0.0.4): families, label escaping and numbers, as prom-client writes them; pure.

export type MetricType = 'gauge' | 'counter' | 'histogram';

/** A metric family as it appears on /metrics: its name, HELP and TYPE. */
export type FamilySpec = { name: string; help: string; type: MetricType };

/** Label values escape backslash, double quote and line feed (exposition format). */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** `{a="x",b="y"}` from pairs in order; empty without pairs. */
export function labelText(pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return '';
  let text = '{';
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    text += `${i === 0 ? '' : ','}${name}="${escapeLabelValue(value)}"`;
  }
  return `${text}}`;
}

/** A sample value as the text format writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** One family being written: its header, then its samples, kept together as the format requires. */
export class FamilyText {
  readonly #name: string;
  readonly #lines: string[];

  constructor(spec: FamilySpec) {
    this.#name = spec.name;
    this.#lines = [`# HELP ${spec.name} ${escapeHelp(spec.help)}`, `# TYPE ${spec.name} ${spec.type}`];
  }

  /** A sample of this family, or of a suffixed series of it (`_bucket`, `_sum`, `_count`). */
  sample(labels: string, value: number, suffix = ''): void {
    this.#lines.push(`${this.#name}${suffix}${labels} ${formatValue(value)}`);
  }

  /** The family's lines, each ending in a line feed. */
  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}
