import WebSocket from 'ws';

/** A bare `ws` client for wire-level tests: send frames, read the next text frame as JSON. */
export class RawClient {
  private readonly inbox: unknown[] = [];
  private waiters: Array<(message: unknown) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      const message = isBinary ? { binary: true } : JSON.parse(data.toString());
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.inbox.push(message);
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, options);
      const client = new RawClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.send(data);
  }

  next(timeoutMs = 5_000): Promise<any> {
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no message within timeout')), timeoutMs);
      this.waiters.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  async request(message: unknown): Promise<any> {
    this.send(JSON.stringify(message));
    return this.next();
  }

  close(): void {
    this.socket.terminate();
  }
}
