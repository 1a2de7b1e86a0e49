import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface BodyPump {
  /** Stops forwarding and removes every listener it added. */
  detach(): void;
}

/**
 * Streams the client's request body to the upstream socket with backpressure, re-encoding it
 * in chunks when it came chunked (Node has already decoded it). Calls `done` after the last
 * byte, `tooLarge` once more than `limit` bytes arrived.
 */
export function pumpRequestBody(
  src: IncomingMessage,
  dst: Socket,
  chunked: boolean,
  limit: number,
  on: { done(): void; tooLarge(): void },
): BodyPump {
  let received = 0;
  let waitingForDrain = false;

  const onDrain = () => {
    waitingForDrain = false;
    src.resume();
  };
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) {
      detach();
      on.tooLarge();
      return;
    }
    let ok: boolean;
    if (chunked) {
      dst.cork();
      dst.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      dst.write(chunk);
      ok = dst.write('\r\n', 'latin1');
      dst.uncork();
    } else {
      ok = dst.write(chunk);
    }
    if (!ok && !waitingForDrain) {
      waitingForDrain = true;
      src.pause();
      dst.once('drain', onDrain);
    }
  };
  let ended = false;
  const onEnd = () => {
    ended = true;
    if (chunked) dst.write('0\r\n\r\n', 'latin1');
    detach();
    on.done();
  };
  const detach = () => {
    src.off('data', onData);
    src.off('end', onEnd);
    dst.off('drain', onDrain);
    // Whatever the client still sends is discarded, so that its connection can move on.
    if (!ended) src.resume();
  };

  src.on('data', onData);
  src.on('end', onEnd);
  return { detach };
}

/** Reads a whole request body (for HTTP/1.0 upstreams, which need a Content-Length). */
export function readRequestBody(src: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('error', onError);
      src.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => onError(new Error('client closed the connection while sending the body'));
    src.on('data', onData);
    src.on('end', onEnd);
    src.on('error', onError);
    src.on('close', onClose);
  });
}
