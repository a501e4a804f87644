/** Figures about send times (epoch ms), shared by the throughput tests and `npm run bench:mps`. */

/** The most sends in any window [t, t + windowMs) that starts at a send. */
export function peakInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    peak = Math.max(peak, end - start);
  }
  return peak;
}

/** Sends per second from the first send to the last (n sends span n - 1 intervals). */
export function achievedRate(times: readonly number[]): number {
  if (times.length < 2) return 0;
  const span = Math.max(...times) - Math.min(...times);
  return span > 0 ? ((times.length - 1) * 1000) / span : Infinity;
}
