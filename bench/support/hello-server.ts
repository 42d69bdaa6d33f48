// The baseline of bench/api.ts: fastify's hello-world route, nothing else, in its own process.
import Fastify from 'fastify';

const app = Fastify();
app.get('/', async () => ({ hello: 'world' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ msg: 'service listening', url }));
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
