import type { ServerWritableStream } from '@grpc/grpc-js';
import type { RpcError } from './errors.ts';

/**
 * The sending side of a server-streaming or bidi call, with back-pressure and a single place that
 * knows whether the call is still open. Errors go out with `emit('error')`: destroying the call
 * would leave the client without a status.
 */
export class CallWriter<T> {
  private readonly call: ServerWritableStream<unknown, T>;
  private closedFlag = false;
  private readonly closeListeners = new Set<() => void>();
  /** One wait for 'drain' shared by every writer held back (one listener, however many wait). */
  private drained: Promise<void> | undefined;

  constructor(call: ServerWritableStream<unknown, T>) {
    this.call = call;
    call.on('cancelled', () => this.markClosed());
    call.on('error', () => this.markClosed());
    call.on('close', () => this.markClosed());
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Writes a message; resolves when the transport wants more, or undefined when it already does. */
  send(message: T): Promise<void> | undefined {
    if (this.closedFlag) return undefined;
    if (this.call.write(message)) return undefined;
    this.drained ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.call.removeListener('drain', done);
        stopWatching();
        this.drained = undefined;
        resolve();
      };
      this.call.once('drain', done);
      const stopWatching = this.onClose(done);
    });
    return this.drained;
  }

  /** Ends the call with OK. */
  end(): void {
    if (this.closedFlag) return;
    this.markClosed();
    this.call.end();
  }

  /** Ends the call with an error status and trailers. */
  fail(error: RpcError): void {
    if (this.closedFlag) return;
    this.markClosed();
    this.call.emit('error', error);
  }

  /**
   * Runs `listener` once when the call closes for any reason (immediately if already closed).
   * Returns a function that forgets the listener.
   */
  onClose(listener: () => void): () => void {
    if (this.closedFlag) {
      listener();
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener();
  }
}
