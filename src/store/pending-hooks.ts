import { readFile, rm } from "node:fs/promises";
import { fsError } from "../errors.js";
import { HOOK_ACTIONS, type PendingHook } from "../plan/hooks.js";
import { writeFilesAtomically } from "./atomic-write.js";
import { MODES, pendingHooksPath } from "./layout.js";

// The file only names identities and actions; the command always comes from pki.yaml, so a forged
// file can at most re-run a hook the user configured. Built when such a file is read: a run without one
// never loads zod.
const pendingFile = (z: typeof import("../config/zod.js")) =>
  z.strictObject({
    version: z.literal(1),
    pending: z.array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
        action: z.enum(HOOK_ACTIONS),
      }),
    ).max(100_000),
  });

/** Hooks an earlier run could not complete. A damaged file is reported and treated as empty. */
export async function readPendingHooks(outputDir: string): Promise<{ pending: PendingHook[]; problem: string | null }> {
  const file = pendingHooksPath(outputDir);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return { pending: [], problem: null };
    throw fsError("read", file, error);
  }
  const schema = pendingFile(await import("../config/zod.js"));
  try {
    return { pending: schema.parse(JSON.parse(text)).pending, problem: null };
  } catch {
    return { pending: [], problem: "hooks-pending.json is damaged and was ignored: hooks that failed earlier are not retried" };
  }
}

/** Records the hooks still to run; removes the file when none are. */
export async function writePendingHooks(outputDir: string, pending: readonly PendingHook[]): Promise<void> {
  const file = pendingHooksPath(outputDir);
  if (pending.length === 0) {
    await rm(file, { force: true }).catch((error: unknown) => {
      throw fsError("remove", file, error);
    });
    return;
  }
  const content = `${JSON.stringify({ version: 1, pending: pending.map(({ name, action }) => ({ name, action })) }, null, 2)}\n`;
  await writeFilesAtomically([{ path: file, content, mode: MODES.cert }]);
}
