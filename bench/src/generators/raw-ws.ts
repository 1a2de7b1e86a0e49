// A minimal WebSocket client on `net`: the generators need tens of thousands of cheap connections
// and as little CPU per message as possible, so that the front door, not the generator, is measured.
// Client frames use an all-zero mask key (valid per RFC 6455; the server still unmasks), which lets
// payloads be copied as they are.
import net from 'node:net';

export interface WsTarget {
  port: number;
  path: string;
}

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const header = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  out.writeUInt32BE(0, header);
  payload.copy(out, header + 4);
  return out;
}

export function textFrame(text: string): Buffer {
  return frame(OP_TEXT, Buffer.from(text));
}

const closeFrame = frame(OP_CLOSE, Buffer.from([0x03, 0xe8])); // 1000, normal closure

export class RawWs {
  /** Called with each text or binary message's payload. */
  onMessage: (payload: Buffer) => void = () => undefined;
  /** Called once when the TCP connection ends, for whatever reason. */
  onClose: () => void = () => undefined;
  closed = false;
  private pending: Buffer | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('close', () => {
      this.closed = true;
      this.onClose();
    });
  }

  /** Opens the TCP connection and completes the upgrade; resolves once `101` has arrived. */
  static connect(target: WsTarget, timeoutMs = 10_000): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: target.port, host: '127.0.0.1', noDelay: true });
      let head = '';
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(() => fail(new Error(`no 101 within ${timeoutMs} ms`)), timeoutMs);
      socket.once('error', fail);
      socket.once('close', () => fail(new Error('closed during the handshake')));
      socket.on('connect', () => {
        socket.write(
          `GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      const onHead = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${head.slice(0, head.indexOf('\r\n'))}`));
        clearTimeout(timer);
        socket.off('data', onHead);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        socket.on('error', () => undefined); // 'close' follows and is what callers watch
        const ws = new RawWs(socket);
        socket.on('data', (data: Buffer) => ws.receive(data));
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        resolve(ws);
        if (rest.length) ws.receive(rest);
      };
      socket.on('data', onHead);
    });
  }

  send(framed: Buffer): void {
    if (!this.closed) this.socket.write(framed);
  }

  /** The closing handshake; resolves when the connection is gone (forced after `timeoutMs`). */
  close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.write(closeFrame);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    while (buf.length >= 2) {
      let len = buf[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (buf[1]! & 0x80) offset += 4; // servers don't mask, but tolerate it
      if (buf.length < offset + len) break;
      const opcode = buf[0]! & 0x0f;
      const payload = buf.subarray(offset, offset + len);
      buf = buf.subarray(offset + len);
      if (opcode === OP_PING) this.send(frame(OP_PONG, Buffer.from(payload)));
      else if (opcode === OP_CLOSE) this.socket.end();
      else if (opcode !== OP_PONG) this.onMessage(payload);
    }
    if (buf.length) this.pending = Buffer.from(buf);
  }
}

/** Opens `count` connections, at most `concurrency` handshakes at a time; failures are counted, not thrown. */
export async function openMany(
  target: WsTarget,
  count: number,
  concurrency: number,
  deadlineMs: number,
): Promise<{ sockets: RawWs[]; failed: number; firstError: string | null }> {
  const sockets: RawWs[] = [];
  let failed = 0;
  let next = 0;
  let firstError: string | null = null;
  const deadline = performance.now() + deadlineMs;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      next++;
      try {
        sockets.push(await RawWs.connect(target));
      } catch (error) {
        failed++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  failed += count - next; // not even attempted before the deadline
  return { sockets, failed, firstError };
}
