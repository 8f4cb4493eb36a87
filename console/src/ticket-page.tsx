import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Explanation, type Ticket, endpoints, priorityOf } from './api';
import { SlaCountdown, UrgencyBar } from './agent-queue';
import { useNow, usePolling, useShortcuts } from './hooks';
import { actionLabel, duration, pct, timeOrDate } from './format';

type Evidence = Explanation['queue']['evidence'][number];
type Field = Evidence['field'];
const PRIORITIES = ['low', 'medium', 'high'] as const;
/** |weight| in points (hundredths of the probability or score), as the list shows it. */
const points = (weight: number) => Math.abs(weight * 100).toFixed(1);

/** Words whose weight is below this share of the strongest one are left unmarked. */
const MARK_FROM = 0.15;

/** The field's text with the evidence words marked; colour strength follows |weight|. */
function Highlighted({ text, field, evidence, max }: { text: string; field: Field; evidence: Evidence[]; max: number }) {
  // Only words that matter are marked: a faint tint on every word reads as noise.
  const spans = evidence.filter((e) => e.field === field && Math.abs(e.weight) >= MARK_FROM * max).sort((a, b) => a.start - b.start);
  const parts: preact.ComponentChildren[] = [];
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue;
    parts.push(text.slice(at, s.start));
    const strength = Math.min(1, Math.abs(s.weight) / max);
    parts.push(
      <mark
        class={s.weight > 0 ? 'for' : 'against'}
        style={{ '--w': (0.15 + 0.85 * strength).toFixed(2) }}
        title={`${s.weight > 0 ? '+' : ''}${s.weight.toFixed(4)} (n-gram ${s.ngram.toFixed(4)}, encoder ${s.encoder.toFixed(4)})`}
      >
        {text.slice(s.start, s.end)}
      </mark>,
    );
    at = s.end;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

/** A refused action in an agent's words: the API's own message for an unleased ticket names an endpoint. */
function actionError(err: unknown): string {
  if (!(err instanceof ApiError)) return String(err);
  if (err.code === 'not_leased') return 'You do not hold this ticket: agents work the queue in order, so take the next one from the queue (n).';
  return err.message;
}

function WhyList({ evidence }: { evidence: Evidence[] }) {
  // A word whose share rounds to 0.0 points says nothing the reader can see: it is left out.
  const top = evidence.filter((e) => points(e.weight) !== '0.0').slice(0, 8);
  if (top.length === 0) return <p class="muted">No word stands out.</p>;
  return (
    <ol class="why-list">
      {top.map((e, i) => (
        <li key={i} class={e.weight > 0 ? 'for' : 'against'}>
          <span class="word">{e.text}</span>
          <span class="weight">{e.weight > 0 ? '+' : '−'}{points(e.weight)}</span>
        </li>
      ))}
    </ol>
  );
}

export function TicketPage({ id, onDone }: { id: string; onDone: () => void }) {
  const ticket = usePolling(() => endpoints.ticket(id), 15000, [id]);
  // The gateway's own test: a ticket has an explanation once it has a triage result (409 before, and
  // for a ticket that failed without one), so it is asked for only then.
  const triaged = (ticket.data?.category ?? null) !== null;
  const explanation = usePolling(() => (triaged ? endpoints.explain(id) : Promise.resolve(null)), null, [id, triaged]);
  const queues = usePolling(() => endpoints.queues(), null);
  const alerts = usePolling(() => endpoints.alerts(id), null, [id]);
  const now = useNow();
  const [lease, setLease] = useState<Ticket['lease']>(null);
  const [why, setWhy] = useState<'queue' | 'urgency'>('queue');
  const [queue, setQueue] = useState<string | null>(null);
  const [priority, setPriority] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'notice'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const t = ticket.data;
  useEffect(() => setLease(t?.lease ?? null), [t?.lease?.expires_at]);
  const predictedPriority = priorityOf(t?.urgency_score ?? null);

  const act = async (what: string, run: () => Promise<Ticket>, after?: () => void) => {
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      const updated = await run();
      setLease(updated.lease ?? null);
      setMessage({ kind: 'notice', text: what });
      after?.();
    } catch (err) {
      setMessage({ kind: 'error', text: actionError(err) });
    } finally {
      setBusy(false);
    }
  };
  const extend = () => act('Lease extended.', () => endpoints.extend(id));
  const release = () => act('Released: the ticket is back in the queue.', () => endpoints.release(id), onDone);
  const ack = () =>
    act('Done.', () => endpoints.ack(id, { ...(queue ? { queue } : {}), ...(priority ? { priority } : {}) }), onDone);
  const top3 = t?.top3 ?? [];
  useShortcuts({
    e: () => void extend(),
    r: () => void release(),
    a: () => void ack(),
    c: () => t?.category && setQueue(t.category),
    '1': () => top3[0] && setQueue(top3[0].category),
    '2': () => top3[1] && setQueue(top3[1].category),
    '3': () => top3[2] && setQueue(top3[2].category),
    l: () => setPriority('low'),
    m: () => setPriority('medium'),
    h: () => setPriority('high'),
    w: () => setWhy((w) => (w === 'queue' ? 'urgency' : 'queue')),
    Escape: onDone,
  });

  if (ticket.error) return <main class="page"><p class="error" role="alert">{ticket.error.message}</p><a href="#/agent">Back to the queue</a></main>;
  if (!t) return <main class="page"><p class="muted">Loading…</p></main>;

  const e = explanation.data;
  const evidence = e ? (why === 'queue' ? e.queue.evidence : e.urgency.evidence) : [];
  const max = Math.max(1e-9, ...evidence.map((s) => Math.abs(s.weight)));
  const leftMs = lease ? Date.parse(lease.expires_at) - now : null;

  return (
    <main class="page ticket">
      <div class="toolbar">
        <a href="#/agent" class="back">← Queue <kbd>Esc</kbd></a>
        {lease && leftMs !== null && (
          <span class={`lease ${leftMs < 60_000 ? 'lease-low' : ''}`} role="timer" aria-live="off">
            Lease {leftMs > 0 ? duration(leftMs) : 'expired'} · {lease.agent_id}
          </span>
        )}
        <span class="spacer" />
        <button onClick={() => void extend()} disabled={busy} aria-keyshortcuts="e">Extend <kbd>e</kbd></button>
        <button onClick={() => void release()} disabled={busy} aria-keyshortcuts="r">Release <kbd>r</kbd></button>
      </div>
      {message && <p class={message.kind} role={message.kind === 'error' ? 'alert' : 'status'}>{message.text}</p>}
      <div class="ticket-grid">
        <div class="main-col">
        <article class="card text" aria-label="Ticket text">
          <h1 class="ticket-subject">
            {t.subject ? <Highlighted text={t.subject} field="subject" evidence={evidence} max={max} /> : <span class="muted">(no subject)</span>}
          </h1>
          <div class="ticket-body">
            <Highlighted text={t.body} field="body" evidence={evidence} max={max} />
          </div>
          <p class="meta muted">
            {t.ticket_id} · accepted {new Date(t.accepted_at).toLocaleString()} · {t.status} · model {t.model_used ?? '—'} {t.model_version ?? ''}
          </p>
        </article>
          <section class="card why" aria-label="Why">
            <div class="why-tabs" role="tablist">
              <button role="tab" aria-selected={why === 'queue'} onClick={() => setWhy('queue')}>Why this queue</button>
              <button role="tab" aria-selected={why === 'urgency'} onClick={() => setWhy('urgency')}>Why this urgency</button>
              <kbd title="switch">w</kbd>
            </div>
            {explanation.error && <p class="error">Explanation unavailable: {explanation.error.message}</p>}
            {!e && !explanation.error && <p class="muted">{triaged ? 'Computing the explanation…' : 'The explanation follows once the ticket is triaged.'}</p>}
            {e && (
              <>
                <p class="hint">
                  {why === 'queue'
                    ? `Words for (green) and against (red) ${e.queue.category}, in points of its probability;`
                    : 'Words that made it more (green) or less (red) urgent, in points of the urgency score;'}{' '}
                  {e.model_used === 'encoder' ? `n-gram exact + encoder by occlusion (${e.occlusion_segments === 1 ? 'the text taken out as one segment' : `${e.occlusion_segments} runs, each with one part of the text taken out`}).` : 'n-gram model only (the encoder is unavailable).'}
                </p>
                <WhyList evidence={evidence} />
              </>
            )}
          </section>
        </div>
        <aside class="side">
          <section class="card" aria-label="Prediction">
            <h2>Predicted queue</h2>
            <p class="big">{t.category ?? '—'} <span class="conf">{pct(t.confidence)}</span></p>
            <ol class="top3">
              {top3.map((q, i) => (
                <li key={q.category}>
                  <button class={queue === q.category ? 'chosen' : ''} onClick={() => setQueue(q.category)} aria-pressed={queue === q.category} aria-keyshortcuts={String(i + 1)}>
                    <kbd>{i + 1}</kbd> {q.category} <span class="muted">{pct(q.probability)}</span>
                  </button>
                </li>
              ))}
            </ol>
            <label class="other">
              Other queue{' '}
              <select value={queue ?? ''} onChange={(ev) => setQueue((ev.target as HTMLSelectElement).value || null)} aria-label="Correct the queue">
                <option value="">—</option>
                {(queues.data?.queues ?? []).map((q) => (
                  <option key={q} value={q}>{q}</option>
                ))}
              </select>
            </label>
            <h2>Urgency</h2>
            <UrgencyBar value={t.urgency_score} />
            <p>
              Action {t.action ? <span class={`badge action-${t.action}`}>{actionLabel[t.action]}</span> : '—'}
              {t.sla && <> · SLA due {timeOrDate(t.sla.due_at, now)} (<SlaCountdown ticket={t} now={now} />)</>}
            </p>
            <div class="priority" role="group" aria-label="Priority">
              {PRIORITIES.map((p) => (
                <button key={p} class={`${priority === p ? 'chosen' : ''} ${predictedPriority === p ? 'predicted' : ''}`} onClick={() => setPriority(p)} aria-pressed={priority === p} aria-keyshortcuts={p[0]}>
                  <kbd>{p[0]}</kbd> {p}
                </button>
              ))}
            </div>
            <p class="choice">
              Queue: <b>{queue ?? 'not confirmed'}</b>{queue && queue !== t.category && ' (correction)'} · Priority: <b>{priority ?? 'not confirmed'}</b>
              {priority && predictedPriority && priority !== predictedPriority && ' (correction)'}
            </p>
            <button class="primary wide" onClick={() => void ack()} disabled={busy} aria-keyshortcuts="a">
              Done (ack) <kbd>a</kbd>
            </button>
            <p class="hint">
              <kbd>c</kbd> confirms the predicted queue, <kbd>1</kbd>–<kbd>3</kbd> pick from the top 3, <kbd>l</kbd>/<kbd>m</kbd>/<kbd>h</kbd> set the priority.
            </p>
          </section>
          <section class="card" aria-label="Alerts">
            <h2>Alerts</h2>
            {alerts.data && alerts.data.alerts.length === 0 && <p class="muted">No alert was sent for this ticket.</p>}
            {alerts.error && <p class="muted">{alerts.error.message}</p>}
            <ul class="alerts">
              {(alerts.data?.alerts ?? []).map((a) => (
                <li key={a.destination}>
                  {a.destination}: <b>{a.status}</b> after {a.attempts} attempt{a.attempts === 1 ? '' : 's'}
                  {a.last_error && <span class="muted"> — {a.last_error}</span>}
                </li>
              ))}
            </ul>
          </section>
        </aside>
      </div>
    </main>
  );
}
