import type { Metadata, Viewport } from 'next';
import { connection } from 'next/server';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'Chat',
  description: 'A real-time chat served by several Socket.IO instances sharing rooms through Redis.',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: '#2563eb',
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Rendered per request, never prerendered: Next.js can only put the Content-Security-Policy's
  // nonce (a fresh one per response, see proxy.ts) on the scripts of a page it renders now.
  await connection();
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
