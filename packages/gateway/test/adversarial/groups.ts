import { readFileSync } from 'node:fs';
import path from 'node:path';
import { substituteAddresses } from '@chat/devstack';
import { packageDir } from '../differential/harness.js';
import { conf } from '../differential/scenario.js';

/**
 * The configurations the hostile requests are sent to. Each group gets one nginx and one
 * gateway process for all of its cases. Directives the gateway may not accept yet live in
 * their own group (`needs`), so a refusal of one group leaves the others running.
 */

export type GroupName = 'core' | 'infra' | 'client limits' | 'realip' | 'rate limits';

export interface CaseGroup {
  readonly name: GroupName;
  /** Config template: `{{LISTEN}}`, `{{UPSTREAM_n}}` (see the differential harness). */
  readonly config: string;
  readonly upstreams: number;
  /** Directives of this group that are newer than the core (named in a refusal). */
  readonly needs: readonly string[];
}

const pass = 'proxy_pass http://app;';

/** nginx's defaults everywhere; a seed-recipe WebSocket location that forwards any Upgrade. */
const core = conf(`
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    server_name test.example;
    location / { ${pass} proxy_http_version 1.1; proxy_set_header Host $host; proxy_set_header Connection ""; }
    location /ws/ {
      ${pass}
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
    }
  }
`);

/** infra/nginx.conf itself: chat-1..3 are upstreams 0..2, web is upstream 3; one worker. */
const infra = substituteAddresses(
  readFileSync(path.join(packageDir, '../../infra/nginx.conf'), 'utf8'),
  { 'chat-1:3000': '{{UPSTREAM_0}}', 'chat-2:3000': '{{UPSTREAM_1}}', 'chat-3:3000': '{{UPSTREAM_2}}', 'web:3000': '{{UPSTREAM_3}}' },
  '{{LISTEN}}',
).replace(/^worker_processes\s+\w+;/m, 'worker_processes 1;');

/** Client limits small enough to be hit cheaply. */
const clientLimits = conf(`
  client_header_timeout 1s;
  client_body_timeout 1s;
  client_max_body_size 1k;
  client_header_buffer_size 1k;
  large_client_header_buffers 2 1k;
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    location / { ${pass} }
  }
`);

/**
 * realip: the suite's client is 127.0.0.1, which only /trusted/ trusts. Every location sends
 * the address the gateway believes in, as infra/nginx.conf does.
 */
const forwarded = 'proxy_set_header X-Real-IP $remote_addr; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;';
const realip = conf(`
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    location /untrusted/ { set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; ${pass} ${forwarded} }
    location /untrusted-xri/ { set_real_ip_from 10.0.0.0/8; real_ip_header X-Real-IP; ${pass} ${forwarded} }
    location /trusted/ {
      set_real_ip_from 127.0.0.1;
      set_real_ip_from 10.0.0.0/8;
      real_ip_header X-Forwarded-For;
      real_ip_recursive on;
      ${pass} ${forwarded}
    }
    location / { ${pass} }
  }
`);

/** One zone per limited location, so that cases do not share budgets; 1r/m never refills in a run. */
const rateLimits = conf(`
  limit_req_zone $binary_remote_addr zone=burst:1m rate=1r/m;
  limit_req_zone $binary_remote_addr zone=strict:1m rate=1r/m;
  limit_conn_zone $binary_remote_addr zone=perip:1m;
  upstream app { server {{UPSTREAM_0}}; }
  server {
    listen {{LISTEN}};
    location /burst/ { limit_req zone=burst burst=2 nodelay; ${pass} }
    location /strict/ { limit_req zone=strict; limit_req_status 429; ${pass} }
    location /held/ { limit_conn perip 1; ${pass} proxy_read_timeout 5s; }
    location / { ${pass} }
  }
`);

export const caseGroups: readonly CaseGroup[] = [
  { name: 'core', config: core, upstreams: 1, needs: [] },
  { name: 'infra', config: infra, upstreams: 4, needs: [] },
  {
    name: 'client limits',
    config: clientLimits,
    upstreams: 1,
    needs: ['client_header_timeout', 'client_body_timeout', 'client_max_body_size', 'client_header_buffer_size', 'large_client_header_buffers'],
  },
  { name: 'realip', config: realip, upstreams: 1, needs: ['set_real_ip_from', 'real_ip_header', 'real_ip_recursive'] },
  { name: 'rate limits', config: rateLimits, upstreams: 1, needs: ['limit_req_zone', 'limit_req', 'limit_req_status', 'limit_conn_zone', 'limit_conn'] },
];
