import { existsSync } from "node:fs";
import path from "node:path";

/** Whether an executable of that name is in one of $PATH's folders. */
export function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && existsSync(path.join(dir, command)));
}
