// Readiness probe for the test broker, run by scripts/services.sh:
//   node tools/kafka/ready.mjs <host:port> <server pid> <timeout seconds>
// An open port is not enough: the broker is ready once a topic can be created with a leader, its
// metadata read back, an idempotent producer can write to it, and the group coordinator answers.
// The last two also get the producer-id and __consumer_offsets set-up out of the way, so the first
// test does not pay for it (or log retriable errors while it happens).
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const [broker, pidText, timeoutText] = process.argv.slice(2);
if (!broker || !pidText || !timeoutText) {
  console.error('usage: ready.mjs <host:port> <pid> <timeout seconds>');
  process.exit(2);
}
const pid = Number(pidText);
const deadline = Date.now() + Number(timeoutText) * 1000;
const topic = '__services_ready';

// A crashed server can linger as a zombie until services.sh reaps it, so read its state.
function alive() {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function probe() {
  const kafka = new Kafka({
    clientId: 'services-ready',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    if (topics[0]?.partitions[0]?.leader === undefined) throw new Error(`${topic} has no leader yet`);
    if (!(await admin.listTopics()).includes(topic)) throw new Error(`${topic} is not listed`);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ value: 'ready' }] });
    await admin.fetchOffsets({ groupId: 'services-ready', topics: [topic] });
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

let lastError = 'no attempt made';
while (Date.now() < deadline) {
  if (!alive()) {
    console.error(`kafka: the broker process ${pid} exited before it was ready (last error: ${lastError})`);
    process.exit(1);
  }
  try {
    await probe();
    process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
console.error(`kafka: not ready at ${broker} after ${timeoutText} s (last error: ${lastError})`);
process.exit(1);
