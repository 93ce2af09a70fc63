// Writing the Prometheus text format (0.0.4): families, label escaping and numbers, as prom-client writes them; pure.

export type MetricType = 'gauge' | 'counter' | 'histogram';

/** A metric family as it appears on /metrics: its name, HELP and TYPE. */
export type FamilySpec = { name: string; help: string; type: MetricType };

/** Label values escape backslash, double quote and line feed (exposition format). */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** `a="x",b="y"` from pairs in order, without braces, so callers can append more pairs cheaply. */
export function labelPairs(pairs: ReadonlyArray<readonly [string, string]>): string {
  let text = '';
  for (let i = 0; i < pairs.length; i++) {
    const [name, value] = pairs[i]!;
    text += `${i === 0 ? '' : ','}${name}="${escapeLabelValue(value)}"`;
  }
  return text;
}

/** A sample value as the text format writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * One family being written: its header, then its samples, kept together as the format requires.
 * Samples gather in small pieces (flush() turns what has gathered into bytes), so a family of tens
 * of thousands of samples is never joined into one string on the event loop.
 */
export class FamilyText {
  readonly #name: string;
  readonly #parts: Buffer[];
  #lines = '';

  constructor(spec: FamilySpec) {
    this.#name = spec.name;
    this.#parts = [Buffer.from(`# HELP ${spec.name} ${escapeHelp(spec.help)}\n# TYPE ${spec.name} ${spec.type}\n`, 'utf8')];
  }

  /** A sample of this family (labels without braces, empty for none), or of a suffixed series of it (`_bucket`, `_sum`, `_count`). */
  sample(labels: string, value: number, suffix = ''): void {
    this.#lines += `${this.#name}${suffix}${labels === '' ? '' : `{${labels}}`} ${formatValue(value)}\n`;
  }

  /** Turns the samples gathered so far into bytes. */
  flush(): void {
    if (this.#lines === '') return;
    this.#parts.push(Buffer.from(this.#lines, 'utf8'));
    this.#lines = '';
  }

  /** The family's bytes: the header, then every sample. */
  parts(): Buffer[] {
    this.flush();
    return this.#parts;
  }
}
