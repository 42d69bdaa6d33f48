import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// AES-256-GCM with a fresh random 96-bit nonce per seal: per-subject keys seal a handful of
// messages each, far below the 2^32 a random nonce allows under one key. The associated data is
// authenticated, not stored: the reader rebuilds it from where it found the ciphertext, so a
// ciphertext copied to another event, stream or key fails to open.

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** A sealed value as stored: nonce and ciphertext‖tag, both base64. */
export type Sealed = { iv: string; ct: string };

export type Opened = { outcome: 'ok'; plaintext: string } | { outcome: 'tampered'; reason: string };

/** Encrypts and authenticates `plaintext` with `associatedData`; throws only on a key of the wrong size. */
export function seal(key: Buffer, plaintext: string, associatedData: string): Sealed {
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256 key has ${KEY_BYTES} bytes, got ${key.length}`);
  const iv = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { iv: iv.toString('base64'), ct: ct.toString('base64') };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Opens what {@link seal} made with the same key and associated data. Anything else (a changed
 * byte, other associated data, a malformed value from storage) is `tampered`, never a throw.
 */
export function open(key: Buffer, sealed: unknown, associatedData: string): Opened {
  if (sealed === null || typeof sealed !== 'object')
    return { outcome: 'tampered', reason: 'not a sealed value' };
  const { iv, ct } = sealed as Record<string, unknown>;
  if (typeof iv !== 'string' || typeof ct !== 'string' || !BASE64.test(iv) || !BASE64.test(ct)) {
    return { outcome: 'tampered', reason: 'malformed nonce or ciphertext' };
  }
  const nonce = Buffer.from(iv, 'base64');
  const body = Buffer.from(ct, 'base64');
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
    return { outcome: 'tampered', reason: 'nonce or ciphertext of the wrong length' };
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plaintext = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return { outcome: 'ok', plaintext: plaintext.toString('utf8') };
  } catch {
    // final() throws when the tag does not authenticate ciphertext and associated data.
    return { outcome: 'tampered', reason: 'authentication failed' };
  }
}

/** A new random data or key-encryption key. */
export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}
