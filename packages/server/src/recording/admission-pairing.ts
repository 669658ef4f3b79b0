/**
 * The two INVITEs of one CUCM call are admitted or refused together (issue 8 point 3): the second
 * leg of an accepted call joins its session whatever the load (the session registry finds it), and
 * the second leg of a refused call is refused too, found here by its pairing key and told from a
 * new attempt of the refused leg itself (same key, same leg), which is judged anew. CUCM sends
 * both legs within milliseconds; a key is kept for `ttlMs` and at most `maxKeys` are kept (the
 * oldest go first), so a flood of refusals costs bounded memory.
 */
export class RefusedCallKeys {
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  /** Key → the refused leg, when it expires and its Retry-After; in insertion order, so oldest first. */
  readonly #keys = new Map<
    string,
    { readonly leg: string; readonly expiresAtMs: number; readonly retryAfterSeconds: number }
  >();

  constructor(options: { readonly ttlMs: number; readonly maxKeys: number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxKeys = options.maxKeys;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Remembers a refused leg (`near` or `far`) of a call; its partner gets the same Retry-After. */
  remember(key: string, leg: string, nowMs: number, retryAfterSeconds: number): void {
    this.#expire(nowMs);
    this.#keys.delete(key);
    while (this.#keys.size >= this.#maxKeys) {
      const oldest = this.#keys.keys().next();
      if (oldest.done === true) {
        break;
      }
      this.#keys.delete(oldest.value);
    }
    this.#keys.set(key, { leg, expiresAtMs: nowMs + this.#ttlMs, retryAfterSeconds });
  }

  /**
   * The Retry-After of the refused partner when the other leg of this call was refused lately. The
   * refused leg itself coming again (the controller retrying the call) is forgotten and judged anew.
   */
  refusedPartner(
    key: string,
    leg: string,
    nowMs: number,
  ): { readonly retryAfterSeconds: number } | undefined {
    this.#expire(nowMs);
    const entry = this.#keys.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.leg === leg) {
      this.#keys.delete(key);
      return undefined;
    }
    return { retryAfterSeconds: entry.retryAfterSeconds };
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
