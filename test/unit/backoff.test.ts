import { backoffDelayMs } from '../../shared/resilience/backoff';
import { type BreakerOptions, DEFAULT_BREAKER_OPTIONS } from '../../shared/resilience/breaker-options';

const DRAWS = 2_000;

/** The base delay (ms) before jitter, per reopenCount, with the defaults: 60 s ×2 capped at 600 s. */
const DEFAULT_STEPS = [
  { reopenCount: 0, baseMs: 60_000 },
  { reopenCount: 1, baseMs: 120_000 },
  { reopenCount: 2, baseMs: 240_000 },
  { reopenCount: 3, baseMs: 480_000 },
  { reopenCount: 4, baseMs: 600_000 },
  { reopenCount: 10, baseMs: 600_000 },
];

describe('backoffDelayMs', () => {
  describe('with the default options (60 s, ×2, cap 600 s, ±20 %)', () => {
    it.each(DEFAULT_STEPS)('centres reopenCount $reopenCount on $baseMs ms', ({ reopenCount, baseMs }) => {
      // Act: random() = 0.5 is the middle of the jitter range, i.e. no jitter.
      const delayMs = backoffDelayMs(reopenCount, DEFAULT_BREAKER_OPTIONS, () => 0.5);

      // Assess
      expect(delayMs).toBe(baseMs);
    });

    it.each(DEFAULT_STEPS)(
      'keeps every draw for reopenCount $reopenCount within ±20 % of $baseMs ms, and spreads them',
      ({ reopenCount, baseMs }) => {
        // Act
        const delays = Array.from({ length: DRAWS }, () => backoffDelayMs(reopenCount, DEFAULT_BREAKER_OPTIONS));

        // Assess
        const min = Math.min(...delays);
        const max = Math.max(...delays);
        expect(min).toBeGreaterThanOrEqual(0.8 * baseMs);
        expect(max).toBeLessThanOrEqual(1.2 * baseMs);
        expect(min).toBeLessThan(0.85 * baseMs);
        expect(max).toBeGreaterThan(1.15 * baseMs);
      },
    );

    it.each(DEFAULT_STEPS)(
      'gives exactly 80 % of $baseMs ms when random() is 0 (reopenCount $reopenCount)',
      ({ reopenCount, baseMs }) => {
        // Act
        const delayMs = backoffDelayMs(reopenCount, DEFAULT_BREAKER_OPTIONS, () => 0);

        // Assess
        expect(delayMs).toBe(0.8 * baseMs);
      },
    );

    it('approaches 120 % of the base as random() approaches 1', () => {
      // Act
      const delayMs = backoffDelayMs(0, DEFAULT_BREAKER_OPTIONS, () => 0.999_999_9);

      // Assess
      expect(delayMs).toBe(72_000);
    });
  });

  describe('with decimal seconds', () => {
    const subSecond: BreakerOptions = {
      ...DEFAULT_BREAKER_OPTIONS,
      initialBackoffSeconds: 0.2,
      maxBackoffSeconds: 1.5,
    };

    it.each([
      { reopenCount: 0, baseMs: 200 },
      { reopenCount: 1, baseMs: 400 },
      { reopenCount: 2, baseMs: 800 },
      { reopenCount: 3, baseMs: 1_500 },
    ])('gives $baseMs ms for reopenCount $reopenCount from an initial 0.2 s', ({ reopenCount, baseMs }) => {
      // Act
      const delayMs = backoffDelayMs(reopenCount, subSecond, () => 0.5);

      // Assess
      expect(delayMs).toBe(baseMs);
    });

    it('keeps sub-second draws within ±20 % and in whole milliseconds', () => {
      // Act
      const delays = Array.from({ length: DRAWS }, () => backoffDelayMs(0, subSecond));

      // Assess
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(160);
      expect(Math.max(...delays)).toBeLessThanOrEqual(240);
      expect(delays.every(Number.isInteger)).toBe(true);
    });
  });

  it('gives the exact base when jitter is off, whatever random() returns', () => {
    // Prepare
    const exact: BreakerOptions = { ...DEFAULT_BREAKER_OPTIONS, jitterRatio: 0 };

    // Act
    const delays = [0, 0.3, 0.999].map((r) => backoffDelayMs(1, exact, () => r));

    // Assess
    expect(delays).toEqual([120_000, 120_000, 120_000]);
  });

  it('treats a negative reopenCount as the first opening', () => {
    // Act
    const delayMs = backoffDelayMs(-1, DEFAULT_BREAKER_OPTIONS, () => 0.5);

    // Assess
    expect(delayMs).toBe(60_000);
  });
});
