// Validation of every inbound message (PROTOCOL §2.9): the TS server's schema for all 77 message
// types (§6), written by hand because it runs on every message (~1M/s target).
//
// What it does, as the TS server's schema did:
// * checks the discriminator `type` against the catalogue (message-types.ts), then the fields of
//   that type: required/optional, nil only where §6 allows it, strings, finite numbers (any
//   MessagePack numeric width arrives as a JS number), booleans, closed sets, nested structures;
// * normalises: protocol structures are rebuilt with their known keys only (unknown keys are
//   dropped, e.g. the `timestamp`/`synced` of the client's op-log entries), every Timestamp's
//   millis/counter become numbers (a BigInt is accepted and converted); user values (record
//   values, topic data, processor args, where clauses, predicate values, details, …) are kept
//   as the same objects, untouched;
// * reports issues `{ path, code, message }` (zod's codes and wording, for ERROR.details).
//   Messages never echo input values, so an ERROR is never bigger than a fixed bound.
//
// Where we are deliberately more lenient than the reference (allowed by §2.9), each also marked
// at its code and tested:
// * COUNTER_SYNC/RESPONSE/UPDATE `state` may be spelled {positive, negative} (what TopGun's
//   client sends, §4.5); it is normalised to {p, n}. The reference rejects it.
// Where we may be stricter (limits the reference lacks; no TopGun client comes near them):
// * user values nested deeper than limits.inboundValueDepthMax and predicates deeper than
//   limits.predicateDepthMax are invalid (the reference recursed without bound).
// * BATCH `data` must be binary (a byte array); see batch-envelope.ts.
// Where §6/§20 do not say and we chose (only server-originated types, which the server ignores):
// * the top-level `timestamp` of SERVER_EVENT/SERVER_BATCH_EVENT is dropped like any unknown key;
// * cluster-only fields of unstated type (CLUSTER_SUB_REGISTER queryPredicate/querySort,
//   CLUSTER_SUB_UPDATE timestamp) are kept as user values; CLUSTER_SEARCH_REQ options.limit is
//   optional but 1..1000 when present.
//
// Implementation: one module-level path stack and issue list, reset per call (the function is
// synchronous and never re-entered); helpers write fields into the output object; the hot
// structures (ClientOp, records, Timestamp) read their fields directly. Output is only returned
// when there was no issue, so a helper that records an issue may return any placeholder.

import { assert, err, limits, ok, type Result, type Timestamp } from "../core/index.js";
import { MESSAGE_TYPES, type MessageType } from "./message-types.js";
import {
  JOURNAL_EVENT_TYPES,
  SORT_ORDERS,
  WIRE_PREDICATE_OPS,
  WRITE_CONCERNS,
  type ClientOp,
  type WriteConcern,
  type LwwRecordWire,
  type OrMapRecordWire,
  type PredicateNodeWire,
  type ValidMessage,
} from "./messages.js";

/** Issue codes, a subset of zod's (the TS server's validator), so ERROR.details read alike. */
export const VALIDATION_ISSUE_CODES = ["invalid_type", "invalid_value", "too_small", "too_big", "invalid_union"] as const;
export type ValidationIssueCode = (typeof VALIDATION_ISSUE_CODES)[number];

export interface ValidationIssue {
  /** Keys and array indexes from the message root to the offending value. */
  readonly path: readonly (string | number)[];
  readonly code: ValidationIssueCode;
  readonly message: string;
}

/** Closed sets of §6 that only server-originated messages use. */
const SERVER_EVENT_TYPES = ["PUT", "REMOVE", "OR_ADD", "OR_REMOVE"] as const;
const CHANGE_TYPES = ["ENTER", "UPDATE", "LEAVE"] as const;
const CURSOR_STATUSES = ["valid", "expired", "invalid", "none"] as const;
const NODE_STATUSES = ["ACTIVE", "JOINING", "LEAVING", "SUSPECTED", "FAILED"] as const;
const CLUSTER_SUBSCRIPTION_TYPES = ["SEARCH", "QUERY"] as const;

/** String lengths (UTF-16 code units, as the reference counts) of §15 and §17. */
const processorNameLength = { min: 1, max: 100 } as const;
const processorCodeLength = { min: 1, max: 10_000 } as const;
const resolverCodeLength = { min: 0, max: 50_000 } as const;
const resolverPriority = { min: 0, max: 100 } as const;
const clusterSearchLimit = { min: 1, max: 1000 } as const;

assert(limits.inboundValueDepthMax >= limits.valueDepthMax, "limits: inboundValueDepthMax must not refuse values the core accepts");
assert(limits.validationIssuesMax >= 1, "limits: validationIssuesMax must allow one issue");

type Raw = Record<string, unknown>;
type Out = Record<string, unknown>;
/** Fills `out` with the checked fields of `source`; records issues for the bad ones. */
type Check = (source: Raw, out: Out) => void;
/** Checks one array element; returns its normalised form. */
type ItemCheck = (item: unknown) => unknown;

// ---------------------------------------------------------------------------------------------
// State of the current call.

const path: (string | number)[] = [];
let issues: ValidationIssue[] | null = null;

function isFull(): boolean {
  return issues !== null && issues.length >= limits.validationIssuesMax;
}

/** Records an issue at the current path, plus `key` when given. Past the limit, drops it. */
function addIssue(key: string | number | undefined, code: ValidationIssueCode, message: string): void {
  issues ??= [];
  if (issues.length >= limits.validationIssuesMax) return;
  const issuePath = path.slice();
  if (key !== undefined) issuePath.push(key);
  issues.push({ path: issuePath, code, message });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (ArrayBuffer.isView(value)) return "bytes";
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : "Infinity";
  return typeof value;
}

