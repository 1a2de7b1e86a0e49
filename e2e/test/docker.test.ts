// The Docker demo, proven without a Docker engine:
// - `docker-compose config` accepts docker-compose.yml, and its services, ports, health checks,
//   dependencies and volume are what the README promises and what infra/nginx.conf names;
// - each image is built OUTSIDE Docker by running its Dockerfile's own instructions (read from the
//   file, never copied here) in a temporary directory: a build context filtered by .dockerignore,
//   one directory per stage standing in for its filesystem, `turbo prune --docker`, `npm ci`, the
//   build and the production install; then the final stage's ENTRYPOINT/CMD is started with the
//   service's compose environment, on loopback ports.
// What this cannot prove (no engine): the base images themselves, USER/--chown permissions,
// Docker's DNS and network, health checks run by the engine, published ports.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  freePort,
  httpGet,
  repoRoot,
  spawnManaged,
  startRedis,
  untilReady,
  waitUntil,
  type ManagedProcess,
  type RedisProcess,
} from '@chat/devstack';
import { loadConfig } from '@chat/server/dist/config.js';

// The npm that node:20-bookworm-slim ships (bundled with Node 20.17 and later). The Dockerfiles run
// the image's npm, which differs from a developer's: this test runs the same version.
const IMAGE_NPM_VERSION = '10.8.2';
const BUILD_TIMEOUT = 15 * 60_000;

// ---------------------------------------------------------------------------------------------
// Small helpers

const readRepoFile = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

/** A clean environment, like a container's: no npm_* or vitest variables from the test runner. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];
  const env: NodeJS.ProcessEnv = {};
  for (const name of keep) if (process.env[name] !== undefined) env[name] = process.env[name];
  return { ...env, ...extra };
}

function runSync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`\`${[command, ...args].join(' ')}\` exited with ${result.status}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** Runs a command to completion without blocking the event loop; resolves with exit code and output. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// docker-compose config, normalised across Compose v1 (strings) and v2 (long syntax)

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string | null> | string[] };
  command?: string[] | string | null;
  environment?: Record<string, string | number | null> | string[];
  expose?: (string | number)[];
  ports?: (string | { target: number | string; published?: number | string; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
}

interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** `docker-compose config` with no .env and no overrides from this shell: the file's own defaults. */
function composeConfig(): ComposeConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-compose-'));
  try {
    const envFile = path.join(dir, 'empty.env');
    writeFileSync(envFile, '');
    const yaml = runSync('docker-compose', ['-f', 'docker-compose.yml', '--env-file', envFile, 'config'], {
      cwd: repoRoot,
      env: cleanEnv(),
    });
    // Compose v1 prints YAML only; python3-yaml comes with Debian's docker-compose package.
    const json = runSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml });
    return JSON.parse(json) as ComposeConfig;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((item) => [item.split('=')[0]!, item.slice(item.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value === null ? '' : String(value)]));
}

function portsOf(service: ComposeService): { hostIp: string; published: number; target: number }[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') {
      return { hostIp: port.host_ip ?? '', published: Number(port.published), target: Number(port.target) };
    }
    const parts = port.replace(/\/\w+$/, '').split(':');
    const target = Number(parts.pop());
    const published = Number(parts.pop() ?? NaN);
    return { hostIp: parts.join(':'), published, target };
  });
}

function mountsOf(service: ComposeService): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return { source: volume.source ?? '', target: volume.target, readOnly: volume.read_only === true };
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

