// The producing side of bench/kafka.ts, in its own process so that the service measured there
// shares its event loop with nothing but itself. Driven over IPC: each request publishes numbered
// intakes of a run and answers with when each was sent (epoch milliseconds, sub-millisecond).
import { Kafka, logLevel } from 'kafkajs';
import { numberedIntake } from '../../test/support/kafka-intake.ts';

export type ProduceRequest =
  /** `count` intakes at once, in sends of 500. */
  | { kind: 'burst'; topic: string; run: string; count: number }
  /** `count` intakes, one a send, at `rate` a second (sends do not wait for earlier ones). */
  | { kind: 'rate'; topic: string; run: string; count: number; rate: number };

/** `sentAt[n]`: when intake n was handed to the client (a burst: when its send began). */
export type ProduceReply = { sentAt: number[]; lastAckedAt: number };

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const kafka = new Kafka({
  clientId: 'bench-producer',
  brokers: (process.env.KAFKA_BROKERS ?? '').split(','),
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ idempotent: true });
await producer.connect();

const record = (n: number, run: string) => {
  const { key, value } = numberedIntake(n, run);
  return { key, value, headers: { 'idempotency-key': key } };
};

async function produce(request: ProduceRequest): Promise<ProduceReply> {
  const sentAt: number[] = [];
  if (request.kind === 'burst') {
    for (let from = 0; from < request.count; from += 500) {
      const messages = [];
      for (let n = from; n < Math.min(request.count, from + 500); n++) {
        sentAt.push(now());
        messages.push(record(n, request.run));
      }
      await producer.send({ topic: request.topic, acks: -1, messages });
    }
    return { sentAt, lastAckedAt: now() };
  }
  const begin = now();
  const sends: Promise<unknown>[] = [];
  for (let n = 0; n < request.count; n++) {
    const wait = begin + (n * 1000) / request.rate - now();
    if (wait > 0) await sleep(wait);
    sentAt.push(now());
    sends.push(producer.send({ topic: request.topic, acks: -1, messages: [record(n, request.run)] }));
  }
  await Promise.all(sends);
  return { sentAt, lastAckedAt: now() };
}

process.on('message', (request: ProduceRequest) => {
  produce(request).then(
    (reply) => process.send?.({ ok: true, reply }),
    (error: unknown) => process.send?.({ ok: false, error: String(error) }),
  );
});
process.on('disconnect', () => {
  void producer.disconnect().finally(() => process.exit(0));
});
process.send?.({ ready: true });
