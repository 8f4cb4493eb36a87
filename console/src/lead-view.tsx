import { useState } from 'preact/hooks';
import { type StatsResponse, endpoints } from './api';
import { ChartView, PALETTE } from './chart';
import { usePolling } from './hooks';
import { pct, wrapWords } from './format';
import { AlertDeliveries } from './alert-deliveries';
import { ModelVersions } from './model-versions';
import { Unavailable } from './unavailable';

const WINDOWS = ['1h', '24h', '7d'] as const;
const WINDOW_MINUTES: Record<(typeof WINDOWS)[number], number> = { '1h': 60, '24h': 1440, '7d': 10080 };
const SLICES = 6;

const ms = (x: number | null) => (x === null ? '—' : String(Math.round(x)));
/** Histogram bins as a person writes them: "< 26", "26–69", "≥ 256". */
const binLabel = (bin: string) => bin.replace(/^-Infinity[–-](.+)$/, '< $1').replace(/^(.+)[–-]Infinity$/, '≥ $1');

/**
 * Volumes over time from /v2/stats alone: windows of k/6 of the period ending now, differenced,
 * give the tickets of each sixth of the period.
 */
async function volumesOverTime(window: (typeof WINDOWS)[number]) {
  const minutes = WINDOW_MINUTES[window];
  const cumulative = await Promise.all(
    Array.from({ length: SLICES }, (_, k) => endpoints.stats(`${Math.round((minutes * (k + 1)) / SLICES)}m`)),
  );
  const queues = [...new Set(cumulative.flatMap((s) => Object.keys(s.tickets.by_queue)))].sort();
  const slices = cumulative.map((s, k) => {
    const before = k === 0 ? null : cumulative[k - 1]!;
    return Object.fromEntries(queues.map((q) => [q, (s.tickets.by_queue[q] ?? 0) - (before?.tickets.by_queue[q] ?? 0)]));
  });
  // oldest first
  const labels = cumulative.map((_, k) => `−${Math.round((minutes * (k + 1)) / SLICES)}m`).reverse();
  return { queues, labels, slices: slices.reverse() };
}

function Tile({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div class="tile" data-tile={label}>
      <span class="tile-label">{label}</span>
      <span class="tile-value">{value}</span>
      {hint && <span class="tile-hint">{hint}</span>}
    </div>
  );
}

function accuracyChart(stats: StatsResponse, by: 'by_queue' | 'by_model_version') {
  const entries = Object.entries(stats.live_accuracy[by]).filter(([, a]) => a.accuracy !== null);
  return {
    type: 'bar' as const,
    data: {
      // the figure and its count in the label: a bar at 0 % is otherwise an empty-looking chart
      // Two lines (chart.js draws an array label as lines), a version by its first 8 hex digits: on one
      // line, a queue name or a whole digest was cut at the chart's left edge at 390 px.
      labels: entries.map(([k, a]) => [...(by === 'by_model_version' ? [k.replace(/^sha256:/, '').slice(0, 8)] : wrapWords(k)), `${pct(a.accuracy)} of ${a.n}`]),
      datasets: [{ label: 'accuracy', data: entries.map(([, a]) => a.accuracy), backgroundColor: PALETTE[1] }],
    },
    options: { indexAxis: 'y' as const, scales: { x: { min: 0, max: 1 } }, plugins: { legend: { display: false } } },
  };
}

