import { ConfigError, type ModelConfig, type TriageAction, type WorkerConfig } from '@triage/shared';

export interface ActionThresholds {
  autoRoute: number;
  humanReview: number;
}

/**
 * Fallbacks when neither env nor the model says otherwise. See README "Actions" for why: on the
 * model card's held-out split these cut-offs keep auto-routed tickets well above the overall
 * accuracy while sending the uncertain tail to people.
 */
export const DEFAULT_ACTION_THRESHOLDS: ActionThresholds = { autoRoute: 0.85, humanReview: 0.7 };

/** Env overrides the model's `action_thresholds`, which override the defaults. */
export function resolveActionThresholds(
  env: Pick<WorkerConfig, 'ACTION_AUTO_ROUTE' | 'ACTION_HUMAN_REVIEW'>,
  model: ModelConfig['action_thresholds'],
): ActionThresholds {
  const thresholds = {
    autoRoute: env.ACTION_AUTO_ROUTE ?? model?.auto_route ?? DEFAULT_ACTION_THRESHOLDS.autoRoute,
    humanReview: env.ACTION_HUMAN_REVIEW ?? model?.human_review ?? DEFAULT_ACTION_THRESHOLDS.humanReview,
  };
  if (thresholds.humanReview > thresholds.autoRoute) {
    throw new ConfigError(
      `action thresholds: human_review (${thresholds.humanReview}) must not exceed auto_route (${thresholds.autoRoute})`,
    );
  }
  return thresholds;
}

export function actionFor(confidence: number, thresholds: ActionThresholds): TriageAction {
  if (confidence >= thresholds.autoRoute) return 'AUTO_ROUTE';
  if (confidence >= thresholds.humanReview) return 'HUMAN_REVIEW';
  return 'ESCALATE';
}
