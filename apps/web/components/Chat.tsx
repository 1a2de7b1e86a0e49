'use client';

import { useChat } from '../lib/useChat';
import { Composer } from './Composer';
import { ConnectionStatus } from './ConnectionStatus';
import { MessageList } from './MessageList';
import { NameForm } from './NameForm';

/** Wires the chat state to the presentational components. */
export function Chat() {
  const { state, name, connect, leave, send } = useChat();

  if (!name || state.status === 'refused') {
    return (
      <main className="chat chat-signin">
        <NameForm
          onSubmit={connect}
          initialName={name ?? ''}
          serverError={state.status === 'refused' ? state.error : null}
        />
      </main>
    );
  }

  return (
    <main className="chat">
      <ConnectionStatus
        status={state.status}
        transport={state.transport}
        instance={state.session?.instance ?? null}
        name={name}
        onReconnect={() => connect(name)}
        onLeave={leave}
      />
      {state.error && (
        <p className="error banner" role="alert">
          {state.error}
        </p>
      )}
      <MessageList
        messages={state.messages}
        room={state.room}
        joined={state.joined}
        selfId={state.session?.user.id ?? null}
      />
      <Composer onSend={send} disabled={state.status !== 'connected' || !state.joined} />
    </main>
  );
}
