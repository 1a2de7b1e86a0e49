import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// Readers of /proc, so every process (nginx, the gateway, wrk, our generators) is measured the same way.

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** user + system CPU seconds used so far by these processes (gone ones count 0). */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    // utime and stime are fields 14 and 15 of stat; fields[0] is field 3 (state).
    if (fields) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / clockTicks;
}

/** Resident set size in KiB (VmRSS of /proc/PID/status), summed over the processes. */
export function rssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) total += Number(match[1]);
    } catch {
      // exited
    }
  }
  return total;
}

/** Direct children of a process (nginx's workers are children of its master). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/** CPU seconds used by the whole machine (all processes, all cores) so far: other load shows here. */
export function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / clockTicks;
}

/** CPU used between two moments, as % of one core; `read` returns CPU seconds used so far. */
export class CpuMeter {
  private readonly startCpu: number;
  private readonly startWall = performance.now();

  constructor(private readonly read: () => number) {
    this.startCpu = read();
  }

  static of(pids: () => readonly number[]): CpuMeter {
    return new CpuMeter(() => cpuSeconds(pids()));
  }

  percent(): number {
    const wall = (performance.now() - this.startWall) / 1000;
    return wall > 0 ? ((this.read() - this.startCpu) / wall) * 100 : 0;
  }
}