function typeIssue(key: string | number | undefined, expected: string, received: unknown): void {
  addIssue(key, "invalid_type", `Invalid input: expected ${expected}, received ${describe(received)}`);
}

/** A map in the protocol sense: a non-null, non-array object that is not a byte array. */
function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

// ---------------------------------------------------------------------------------------------
// User values: kept as they are, only their nesting is bounded.

/** True when `container` holds maps/arrays nested more than `levelsLeft` deep (itself counts). */
function valueDepthExceeds(container: object, levelsLeft: number): boolean {
  if (levelsLeft <= 0) return true;
  if (Array.isArray(container)) {
    for (let index = 0; index < container.length; index++) {
      const item: unknown = container[index];
      if (typeof item === "object" && item !== null && !ArrayBuffer.isView(item) && valueDepthExceeds(item, levelsLeft - 1)) return true;
    }
    return false;
  }
  const record = container as Raw;
  for (const key in record) {
    const item = record[key];
    if (typeof item === "object" && item !== null && !ArrayBuffer.isView(item) && valueDepthExceeds(item, levelsLeft - 1)) return true;
  }
  return false;
}

function checkValueDepth(key: string, value: unknown): void {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return;
  if (valueDepthExceeds(value, limits.inboundValueDepthMax)) {
    addIssue(key, "too_big", `Too big: expected nesting of at most ${limits.inboundValueDepthMax} levels`);
  }
}

