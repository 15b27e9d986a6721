// The sandbox for user code (entry processors, conflict resolvers): see sandbox-pool.ts.

export {
  SandboxPool, sandboxModes, sandboxErrorCodes, sandboxOutcomes, workerReplacementReasons,
  type SandboxMode, type SandboxError, type SandboxErrorCode, type SandboxOutcome, type WorkerReplacementReason,
  type SandboxObserver, type SandboxPoolOptions, type ProcessorOutput, type ResolverOutput,
} from "./sandbox-pool.js";
export { forbiddenPatternError, forbiddenTokens } from "./forbidden-patterns.js";
export { capMemory, memoryLimits, wasmPageBytes } from "./cap-memory.js";
export { sandboxPaths, type SandboxPaths } from "./sandbox-paths.js";