export function LeadView() {
  const [window, setWindow] = useState<(typeof WINDOWS)[number]>('24h');
  const stats = usePolling(() => endpoints.stats(window), 30000, [window]);
  const series = usePolling(() => volumesOverTime(window), 60000, [window]);
  const drift = usePolling(() => endpoints.drift(window), 60000, [window]);
  const review = usePolling(() => endpoints.review(8), 60000);
  const s = stats.data;

  return (
    <main class="page lead">
      <div class="toolbar">
        <h1>How the model is doing</h1>
        <span class="spacer" />
        <div role="group" aria-label="Window" class="segmented">
          {WINDOWS.map((w) => (
            <button key={w} aria-pressed={window === w} onClick={() => setWindow(w)}>
              {w}
            </button>
          ))}
        </div>
      </div>
      {stats.error && <Unavailable what="Statistics" error={stats.error} />}
      {s && (
        <section class="tiles" aria-label="Key figures">
          <Tile label="Tickets processed" value={String(s.tickets.processed)} hint={`last ${s.window}`} />
          <Tile label="Automation rate" value={pct(s.automation_rate, 1)} hint="share auto-routed" />
          <Tile label="Live accuracy" value={pct(s.live_accuracy.overall, 1)} hint={`${s.live_accuracy.n} reviewed by agents`} />
          <Tile label="Latency p50 / p95" value={`${ms(s.latency_ms.p50)} / ${ms(s.latency_ms.p95)} ms`} hint="accepted → processed" />
          <Tile label="SLA breaches" value={String(s.agents.sla_breaches)} hint={`${s.agents.acks} acks, ${s.agents.corrections} corrections`} />
          <Tile label="Fallback answers" value={String(s.tickets.by_model_used.fallback ?? 0)} hint="encoder unavailable" />
        </section>
      )}
      <div class="grid">
        <section class="card" aria-label="Volumes by predicted queue over time">
          <h2>Volumes by predicted queue</h2>
          {series.error && <Unavailable what="Volumes" error={series.error} />}
          {series.data && (
            <ChartView
              label="Volumes by predicted queue over time"
              config={{
                type: 'bar',
                data: {
                  labels: series.data.labels,
                  datasets: series.data.queues.map((q, i) => ({ label: q, data: series.data!.slices.map((sl) => sl[q] ?? 0), backgroundColor: PALETTE[i % PALETTE.length] })),
                },
                options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } } },
              }}
            />
          )}
        </section>
        {s && (
          <section class="card" aria-label="Actions">
            <h2>Actions</h2>
            <ChartView
              label="Tickets by action"
              config={{
                type: 'doughnut',
                data: { labels: Object.keys(s.tickets.by_action), datasets: [{ data: Object.values(s.tickets.by_action), backgroundColor: PALETTE }] },
                options: { plugins: { legend: { position: 'bottom' } } },
              }}
            />
          </section>
        )}
        {s && (
          <section class="card" aria-label="Live accuracy by queue">
            <h2>Live accuracy by queue</h2>
            {s.live_accuracy.n === 0 ? <p class="muted">No ticket reviewed by an agent in this window.</p> : <ChartView label="Live accuracy by queue" config={accuracyChart(s, 'by_queue')} />}
          </section>
        )}
        {s && (
          <section class="card" aria-label="Live accuracy by model version">
            <h2>Live accuracy by model version</h2>
            {s.live_accuracy.n === 0 ? <p class="muted">No ticket reviewed by an agent in this window.</p> : <ChartView label="Live accuracy by model version" config={accuracyChart(s, 'by_model_version')} height={160} />}
            <table class="small">
              <tbody>
                {Object.entries(s.tickets.by_model_version).map(([v, n]) => (
                  <tr key={v}><td class="mono">{v}</td><td class="num">{n} tickets</td></tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
        <section class="card wide-card" aria-label="Drift">
          <h2>Drift against the training data</h2>
          {drift.error && <Unavailable what="Drift" error={drift.error} />}
          {drift.data && (
            <div class="drift">
              {drift.data.signals.map((sig) => (
                <div key={sig.signal} class="drift-signal">
                  <h3>
                    {sig.signal.replace('_', ' ')} <span class={`band band-${sig.band ?? 'none'}`}>{sig.band ?? `needs ${drift.data!.min_samples} tickets`}</span>
                  </h3>
                  <p class="muted small-text">PSI {sig.psi === null ? '—' : sig.psi.toFixed(3)} · n = {sig.n} · bands: &lt; 0.1 stable, &lt; 0.25 watch, ≥ 0.25 act</p>
                  <ChartView
                    label={`Drift of ${sig.signal}`}
                    // queue names are long: read them along a horizontal bar chart, not slanted under squeezed bars
                    height={sig.signal === 'predicted_queue' ? 40 + 30 * sig.bins.length : 180}
                    config={{
                      type: 'bar',
                      data: {
                        // queue names in lines: on one line the longest was cut at the chart's left edge
                        labels: sig.bins.map((b) => (sig.signal === 'predicted_queue' ? wrapWords(b.bin) : binLabel(b.bin))),
                        datasets: [
                          { label: 'training', data: sig.bins.map((b) => b.reference), backgroundColor: '#94a3b8' },
                          { label: 'now', data: sig.bins.map((b) => b.current), backgroundColor: PALETTE[0] },
                        ],
                      },
                      options:
                        sig.signal === 'predicted_queue'
                          ? { indexAxis: 'y', plugins: { legend: { position: 'bottom' } }, scales: { x: { beginAtZero: true } } }
                          : { plugins: { legend: { position: 'bottom' } }, scales: { y: { beginAtZero: true } } },
                    }}
                  />
                </div>
              ))}
            </div>
          )}
        </section>
        <ModelVersions />
        <section class="card" aria-label="Least certain tickets">
          <h2>Least certain recent tickets</h2>
          {review.error && <Unavailable what="Review list" error={review.error} />}
          {review.data?.tickets.length === 0 && <p class="muted">No recent ticket waits for a second look.</p>}
          <ul class="review">
            {(review.data?.tickets ?? []).map((t) => (
              <li key={t.ticket_id}>
                <a href={`#/ticket/${t.ticket_id}`}>{t.subject?.trim() || t.body.slice(0, 60)}</a>{' '}
                <span class="muted">{t.category} {pct(t.confidence)} · margin {t.margin.toFixed(2)}</span>
              </li>
            ))}
          </ul>
        </section>
        <AlertDeliveries />
      </div>
    </main>
  );
}
