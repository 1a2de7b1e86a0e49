import type { DoorName } from '../environment.js';
import { formatNumber, formatRatio, type Results, type TargetResult } from '../results.js';
import type { Spread } from '../stats.js';

const doorTitles: Record<DoorName, string> = { direct: 'direct', nginx: 'nginx', gateway: 'gateway' };
const mark = { pass: '✅', fail: '❌', 'n/a': '➖' } as const;

function cell(s: Spread | undefined): string {
  if (!s) return '—';
  if (s.samples.length < 2 || !Number.isFinite(s.min)) return formatNumber(s.median);
  return `${formatNumber(s.median)} [${formatNumber(s.min)}–${formatNumber(s.max)}]`;
}

function targetCell(t: TargetResult | undefined): string {
  if (!t) return '';
  return `${t.comparison === '>=' ? '≥' : '≤'} ${t.threshold}× ${mark[t.verdict]}`;
}

export function machineLine(r: Results): string {
  const m = r.machine;
  return `${m.nproc} × ${m.cpu} (nproc ${m.nproc}), ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}, nginx ${m.nginx}${m.wrk ? `, ${m.wrk}` : ''}`;
}

/** The main table: one row per metric, one column per door, the ratio and the target. */
export function resultsTable(r: Results): string {
  const doors = r.doors;
  const targets = new Map(r.targets.map((t) => [t.metric, t]));
  const lines = [
    `| metric | ${doors.map((d) => doorTitles[d]).join(' | ')} | gateway/nginx | target |`,
    `| --- | ${doors.map(() => '---:').join(' | ')} | ---: | --- |`,
  ];
  for (const w of r.workloads) {
    for (const m of w.metrics) {
      const cells = doors.map((d) => (m.doors && !m.doors.includes(d) ? 'n/a' : cell(m.byDoor[d])));
      lines.push(`| ${m.label} (${m.unit}) | ${cells.join(' | ')} | ${formatRatio(m.ratio)} | ${targetCell(targets.get(m.id))} |`);
    }
  }
  return lines.join('\n');
}

export function verdictList(r: Results): string {
  if (!r.targets.length) return '_No targets apply to the workloads run._';
  return r.targets
    .map((t) => {
      const goal = `${t.comparison === '>=' ? '≥' : '≤'} ${t.threshold}× nginx`;
      const got = t.ratio === null ? 'not measured (needs nginx and the gateway in the same run)' : `${t.ratio.toFixed(2)}× nginx`;
      return `- ${mark[t.verdict]} **${t.verdict.toUpperCase()}** ${t.description}: ${got} (target ${goal})`;
    })
    .join('\n');
}

function loadTable(r: Results): string {
  const lines = [
    '| workload | door | generator | proxy | backend | other processes |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const w of r.workloads) {
    for (const l of w.load) {
      const flag = l.generatorBound ? ' ⚠' : '';
      lines.push(`| ${w.title} | ${l.door} | ${l.generator.toFixed(0)}%${flag} | ${l.door === 'direct' ? '—' : `${l.proxy.toFixed(0)}%`} | ${l.backend.toFixed(0)}% | ${l.others.toFixed(0)}% |`);
    }
  }
  return lines.join('\n');
}

function profileSection(r: Results): string {
  if (!r.profiles.length) return '_No gateway profile in this run (the gateway was not measured, or --no-profile)._';
  return r.profiles
    .map((p) => {
      const breakdown = Object.entries(p.breakdown)
        .map(([k, v]) => `${k} ${v.toFixed(0)}%`)
        .join(', ');
      const rows = p.top.map((f) => `| ${f.selfPercent.toFixed(1)}% | \`${f.function}\` | ${f.location || '—'} |`);
      return [`#### ${p.workload}`, '', `Profile: \`${p.file}\`. Non-idle samples: ${breakdown}.`, '', '| self | function | where |', '| ---: | --- | --- |', ...rows].join('\n');
    })
    .join('\n\n');
}

export function markdownReport(r: Results): string {
  const repeats = r.settings.repeats;
  return [
    `# Front door benchmarks (${r.mode} run, ${r.date.slice(0, 10)})`,
    '',
    `Machine: ${machineLine(r)}. Load average at start: ${r.machine.loadAverage.join(', ')}. Run took ${Math.round(r.durationSeconds)} s.`,
    '',
    `Doors: **direct** (clients straight to the backend), **nginx** (\`worker_processes 1\`), **gateway** (single process); nginx and the gateway read the same generated config (infra/nginx.conf's directives${r.config.extras.length ? ` plus \`${r.config.extras.join(' ')}\`` : ''}). ` +
      `Each cell: median of ${repeats} run${repeats > 1 ? 's' : ''}${repeats > 1 ? ' [min–max]' : ''}, doors interleaved. Ratios are gateway/nginx medians.`,
    '',
    resultsTable(r),
    '',
    '## Targets',
    '',
    verdictList(r),
    '',
    '## Load check',
    '',
    'Median CPU over the measured windows, % of one core (the machine has ' +
      `${r.machine.nproc}, i.e. ${r.machine.nproc * 100}% in all). "Other processes" is the rest of the machine's CPU use meanwhile: on a shared box, the noise. ⚠ marks a load generator at ≥ 90% of a core, where it rather than the door may set the pace.`,
    '',
    loadTable(r),
    '',
    ...(r.notes.length || r.workloads.some((w) => w.notes.length)
      ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ...r.workloads.flatMap((w) => w.notes.map((n) => `- ${w.title}, ${n}`)), '']
      : []),
    '## Where the gateway spends its time',
    '',
    'Top self-time functions under `node --cpu-prof` (a separate, profiled gateway; not the measured one).',
    '',
    profileSection(r),
    '',
  ].join('\n');
}

/** The `## Benchmarks` section of the root README. */
export function readmeSection(r: Results): string {
  return [
    '## Benchmarks',
    '',
    `\`npm run bench\` (${r.date.slice(0, 10)}, ${machineLine(r)}): each front door on loopback, ` +
      `median of ${r.settings.repeats} interleaved runs [min–max]; ratios are gateway/nginx. ` +
      'Full report with the load check and the gateway profile: [bench/results/latest.md](bench/results/latest.md); ' +
      'chart: [bench/results/latest.svg](bench/results/latest.svg).',
    '',
    resultsTable(r),
    '',
    verdictList(r),
    '',
  ].join('\n');
}
