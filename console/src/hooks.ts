import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `fetcher()` now and every `everyMs` (live refresh); keeps the last good data on an error. */
export function usePolling<T>(fetcher: () => Promise<T>, everyMs: number | null, deps: unknown[] = []): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    let timer: number | undefined;
    const load = async () => {
      try {
        const value = await fetcher();
        if (!alive.current) return;
        setData(value);
        setError(null);
      } catch (err) {
        if (!alive.current) return;
        setError(err instanceof ApiError ? err : new ApiError(0, String(err)));
      } finally {
        if (alive.current) setLoading(false);
      }
      if (alive.current && everyMs !== null) timer = window.setTimeout(() => void load(), everyMs);
    };
    void load();
    return () => {
      alive.current = false;
      window.clearTimeout(timer);
    };
  }, [tick, ...deps]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

/** The current time, re-rendered every second (countdowns). */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

/**
 * Single-key shortcuts, ignored while typing in a form field. The listener is attached before the
 * first paint and always calls the latest render's handlers: a key pressed as soon as the page (or
 * a choice just made) is visible never runs a handler from an older render.
 */
export function useShortcuts(map: Record<string, () => void>): void {
  const latest = useRef(map);
  latest.current = map;
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA')) return;
      const action = latest.current[e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}

/** The location hash as a route: #/agent, #/ticket/<id>, #/lead. */
export function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/agent');
  useEffect(() => {
    const onHash = () => setRoute(location.hash.slice(1) || '/agent');
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

export const navigate = (route: string) => {
  location.hash = route;
};
