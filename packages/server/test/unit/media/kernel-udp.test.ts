import { endianness } from 'node:os';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  estimateQueuedDatagrams,
  parseUdpRcvbufErrors,
  parseUdpSocketTable,
  procAddressHex,
} from '../../../src/media/kernel-udp.js';

// Real files of a Linux 6.x host, shortened.
const SNMP = `Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 123456
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 98765 12 744 98000 744 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 99 0 0 0 0
`;
const SNMP6 = `Udp6InDatagrams                 	42
Udp6RcvbufErrors                	5
Udp6SndbufErrors                	0
`;
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 8335: 0100007F:4E20 00000000:0000 07 00000000:00034000 00:00000000 00000000  1000        0 350392 2 0000000080a54651 744
 8336: 0100007F:4E21 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 350393 2 0000000080a54652 0
 8337: 0200007F:4E22 00000000:0000 07 00000000:00000340 00:00000000 00000000  1000        0 350394 2 0000000080a54653 3
 8338: 0100007F:4E22 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 350395 2 0000000080a54654 1
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 00000000000000000000000000000000:4E20 00000000000000000000000000000000:0000 07 00000000:00000680 00:00000000 00000000  1000        0 4242 2 0000000000000000 9
`;

void describe('kernel UDP counters (procfs)', () => {
  void it('reads the host receive-buffer overflows of UDP and UDP6, not UDP-Lite', () => {
    assert.equal(parseUdpRcvbufErrors(SNMP, SNMP6), 749);
    assert.equal(parseUdpRcvbufErrors(SNMP), 744);
    assert.equal(parseUdpRcvbufErrors(''), 0);
  });

  void it('reads the queue and the drops of the wanted ports only', () => {
    const table = parseUdpSocketTable(UDP, new Set([20000, 20001]));
    assert.deepEqual(
      [...table],
      [
        [20000, { rxQueueBytes: 0x34000, drops: 744 }],
        [20001, { rxQueueBytes: 0, drops: 0 }],
      ],
    );
  });

  void it('tells sockets of one port apart by the local address when it is given', () => {
    const local = procAddressHex('127.0.0.1');
    assert.deepEqual(parseUdpSocketTable(UDP, new Set([20002]), local).get(20002), {
      rxQueueBytes: 0,
      drops: 1,
    });
    assert.deepEqual(parseUdpSocketTable(UDP, new Set([20002]), procAddressHex('127.0.0.2')).get(20002), {
      rxQueueBytes: 0x340,
      drops: 3,
    });
  });

  void it('reads /proc/net/udp6 lines the same way', () => {
    assert.deepEqual(parseUdpSocketTable(UDP6, new Set([20000])).get(20000), {
      rxQueueBytes: 0x680,
      drops: 9,
    });
    assert.equal(parseUdpSocketTable('', new Set([20000])).size, 0);
  });

  void it('writes an IPv4 address as the kernel does on this host, and nothing for IPv6', () => {
    assert.equal(procAddressHex('127.0.0.1'), endianness() === 'LE' ? '0100007F' : '7F000001');
    assert.equal(procAddressHex('0.0.0.0'), '00000000');
    assert.equal(procAddressHex('::1'), undefined);
    assert.equal(procAddressHex('localhost'), undefined);
  });

  void it('estimates the datagrams a receive queue holds (832 bytes per G.711 datagram on loopback)', () => {
    assert.equal(estimateQueuedDatagrams(0, 172), 0);
    assert.equal(estimateQueuedDatagrams(20 * 832, 172), 20);
    assert.equal(estimateQueuedDatagrams(100, 172), 1, 'anything queued is at least one datagram');
    assert.equal(estimateQueuedDatagrams(832, 0), 1);
  });
});
