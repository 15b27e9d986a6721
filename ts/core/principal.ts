// The authenticated identity of a connection (PROTOCOL §1, §3.2).

export interface Principal {
  /** `sub` claim, else a `userId` claim. */
  readonly userId: string;
  /** `roles` claim, else ["USER"]. */
  readonly roles: readonly string[];
  /** Every claim of the token as received (TopGun keeps them all). */
  readonly claims: Readonly<Record<string, unknown>>;
}