/** A user value (`any` in §6): copied when present (nil included), absent stays absent. */
function userValue(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (value === undefined) return;
  checkValueDepth(key, value);
  out[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Field helpers for the long tail of message types.

function requireString(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (typeof value === "string") out[key] = value;
  else typeIssue(key, "string", value);
}

function optionalString(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (value === undefined) return;
  if (typeof value === "string") out[key] = value;
  else typeIssue(key, "string", value);
}

function lengthIssues(key: string, value: string, min: number, max: number): void {
  if (value.length < min) addIssue(key, "too_small", `Too small: expected string to have >=${min} characters`);
  if (value.length > max) addIssue(key, "too_big", `Too big: expected string to have <=${max} characters`);
}

function requireStringLength(source: Raw, key: string, length: { readonly min: number; readonly max: number }, out: Out): void {
  const value = source[key];
  if (typeof value !== "string") return typeIssue(key, "string", value);
  lengthIssues(key, value, length.min, length.max);
  out[key] = value;
}

function requireNumber(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (isFiniteNumber(value)) out[key] = value;
  else typeIssue(key, "number", value);
}

function optionalNumber(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (value === undefined) return;
  if (isFiniteNumber(value)) out[key] = value;
  else typeIssue(key, "number", value);
}

function requireBoolean(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (typeof value === "boolean") out[key] = value;
  else typeIssue(key, "boolean", value);
}

function optionalBoolean(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (value === undefined) return;
  if (typeof value === "boolean") out[key] = value;
  else typeIssue(key, "boolean", value);
}

function enumIssue(key: string | number | undefined, options: readonly string[]): void {
  addIssue(key, "invalid_value", `Invalid option: expected one of ${options.map((option) => JSON.stringify(option)).join("|")}`);
}

function isOneOf(value: unknown, options: readonly string[]): boolean {
  return typeof value === "string" && options.includes(value);
}

function requireEnum(source: Raw, key: string, options: readonly string[], out: Out): void {
  const value = source[key];
  if (isOneOf(value, options)) out[key] = value;
  else enumIssue(key, options);
}

function optionalEnum(source: Raw, key: string, options: readonly string[], out: Out): void {
  const value = source[key];
  if (value === undefined) return;
  if (isOneOf(value, options)) out[key] = value;
  else enumIssue(key, options);
}

/** A nested protocol structure, rebuilt by `check`. */
function requireObject(source: Raw, key: string, check: Check, out: Out): void {
  const value = source[key];
  if (!isObject(value)) return typeIssue(key, "object", value);
  const nested: Out = {};
  path.push(key);
  check(value, nested);
  path.pop();
  out[key] = nested;
}

function optionalObject(source: Raw, key: string, check: Check, out: Out): void {
  if (source[key] === undefined) return;
  requireObject(source, key, check, out);
}

/** An array of protocol items, each normalised by `checkItem` (which records its own issues). */
function requireArray(source: Raw, key: string, checkItem: ItemCheck, out: Out): void {
  const value = source[key];
  if (!Array.isArray(value)) return typeIssue(key, "array", value);
  out[key] = checkArray(key, value, checkItem);
}

function optionalArray(source: Raw, key: string, checkItem: ItemCheck, out: Out): void {
  if (source[key] === undefined) return;
  requireArray(source, key, checkItem, out);
}

function checkArray(key: string, items: readonly unknown[], checkItem: ItemCheck): unknown[] {
  const checked = new Array<unknown>(items.length);
  path.push(key);
  for (let index = 0; index < items.length && !isFull(); index++) {
    path.push(index);
    checked[index] = checkItem(items[index]);
    path.pop();
  }
  path.pop();
  return checked;
}

/** Item check for a structure: the item must be a map, rebuilt by `check`. */
function objectItem(item: unknown, check: Check): Out {
  const out: Out = {};
  if (isObject(item)) check(item, out);
  else typeIssue(undefined, "object", item);
  return out;
}

function stringItem(item: unknown): unknown {
  if (typeof item !== "string") typeIssue(undefined, "string", item);
  return item;
}

function requireStringArray(source: Raw, key: string, out: Out): void {
  requireArray(source, key, stringItem, out);
}

function optionalStringArray(source: Raw, key: string, out: Out): void {
  optionalArray(source, key, stringItem, out);
}

/** Checks one entry of a record; records its own issue (keyed by `entryKey`) when invalid. */
type EntryCheck = (entryKey: string, entry: unknown) => void;

/**
 * A map from arbitrary keys to values checked by `checkEntry` (zod's record). Keys are data, so
 * the same object is kept: there is nothing to strip and nothing to convert.
 */
function requireRecord(source: Raw, key: string, checkEntry: EntryCheck, out: Out): void {
  const value = source[key];
  if (!isObject(value)) return typeIssue(key, "record", value);
  path.push(key);
  for (const entryKey in value) {
    if (isFull()) break;
    checkEntry(entryKey, value[entryKey]);
  }
  path.pop();
  out[key] = value;
}

function optionalRecord(source: Raw, key: string, checkEntry: EntryCheck, out: Out): void {
  if (source[key] === undefined) return;
  requireRecord(source, key, checkEntry, out);
}

function numberEntry(entryKey: string, entry: unknown): void {
  if (!isFiniteNumber(entry)) typeIssue(entryKey, "number", entry);
}

function sortOrderEntry(entryKey: string, entry: unknown): void {
  if (!isOneOf(entry, SORT_ORDERS)) enumIssue(entryKey, SORT_ORDERS);
}

// ---------------------------------------------------------------------------------------------
// Timestamps and records: hot (every op), so fields are read directly.

interface RawTimestamp {
  readonly millis?: unknown;
  readonly counter?: unknown;
  readonly nodeId?: unknown;
}

const placeholderTimestamp: Timestamp = Object.freeze({ millis: 0, counter: 0, nodeId: "" });

/** millis/counter that is not a finite number: a BigInt is converted (§2.9), anything else is an issue. */
function timestampNumber(value: unknown, key: string, field: string): number {
  if (typeof value === "bigint") return Number(value);
  path.push(key);
  typeIssue(field, "number", value);
  path.pop();
  return 0;
}

function readTimestamp(value: unknown, key: string): Timestamp {
  if (!isObject(value)) {
    typeIssue(key, "object", value);
    return placeholderTimestamp;
  }
  const raw = value as RawTimestamp;
  let millis = raw.millis;
  let counter = raw.counter;
  const nodeId = raw.nodeId;
  if (!isFiniteNumber(millis)) millis = timestampNumber(millis, key, "millis");
  if (!isFiniteNumber(counter)) counter = timestampNumber(counter, key, "counter");
  if (typeof nodeId !== "string") {
    path.push(key);
    typeIssue("nodeId", "string", nodeId);
    path.pop();
    return placeholderTimestamp;
  }
  return { millis: millis as number, counter: counter as number, nodeId };
}

function requireTimestamp(source: Raw, key: string, out: Out): void {
  out[key] = readTimestamp(source[key], key);
}

interface RawRecord {
  readonly value?: unknown;
  readonly timestamp?: unknown;
  readonly tag?: unknown;
  readonly ttlMs?: unknown;
}

/** LWWRecord (§4.2) at the current path: value any (nil = tombstone), timestamp, ttlMs?. */
function readLwwRecord(value: unknown): LwwRecordWire {
  if (!isObject(value)) {
    typeIssue(undefined, "object", value);
    return { timestamp: placeholderTimestamp };
  }
  const raw = value as RawRecord;
  const timestamp = readTimestamp(raw.timestamp, "timestamp");
  const recordValue = raw.value;
  const out: { value?: unknown; timestamp: Timestamp; ttlMs?: number } = recordValue === undefined ? { timestamp } : { value: recordValue, timestamp };
  if (typeof recordValue === "object") checkValueDepth("value", recordValue);
  const ttlMs = raw.ttlMs;
  if (ttlMs !== undefined) {
    if (isFiniteNumber(ttlMs)) out.ttlMs = ttlMs;
    else typeIssue("ttlMs", "number", ttlMs);
  }
  return out;
}

/** ORMapRecord (§4.3) at the current path: value any, timestamp, tag, ttlMs?. */
function readOrMapRecord(value: unknown): OrMapRecordWire {
  if (!isObject(value)) {
    typeIssue(undefined, "object", value);
    return { timestamp: placeholderTimestamp, tag: "" };
  }
  const raw = value as RawRecord;
  const timestamp = readTimestamp(raw.timestamp, "timestamp");
  const tag = raw.tag;
  if (typeof tag !== "string") typeIssue("tag", "string", tag);
  const recordValue = raw.value;
  const out: { value?: unknown; timestamp: Timestamp; tag: string; ttlMs?: number } =
    recordValue === undefined ? { timestamp, tag: tag as string } : { value: recordValue, timestamp, tag: tag as string };
  if (typeof recordValue === "object") checkValueDepth("value", recordValue);
  const ttlMs = raw.ttlMs;
  if (ttlMs !== undefined) {
    if (isFiniteNumber(ttlMs)) out.ttlMs = ttlMs;
    else typeIssue("ttlMs", "number", ttlMs);
  }
  return out;
}

/** The record field `key` of `source` (required). */
function requireLwwRecord(source: Raw, key: string, out: Out): void {
  path.push(key);
  out[key] = readLwwRecord(source[key]);
  path.pop();
}

function optionalLwwRecord(source: Raw, key: string, out: Out): void {
  if (source[key] !== undefined) requireLwwRecord(source, key, out);
}

function optionalOrMapRecord(source: Raw, key: string, out: Out): void {
  if (source[key] === undefined) return;
  path.push(key);
  out[key] = readOrMapRecord(source[key]);
  path.pop();
}

// ---------------------------------------------------------------------------------------------
// ClientOp (§6.2): the hottest structure, one per op of every OP_BATCH.

interface RawClientOp {
  readonly id?: unknown;
  readonly mapName?: unknown;
  readonly key?: unknown;
  readonly opType?: unknown;
  readonly record?: unknown;
  readonly orRecord?: unknown;
  readonly orTag?: unknown;
  readonly writeConcern?: unknown;
  readonly timeout?: unknown;
}

type MutableClientOp = { -readonly [K in keyof ClientOp]: ClientOp[K] };

/** Fills `out` with the checked ClientOp `raw` (whose path is the current one). */
function fillClientOp(raw: RawClientOp, out: MutableClientOp): void {
  const mapName = raw.mapName;
  const key = raw.key;
  if (typeof mapName === "string") out.mapName = mapName;
  else typeIssue("mapName", "string", mapName);
  if (typeof key === "string") out.key = key;
  else typeIssue("key", "string", key);
  const id = raw.id;
  if (id !== undefined) {
    if (typeof id === "string") out.id = id;
    else typeIssue("id", "string", id);
  }
  const opType = raw.opType;
  if (opType !== undefined) {
    if (typeof opType === "string") out.opType = opType;
    else typeIssue("opType", "string", opType);
  }
  const record = raw.record;
  if (record !== undefined) {
    path.push("record");
    out.record = record === null ? null : readLwwRecord(record);
    path.pop();
  }
  const orRecord = raw.orRecord;
  if (orRecord !== undefined) {
    path.push("orRecord");
    out.orRecord = orRecord === null ? null : readOrMapRecord(orRecord);
    path.pop();
  }
  const orTag = raw.orTag;
  if (orTag !== undefined) {
    if (orTag === null || typeof orTag === "string") out.orTag = orTag;
    else typeIssue("orTag", "string", orTag);
  }
  const writeConcern = raw.writeConcern;
  if (writeConcern !== undefined) {
    if (isOneOf(writeConcern, WRITE_CONCERNS)) out.writeConcern = writeConcern as WriteConcern;
    else enumIssue("writeConcern", WRITE_CONCERNS);
  }
  const timeout = raw.timeout;
  if (timeout !== undefined) {
    if (isFiniteNumber(timeout)) out.timeout = timeout;
    else typeIssue("timeout", "number", timeout);
  }
}

const checkClientOp: Check = (source, out) => {
  fillClientOp(source, out as MutableClientOp);
};

const checkOpBatch: Check = (source, out) => {
  const ops = source["ops"];
  if (Array.isArray(ops)) {
    const checked = new Array<ClientOp>(ops.length);
    path.push("ops");
    for (let index = 0; index < ops.length && !isFull(); index++) {
      const op: unknown = ops[index];
      const opOut = {} as MutableClientOp;
      path.push(index);
      if (isObject(op)) fillClientOp(op, opOut);
      else typeIssue(undefined, "object", op);
      path.pop();
      checked[index] = opOut;
    }
    path.pop();
    out["ops"] = checked;
  } else {
    typeIssue("ops", "array", ops);
  }
  optionalEnum(source, "writeConcern", WRITE_CONCERNS, out);
  optionalNumber(source, "timeout", out);
};

// ---------------------------------------------------------------------------------------------
// Queries (§10.3–10.5) and search options (§11).

function readPredicate(value: unknown, depth: number): PredicateNodeWire {
  const out: Out = {};
  if (depth > limits.predicateDepthMax) {
    addIssue(undefined, "too_big", `Too big: expected predicate nesting of at most ${limits.predicateDepthMax} levels`);
    return out as unknown as PredicateNodeWire;
  }
  if (!isObject(value)) {
    typeIssue(undefined, "object", value);
    return out as unknown as PredicateNodeWire;
  }
  requireEnum(value, "op", WIRE_PREDICATE_OPS, out);
  optionalString(value, "attribute", out);
  userValue(value, "value", out);
  const children = value["children"];
  if (children !== undefined) {
    if (!Array.isArray(children)) {
      typeIssue("children", "array", children);
    } else {
      const checked = new Array<PredicateNodeWire>(children.length);
      path.push("children");
      for (let index = 0; index < children.length && !isFull(); index++) {
        path.push(index);
        checked[index] = readPredicate(children[index], depth + 1);
        path.pop();
      }
      path.pop();
      out["children"] = checked;
    }
  }
  return out as unknown as PredicateNodeWire;
}

const checkQuery: Check = (source, out) => {
  const where = source["where"];
  if (where !== undefined) {
    if (isObject(where)) {
      checkValueDepth("where", where);
      out["where"] = where;
    } else {
      typeIssue("where", "record", where);
    }
  }
  const predicate = source["predicate"];
  if (predicate !== undefined) {
    path.push("predicate");
    out["predicate"] = readPredicate(predicate, 1);
    path.pop();
  }
  optionalRecord(source, "sort", sortOrderEntry, out);
  optionalNumber(source, "limit", out);
  optionalString(source, "cursor", out);
};

const checkSearchOptions: Check = (source, out) => {
  optionalNumber(source, "limit", out);
  optionalNumber(source, "minScore", out);
  optionalRecord(source, "boost", numberEntry, out);
};

// ---------------------------------------------------------------------------------------------
// Counters (§4.5, §14).

/**
 * PN-Counter state. LENIENT: besides the schema's {p, n}, the {positive, negative} spelling that
 * TopGun's client sends is accepted (PROTOCOL §4.5 decision; the reference rejects it) and
 * normalised to {p, n}. The p/n spelling is used whenever either of its keys is present.
 */
const checkCounterState: Check = (source, out) => {
  const isAlternate = source["p"] === undefined && source["n"] === undefined && (source["positive"] !== undefined || source["negative"] !== undefined);
  if (!isAlternate) {
    requireRecord(source, "p", numberEntry, out);
    requireRecord(source, "n", numberEntry, out);
    return;
  }
  const alternate: Out = {};
  requireRecord(source, "positive", numberEntry, alternate);
  requireRecord(source, "negative", numberEntry, alternate);
  out["p"] = alternate["positive"];
  out["n"] = alternate["negative"];
};

const checkCounterPayload: Check = (source, out) => {
  requireString(source, "name", out);
  requireObject(source, "state", checkCounterState, out);
};

// ---------------------------------------------------------------------------------------------
// Shared structures of the long tail.

function orMapEntryItem(item: unknown): unknown {
  return objectItem(item, checkOrMapEntry);
}

const checkOrMapEntry: Check = (source, out) => {
  requireString(source, "key", out);
  requireArray(source, "records", readOrMapRecord, out);
  requireStringArray(source, "tombstones", out);
};

const checkServerEvent: Check = (source, out) => {
  requireString(source, "mapName", out);
  requireEnum(source, "eventType", SERVER_EVENT_TYPES, out);
  requireString(source, "key", out);
  optionalLwwRecord(source, "record", out);
  optionalOrMapRecord(source, "orRecord", out);
  optionalString(source, "orTag", out);
};

const checkJournalEvent: Check = (source, out) => {
  requireString(source, "sequence", out);
  requireEnum(source, "type", JOURNAL_EVENT_TYPES, out);
  requireString(source, "mapName", out);
  requireString(source, "key", out);
  userValue(source, "value", out);
  userValue(source, "previousValue", out);
  requireTimestamp(source, "timestamp", out);
  requireString(source, "nodeId", out);
  const metadata = source["metadata"];
  if (metadata !== undefined && !isObject(metadata)) typeIssue("metadata", "record", metadata);
  else userValue(source, "metadata", out);
};

const checkEntryProcessor: Check = (source, out) => {
  requireStringLength(source, "name", processorNameLength, out);
  requireStringLength(source, "code", processorCodeLength, out);
  userValue(source, "args", out);
};

const checkResolver: Check = (source, out) => {
  requireStringLength(source, "name", processorNameLength, out);
  requireStringLength(source, "code", resolverCodeLength, out);
  const priority = source["priority"];
  if (priority !== undefined) {
    if (!isFiniteNumber(priority)) typeIssue("priority", "number", priority);
    else if (!Number.isInteger(priority)) addIssue("priority", "invalid_type", "Invalid input: expected int, received number");
    else if (priority < resolverPriority.min) addIssue("priority", "too_small", `Too small: expected number to be >=${resolverPriority.min}`);
    else if (priority > resolverPriority.max) addIssue("priority", "too_big", `Too big: expected number to be <=${resolverPriority.max}`);
    else out["priority"] = priority;
  }
  optionalString(source, "keyPattern", out);
};

function checkProcessResult(source: Raw, out: Out): void {
  requireBoolean(source, "success", out);
  userValue(source, "result", out);
  userValue(source, "newValue", out);
  optionalString(source, "error", out);
}

/** A map of key -> processor result (ENTRY_PROCESS_BATCH_RESPONSE.results). */
function requireProcessResults(source: Raw, key: string, out: Out): void {
  const value = source[key];
  if (!isObject(value)) return typeIssue(key, "record", value);
  const results: Out = {};
  path.push(key);
  for (const entryKey in value) {
    if (isFull()) break;
    path.push(entryKey);
    results[entryKey] = objectItem(value[entryKey], checkProcessResult);
    path.pop();
  }
  path.pop();
  out[key] = results;
}

function searchHitItem(item: unknown): unknown {
  return objectItem(item, checkSearchHit);
}

const checkSearchHit: Check = (source, out) => {
  requireString(source, "key", out);
  userValue(source, "value", out);
  requireNumber(source, "score", out);
  requireStringArray(source, "matchedTerms", out);
};

function clusterHitItem(item: unknown): unknown {
  return objectItem(item, checkClusterHit);
}

/** Cluster search/subscription results: score and matchedTerms optional (§20). */
const checkClusterHit: Check = (source, out) => {
  requireString(source, "key", out);
  userValue(source, "value", out);
  optionalNumber(source, "score", out);
  optionalStringArray(source, "matchedTerms", out);
};

const checkClusterSearchOptions: Check = (source, out) => {
  checkSearchOptions(source, out);
  const limit = out["limit"];
  if (typeof limit === "number" && limit < clusterSearchLimit.min) addIssue("limit", "too_small", `Too small: expected number to be >=${clusterSearchLimit.min}`);
  if (typeof limit === "number" && limit > clusterSearchLimit.max) addIssue("limit", "too_big", `Too big: expected number to be <=${clusterSearchLimit.max}`);
  optionalBoolean(source, "includeMatchedTerms", out);
  optionalNumber(source, "afterScore", out);
  optionalString(source, "afterKey", out);
};

// ---------------------------------------------------------------------------------------------
// One check per message type. Flat types receive the message (minus `type`); wrapped types
// receive their payload. TypeScript checks that every one of the 77 types has an entry.

const checks: Readonly<Record<MessageType, Check>> = {
  // §6.1
  AUTH_REQUIRED: () => {},
  AUTH: (s, o) => {
    requireString(s, "token", o);
    optionalNumber(s, "protocolVersion", o);
  },
  AUTH_ACK: (s, o) => {
    optionalNumber(s, "protocolVersion", o);
    optionalString(s, "userId", o);
  },
  AUTH_FAIL: (s, o) => {
    optionalString(s, "error", o);
    optionalNumber(s, "code", o);
  },
  PING: (s, o) => requireNumber(s, "timestamp", o),
  PONG: (s, o) => {
    requireNumber(s, "timestamp", o);
    requireNumber(s, "serverTime", o);
  },
  ERROR: (s, o) => {
    requireNumber(s, "code", o);
    requireString(s, "message", o);
    userValue(s, "details", o);
  },
  BATCH: (s, o) => {
    requireNumber(s, "count", o);
    const data = s["data"];
    if (data instanceof Uint8Array) o["data"] = data;
    else typeIssue("data", "bytes", data);
  },
  // §6.2
  CLIENT_OP: checkClientOp,
  OP_BATCH: checkOpBatch,
  OP_ACK: (s, o) => {
    requireString(s, "lastId", o);
    optionalEnum(s, "achievedLevel", WRITE_CONCERNS, o);
    optionalArray(s, "results", opResultItem, o);
  },
  OP_REJECTED: (s, o) => {
    requireString(s, "opId", o);
    requireString(s, "reason", o);
    optionalNumber(s, "code", o);
  },
  SERVER_EVENT: checkServerEvent,
  SERVER_BATCH_EVENT: (s, o) => requireArray(s, "events", serverEventItem, o),
  // §6.3
  SYNC_INIT: (s, o) => {
    requireString(s, "mapName", o);
    optionalNumber(s, "lastSyncTimestamp", o);
  },
  SYNC_RESP_ROOT: checkSyncRespRoot,
  MERKLE_REQ_BUCKET: checkBucketRequest,
  SYNC_RESP_BUCKETS: checkBucketsResponse,
  SYNC_RESP_LEAF: (s, o) => {
    requireString(s, "mapName", o);
    requireString(s, "path", o);
    requireArray(s, "records", leafRecordItem, o);
  },
  SYNC_RESET_REQUIRED: (s, o) => {
    requireString(s, "mapName", o);
    requireString(s, "reason", o);
  },
  // §6.4
  ORMAP_SYNC_INIT: (s, o) => {
    requireString(s, "mapName", o);
    requireNumber(s, "rootHash", o);
    requireRecord(s, "bucketHashes", numberEntry, o);
    optionalNumber(s, "lastSyncTimestamp", o);
  },
  ORMAP_SYNC_RESP_ROOT: checkSyncRespRoot,
  ORMAP_MERKLE_REQ_BUCKET: checkBucketRequest,
  ORMAP_SYNC_RESP_BUCKETS: checkBucketsResponse,
  ORMAP_SYNC_RESP_LEAF: (s, o) => {
    requireString(s, "mapName", o);
    requireString(s, "path", o);
    requireArray(s, "entries", orMapEntryItem, o);
  },
  ORMAP_DIFF_REQUEST: (s, o) => {
    requireString(s, "mapName", o);
    requireStringArray(s, "keys", o);
  },
  ORMAP_DIFF_RESPONSE: checkOrMapEntries,
  ORMAP_PUSH_DIFF: checkOrMapEntries,
  // §6.5
  QUERY_SUB: (s, o) => {
    requireString(s, "queryId", o);
    requireString(s, "mapName", o);
    requireObject(s, "query", checkQuery, o);
  },
  QUERY_UNSUB: (s, o) => requireString(s, "queryId", o),
  QUERY_RESP: (s, o) => {
    requireString(s, "queryId", o);
    requireArray(s, "results", keyValueItem, o);
    optionalString(s, "nextCursor", o);
    optionalBoolean(s, "hasMore", o);
    optionalEnum(s, "cursorStatus", CURSOR_STATUSES, o);
  },
  QUERY_UPDATE: (s, o) => {
    requireString(s, "queryId", o);
    requireString(s, "key", o);
    userValue(s, "value", o);
    requireEnum(s, "changeType", CHANGE_TYPES, o);
  },
  // §6.6
  SEARCH: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireString(s, "query", o);
    optionalObject(s, "options", checkSearchOptions, o);
  },
  SEARCH_RESP: (s, o) => {
    requireString(s, "requestId", o);
    requireArray(s, "results", searchHitItem, o);
    requireNumber(s, "totalCount", o);
    optionalString(s, "error", o);
  },
  SEARCH_SUB: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "mapName", o);
    requireString(s, "query", o);
    optionalObject(s, "options", checkSearchOptions, o);
  },
  SEARCH_UPDATE: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "key", o);
    userValue(s, "value", o);
    requireNumber(s, "score", o);
    requireStringArray(s, "matchedTerms", o);
    requireEnum(s, "changeType", CHANGE_TYPES, o);
  },
  SEARCH_UNSUB: (s, o) => requireString(s, "subscriptionId", o),
  // §6.7
  TOPIC_SUB: (s, o) => requireString(s, "topic", o),
  TOPIC_UNSUB: (s, o) => requireString(s, "topic", o),
  TOPIC_PUB: (s, o) => {
    requireString(s, "topic", o);
    userValue(s, "data", o);
  },
  TOPIC_MESSAGE: (s, o) => {
    requireString(s, "topic", o);
    userValue(s, "data", o);
    optionalString(s, "publisherId", o);
    requireNumber(s, "timestamp", o);
  },
  LOCK_REQUEST: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "name", o);
    optionalNumber(s, "ttl", o);
  },
  LOCK_RELEASE: (s, o) => {
    optionalString(s, "requestId", o);
    requireString(s, "name", o);
    requireNumber(s, "fencingToken", o);
  },
  LOCK_GRANTED: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "name", o);
    requireNumber(s, "fencingToken", o);
  },
  LOCK_RELEASED: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "name", o);
    requireBoolean(s, "success", o);
  },
  COUNTER_REQUEST: (s, o) => requireString(s, "name", o),
  COUNTER_SYNC: checkCounterPayload,
  COUNTER_RESPONSE: checkCounterPayload,
  COUNTER_UPDATE: checkCounterPayload,
  // §6.8
  ENTRY_PROCESS: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireString(s, "key", o);
    requireObject(s, "processor", checkEntryProcessor, o);
  },
  ENTRY_PROCESS_BATCH: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireStringArray(s, "keys", o);
    requireObject(s, "processor", checkEntryProcessor, o);
  },
  ENTRY_PROCESS_RESPONSE: (s, o) => {
    requireString(s, "requestId", o);
    checkProcessResult(s, o);
  },
  ENTRY_PROCESS_BATCH_RESPONSE: (s, o) => {
    requireString(s, "requestId", o);
    requireProcessResults(s, "results", o);
  },
  JOURNAL_SUBSCRIBE: (s, o) => {
    requireString(s, "requestId", o);
    optionalString(s, "fromSequence", o);
    optionalString(s, "mapName", o);
    optionalArray(s, "types", journalEventTypeItem, o);
  },
  JOURNAL_UNSUBSCRIBE: (s, o) => requireString(s, "subscriptionId", o),
  JOURNAL_EVENT: (s, o) => requireObject(s, "event", checkJournalEvent, o),
  JOURNAL_READ: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "fromSequence", o);
    optionalNumber(s, "limit", o);
    optionalString(s, "mapName", o);
  },
  JOURNAL_READ_RESPONSE: (s, o) => {
    requireString(s, "requestId", o);
    requireArray(s, "events", journalEventItem, o);
    requireBoolean(s, "hasMore", o);
  },
  REGISTER_RESOLVER: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireObject(s, "resolver", checkResolver, o);
  },
  REGISTER_RESOLVER_RESPONSE: checkSuccessResponse,
  UNREGISTER_RESOLVER: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireString(s, "resolverName", o);
  },
  UNREGISTER_RESOLVER_RESPONSE: checkSuccessResponse,
  LIST_RESOLVERS: (s, o) => {
    requireString(s, "requestId", o);
    optionalString(s, "mapName", o);
  },
  LIST_RESOLVERS_RESPONSE: (s, o) => {
    requireString(s, "requestId", o);
    requireArray(s, "resolvers", resolverInfoItem, o);
  },
  MERGE_REJECTED: (s, o) => {
    requireString(s, "mapName", o);
    requireString(s, "key", o);
    userValue(s, "attemptedValue", o);
    requireString(s, "reason", o);
    requireTimestamp(s, "timestamp", o);
  },
  // §6.9, §20
  GC_PRUNE: (s, o) => requireTimestamp(s, "olderThan", o),
  PARTITION_MAP_REQUEST: (s, o) => optionalNumber(s, "currentVersion", o),
  PARTITION_MAP: (s, o) => {
    requireNumber(s, "version", o);
    requireNumber(s, "partitionCount", o);
    requireArray(s, "nodes", nodeInfoItem, o);
    requireArray(s, "partitions", partitionInfoItem, o);
    requireNumber(s, "generatedAt", o);
  },
  CLUSTER_SUB_REGISTER: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "coordinatorNodeId", o);
    requireString(s, "mapName", o);
    requireEnum(s, "type", CLUSTER_SUBSCRIPTION_TYPES, o);
    optionalString(s, "searchQuery", o);
    optionalObject(s, "searchOptions", checkSearchOptions, o);
    userValue(s, "queryPredicate", o);
    userValue(s, "querySort", o);
  },
  CLUSTER_SUB_ACK: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "nodeId", o);
    requireBoolean(s, "success", o);
    optionalString(s, "error", o);
    optionalArray(s, "initialResults", clusterHitItem, o);
    optionalNumber(s, "totalHits", o);
  },
  CLUSTER_SUB_UPDATE: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "sourceNodeId", o);
    requireString(s, "key", o);
    userValue(s, "value", o);
    optionalNumber(s, "score", o);
    optionalStringArray(s, "matchedTerms", o);
    requireEnum(s, "changeType", CHANGE_TYPES, o);
    userValue(s, "timestamp", o);
  },
  CLUSTER_SUB_UNREGISTER: (s, o) => requireString(s, "subscriptionId", o),
  CLUSTER_SEARCH_REQ: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "mapName", o);
    requireString(s, "query", o);
    requireObject(s, "options", checkClusterSearchOptions, o);
    optionalNumber(s, "timeoutMs", o);
  },
  CLUSTER_SEARCH_RESP: (s, o) => {
    requireString(s, "requestId", o);
    requireString(s, "nodeId", o);
    requireArray(s, "results", clusterHitItem, o);
    requireNumber(s, "totalHits", o);
    requireNumber(s, "executionTimeMs", o);
    optionalString(s, "error", o);
  },
  CLUSTER_SEARCH_SUBSCRIBE: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "mapName", o);
    requireString(s, "query", o);
    optionalObject(s, "options", checkSearchOptions, o);
  },
  CLUSTER_SEARCH_UNSUBSCRIBE: (s, o) => requireString(s, "subscriptionId", o),
  CLUSTER_SEARCH_UPDATE: (s, o) => {
    requireString(s, "subscriptionId", o);
    requireString(s, "nodeId", o);
    requireString(s, "key", o);
    userValue(s, "value", o);
    requireNumber(s, "score", o);
    optionalStringArray(s, "matchedTerms", o);
    requireEnum(s, "changeType", CHANGE_TYPES, o);
  },
};

