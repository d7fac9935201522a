import type { Reporter } from "vitest/reporters";

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

/** Ends the run with a plain "N passed, N failed" line (and skipped, if any) that any CI can read. */
export default class SummaryReporter implements Reporter {
  onFinished(files: Task[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const walk = (task: Task) => {
      if (task.type === "test") {
        if (task.result?.state === "pass") counts.passed++;
        else if (task.result?.state === "fail") counts.failed++;
        else counts.skipped++;
      }
      for (const child of task.tasks ?? []) walk(child);
    };
    for (const file of files) {
      walk(file);
      if (file.result?.state === "fail" && !(file.tasks ?? []).length) counts.failed++;
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ""}\n`);
  }
}
