import { applyConfidenceMap } from './blend';

// The same cases as training/tests/test_heads.py::test_confidence_map_matches_the_worker: the worker and the card's figures agree.
const MAP = { x: [0.2, 0.5, 0.8], y: [0.1, 0.6, 0.95] };

describe('applyConfidenceMap', () => {
  it('maps the top probability through the knots and shares the rest in the same ratios', () => {
    const out = applyConfidenceMap([0.1, 0.65, 0.25, 0], MAP);
    expect(out[1]).toBeCloseTo(0.775, 12); // halfway between (0.5, 0.6) and (0.8, 0.95)
    expect(out[0]! / out[2]!).toBeCloseTo(0.1 / 0.25, 12);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('is flat beyond the first and last knots', () => {
    expect(applyConfidenceMap([0.9, 0.05, 0.05, 0], MAP)[0]).toBeCloseTo(0.95, 12);
    expect(applyConfidenceMap([0.5, 0.3, 0.2], { x: [0.6, 0.9], y: [0.55, 0.9] })[0]).toBeCloseTo(0.55, 12);
  });

  it('never lets the runner-up overtake the top class', () => {
    // the map would lower 0.3 to 0.267, below the runner-up once that is scaled up: the top stays just above it
    const out = applyConfidenceMap([0.3, 0.28, 0.22, 0.2], MAP);
    expect(out.indexOf(Math.max(...out))).toBe(0);
    expect(out[0]).toBeGreaterThan(out[1]!);
    expect(out[0]).toBeCloseTo(out[1]!, 6);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('leaves a certain prediction alone', () => {
    expect(applyConfidenceMap([1, 0, 0, 0], MAP)).toEqual([1, 0, 0, 0]);
  });
});
