import { createHash } from 'node:crypto';

/**
 * The realm of RTSP Digest authentication, and HA1 = MD5(username:realm:password) (RFC 2617
 * §3.2.2.2), the only secret from which a Digest response can be checked. It is stored beside the
 * scrypt hash (db migration 0012) when a password is set or proved. It is password-equivalent for
 * this realm only (MD5 is what RTSP clients do: ffmpeg, GStreamer and MediaSense-era players offer
 * no SHA-256), so it is kept out of logs and answers like the scrypt hash.
 */
export const RTSP_DIGEST_REALM = 'Verbatim';

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export function digestHa1(username: string, password: string): string {
  return md5Hex(`${username}:${RTSP_DIGEST_REALM}:${password}`);
}
