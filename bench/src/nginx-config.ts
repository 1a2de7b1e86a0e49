// The one config both engines read: infra/nginx.conf with the bench's addresses and worker settings.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { paths, substituteAddresses } from '@chat/devstack';

export interface BenchConfigInput {
  nginxPort: number;
  /** `upstream chat` members, in order (chat-1, chat-2, chat-3). */
  chatPorts: number[];
  /** `upstream web`: the bench echo/HTTP backend. */
  backendPort: number;
  workerConnections: number;
  /** Directives added to the http block (only those the gateway accepts too). */
  httpExtras: string[];
}

/** infra/nginx.conf, rewritten for the bench; throws if the file no longer has what we rewrite. */
export function benchConfig(input: BenchConfigInput): string {
  let text = readFileSync(paths.nginxConf, 'utf8');
  const replace = (pattern: RegExp, what: string, replacement: (lead: string) => string) => {
    if (!pattern.test(text)) throw new Error(`infra/nginx.conf has no ${what} for the bench to rewrite`);
    text = text.replace(pattern, (_match, lead: string) => replacement(lead));
  };
  // Equal workers: nginx with one worker against the single-process gateway.
  replace(/^(\s*worker_processes\s+)[^;]+;/m, 'worker_processes', (lead) => `${lead}1;`);
  // Each proxied WebSocket holds two connections; the idle workload holds thousands.
  replace(/^(\s*worker_connections\s+)\d+;/m, 'worker_connections', (lead) => `${lead}${input.workerConnections};`);
  if (input.httpExtras.length) {
    replace(/^(http\s*\{\n)/m, 'http block', (lead) => `${lead}    ${input.httpExtras.join('\n    ')}\n`);
  }

  const resolve: Record<string, string> = { 'web:3000': `127.0.0.1:${input.backendPort}` };
  input.chatPorts.forEach((port, i) => (resolve[`chat-${i + 1}:3000`] = `127.0.0.1:${port}`));
  for (const name of Object.keys(resolve)) {
    if (!new RegExp(`\\bserver\\s+${name}[\\s;]`).test(text)) throw new Error(`infra/nginx.conf has no "server ${name}" for the bench to rewrite`);
  }
  const header =
    '# Written by bench/ from infra/nginx.conf for one run: same directives, bench addresses, one worker.\n' +
    '# nginx and the gateway both read this very file.\n';
  return header + substituteAddresses(text, resolve, `127.0.0.1:${input.nginxPort}`);
}

/** `chat-gateway -t -c FILE`: does the gateway accept this config? */
export function gatewayAccepts(file: string): { ok: boolean; output: string } {
  const run = spawnSync(process.execPath, [paths.gatewayCli, '-t', '-c', file], { encoding: 'utf8', timeout: 20_000 });
  return { ok: run.status === 0, output: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() };
}

/**
 * nginx-only niceties we'd like in the bench config, each kept only if the gateway accepts it
 * (both engines must read the same file). `access_log off` keeps nginx from writing a log line
 * per request to /var/log/nginx, which the gateway doesn't do either.
 */
export const optionalHttpDirectives = ['access_log off;'];

/** Writes the config to `file`, with whichever optional directives the gateway accepts (all when there is no gateway). */
export function writeBenchConfig(
  file: string,
  input: Omit<BenchConfigInput, 'httpExtras'>,
  gatewayAvailable: boolean,
): { extras: string[]; rejected: { directive: string; reason: string }[] } {
  const extras: string[] = [];
  const rejected: { directive: string; reason: string }[] = [];
  for (const directive of optionalHttpDirectives) {
    if (!gatewayAvailable) {
      extras.push(directive);
      continue;
    }
    writeFileSync(file, benchConfig({ ...input, httpExtras: [...extras, directive] }));
    const check = gatewayAccepts(file);
    if (check.ok) extras.push(directive);
    else rejected.push({ directive, reason: check.output.split('\n')[0] ?? '' });
  }
  writeFileSync(file, benchConfig({ ...input, httpExtras: extras }));
  if (gatewayAvailable) {
    const check = gatewayAccepts(file);
    if (!check.ok) throw new Error(`the gateway rejects the bench config ${file}:\n${check.output}`);
  }
  return { extras, rejected };
}
