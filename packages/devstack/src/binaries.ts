import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Finds an executable on PATH; null when it is not there. */
export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** The binary named by `envVar`, else `name` from PATH; a clear error saying how to get it otherwise. */
export function requireBinary(name: string, envVar: string, installHint: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const found = findOnPath(name) ?? ['/usr/sbin', '/usr/local/sbin'].map((d) => path.join(d, name)).find(exists);
  if (!found) throw new Error(`${name} was not found on PATH (or in $${envVar}). ${installHint}`);
  return found;
}

function exists(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
