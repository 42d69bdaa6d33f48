// Where a CPU profile of the service spent its busy time, by part of the intake path: the table
// of README's Kafka figures comes from this.
//
//   npx tsx bench/support/profile-parts.ts <file.cpuprofile>   (from bench/kafka.ts --cpu-prof)
//
// Each sample goes to the first part, in the order below, with a frame anywhere on its stack;
// code after an `await` has only the frames since it resumed, so a part is a floor, not exact.
import { readFile } from 'node:fs/promises';

type CallFrame = { functionName: string; url: string };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const parts: [string, (frame: CallFrame) => boolean][] = [
  ['personal data: writing the key file', (f) => /file-key-records/.test(f.url)],
  [
    'personal data: opening sealed fields',
    (f) =>
      (/protected-event-store/.test(f.url) && f.functionName === 'decrypt') ||
      (/protection\/envelope/.test(f.url) && f.functionName === 'open'),
  ],
  [
    "decoding each event for each projector's subscription",
    (f) => /eventstore\/in-process/.test(f.url) && /toStored|parseData|parseMetadata/.test(f.functionName),
  ],
  [
    "the projectors' own work",
    (f) => /eventsourcing\/projection\/|processor\/projector|readstore\/|\/projections\//.test(f.url),
  ],
  [
    'notifications out',
    (f) =>
      /kafka\/outbound|subscription\/consumer|emulator\/persistent|emulator\/grpc|@grpc|db-client|google-protobuf/.test(
        f.url,
      ),
  ],
  ['the bridge itself', (f) => /kafka\/inbound|kafka\/intake-value/.test(f.url)],
  ["the intake's commands", (f) => /command\/handler|src\/cases\/|protection\//.test(f.url)],
  ['kafkajs', (f) => /kafkajs/.test(f.url)],
];
const OWN = ['(idle)', '(garbage collector)', '(program)'];

const path = process.argv[2];
if (path === undefined) {
  console.error('usage: npx tsx bench/support/profile-parts.ts <file.cpuprofile>');
  process.exit(2);
}
const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const byPart = new Map<string, number>();
for (const [id, micros] of selfTime) {
  const leaf = nodes.get(id)!.callFrame.functionName;
  let part = OWN.includes(leaf) ? leaf : undefined;
  if (part === undefined) {
    const stack: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      stack.push(nodes.get(at)!.callFrame);
    }
    part = parts.find(([, matches]) => stack.some(matches))?.[0] ?? 'everything else';
  }
  byPart.set(part, (byPart.get(part) ?? 0) + micros);
}
const busy = [...byPart].reduce((sum, [part, micros]) => (part === '(idle)' ? sum : sum + micros), 0);
console.log(`| part | busy seconds | share |\n|---|---:|---:|`);
for (const [part, micros] of [...byPart].sort((a, b) => b[1] - a[1])) {
  if (part === '(idle)') continue;
  console.log(`| ${part} | ${(micros / 1e6).toFixed(2)} | ${((micros / busy) * 100).toFixed(0)} % |`);
}
console.log(
  `| total busy (idle ${((byPart.get('(idle)') ?? 0) / 1e6).toFixed(1)} s) | ${(busy / 1e6).toFixed(2)} | |`,
);
