// Authentication (JWT) and authorization (policies, READ filtering): the public surface of ts/auth/.

export {
  createTokenVerifier, verifyToken, JWT_ALGORITHMS, AUTH_FAILURE_CODES, DEFAULT_ROLES, ANONYMOUS_USER_ID,
  type TokenVerifier, type TokenVerifierError, type AuthFailure, type AuthFailureCode, type JwtAlgorithm,
} from "./jwt.js";
export {
  PolicyEngine, loadPolicies, applyReadFilter, PERMISSION_ACTIONS, ADMIN_ROLE, SYSTEM_RESOURCE_PREFIX,
  USER_ID_PLACEHOLDER, EMBEDDED_DEFAULT_POLICIES, STANDALONE_DEFAULT_POLICIES,
  type Policy, type PermissionAction, type PolicyError, type PolicyErrorCode, type ReadFilter,
} from "./permissions.js";
