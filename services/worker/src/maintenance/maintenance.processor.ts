import type { Job } from 'bullmq';
import type { SweepReport } from './maintenance-sweep';

/** The scheduler's `maintenance` job carries no data: each run sweeps whatever is due now. */
export function createMaintenanceProcessor(sweep: () => Promise<SweepReport>) {
  return async function processMaintenanceJob(_job: Job): Promise<SweepReport> {
    return sweep();
  };
}
