import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { requireBinary } from '@chat/devstack';

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  /** Null when the HTTP workload didn't run. */
  wrk: string | null;
  /** Open-file limit of the bench's process tree. */
  fdLimit: number;
  loadAverage: number[];
}

function firstLine(command: string, args: string[]): string {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 5_000 });
  return `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
}

export function describeMachine(wrk: string | null, fdLimit: number): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  let nginx = 'not installed';
  try {
    nginx = firstLine(requireBinary('nginx', 'NGINX_BIN', ''), ['-v']).replace(/^nginx version:\s*nginx\//, '');
  } catch {
    // reported as not installed
  }
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx,
    wrk: wrk ? firstLine(wrk, ['-v']).replace(/\s*\[.*$/, '') : null,
    fdLimit,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
