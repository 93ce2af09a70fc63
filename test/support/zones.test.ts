// zoneAtNoon(), which the history and status page tests use to stay clear of the small hours and of midnight.
import { describe, expect, it } from 'vitest';
import { wallTimeAt } from '../../src/wolkvox/window.js';
import { zoneAtNoon } from './zones.js';

describe('zoneAtNoon', () => {
  it('gives a zone where it is noon, whatever the hour of the run', () => {
    for (let utcHour = 0; utcHour < 24; utcHour++) {
      const at = Date.UTC(2026, 10, 30, utcHour, 59);
      expect(wallTimeAt(at, zoneAtNoon(at)).hour, `${utcHour}:59 UTC in ${zoneAtNoon(at)}`).toBe(12);
    }
  });
});
