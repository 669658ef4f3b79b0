import type { ExpectedSource } from './media-engine.js';

/**
 * Which remote address:port a stream takes RTP from. Until the SDP names the sender, the stream
 * latches onto the first source that sends a valid RTP packet (as RTP proxies do); once the
 * SDP names it, the SDP wins. Every other source is dropped, so a stray or malicious sender
 * cannot inject audio into a recording. Checked once per datagram: string and number compares only.
 */
export class SourcePolicy {
  #address: string | undefined;
  /** 0 while the port is not known yet: any port of #address is taken and latched. */
  #port = 0;
  /** True when the current port was learnt from traffic rather than named by the SDP. */
  #latched = false;
  /** Added before IPv4 addresses when the socket is IPv6 (dual stack reports mapped addresses). */
  readonly #mappedPrefix: string;

  constructor(ipv6Socket = false) {
    this.#mappedPrefix = ipv6Socket ? '::ffff:' : '';
  }

  /** True when a datagram from this source may be stored (before the RTP check). */
  allows(address: string, port: number): boolean {
    if (this.#address === undefined) {
      return true;
    }
    return address === this.#address && (this.#port === 0 || port === this.#port);
  }

  /** Called after a valid RTP packet from an allowed source: latches what is still open. */
  accept(address: string, port: number): void {
    if (this.#address === undefined) {
      this.#address = address;
    }
    if (this.#port === 0) {
      this.#port = port;
      this.#latched = true;
    }
  }

  /**
   * The sender the SDP names (c= address, m= port; port 0 when unknown). When it is the address
   * the stream already latched, the latched port stays: a sender behind NAT or with asymmetric
   * ports may send from another port than it receives on. A different address replaces the
   * latched source, and so does `relearn` (the sender's SDP changed: its port is learnt again).
   * `undefined` keeps the current source: forgetting an expectation must not open the stream to
   * anyone.
   */
  expect(source: ExpectedSource | undefined): void {
    if (source === undefined) {
      return;
    }
    const address = this.#normalise(source.address);
    if (this.#latched && address === this.#address && source.relearn !== true) {
      return;
    }
    this.#address = address;
    this.#port = source.port;
    this.#latched = false;
  }

  /** The source datagrams are accepted from, for logs and tests. */
  get current(): { readonly address: string; readonly port: number } | undefined {
    return this.#address === undefined ? undefined : { address: this.#address, port: this.#port };
  }

  #normalise(address: string): string {
    if (this.#mappedPrefix !== '' && !address.includes(':')) {
      return this.#mappedPrefix + address;
    }
    return address;
  }
}
