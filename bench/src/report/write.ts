import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@chat/devstack';
import type { Results } from '../results.js';
import { markdownReport, readmeSection } from './markdown.js';
import { svgChart } from './svg.js';

export const resultsDir = path.join(repoRoot, 'bench/results');

/** Writes `<name>.json`, `.md` and `.svg` under bench/results; returns their paths. */
export function writeReports(results: Results, name: string): string[] {
  mkdirSync(resultsDir, { recursive: true });
  const files = {
    json: path.join(resultsDir, `${name}.json`),
    md: path.join(resultsDir, `${name}.md`),
    svg: path.join(resultsDir, `${name}.svg`),
  };
  // JSON has no Infinity/NaN: they become null ("lost" / "not measured").
  writeFileSync(files.json, JSON.stringify(results, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  writeFileSync(files.md, markdownReport(results));
  writeFileSync(files.svg, svgChart(results));
  return Object.values(files);
}

/** Replaces (or appends) the `## Benchmarks` section of the root README, up to the next `## ` heading. */
export function updateReadme(results: Results): string {
  const file = path.join(repoRoot, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const section = readmeSection(results);
  const start = readme.search(/^## Benchmarks\s*$/m);
  let next: string;
  if (start < 0) {
    next = `${readme.trimEnd()}\n\n${section}`;
  } else {
    const after = readme.slice(start + 1).search(/^## /m);
    next = readme.slice(0, start) + section + (after < 0 ? '' : `\n${readme.slice(start + 1 + after)}`);
  }
  writeFileSync(file, next);
  return file;
}
