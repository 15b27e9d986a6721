// Outbound WebSocket frames written to the socket together (PROTOCOL §2.5: "write coalescing ...
// at the socket level by writing several frames in one flush").
//
// ws.send costs a header allocation, a cork, two stream writes and an uncork per message. A live
// query sends one QUERY_UPDATE per change per subscriber, so a 100-op batch with 10 subscribers
// meant 1000 of those — more than the writes themselves cost. Messages pushed here during one
// turn of the event loop (until the microtask queue drains) are framed and written as one chunk:
// the same frames on the wire, one write.
//
// Frames are what ws would write: FIN + binary opcode, unmasked (server to client, RFC 6455
// §5.2), smallest length form. The socket is ws's own. With permessage-deflate off, ws never
// holds data back, so whatever ws writes itself (pongs, the close frame) lands between whole
// frames; the connection flushes this writer before its own ws sends and closes, so order holds.

/** The part of a net.Socket this writer uses. */
export interface RawSocket {
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  readonly destroyed: boolean;
}

/** Messages at least this big are written on their own instead of copied into the shared chunk. */
const separateWriteBytes = 64 << 10;

export class FrameWriter {
  readonly #socket: RawSocket;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #isScheduled = false;

  constructor(socket: RawSocket) {
    this.#socket = socket;
  }

  /** Bytes pushed but not yet written to the socket (payloads and frame headers). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Queues one binary message; it is written when the current turn's microtasks have run. */
  push(message: Uint8Array): void {
    this.#pending.push(message);
    this.#pendingBytes += headerLength(message.length) + message.length;
    if (!this.#isScheduled) {
      this.#isScheduled = true;
      queueMicrotask(this.#flushScheduled);
    }
  }

  /** Writes everything pending now (before a send or close that goes through ws). */
  flush(): void {
    const messages = this.#pending;
    if (messages.length === 0) return;
    this.#pending = [];
    const totalBytes = this.#pendingBytes;
    this.#pendingBytes = 0;
    if (this.#socket.destroyed) return;
    if (totalBytes < separateWriteBytes) {
      this.#socket.write(frameAll(messages, 0, messages.length, totalBytes));
      return;
    }
    // Big messages go out as header + payload without a copy; runs of small ones share a chunk.
    this.#socket.cork();
    let runStart = 0;
    let runBytes = 0;
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      if (message.length < separateWriteBytes) {
        runBytes += headerLength(message.length) + message.length;
        continue;
      }
      if (index > runStart) this.#socket.write(frameAll(messages, runStart, index, runBytes));
      const header = new Uint8Array(headerLength(message.length));
      writeHeader(header, 0, message.length);
      this.#socket.write(header);
      this.#socket.write(message);
      runStart = index + 1;
      runBytes = 0;
    }
    if (runStart < messages.length) this.#socket.write(frameAll(messages, runStart, messages.length, runBytes));
    this.#socket.uncork();
  }

  /** Drops everything pending (the connection is going away without a graceful close). */
  discard(): void {
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  readonly #flushScheduled = (): void => {
    this.#isScheduled = false;
    this.flush();
  };
}

/** Frames messages[from..to) into one new buffer of `bytes` bytes. */
function frameAll(messages: readonly Uint8Array[], from: number, to: number, bytes: number): Uint8Array {
  const chunk = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let index = from; index < to; index++) {
    const message = messages[index]!;
    offset = writeHeader(chunk, offset, message.length);
    chunk.set(message, offset);
    offset += message.length;
  }
  return chunk;
}

function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
}

/** Writes a FIN + binary frame header for `payloadLength` at `offset`; returns the offset after it. */
function writeHeader(target: Uint8Array, offset: number, payloadLength: number): number {
  target[offset] = 0x82;
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 0x10000) {
    target[offset + 1] = 126;
    target[offset + 2] = payloadLength >>> 8;
    target[offset + 3] = payloadLength & 0xff;
    return offset + 4;
  }
  target[offset + 1] = 127;
  // 64-bit length: messages are far below 2^32 bytes (limits.frameBytesMax), so the high word is 0.
  target[offset + 2] = 0;
  target[offset + 3] = 0;
  target[offset + 4] = 0;
  target[offset + 5] = 0;
  target[offset + 6] = payloadLength >>> 24;
  target[offset + 7] = (payloadLength >>> 16) & 0xff;
  target[offset + 8] = (payloadLength >>> 8) & 0xff;
  target[offset + 9] = payloadLength & 0xff;
  return offset + 10;
}