function dependsOnOf(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

function buildArgsOf(service: ComposeService): Record<string, string> {
  const args = service.build?.args ?? {};
  if (Array.isArray(args)) return Object.fromEntries(args.map((item) => [item.split('=')[0]!, item.slice(item.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(args).map(([name, value]) => [name, value ?? '']));
}

const commandOf = (service: ComposeService): string[] | undefined =>
  typeof service.command === 'string' ? ['/bin/sh', '-c', service.command] : (service.command ?? undefined);

// ---------------------------------------------------------------------------------------------
// infra/nginx.conf: upstream servers and the listen port

function parseNginxConf(text: string): { upstreams: Map<string, { host: string; port: number }[]>; listen: number[] } {
  const code = text.replace(/#.*$/gm, '');
  const upstreams = new Map<string, { host: string; port: number }[]>();
  for (const [, name, body] of code.matchAll(/\bupstream\s+([\w.-]+)\s*\{([^}]*)\}/g)) {
    const servers = [...body!.matchAll(/(?:^|[;{\s])server\s+([^\s;:]+):(\d+)[^;]*;/g)].map(([, host, port]) => ({ host: host!, port: Number(port) }));
    upstreams.set(name!, servers);
  }
  const listen = [...code.matchAll(/^\s*listen\s+(?:\S*:)?(\d+)\b[^;]*;/gm)].map(([, port]) => Number(port));
  return { upstreams, listen };
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles: parsed, then executed outside Docker, one directory per stage

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (!pending && !line)) continue; // comments, parser directives, blanks
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    if (!full) continue;
    const [, op = '', args = ''] = /^(\S+)\s*([\s\S]*)$/.exec(full) ?? [];
    instructions.push({ op: op.toUpperCase(), args });
  }
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.op === 'FROM') {
      const [from = '', as, name] = instruction.args.split(/\s+/);
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), from, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.op !== 'ARG') throw new Error(`only ARG may come before the first FROM, not ${instruction.op}`);
      globalArgs.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** Docker's ${VAR}, ${VAR:-default} and $VAR substitution (used by ARG, ENV, COPY, WORKDIR...). */
function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g, (_, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const found = vars[name];
    return found !== undefined && found !== '' ? found : (fallback ?? '');
  });
}

/** `a=1 b="two words"` -> pairs; also the legacy `ENV a 1` form. */
function parsePairs(args: string, vars: Record<string, string>): [string, string][] {
  if (!/^\w+=/.test(args)) {
    const [, name = '', value = ''] = /^(\w+)\s+([\s\S]*)$/.exec(args) ?? [];
    return [[name, substitute(value, vars)]];
  }
  return [...args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map(([, name, value]) => [
    name!,
    substitute(value!.startsWith('"') ? (JSON.parse(value!) as string) : value!, vars),
  ]);
}

function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let match = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); match; match = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[match[1]!] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

const execForm = (args: string, what: string): string[] => {
  if (!args.startsWith('[')) throw new Error(`${what} must use the exec (JSON) form: ${args}`);
  return JSON.parse(args) as string[];
};

interface StageState {
  root: string;
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string;
}

interface BuiltImage extends StageState {
  /** The final stage's working directory on this machine. */
  cwd: string;
  timings: string[];
}

const onHost = (root: string, file: string) => path.join(root, file);

/** Copies a .dockerignore-filtered build context, as `docker build` sends it. */
function copyBuildContext(source: string, destination: string): void {
  const rules = readFileSync(path.join(source, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = path.posix.normalize(line.slice(negate ? 1 : 0).replace(/^\/+/, ''));
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          i++;
          if (pattern[i + 1] === '/') {
            i++;
            re += '(?:.*/)?';
          } else re += '.*';
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, regex: new RegExp(`^${re}$`) };
    });
  const excluded = (rel: string) => rules.reduce((out, rule) => (rule.regex.test(rel) ? !rule.negate : out), false);
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (excluded(child)) continue;
      if (entry.isDirectory()) {
        mkdirSync(path.join(destination, child), { recursive: true });
        walk(child);
      } else {
        cpSync(path.join(source, child), path.join(destination, child), { verbatimSymlinks: true });
      }
    }
  };
  mkdirSync(destination, { recursive: true });
  walk('');
}

/** The base image's state as far as the build is concerned (node images: `docker-entrypoint.sh` runs CMD). */
function externalImage(image: string, root: string): StageState {
  if (!/^node:/.test(image)) throw new Error(`no emulation for base image ${image}`);
  mkdirSync(root, { recursive: true });
  return { root, workdir: '/', env: {}, entrypoint: [], cmd: ['node'], user: 'root' };
}

/**
 * Builds `dockerfile` outside Docker: every stage in its own directory under `workspace`, every RUN
 * executed by /bin/sh in the stage's WORKDIR with its ARG and ENV values, on `toolchainPath`.
 */
