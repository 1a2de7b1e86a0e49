import { Chat } from '../components/Chat';

export default function Home() {
  return (
    <div className="app">
      <header className="app-header">
        <h1>Chat</h1>
      </header>
      <Chat />
    </div>
  );
}
