// Benchmark helper, run as its own process so the players never share the service's event loop:
// opens N WebSocket players on a URL for a while and prints, per message, the 8-byte capture
// time, the payload length and the sub-millisecond wall-clock time it arrived.
const [url, countText, secondsText] = Deno.args;
const count = Number(countText);
const rows: [number, number, number][] = [];
const sockets = Array.from({ length: count }, () => {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => {
    const arrivedMs = performance.timeOrigin + performance.now();
    const bytes = event.data as ArrayBuffer;
    const captureMs = Number(new DataView(bytes).getBigUint64(bytes.byteLength - 8, true));
    rows.push([captureMs, bytes.byteLength - 8, arrivedMs]);
  };
  return socket;
});
await new Promise((resolve) => setTimeout(resolve, Number(secondsText) * 1000));
for (const socket of sockets) socket.close();
console.log(JSON.stringify(rows));
