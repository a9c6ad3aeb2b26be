import { useApi } from '@backstage/core-plugin-api';
import { ExecutionDetailsResponse } from '@runbooks/plugin-runbooks-common';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ExecutionStreamEvent, runbooksApiRef } from '../../api';
import { FINAL_STATUSES } from '../common/format';
import { ResponseError } from '@backstage/errors';

/** The state of the live connection, as the page says it. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

/** A refusal that retrying cannot change: 4xx other than a timeout or too many requests. */
function permanent(error: unknown): boolean {
  if (!ResponseError.is(error)) return false;
  const status = error.statusCode;
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * An execution's details, kept current by its server-sent event stream: every event reloads the
 * details (at most every 200 ms); a dropped stream reconnects with backoff and resumes after the
 * last event it saw (Last-Event-ID), so nothing is missed and nothing repeats.
 */
export function useLiveExecution(id: string) {
  const api = useApi(runbooksApiRef);
  const [details, setDetails] = useState<ExecutionDetailsResponse>();
  const [events, setEvents] = useState<ExecutionStreamEvent[]>([]);
  const [error, setError] = useState<Error>();
  const [live, setLive] = useState<LiveState>('connecting');
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>();

  const lastError = useRef<unknown>();
  const load = useCallback(async () => {
    try {
      const next = await api.getExecution(id);
      setDetails(next);
      setError(undefined);
      lastError.current = undefined;
      return next;
    } catch (e) {
      setError(e as Error);
      lastError.current = e;
      return undefined;
    }
  }, [api, id]);

  useEffect(() => {
    const controller = new AbortController();
    let stopped = false;
    const scheduleReload = () => {
      if (reloadTimer.current) return;
      reloadTimer.current = setTimeout(() => {
        reloadTimer.current = undefined;
        if (!stopped) load();
      }, 200);
    };
    const pause = (ms: number) =>
      new Promise(resolve => setTimeout(resolve, ms));
    // failures in a row; a successful load or an event resets it
    const connection = { failures: 0 };
    const backoff = () =>
      pause(
        BACKOFF_MS[Math.min(connection.failures - 1, BACKOFF_MS.length - 1)],
      );
    (async () => {
      // the first load is retried while the backend is away (a restart, a proxy's 502)
      let first = await load();
      while (!first && !stopped) {
        const e = lastError.current;
        if (permanent(e)) break;
        connection.failures++;
        setLive('reconnecting');
        await backoff();
        first = await load();
      }
      if (stopped) return;
      if (!first || FINAL_STATUSES.includes(first.execution.status)) {
        // not readable, or ended: nothing more will happen
        setEvents(first?.events ?? []);
        setLive('ended');
        return;
      }
      connection.failures = 0;
      setEvents(first.events);
      // the newest event seen: a reconnect resumes after it, so nothing repeats
      let after = first.events.at(-1)?.seq ?? 0;
      const onEvent = (event: ExecutionStreamEvent) => {
        connection.failures = 0;
        after = Math.max(after, event.seq);
        setLive('live');
        setEvents(list =>
          list.some(e => e.seq === event.seq) ? list : [...list, event],
        );
        scheduleReload();
      };
      const onOpen = () => setLive('live');
      while (!stopped) {
        try {
          setLive(connection.failures === 0 ? 'connecting' : 'reconnecting');
          await api.streamEvents(id, {
            after,
            signal: controller.signal,
            onEvent,
            onOpen,
          });
          // the server ends the stream when the execution has ended; a proxy may end it sooner
          const now = await load();
          if (now && FINAL_STATUSES.includes(now.execution.status)) break;
          await pause(BACKOFF_MS[0]);
        } catch (e) {
          if (stopped) return;
          if (permanent(e)) {
            // no longer readable or gone: retrying cannot help
            setError(e as Error);
            break;
          }
          connection.failures++;
          setLive('reconnecting');
          await backoff();
        }
      }
      if (!stopped) setLive('ended');
    })();
    return () => {
      stopped = true;
      controller.abort();
      if (reloadTimer.current) clearTimeout(reloadTimer.current);
      reloadTimer.current = undefined;
    };
  }, [api, id, load]);

  return { details, events, error, live, reload: load, setError };
}
