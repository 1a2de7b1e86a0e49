// Loaded into the soak's gateway process (`node --expose-gc ... --import probe.mjs dist/cli.js`):
// on SIGUSR2 it collects garbage and prints one line with the heap and the live handles, so the
// harness can weigh the real CLI without a debug endpoint in the product.
process.on('SIGUSR2', () => {
  // Two full collections: the first may only queue finalizers that free more on the second.
  globalThis.gc();
  globalThis.gc();
  const handles = process._getActiveHandles();
  // Listeners on every live handle (servers, sockets, pipes) and on `process`: a path that
  // adds a listener to a long-lived object without removing it shows up here.
  const listenersOf = (emitter) => emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0);
  const listeners = handles.reduce((sum, h) => sum + (typeof h.eventNames === 'function' ? listenersOf(h) : 0), listenersOf(process));
  const { heapUsed, rss } = process.memoryUsage();
  process.stderr.write(`soak-probe ${JSON.stringify({ heapUsed, rss, handles: handles.length, listeners })}\n`);
});
