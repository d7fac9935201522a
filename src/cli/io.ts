import type { Deps } from "../deps.js";

/** What a command may touch outside the core: output streams, environment, working folder, side effects. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  deps?: Partial<Deps>;
}

export const EXIT = { ok: 0, error: 1, changesPending: 2 } as const;
