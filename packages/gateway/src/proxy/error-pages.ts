/**
 * The responses the gateway makes up itself, shaped like nginx's: its reason phrases and its
 * small HTML bodies (with our name where nginx prints "nginx").
 */

// ngx_http_status_lines.
const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Moved Temporarily', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 406: 'Not Acceptable', 408: 'Request Time-out', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Large', 415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out', 505: 'HTTP Version Not Supported', 507: 'Insufficient Storage',
};

/** The reason phrase nginx sends; nginx sends none for a status it does not know. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}

/** nginx has an HTML page for these statuses (ngx_http_error_pages); others get no body. */
export function hasErrorPage(status: number): boolean {
  return (status >= 301 && status <= 308 && status !== 304 && status !== 305 && status !== 306) || (status >= 400 && REASONS[status] !== undefined);
}

/** Where nginx's page (ngx_http_error_302_page) titles a status unlike its status line. */
const PAGE_TITLES: Record<number, string> = { 302: 'Found' };

// ngx_http_error_494_page: nginx's own code for a head past its buffers, sent as a 400.
const PAGE_494 =
  '<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n' +
  '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n' +
  '<hr><center>chat-gateway</center>\r\n</body>\r\n</html>\r\n';

export function errorPageBody(status: number): string {
  if (status === 494) return PAGE_494;
  if (!hasErrorPage(status)) return '';
  const title = `${status} ${PAGE_TITLES[status] ?? reasonPhrase(status)}`;
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

/** Headers of a `return CODE TEXT` response (default_type text/plain). */
export function textHeaders(body: string, keepAlive: boolean, status = 200): string[] {
  // nginx sends a 204 without Content-Type and Content-Length.
  if (status === 204) return ['Server', 'chat-gateway', 'Date', httpDate(), 'Connection', keepAlive ? 'keep-alive' : 'close'];
  return [
    'Server', 'chat-gateway',
    'Date', httpDate(),
    'Content-Type', 'text/plain',
    'Content-Length', String(Buffer.byteLength(body, 'latin1')),
    'Connection', keepAlive ? 'keep-alive' : 'close',
  ];
}

/** A complete made-up response for a raw socket (upgrade requests), closing the connection. */
export function rawErrorResponse(status: number, location?: string, body?: string): string {
  if (body !== undefined) return rawHead(status, reasonPhrase(status), textHeaders(body, false, status)) + (status === 204 ? '' : body);
  return rawHead(status, reasonPhrase(status), errorPageHeaders(status, false, location)) + errorPageBody(status);
}

export function rawHead(status: number, reason: string, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
