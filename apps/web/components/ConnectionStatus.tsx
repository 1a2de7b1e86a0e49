import type { ConnectionStatus as Status } from '../lib/useChat';

const labels: Record<Status, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  refused: 'Refused',
  disconnected: 'Disconnected',
};

interface ConnectionStatusProps {
  status: Status;
  /** Engine.IO transport, e.g. `websocket`. */
  transport: string | null;
  /** The chat server instance serving this connection, from the `session` event. */
  instance: string | null;
  name: string;
  onReconnect(): void;
  onLeave(): void;
}

export function ConnectionStatus({ status, transport, instance, name, onReconnect, onLeave }: ConnectionStatusProps) {
  const detail = status === 'connected' && transport ? [transport, instance].filter(Boolean).join(' · ') : null;
  return (
    <div className="status-bar">
      <p className={`status status-${status}`} role="status">
        <span className="status-dot" aria-hidden="true" />
        <span>{labels[status]}</span>
        {detail && <span className="status-detail">{detail}</span>}
      </p>
      <p className="status-user">
        as <strong>{name}</strong>
      </p>
      <div className="status-actions">
        {status === 'disconnected' && (
          <button type="button" className="secondary" onClick={onReconnect}>
            Reconnect
          </button>
        )}
        <button type="button" className="secondary" onClick={onLeave}>
          Leave
        </button>
      </div>
    </div>
  );
}
