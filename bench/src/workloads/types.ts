import type { Door, DoorName, Environment } from '../environment.js';
import type { CpuWindow, Observed } from '../generator-host.js';
import type { Settings } from '../settings.js';

export type WorkloadKind = 'echo' | 'http' | 'handshake' | 'idle' | 'chat';
export const workloadKinds: readonly WorkloadKind[] = ['echo', 'http', 'handshake', 'idle', 'chat'];

export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Doors the metric means something for (memory per connection has no proxy when direct). */
  doors?: readonly DoorName[];
}

export interface Measurement {
  values: Record<string, number>;
  /** CPU over the measured window (the last one when there are several). */
  cpu: CpuWindow | null;
  notes: string[];
}

export interface Context {
  env: Environment;
  settings: Settings;
  log: (line: string) => void;
}

export interface Workload {
  /** e.g. `echo-100`, `http` */
  id: string;
  kind: WorkloadKind;
  title: string;
  metrics: MetricDef[];
  measure(door: Door, ctx: Context): Promise<Measurement>;
}

export function observe(door: Door, env: Environment, backend: 'echo' | 'chat'): Observed {
  return { proxy: () => door.proxyPids(), backend: () => env.backendPids(backend) };
}
