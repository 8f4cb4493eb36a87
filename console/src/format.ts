export const pct = (x: number | null | undefined, digits = 0) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)} %`);

export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const text = h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
  return ms < 0 ? `−${text}` : text;
}

export const actionLabel: Record<string, string> = { AUTO_ROUTE: 'Auto-route', HUMAN_REVIEW: 'Review', ESCALATE: 'Escalate' };
