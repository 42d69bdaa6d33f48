import { mkdir, open, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { generateKey } from '../eventsourcing/protection/envelope.ts';
import { createFileKeyRecords, keyFilePaths } from '../eventsourcing/protection/file-key-records.ts';
import { createKeyStore, type Kek, type KeyStore } from '../eventsourcing/protection/key-store.ts';
import { createMongoKeyRecords } from '../eventsourcing/protection/mongo-key-records.ts';
import type { Config } from './config.ts';

/** Id of a KEK the embedded mode generated; name it in PERSONAL_DATA_PREVIOUS_KEKS to move off it. */
export const GENERATED_KEK_ID = 'embedded-generated';

/**
 * The embedded mode's KEK when none is configured: read from DATA_DIR, or generated there (mode
 * 0600) on first start. Next to the data it protects, so it protects nothing against a copy of
 * that directory: fit for trying the service out, said in a warning at every start.
 */
async function embeddedKek(dataDir: string, logger: Logger): Promise<Kek> {
  const path = keyFilePaths(dataDir).kek;
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  let key: Buffer;
  if (existing === null) {
    key = generateKey();
    await mkdir(dataDir, { recursive: true });
    // 'wx': two processes on one data directory cannot both create it.
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(`${key.toString('base64')}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
  } else {
    key = Buffer.from(existing.trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte key in base64`);
  }
  logger.warn(
    { path },
    'PERSONAL_DATA_KEK is not set: personal data keys are wrapped by a key generated into the data directory; set PERSONAL_DATA_KEK outside the embedded mode',
  );
  return { id: GENERATED_KEK_ID, key };
}

/**
 * The key store of the personal-data keys: a collection beside the read models when they are in
 * MongoDB (`personal_data_keys`), else a file in DATA_DIR. Keys still wrapped by a previous KEK
 * are rewrapped with the current one before the store is handed out.
 */
export async function openKeyStore(config: Readonly<Config>, logger: Logger): Promise<KeyStore> {
  const kek = config.personalData.kek ?? (await embeddedKek(config.dataDir, logger));
  const records =
    config.mongoUrl === undefined
      ? await createFileKeyRecords(keyFilePaths(config.dataDir).keys)
      : await createMongoKeyRecords({ url: config.mongoUrl, database: config.mongoDatabase });
  const keyStore = createKeyStore({ records, kek, previousKeks: config.personalData.previousKeks });
  if (config.personalData.previousKeks.length > 0) {
    try {
      const rewrapped = await keyStore.rewrapAll();
      logger.info(
        { rewrapped, kekId: kek.id },
        'personal data keys rewrapped with the current KEK: PERSONAL_DATA_PREVIOUS_KEKS can be removed',
      );
    } catch (error) {
      await keyStore.close();
      throw error;
    }
  }
  return keyStore;
}
