// Safe HTML building for the status page: one escape function, and a template tag that applies it to every value.
//
// Text from the report (Wolkvox's error messages, account names from the config) may hold markup.
// Escaping it by hand at each place is one forgotten call away from a script on the page, so the
// page is written with the `html` tag instead: every interpolated value is escaped unless it is
// itself the result of `html`. Nothing else in the project turns text into markup.

/** The characters that end text or a double- or single-quoted attribute value. */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe in element content and in a quoted attribute value alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Markup that was built by `html` (its values escaped) or is a literal of the renderer; interpolated as it is. */
export class SafeHtml {
  readonly #markup: string;

  /** Private to this module in spirit: only `html` and `joinHtml` make one, so no raw string becomes markup by accident. */
  constructor(markup: string) {
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

/** What may go into an `html` template: markup, or a value that is escaped; undefined, null and false write nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** The template tag: literal parts are markup, every `${value}` is escaped (arrays are joined, SafeHtml kept). */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Joins values with a literal separator (itself markup, e.g. ', ' or '\n'), escaping each value. */
export function joinHtml(values: readonly HtmlValue[], separator: string): SafeHtml {
  return new SafeHtml(values.map(render).join(separator));
}
