/**
 * The counters of nginx's stub_status module, for one gateway process (nginx keeps them in
 * shared memory for all its workers).
 */
export class Stats {
  accepted = 0;
  handled = 0;
  requests = 0;
  /** Open client connections. */
  active = 0;
  /** Requests being processed: from their arrival to the end of the response or tunnel. */
  writing = 0;

  /** ngx_http_stub_status_handler's exact text. */
  text(): string {
    const reading = 0;
    const waiting = Math.max(0, this.active - reading - this.writing);
    return (
      `Active connections: ${this.active} \n` +
      'server accepts handled requests\n' +
      ` ${this.accepted} ${this.handled} ${this.requests} \n` +
      `Reading: ${reading} Writing: ${this.writing} Waiting: ${waiting} \n`
    );
  }
}
