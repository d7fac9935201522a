import { realDeps, type Deps } from "../deps.js";

/** What a command may touch outside the core: output streams, environment, working folder, side effects. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  deps?: Partial<Deps>;
  /** Colour output for people: only on a terminal, never with NO_COLOR (bin.ts decides). */
  color?: boolean;
  /** stderr is a terminal: progress may redraw one line. */
  interactive?: boolean;
}

export const EXIT = { ok: 0, error: 1, changesPending: 2 } as const;

/** The real dependencies, with this invocation's environment and any a test injected. */
export function depsOf(io: Io): Deps {
  return realDeps({ env: io.env, ...io.deps });
}
