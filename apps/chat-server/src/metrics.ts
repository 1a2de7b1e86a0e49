import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one instance, served at GET /metrics (internal port only). */
export function createMetrics(instance: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    connections: new Gauge({ name: 'chat_connections', help: 'Open Socket.IO connections', registers: [registry] }),
    refused: new Counter({
      name: 'chat_connections_refused_total',
      help: 'Handshakes refused, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    messages: new Counter({ name: 'chat_messages_stored_total', help: 'Messages stored in history', registers: [registry] }),
    acks: new Counter({
      name: 'chat_acks_total',
      help: 'Acks sent, by event and outcome (ok or an error code)',
      labelNames: ['event', 'outcome'] as const,
      registers: [registry],
    }),
    engineErrors: new Counter({
      name: 'chat_engine_errors_total',
      help: 'Engine.IO requests refused (HTTP 400/403), by reason, e.g. "Session ID unknown" when a front door is not sticky',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    unknownEvents: new Counter({ name: 'chat_unknown_events_total', help: 'Client events with no handler (ignored)', registers: [registry] }),
    oversize: new Counter({
      name: 'chat_oversize_disconnects_total',
      help: 'Connections dropped for a packet over MAX_HTTP_BUFFER_SIZE, by transport (websocket: close 1009; polling: HTTP 413)',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
