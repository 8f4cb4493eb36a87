/**
 * Settles as `work` does, or rejects with `onTimeout()` once `ms` passed, whichever comes first. The
 * timer never outlives the race, and a late rejection of `work` is handled (nobody waits for it).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
