import type { LoadResult } from './load.js';
import { mib } from './rss.js';
import type { Drain, Verification } from './simulator.js';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });
const rate = (count: number, seconds: number | undefined) =>
  seconds === undefined || seconds <= 0 ? '—' : `${fmt(count / seconds)}/s`;
const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, v]) => `${k}: ${fmt(v)}`)
    .join(', ') || 'none';

/** Prints what `npm run load` measured; returns the exit code (0 only when nothing went wrong). */
export function printLoadReport(r: {
  load: LoadResult;
  drain: Drain;
  verification: Verification;
  rssPeaks: Map<string, number> | undefined;
}): number {
  const { load, drain, verification: v } = r;
  const accepted = load.accepted.size;
  const refused = Object.values(load.errorCodes).reduce((a, b) => a + b, 0);
  const lines = [
    '',
    `Intake (${load.mode}, ${fmt(load.seconds, 1)} s)`,
    `  requests        ${fmt(load.requests)} (${rate(load.requests, load.seconds)}), HTTP ${counts(load.statuses)}`,
    `  accepted        ${fmt(accepted)} messages (${rate(accepted, load.seconds)})`,
    `  latency         p50 ${load.latencyMs.p50} ms, p90 ${load.latencyMs.p90} ms, p99 ${load.latencyMs.p99} ms, max ${load.latencyMs.max} ms`,
    `  errors          ${refused ? counts(load.errorCodes) : 'none'}; connection errors ${load.socketErrors}, timeouts ${load.timeouts}`,
    'Delivery (from the start of the load)',
    `  at simulator    ${fmt(drain.created)} of ${fmt(accepted)} in ${fmt(drain.createdSeconds, 1)} s (${rate(drain.created, drain.createdSeconds)})`,
    `  callbacks taken ${drain.callbacksSeconds === undefined ? 'not all' : `all in ${fmt(drain.callbacksSeconds, 1)} s (${rate(accepted, drain.callbacksSeconds)})`}`,
    ...(r.rssPeaks
      ? [
          `  delivered (DB)  ${drain.deliveredSeconds === undefined ? 'not all' : `all in ${fmt(drain.deliveredSeconds, 1)} s (${rate(accepted + v.inFlightAtEnd, drain.deliveredSeconds)})`}`,
        ]
      : []),
    'Exactly once',
    `  ${fmt(v.accepted)} accepted: ${fmt(v.missing)} missing, ${fmt(v.duplicated)} sent more than once, ${fmt(v.wrongBody)} with a wrong body`,
    `  (${fmt(v.inFlightAtEnd)} more were in flight when the load stopped and arrived once each; ${fmt(v.unexpected)} other messages at the simulator)`,
  ];
  if (r.rssPeaks) {
    lines.push('Peak RSS', `  ${[...r.rssPeaks].map(([name, bytes]) => `${name} ${fmt(mib(bytes))} MiB`).join(', ')}`);
  }
  const ok =
    refused === 0 &&
    load.socketErrors === 0 &&
    Object.keys(load.statuses).every((s) => s.startsWith('2')) &&
    drain.complete &&
    v.missing === 0 &&
    v.duplicated === 0 &&
    v.wrongBody === 0;
  lines.push('', ok ? 'OK' : 'NOT OK: see the errors above');
  console.log(lines.join('\n'));
  return ok ? 0 : 1;
}
