// V8 settings for a long-running proxy process, applied by the CLI before it loads anything else.
import { setFlagsFromString } from 'node:v8';

// Allocation-site pretenuring: once most objects from one allocation site outlive a young-generation
// GC, V8 allocates that site's objects straight into the old generation, and in our runs it never
// went back. A proxy's WebSockets live for minutes and its requests for microseconds, on shared
// code paths (a handshake is parsed and set up like any request), so a burst of WebSocket traffic
// left sites pretenured and every later request garbage for the full collector: HTTP keepalive fell
// from 31,700 to 26,700 req/s, scavenges took 4x as long and full GCs ran 3.6x as often
// (bench/README.md, "Where the gateway's time goes"). With the flag, HTTP stays at its fresh-process
// rate and WebSocket echo and handshakes are unchanged.
setFlagsFromString('--no-allocation-site-pretenuring');
