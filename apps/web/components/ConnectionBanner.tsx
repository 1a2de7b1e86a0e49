import type { ConnectionStatus } from '../lib/chatState';

interface ConnectionBannerProps {
  status: ConnectionStatus;
  error: string | null;
  onReconnect(): void;
}

/** Says so while the connection is down: reconnecting by itself, or closed by the server. */
export function ConnectionBanner({ status, error, onReconnect }: ConnectionBannerProps) {
  if (status === 'reconnecting') {
    return (
      <div className="banner banner-warn" role="status" data-testid="reconnecting-banner">
        <span className="spinner" aria-hidden="true" />
        <p>
          <strong>Reconnecting…</strong> {error ? `${error}. ` : ''}Messages you send now go out once the connection is back.
        </p>
      </div>
    );
  }
  if (status === 'disconnected') {
    return (
      <div className="banner banner-error" role="alert">
        <p>
          <strong>Disconnected.</strong> {error}
        </p>
        <button type="button" className="secondary" onClick={onReconnect}>
          Reconnect
        </button>
      </div>
    );
  }
  return null;
}
