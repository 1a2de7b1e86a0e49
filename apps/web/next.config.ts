import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';
import { securityHeaders } from './lib/securityHeaders';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // A self-contained server in .next/standalone (apps/web/server.js plus the traced node_modules),
  // which infra/docker/web.Dockerfile ships. Tracing starts at the monorepo root so workspace
  // packages (@chat/protocol) and hoisted dependencies are included.
  output: 'standalone',
  outputFileTracingRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  // On every response; the Content-Security-Policy, which needs a nonce per page, is in proxy.ts.
  headers: async () => [{ source: '/:path*', headers: securityHeaders }],
};

export default nextConfig;
