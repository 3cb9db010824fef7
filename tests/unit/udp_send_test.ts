import assert from "node:assert/strict";
import dgram from "node:dgram";
import { ipBytes, sameSockaddr, sockaddr, UdpRoute } from "../../lib/webrtc/rtp/udp_send.ts";
import { Log } from "../../lib/log.ts";

const log = new Log().logger("test");

Deno.test("IP addresses become their network-order bytes; anything else is refused", () => {
  const cases: [host: string, bytes: number[] | undefined][] = [
    ["192.168.1.20", [192, 168, 1, 20]],
    ["0.0.0.0", [0, 0, 0, 0]],
    ["256.1.1.1", undefined],
    ["::1", [...Array(15).fill(0), 1]],
    ["::", Array(16).fill(0)],
    ["2001:db8::8:800:200c:417a", [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a]],
    ["fe80::1", [0xfe, 0x80, ...Array(13).fill(0), 1]],
    ["::ffff:10.0.0.1", [...Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 1]],
    ["1:2:3:4:5:6:7:8", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ["fe80::1%eth0", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["camera.local", undefined],
  ];
  for (const [host, bytes] of cases) {
    assert.deepEqual(ipBytes(host), bytes && Uint8Array.from(bytes), host);
  }
});

Deno.test("sockaddr lays out family, port and address as Linux reads them", () => {
  assert.deepEqual(
    sockaddr("10.0.0.7", 0x1f90),
    Uint8Array.from([2, 0, 0x1f, 0x90, 10, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]),
  );
  const v6 = sockaddr("::1", 443)!;
  assert.equal(v6.length, 28);
  assert.deepEqual([...v6.subarray(0, 4)], [10, 0, 1, 0xbb]);
  assert.equal(v6[23], 1);
  assert.equal(sockaddr("10.0.0.7", 70000), undefined);
  assert.equal(sockaddr("fe80::1%eth0", 5000), undefined);
});

Deno.test("sockaddrs compare by family, port and address, not padding or flow label", () => {
  const want = sockaddr("10.0.0.7", 5000)!;
  const got = new Uint8Array(28);
  got.set(want);
  got.fill(9, 8, 16);
  assert.ok(sameSockaddr(got, want));
  assert.ok(!sameSockaddr(sockaddr("10.0.0.7", 5001)!, want));
  const want6 = sockaddr("::1", 5000)!;
  const got6 = Uint8Array.from(want6);
  got6[4] = 7;
  assert.ok(sameSockaddr(got6, want6));
  assert.ok(!sameSockaddr(sockaddr("::2", 5000)!, want6));
});

async function bound(type: "udp4" | "udp6", address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  await new Promise<void>((resolve) => socket.bind({ port: 0, address }, resolve));
  return socket;
}

for (const [type, host] of [["udp4", "127.0.0.1"], ["udp6", "::1"]] as const) {
  Deno.test(`a ${type} route sends from the socket's own address and port, until the transport closes`, async () => {
    const sender = await bound(type, host);
    const receiver = await bound(type, host);
    const transport = { closed: false, socket: sender };
    const arrived: { from: number; text: string }[] = [];
    const two = Promise.withResolvers<void>();
    receiver.on("message", (data, info) => {
      arrived.push({ from: info.port, text: new TextDecoder().decode(data) });
      if (arrived.length === 2) two.resolve();
    });
    try {
      const route = UdpRoute.open(transport, [host, receiver.address().port], log);
      assert.ok(route, "no route: libc.so.6 should be loadable with --allow-ffi");
      const data = new TextEncoder().encode("first|second|unsent");
      assert.ok(route.send(data, 5));
      assert.ok(route.send(data.subarray(6), 6));
      await two.promise;
      assert.deepEqual(arrived, [
        { from: sender.address().port, text: "first" },
        { from: sender.address().port, text: "second" },
      ]);
      transport.closed = true;
      assert.equal(route.send(data, 5), false);
    } finally {
      sender.close();
      receiver.close();
    }
  });
}

Deno.test("no route opens for a remote of the other family or a closed transport", async () => {
  const sender = await bound("udp4", "127.0.0.1");
  try {
    assert.equal(UdpRoute.open({ closed: false, socket: sender }, ["::1", 5000], log), undefined);
    assert.equal(UdpRoute.open({ closed: true, socket: sender }, ["127.0.0.1", 5000], log), undefined);
  } finally {
    sender.close();
  }
});
