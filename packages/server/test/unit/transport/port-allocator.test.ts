import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { PortAllocator, PortsExhaustedError } from '../../../src/transport/port-allocator.js';

void describe('PortAllocator', () => {
  void it('hands out even ports only, leaving port + 1 for RTCP inside the range (RFC 3550 §11)', () => {
    const allocator = new PortAllocator(10001, 10010);
    // Pairs fitting in 10001-10010: 10002/3, 10004/5, 10006/7, 10008/9 (10010/11 does not fit).
    assert.equal(allocator.capacity, 4);
    const ports = [allocator.allocate(), allocator.allocate(), allocator.allocate(), allocator.allocate()];
    assert.deepEqual(ports, [10002, 10004, 10006, 10008]);
    assert.equal(allocator.allocate(), undefined);
    assert.equal(allocator.inUse, 4);
  });

  void it('is round-robin: a released port is reused only after the others', () => {
    const allocator = new PortAllocator(20000, 20007);
    assert.equal(allocator.allocate(), 20000);
    assert.equal(allocator.allocate(), 20002);
    assert.equal(allocator.release(20000), true);
    assert.equal(allocator.allocate(), 20004);
    assert.equal(allocator.allocate(), 20006);
    // Wrapped around: 20000 is free again, 20002 is still taken.
    assert.equal(allocator.allocate(), 20000);
    assert.equal(allocator.allocate(), undefined);
  });

  void it('ignores releases of ports it did not hand out', () => {
    const allocator = new PortAllocator(30000, 30003);
    assert.equal(allocator.release(30000), false);
    assert.equal(allocator.release(30001), false);
    assert.equal(allocator.release(40000), false);
    const port = allocator.allocate();
    assert.equal(port, 30000);
    assert.equal(allocator.isAllocated(30000), true);
    assert.equal(allocator.release(30000), true);
    assert.equal(allocator.release(30000), false);
    assert.equal(allocator.inUse, 0);
  });

  void it('rejects ranges without a single even/odd pair', () => {
    assert.throws(() => new PortAllocator(5001, 5001), RangeError);
    assert.throws(() => new PortAllocator(5002, 5002), RangeError);
    assert.throws(() => new PortAllocator(6000, 5000), RangeError);
    assert.throws(() => new PortAllocator(0, 100), RangeError);
    assert.equal(new PortAllocator(5002, 5003).capacity, 1);
  });

  void describe('acquire', () => {
    const sockets: Socket[] = [];
    after(async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    });

    function bindUdp(port: number): Promise<Socket> {
      return new Promise((resolve, reject) => {
        const socket = createSocket('udp4');
        socket.once('error', (error) => {
          socket.close();
          reject(error);
        });
        socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
          sockets.push(socket);
          resolve(socket);
        });
      });
    }

    void it('skips a port held by someone else (EADDRINUSE) and releases it', async () => {
      // Hold an even port that the system just showed free, and offer a two-pair range from it.
      let base = 0;
      for (let attempt = 0; attempt < 20 && base === 0; attempt++) {
        const probe = await bindUdp(0);
        const candidate = probe.address().port & ~1;
        if (candidate !== probe.address().port && (await bindUdp(candidate).catch(() => undefined))) {
          base = candidate;
        } else if (candidate === probe.address().port) {
          base = candidate;
        }
      }
      assert.notEqual(base, 0, 'no even port could be held for the test');
      const allocator = new PortAllocator(base, base + 3);
      const tried: number[] = [];
      const acquired = await allocator.acquire(async (port) => {
        tried.push(port);
        return bindUdp(port);
      });
      assert.deepEqual(tried, [base, base + 2]);
      assert.equal(acquired.port, base + 2);
      assert.equal(allocator.isAllocated(base), false);
      assert.equal(allocator.isAllocated(base + 2), true);
    });

    void it('throws PortsExhaustedError when every port is busy, holding none', async () => {
      const allocator = new PortAllocator(40000, 40005);
      const busy = Object.assign(new Error('busy'), { code: 'EADDRINUSE' });
      await assert.rejects(
        allocator.acquire(() => Promise.reject(busy)),
        { name: 'PortsExhaustedError', code: 'VERBATIM_ERR_TRANSPORT_PORTS_EXHAUSTED' },
      );
      assert.equal(allocator.inUse, 0);
    });

    void it('rethrows other bind errors after releasing the port', async () => {
      const allocator = new PortAllocator(40000, 40005);
      await assert.rejects(
        allocator.acquire(() => Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' }))),
        /denied/,
      );
      assert.equal(allocator.inUse, 0);
    });

    void it('throws PortsExhaustedError when the range is fully allocated', async () => {
      const allocator = new PortAllocator(40000, 40001);
      allocator.allocate();
      await assert.rejects(
        allocator.acquire(() => Promise.resolve('never')),
        PortsExhaustedError,
      );
    });
  });
});
