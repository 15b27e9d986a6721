// WebSocket close codes the server uses (PROTOCOL §2.7, plus the limits of this server).

export const CloseCode = {
  /** Graceful shutdown (SIGTERM). */
  SERVER_SHUTDOWN: 1001,
  /** A frame that is neither MessagePack nor JSON. */
  PROTOCOL_ERROR: 1002,
  /** The client does not read its messages: its outbound buffer passed the limit (slow consumer). */
  POLICY_VIOLATION: 1008,
  /** A frame over the frame size limit (sent by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** Connection rate or pending-connection limit reached. */
  SERVER_OVERLOADED: 1013,
  /** After AUTH_FAIL, on an authentication timeout, or when the pre-auth queue overflows. */
  UNAUTHORIZED: 4001,
  /** An authenticated connection sent no PING within the heartbeat timeout. */
  HEARTBEAT_TIMEOUT: 4002,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];