function checkSyncRespRoot(s: Raw, o: Out): void {
  requireString(s, "mapName", o);
  requireNumber(s, "rootHash", o);
  requireTimestamp(s, "timestamp", o);
}

function checkBucketRequest(s: Raw, o: Out): void {
  requireString(s, "mapName", o);
  requireString(s, "path", o);
}

function checkBucketsResponse(s: Raw, o: Out): void {
  requireString(s, "mapName", o);
  requireString(s, "path", o);
  requireRecord(s, "buckets", numberEntry, o);
}

function checkLeafRecord(s: Raw, o: Out): void {
  requireString(s, "key", o);
  requireLwwRecord(s, "record", o);
}

function checkOrMapEntries(s: Raw, o: Out): void {
  requireString(s, "mapName", o);
  requireArray(s, "entries", orMapEntryItem, o);
}

function checkKeyValue(s: Raw, o: Out): void {
  requireString(s, "key", o);
  userValue(s, "value", o);
}

function checkOpResult(s: Raw, o: Out): void {
  requireString(s, "opId", o);
  requireBoolean(s, "success", o);
  requireEnum(s, "achievedLevel", WRITE_CONCERNS, o);
  optionalString(s, "error", o);
}

function checkSuccessResponse(s: Raw, o: Out): void {
  requireString(s, "requestId", o);
  requireBoolean(s, "success", o);
  optionalString(s, "error", o);
}

