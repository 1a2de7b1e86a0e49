import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // A self-contained server in .next/standalone (apps/web/server.js plus the traced node_modules),
  // which infra/docker/web.Dockerfile ships. Tracing starts at the monorepo root so workspace
  // packages (@chat/protocol) and hoisted dependencies are included.
  output: 'standalone',
  outputFileTracingRoot: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
};

export default nextConfig;
