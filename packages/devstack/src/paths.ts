import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The monorepo root (this file lives in packages/devstack/{src,dist}/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const paths = {
  nginxConf: path.join(repoRoot, 'infra/nginx.conf'),
  chatServer: path.join(repoRoot, 'apps/chat-server/dist/index.js'),
  gatewayCli: path.join(repoRoot, 'packages/gateway/dist/cli.js'),
  webApp: path.join(repoRoot, 'apps/web'),
  nextBin: path.join(repoRoot, 'node_modules/next/dist/bin/next'),
};
