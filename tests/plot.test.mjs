// The chart helpers that need no DOM: axis ticks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceTicks } from '../www/plot.js';

test('axis ticks are steps of 1, 2 or 5 × 10ⁿ that span the range, printed with the decimals they need', () => {
  // The item map's difficulty axis used to read −2.9, −1.2, 0.5, 2.2, 3.9.
  assert.deepEqual(niceTicks(-2.9, 3.9), { ticks: [-4, -2, 0, 2, 4], digits: 0 });
  // An MAE axis from 0 to 0.0321.
  assert.deepEqual(niceTicks(0, 0.0321), { ticks: [0, 0.01, 0.02, 0.03, 0.04], digits: 2 });
  // 0.1 + 0.2 is 0.30000000000000004 in floating point; the tick is 0.3.
  assert.deepEqual(niceTicks(0, 0.39).ticks, [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(niceTicks(0.6, 1), { ticks: [0.6, 0.7, 0.8, 0.9, 1], digits: 1 });
  assert.deepEqual(niceTicks(0, 1000), { ticks: [0, 200, 400, 600, 800, 1000], digits: 0 });
  for (const [lo, hi] of [[-2.9, 3.9], [0.0011, 0.0377], [13, 987], [-1, -0.2], [0.5, 0.5]]) {
    const { ticks } = niceTicks(lo, hi);
    const step = ticks[1] - ticks[0];
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `${lo}..${hi}: step ${step}`);
    assert.ok(ticks[0] <= lo && ticks[ticks.length - 1] >= hi, `${lo}..${hi}: ${ticks}`);
    assert.ok(ticks.length >= 3 && ticks.length <= 11, `${lo}..${hi}: ${ticks}`);
  }
  assert.deepEqual(niceTicks(NaN, 1).ticks, []);
});
