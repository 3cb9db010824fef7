/** One message of the WebSocket player output, split into its parts. */
export interface PlayerMessage {
  /** The access unit, Annex-B. */
  data: Uint8Array;
  /** The capture time the service appended (ms since the epoch). */
  captureMs: number;
  /** When this client received it (ms since the epoch). */
  receivedMs: number;
}

/** A WebSocket player client that records every message it gets. */
export class WsPlayer {
  readonly messages: PlayerMessage[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve());
      this.socket.addEventListener(
        "error",
        (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`)),
      );
    });
    this.closed = new Promise((resolve) => this.socket.addEventListener("close", resolve));
    this.socket.addEventListener("message", (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      const captureMs = Number(new DataView(bytes.buffer).getBigUint64(bytes.length - 8, true));
      this.messages.push({ data: bytes.subarray(0, bytes.length - 8), captureMs, receivedMs: Date.now() });
    });
  }

  /** Messages received after `sinceMs`. */
  since(sinceMs: number): PlayerMessage[] {
    return this.messages.filter((m) => m.receivedMs > sinceMs);
  }

  /** Closes the socket and waits for the close to finish. */
  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

/**
 * A WebSocket upgrade on a raw connection that is then never read: what a frozen tab or a hostile
 * client leaves on a server. Resolves with the connection and the status line's code.
 */
export async function stalledUpgrade(
  url: string,
  path: string,
): Promise<{ conn: Deno.TcpConn; status: number }> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const head = new Uint8Array(512);
  const n = await conn.read(head);
  const status = Number(
    /^HTTP\/1\.1 (\d+)/.exec(new TextDecoder().decode(head.subarray(0, n ?? 0)))?.[1] ?? 0,
  );
  return { conn, status };
}
