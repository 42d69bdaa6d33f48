/**
 * The key-encryption key tests give a service that uses real servers (EVENTSTORE_URL or
 * MONGODB_URL refuse to start without one). A fixed test value, never a deployment's.
 */
export const testPersonalDataEnv = {
  PERSONAL_DATA_KEK: 'E+7WIi4r5FWck0Fe9sBz5kx2shrNne8BOEnQCWsO+Oc=',
  PERSONAL_DATA_KEK_ID: 'test-kek',
} as const;
