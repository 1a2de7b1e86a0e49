// A hand-written SVG bar chart: per metric, one bar per door (median) with a min–max whisker, and
// the gateway/nginx ratio coloured by its target's verdict.
import type { DoorName } from '../environment.js';
import { formatNumber, formatRatio, type Results } from '../results.js';
import { machineLine } from './markdown.js';

const colours: Record<DoorName, string> = { direct: '#9aa0a6', nginx: '#2e9a4a', gateway: '#2f6fdb' };
const verdictColour = { pass: '#2e9a4a', fail: '#d0342c', 'n/a': '#5f6368' } as const;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function svgChart(r: Results): string {
  const width = 1000;
  const barX = 90;
  const barMax = 640;
  const barH = 12;
  const rowH = 22 + r.doors.length * 16 + 14;
  const top = 96;
  const metrics = r.workloads.flatMap((w) => w.metrics);
  const targets = new Map(r.targets.map((t) => [t.metric, t]));
  const height = top + metrics.length * rowH + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="18" font-weight="600">Front doors on loopback: direct, nginx, gateway (${r.mode} run, ${r.date.slice(0, 10)})</text>`,
    `<text x="20" y="50" fill="#5f6368">${escape(machineLine(r))}</text>`,
    `<text x="20" y="68" fill="#5f6368">Bars: median of ${r.settings.repeats} run(s); whiskers: min–max. Right: gateway/nginx ratio (green: meets its target, red: misses it).</text>`,
  ];
  r.doors.forEach((door, i) => {
    const x = 20 + i * 110;
    out.push(`<rect x="${x}" y="77" width="12" height="12" fill="${colours[door]}"/><text x="${x + 18}" y="87">${door}</text>`);
  });

  metrics.forEach((m, row) => {
    const y0 = top + row * rowH;
    out.push(`<text x="20" y="${y0 + 14}" font-weight="600">${escape(`${m.label} (${m.unit}, ${m.better} is better)`)}</text>`);
    const spreads = r.doors.map((d) => m.byDoor[d]);
    const scaleMax = Math.max(...spreads.map((s) => (s && Number.isFinite(s.max) ? s.max : 0)), 1e-9);
    const scale = (v: number) => (Math.max(0, v) / scaleMax) * barMax;
    r.doors.forEach((door, i) => {
      const y = y0 + 22 + i * 16;
      const s = m.byDoor[door];
      out.push(`<text x="${barX - 8}" y="${y + 10}" text-anchor="end" fill="#5f6368">${door}</text>`);
      if (!s || !Number.isFinite(s.median)) {
        out.push(`<text x="${barX}" y="${y + 10}" fill="#9aa0a6">${m.doors && !m.doors.includes(door) ? 'n/a' : 'not measured'}</text>`);
        return;
      }
      const w = scale(s.median);
      out.push(`<rect x="${barX}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colours[door]}"/>`);
      let end = barX + w;
      if (s.samples.length > 1 && s.max > s.min) {
        const [x1, x2, mid] = [barX + scale(s.min), barX + scale(s.max), y + barH / 2];
        out.push(
          `<path d="M${x1.toFixed(1)} ${mid}H${x2.toFixed(1)}M${x1.toFixed(1)} ${y + 2}V${y + barH - 2}M${x2.toFixed(1)} ${y + 2}V${y + barH - 2}" stroke="#202124" stroke-width="1"/>`,
        );
        end = Math.max(end, x2);
      }
      out.push(`<text x="${(end + 6).toFixed(1)}" y="${y + 10}">${formatNumber(s.median)}</text>`);
    });
    const target = targets.get(m.id);
    const colour = target ? verdictColour[target.verdict] : '#5f6368';
    const goal = target ? ` (target ${target.comparison === '>=' ? '≥' : '≤'} ${target.threshold}×)` : '';
    out.push(`<text x="${width - 20}" y="${y0 + 40}" text-anchor="end" font-size="16" font-weight="600" fill="${colour}">${formatRatio(m.ratio)}</text>`);
    out.push(`<text x="${width - 20}" y="${y0 + 56}" text-anchor="end" fill="#5f6368">gateway/nginx${escape(goal)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
