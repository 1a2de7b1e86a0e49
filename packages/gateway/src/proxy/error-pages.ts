/**
 * The responses the gateway makes up itself, shaped like nginx's: its reason phrases and its
 * small HTML bodies (with our name where nginx prints "nginx").
 */

const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Not Allowed',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Time-out',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

export function errorPageBody(status: number): string {
  const title = `${status} ${reasonPhrase(status)}`;
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
    `<center><h1>${title}</h1></center>\r\n<hr><center>chat-gateway</center>\r\n</body>\r\n</html>\r\n`
  );
}

let cachedSecond = -1;
let cachedDate = '';

/** The `Date` header value, formatted once per second like nginx's cached time. */
export function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

/** Headers of a made-up response, in nginx's order. */
export function errorPageHeaders(status: number, keepAlive: boolean, location?: string): string[] {
  const headers = [
    'Server', 'chat-gateway',
    'Date', httpDate(),
    'Content-Type', 'text/html',
    'Content-Length', String(Buffer.byteLength(errorPageBody(status))),
  ];
  if (location !== undefined) headers.push('Location', location);
  headers.push('Connection', keepAlive ? 'keep-alive' : 'close');
  return headers;
}

/** A complete made-up response for a raw socket (upgrade requests), closing the connection. */
export function rawErrorResponse(status: number, location?: string): string {
  return rawHead(status, reasonPhrase(status), errorPageHeaders(status, false, location)) + errorPageBody(status);
}

export function rawHead(status: number, reason: string, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
