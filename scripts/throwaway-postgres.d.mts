// Types of throwaway-postgres.mjs, for bench/run.ts.
export function startThrowawayPostgres(log: (message: string) => void): Promise<{ ok: true; url: string } | { ok: false; message: string }>;
export function stopThrowawayPostgres(log: (message: string) => void): void;
