import { ConfigError } from '@triage/shared';
import { DEFAULT_ACTION_THRESHOLDS, actionFor, resolveActionThresholds } from './action-policy';

describe('actionFor', () => {
  const t = { autoRoute: 0.85, humanReview: 0.7 };
  it.each([
    [0.99, 'AUTO_ROUTE'],
    [0.85, 'AUTO_ROUTE'],
    [0.8499, 'HUMAN_REVIEW'],
    [0.7, 'HUMAN_REVIEW'],
    [0.6999, 'ESCALATE'],
    [0, 'ESCALATE'],
  ])('confidence %p → %s', (confidence, action) => {
    expect(actionFor(confidence, t)).toBe(action);
  });
});

describe('resolveActionThresholds', () => {
  it('prefers env, then the model config, then the defaults', () => {
    expect(resolveActionThresholds({}, undefined)).toEqual(DEFAULT_ACTION_THRESHOLDS);
    expect(resolveActionThresholds({}, { auto_route: 0.9, human_review: 0.6 })).toEqual({ autoRoute: 0.9, humanReview: 0.6 });
    expect(resolveActionThresholds({ ACTION_AUTO_ROUTE: 0.95 }, { auto_route: 0.9, human_review: 0.6 })).toEqual({
      autoRoute: 0.95,
      humanReview: 0.6,
    });
  });

  it('rejects a review threshold above the auto-route one', () => {
    expect(() => resolveActionThresholds({ ACTION_HUMAN_REVIEW: 0.9 }, undefined)).toThrow(ConfigError);
  });
});
