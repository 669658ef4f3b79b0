/**
 * The two INVITEs of one CUCM call are admitted or refused together (issue 8 point 3): the second
 * leg of an accepted call joins its session whatever the load (the session registry finds it), and
 * the second leg of a refused call is refused too, found here by its pairing key. CUCM sends both
 * legs within milliseconds; a key is kept for `ttlMs` and at most `maxKeys` are kept (the oldest go
 * first), so a flood of refusals costs bounded memory.
 */
export class RefusedCallKeys {
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  /** Key → when it expires and the partner's Retry-After; in insertion order, so oldest first. */
  readonly #keys = new Map<string, { readonly expiresAtMs: number; readonly retryAfterSeconds: number }>();

  constructor(options: { readonly ttlMs: number; readonly maxKeys: number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxKeys = options.maxKeys;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Remembers a refused leg's call; its partner gets the same Retry-After. */
  remember(key: string, nowMs: number, retryAfterSeconds: number): void {
    this.#expire(nowMs);
    this.#keys.delete(key);
    while (this.#keys.size >= this.#maxKeys) {
      const oldest = this.#keys.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.#keys.delete(oldest.value);
    }
    this.#keys.set(key, { expiresAtMs: nowMs + this.#ttlMs, retryAfterSeconds });
  }

  /** The Retry-After of the refused partner when this call had a leg refused lately. */
  refusedPartner(key: string, nowMs: number): { readonly retryAfterSeconds: number } | undefined {
    this.#expire(nowMs);
    const entry = this.#keys.get(key);
    return entry === undefined ? undefined : { retryAfterSeconds: entry.retryAfterSeconds };
  }

  /** Every key has the same lifetime, so the expired ones are at the front. */
  #expire(nowMs: number): void {
    for (const [key, entry] of this.#keys) {
      if (entry.expiresAtMs > nowMs) {
        return;
      }
      this.#keys.delete(key);
    }
  }
}
