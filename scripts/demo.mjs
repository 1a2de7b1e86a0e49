// `npm run demo`: the whole topology on this machine, no Docker needed.
// Redis (REDIS_URL, or a private redis-server), chat-1..3, the web app, and the gateway on :8080
// reading infra/nginx.conf with --resolve mappings. Ctrl-C stops everything.
import { parseArgs } from 'node:util';
import { startStack } from '@chat/devstack';

const usage = 'usage: npm run demo [-- --port 8080] [-- --front-door gateway|nginx]';
let flags;
try {
  ({ values: flags } = parseArgs({
    options: { port: { type: 'string', default: '8080' }, 'front-door': { type: 'string', default: 'gateway' }, help: { type: 'boolean' } },
  }));
} catch (error) {
  fail(`${error.message}\n${usage}`);
}
if (flags.help) {
  console.log(usage);
  process.exit(0);
}
const port = Number(flags.port);
if (!/^\d+$/.test(flags.port) || port < 1 || port > 65535) fail(`--port must be an integer from 1 to 65535 (got "${flags.port}")\n${usage}`);
const frontDoor = flags['front-door'];
if (frontDoor !== 'gateway' && frontDoor !== 'nginx') fail(`--front-door must be gateway or nginx (got "${frontDoor}")\n${usage}`);

console.log(`Starting Redis, chat-1..3, web and the ${frontDoor}...`);
let stack;
try {
  stack = await startStack({
    frontDoor,
    web: true,
    port,
    redisUrl: process.env.REDIS_URL || undefined,
    echo: (line) => console.log(line),
  });
} catch (error) {
  fail(`${error.message}\n\nNo Redis server? Install redis-server, set REDIS_URL, or run the containerised demo: docker compose up --build`);
}

const rows = [
  ['redis', stack.redisUrl, stack.redis?.child.pid ?? 'external'],
  ...stack.chatServers.map((s) => [s.instance, s.url, s.child.pid]),
  ['web', stack.web.url, stack.web.child.pid],
  [frontDoor, stack.url, stack.frontDoor.child.pid],
];
console.log('\n' + rows.map(([name, url, pid]) => `  ${name.padEnd(8)} ${String(url).padEnd(28)} pid ${pid}`).join('\n'));
console.log(`\nChat demo ready: open http://localhost:${port}  (Ctrl-C to stop)\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    await stack.stop();
    process.exit(0);
  });
}

function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}
