/**
 * AEAD_AES_128_GCM sealing of SRTP packets (RFC 7714), one sealer per viewer key.
 *
 * The system's libcrypto, bound through FFI, seals into a caller's buffer with no allocation: about
 * 0.5 µs per 1,200-byte packet against 13 µs through node:crypto, whose `createCipheriv` builds a
 * Transform stream per call and leaves four buffers of garbage per packet. At 30 viewers of a 4 Mbit/s
 * stream that garbage was most of the service's memory growth. node:crypto stays as the fallback
 * where libcrypto cannot be loaded (no OpenSSL 3, or no `--allow-ffi`).
 */
import { Buffer } from "node:buffer";
import { createCipheriv } from "node:crypto";
import { optionalLibrary } from "../../native_library.ts";

/** Bytes of the GCM authentication tag at the end of each SRTP packet (RFC 7714 §14.2). */
export const GCM_TAG_BYTES = 16;
/** EVP_CIPHER_CTX_ctrl command that copies the tag out after the final step. */
const EVP_CTRL_GCM_GET_TAG = 0x10;

/** Throws RangeError unless a sealed packet fits `out`: libcrypto writes through a raw pointer, unchecked. */
function checkFits(header: Uint8Array, payload: Uint8Array, out: Uint8Array): void {
  const needed = header.byteLength + payload.byteLength + GCM_TAG_BYTES;
  if (needed > out.byteLength) {
    throw new RangeError(`a sealed packet of ${needed} bytes does not fit ${out.byteLength}`);
  }
}

/** Seals RTP packets under one AES-128 session key. */
export interface GcmSealer {
  /**
   * Writes header ‖ encrypted payload ‖ tag into `out` and returns its length in bytes; throws RangeError,
   * writing nothing, when they do not fit.
   */
  seal(nonce: Uint8Array, header: Uint8Array, payload: Uint8Array, out: Uint8Array): number;
  /** Releases what the sealer holds outside the JS heap; it must not be used after. */
  free(): void;
}

const LIBCRYPTO_SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  EVP_EncryptInit_ex: { parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"], result: "i32" },
  EVP_EncryptUpdate: { parameters: ["pointer", "buffer", "buffer", "buffer", "i32"], result: "i32" },
  EVP_EncryptFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libcrypto = Deno.DynamicLibrary<typeof LIBCRYPTO_SYMBOLS>["symbols"];

const libcrypto = optionalLibrary("libcrypto.so.3", LIBCRYPTO_SYMBOLS, "SRTP sealing through node:crypto");

/** A sealer for `key`: libcrypto's when it loads, node:crypto's otherwise. */
export function gcmSealer(key: Uint8Array): GcmSealer {
  const lib = libcrypto();
  return lib ? new LibcryptoGcm(lib, key) : new NodeGcm(key);
}

/** Sealing through libcrypto's EVP interface, one cipher context per key, reused for every packet. */
export class LibcryptoGcm implements GcmSealer {
  readonly #lib: Libcrypto;
  #context: Deno.PointerValue;
  readonly #written = new Uint8Array(4);
  readonly #tag = new Uint8Array(GCM_TAG_BYTES);
  #bodyOf: Uint8Array | undefined;
  #body: Uint8Array | undefined;

  constructor(lib: Libcrypto, key: Uint8Array) {
    this.#lib = lib;
    this.#context = lib.EVP_CIPHER_CTX_new();
    if (this.#context === null) throw new Error("EVP_CIPHER_CTX_new failed");
    if (lib.EVP_EncryptInit_ex(this.#context, lib.EVP_aes_128_gcm(), null, key, null) !== 1) {
      this.free();
      throw new Error("EVP_EncryptInit_ex refused the key");
    }
  }

  seal(nonce: Uint8Array, header: Uint8Array, payload: Uint8Array, out: Uint8Array): number {
    checkFits(header, payload, out);
    const lib = this.#lib;
    const context = this.#context;
    const body = this.#bodyAfter(out, header.byteLength);
    // GCM mode writes nothing at the final step, so the tag is the only output after the payload.
    if (
      lib.EVP_EncryptInit_ex(context, null, null, null, nonce) !== 1 ||
      lib.EVP_EncryptUpdate(context, null, this.#written, header, header.byteLength) !== 1 ||
      lib.EVP_EncryptUpdate(context, body, this.#written, payload, payload.byteLength) !== 1 ||
      lib.EVP_EncryptFinal_ex(context, this.#tag, this.#written) !== 1 ||
      lib.EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, GCM_TAG_BYTES, this.#tag) !== 1
    ) {
      throw new Error("libcrypto could not seal an SRTP packet");
    }
    out.set(header, 0);
    out.set(this.#tag, header.byteLength + payload.byteLength);
    return header.byteLength + payload.byteLength + GCM_TAG_BYTES;
  }

  free(): void {
    if (this.#context !== null) this.#lib.EVP_CIPHER_CTX_free(this.#context);
    this.#context = null;
  }

  /** `out` from `offset` on, as a view kept while the same buffer comes back (it always does). */
  #bodyAfter(out: Uint8Array, offset: number): Uint8Array {
    if (this.#bodyOf !== out || this.#body?.byteOffset !== out.byteOffset + offset) {
      this.#bodyOf = out;
      this.#body = out.subarray(offset);
    }
    return this.#body!;
  }
}

/** Sealing through node:crypto: a cipher per packet. */
export class NodeGcm implements GcmSealer {
  constructor(private readonly key: Uint8Array) {}

  seal(nonce: Uint8Array, header: Uint8Array, payload: Uint8Array, out: Uint8Array): number {
    checkFits(header, payload, out);
    const cipher = createCipheriv("aes-128-gcm", this.key, nonce);
    cipher.setAAD(header);
    const into = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    into.set(header, 0);
    let at = header.byteLength;
    at += cipher.update(payload).copy(into, at);
    at += cipher.final().copy(into, at);
    return at + cipher.getAuthTag().copy(into, at);
  }

  free(): void {}
}
