import { useState } from 'preact/hooks';
import { ApiError, type Ticket, endpoints } from './api';
import { navigate, useNow, usePolling, useShortcuts } from './hooks';
import { actionLabel, duration, pct } from './format';

export function SlaCountdown({ ticket, now }: { ticket: Ticket; now: number }) {
  if (!ticket.sla) return <span class="muted">—</span>;
  const left = Date.parse(ticket.sla.due_at) - now;
  const state = left < 0 ? 'breached' : ticket.sla.state;
  return (
    <span class={`sla sla-${state}`} title={`due ${new Date(ticket.sla.due_at).toLocaleString()}`}>
      {left < 0 ? `overdue ${duration(-left)}` : duration(left)}
    </span>
  );
}

export function UrgencyBar({ value }: { value: number | null }) {
  if (value === null) return <span class="muted">—</span>;
  return (
    <span class="urgency" title={`urgency ${value.toFixed(2)}`}>
      <span class="urgency-fill" style={{ width: `${Math.round(value * 100)}%` }} data-level={value >= 0.7 ? 'high' : value >= 0.325 ? 'medium' : 'low'} />
      <span class="urgency-text">{value.toFixed(2)}</span>
    </span>
  );
}

export function AgentQueue() {
  const waiting = usePolling(() => endpoints.waiting(50), 5000);
  const now = useNow();
  const [taking, setTaking] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const takeNext = async () => {
    if (taking) return;
    setTaking(true);
    setNotice(null);
    try {
      const ticket = await endpoints.next();
      navigate(`/ticket/${ticket.ticket_id}`);
    } catch (err) {
      setNotice(err instanceof ApiError && err.status === 404 ? 'Nothing is waiting right now.' : `Could not take a ticket: ${(err as Error).message}`);
      waiting.reload();
    } finally {
      setTaking(false);
    }
  };
  useShortcuts({ n: () => void takeNext() });
  const tickets = waiting.data?.tickets ?? [];
  return (
    <main class="page">
      <div class="toolbar">
        <h1>Waiting for an agent {waiting.data && <span class="count">{waiting.data.total}</span>}</h1>
        <button class="primary" onClick={() => void takeNext()} disabled={taking} aria-keyshortcuts="n">
          Take next <kbd>n</kbd>
        </button>
      </div>
      {notice && <p class="notice" role="status">{notice}</p>}
      {waiting.error && (
        <p class="error" role="alert">
          {waiting.error.status === 403 ? 'This API key has no agent scope.' : `Queue unavailable: ${waiting.error.message}`}
        </p>
      )}
      <p class="hint">In the order “Take next” serves them; refreshes every 5 s.</p>
      <div class="table-wrap">
        <table class="queue">
          <thead>
            <tr>
              <th>Subject</th>
              <th>Predicted queue</th>
              <th class="num">Confidence</th>
              <th>Action</th>
              <th>Urgency</th>
              <th>SLA</th>
            </tr>
          </thead>
          <tbody>
            {tickets.map((t) => (
              <tr key={t.ticket_id}>
                <td class="subject">
                  <a href={`#/ticket/${t.ticket_id}`}>{t.subject?.trim() || t.body.slice(0, 80)}</a>
                </td>
                <td>{t.category ?? '—'}</td>
                <td class="num">{pct(t.confidence)}</td>
                <td>{t.action ? <span class={`badge action-${t.action}`}>{actionLabel[t.action]}</span> : '—'}</td>
                <td>
                  <UrgencyBar value={t.urgency_score} />
                </td>
                <td>
                  <SlaCountdown ticket={t} now={now} />
                </td>
              </tr>
            ))}
            {!waiting.loading && tickets.length === 0 && !waiting.error && (
              <tr>
                <td colSpan={6} class="muted">
                  No ticket is waiting.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </main>
  );
}
