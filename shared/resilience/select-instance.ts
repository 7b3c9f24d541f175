import type { Random } from './backoff';

/** What selection needs to know of an instance. */
export interface Selectable {
  name: string;
  /** Lower is preferred. */
  priority: number;
  /** Relative share among instances of equal priority. */
  weight: number;
}

/** Picks among `candidates`: the lowest priority first, weighted random within it. Null when empty. */
export function selectInstance<T extends Selectable>(candidates: T[], random: Random = Math.random): T | null {
  if (candidates.length === 0) return null;
  const best = Math.min(...candidates.map((c) => c.priority));
  const tier = candidates.filter((c) => c.priority === best);
  const total = tier.reduce((sum, c) => sum + c.weight, 0);
  let point = random() * total;
  for (const candidate of tier) {
    point -= candidate.weight;
    if (point < 0) return candidate;
  }
  return tier[tier.length - 1];
}
