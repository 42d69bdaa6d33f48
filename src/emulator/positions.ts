/**
 * A `$all` position as a (commit, prepare) pair. Every event here has commit == prepare (its log
 * offset); pairs with prepare < commit (as in checkpoints) sort just before the event at
 * `commit`, as on the server. -1 stands for "before the first event" and goes on the wire as
 * uint64 max, as the server's `Position.FromInt64` does.
 */
export type AllPosition = { commit: number; prepare: number };

export function compareAllPositions(a: AllPosition, b: AllPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

const UINT64_MAX = '18446744073709551615';

export function wireAllPosition(position: AllPosition): { commit: string; prepare: string } {
  return {
    commit: position.commit < 0 ? UINT64_MAX : String(position.commit),
    prepare: position.prepare < 0 ? UINT64_MAX : String(position.prepare),
  };
}
