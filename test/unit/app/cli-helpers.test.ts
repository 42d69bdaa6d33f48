import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressLine, progressWriter } from '../../../src/app/cli/admin-client.ts';
import { closest, didYouMean, editDistance } from '../../../src/app/cli/suggest.ts';

describe('suggestions for a mistyped name', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours', () => {
    assert.equal(editDistance('parked', 'parked'), 0);
    assert.equal(editDistance('parkd', 'parked'), 1);
    assert.equal(editDistance('projectoins', 'projections'), 1);
    assert.equal(editDistance('stauts', 'status'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'dlq'), 3);
  });

  it('suggests the closest name within a third of the length, or the only one it starts', () => {
    const commands = ['serve', 'projections', 'parked', 'dlq', 'demo', 'eventstore-emulator'];
    assert.equal(closest('projectoins', commands), 'projections');
    assert.equal(closest('parkd', commands), 'parked');
    assert.equal(closest('dql', commands), 'dlq');
    assert.equal(closest('event', commands), 'eventstore-emulator');
    assert.equal(closest('DEMO', commands), 'demo');
    assert.equal(closest('frobnicate', commands), undefined);
    assert.equal(closest('p', commands), undefined);
  });

  it('phrases the suggestion, or says nothing when nothing is close', () => {
    assert.equal(didYouMean('casse', ['cases', 'persons']), ' (did you mean "cases"?)');
    assert.equal(didYouMean('zzz', ['cases', 'persons']), '');
  });
});

describe('progress line', () => {
  it('pads a shorter redraw over a longer one and ends the line on finish', () => {
    let out = '';
    const bar = progressWriter({ write: (text: string) => (out += text) });
    bar.draw(progressLine(0.5, 50, 100, 3));
    bar.draw(progressLine(0.9, 90, 100, null));
    bar.finish(progressLine(1, 100, 100, null));
    const frames = out.split('\r').slice(1);
    assert.equal(frames.length, 3);
    assert.match(frames[0]!, /50% 50 events {2}100\/s {2}~3 s left$/);
    // The second frame is shorter: spaces cover the rest of the first, no "left" survives.
    assert.equal(frames[1]!.length, frames[0]!.length);
    assert.match(frames[1]!, /90% 90 events {2}100\/s +$/);
    assert.match(frames[2]!, /^\[#{30}\] 100% 100 events {2}100\/s\n$/);
  });
});
