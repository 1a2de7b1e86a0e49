// Idle connections: open many WebSockets, hold them while the runner reads the proxy's memory, then
// prove every one is still alive with one echo each.
import { command, event, runGenerator } from './harness.js';
import { openMany, textFrame, type WsTarget } from './raw-ws.js';

export interface IdleParams {
  target: WsTarget;
  connections: number;
}

export interface IdleResult {
  opened: number;
  failedToOpen: number;
  firstError: string | null;
  /** Closed while held, before the runner asked to verify. */
  droppedWhileHeld: number;
  /** Open but with no echo within the verification timeout. */
  silent: number;
}

runGenerator<IdleParams>(async ({ target, connections }) => {
  const { sockets, failed, firstError } = await openMany(target, connections, 200, 120_000);
  let dropped = 0;
  for (const ws of sockets) ws.onClose = () => dropped++;
  event('opened', { opened: sockets.length, failed });

  await command('verify');
  const droppedWhileHeld = dropped;
  const ping = textFrame('still-there?');
  let answered = 0;
  await new Promise<void>((resolve) => {
    const alive = sockets.filter((ws) => !ws.closed);
    if (alive.length === 0) return resolve();
    const timer = setTimeout(resolve, 15_000);
    for (const ws of alive) {
      ws.onMessage = () => {
        ws.onMessage = () => undefined;
        if (++answered === alive.length) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.send(ping);
    }
  });
  const silent = sockets.length - droppedWhileHeld - answered;
  for (const ws of sockets) ws.destroy();
  return { opened: sockets.length, failedToOpen: failed, firstError, droppedWhileHeld, silent } satisfies IdleResult;
});
