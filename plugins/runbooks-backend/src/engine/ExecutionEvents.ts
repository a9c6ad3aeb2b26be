import { EventEmitter } from 'node:events';
import { ExecutionStore } from './ExecutionStore';

/**
 * Appends events to the durable log and wakes local subscribers at once; subscribers on other
 * replicas find the events when they poll the log.
 */
export class ExecutionEvents {
  private readonly emitter = new EventEmitter();

  constructor(private readonly store: ExecutionStore) {
    this.emitter.setMaxListeners(0);
  }

  async append(
    executionId: string,
    type: string,
    payload: Record<string, unknown> = {},
  ): Promise<number> {
    const seq = await this.store.appendEvent(executionId, type, payload);
    this.emitter.emit(executionId, seq);
    return seq;
  }

  /** Wakes local subscribers for an event written by the store itself (with a status change). */
  notify(executionId: string, seq: number | false | undefined): void {
    if (seq) this.emitter.emit(executionId, seq);
  }

  /** Calls back with the sequence number of each event appended in this process. */
  subscribe(executionId: string, callback: (seq: number) => void): () => void {
    this.emitter.on(executionId, callback);
    return () => this.emitter.off(executionId, callback);
  }
}
