// Readiness probe for the test FerretDB, run by scripts/services.sh:
//   node tools/ferretdb/ready.mjs <mongodb url> <server pid> <timeout seconds>
// Ready means a `ping` answered through the same driver the service uses.
import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';

const [url, pidText, timeoutText] = process.argv.slice(2);
if (!url || !pidText || !timeoutText) {
  console.error('usage: ready.mjs <mongodb url> <pid> <timeout seconds>');
  process.exit(2);
}
const pid = Number(pidText);
const deadline = Date.now() + Number(timeoutText) * 1000;

// A crashed server can linger as a zombie until services.sh reaps it, so read its state.
function alive() {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function ping() {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => {});
  }
}

let lastError = 'no attempt made';
while (Date.now() < deadline) {
  if (!alive()) {
    console.error(
      `ferretdb: the server process ${pid} exited before it was ready (last error: ${lastError})`,
    );
    process.exit(1);
  }
  try {
    await ping();
    process.exit(0);
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
console.error(`ferretdb: not ready at ${url} after ${timeoutText} s (last error: ${lastError})`);
process.exit(1);