async function buildImage(options: {
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  workspace: string;
  toolchainPath: string;
}): Promise<BuiltImage> {
  const { globalArgs, stages } = parseDockerfile(readFileSync(options.dockerfile, 'utf8'));
  const globals: Record<string, string> = {};
  for (const { args } of globalArgs) {
    const [name = '', fallback] = args.split('=');
    globals[name] = options.buildArgs[name] ?? substitute(fallback ?? '', globals);
  }
  const built = new Map<string, StageState>();
  const timings: string[] = [];
  let state: StageState | undefined;

  for (const stage of stages) {
    const started = Date.now();
    const root = path.join(options.workspace, `stage-${stage.name}`);
    const from = substitute(stage.from, globals);
    const parent = built.get(from);
    if (parent) {
      cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
      state = { ...parent, root, env: { ...parent.env } };
    } else {
      state = externalImage(from, root);
    }
    const args: Record<string, string> = {};
    const vars = () => ({ ...args, ...state!.env });

    for (const { op, args: raw } of stage.instructions) {
      switch (op) {
        case 'ARG': {
          const [name = '', fallback] = raw.split('=');
          args[name] = options.buildArgs[name] ?? (fallback === undefined ? (globals[name] ?? '') : substitute(fallback, vars()));
          break;
        }
        case 'ENV':
          for (const [name, value] of parsePairs(raw, vars())) state.env[name] = value;
          break;
        case 'WORKDIR':
          state.workdir = path.posix.resolve(state.workdir, substitute(raw, vars()));
          mkdirSync(onHost(root, state.workdir), { recursive: true });
          break;
        case 'COPY': {
          const { flags, rest } = splitFlags(raw);
          const parts = (rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/)).map((part) => substitute(part, vars()));
          const destination = parts.pop()!;
          const sourceRoot = flags.from ? built.get(flags.from)?.root : options.context;
          if (!sourceRoot) throw new Error(`COPY --from=${flags.from}: no such stage`);
          const target = onHost(root, path.posix.resolve(state.workdir, destination));
          for (const part of parts) {
            if (/[*?[]/.test(part)) throw new Error(`COPY with wildcards is not emulated: ${part}`);
            const source = flags.from ? onHost(sourceRoot, part) : path.join(sourceRoot, part);
            if (!existsSync(source)) throw new Error(`COPY ${part}: not found in ${flags.from ? `stage ${flags.from}` : 'the build context'}`);
            const intoDirectory = destination.endsWith('/') && !statSync(source).isDirectory();
            cpSync(source, intoDirectory ? path.join(target, path.basename(source)) : target, { recursive: true, verbatimSymlinks: true, force: true });
          }
          break;
        }
        case 'RUN': {
          const { rest } = splitFlags(raw); // --mount=type=cache... only speeds Docker up
          const command = rest.startsWith('[') ? execForm(rest, 'RUN') : ['/bin/sh', '-c', rest];
          const t0 = Date.now();
          const result = await run(command[0]!, command.slice(1), {
            cwd: onHost(root, state.workdir),
            env: cleanEnv({ ...vars(), PATH: `${options.toolchainPath}${path.delimiter}${process.env.PATH ?? ''}` }),
          });
          if (result.code !== 0) throw new Error(`[${stage.name}] RUN ${rest} exited with ${result.code}:\n${result.output.slice(-8_000)}`);
          timings.push(`${stage.name}: RUN ${rest.slice(0, 60)} (${seconds(Date.now() - t0)})`);
          break;
        }
        case 'USER':
          state.user = substitute(raw, vars());
          break;
        case 'ENTRYPOINT':
          state.entrypoint = execForm(raw, 'ENTRYPOINT');
          state.cmd = [];
          break;
        case 'CMD':
          state.cmd = execForm(raw, 'CMD');
          break;
        case 'EXPOSE':
        case 'LABEL':
          break;
        default:
          throw new Error(`Dockerfile instruction ${op} is not emulated`);
      }
    }
    built.set(stage.name, state);
    timings.push(`stage ${stage.name}: ${seconds(Date.now() - started)}`);
  }
  if (!state) throw new Error(`${options.dockerfile} has no FROM`);
  return { ...state, cwd: onHost(state.root, state.workdir), timings };
}

