// The outcomes of one chat_15 call, the one error type that carries a failure kind, and which kinds retry.

/** Failure kinds, each the value of the `outcome` label (spec: Reading the response). */
export const FAILURE_KINDS = [
  'unauthorized',
  'quota_exceeded',
  'concurrency_limited',
  'bad_request',
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
] as const;

export type FailureKind = (typeof FAILURE_KINDS)[number];
export type SuccessKind = 'success' | 'no_data';
export type Outcome = SuccessKind | FailureKind;

/** Every value the `outcome` label can take, for pre-initialising counters. */
export const OUTCOMES: readonly Outcome[] = ['success', 'no_data', ...FAILURE_KINDS];

/** A failed call. The message never contains the token: the client never puts it in one. */
export class WolkvoxError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;

  constructor(kind: FailureKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WolkvoxError';
    this.kind = kind;
    this.status = options.status;
  }
}

/** Kinds worth another try within the same poll; the rest would fail the same way again. */
export function isRetryable(kind: FailureKind): boolean {
  switch (kind) {
    case 'timeout':
    case 'network_error':
    case 'server_error':
    case 'concurrency_limited':
      return true;
    case 'unauthorized':
    case 'quota_exceeded':
    case 'bad_request':
    case 'invalid_response':
      return false;
  }
}
