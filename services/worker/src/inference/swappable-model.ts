import type { DriftReference, FallbackModel } from '@triage/shared';
import type { ActionThresholds } from '../action-policy';
import type { TicketExplainer } from '../explain/ticket-explainer';
import type { ServedModel, ServedPrediction } from './served-model';

/** One loaded model version with everything that depends on it. */
export interface ModelVersion {
  served: ServedModel;
  fallback: FallbackModel;
  thresholds: ActionThresholds;
  explainer: TicketExplainer;
  /** config.json's drift_reference, parsed once per version; null when the model has none. */
  driftReference: DriftReference | null;
  dir: string;
}

interface Entry extends ModelVersion {
  inflight: number;
  retired: boolean;
}

/**
 * The model a worker serves, replaceable while tickets flow: a prediction runs to its end on the
 * version it started on, new ones go to the new version, and an old version is disposed once its
 * last prediction finished.
 */
export class SwappableModel {
  private current: Entry;
  private readonly draining = new Set<Promise<void>>();

  constructor(initial: ModelVersion) {
    this.current = { ...initial, inflight: 0, retired: false };
  }

  get modelVersion(): string {
    return this.current.served.modelVersion;
  }

  get fallback(): FallbackModel {
    return this.current.fallback;
  }

  get thresholds(): ActionThresholds {
    return this.current.thresholds;
  }

  get explainer(): TicketExplainer {
    return this.current.explainer;
  }

  get driftReference(): DriftReference | null {
    return this.current.driftReference;
  }

  get dir(): string {
    return this.current.dir;
  }

  async predict(text: string): Promise<ServedPrediction> {
    const entry = this.current;
    entry.inflight += 1;
    try {
      return await entry.served.predict(text);
    } finally {
      entry.inflight -= 1;
      if (entry.retired && entry.inflight === 0) this.dispose(entry);
    }
  }

  /** Makes `next` the served version; the previous one is disposed when its in-flight predictions end. */
  swap(next: ModelVersion): void {
    const old = this.current;
    this.current = { ...next, inflight: 0, retired: false };
    old.retired = true;
    if (old.inflight === 0) this.dispose(old);
  }

  private dispose(entry: Entry): void {
    const done = entry.served.dispose().catch(() => undefined);
    this.draining.add(done);
    void done.finally(() => this.draining.delete(done));
  }

  async close(): Promise<void> {
    await this.current.served.dispose();
    await Promise.all(this.draining);
  }
}
