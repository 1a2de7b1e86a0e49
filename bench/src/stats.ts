/** Percentiles (0-100, nearest rank) of unsorted samples, from one sort; NaN when there are none. */
export function percentiles(samples: ArrayLike<number>, ps: readonly number[]): number[] {
  if (samples.length === 0) return ps.map(() => Number.NaN);
  const sorted = Float64Array.from(samples).sort();
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
}

export interface Spread {
  /** One value per repeat, in run order. */
  samples: number[];
  median: number;
  min: number;
  max: number;
}

/** Median and min-max of the repeats of one measurement (NaN values, i.e. failed runs, are left out). */
export function spread(values: readonly number[]): Spread {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return { samples: [...values], median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...ok].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { samples: [...values], median, min: sorted[0]!, max: sorted.at(-1)! };
}
