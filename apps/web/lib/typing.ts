/** While typing, `typing: true` is repeated this often: well within the server's 5 s expiry. */
export const TYPING_REFRESH_MS = 2_500;

/**
 * Decides when to tell the server the user is typing: `true` at the first keystroke and then at
 * most every TYPING_REFRESH_MS, `false` once, when the text is cleared or sent, the field loses
 * focus, or the user switches rooms.
 */
export class TypingNotifier {
  private active: { room: string; sentAt: number } | null = null;

  constructor(
    private readonly emit: (room: string, typing: boolean) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The composer's text changed. */
  input(room: string, text: string): void {
    if (text.trim() === '') {
      this.stop();
      return;
    }
    if (this.active && this.active.room !== room) this.stop();
    if (this.active && this.now() - this.active.sentAt < TYPING_REFRESH_MS) return;
    this.active = { room, sentAt: this.now() };
    this.emit(room, true);
  }

  /** Sent, cleared, blurred, or switched rooms: turn the indicator off if it is on. */
  stop(): void {
    if (!this.active) return;
    const { room } = this.active;
    this.active = null;
    this.emit(room, false);
  }

  /** The connection dropped: the server has already turned the indicator off. */
  reset(): void {
    this.active = null;
  }
}
