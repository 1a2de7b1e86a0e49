import type { ConnectionStatus } from '../lib/chatState';

const labels: Record<ConnectionStatus, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  refused: 'Refused',
  disconnected: 'Disconnected',
};

interface ConnectionBadgeProps {
  status: ConnectionStatus;
  /** Engine.IO transport, e.g. `websocket`. */
  transport: string | null;
  /** The chat server instance serving this connection, from the `session` event. */
  instance: string | null;
}

/** The connection state, and while connected the transport and instance, e.g. `websocket · chat-2`. */
export function ConnectionBadge({ status, transport, instance }: ConnectionBadgeProps) {
  const detail = status === 'connected' && transport && instance ? `${transport} · ${instance}` : null;
  return (
    <div className={`connection connection-${status}`} role="status" title={detail ? `${labels[status]}: ${detail}` : labels[status]}>
      <span className="connection-dot" aria-hidden="true" />
      <span className={detail ? 'connection-label connection-label-optional' : 'connection-label'}>{labels[status]}</span>
      {detail && (
        <span className="connection-detail" data-testid="connection-detail">
          {detail}
        </span>
      )}
    </div>
  );
}
