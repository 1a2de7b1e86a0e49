/**
 * A random id for `userId` and `clientId` (the protocol's `clientIdSchema`: 8-64 URL-safe
 * characters). `crypto.randomUUID` only exists in secure contexts (https, localhost), so a page
 * served over plain http on a LAN address falls back to `getRandomValues`, which is always there.
 */
export function randomId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