function checkResolverInfo(s: Raw, o: Out): void {
  requireString(s, "mapName", o);
  requireString(s, "name", o);
  optionalNumber(s, "priority", o);
  optionalString(s, "keyPattern", o);
}

function checkNodeInfo(s: Raw, o: Out): void {
  requireString(s, "nodeId", o);
  requireObject(s, "endpoints", checkEndpoints, o);
  requireEnum(s, "status", NODE_STATUSES, o);
}

function checkEndpoints(s: Raw, o: Out): void {
  requireString(s, "websocket", o);
  optionalString(s, "http", o);
}

function checkPartitionInfo(s: Raw, o: Out): void {
  requireNumber(s, "partitionId", o);
  requireString(s, "ownerNodeId", o);
  requireStringArray(s, "backupNodeIds", o);
}

function opResultItem(item: unknown): unknown {
  return objectItem(item, checkOpResult);
}

function serverEventItem(item: unknown): unknown {
  return objectItem(item, checkServerEvent);
}

function leafRecordItem(item: unknown): unknown {
  return objectItem(item, checkLeafRecord);
}

function keyValueItem(item: unknown): unknown {
  return objectItem(item, checkKeyValue);
}

function journalEventItem(item: unknown): unknown {
  return objectItem(item, checkJournalEvent);
}

