// The bench backend behind `upstream web`: a minimal `ws` echo server, plus a small fixed body for
// plain GETs. Deliberately trivial, so the front door is what the numbers measure.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: echo-server PORT');
  process.exit(2);
}

const body = Buffer.from('hello from the bench backend\n');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
// Keep upstream keepalive connections open longer than any measurement.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
