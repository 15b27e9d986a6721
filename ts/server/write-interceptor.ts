// A hook in front of the write pipeline for work that must see a write before it is merged and
// may take time (PROTOCOL §7.1 step 6: conflict resolvers run user code in a sandbox). The write
// handler asks `appliesTo` for every request (it must be cheap: a map lookup) and only then
// awaits `intercept`, which decides per op.
//
// Decisions: "apply" (possibly with a replaced record), "rejected" (the interceptor already told
// the writer, e.g. MERGE_REJECTED; the op is acknowledged as failed, with no OP_REJECTED and no
// event) or "dropped" (nothing happens, the op is acknowledged as applied).

import type { RequestContext } from "../core/request-context.js";
import type { ClientOp } from "../protocol/messages.js";
import type { Session } from "./session.js";

export type InterceptDecision =
  | { readonly kind: "apply"; readonly op: ClientOp }
  | { readonly kind: "rejected"; readonly reason: string }
  | { readonly kind: "dropped" };

export interface WriteInterceptor {
  /** True when some op of the request needs interception. */
  appliesTo(ops: readonly ClientOp[]): boolean;
  /**
   * One decision per op, in order. Never rejects: failures become decisions. `session` is the
   * WebSocket writer to tell (MERGE_REJECTED); undefined for HTTP /sync, which has no channel.
   */
  intercept(request: RequestContext, session: Session | undefined, ops: readonly ClientOp[]): Promise<InterceptDecision[]>;
}
