import { useApi } from '@backstage/core-plugin-api';
import { ExecutionDetailsResponse } from '@runbooks/plugin-runbooks-common';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ExecutionStreamEvent, runbooksApiRef } from '../../api';
import { FINAL_STATUSES } from '../common/format';

/** The state of the live connection, as the page says it. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

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

  const load = useCallback(async () => {
    try {
      const next = await api.getExecution(id);
      setDetails(next);
      setError(undefined);
      return next;
    } catch (e) {
      setError(e as Error);
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
    (async () => {
      const first = await load();
      if (!first || FINAL_STATUSES.includes(first.execution.status)) {
        // not readable, or ended: nothing more will happen
        setEvents(first?.events ?? []);
        if (!stopped) setLive('ended');
        return;
      }
      setEvents(first.events);
      let after = first.events.at(-1)?.seq ?? 0;
      // failures in a row; an event resets it
      const connection = { failures: 0 };
      const onEvent = (event: ExecutionStreamEvent) => {
        connection.failures = 0;
        setLive('live');
        setEvents(list =>
          list.some(e => e.seq === event.seq) ? list : [...list, event],
        );
        scheduleReload();
      };
      const pause = (ms: number) =>
        new Promise(resolve => setTimeout(resolve, ms));
      while (!stopped) {
        try {
          setLive(connection.failures === 0 ? 'live' : 'reconnecting');
          after = await api.streamEvents(id, {
            after,
            signal: controller.signal,
            onEvent,
          });
          // the server ends the stream when the execution has ended; a proxy may end it sooner
          const now = await load();
          if (!now || FINAL_STATUSES.includes(now.execution.status)) break;
          await pause(BACKOFF_MS[0]);
        } catch (e) {
          if (stopped) return;
          connection.failures++;
          setLive('reconnecting');
          await pause(
            BACKOFF_MS[
              Math.min(connection.failures - 1, BACKOFF_MS.length - 1)
            ],
          );
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