function resolverInfoItem(item: unknown): unknown {
  return objectItem(item, checkResolverInfo);
}

function nodeInfoItem(item: unknown): unknown {
  return objectItem(item, checkNodeInfo);
}

function partitionInfoItem(item: unknown): unknown {
  return objectItem(item, checkPartitionInfo);
}

function journalEventTypeItem(item: unknown): unknown {
  if (!isOneOf(item, JOURNAL_EVENT_TYPES)) enumIssue(undefined, JOURNAL_EVENT_TYPES);
  return item;
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

interface TypeEntry {
  readonly isWrapped: boolean;
  readonly check: Check;
}

/** Wrapped types whose `payload` may be absent (§2.4). */
const payloadOptionalTypes: ReadonlySet<string> = new Set<MessageType>(["PARTITION_MAP_REQUEST"]);

const entryByType: ReadonlyMap<string, TypeEntry> = new Map(
  MESSAGE_TYPES.map((info) => [info.type, { isWrapped: info.shape === "wrapped", check: checks[info.type] }]),
);
assert(entryByType.size === MESSAGE_TYPES.length, "message-types: duplicate type in the catalogue");

/**
 * Checks one decoded inbound message against the TS server's schema and returns its normalised
 * form, or the issues to send back as `ERROR { code: 400, message: "Invalid message format",
 * details: issues }` (PROTOCOL §2.9). Never throws; never mutates its input. At most
 * limits.validationIssuesMax issues are reported.
 *
 * @example
 * const result = validateMessage(decodeFrameValue);
 * if (!result.ok) return sendError(400, "Invalid message format", result.error);
 * if (result.value.type === "OP_BATCH") applyOps(result.value.payload.ops);
 */
export function validateMessage(decoded: unknown): Result<ValidMessage, ValidationIssue[]> {
  path.length = 0;
  issues = null;
  const message = checkMessage(decoded);
  const found = issues as ValidationIssue[] | null;
  issues = null;
  if (found !== null) return err(found);
  return ok(message as ValidMessage);
}

function checkMessage(decoded: unknown): Out | undefined {
  if (!isObject(decoded)) {
    typeIssue(undefined, "object", decoded);
    return undefined;
  }
  const type = decoded["type"];
  if (typeof type !== "string") {
    typeIssue("type", "string", type);
    return undefined;
  }
  const entry = entryByType.get(type);
  if (entry === undefined) {
    addIssue("type", "invalid_union", "Invalid input: unknown message type");
    return undefined;
  }
  const out: Out = { type };
  if (!entry.isWrapped) {
    entry.check(decoded, out);
    return out;
  }
  const payload = decoded["payload"];
  if (payload === undefined && payloadOptionalTypes.has(type)) return out;
  if (!isObject(payload)) {
    typeIssue("payload", "object", payload);
    return undefined;
  }
  const payloadOut: Out = {};
  path.push("payload");
  entry.check(payload, payloadOut);
  path.pop();
  out["payload"] = payloadOut;
  return out;
}
