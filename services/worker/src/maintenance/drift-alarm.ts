import {
  type DriftAlert,
  type DriftReference,
  PSI_ACT,
  type RedisClient,
  type RedisKeys,
  type RedisScript,
  type SignalDrift,
  type StatsStore,
  computeDrift,
  defineScript,
} from '@triage/shared';

export interface DriftAlarmDeps {
  redis: RedisClient;
  keys: RedisKeys;
  stats: StatsStore;
  /** The served model's version and drift reference (a promotion changes both). */
  reference: () => { modelVersion: string; reference: DriftReference | null };
  /** The PSI window, and how long a signal must stay below PSI_ACT before it can alert again. */
  window: { text: string; ms: number };
  minSamples: number;
  onDrift: (drift: DriftAlert) => Promise<void>;
}

/**
 * One signal's alerting state, a JSON field of `keys.driftState`: armed → firing (crossed: alert
 * being enqueued) → alerted → (below PSI_ACT for a whole window) → armed. A signal without enough
 * tickets for a PSI changes nothing: silence is no evidence of stability.
 * Returns the episode to alert for, or 0.
 */
const STEP = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local s = raw and cjson.decode(raw) or { state = 'armed', episode = 0 }
if ARGV[2] == '' then return 0 end
local psi, now, rearm, act = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if s.state == 'armed' and psi >= act then
  s.state = 'firing'
  s.episode = s.episode + 1
elseif s.state == 'alerted' then
  if psi >= act then
    s.below_since = nil
  else
    s.below_since = s.below_since or now
    if now - s.below_since >= rearm then
      s.state = 'armed'
      s.below_since = nil
    end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(s))
if s.state == 'firing' then return s.episode end
return 0
`;

/** The alert of `episode` is enqueued: the signal waits to re-arm. */
const CONFIRM = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local s = cjson.decode(raw)
if s.state ~= 'firing' or s.episode ~= tonumber(ARGV[2]) then return 0 end
s.state = 'alerted'
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(s))
return 1
`;

/** The bins whose share moved most: what the alert shows a reader. */
const MOVED_BINS = 3;

/**
 * The drift alert, evaluated by the maintenance sweep (never by an HTTP read): the same PSI as GET
 * /v2/monitoring/drift over DRIFT_ALERT_WINDOW, one alert per crossing of PSI_ACT. The state lives in
 * Redis and changes in one script, so several workers sweeping at once alert once.
 */
export class DriftAlarm {
  private readonly step: RedisScript<number>;
  private readonly confirm: RedisScript<number>;

  constructor(private readonly deps: DriftAlarmDeps) {
    this.step = defineScript<number>(deps.redis, 'triageDriftStep', STEP, 1);
    this.confirm = defineScript<number>(deps.redis, 'triageDriftConfirm', CONFIRM, 1);
  }

  /** Evaluates every signal at `nowMs`; returns how many alerts it enqueued. */
  async check(nowMs = Date.now()): Promise<number> {
    const { modelVersion, reference } = this.deps.reference();
    if (!reference) return 0;
    const counts = await this.deps.stats.window(this.deps.window.ms, nowMs);
    let raised = 0;
    for (const signal of computeDrift(reference, counts, this.deps.minSamples)) {
      const key = this.deps.keys.driftState;
      const psi = signal.psi === null ? '' : String(signal.psi);
      const episode = await this.step(key, signal.signal, psi, nowMs, this.deps.window.ms, PSI_ACT);
      if (episode === 0 || signal.psi === null) continue;
      // Enqueue before confirming: the job id (signal + episode) dedupes a repeat, so a crash in
      // between re-sends nothing twice and loses nothing.
      await this.deps.onDrift(this.alertOf(signal, signal.psi, episode, modelVersion, nowMs));
      await this.confirm(key, signal.signal, episode);
      raised += 1;
    }
    return raised;
  }

  private alertOf(signal: SignalDrift, psi: number, episode: number, modelVersion: string, nowMs: number): DriftAlert {
    const moved = [...signal.bins].sort((a, b) => Math.abs(b.current - b.reference) - Math.abs(a.current - a.reference));
    return {
      signal: signal.signal,
      psi,
      episode,
      window: this.deps.window.text,
      n: signal.n,
      model_version: modelVersion,
      detected_at: new Date(nowMs).toISOString(),
      bins: moved.slice(0, MOVED_BINS),
    };
  }
}
