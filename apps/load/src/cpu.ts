import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, or undefined once it has gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is 14th, stime 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU time so far (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

export interface CpuUse {
  seconds: number;
  /** Per name: CPU seconds used over the interval (several processes may share a name). */
  cpuSeconds: Map<string, number>;
  /** Share of the whole machine that was busy, whoever used it. */
  machineBusy: number;
}

export interface CpuTarget {
  name: string;
  pid: number | undefined;
}

/**
 * Measures how much CPU some processes, and the machine as a whole, used between start and stop. The
 * targets are read again at stop: a process that appeared in between (a new database backend) counts
 * whole, one that went away counts nothing.
 */
export class CpuMeter {
  private startedAt = 0;
  private readonly before = new Map<number, number>();
  private machineBefore = { busy: 0, total: 0 };

  start(targets: CpuTarget[]): this {
    this.startedAt = performance.now();
    this.machineBefore = machineTicks();
    for (const { pid } of targets) {
      const s = pid === undefined ? undefined : cpuSecondsOf(pid);
      if (pid !== undefined && s !== undefined) this.before.set(pid, s);
    }
    return this;
  }

  stop(targets: CpuTarget[]): CpuUse {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cpuSeconds = new Map<string, number>();
    for (const { name, pid } of targets) {
      const s = pid === undefined ? undefined : cpuSecondsOf(pid);
      if (pid === undefined || s === undefined) continue;
      cpuSeconds.set(name, (cpuSeconds.get(name) ?? 0) + s - (this.before.get(pid) ?? 0));
    }
    const m = machineTicks();
    const machineBusy = (m.busy - this.machineBefore.busy) / Math.max(1, m.total - this.machineBefore.total);
    return { seconds, cpuSeconds, machineBusy };
  }
}
