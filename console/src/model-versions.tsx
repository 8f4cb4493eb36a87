import { useState } from 'preact/hooks';
import { ApiError, type ModelComparison, type ModelsResponse, endpoints } from './api';
import { usePolling } from './hooks';
import { pct } from './format';
import { Unavailable } from './unavailable';

type Version = ModelsResponse['versions'][number];
type Score = ModelComparison['sets'][number]['active'];

const short = (version: string) => version.replace(/^sha256:/, '').slice(0, 16);
const fig = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));

/** One figure of both models, the better one marked. */
function Row({ label, active, candidate }: { label: string; active: number | null; candidate: number | null }) {
  const better = active !== null && candidate !== null && candidate !== active ? (candidate > active ? 'candidate' : 'active') : null;
  return (
    <tr>
      <td>{label}</td>
      <td class={`num ${better === 'active' ? 'better' : ''}`}>{fig(active)}</td>
      <td class={`num ${better === 'candidate' ? 'better' : ''}`}>{fig(candidate)}</td>
    </tr>
  );
}

function ComparisonView({ c, busy, onPromote }: { c: ModelComparison; busy: boolean; onPromote: (force: boolean) => void }) {
  const label = c.candidate.name ?? short(c.candidate.version);
  if (c.status === 'running') {
    return (
      <p class="notice" role="status">
        Comparing <b>{label}</b> with the active model on its held-back split and {c.corrections} correction{c.corrections === 1 ? '' : 's'}… (started {new Date(c.started_at).toLocaleTimeString()})
      </p>
    );
  }
  if (c.status === 'failed') return <p class="error" role="alert">Comparison of {label} failed: {c.error}</p>;
  return (
    <div class="comparison" aria-label={`Comparison of ${label}`}>
      <p>
        <b>{label}</b> is <span class={`badge verdict-${c.verdict}`}>{c.verdict}</span> than the active model (accuracy + macro-F1 over all compared rows).
      </p>
      {c.sets.map((s) => (
        <table class="small" key={s.name}>
          <thead>
            <tr>
              <th>{s.name} ({s.candidate.rows} row{s.candidate.rows === 1 ? '' : 's'})</th>
              <th class="num">active {short(s.active.version)}</th>
              <th class="num">candidate {short(s.candidate.version)}</th>
            </tr>
          </thead>
          <tbody>
            <Row label="accuracy" active={s.active.accuracy} candidate={s.candidate.accuracy} />
            <Row label="macro-F1" active={s.active.macro_f1} candidate={s.candidate.macro_f1} />
            <Row label="alert precision" active={alertOf(s.active, 'precision')} candidate={alertOf(s.candidate, 'precision')} />
            <Row label="alert recall" active={alertOf(s.active, 'recall')} candidate={alertOf(s.candidate, 'recall')} />
          </tbody>
        </table>
      ))}
      {c.verdict === 'worse' ? (
        <button onClick={() => onPromote(true)} disabled={busy}>Promote {label} anyway (force)</button>
      ) : (
        <button class="primary" onClick={() => onPromote(false)} disabled={busy}>Promote {label}</button>
      )}
    </div>
  );
}

const serving = (n: number) => `${n} worker${n === 1 ? ' serves' : 's serve'} it`;
const alertOf = (s: Score, k: 'precision' | 'recall') => s.alert?.[k] ?? null;

/** Model versions: what serves now, the bundles with their card figures, compare → promote, rollback. */
export function ModelVersions() {
  const models = usePolling(() => endpoints.models(), 10000);
  const ready = usePolling(() => endpoints.ready(), 15000);
  const [comparison, setComparison] = useState<ModelComparison | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  // follows a running comparison until it is done or failed
  usePolling(
    async () => {
      if (comparison?.status !== 'running') return null;
      const next = await endpoints.comparison(comparison.id);
      if (next.status !== 'running') setComparison(next);
      return next;
    },
    comparison?.status === 'running' ? 2000 : null,
    [comparison?.id, comparison?.status],
  );

  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    try {
      await what();
    } catch (err) {
      setMessage({ error: true, text: err instanceof ApiError ? err.message : String(err) });
    } finally {
      setBusy(false);
      models.reload();
      ready.reload();
    }
  };
  const compare = (v: Version) => act(async () => setComparison(await endpoints.compare(v.name ?? v.version)));
  const promote = (force: boolean) =>
    act(async () => {
      if (!comparison) return;
      const done = await endpoints.promote(comparison.candidate.name ?? comparison.candidate.version, force);
      setComparison(null);
      setMessage({ error: false, text: `Promoted ${done.active.name ?? done.active.version}; ${serving(done.workers)}.` });
    });
  const rollback = () =>
    act(async () => {
      const done = await endpoints.rollback();
      setMessage({ error: false, text: `Rolled back to ${done.active.name ?? done.active.version}; ${serving(done.workers)}.` });
    });

  const m = models.data;
  return (
    <section class="card wide-card" aria-label="Model versions">
      <h2>Model versions</h2>
      {ready.error && <p class="error">Not ready: {ready.error.message}</p>}
      {ready.data && !ready.error && (
        <p>
          Served now by {ready.data.workers} worker{ready.data.workers === 1 ? '' : 's'}:{' '}
          {ready.data.model_versions.length === 0 ? <span class="muted">none</span> : ready.data.model_versions.map((v) => <code key={v}>{v} </code>)}
          {ready.data.encoder_breakers.filter((b) => b.state !== 'closed').map((b) => (
            <span key={b.worker_id} class="badge action-ESCALATE">encoder breaker {b.state} on {b.worker_id}</span>
          ))}
        </p>
      )}
      {models.error && <Unavailable what="Version list, compare and promote" error={models.error} />}
      {message && <p class={message.error ? 'error' : 'notice'} role={message.error ? 'alert' : 'status'}>{message.text}</p>}
      {m && m.load_failures.map((f) => (
        <p key={f.process} class="error">{f.process} failed to load {short(f.version)} at {new Date(f.at).toLocaleString()}: {f.error}</p>
      ))}
      {m && (
        <div class="table-wrap flat">
          <table class="small versions">
            <thead>
              <tr>
                <th>Bundle</th>
                <th>Version</th>
                <th>Trained</th>
                <th class="num">Accuracy</th>
                <th class="num">Macro-F1</th>
                <th class="num">Alert P / R</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.versions.map((v) => (
                <tr key={v.version} data-version={v.version}>
                  <td>
                    {v.name ?? <span class="muted">outside the models root</span>} {v.active && <span class="badge verdict-better">active</span>} {v.previous && <span class="badge">previous</span>}
                  </td>
                  <td class="mono" title={v.version}>{short(v.version)}</td>
                  <td class="nowrap">{v.card.trained_at ? new Date(v.card.trained_at).toLocaleDateString() : (v.card.kind ?? '—')}</td>
                  <td class="num">{pct(v.card.accuracy, 1)}</td>
                  <td class="num">{fig(v.card.macro_f1)}</td>
                  <td class="num nowrap">{fig(v.card.alert_precision)} / {fig(v.card.alert_recall)}</td>
                  <td class="nowrap">
                    {!v.active && (
                      <button onClick={() => void compare(v)} disabled={busy || comparison?.status === 'running'}>Compare</button>
                    )}
                    {v.previous && (
                      <button onClick={() => void rollback()} disabled={busy}>Roll back</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="hint">Card figures are each bundle’s own held-back split; Compare scores both on the same rows (the candidate’s split and the corrections since the active model was trained).</p>
      {comparison && <ComparisonView c={comparison} busy={busy} onPromote={(force) => void promote(force)} />}
    </section>
  );
}
