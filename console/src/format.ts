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

/** `text` in lines of about `width` characters, broken between words (chart.js draws an array label as lines). */
export function wrapWords(text: string, width = 18): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.length > 0 ? lines : [text];
}

/** A time of day, with its date unless it is today (an SLA due tomorrow must not read as past). */
export function timeOrDate(at: string | number, now = Date.now()): string {
  const when = new Date(at);
  const today = new Date(now).toDateString() === when.toDateString();
  return today ? when.toLocaleTimeString() : when.toLocaleString();
}
