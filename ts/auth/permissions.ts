// Permission checks and field-level READ filtering (PROTOCOL §3.5, §3.6), exactly as TopGun's TS
// server decides them.
//
// checkPermission(principal, resource, action):
//   1. a principal with role ADMIN may do anything;
//   2. a resource starting with "$sys/" is denied to everyone else;
//   3. allowed iff some policy (in order) has a role the principal holds, a mapNamePattern that
//      matches the resource, and `ALL` or the action among its actions;
//   4. otherwise denied (so with no policies every non-admin is denied).
// Pattern matching: the first "{userId}" in the pattern is replaced by the principal's userId
// (literally: the reference's String#replace would also expand "$&"-style sequences inside a
// userId, which we do not copy); then "*" matches everything, an identical string matches, and
// a pattern ending in "*" matches every resource starting with the rest. Nothing else.
// Resources are map names, lock names, and "topic:<name>" for topics (§3.5 table).
//
// READ filtering of values sent to a principal (filterValue, or readFilter + applyReadFilter):
// ADMIN → unchanged; non-objects → unchanged; arrays → each element filtered; otherwise the
// policies that match the map and grant READ or ALL decide: none → null; any of them without
// allowedFields, with an empty list or with "*" → unchanged; else only the top-level properties
// named in the union of their allowedFields are kept. There is no "$sys/" rule here (as in the
// reference): callers check READ permission before sending anything.
//
// Policies are validated when loaded (typed errors naming the entry), frozen, and compiled once.

import { err, limits, ok, type Principal, type Result } from "../core/index.js";

export const PERMISSION_ACTIONS = ["READ", "PUT", "REMOVE", "ALL"] as const;
export type PermissionAction = (typeof PERMISSION_ACTIONS)[number];

export interface Policy {
  readonly role: string;
  readonly mapNamePattern: string;
  readonly actions: readonly PermissionAction[];
  /** Top-level fields a READ may see; absent, empty or containing "*" means all. */
  readonly allowedFields?: readonly string[];
}

/** The role that bypasses every check. */
export const ADMIN_ROLE = "ADMIN";
/** Resources with this prefix are reserved to ADMIN. */
export const SYSTEM_RESOURCE_PREFIX = "$sys/";
/** Replaced by the principal's userId in a mapNamePattern (first occurrence only). */
export const USER_ID_PLACEHOLDER = "{userId}";

/** Default of the embeddable server (§3.5): no policies, so every non-admin request is denied. */
export const EMBEDDED_DEFAULT_POLICIES: readonly Policy[] = Object.freeze([]);
/** Default of the standalone/test server (§3.5, §22.1): USER may do anything on any resource. */
export const STANDALONE_DEFAULT_POLICIES: readonly Policy[] = Object.freeze([
  Object.freeze({ role: "USER", mapNamePattern: "*", actions: Object.freeze(["ALL"] as const) }),
]);

export type PolicyError =
  | { readonly code: "POLICY_LIST_NOT_ARRAY" }
  | { readonly code: "POLICY_LIST_TOO_LONG"; readonly policyCountMax: number }
  | { readonly code: "POLICY_NOT_OBJECT"; readonly policyIndex: number }
  | { readonly code: "POLICY_FIELD_INVALID"; readonly policyIndex: number; readonly field: string; readonly reason: string }
  | { readonly code: "POLICY_FIELD_UNKNOWN"; readonly policyIndex: number; readonly field: string };

export type PolicyErrorCode = PolicyError["code"];

/** What a READ filter does to the values of one map for one principal. */
export type ReadFilter =
  | { readonly kind: "unrestricted" }
  | { readonly kind: "denied" }
  | { readonly kind: "fields"; readonly fields: readonly string[] };

const unrestricted: ReadFilter = Object.freeze({ kind: "unrestricted" });
const denied: ReadFilter = Object.freeze({ kind: "denied" });

const policyKeys: ReadonlySet<string> = new Set(["role", "mapNamePattern", "actions", "allowedFields"]);

/**
 * Validates a policy list from configuration and returns it frozen. Unknown keys are errors (a
 * misspelt "allowedField" must not silently grant every field).
 */
