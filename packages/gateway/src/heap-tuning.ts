// V8 settings for a long-running proxy process, applied by the CLI before it loads anything else.
import { setFlagsFromString } from 'node:v8';

// Once most objects from an allocation site outlive a young-generation GC, V8 allocates that site's
// objects in the old generation from then on. WebSocket handshakes (long-lived) and plain requests
// (microseconds) share sites, so after a burst of WebSockets every request became work for the full
// collector: HTTP fell from 31,700 to 26,700 req/s (bench/README.md, "Where the gateway's time goes").
setFlagsFromString('--no-allocation-site-pretenuring');
