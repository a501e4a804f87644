import { readFileSync } from 'node:fs';

/** Resident set size of a process in bytes (Linux /proc), or undefined once it has gone. */
function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes every `intervalMs` and keeps each one's peak. */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly targets: () => { name: string; pid: number | undefined }[],
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  stop(): Map<string, number> {
    clearInterval(this.timer);
    this.sample();
    return new Map(this.peaks);
  }

  private sample() {
    for (const { name, pid } of this.targets()) {
      const rss = pid === undefined ? undefined : rssOf(pid);
      if (rss !== undefined) this.peaks.set(name, Math.max(rss, this.peaks.get(name) ?? 0));
    }
  }
}

export const mib = (bytes: number) => bytes / 1024 / 1024;
