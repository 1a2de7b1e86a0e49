import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  packageDir,
  parseRefusal,
  removeWorkDir,
  renderConfig,
  startGateway,
  startNginx,
  testGatewayConfig,
  writeConfig,
  type Engine,
  type Refusal,
} from './harness.js';
import { observe, type Group, type Scenario } from './scenario.js';
import { groups } from './scenarios/index.js';
import { startUpstreams, type UpstreamSet } from './upstreams.js';

/**
 * The differential suite: every scenario runs on real nginx and on the gateway, with the same
 * configuration text, the same upstream instances and the same client bytes, and the outcomes
 * must be equal (or differ exactly as the README documents). A configuration the gateway does
 * not support yet must be refused explicitly by `-t`; such scenarios still run on nginx, so
 * that they are ready to compare the day the gateway accepts them.
 */

type Verdict = 'match' | 'documented difference' | 'unsupported (refused explicitly)' | 'known gateway bug' | 'MISMATCH';

const verdicts: { group: Group; scenario: Scenario; verdict: Verdict }[] = [];
const readme = readFileSync(path.join(packageDir, 'README.md'), 'utf8');

for (const group of groups) {
  describe(`${group.feature}: ${group.name}`, () => {
    let upstreams: UpstreamSet;
    let nginx: Engine | undefined;
    let gateway: Engine | undefined;
    let refusal: Refusal | null = null;
    let gatewayConfigText = '';
    let gatewayConfigFile = '';

    beforeAll(async () => {
      upstreams = await startUpstreams(group.upstreams);
      const addresses = upstreams.instances.map((u) => u.address);
      const [nginxPort, gatewayPort] = [await freePort(), await freePort()];
      const nginxFile = writeConfig(group.name, 'nginx', renderConfig(group.config, `127.0.0.1:${nginxPort}`, addresses));
      gatewayConfigText = renderConfig(group.config, `127.0.0.1:${gatewayPort}`, addresses);
      gatewayConfigFile = writeConfig(group.name, 'gateway', gatewayConfigText);
      for (const [name, text] of Object.entries(group.files ?? {})) writeConfig(group.name, name, renderConfig(text, '', addresses));
      nginx = await startNginx(nginxFile, nginxPort);
      const test = testGatewayConfig(gatewayConfigFile);
      if (test.code !== 0) {
        refusal = parseRefusal(test.stderr);
        if (!refusal) throw new Error(`chat-gateway -t failed, and not as an explicit refusal:\n${test.stderr}`);
        return;
      }
      gateway = await startGateway(gatewayConfigFile, gatewayPort);
    });

    afterAll(async () => {
      await gateway?.stop();
      await nginx?.stop();
      await upstreams?.close();
    });

    for (const scenario of group.scenarios) {
      it(scenario.name, async () => {
        const record = (verdict: Verdict) => verdicts.push({ group, scenario, verdict });
        const nginxOutcome = await observe(scenario, 'nginx', (nginx as Engine).port, upstreams, (sig) => nginx?.process.child.kill(sig));
        scenario.expectNginx?.(nginxOutcome);

        if (refusal) {
          // Not supported yet: the refusal must be explicit and point at the feature's line.
          expect(refusal.file).toBe(gatewayConfigFile);
          const line = gatewayConfigText.split('\n')[refusal.line - 1] ?? '';
          const needs = group.needs ?? [];
          expect(needs.length, `group "${group.name}" is refused (${refusal.message}) but declares no needs`).toBeGreaterThan(0);
          expect(
            needs.some((word) => line.includes(word)),
            `refusal "${refusal.message}" points at line ${refusal.line} (${line.trim()}), which uses none of ${needs.join(', ')}`,
          ).toBe(true);
          record('unsupported (refused explicitly)');
          return;
        }

        const gatewayOutcome = await observe(scenario, 'gateway', (gateway as Engine).port, upstreams, (sig) => gateway?.process.child.kill(sig));
        if (scenario.difference) {
          expect(readme, 'a documented difference must be quoted from the README').toContain(scenario.difference.documented);
          scenario.difference.check(nginxOutcome, gatewayOutcome);
          record('documented difference');
          return;
        }
        if (scenario.bug) {
          try {
            expect(gatewayOutcome).toEqual(nginxOutcome);
            console.log(`known bug "${scenario.bug.description}" no longer shows: remove the annotation of "${scenario.name}"`);
            record('match');
          } catch {
            scenario.bug.check(nginxOutcome, gatewayOutcome);
            record('known gateway bug');
          }
          return;
        }
        try {
          expect(gatewayOutcome).toEqual(nginxOutcome);
        } catch (err) {
          record('MISMATCH');
          throw err;
        }
        record('match');
      });
    }
  });
}

afterAll(() => {
  removeWorkDir();
  const total = verdicts.length;
  const count = (v: Verdict) => verdicts.filter((x) => x.verdict === v).length;
  const lines = [
    '',
    `differential: ${count('match')}/${total} scenarios match nginx` +
      ` (${count('documented difference')} documented differences,` +
      ` ${count('unsupported (refused explicitly)')} unsupported (refused explicitly),` +
      ` ${count('known gateway bug')} known gateway bugs,` +
      ` ${count('MISMATCH')} mismatches)`,
  ];
  const features = [...new Set(verdicts.map((v) => v.group.feature))];
  const width = Math.max(...features.map((f) => f.length), 7);
  lines.push(`  ${'feature'.padEnd(width)}  match  documented  refused  known bug  mismatch`);
  for (const feature of features) {
    const mine = verdicts.filter((v) => v.group.feature === feature);
    const n = (v: Verdict) => String(mine.filter((x) => x.verdict === v).length);
    lines.push(
      `  ${feature.padEnd(width)}  ${`${n('match')}/${mine.length}`.padStart(5)}  ${n('documented difference').padStart(10)}` +
        `  ${n('unsupported (refused explicitly)').padStart(7)}  ${n('known gateway bug').padStart(9)}  ${n('MISMATCH').padStart(8)}`,
    );
  }
  for (const v of verdicts.filter((x) => x.verdict !== 'match')) {
    lines.push(`  ${v.verdict}: ${v.group.name} / ${v.scenario.name}`);
  }
  console.log(lines.join('\n'));
});
