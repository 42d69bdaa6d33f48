// A service for bench/personal-data-reads.ts and bench/read-model-sealing.ts: the embedded
// service as `main.ts` starts it, with the recording of personal-data reads on or off
// (BENCH_RECORD_READS=off) and the read models' personal fields sealed or not
// (BENCH_PROTECT_READ_MODELS=off).
import { pino } from 'pino';
import { loadConfig } from '../../src/app/config.ts';
import { startService } from '../../src/app/service.ts';

const service = await startService(loadConfig(process.env), pino({ level: 'warn' }), {
  recordPersonalDataReads: process.env.BENCH_RECORD_READS !== 'off',
  protectReadModels: process.env.BENCH_PROTECT_READ_MODELS !== 'off',
});
console.log(JSON.stringify({ msg: 'service listening', url: service.url }));
process.once('SIGTERM', () => void service.stop().then(() => process.exit(0)));