/** Starts a built image the way `docker compose up` starts a service, with `env`/`args` added by the test. */
function startContainer(
  image: BuiltImage,
  service: ComposeService,
  name: string,
  options: { env?: Record<string, string>; args?: string[] } = {},
): ManagedProcess {
  // Bind mounts: a path inside the container becomes the file it is mounted from.
  const mounts = mountsOf(service);
  const argv = [...image.entrypoint, ...(commandOf(service) ?? image.cmd), ...(options.args ?? [])].map(
    (arg) => mounts.find((mount) => mount.target === arg)?.source ?? arg,
  );
  return spawnManaged(name, argv[0]!, argv.slice(1), {
    cwd: image.cwd,
    env: { ...image.env, ...environmentOf(service), ...options.env },
  });
}

// ---------------------------------------------------------------------------------------------

const nginx = parseNginxConf(readRepoFile('infra/nginx.conf'));
const upstreamServers = [...nginx.upstreams.values()].flat();
const chatServices = (config: ComposeConfig) => Object.keys(config.services).filter((name) => /^chat-\d+$/.test(name));

describe('docker-compose.yml', () => {
  let config: ComposeConfig;

  beforeAll(() => {
    config = composeConfig();
  });

  it('is accepted by `docker-compose config` and has the demo services', () => {
    const raw = readRepoFile('docker-compose.yml');
    expect(raw).not.toMatch(/^version:/m); // Compose Specification
    expect(raw).toMatch(/^x-chat: &chat$/m);

    const services = Object.keys(config.services);
    expect(services).toEqual(expect.arrayContaining(['redis', 'chat-1', 'chat-2', 'chat-3', 'web', 'gateway', 'nginx']));
    expect(services.filter((name) => !['redis', 'web', 'gateway', 'nginx'].includes(name)).every((name) => /^chat-\d+$/.test(name))).toBe(true);

    for (const [name, service] of Object.entries(config.services)) {
      expect(service.restart, `${name} restart policy`).toBe('unless-stopped');
    }

    // The chat servers: one image, one build, one INSTANCE_ID each.
    const chats = chatServices(config).map((name) => config.services[name]!);
    expect(new Set(chats.map((service) => JSON.stringify([service.image, service.build]))).size).toBe(1);
    expect(chatServices(config).map((name) => environmentOf(config.services[name]!).INSTANCE_ID)).toEqual(chatServices(config));
    expect(chats[0]!.build?.dockerfile).toBe(config.services.gateway!.build?.dockerfile); // one Dockerfile for Node services
    expect(buildArgsOf(chats[0]!).PACKAGE).toBe('@chat/server');
    expect(buildArgsOf(config.services.gateway!).PACKAGE).toBe('@chat/gateway');
    expect(config.services.web!.build?.dockerfile).toBeDefined();

    expect(config.services.redis!.image).toMatch(/^redis:7\b/);
    expect(config.services.nginx!.image).toMatch(/^nginx:/);
  });

  it('publishes only the two front doors: the gateway on 8080 and nginx on 8081', () => {
    const published = Object.entries(config.services).filter(([, service]) => portsOf(service).length > 0);
    expect(published.map(([name]) => name).sort()).toEqual(['gateway', 'nginx']);
    expect(portsOf(config.services.gateway!)).toEqual([expect.objectContaining({ published: 8080, target: 8080 })]);
    expect(portsOf(config.services.nginx!)).toEqual([expect.objectContaining({ published: 8081, target: 8080 })]);
  });

  it('has health checks, and every dependency waits for its target to be healthy', () => {
    for (const name of ['redis', ...chatServices(config), 'web', 'gateway']) {
      const test = config.services[name]!.healthcheck?.test;
      expect(test, `${name} healthcheck`).toBeDefined();
      expect(config.services[name]!.healthcheck?.disable).not.toBe(true);
    }
    expect(config.services.redis!.healthcheck!.test).toContain('redis-cli ping | grep -q PONG');
    for (const name of chatServices(config)) {
      expect(JSON.stringify(config.services[name]!.healthcheck!.test)).toContain('http://127.0.0.1:3000/healthz');
      expect(dependsOnOf(config.services[name]!)).toEqual({ redis: 'service_healthy' });
    }
    const backends = [...new Set(upstreamServers.map(({ host }) => host))].sort();
    for (const name of ['gateway', 'nginx']) {
      const deps = dependsOnOf(config.services[name]!);
      expect(Object.keys(deps).sort(), `${name} depends_on`).toEqual(backends);
      expect(new Set(Object.values(deps))).toEqual(new Set(['service_healthy']));
    }
    for (const [name, service] of Object.entries(config.services)) {
      for (const dependency of Object.keys(dependsOnOf(service))) {
        expect(config.services[dependency]?.healthcheck?.test, `${name} waits for ${dependency}, which needs a healthcheck`).toBeDefined();
      }
    }
  });

  it('keeps Redis data, append-only, on a named volume', () => {
    expect(Object.keys(config.volumes ?? {})).toContain('redis-data');
    expect(mountsOf(config.services.redis!)).toEqual([expect.objectContaining({ source: 'redis-data', target: '/data' })]);
    expect(commandOf(config.services.redis!)?.join(' ')).toContain('--appendonly yes');
  });

  it('agrees with infra/nginx.conf: upstream servers are compose services on those ports; both front doors read it', () => {
    expect(nginx.upstreams.get('chat')?.length).toBeGreaterThanOrEqual(3);
    expect(nginx.upstreams.get('web')).toBeDefined();
    for (const { host, port } of upstreamServers) {
      const service = config.services[host];
      expect(service, `upstream server ${host}:${port} is a compose service`).toBeDefined();
      expect((service!.expose ?? []).map(String), `${host} exposes ${port}`).toContain(String(port));
      const env = environmentOf(service!);
      if (env.PORT !== undefined) expect(env.PORT, `${host} PORT`).toBe(String(port));
    }
    // Every chat-N service is in `upstream chat`, and only those.
    expect(nginx.upstreams.get('chat')!.map(({ host }) => host).sort()).toEqual(chatServices(config).sort());

    expect(nginx.listen).toEqual([8080]);
    const confPath = path.join(repoRoot, 'infra/nginx.conf');
    for (const name of ['gateway', 'nginx']) {
      const service = config.services[name]!;
      expect(portsOf(service).map(({ target }) => target)).toEqual(nginx.listen);
      expect(mountsOf(service)).toContainEqual({ source: confPath, target: '/etc/nginx/nginx.conf', readOnly: true });
    }
    expect(commandOf(config.services.gateway!)).toEqual(['-c', '/etc/nginx/nginx.conf']);
    // Inside compose, Docker's DNS resolves the upstream names: no --resolve, no --listen override.
    expect(commandOf(config.services.gateway!)).not.toContain('--resolve');
  });

  it('takes its settings from .env, and .env.example documents every one and every chat server variable', () => {
    const example = readRepoFile('.env.example');
    const assigned = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map(([, name]) => name));
    const interpolated = new Set([...readRepoFile('docker-compose.yml').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map(([, name]) => name));
    expect([...interpolated].filter((name) => !assigned.has(name))).toEqual([]);
    expect([...assigned].filter((name) => !interpolated.has(name))).toEqual([]);
    // Every variable the chat server reads is either set from .env or named as fixed by compose.
    for (const name of Object.keys(loadConfig({}))) expect(example, `.env.example mentions ${name}`).toMatch(new RegExp(`\\b${name}\\b`));
    // Nothing in the images: no ENV in a Dockerfile carries a chat setting or anything secret-looking.
    for (const file of readdirSync(path.join(repoRoot, 'infra/docker'))) {
      const text = readRepoFile(`infra/docker/${file}`);
      expect(text).not.toMatch(/\b(REDIS_URL|ALLOWED_ORIGINS|TRUSTED_PROXIES|PASSWORD|SECRET|TOKEN)\b\s*=/);
    }
  });
});

