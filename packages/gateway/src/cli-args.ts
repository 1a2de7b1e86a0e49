import { parseAddress } from './config/addresses.js';
import { parseListenOverride } from './gateway.js';

/** The command line of `chat-gateway`, parsed and validated, or the reason it is not valid. */
export interface CliOptions {
  readonly configFile: string;
  readonly test: boolean;
  readonly help: boolean;
  /** `name:port` -> `host:port`, from every --resolve. */
  readonly resolve: ReadonlyMap<string, string>;
  readonly listen: string | undefined;
}

export type CliParse = { ok: true; options: CliOptions } | { ok: false; error: string };

export const USAGE = `Usage: chat-gateway [-t] [-c FILE] [--resolve NAME:PORT=HOST:PORT]... [--listen [ADDR:]PORT]

Reads an nginx configuration file and proxies HTTP and WebSocket traffic like nginx.

Options:
  -c FILE                          configuration file (default: nginx.conf in the current directory)
  -t                               test the configuration and exit
  --resolve NAME:PORT=HOST:PORT    connect to HOST:PORT wherever the configuration says NAME:PORT
                                   (repeatable; e.g. --resolve chat-1:3000=127.0.0.1:41234)
  --listen [ADDR:]PORT             listen there instead of the configuration's listen addresses
  -h, --help                       show this help
`;

export function parseCliArgs(argv: readonly string[]): CliParse {
  let configFile = 'nginx.conf';
  let test = false;
  let help = false;
  let listen: string | undefined;
  const resolve = new Map<string, string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string | null => {
      const next = argv[i + 1];
      if (next === undefined || next === '') return null;
      i++;
      return next;
    };
    switch (arg) {
      case '-h':
      case '--help':
        help = true;
        break;
      case '-t':
        test = true;
        break;
      case '-c': {
        const file = value();
        if (file === null) return { ok: false, error: 'option "-c" requires a file name' };
        configFile = file;
        break;
      }
      case '--listen': {
        const text = value();
        if (text === null) return { ok: false, error: 'option "--listen" requires [ADDR:]PORT' };
        try {
          parseListenOverride(text);
        } catch (err) {
          return { ok: false, error: `invalid --listen value: ${(err as Error).message}` };
        }
        listen = text;
        break;
      }
      case '--resolve': {
        const text = value();
        if (text === null) return { ok: false, error: 'option "--resolve" requires NAME:PORT=HOST:PORT' };
        const mapping = parseResolve(text);
        if (typeof mapping === 'string') return { ok: false, error: `invalid --resolve value "${text}": ${mapping}` };
        resolve.set(mapping[0], mapping[1]);
        break;
      }
      default:
        return { ok: false, error: `invalid option: "${arg}"` };
    }
  }
  return { ok: true, options: { configFile, test, help, resolve, listen } };
}

/** `NAME:PORT=HOST:PORT` -> [`NAME:PORT`, `HOST:PORT`], or the reason it is malformed. */
function parseResolve(text: string): [string, string] | string {
  const eq = text.indexOf('=');
  if (eq < 0) return 'expected NAME:PORT=HOST:PORT';
  const sides = { 'NAME:PORT': text.slice(0, eq), 'HOST:PORT': text.slice(eq + 1) };
  const keys: string[] = [];
  for (const [side, part] of Object.entries(sides)) {
    const parsed = parseAddress(part, { defaultPort: 0 });
    if (!parsed.ok) return `${parsed.err} in ${side} "${part}"`;
    if (parsed.value.portText === '') return `no port in ${side} "${part}"`;
    keys.push(`${parsed.value.host}:${parsed.value.port}`);
  }
  return [keys[0] as string, keys[1] as string];
}
