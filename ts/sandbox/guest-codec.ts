// What crosses into the guest and back (the format is described at the top of
// ts/sandbox/guest/evaluator.js): JSON text, because QuickJS parses and prints JSON in native
// code (a MessagePack codec written in JS would run interpreted, ~100× slower per byte).
//
// JSON lacks two things a MessagePack value may hold (PROTOCOL §4.6): byte arrays and non-finite
// numbers. They are tagged as {"\u0000tg": "bin" | "num", "d": ...} on the way in (and the guest
// is told, so it revives them and tags them again on the way out). BigInts become numbers, as
// TopGun's deserialize() does; `undefined` behaves as TopGun's serialize() makes it behave
// (dropped from objects, nil inside arrays).

/** The key that marks a tagged value. A user object with this exact key is read as a tag. */
const tagKey = "\u0000tg";
/** How the tag key looks inside JSON text. */
const tagKeyInJson = '"\\u0000tg"';

export interface GuestInput {
  /** JSON text. */
  readonly text: string;
  /** Whether the text holds tagged values (the guest then revives them). */
  readonly isTagged: boolean;
}

/** The input of an entry processor: `value` (undefined when the key has no live value), key, args. */
export function encodeProcessorInput(value: unknown, key: string, args: unknown): GuestInput {
  return encode({ v: value, k: key, a: args });
}

/** The input of a conflict resolver: its context object (PROTOCOL §17). */
export function encodeResolverInput(context: unknown): GuestInput {
  return encode({ c: context });
}

function encode(input: object): GuestInput {
  let isTagged = false;
  const text = JSON.stringify(input, function tagSpecial(this: Record<string, unknown>, key: string, value: unknown): unknown {
    // `value` went through toJSON already (a Buffer's gives {type, data}): look at the original.
    const original = this[key];
    if (original instanceof Uint8Array) {
      isTagged = true;
      return { [tagKey]: "bin", d: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString("base64") };
    }
    switch (typeof value) {
      case "number":
        if (Number.isFinite(value)) return value;
        isTagged = true;
        return { [tagKey]: "num", d: String(value) };
      case "bigint":
        return Number(value);
      default:
        return value;
    }
  });
  return { text, isTagged };
}

/** The JSON text the guest returned, as a value (tagged values revived). Throws SyntaxError on bad JSON. */
export function decodeGuestOutput(text: string): unknown {
  return text.includes(tagKeyInJson) ? JSON.parse(text, reviveTagged) : JSON.parse(text);
}

function reviveTagged(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || !(tagKey in value)) return value;
  const tagged = value as { [tagKey]: unknown; d?: unknown };
  if (typeof tagged.d !== "string") return value;
  if (tagged[tagKey] === "num") return Number(tagged.d);
  if (tagged[tagKey] === "bin") return new Uint8Array(Buffer.from(tagged.d, "base64"));
  return value;
}