export function loadPolicies(input: unknown): Result<readonly Policy[], PolicyError> {
  if (!Array.isArray(input)) return err({ code: "POLICY_LIST_NOT_ARRAY" });
  if (input.length > limits.policiesMax) return err({ code: "POLICY_LIST_TOO_LONG", policyCountMax: limits.policiesMax });
  const policies: Policy[] = [];
  for (let policyIndex = 0; policyIndex < input.length; policyIndex++) {
    const policy = loadPolicy(input[policyIndex], policyIndex);
    if (!policy.ok) return policy;
    policies.push(policy.value);
  }
  return ok(Object.freeze(policies));
}

function loadPolicy(input: unknown, policyIndex: number): Result<Policy, PolicyError> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return err({ code: "POLICY_NOT_OBJECT", policyIndex });
  const source = input as Record<string, unknown>;
  for (const field of Object.keys(source)) {
    if (!policyKeys.has(field)) return err({ code: "POLICY_FIELD_UNKNOWN", policyIndex, field });
  }
  const invalid = (field: string, reason: string): Result<Policy, PolicyError> => err({ code: "POLICY_FIELD_INVALID", policyIndex, field, reason });
  const { role, mapNamePattern, actions, allowedFields } = source;
  if (typeof role !== "string" || role.length === 0) return invalid("role", "must be a non-empty string");
  if (typeof mapNamePattern !== "string" || mapNamePattern.length === 0) return invalid("mapNamePattern", "must be a non-empty string");
  if (!Array.isArray(actions) || actions.length === 0) return invalid("actions", "must be a non-empty array");
  for (const action of actions) {
    if (!(PERMISSION_ACTIONS as readonly unknown[]).includes(action)) return invalid("actions", `each must be one of ${PERMISSION_ACTIONS.join(", ")}`);
  }
  const policy: { -readonly [K in keyof Policy]: Policy[K] } = {
    role,
    mapNamePattern,
    actions: Object.freeze(actions.slice() as PermissionAction[]),
  };
  if (allowedFields !== undefined) {
    if (!Array.isArray(allowedFields)) return invalid("allowedFields", "must be an array of strings");
    if (allowedFields.length > limits.policyFieldsMax) return invalid("allowedFields", `must have at most ${limits.policyFieldsMax} entries`);
    for (const field of allowedFields) if (typeof field !== "string") return invalid("allowedFields", "must be an array of strings");
    policy.allowedFields = Object.freeze(allowedFields.slice() as string[]);
  }
  return ok(Object.freeze(policy));
}

const actionBits: Readonly<Record<PermissionAction, number>> = { READ: 1, PUT: 2, REMOVE: 4, ALL: 8 };

/** A policy prepared for matching: pattern split around {userId}, actions as bits. */
interface CompiledPolicy {
  readonly role: string;
  /** Pattern text before the first {userId}, or the whole pattern when it has none. */
  readonly patternHead: string;
  /** Pattern text after the first {userId}; undefined when the pattern has none. */
  readonly patternTail: string | undefined;
  /** For a pattern without {userId} ending in "*": the prefix it stands for. */
  readonly staticPrefix: string | undefined;
  readonly actionBits: number;
  /** allowedFields when they restrict anything; undefined when the policy grants every field. */
  readonly restrictedFields: readonly string[] | undefined;
}

function compilePolicy(policy: Policy): CompiledPolicy {
  const placeholderIndex = policy.mapNamePattern.indexOf(USER_ID_PLACEHOLDER);
  let bits = 0;
  for (const action of policy.actions) bits |= actionBits[action];
  const fields = policy.allowedFields;
  const isRestricted = fields !== undefined && fields.length > 0 && !fields.includes("*");
  const pattern = policy.mapNamePattern;
  return {
    role: policy.role,
    patternHead: placeholderIndex < 0 ? pattern : pattern.slice(0, placeholderIndex),
    patternTail: placeholderIndex < 0 ? undefined : pattern.slice(placeholderIndex + USER_ID_PLACEHOLDER.length),
    staticPrefix: placeholderIndex < 0 && pattern.endsWith("*") ? pattern.slice(0, -1) : undefined,
    actionBits: bits,
    restrictedFields: isRestricted ? fields : undefined,
  };
}

function matchesResource(policy: CompiledPolicy, userId: string, resource: string): boolean {
  if (policy.patternTail === undefined) {
    const pattern = policy.patternHead;
    return pattern === "*" || pattern === resource || (policy.staticPrefix !== undefined && resource.startsWith(policy.staticPrefix));
  }
  return matchesPattern(policy.patternHead + userId + policy.patternTail, resource);
}

