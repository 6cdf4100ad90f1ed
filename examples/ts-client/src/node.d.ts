// The little of Node this example uses (no @types/node needed).
declare const process: { env: Record<string, string | undefined>; exitCode?: number };