describe('the images, built outside Docker by running their Dockerfiles', () => {
  let config: ComposeConfig;
  let workspace: string;
  let context: string;
  let toolchainPath: string;
  let redis: RedisProcess | undefined;
  const images = new Map<string, BuiltImage>();
  const running: ManagedProcess[] = [];

  /** The image a service runs, built once per distinct (Dockerfile, build args). */
  async function imageFor(serviceName: string): Promise<BuiltImage> {
    const service = config.services[serviceName]!;
    const dockerfile = path.resolve(service.build!.context, service.build!.dockerfile ?? 'Dockerfile');
    const buildArgs = buildArgsOf(service);
    const key = JSON.stringify([dockerfile, buildArgs]);
    const cached = images.get(key);
    if (cached) return cached;
    expect(path.resolve(service.build!.context)).toBe(repoRoot);
    const started = Date.now();
    const image = await buildImage({
      dockerfile,
      context,
      buildArgs,
      workspace: mkdtempSync(path.join(workspace, `${serviceName}-`)),
      toolchainPath,
    });
    console.log(`[docker.test] ${service.image}: built in ${seconds(Date.now() - started)}\n  ${image.timings.join('\n  ')}`);
    images.set(key, image);
    return image;
  }

  beforeAll(async () => {
    config = composeConfig();
    workspace = mkdtempSync(path.join(os.tmpdir(), 'chat-docker-'));
    context = path.join(workspace, 'context');
    copyBuildContext(repoRoot, context);
    // The image's npm, not this machine's (npm 11 rejects lockfiles npm 10 accepts, and vice versa).
    const toolchain = path.join(workspace, 'toolchain');
    mkdirSync(toolchain);
    writeFileSync(path.join(toolchain, 'package.json'), '{"private":true}\n');
    runSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `npm@${IMAGE_NPM_VERSION}`], {
      cwd: toolchain,
      env: cleanEnv(),
    });
    toolchainPath = path.join(toolchain, 'node_modules', '.bin');
    redis = await startRedis();
  }, 5 * 60_000);

  afterAll(async () => {
    for (const proc of running.reverse()) await proc.stop();
    await redis?.stop();
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  }, 60_000);

  it('the build context leaves out dependencies, build output, .git and local settings', () => {
    for (const absent of ['node_modules', '.git', 'apps/chat-server/dist', 'apps/web/.next', 'docker-compose.yml']) {
      expect(existsSync(path.join(context, absent)), absent).toBe(false);
    }
    expect(existsSync(path.join(context, 'package-lock.json'))).toBe(true);
    expect(existsSync(path.join(context, 'apps/chat-server/src/index.ts'))).toBe(true);
  });

  it('the Dockerfiles are multi-stage turbo prune builds on node:20-bookworm-slim, turbo pinned to the repo, running as node', () => {
    const turboVersion = (JSON.parse(readRepoFile('package.json')) as { devDependencies: Record<string, string> }).devDependencies.turbo;
    for (const file of readdirSync(path.join(repoRoot, 'infra/docker'))) {
      const { stages } = parseDockerfile(readRepoFile(`infra/docker/${file}`));
      const all = stages.flatMap((stage) => stage.instructions.map(({ op, args }) => `${op} ${args}`));
      expect(stages[0]!.from, file).toBe('node:20-bookworm-slim');
      expect(all, file).toContainEqual(`ARG TURBO_VERSION=${turboVersion}`);
      const index = (pattern: RegExp) => all.findIndex((line) => pattern.test(line));
      expect(index(/^RUN .*turbo@\$\{TURBO_VERSION\}" prune .* --docker$/), file).toBeGreaterThanOrEqual(0);
      // Dependencies from manifests + lockfile before the sources, so the npm ci layer caches.
      expect(index(/^COPY --from=pruner \S*out\/json\/? /), file).toBeGreaterThanOrEqual(0);
      expect(index(/^COPY --from=pruner \S*out\/json\/? /)).toBeLessThan(index(/^RUN .*npm ci$/));
      expect(index(/^RUN .*npm ci$/)).toBeLessThan(index(/^COPY --from=pruner \S*out\/full\/? /));
      expect(index(/^COPY --from=pruner \S*out\/full\/? /)).toBeLessThan(index(/^RUN npx turbo run build --filter=/));
      const runner = stages.at(-1)!;
      expect(runner.instructions.filter(({ op }) => op === 'USER').map(({ args }) => args), file).toEqual(['node']);
      expect(runner.instructions.some(({ op }) => op === 'RUN'), `${file}: nothing is installed in the final stage`).toBe(false);
    }
  });

  it(
    'chat server: prune, npm ci, build, production install; it starts with its compose environment and /healthz answers 200',
    async () => {
      const image = await imageFor('chat-1');
      // Production dependencies only: no vitest, no socket.io-client dev copy of the test tools.
      expect(existsSync(path.join(image.cwd, 'node_modules/vitest'))).toBe(false);
      expect(existsSync(path.join(image.cwd, 'apps/chat-server/dist/index.js'))).toBe(true);

      const port = await freePort();
      const chat = startContainer(image, config.services['chat-1']!, 'chat-1', {
        env: { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis!.url },
      });
      running.push(chat);
      await untilReady(chat, waitUntil('chat-1 /healthz', async () => (await httpGet(`http://127.0.0.1:${port}/healthz`)).status === 200));
      const health = await httpGet(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toEqual({ status: 'ok', instance: 'chat-1' });
      await chat.stop();
      expect(chat.child.exitCode).toBe(0); // SIGTERM: a clean shutdown
    },
    BUILD_TIMEOUT,
  );

  it(
    'gateway: prune, npm ci, build, production install; `-t` accepts the mounted infra/nginx.conf',
    async () => {
      const image = await imageFor('gateway');
      expect(existsSync(path.join(image.cwd, 'packages/gateway/dist/cli.js')), 'packages/gateway/dist/cli.js was built').toBe(true);
      const check = startContainer(image, config.services.gateway!, 'gateway -t', { args: ['-t'] });
      running.push(check);
      const [code] = (await once(check.child, 'exit')) as [number | null];
      expect(code, check.output()).toBe(0);
    },
    BUILD_TIMEOUT,
  );

  it(
    'web: prune, npm ci, next build (standalone); server.js serves the page with its static assets',
    async () => {
      const image = await imageFor('web');
      expect(existsSync(path.join(image.cwd, 'node_modules/vitest'))).toBe(false);
      const port = await freePort();
      const web = startContainer(image, config.services.web!, 'web', { env: { PORT: String(port), HOSTNAME: '127.0.0.1' } });
      running.push(web);
      const url = `http://127.0.0.1:${port}`;
      await untilReady(web, waitUntil('the standalone web server', async () => (await httpGet(url)).status === 200, 30_000));
      const page = await httpGet(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>');
      const asset = /\/_next\/static\/[^"']+\.(?:js|css)/.exec(page.body)?.[0];
      expect(asset, 'the page links a static asset').toBeDefined();
      expect((await httpGet(`${url}${asset}`)).status).toBe(200);
      await web.stop();
    },
    BUILD_TIMEOUT,
  );

  it(
    'together, like `docker compose up`: the gateway image in front of chat-1..3 and web serves the page and Socket.IO',
    async () => {
      const resolve: string[] = [];
      for (const name of chatServices(config)) {
        const port = await freePort();
        const chat = startContainer(await imageFor(name), config.services[name]!, name, {
          env: { PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redis!.url },
        });
        running.push(chat);
        await untilReady(chat, waitUntil(`${name} /healthz`, async () => (await httpGet(`http://127.0.0.1:${port}/healthz`)).status === 200));
        resolve.push('--resolve', `${name}:3000=127.0.0.1:${port}`);
      }
      const webPort = await freePort();
      const web = startContainer(await imageFor('web'), config.services.web!, 'web', { env: { PORT: String(webPort), HOSTNAME: '127.0.0.1' } });
      running.push(web);
      await untilReady(web, waitUntil('web', async () => (await httpGet(`http://127.0.0.1:${webPort}/`)).status === 200, 30_000));
      resolve.push('--resolve', `web:3000=127.0.0.1:${webPort}`);

      // Outside compose the names need --resolve and the port --listen; compose needs neither.
      const gatewayPort = await freePort();
      const gateway = startContainer(await imageFor('gateway'), config.services.gateway!, 'gateway', {
        args: [...resolve, '--listen', `127.0.0.1:${gatewayPort}`],
      });
      running.push(gateway);
      const url = `http://127.0.0.1:${gatewayPort}`;
      await untilReady(gateway, waitUntil('the gateway', async () => (await httpGet(`${url}/`)).status === 200));

      const page = await httpGet(`${url}/`);
      expect(page.body).toContain('<title>');
      const handshake = await httpGet(`${url}/socket.io/?EIO=4&transport=polling`);
      expect(handshake.status).toBe(200);
      expect(handshake.body).toMatch(/^0\{"sid":/);
      const client = await connectClient(url, 'docker', { extraHeaders: { origin: 'http://localhost:8080' } });
      try {
        expect(chatServices(config)).toContain(client.session.instance);
      } finally {
        client.socket.close();
      }
    },
    BUILD_TIMEOUT,
  );
});
