import { type Selectable, selectInstance } from '../../shared/resilience/select-instance';

const DRAWS = 4_000;

function instance(name: string, priority: number, weight: number): Selectable {
  return { name, priority, weight };
}

describe('selectInstance', () => {
  it('returns null when there is no candidate', () => {
    // Act
    const pick = selectInstance([]);

    // Assess
    expect(pick).toBeNull();
  });

  it.each([0, 0.5, 0.999])('picks the lowest priority whatever the weights (random() = %s)', (r) => {
    // Prepare
    const candidates = [instance('backup', 2, 1_000), instance('primary', 1, 1), instance('last-resort', 3, 1_000)];

    // Act
    const pick = selectInstance(candidates, () => r);

    // Assess
    expect(pick?.name).toBe('primary');
  });

  it('shares traffic by weight within the lowest priority: 300/100 gives about 75 %/25 %', () => {
    // Prepare
    const candidates = [instance('big', 1, 300), instance('small', 1, 100), instance('backup', 2, 10_000)];

    // Act
    const picks = Array.from({ length: DRAWS }, () => selectInstance(candidates)?.name);

    // Assess
    const bigShare = picks.filter((name) => name === 'big').length / DRAWS;
    const smallShare = picks.filter((name) => name === 'small').length / DRAWS;
    expect(bigShare).toBeGreaterThan(0.71);
    expect(bigShare).toBeLessThan(0.79);
    expect(smallShare).toBeCloseTo(1 - bigShare, 10);
    expect(picks).not.toContain('backup');
  });

  it.each([
    { r: 0, expected: 'big' },
    { r: 0.7499, expected: 'big' },
    { r: 0.75, expected: 'small' },
    { r: 0.9999, expected: 'small' },
  ])('is deterministic with an injected random: $r picks $expected', ({ r, expected }) => {
    // Prepare
    const candidates = [instance('big', 1, 300), instance('small', 1, 100)];

    // Act
    const picks = [selectInstance(candidates, () => r), selectInstance(candidates, () => r)];

    // Assess
    expect(picks.map((p) => p?.name)).toEqual([expected, expected]);
  });

  it('never picks a zero-weight instance while a weighted one shares its priority', () => {
    // Prepare
    const candidates = [instance('drained', 1, 0), instance('live', 1, 100)];

    // Act
    const picks = [0, 0.5, 0.9999].map((r) => selectInstance(candidates, () => r)?.name);

    // Assess
    expect(picks).toEqual(['live', 'live', 'live']);
  });

  it('returns the candidate object itself, with its extra fields', () => {
    // Prepare
    const only = { name: 'only', priority: 1, weight: 100, provider: 'openai' };

    // Act
    const pick = selectInstance([only], () => 0.3);

    // Assess
    expect(pick).toBe(only);
  });
});
