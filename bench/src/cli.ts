import { parseArgs } from 'node:util';
import { doorNames, type DoorName } from './environment.js';
import { workloadKinds, type WorkloadKind } from './workloads/types.js';

export const usage = `usage: npm run bench -- [options]

Benchmarks the front doors (direct, nginx, the gateway) on loopback and writes
bench/results/latest.{json,md,svg} (--quick: bench/results/quick.*).

options:
  --quick                 small counts and short durations, one repeat (CI smoke run, < 2 min)
  --doors LIST            comma-separated subset of: ${doorNames.join(', ')} (default: all available)
  --workloads LIST        comma-separated subset of: ${workloadKinds.join(', ')} (default: all)
  --repeats N             repeats of each measurement (default: 3, --quick: 1)
  --no-profile            skip the gateway CPU profiles
  --no-readme             don't update the ## Benchmarks section of README.md (full runs only)
  --verbose               echo the output of every process started
  -h, --help              this text
`;

export interface CliOptions {
  quick: boolean;
  doors: DoorName[];
  workloads: WorkloadKind[];
  repeats: number | null;
  profile: boolean;
  readme: boolean;
  verbose: boolean;
}

export class UsageError extends Error {}

function list<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((item) => !allowed.includes(item as T));
  if (bad.length || items.length === 0) throw new UsageError(`${flag}: expected a comma-separated subset of ${allowed.join(', ')}, got "${value}"`);
  return allowed.filter((item) => items.includes(item));
}

/** Parses the runner's flags; throws UsageError on anything unknown or malformed. */
export function parseCli(argv: string[]): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        doors: { type: 'string' },
        workloads: { type: 'string' },
        repeats: { type: 'string' },
        'no-profile': { type: 'boolean' },
        'no-readme': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  if (values.help) return 'help';
  let repeats: number | null = null;
  if (values.repeats !== undefined) {
    repeats = Number(values.repeats);
    if (!/^\d+$/.test(values.repeats) || repeats < 1 || repeats > 20) throw new UsageError(`--repeats: expected an integer from 1 to 20, got "${values.repeats}"`);
  }
  return {
    quick: values.quick ?? false,
    doors: list(values.doors, doorNames, '--doors'),
    workloads: list(values.workloads, workloadKinds, '--workloads'),
    repeats,
    profile: !values['no-profile'],
    readme: !values['no-readme'],
    verbose: values.verbose ?? false,
  };
}
