import type { Config } from "../config/types.js";
import type { FileWrite } from "../store/atomic-write.js";

/** Launch configuration for every server that declares `serve` (see issue: launch config). */
export function renderLaunchFiles(_config: Config): FileWrite[] {
  return [];
}
