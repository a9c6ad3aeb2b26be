import { useCallback, useEffect, useState } from 'react';

/**
 * A value loaded now and again every `intervalMs`, with the last error (cleared by the next
 * success) and a `reload` to call after a change.
 */
export function usePolled<T>(fetch: () => Promise<T>, intervalMs: number) {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<Error>();
  const reload = useCallback(
    () =>
      fetch().then(
        v => {
          setValue(v);
          setError(undefined);
        },
        e => setError(e),
      ),
    [fetch],
  );
  useEffect(() => {
    reload();
    const timer = setInterval(reload, intervalMs);
    return () => clearInterval(timer);
  }, [reload, intervalMs]);
  return { value, error, setError, reload };
}
