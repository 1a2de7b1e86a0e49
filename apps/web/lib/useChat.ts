import { useEffect, useState, useSyncExternalStore } from 'react';
import { ChatClient } from './chatClient';
import { initialState, type ChatState } from './chatState';

const serverSnapshot = (): ChatState => initialState;

export interface UseChat {
  state: ChatState;
  client: ChatClient;
  /**
   * The remembered name has been looked up (after hydration). Before that the page cannot know
   * whether to ask for a name, so the server-rendered name form stays hidden.
   */
  ready: boolean;
}

/**
 * The chat state for React, and the client to act on it. The client is created once per page;
 * it connects after hydration (the server render shows the name form), using the remembered name.
 */
export function useChat(): UseChat {
  const [client] = useState(() => new ChatClient());
  const [ready, setReady] = useState(false);
  const state = useSyncExternalStore(client.subscribe, client.getState, serverSnapshot);
  useEffect(() => {
    client.start();
    setReady(true);
    return () => client.stop();
  }, [client]);
  return { state, client, ready };
}
