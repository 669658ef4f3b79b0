/**
 * Secrets drawn once and kept in the database (migration 0021), so that they survive a restart
 * and every node sharing the database uses the same: the key of the media tokens
 * (api/media-tokens.ts). Anyone who can read the database can read them; such a reader holds the
 * recordings' metadata and the users' password hashes already.
 */
export interface SharedSecretStore {
  /**
   * The secret stored under `name`; when there is none yet, `created` is stored and answered. Two
   * nodes asking at once get the same secret: the first write wins, the other's value is dropped.
   */
  sharedSecret(name: string, created: string, at: number): Promise<string>;
}

/** The name of the media tokens' HMAC key (base64 of 32 random bytes). */
export const MEDIA_TOKEN_KEY = 'media-token-key';
