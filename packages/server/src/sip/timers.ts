/**
 * RFC 3261 timer values (§17.1.1.1 and Table 4, https://www.rfc-editor.org/rfc/rfc3261#page-265)
 * and the clock they run on. The clock is injected so that tests drive the state machines with
 * a fake clock instead of waiting.
 */

/** Round-trip time estimate. */
export const T1_MS = 500;
/** Maximum retransmit interval for non-INVITE requests and INVITE responses. */
export const T2_MS = 4_000;
/** Maximum duration a message will remain in the network. */
export const T4_MS = 5_000;

/** INVITE request retransmit interval starts at T1 and doubles without cap (§17.1.1.2); UDP only. */
export const TIMER_A_MS = T1_MS;
/** INVITE transaction timeout (§17.1.1.2). */
export const TIMER_B_MS = 64 * T1_MS;
/** Wait time for response retransmits after a non-2xx final response (§17.1.1.2); 0 on reliable transports. */
export const TIMER_D_MS = 32_000;
/** Wait time for retransmitted 2xx responses in the Accepted state (RFC 6026 §8.4). */
export const TIMER_M_MS = 64 * T1_MS;
/** INVITE response retransmit interval starts at T1 (§17.2.1); UDP only. */
export const TIMER_G_MS = T1_MS;
/** Wait time for ACK receipt after a non-2xx final response (§17.2.1). */
export const TIMER_H_MS = 64 * T1_MS;
/** Wait time for ACK retransmits (§17.2.1); 0 on reliable transports. */
export const TIMER_I_MS = T4_MS;
/** Wait time for non-INVITE request retransmits (§17.2.2); 0 on reliable transports. */
export const TIMER_J_MS = 64 * T1_MS;
/** Non-INVITE request retransmit interval starts at T1 (§17.1.2.2); UDP only. */
export const TIMER_E_MS = T1_MS;
/** Non-INVITE transaction timeout (§17.1.2.2). */
export const TIMER_F_MS = 64 * T1_MS;
/** Wait time for response retransmits (§17.1.2.2); 0 on reliable transports. */
export const TIMER_K_MS = T4_MS;
/** Wait time for accepted INVITE request retransmits (RFC 6026 §8.7). */
export const TIMER_L_MS = 64 * T1_MS;
/** How long the UAS core retransmits a 2xx to INVITE while waiting for the ACK (§13.3.1.4). */
export const ACK_WAIT_MS = 64 * T1_MS;

export type TimerHandle = unknown;

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** The next retransmit interval: doubled, capped at T2 (§17.2.1, §13.3.1.4, §17.1.2.2). */
export function nextInterval(currentMs: number): number {
  return Math.min(2 * currentMs, T2_MS);
}
