import { useState } from 'preact/hooks';
import { endpoints } from './api';
import { usePolling } from './hooks';
import { Unavailable } from './unavailable';

const OUTCOMES = ['delivered', 'retrying', 'failed', 'grouped'] as const;
const KIND_LABEL: Record<string, string> = { ticket: 'urgent ticket', 'sla.warning': 'SLA warning', 'sla.breach': 'SLA breach', incident: 'incident', drift: 'drift' };

/** The service-wide alert delivery log (GET /v2/alerts): did on-call hear about it, and when. */
export function AlertDeliveries() {
  const [outcome, setOutcome] = useState<string>('');
  const log = usePolling(() => endpoints.alertDeliveries({ limit: 25, ...(outcome ? { outcome } : {}) }), 15000, [outcome]);
  const lines = log.data?.deliveries ?? [];
  return (
    <section class="card wide-card" aria-label="Alert delivery log">
      <div class="card-head">
        <h2>Alert delivery log</h2>
        <label class="inline-filter">
          Outcome{' '}
          <select value={outcome} onChange={(e) => setOutcome((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>{o}</option>
            ))}
          </select>
        </label>
      </div>
      {log.error && <Unavailable what="Alert delivery log" error={log.error} />}
      {log.data && (
        <div class="table-wrap flat">
          <table class="small deliveries">
            <thead>
              <tr>
                <th>Time</th>
                <th>Kind</th>
                <th>Ticket</th>
                <th>Destination</th>
                <th>Outcome</th>
                <th class="num">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((l) => (
                <tr key={l.id} data-outcome={l.outcome}>
                  <td class="nowrap">{new Date(l.at).toLocaleString()}</td>
                  <td>{KIND_LABEL[l.kind] ?? l.kind}</td>
                  <td class="mono">
                    {l.ticket_id ? (
                      <a href={`#/ticket/${l.ticket_id}`}>{l.ticket_id.slice(0, 8)}</a>
                    ) : (
                      <span class="muted">{l.incident_id ? `incident ${l.incident_id.slice(0, 8)}` : '—'}</span>
                    )}
                  </td>
                  <td>
                    {l.destination} <span class="muted">({l.type})</span>
                  </td>
                  <td>
                    <span class={`badge outcome-${l.outcome}`} title={l.error ?? undefined}>{l.outcome}</span>
                    {l.error && <span class="delivery-error muted"> {l.error}</span>}
                  </td>
                  <td class="num">{l.attempts}</td>
                </tr>
              ))}
              {lines.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">No alert {outcome ? `with outcome ${outcome} ` : ''}was sent yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
