import { NextResponse, type NextRequest } from 'next/server';
import { contentSecurityPolicy } from './lib/securityHeaders';

/**
 * A Content-Security-Policy with a fresh nonce for every page. Next.js reads the nonce from the
 * request's policy while rendering and puts it on its scripts; the browser gets the same policy.
 * Pages are therefore rendered per request (see app/layout.tsx).
 */
export function proxy(request: NextRequest): NextResponse {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
  const policy = contentSecurityPolicy(nonce, { dev: process.env.NODE_ENV === 'development' });
  const headers = new Headers(request.headers);
  headers.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('Content-Security-Policy', policy);
  return response;
}

export const config = {
  // Everything but the build's static files (scripts and styles themselves, not documents).
  matcher: '/((?!_next/static|_next/image).*)',
};
