// Fails the test during which Node emitted a process warning: `npm test` prints none (issue 8, papercuts).
import { afterAll, afterEach, expect } from 'vitest';

const emitted: string[] = [];
// A listener does not stop Node printing the warning; it lets the test that caused it fail, naming it.
const onWarning = (warning: Error) => void emitted.push(`${warning.name}: ${warning.message}`);
process.on('warning', onWarning);

async function expectNone(): Promise<void> {
  // Node emits the event on the next tick; a tick queued now runs after it.
  await new Promise<void>((resolve) => process.nextTick(resolve));
  const seen = emitted.splice(0);
  expect(seen, 'process warnings (the yaml library warns through process.emitWarning unless logLevel is "error")').toEqual([]);
}

afterEach(expectNone);
afterAll(async () => {
  await expectNone();
  process.off('warning', onWarning);
});
