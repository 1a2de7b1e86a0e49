/**
 * The security headers of the web app (see README.md, "Security headers", for why each is there).
 * `securityHeaders` go on every response (next.config.ts); the Content-Security-Policy goes on
 * every page, with a fresh nonce per request (proxy.ts).
 */

export interface Header {
  key: string;
  value: string;
}

export const securityHeaders: Header[] = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
  // For browsers without CSP frame-ancestors.
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
];

/**
 * The policy for one page load. Scripts run only with this response's nonce (Next.js puts it on
 * its own scripts) or when loaded by such a script ('strict-dynamic'); everything else comes from
 * this origin. `dev` adds what `next dev` needs: eval for React's debugging, inline styles for
 * its overlay.
 */
export function contentSecurityPolicy(nonce: string, { dev = false } = {}): string {
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(dev ? ["'unsafe-eval'"] : [])],
    'style-src': ["'self'", dev ? "'unsafe-inline'" : `'nonce-${nonce}'`],
    'img-src': ["'self'"],
    'font-src': ["'self'"],
    // Socket.IO at this origin: long-polling requests and the WebSocket (CSP3 'self' covers
    // same-origin ws:/wss:).
    'connect-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}