/** The reference's rule on a pattern whose {userId} is already substituted. */
function matchesPattern(pattern: string, resource: string): boolean {
  if (pattern === "*" || pattern === resource) return true;
  return pattern.endsWith("*") && resource.startsWith(pattern.slice(0, -1));
}

function isAdmin(principal: Principal): boolean {
  return principal.roles.includes(ADMIN_ROLE);
}

/**
 * Decides permissions for one set of policies. Build it once at startup.
 *
 * @example
 * const engine = PolicyEngine.create(config.securityPolicies ?? EMBEDDED_DEFAULT_POLICIES);
 * if (!engine.ok) throw new Error(`bad policies: ${engine.error.code}`);
 * if (!engine.value.checkPermission(principal, `topic:${topic}`, "PUT")) sendError(403, …);
 */
export class PolicyEngine {
  readonly policies: readonly Policy[];
  /**
   * False when no READ-granting policy restricts fields: then READ filtering is the identity for
   * every principal that passed a READ check on the map, and values need no per-recipient
   * re-encoding. (It can still turn values into null for a principal without any READ policy.)
   */
  readonly hasFieldRestrictions: boolean;
  readonly #compiled: readonly CompiledPolicy[];

  private constructor(policies: readonly Policy[]) {
    this.policies = policies;
    this.#compiled = Object.freeze(policies.map(compilePolicy));
    this.hasFieldRestrictions = this.#compiled.some((policy) => policy.restrictedFields !== undefined && (policy.actionBits & (actionBits.READ | actionBits.ALL)) !== 0);
  }

  /** Validates `policies` (see loadPolicies) and compiles them. */
  static create(policies: unknown): Result<PolicyEngine, PolicyError> {
    const loaded = loadPolicies(policies);
    if (!loaded.ok) return loaded;
    return ok(new PolicyEngine(loaded.value));
  }

  /** §3.5: may `principal` perform `action` on `resource` (a map, lock or "topic:<name>")? */
  checkPermission(principal: Principal, resource: string, action: PermissionAction): boolean {
    if (isAdmin(principal)) return true;
    if (resource.startsWith(SYSTEM_RESOURCE_PREFIX)) return false;
    const wanted = actionBits.ALL | actionBits[action];
    for (const policy of this.#compiled) {
      if ((policy.actionBits & wanted) !== 0 && principal.roles.includes(policy.role) && matchesResource(policy, principal.userId, resource)) return true;
    }
    return false;
  }

  /**
   * §3.6: what READ filtering does to `mapName`'s values for `principal`. Cheap, but it scans the
   * policies; a server sending many values to one recipient computes it once per map.
   */
  readFilter(principal: Principal, mapName: string): ReadFilter {
    if (isAdmin(principal)) return unrestricted;
    const readBits = actionBits.READ | actionBits.ALL;
    let fields: Set<string> | undefined;
    for (const policy of this.#compiled) {
      if ((policy.actionBits & readBits) === 0 || !principal.roles.includes(policy.role) || !matchesResource(policy, principal.userId, mapName)) continue;
      if (policy.restrictedFields === undefined) return unrestricted;
      fields ??= new Set();
      for (const field of policy.restrictedFields) fields.add(field);
    }
    return fields === undefined ? denied : { kind: "fields", fields: Object.freeze([...fields]) };
  }

  /** §3.6 in one call: the value as `principal` may see it. Never mutates `value`. */
  filterValue(principal: Principal, mapName: string, value: unknown): unknown {
    if (typeof value !== "object" || value === null) return value;
    return applyReadFilter(this.readFilter(principal, mapName), value);
  }
}

/** Applies a filter from PolicyEngine.readFilter to one value. Never mutates `value`. */
export function applyReadFilter(filter: ReadFilter, value: unknown): unknown {
  if (typeof value !== "object" || value === null || filter.kind === "unrestricted") return value;
  if (Array.isArray(value)) {
    const filtered = new Array<unknown>(value.length);
    for (let index = 0; index < value.length; index++) filtered[index] = applyReadFilter(filter, value[index]);
    return filtered;
  }
  if (filter.kind === "denied") return null;
  return pickFields(value as Record<string, unknown>, filter.fields);
}

function pickFields(source: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    if (!Object.hasOwn(source, field) || source[field] === undefined) continue;
    if (field === "__proto__") {
      // An assignment would replace the prototype; defineProperty keeps it a plain property.
      Object.defineProperty(picked, field, { value: source[field], enumerable: true, writable: true, configurable: true });
    } else {
      picked[field] = source[field];
    }
  }
  return picked;
}
